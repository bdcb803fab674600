//! A host's pip and npm global packages on either backend: every report replaces the list
//! (it is short and always sent whole), inside the report's transaction.

use crate::inventory::language::LanguagePackage;
use opsward_store::StoreError;

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Rows per multi-row INSERT: 5 binds each.
const CHUNK: usize = 500;

macro_rules! language_sql {
    ($module:ident, $db:ty, $backend:path) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::QueryBuilder;

            pub async fn replace(conn: &mut backend::Conn, host_id: i64, packages: &[LanguagePackage]) -> Result<()> {
                sqlx::query("DELETE FROM patch_host_language_packages WHERE host_id = $1")
                    .bind(host_id)
                    .execute(&mut *conn)
                    .await?;
                // A report naming one package twice (same place) keeps the last version.
                let unique: std::collections::BTreeMap<_, &LanguagePackage> =
                    packages.iter().map(|p| ((p.ecosystem, p.location.as_str(), p.name.as_str()), p)).collect();
                let unique: Vec<&LanguagePackage> = unique.into_values().collect();
                for chunk in unique.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$db>::new("INSERT INTO patch_host_language_packages (host_id, ecosystem, location, name, version) ");
                    q.push_values(chunk, |mut b, p| {
                        b.push_bind(host_id).push_bind(p.ecosystem.as_str()).push_bind(&p.location).push_bind(&p.name).push_bind(&p.version);
                    });
                    q.build().execute(&mut *conn).await?;
                }
                Ok(())
            }

        }
    };
}

language_sql!(sqlite, sqlx::Sqlite, opsward_store::sqlite);
language_sql!(postgres, sqlx::Postgres, opsward_store::postgres);
