//! The practices this server runs. Registering a practice here is all the server needs: the
//! dashboard, the asset page, `GET /api/v1/conditions`, `/metrics`, the scheduler and the
//! automatic backlog items iterate the [`Registry`].

use crate::ServerConfig;
use opsward_core::contract::Registry;
use opsward_store::Store;
use std::sync::Arc;

/// Every built-in practice on `store`, configured from `config`.
pub fn registry(_store: Arc<dyn Store>, _config: &ServerConfig) -> Registry {
    Registry::new()
}
