//! The one picture of operational risk that the dashboard, `GET /api/v1/summary`,
//! `GET /api/v1/conditions`, the asset pages and `/metrics` read: every practice's
//! conditions and hygiene deductions (through the practice contract) joined with the
//! calendar's summary.
//!
//! Computing it reads every practice's tables, which at a large organisation's scale takes
//! longer than a page may. So it is kept, not computed per request:
//!
//! - a background task refreshes it every [`PictureSettings::refresh_every`];
//! - every successful write through the API or the UI marks it stale and starts a refresh;
//!   a reader then waits for that refresh up to [`PictureSettings::fresh_wait`] (so a person
//!   sees their own change on a small installation), else gets the previous picture;
//! - a picture older than [`PictureSettings::max_age`] is never served: the reader waits for a
//!   fresh one. Every page and answer says when its picture was computed.
//!
//! With several servers each keeps its own picture; another server's write shows here at the
//! next refresh, within `refresh_every`.

use chrono::{DateTime, Utc};
use opsward_core::contract::{Condition, Registry};
use opsward_ops::{summary::Summary, OpsStore};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, RwLock,
    },
    time::{Duration, Instant},
};

/// How often and how fresh.
#[derive(Debug, Clone, Copy)]
pub struct PictureSettings {
    pub refresh_every: Duration,
    pub max_age: Duration,
    pub fresh_wait: Duration,
}

impl Default for PictureSettings {
    fn default() -> Self {
        PictureSettings {
            refresh_every: Duration::from_secs(20),
            max_age: Duration::from_secs(60),
            fresh_wait: Duration::from_secs(2),
        }
    }
}

/// Every practice's conditions with the calendar summary, as of one moment.
#[derive(Debug)]
pub struct RiskPicture {
    /// The dashboard's numbers; `summary.generated_at` is when this picture was computed.
    pub summary: Summary,
    /// Every condition, worst first.
    pub conditions: Vec<Condition>,
    /// The practices' own Prometheus series (the x509 certificate gauges), as of the same
    /// moment.
    pub metric_series: String,
    computed: Instant,
    /// The write generation this picture includes.
    generation: u64,
}

impl RiskPicture {
    pub fn computed_at(&self) -> DateTime<Utc> {
        self.summary.generated_at
    }

    /// Seconds since it was computed.
    pub fn age_seconds(&self) -> u64 {
        self.computed.elapsed().as_secs()
    }

    /// The conditions about one asset.
    pub fn for_asset(&self, asset_id: i64) -> Vec<Condition> {
        self.conditions
            .iter()
            .filter(|c| c.asset_id == Some(asset_id))
            .cloned()
            .collect()
    }
}

/// Why no picture could be computed.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error(transparent)]
    Store(#[from] opsward_store::StoreError),
    #[error("computing the picture of operational risk stopped unexpectedly")]
    Aborted,
}

/// The kept picture, shared by every request of one server.
pub struct PictureCache {
    registry: Registry,
    ops: OpsStore,
    settings: PictureSettings,
    current: RwLock<Option<Arc<RiskPicture>>>,
    /// Bumped by every write that may change the picture.
    writes: AtomicU64,
    /// One refresh at a time; a reader that finds one running waits for it.
    refreshing: tokio::sync::Mutex<()>,
}

impl PictureCache {
    pub fn new(
        registry: Registry,
        store: Arc<dyn opsward_store::Store>,
        settings: PictureSettings,
    ) -> Arc<Self> {
        Arc::new(PictureCache {
            ops: OpsStore::new(store.as_ref()),
            registry,
            settings,
            current: RwLock::new(None),
            writes: AtomicU64::new(0),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn settings(&self) -> PictureSettings {
        self.settings
    }

    fn kept(&self) -> Option<Arc<RiskPicture>> {
        self.current.read().map(|c| c.clone()).unwrap_or_default()
    }

    /// Something was written that may change the picture: refresh in the background.
    pub fn invalidate(self: &Arc<Self>) {
        self.writes.fetch_add(1, Ordering::SeqCst);
        let cache = self.clone();
        tokio::spawn(async move {
            if let Err(e) = cache.refresh_if_stale().await {
                tracing::warn!(error = %e, "picture of operational risk not refreshed");
            }
        });
    }

    /// The picture to show now (see the module docs for how fresh it is).
    pub async fn get(self: &Arc<Self>) -> Result<Arc<RiskPicture>, PictureError> {
        let kept = self.kept();
        let wanted = self.writes.load(Ordering::SeqCst);
        match kept {
            // Age alone is the background task's business, up to max_age.
            Some(p) if p.generation >= wanted && p.computed.elapsed() < self.settings.max_age => {
                Ok(p)
            }
            Some(p) if p.computed.elapsed() < self.settings.max_age => {
                // Stale only because of a write: wait a little for the refresh it started.
                let cache = self.clone();
                let refresh = tokio::spawn(async move { cache.refresh_if_stale().await });
                match tokio::time::timeout(self.settings.fresh_wait, refresh).await {
                    Ok(Ok(Ok(fresh))) => Ok(fresh),
                    Ok(Ok(Err(e))) => {
                        tracing::warn!(error = %e, "picture not refreshed; showing the previous one");
                        Ok(p)
                    }
                    Ok(Err(_)) | Err(_) => Ok(p),
                }
            }
            _ => {
                // None yet, or too old to show: wait for a fresh one, in a task of its own so
                // a reader that goes away does not abandon the computation half done.
                let cache = self.clone();
                tokio::spawn(async move { cache.refresh_if_stale().await })
                    .await
                    .map_err(|_| PictureError::Aborted)?
            }
        }
    }

    fn is_fresh(&self, picture: &RiskPicture, wanted: u64) -> bool {
        picture.generation >= wanted && picture.computed.elapsed() < self.settings.refresh_every
    }

    /// Compute a new picture unless one fresh enough appeared while waiting for the lock.
    pub async fn refresh_if_stale(&self) -> Result<Arc<RiskPicture>, PictureError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let wanted = self.writes.load(Ordering::SeqCst);
        if let Some(p) = self.kept().filter(|p| self.is_fresh(p, wanted)) {
            return Ok(p);
        }
        let started = Instant::now();
        let now = Utc::now();
        let assessed = self.registry.assess(now).await;
        for failure in &assessed.failures {
            tracing::warn!(error = %failure, "a practice could not report its conditions");
        }
        let summary = self.ops.summary(now, &assessed).await?;
        let picture = Arc::new(RiskPicture {
            summary,
            conditions: fill_asset_names(&self.ops, assessed.conditions).await?,
            metric_series: assessed.metric_series,
            computed: started,
            generation: wanted,
        });
        tracing::debug!(
            conditions = picture.conditions.len(),
            took_ms = started.elapsed().as_millis() as u64,
            "picture of operational risk computed"
        );
        if let Ok(mut current) = self.current.write() {
            *current = Some(picture.clone());
        }
        Ok(picture)
    }

    /// Keep the picture fresh until `stop` turns true.
    pub async fn keep_fresh(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.refresh_if_stale().await {
                tracing::warn!(error = %e, "picture of operational risk not refreshed");
            }
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(self.settings.refresh_every) => {}
            }
        }
    }
}

/// Conditions whose practice named the asset only by id get its name from the register.
async fn fill_asset_names(
    ops: &OpsStore,
    mut conditions: Vec<Condition>,
) -> Result<Vec<Condition>, opsward_store::StoreError> {
    if conditions
        .iter()
        .all(|c| c.asset_id.is_none() || c.asset_name.is_some())
    {
        return Ok(conditions);
    }
    let names = ops.asset_names().await?;
    for c in &mut conditions {
        if let (Some(id), None) = (c.asset_id, &c.asset_name) {
            c.asset_name = names.get(&id).cloned();
        }
    }
    Ok(conditions)
}

/// Middleware: a write through the API or the UI that succeeded may change the picture.
pub async fn invalidate_on_write(
    axum::extract::State(cache): axum::extract::State<Arc<PictureCache>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let response = next.run(req).await;
    let status = response.status();
    if write && (status.is_success() || status.is_redirection()) {
        cache.invalidate();
    }
    response
}
