//! A network fault proxy with Toxiproxy's HTTP API.
//!
//! The API (default port 8474) is Toxiproxy 2's: `GET/POST /proxies`, `GET/POST/DELETE
//! /proxies/{name}`, `GET/POST /proxies/{name}/toxics`, `GET/POST/DELETE
//! /proxies/{name}/toxics/{toxic}`, `POST /populate`, `POST /reset`, `GET /version`, with the
//! same JSON shapes, defaults and status codes, so Toxiproxy's client libraries and the Chaos
//! Toolkit extension drive it unchanged.

mod api;
mod proxy;
pub mod toxics;

pub use api::router;
pub use proxy::{Proxy, ProxyView};

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};
use toxics::{Toxic, ToxicError, ToxicInput, ToxicPatch};

/// The Toxiproxy API version this server answers as.
pub const TOXIPROXY_API_VERSION: &str = "2.12.0";

#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("proxy not found")]
    ProxyNotFound,
    #[error("proxy already exists")]
    ProxyExists,
    #[error("toxic not found")]
    ToxicNotFound,
    #[error("toxic already exists")]
    ToxicExists,
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Toxic(#[from] ToxicError),
    #[error("listen {listen}: {source}")]
    Listen {
        listen: String,
        source: std::io::Error,
    },
}

/// A proxy as sent to create or populate one.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ProxyInput {
    pub name: String,
    #[serde(default)]
    pub listen: Option<String>,
    pub upstream: String,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Every proxy of one fault proxy server.
#[derive(Clone, Default)]
pub struct FaultProxy {
    proxies: Arc<Mutex<BTreeMap<String, Arc<Proxy>>>>,
}

fn check_address(field: &str, value: &str) -> Result<(), FaultError> {
    // host:port, with the port a number; the host is resolved when used.
    match value.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(FaultError::BadRequest(format!(
            "{field} must be host:port, got {value:?}"
        ))),
    }
}

impl FaultProxy {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, name: &str) -> Result<Arc<Proxy>, FaultError> {
        self.proxies
            .lock()
            .expect("proxies")
            .get(name)
            .cloned()
            .ok_or(FaultError::ProxyNotFound)
    }

    pub fn list(&self) -> Vec<ProxyView> {
        let proxies: Vec<_> = self
            .proxies
            .lock()
            .expect("proxies")
            .values()
            .cloned()
            .collect();
        proxies.iter().map(|p| p.view()).collect()
    }

    /// Create a proxy; enabled (listening) unless `enabled` is false.
    pub async fn create(&self, input: ProxyInput) -> Result<ProxyView, FaultError> {
        if input.name.trim().is_empty() {
            return Err(FaultError::BadRequest(
                "proxy name must not be empty".into(),
            ));
        }
        let listen = input
            .listen
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| "127.0.0.1:0".into());
        check_address("listen", &listen)?;
        check_address("upstream", &input.upstream)?;
        let proxy = Proxy::new(input.name.clone(), listen.clone(), input.upstream);
        {
            let mut proxies = self.proxies.lock().expect("proxies");
            if proxies.contains_key(&input.name) {
                return Err(FaultError::ProxyExists);
            }
            proxies.insert(input.name.clone(), proxy.clone());
        }
        if input.enabled.unwrap_or(true) {
            if let Err(source) = proxy.enable().await {
                self.proxies.lock().expect("proxies").remove(&input.name);
                return Err(FaultError::Listen { listen, source });
            }
        }
        Ok(proxy.view())
    }

    /// Enable/disable, re-listen or re-point a proxy.
    pub async fn update(
        &self,
        name: &str,
        enabled: Option<bool>,
        listen: Option<String>,
        upstream: Option<String>,
    ) -> Result<ProxyView, FaultError> {
        let proxy = self.get(name)?;
        if let Some(l) = &listen {
            check_address("listen", l)?;
        }
        if let Some(u) = &upstream {
            check_address("upstream", u)?;
        }
        let wanted = listen.clone();
        proxy
            .reconfigure(listen, upstream)
            .await
            .map_err(|source| FaultError::Listen {
                listen: wanted.unwrap_or_default(),
                source,
            })?;
        match enabled {
            Some(true) => {
                let listen = proxy.view().listen;
                proxy
                    .enable()
                    .await
                    .map_err(|source| FaultError::Listen { listen, source })?;
            }
            Some(false) => proxy.disable().await,
            None => {}
        }
        Ok(proxy.view())
    }

    pub async fn delete(&self, name: &str) -> Result<(), FaultError> {
        let proxy = self
            .proxies
            .lock()
            .expect("proxies")
            .remove(name)
            .ok_or(FaultError::ProxyNotFound)?;
        proxy.disable().await;
        Ok(())
    }

    /// Create or replace each proxy (Toxiproxy's `/populate`): an existing proxy with a
    /// different listen address or upstream is replaced, an identical one is kept.
    pub async fn populate(&self, inputs: Vec<ProxyInput>) -> Result<Vec<ProxyView>, FaultError> {
        for input in &inputs {
            check_address("upstream", &input.upstream)?;
        }
        let mut out = Vec::new();
        for input in inputs {
            if let Ok(existing) = self.get(&input.name) {
                let view = existing.view();
                let same_listen = input.listen.as_deref().is_none_or(|l| l == view.listen);
                if same_listen && view.upstream == input.upstream {
                    out.push(
                        self.update(&input.name, input.enabled.or(Some(true)), None, None)
                            .await?,
                    );
                    continue;
                }
                self.delete(&input.name).await?;
            }
            out.push(self.create(input).await?);
        }
        Ok(out)
    }

    /// Enable every proxy and remove every toxic.
    pub async fn reset(&self) -> Result<(), FaultError> {
        let proxies: Vec<_> = self
            .proxies
            .lock()
            .expect("proxies")
            .values()
            .cloned()
            .collect();
        for p in proxies {
            p.set_toxics(Vec::new());
            let listen = p.view().listen;
            p.enable()
                .await
                .map_err(|source| FaultError::Listen { listen, source })?;
        }
        Ok(())
    }

    pub fn add_toxic(&self, proxy: &str, input: ToxicInput) -> Result<Toxic, FaultError> {
        let proxy = self.get(proxy)?;
        let toxic = Toxic::from_input(input)?;
        let mut toxics = proxy.toxics().as_ref().clone();
        if toxics.iter().any(|t| t.name == toxic.name) {
            return Err(FaultError::ToxicExists);
        }
        toxics.push(toxic.clone());
        proxy.set_toxics(toxics);
        Ok(toxic)
    }

    pub fn toxic(&self, proxy: &str, name: &str) -> Result<Toxic, FaultError> {
        self.get(proxy)?
            .toxics()
            .iter()
            .find(|t| t.name == name)
            .cloned()
            .ok_or(FaultError::ToxicNotFound)
    }

    pub fn update_toxic(
        &self,
        proxy: &str,
        name: &str,
        patch: ToxicPatch,
    ) -> Result<Toxic, FaultError> {
        let proxy = self.get(proxy)?;
        let mut toxics = proxy.toxics().as_ref().clone();
        let slot = toxics
            .iter_mut()
            .find(|t| t.name == name)
            .ok_or(FaultError::ToxicNotFound)?;
        *slot = slot.patched(patch)?;
        let updated = slot.clone();
        proxy.set_toxics(toxics);
        Ok(updated)
    }

    pub fn remove_toxic(&self, proxy: &str, name: &str) -> Result<(), FaultError> {
        let proxy = self.get(proxy)?;
        let mut toxics = proxy.toxics().as_ref().clone();
        let before = toxics.len();
        toxics.retain(|t| t.name != name);
        if toxics.len() == before {
            return Err(FaultError::ToxicNotFound);
        }
        proxy.set_toxics(toxics);
        Ok(())
    }

    /// Stop every proxy (at shutdown).
    pub async fn shutdown(&self) {
        let proxies: Vec<_> = self
            .proxies
            .lock()
            .expect("proxies")
            .values()
            .cloned()
            .collect();
        for p in proxies {
            p.disable().await;
        }
    }
}
