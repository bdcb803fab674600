//! The JSON API under `/api/v1`. Handlers are thin: parse, call the store, answer.

pub mod assets;
pub mod audit;
pub mod backlog;
pub mod backlog_auto;
pub mod backlog_inbound;
pub mod backlog_more;
pub mod calendar;
pub mod cert_targets;
pub mod certs;
pub mod conditions;
pub mod customers;
pub mod files;
pub mod host_vulns;
pub mod notifications;
pub mod patch_rollout;
pub mod patches;
pub mod people;
pub mod resilience;
pub mod sign_in;
pub mod summary;
pub mod system;
pub mod tokens;
pub mod users;
// Suppliers
pub mod contracts;
pub mod supplier_reviews;
pub mod suppliers;
pub mod vuln_policy;
pub mod vuln_scans;
pub mod vulns;

use crate::{auth::Principal, error::ApiError};
use axum::{extract::FromRequestParts, http::request::Parts};

/// The caller, for handlers. The route guard has already checked the role, so a missing
/// principal here means a route was registered as public by mistake: fail closed.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(ApiError::unauthenticated)
    }
}
