//! The whole view of one asset: its owner, the conditions about it across practices, and what
//! every practice (and the calendar) knows about it. Served by the asset page,
//! `GET /api/v1/assets/{id}/overview` and `opsward asset show`.

use chrono::{DateTime, Utc};
use opsward_core::{
    asset::Asset,
    contract::{AssetFacet, Condition, Registry},
};
use opsward_ops::OpsStore;
use opsward_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetOverview {
    /// The asset's own fields, at the top level (as `GET /api/v1/assets/{id}` has them).
    #[serde(flatten)]
    pub asset: Asset,
    /// `team <name>`, a person's name, or `nobody`.
    pub owner: String,
    /// The conditions about this asset, worst first.
    pub conditions: Vec<Condition>,
    /// When those conditions were computed.
    pub conditions_computed_at: DateTime<Utc>,
    /// One section per practice that knows something about the asset, then the calendar.
    pub facets: Vec<AssetFacet>,
    /// Practices that could not report; their sections are missing.
    pub failures: Vec<String>,
}

/// Owner label for people: `team <name>`, the person's name, or `nobody`.
pub async fn owner_label(store: &dyn Store, asset: &Asset) -> Result<String, StoreError> {
    if let Some(id) = asset.owner_team_id {
        return Ok(format!("team {}", store.get_team(id).await?.name));
    }
    if let Some(id) = asset.owner_person_id {
        return Ok(store.get_person(id).await?.name);
    }
    Ok("nobody".into())
}

/// Assemble the overview from conditions already at hand (the server's kept picture, or a
/// fresh assessment on the CLI) and the practices' facets, read now.
pub async fn assemble(
    store: &dyn Store,
    registry: &Registry,
    asset: Asset,
    conditions: Vec<Condition>,
    conditions_computed_at: DateTime<Utc>,
    mut failures: Vec<String>,
    now: DateTime<Utc>,
) -> Result<AssetOverview, StoreError> {
    let owner = owner_label(store, &asset).await?;
    let ops = OpsStore::new(store);
    // The calendar's section is read while the practices read theirs.
    let ((mut facets, facet_failures), calendar) = tokio::join!(
        registry.asset_facets(asset.id, now),
        ops.asset_facet(asset.id, now)
    );
    for failure in facet_failures {
        tracing::warn!(asset = asset.id, error = %failure, "a practice could not describe an asset");
        failures.push(failure.to_string());
    }
    facets.push(calendar?);
    Ok(AssetOverview {
        owner,
        conditions: conditions
            .into_iter()
            .filter(|c| c.asset_id == Some(asset.id))
            .collect(),
        conditions_computed_at,
        facets,
        failures,
        asset,
    })
}

/// The overview of asset `id` on this server: conditions from the kept picture, facets read now.
pub async fn load(
    state: &crate::AppState,
    id: i64,
) -> Result<AssetOverview, crate::error::ApiError> {
    let asset = state.store.get_asset(id).await?;
    let picture = state.picture.get().await?;
    Ok(assemble(
        state.store.as_ref(),
        state.picture.registry(),
        asset,
        picture.for_asset(id),
        picture.computed_at(),
        picture.summary.failures.clone(),
        Utc::now(),
    )
    .await?)
}
