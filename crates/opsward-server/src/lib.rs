//! The opsward server: JSON API under `/api/v1`, the server-rendered web UI, sign-in and
//! authorisation, Prometheus metrics, and the job scheduler that every instance runs.
//!
//! [`run`] serves an already-bound listener until `shutdown` resolves; the binary and the
//! tests both start the server through it (tests bind port 0).

pub mod api;
pub mod auth;
pub mod backlog_inbound;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod overview;
pub mod picture;
pub mod practices;
pub mod routes;
pub mod scheduler;
pub mod sign_in_live;
pub mod ui;

use auth::limiter::{LoginLimiter, LoginLimits};
use opsward_store::Store;
use scheduler::{JobRegistry, SchedulerConfig};
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};
use tokio::net::TcpListener;

/// Everything the server needs to know, in one value built by the binary (or a test).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Mark cookies `Secure`. Set when users reach opsward over HTTPS (directly or through
    /// a TLS-terminating proxy).
    pub secure_cookies: bool,
    pub session_ttl: Duration,
    pub login_limits: LoginLimits,
    /// Largest request body, which bounds CSV imports.
    pub max_body_bytes: usize,
    /// How long a request may take before the server answers 408.
    pub request_timeout: Duration,
    pub scheduler: SchedulerConfig,
    /// Where evidence attachments are kept (under the data directory). With several servers,
    /// this must be storage they all share.
    pub attachments_dir: std::path::PathBuf,
    pub max_attachment_bytes: u64,
    /// A file store built by the caller from `[file_store]` (an S3 bucket that several
    /// servers share); `None` keeps files in `attachments_dir`.
    pub file_store: Option<opsward_ops::attachments::AttachmentStore>,
    /// Trust anchors for certificate chains: the public roots plus the configured CA bundle
    /// (`cert_ca_file`), used for uploaded scans, scan requests and rescans.
    pub cert_trust: opsward_certs::TrustStore,
    /// Automatic backlog items: sources, interval, thresholds (`[backlog_auto]`).
    pub backlog_auto: opsward_backlog::auto::AutoSettings,
    /// Inbound email for the backlog (`[backlog_inbound]`); disabled without a host.
    pub backlog_inbound: opsward_backlog::inbound::InboundSettings,
    /// How often the picture of operational risk is refreshed and how old it may be.
    pub picture: picture::PictureSettings,
    /// Reverse proxies whose `X-Forwarded-For`/`-Proto` headers are believed; none by default.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Keep a user's API tokens when their password changes or the account is disabled
    /// (the default revokes them, as it ends their sessions).
    pub keep_api_tokens: bool,
    /// Where people reach opsward (`https://ops.example.com`, no trailing slash): links in
    /// emails, webhooks and chat messages are made absolute under it. `None` leaves them as
    /// paths, which nobody can click; `serve` warns about that.
    pub public_url: Option<String>,
    /// The scheduled backup job (`[backup]`): off unless a directory is set.
    pub backup: opsward_ops::backup::BackupSchedule,
    /// Sign-in through the identity provider (`[sso]`): OpenID Connect, the group mapping,
    /// which local accounts may still use a password.
    pub sso: opsward_sso::SsoSettings,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 3600),
            login_limits: LoginLimits::default(),
            max_body_bytes: 32 * 1024 * 1024,
            request_timeout: Duration::from_secs(300),
            scheduler: SchedulerConfig::default(),
            attachments_dir: std::env::temp_dir().join("opsward-attachments"),
            max_attachment_bytes: opsward_ops::attachments::DEFAULT_MAX_BYTES,
            file_store: None,
            cert_trust: opsward_certs::TrustStore::public_roots(),
            backlog_auto: opsward_backlog::auto::AutoSettings::default(),
            backlog_inbound: opsward_backlog::inbound::InboundSettings::default(),
            picture: picture::PictureSettings::default(),
            trusted_proxies: Vec::new(),
            keep_api_tokens: false,
            public_url: None,
            backup: Default::default(),
            sso: opsward_sso::SsoSettings::default(),
        }
    }
}

/// Shared by every request handler and background task.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<metrics::Metrics>,
    pub limiter: Arc<LoginLimiter>,
    pub jobs: Arc<JobRegistry>,
    /// The operations calendar on the same database.
    pub ops: opsward_ops::OpsStore,
    pub notifier: opsward_ops::notifications::Notifier,
    pub attachments: opsward_ops::attachments::AttachmentStore,
    /// The backlog on the same database.
    pub backlog: opsward_backlog::BacklogStore,
    /// Customer engagement on the same database.
    pub customers: opsward_customers::CustomersStore,
    /// Suppliers, contracts and reviews on the same database.
    pub suppliers: opsward_suppliers::SupplierStore,
    /// The register of resilience measures on the same database.
    pub resilience: opsward_resilience::register::MeasureStore,
    /// Vulnerability findings and threat intelligence on the same database.
    pub vulns: opsward_vulns::VulnStore,
    /// Patch management: hosts, reports, policy.
    pub patches: opsward_patches::store::PatchStore,
    /// Certificates, where they are deployed, and their renewals, on the same database.
    pub certs: opsward_certs::CertStore,
    /// Every practice's conditions and hygiene with the calendar summary, kept fresh.
    pub picture: Arc<picture::PictureCache>,
    /// Identity-provider sign-ins on the same database.
    pub sso: opsward_sso::SsoStore,
    /// The sign-in settings in force (file, with what an administrator saved over it) and
    /// the OpenID Connect and LDAP clients built from them.
    pub sign_in: Arc<sign_in_live::LiveSignIn>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        let registry = practices::registry(store.clone(), &config);
        let mut jobs = JobRegistry::builtin(&store, &registry, config.public_url.as_deref());
        jobs.add_scheduled_backup(&store, &config);
        jobs.add_sso_recheck(&store, &config);
        Self::with_registry(store, config, jobs, registry)
    }

    pub fn with_jobs(store: Arc<dyn Store>, config: ServerConfig, jobs: JobRegistry) -> Self {
        let registry = practices::registry(store.clone(), &config);
        Self::with_registry(store, config, jobs, registry)
    }

    /// A server whose practices are `registry` instead of the built-in ones.
    pub fn with_registry(
        store: Arc<dyn Store>,
        config: ServerConfig,
        jobs: JobRegistry,
        registry: opsward_core::contract::Registry,
    ) -> Self {
        let sso = opsward_sso::SsoStore::new(store.as_ref());
        let sign_in = Arc::new(sign_in_live::LiveSignIn::new(
            config.sso.clone(),
            config.public_url.clone(),
            sso.clone(),
        ));
        AppState {
            sso,
            sign_in,
            picture: picture::PictureCache::new(registry, store.clone(), config.picture),
            ops: opsward_ops::OpsStore::new(store.as_ref()),
            backlog: opsward_backlog::BacklogStore::new(store.as_ref()),
            customers: opsward_customers::CustomersStore::new(store.as_ref()),
            suppliers: opsward_suppliers::SupplierStore::new(store.as_ref()),
            resilience: opsward_resilience::register::MeasureStore::new(store.as_ref()),
            vulns: opsward_vulns::VulnStore::new(store.as_ref()),
            patches: opsward_patches::store::PatchStore::new(store.as_ref()),
            certs: opsward_certs::CertStore::new(store.as_ref()),
            notifier: opsward_ops::notifications::Notifier::new(store.as_ref()),
            attachments: config.file_store.clone().unwrap_or_else(|| {
                opsward_ops::attachments::AttachmentStore::new(
                    &config.attachments_dir,
                    config.max_attachment_bytes,
                )
            }),
            store,
            limiter: Arc::new(LoginLimiter::new(config.login_limits)),
            config: Arc::new(config),
            metrics: Arc::new(metrics::Metrics::new()),
            jobs: Arc::new(jobs),
        }
    }
}

/// Serve until `shutdown` resolves, then stop taking requests, let running requests and jobs
/// finish, and return.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let scheduler = state
        .config
        .scheduler
        .enabled
        .then(|| tokio::spawn(scheduler::run(state.clone(), stop_rx.clone())));
    tokio::spawn(state.picture.clone().keep_fresh(stop_rx.clone()));
    let app = routes::app(state);
    tracing::info!(address = %listener.local_addr()?, "opsward is serving");
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests and running jobs");
        let _ = stop_tx.send(true);
    })
    .await;
    if let Some(scheduler) = scheduler {
        let _ = scheduler.await;
    }
    served
}
