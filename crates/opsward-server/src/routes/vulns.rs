//! The vulnerabilities practice's routes: API and pages, each with the role it needs.

use super::{Table, ADMIN, OPERATOR, VIEWER};
use crate::{api, ui};
use axum::http::Method;

/// Findings and their lifecycle, import runs: API and pages.
pub(super) fn routes(t: Table) -> Table {
    use Method as M;
    use {
        api::vuln_policy as api_p, api::vulns as api_v, ui::vuln_policy as ui_p, ui::vulns as ui_v,
    };
    t.add(M::GET, "/api/v1/vulns/findings", VIEWER, api_v::list)
        .add(M::GET, "/api/v1/vulns/findings/{id}", VIEWER, api_v::get)
        .add(
            M::POST,
            "/api/v1/vulns/findings/{id}/transitions",
            OPERATOR,
            api_v::transition,
        )
        .add(M::GET, "/api/v1/vulns/imports", VIEWER, api_v::imports)
        .add(
            M::POST,
            "/api/v1/vulns/imports",
            OPERATOR,
            api_v::import_file,
        )
        .add(
            M::POST,
            "/api/v1/vulns/scans",
            OPERATOR,
            api::vuln_scans::upload,
        )
        .add(M::GET, "/api/v1/vulns/settings", VIEWER, api_p::settings)
        .add(
            M::PUT,
            "/api/v1/vulns/settings",
            ADMIN,
            api_p::save_settings,
        )
        .add(
            M::GET,
            "/api/v1/vulns/due-policy",
            VIEWER,
            api_p::due_policy,
        )
        .add(
            M::PUT,
            "/api/v1/vulns/due-policy",
            ADMIN,
            api_p::set_due_policy,
        )
        .add(
            M::GET,
            "/api/v1/vulns/port-policies",
            VIEWER,
            api_p::policies,
        )
        .add(
            M::PUT,
            "/api/v1/vulns/port-policies",
            OPERATOR,
            api_p::set_policy,
        )
        .add(
            M::DELETE,
            "/api/v1/vulns/port-policies/{id}",
            OPERATOR,
            api_p::delete_policy,
        )
        .add(
            M::GET,
            "/api/v1/vulns/exposure/targets",
            VIEWER,
            api_p::exposure_targets,
        )
        .add(
            M::POST,
            "/api/v1/vulns/assets/{id}/exposure",
            OPERATOR,
            api_p::record_exposure,
        )
        .add(
            M::GET,
            "/api/v1/vulns/check-runs",
            VIEWER,
            api_p::check_runs,
        )
        .add(M::GET, "/vulns/policy", VIEWER, ui_p::page)
        .add(M::POST, "/vulns/policy", OPERATOR, ui_p::set_policy)
        .add(M::POST, "/vulns/policy/due", ADMIN, ui_p::set_due_policy)
        .add(
            M::POST,
            "/vulns/policy/{id}/delete",
            OPERATOR,
            ui_p::delete_policy,
        )
        .add(
            M::POST,
            "/assets/{id}/port-policy",
            OPERATOR,
            ui_p::set_asset_policy,
        )
        .add(
            M::GET,
            "/vulns/imports",
            VIEWER,
            crate::ui::advisory_imports::page,
        )
        .add(
            M::POST,
            "/vulns/imports",
            OPERATOR,
            crate::ui::advisory_imports::upload,
        )
        .add(M::GET, "/vulns", VIEWER, ui_v::list)
        .add(M::GET, "/vulns/findings/{id}", VIEWER, ui_v::detail)
        .add(M::POST, "/vulns/findings/{id}", OPERATOR, ui_v::transition)
}
