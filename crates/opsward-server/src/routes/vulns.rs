//! The vulnerabilities practice's routes: API and pages, each with the role it needs.

use super::{Table, OPERATOR, VIEWER};
use crate::{api, ui};
use axum::http::Method;

/// Findings and their lifecycle, import runs: API and pages.
pub(super) fn routes(t: Table) -> Table {
    use Method as M;
    use {api::vulns as api_v, ui::vulns as ui_v};
    t.add(M::GET, "/api/v1/vulns/findings", VIEWER, api_v::list)
        .add(M::GET, "/api/v1/vulns/findings/{id}", VIEWER, api_v::get)
        .add(
            M::POST,
            "/api/v1/vulns/findings/{id}/transitions",
            OPERATOR,
            api_v::transition,
        )
        .add(M::GET, "/api/v1/vulns/imports", VIEWER, api_v::imports)
        .add(M::GET, "/vulns", VIEWER, ui_v::list)
        .add(M::GET, "/vulns/findings/{id}", VIEWER, ui_v::detail)
        .add(M::POST, "/vulns/findings/{id}", OPERATOR, ui_v::transition)
}
