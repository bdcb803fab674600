//! Migrations embedded in the binary, one list per backend, applied at start-up.

use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;

type Embedded = &'static [(i64, &'static str, &'static str)];

pub const SQLITE: Embedded = &[
    (
        1,
        "foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
    ),
    (
        2,
        "calendar",
        include_str!("../migrations/sqlite/0002_calendar.sql"),
    ),
    (
        3,
        "notifications",
        include_str!("../migrations/sqlite/0003_notifications.sql"),
    ),
    (
        4,
        "backlog",
        include_str!("../migrations/sqlite/0004_backlog.sql"),
    ),
    (
        5,
        "customers",
        include_str!("../migrations/sqlite/0005_customers.sql"),
    ),
    (
        6,
        "suppliers",
        include_str!("../migrations/sqlite/0006_suppliers.sql"),
    ),
    (
        7,
        "resilience",
        include_str!("../migrations/sqlite/0007_resilience.sql"),
    ),
    (
        8,
        "vulns",
        include_str!("../migrations/sqlite/0008_vulns.sql"),
    ),
    (
        9,
        "patches",
        include_str!("../migrations/sqlite/0009_patches.sql"),
    ),
    (
        10,
        "certs",
        include_str!("../migrations/sqlite/0010_certs.sql"),
    ),
    (
        11,
        "backlog_sla",
        include_str!("../migrations/sqlite/0011_backlog_sla.sql"),
    ),
    (
        12,
        "host_vulns",
        include_str!("../migrations/sqlite/0012_host_vulns.sql"),
    ),
    (
        13,
        "vuln_policy",
        include_str!("../migrations/sqlite/0013_vuln_policy.sql"),
    ),
    (
        14,
        "backlog_more",
        include_str!("../migrations/sqlite/0014_backlog_more.sql"),
    ),
    (
        15,
        "certs_more",
        include_str!("../migrations/sqlite/0015_certs_more.sql"),
    ),
    (
        16,
        "patches_more",
        include_str!("../migrations/sqlite/0016_patches_more.sql"),
    ),
    (
        17,
        "backlog_auto",
        include_str!("../migrations/sqlite/0017_backlog_auto.sql"),
    ),
    (
        19,
        "vuln_due_from",
        include_str!("../migrations/sqlite/0019_vuln_due_from.sql"),
    ),
];
pub const POSTGRES: Embedded = &[
    (
        1,
        "foundation",
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "calendar",
        include_str!("../migrations/postgres/0002_calendar.sql"),
    ),
    (
        3,
        "notifications",
        include_str!("../migrations/postgres/0003_notifications.sql"),
    ),
    (
        4,
        "backlog",
        include_str!("../migrations/postgres/0004_backlog.sql"),
    ),
    (
        5,
        "customers",
        include_str!("../migrations/postgres/0005_customers.sql"),
    ),
    (
        6,
        "suppliers",
        include_str!("../migrations/postgres/0006_suppliers.sql"),
    ),
    (
        7,
        "resilience",
        include_str!("../migrations/postgres/0007_resilience.sql"),
    ),
    (
        8,
        "vulns",
        include_str!("../migrations/postgres/0008_vulns.sql"),
    ),
    (
        9,
        "patches",
        include_str!("../migrations/postgres/0009_patches.sql"),
    ),
    (
        10,
        "certs",
        include_str!("../migrations/postgres/0010_certs.sql"),
    ),
    (
        11,
        "backlog_sla",
        include_str!("../migrations/postgres/0011_backlog_sla.sql"),
    ),
    (
        12,
        "host_vulns",
        include_str!("../migrations/postgres/0012_host_vulns.sql"),
    ),
    (
        13,
        "vuln_policy",
        include_str!("../migrations/postgres/0013_vuln_policy.sql"),
    ),
    (
        14,
        "backlog_more",
        include_str!("../migrations/postgres/0014_backlog_more.sql"),
    ),
    (
        15,
        "certs_more",
        include_str!("../migrations/postgres/0015_certs_more.sql"),
    ),
    (
        16,
        "patches_more",
        include_str!("../migrations/postgres/0016_patches_more.sql"),
    ),
    (
        17,
        "backlog_auto",
        include_str!("../migrations/postgres/0017_backlog_auto.sql"),
    ),
    (
        19,
        "vuln_due_from",
        include_str!("../migrations/postgres/0019_vuln_due_from.sql"),
    ),
];

#[derive(Debug)]
struct EmbeddedSource(Embedded);

impl<'s> MigrationSource<'s> for EmbeddedSource {
    fn resolve(
        self,
    ) -> futures_core_compat::BoxFuture<'s, Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Kept local so the store does not depend on `futures` for one type alias.
mod futures_core_compat {
    pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
}

pub async fn migrator(embedded: Embedded) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(EmbeddedSource(embedded)).await
}
