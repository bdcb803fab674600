//! The practices this server runs. Registering a practice here is all the server needs: the
//! dashboard, the asset page, `GET /api/v1/conditions`, `/metrics`, the scheduler and the
//! automatic backlog items iterate the [`Registry`].

use crate::ServerConfig;
use opsward_core::contract::Registry;
use opsward_store::Store;
use std::sync::Arc;

/// Every built-in practice on `store`, configured from `config`.
pub fn registry(store: Arc<dyn Store>, config: &ServerConfig) -> Registry {
    let backlog = Arc::new(opsward_backlog::BacklogStore::new(store.as_ref()));
    let mut registry = Registry::new();
    registry
        .register(opsward_certs::practice::CertificatesPractice::new(
            store.clone(),
            config.cert_trust.clone(),
        ))
        .register(opsward_resilience::practice::ResiliencePractice::new(
            store.clone(),
        ))
        .register(opsward_patches::practice::PatchesPractice::new(
            store.clone(),
        ))
        .register(opsward_vulns::practice::VulnerabilitiesPractice::new(
            store.clone(),
        ))
        .register(
            opsward_backlog::practice::BacklogPractice::new(
                store.clone(),
                config.backlog_auto.clone(),
                config.backlog_inbound.clone(),
            )
            .with_inbound_follow_up(Arc::new(crate::backlog_inbound::LinkCustomers {
                store: store.clone(),
            })),
        )
        .register(opsward_customers::practice::CustomersPractice::new(
            store.clone(),
            backlog,
        ))
        .register(opsward_suppliers::practice::SuppliersPractice::new(
            store,
            config.backlog_auto.supplier_score_below,
        ));
    registry
}
