//! `GET/PUT /api/v1/admin/sign-in`: the sign-in settings an administrator saved over the
//! file's, and the settings in force. Secrets are never part of either: the OIDC client
//! secret and the LDAP bind password stay in the environment or their files, and the
//! answer only says whether each is set.

use super::Caller;
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::ApiJson,
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use chrono::{DateTime, Utc};
use opsward_core::{Actor, FieldError};
use opsward_sso::SsoOverrides;
use serde::Serialize;
use utoipa::ToSchema;

/// The sign-in settings: what was saved, and the result in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignInSettings {
    /// The fields saved from the admin page, the API or the CLI (each wins over the file);
    /// the body of `PUT`.
    #[schema(value_type = Object)]
    pub saved: SsoOverrides,
    pub saved_at: Option<DateTime<Utc>>,
    pub saved_by: Option<String>,
    /// `[sso]` in force: the file with the saved fields laid over it (no secrets).
    #[schema(value_type = Object)]
    pub effective: opsward_sso::SsoSettings,
    /// Whether the OIDC client secret is set (environment or file; never shown).
    pub oidc_client_secret_set: bool,
    /// Whether the LDAP service account's password is set (environment or file).
    pub ldap_bind_password_set: bool,
}

async fn current(state: &AppState) -> SignInSettings {
    let live = state.sign_in.current().await;
    SignInSettings {
        saved: live
            .saved
            .as_ref()
            .map(|s| s.overrides.clone())
            .unwrap_or_default(),
        saved_at: live.saved.as_ref().map(|s| s.updated_at),
        saved_by: live.saved.as_ref().map(|s| s.updated_by.clone()),
        effective: live.settings.clone(),
        oidc_client_secret_set: live
            .settings
            .oidc
            .as_ref()
            .is_some_and(|o| o.client_secret.is_some()),
        ldap_bind_password_set: live
            .settings
            .ldap
            .as_ref()
            .is_some_and(|l| l.bind_password.is_some()),
    }
}

/// Check `overrides` against the file's settings and save them (audited); the next
/// sign-in on any server uses them. Shared by the API, the admin page and the CLI.
pub async fn save(state: &AppState, actor: &Actor, overrides: SsoOverrides) -> ApiResult<()> {
    overrides
        .apply(&state.sign_in.base, state.config.public_url.as_deref())
        .map_err(|e| {
            let mut err = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                e.to_string(),
            );
            err.details.push(FieldError {
                field: e.field.to_string(),
                message: e.message.clone(),
            });
            err
        })?;
    state.sso.save_overrides(actor, &overrides).await?;
    state.sign_in.current().await;
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/admin/sign-in", tag = "users",
    responses((status = 200, body = SignInSettings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>) -> Json<SignInSettings> {
    Json(current(&state).await)
}

/// Replace the saved settings. Fields left out fall back to the file; `{}` hands everything
/// back to it. Refused with 422 when the result is unusable (an `http://` issuer other than
/// localhost, `ldap://` without StartTLS other than localhost, break-glass without a provider...).
#[utoipa::path(put, path = "/api/v1/admin/sign-in", tag = "users", request_body(content = Object, description = "The saved fields: local_login, break_glass_users, provisioning, groups {group: role}, default_role (none|viewer|operator|admin), oidc {name, issuer, client_id, scopes, username_claim, groups_claim}, ldap {url, starttls, bind_dn, search_base, user_filter, group_attribute}"),
    responses((status = 200, body = SignInSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(overrides): ApiJson<SsoOverrides>,
) -> ApiResult<Json<SignInSettings>> {
    save(&state, &caller.actor(), overrides).await?;
    Ok(Json(current(&state).await))
}
