//! The severity of pending updates, as the vulnerability practice derives it from the
//! findings each update would close: stored with the update, and its due date recomputed
//! by the patch policy (critical 7 days, high 14, others 30 by default).

use super::sql::Result;
use crate::policy::Severity;
use opsward_core::Actor;

/// One pending update's severity: `None` when no linked vulnerability has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSeverity {
    pub name: String,
    pub arch: String,
    pub severity: Option<Severity>,
}

macro_rules! severity_sql {
    ($module:ident, $db:ty, $backend:path, $sql:ident, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use crate::store::sql::$sql as sql;
            use chrono::{DateTime, Utc};
            use sqlx::Row;
            use $backend as backend;

            type Pool = sqlx::Pool<$db>;

            /// Sets each update's severity and due date; returns how many changed. One audit
            /// row for the host lists the changes.
            pub async fn set(pool: &Pool, actor: &Actor, host_id: i64, updates: &[UpdateSeverity]) -> Result<usize> {
                let mut tx = pool.begin_with($begin).await?;
                let policy = sql::policy_in(&mut tx).await?;
                let mut changes = vec![];
                for u in updates {
                    let Some(row) = sqlx::query("SELECT security, severity, first_seen_at, due_at FROM patch_pending WHERE host_id = $1 AND name = $2 AND arch = $3")
                        .bind(host_id).bind(&u.name).bind(&u.arch)
                        .fetch_optional(&mut *tx).await?
                    else {
                        continue;
                    };
                    let before: Option<String> = row.try_get("severity")?;
                    if before.as_deref() == u.severity.map(|s| s.as_str()) {
                        continue;
                    }
                    let security: bool = row.try_get("security")?;
                    let first_seen: DateTime<Utc> = row.try_get("first_seen_at")?;
                    let due_before: DateTime<Utc> = row.try_get("due_at")?;
                    let due = policy.due_at(first_seen, security, u.severity);
                    sqlx::query("UPDATE patch_pending SET severity = $1, due_at = $2 WHERE host_id = $3 AND name = $4 AND arch = $5")
                        .bind(u.severity.map(|s| s.as_str())).bind(due)
                        .bind(host_id).bind(&u.name).bind(&u.arch)
                        .execute(&mut *tx).await?;
                    changes.push(serde_json::json!({
                        "name": u.name, "arch": u.arch, "severity": [before, u.severity], "due_at": [due_before, due],
                    }));
                }
                if !changes.is_empty() {
                    backend::audit(&mut tx, actor, "update_severity", "patch_host", Some(host_id), None, Some(serde_json::json!({ "updates": changes }))).await?;
                }
                tx.commit().await?;
                Ok(changes.len())
            }
        }
    };
}

severity_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    sqlite,
    "BEGIN IMMEDIATE"
);
severity_sql!(
    postgres,
    sqlx::Postgres,
    opsward_store::postgres,
    postgres,
    "BEGIN"
);
