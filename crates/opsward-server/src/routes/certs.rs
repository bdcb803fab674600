//! The certificates practice's routes: API and pages, each with the role it needs.

use super::{Table, ADMIN, OPERATOR, VIEWER};
use crate::{api, ui};
use axum::http::Method;

/// Certificates, renewals, uploaded scans and settings: API and pages.
pub(super) fn routes(t: Table) -> Table {
    use Method as M;
    use {
        api::cert_targets as api_t, api::certs as api_c, ui::cert_assets as asset_pages,
        ui::certs as pages,
    };
    t.add(M::GET, "/api/v1/certificates", VIEWER, api_c::list)
        .add(
            M::GET,
            "/api/v1/certificates/renewals",
            VIEWER,
            api_c::renewals,
        )
        .add(
            M::GET,
            "/api/v1/certificates/settings",
            VIEWER,
            api_c::settings,
        )
        .add(
            M::PUT,
            "/api/v1/certificates/settings",
            ADMIN,
            api_c::save_settings,
        )
        .add(
            M::POST,
            "/api/v1/certificates/scans",
            OPERATOR,
            api_c::upload_scan,
        )
        .add(M::GET, "/api/v1/certificates/assets", VIEWER, api_t::assets)
        .add(
            M::PUT,
            "/api/v1/certificates/assets/{id}",
            OPERATOR,
            api_t::set_asset,
        )
        .add(
            M::GET,
            "/api/v1/certificates/tag-thresholds",
            VIEWER,
            api_t::tag_thresholds,
        )
        .add(
            M::PUT,
            "/api/v1/certificates/tag-thresholds",
            OPERATOR,
            api_t::set_tag_thresholds,
        )
        .add(
            M::GET,
            "/api/v1/certificates/scan-targets",
            VIEWER,
            api_t::scan_targets,
        )
        .add(
            M::POST,
            "/api/v1/certificates/scan-requests",
            OPERATOR,
            api_t::scan_request,
        )
        .add(M::GET, "/api/v1/certificates/{id}", VIEWER, api_c::get)
        .add(
            M::PUT,
            "/api/v1/certificates/{id}/owner",
            OPERATOR,
            api_c::set_owner,
        )
        .add(
            M::PUT,
            "/api/v1/certificates/{id}/renewal",
            OPERATOR,
            api_c::update_renewal,
        )
        .add(M::GET, "/certificates", VIEWER, pages::list)
        .add(M::GET, "/certificates/assets", VIEWER, asset_pages::page)
        .add(
            M::POST,
            "/certificates/assets/{id}",
            OPERATOR,
            asset_pages::save_asset,
        )
        .add(
            M::POST,
            "/certificates/tag-thresholds",
            OPERATOR,
            asset_pages::save_tag,
        )
        .add(M::GET, "/certificates/scans", VIEWER, ui::cert_scans::page)
        .add(
            M::POST,
            "/certificates/scans",
            OPERATOR,
            ui::cert_scans::start,
        )
        .add(M::GET, "/certificates/{id}", VIEWER, pages::detail)
        .add(
            M::POST,
            "/certificates/{id}/renewal",
            OPERATOR,
            pages::update_renewal,
        )
}
