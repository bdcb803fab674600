//! The saved sign-in settings (the admin page's, the API's and the CLI's, laid over the
//! file's) and what the periodic LDAP re-check reads and changes, on either backend. Every
//! change writes its audit row in the same transaction.

use crate::{
    overrides::SsoOverrides,
    store::{ProviderIdentity, Result, SsoStore},
    Method,
};
use chrono::{DateTime, Utc};
use opsward_core::{Actor, Role};
use opsward_store::{on_backend, StoreError};
use serde_json::json;

/// The saved settings and who saved them when.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOverrides {
    pub overrides: SsoOverrides,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// An account linked to a provider identity, as the periodic re-check sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedIdentity {
    pub user_id: i64,
    pub role: Role,
    /// The role the groups mapped to when last seen; `None` once refused.
    pub mapped_role: Option<String>,
    /// Method, issuer, subject (DN), username; `groups` empty.
    pub identity: ProviderIdentity,
}

macro_rules! settings_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{types::Json, Row};

            type Pool = sqlx::Pool<$db>;

            pub async fn load_overrides(pool: &Pool) -> Result<Option<StoredOverrides>> {
                let row = sqlx::query("SELECT overrides, updated_at, updated_by FROM sso_settings WHERE id = 1")
                    .fetch_optional(pool)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let overrides: Json<SsoOverrides> = row.try_get("overrides")?;
                Ok(Some(StoredOverrides {
                    overrides: overrides.0,
                    updated_at: row.try_get("updated_at")?,
                    updated_by: row.try_get("updated_by")?,
                }))
            }

            pub async fn save_overrides(pool: &Pool, actor: &Actor, overrides: &SsoOverrides) -> Result<DateTime<Utc>> {
                let now = Utc::now();
                let mut tx = pool.begin_with($begin).await?;
                let before: Option<Json<serde_json::Value>> =
                    sqlx::query("SELECT overrides FROM sso_settings WHERE id = 1")
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|row| row.try_get("overrides"))
                        .transpose()?;
                sqlx::query(
                    "INSERT INTO sso_settings (id, overrides, updated_at, updated_by) VALUES (1, $1, $2, $3) \
                     ON CONFLICT (id) DO UPDATE SET overrides = $1, updated_at = $2, updated_by = $3",
                )
                .bind(Json(overrides))
                .bind(now)
                .bind(&actor.label)
                .execute(&mut *tx)
                .await?;
                let after = serde_json::to_value(overrides).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                backend::audit(&mut tx, actor, "update", "sign_in_settings", None, before.map(|b| b.0), Some(after)).await?;
                tx.commit().await?;
                Ok(now)
            }

            pub async fn linked_identities(pool: &Pool, method: Method) -> Result<Vec<LinkedIdentity>> {
                let rows = sqlx::query(
                    "SELECT i.user_id, i.issuer, i.subject, i.mapped_role, u.username, u.display_name, u.email, u.role \
                     FROM sso_identities i JOIN users u ON u.id = i.user_id \
                     WHERE i.method = $1 AND u.disabled = FALSE ORDER BY i.user_id",
                )
                .bind(method.as_str())
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let role: String = r.try_get("role")?;
                        Ok(LinkedIdentity {
                            user_id: r.try_get("user_id")?,
                            mapped_role: r.try_get("mapped_role")?,
                            role: role.parse().map_err(|_| StoreError::Corrupt(format!("role {role:?}")))?,
                            identity: ProviderIdentity {
                                method,
                                issuer: r.try_get("issuer")?,
                                subject: r.try_get("subject")?,
                                username: r.try_get("username")?,
                                display_name: r.try_get("display_name")?,
                                email: r.try_get("email")?,
                                groups: Vec::new(),
                            },
                        })
                    })
                    .collect()
            }

            pub async fn apply_rechecked_role(pool: &Pool, linked: &LinkedIdentity, groups: &[String], role: Role) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                let who = &linked.identity;
                sqlx::query("UPDATE sso_identities SET groups = $1, mapped_role = $2 WHERE user_id = $3 AND method = $4 AND subject = $5")
                    .bind(Json(groups))
                    .bind(role.as_str())
                    .bind(linked.user_id)
                    .bind(who.method.as_str())
                    .bind(&who.subject)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
                    .bind(role.as_str())
                    .bind(linked.user_id)
                    .execute(&mut *tx)
                    .await?;
                let actor = Actor { user_id: None, label: "system:sso.recheck".into() };
                backend::audit(
                    &mut tx,
                    &actor,
                    "role_rechecked",
                    "user",
                    Some(linked.user_id),
                    Some(json!({"role": linked.role})),
                    Some(json!({"method": who.method.as_str(), "role": role, "groups": groups})),
                )
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

settings_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
settings_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");

impl SsoStore {
    /// The settings saved from the admin page, the API or the CLI, if any were.
    pub async fn load_overrides(&self) -> Result<Option<StoredOverrides>> {
        on_backend!(&self.db, load_overrides())
    }

    /// Replace the saved settings (with an audit row of before and after); when they were saved.
    pub async fn save_overrides(
        &self,
        actor: &Actor,
        overrides: &SsoOverrides,
    ) -> Result<DateTime<Utc>> {
        on_backend!(&self.db, save_overrides(actor, overrides))
    }

    /// The provider identities of `method` whose accounts are enabled, for the re-check.
    pub async fn linked_identities(&self, method: Method) -> Result<Vec<LinkedIdentity>> {
        on_backend!(&self.db, linked_identities(method))
    }

    /// The re-check found `groups` mapping to `role`: keep both, set the account's role, audit.
    pub async fn apply_rechecked_role(
        &self,
        linked: &LinkedIdentity,
        groups: &[String],
        role: Role,
    ) -> Result<()> {
        on_backend!(&self.db, apply_rechecked_role(linked, groups, role))
    }
}
