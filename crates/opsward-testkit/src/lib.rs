//! Test helpers shared by every crate's integration tests: a fresh, migrated store on each
//! backend, so that every store test runs on SQLite and on PostgreSQL alike.
//!
//! PostgreSQL tests each get a schema of their own in the database named by
//! `OPSWARD_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`), so they
//! run in parallel without seeing each other. A missing PostgreSQL fails the test: it is
//! never skipped.

pub mod imap;
pub mod ldap;
pub mod oidc;
pub mod s3;
pub mod smtp;

use opsward_core::asset::{AssetInput, AssetKind, Criticality};
use opsward_store::{Store, StoreSettings};
use rand::Rng;
use std::sync::Arc;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn postgres_base_url() -> String {
    std::env::var("OPSWARD_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string())
}

/// A database for one test. Keep it alive for as long as the test uses the URL.
pub struct TestDb {
    pub url: String,
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite:{}", dir.path().join("opsward.db").display());
        let store = opsward_store::connect(&StoreSettings::new(&url))
            .await
            .expect("open SQLite store");
        TestDb {
            url,
            store,
            _dir: Some(dir),
        }
    }

    pub async fn postgres() -> TestDb {
        let url = fresh_postgres_schema().await;
        let store = opsward_store::connect(&StoreSettings::new(&url))
            .await
            .expect("open PostgreSQL store");
        TestDb {
            url,
            store,
            _dir: None,
        }
    }

    /// A store on an existing database, as another server process would open it.
    pub async fn open(url: &str) -> TestDb {
        let store = opsward_store::connect(&StoreSettings::new(url))
            .await
            .expect("open store");
        TestDb {
            url: url.to_string(),
            store,
            _dir: None,
        }
    }

    /// Another store on the same database, as a second server process would have.
    pub async fn reopen(&self) -> Arc<dyn Store> {
        opsward_store::connect(&StoreSettings::new(&self.url))
            .await
            .expect("reopen store")
    }
}

/// Create an empty schema and return a URL whose connections use it.
pub async fn fresh_postgres_schema() -> String {
    use sqlx::Connection;
    let base = postgres_base_url();
    let schema = format!("t_{:016x}", rand::thread_rng().gen::<u64>());
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL at {base} is unreachable ({e}); store tests need it")
        });
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// The Python that has the test peers (aiosmtpd, icalendar, dateutil): `OPSWARD_TEST_PYTHON`,
/// else the workspace's `.venv`, which `.ci/run` creates.
pub fn python() -> std::path::PathBuf {
    match std::env::var_os("OPSWARD_TEST_PYTHON") {
        Some(path) => std::path::PathBuf::from(path),
        None => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
    }
}

/// A minimal valid asset: a production host of medium criticality.
pub fn asset_input(name: &str) -> AssetInput {
    AssetInput {
        name: name.into(),
        kind: AssetKind::Host,
        environment: "production".into(),
        criticality: Criticality::Medium,
        owner_team_id: None,
        owner_person_id: None,
        tags: vec![],
        description: String::new(),
    }
}

/// The value of the first `csrf_token` hidden field in an HTML page.
pub fn csrf_token_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    html[start..]
        .split('"')
        .next()
        .expect("a closing quote")
        .to_string()
}

/// Define one test per backend from one body: `store_test!(name, |store| async move { .. })`.
#[macro_export]
macro_rules! store_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::TestDb::sqlite().await;
                ($body)(db.store.clone()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::TestDb::postgres().await;
                ($body)(db.store.clone()).await;
            }
        }
    };
}

/// Run a script of SQL statements against the database at `url` (SQLite or PostgreSQL), as
/// an upgrade test fills a database of an earlier schema that the current code cannot write.
pub async fn run_sql_script(url: &str, script: &str) {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.expect("open SQLite");
        sqlx::raw_sql(script)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("SQL script on SQLite: {e}"));
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.expect("open PostgreSQL");
        sqlx::raw_sql(script)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("SQL script on PostgreSQL: {e}"));
        pool.close().await;
    }
}
