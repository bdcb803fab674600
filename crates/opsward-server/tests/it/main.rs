//! Server tests over real HTTP against `opsward_server::run` on port 0, on both backends.

mod api;
mod auth;
mod backlog;
mod backlog_auto;
mod backlog_board;
mod backlog_inbound;
mod backlog_more;
mod backlog_owners;
mod backlog_sla;
mod backlog_transfer;
mod calendar;
mod calendar_month;
mod cert_targets;
mod certs;
mod condition_notifications;
mod customer_surveys;
mod customers;
mod evidence_future;
mod file_store;
mod host_vulns;
mod notifications;
mod patch_rings;
mod patches;
mod picture;
mod resilience;
mod roles;
mod scheduler;
mod schema_names;
mod security;
mod sso_ldap;
mod sso_oidc;
mod sso_settings;
mod summary;
mod supplier_reviews_backlog;
mod suppliers;
mod ui_answers;
mod ui_confirm;
mod ui_first_run;
mod ui_forms;
mod ui_names;
mod ui_prg;
mod vuln_checks;
mod vuln_host_matching;
mod vuln_scans;
mod vulns;

use opsward_core::{
    user::{NewApiToken, NewUser, User},
    Actor, Role,
};
use opsward_server::{auth::secret, scheduler::JobRegistry, AppState, ServerConfig};
use opsward_testkit::{Backend, TestDb};
use serde_json::Value;
use std::net::SocketAddr;
use tokio::sync::oneshot;

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: TestDb,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _attachments: Option<tempfile::TempDir>,
}

impl TestApp {
    /// A server with its own database and its own attachment directory.
    pub async fn start(backend: Backend) -> TestApp {
        let attachments = tempfile::tempdir().unwrap();
        let config = ServerConfig {
            attachments_dir: attachments.path().to_path_buf(),
            ..ServerConfig::default()
        };
        let db = TestDb::new(backend).await;
        let jobs = JobRegistry::for_server(&db.store, &config);
        let mut app = Self::start_with(db, config, jobs).await;
        app._attachments = Some(attachments);
        app
    }

    pub async fn start_with(db: TestDb, config: ServerConfig, jobs: JobRegistry) -> TestApp {
        let state = AppState::with_jobs(db.store.clone(), config, jobs);
        Self::start_state(db, state).await
    }

    /// A server running `state` (built on `db`'s store).
    pub async fn start_state(db: TestDb, state: AppState) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, db, state).await
    }

    /// A server running `state` on an already bound `listener` (for peers that must know
    /// the server's address before its configuration is complete).
    pub async fn start_on(
        listener: tokio::net::TcpListener,
        db: TestDb,
        state: AppState,
    ) -> TestApp {
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(opsward_server::run(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            db,
            state,
            stop: Some(stop),
            handle: Some(handle),
            _attachments: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A user with `role` and a fresh API token for them.
    pub async fn user_with_token(&self, username: &str, role: Role) -> (User, String) {
        let store = &self.db.store;
        let user = store
            .create_user(
                &Actor::system("test"),
                &NewUser {
                    username: username.into(),
                    display_name: username.into(),
                    email: None,
                    role,
                    password_hash: "x".into(),
                },
            )
            .await
            .unwrap();
        let token = secret::new_api_token();
        store
            .create_api_token(
                &Actor::system("test"),
                &NewApiToken {
                    user_id: user.id,
                    name: "test".into(),
                    prefix: "ow_".into(),
                    token_hash: secret::hash_secret(&token),
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        (user, token)
    }

    /// `method path` as the bearer of `token`, with an optional JSON body; the response body
    /// as JSON whatever the status (tests that care about the status check it themselves).
    pub async fn json(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Value {
        let mut request = client().request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    pub async fn get_json(&self, token: &str, path: &str) -> Value {
        self.json(reqwest::Method::GET, token, path, None).await
    }

    pub async fn post_json(&self, token: &str, path: &str, body: &Value) -> Value {
        self.json(reqwest::Method::POST, token, path, Some(body))
            .await
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            tokio::time::timeout(std::time::Duration::from_secs(30), handle)
                .await
                .expect("server stops")
                .unwrap()
                .unwrap();
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Run the test body once per backend: `both_backends!(name, |app: TestApp| async move {..})`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::TestApp::start(opsward_testkit::Backend::Sqlite).await;
                ($body)(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = $crate::TestApp::start(opsward_testkit::Backend::Postgres).await;
                ($body)(app).await;
            }
        }
    };
}

/// Tests `name::sqlite` and `name::postgres` running `name(backend)`, for tests that start
/// their server themselves (with a configuration or practices `both_backends!` does not take).
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Backend::Postgres).await;
            }
        }
    };
}
