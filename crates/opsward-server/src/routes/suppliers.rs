//! The suppliers practice's routes: API and pages, each with the role it needs.

use super::{Table, OPERATOR, VIEWER};
use crate::{api, ui};
use axum::http::Method;

/// Suppliers, contracts and reviews: API and pages.
pub(super) fn routes(t: Table) -> Table {
    use Method as M;
    use {api::contracts, api::supplier_reviews as reviews, api::suppliers as api_s};
    t.add(M::GET, "/api/v1/suppliers", VIEWER, api_s::list)
        .add(M::POST, "/api/v1/suppliers", OPERATOR, api_s::create)
        .add(M::GET, "/api/v1/suppliers/{id}", VIEWER, api_s::get)
        .add(M::PUT, "/api/v1/suppliers/{id}", OPERATOR, api_s::update)
        .add(M::DELETE, "/api/v1/suppliers/{id}", OPERATOR, api_s::delete)
        .add(
            M::POST,
            "/api/v1/suppliers/{id}/links",
            OPERATOR,
            api_s::link,
        )
        .add(
            M::DELETE,
            "/api/v1/suppliers/{id}/links",
            OPERATOR,
            api_s::unlink,
        )
        .add(M::GET, "/api/v1/contracts", VIEWER, contracts::list)
        .add(M::POST, "/api/v1/contracts", OPERATOR, contracts::create)
        .add(M::GET, "/api/v1/contracts/{id}", VIEWER, contracts::get)
        .add(
            M::PUT,
            "/api/v1/contracts/{id}",
            OPERATOR,
            contracts::update,
        )
        .add(
            M::DELETE,
            "/api/v1/contracts/{id}",
            OPERATOR,
            contracts::delete,
        )
        .add(
            M::POST,
            "/api/v1/contracts/{id}/decisions",
            OPERATOR,
            contracts::decide,
        )
        .add(
            M::POST,
            "/api/v1/contracts/{id}/documents",
            OPERATOR,
            contracts::upload,
        )
        .add(
            M::GET,
            "/api/v1/contracts/documents/{id}",
            VIEWER,
            contracts::document,
        )
        .add(M::GET, "/api/v1/supplier-reviews", VIEWER, reviews::list)
        .add(
            M::POST,
            "/api/v1/supplier-reviews",
            OPERATOR,
            reviews::create,
        )
        .add(
            M::GET,
            "/api/v1/supplier-reviews/criteria",
            VIEWER,
            reviews::criteria,
        )
        .add(
            M::PUT,
            "/api/v1/supplier-reviews/criteria",
            OPERATOR,
            reviews::set_criteria,
        )
        .add(
            M::GET,
            "/api/v1/supplier-reviews/{id}",
            VIEWER,
            reviews::get,
        )
        .add(
            M::POST,
            "/api/v1/supplier-reviews/{id}/actions",
            OPERATOR,
            reviews::add_action,
        )
        .add(
            M::PATCH,
            "/api/v1/supplier-reviews/actions/{id}",
            OPERATOR,
            reviews::update_action,
        )
        .add(M::GET, "/suppliers", VIEWER, ui::suppliers::list)
        .add(M::POST, "/suppliers", OPERATOR, ui::suppliers::create)
        .add(M::GET, "/suppliers/{id}", VIEWER, ui::suppliers::detail)
        .add(
            M::POST,
            "/suppliers/{id}/edit",
            OPERATOR,
            ui::supplier_forms::edit_supplier,
        )
        .add(
            M::POST,
            "/suppliers/{id}/links",
            OPERATOR,
            ui::supplier_forms::link_item,
        )
        .add(
            M::POST,
            "/contracts/{id}/documents",
            OPERATOR,
            ui::supplier_forms::upload_documents,
        )
        .add(
            M::POST,
            "/suppliers/{id}/contracts",
            OPERATOR,
            ui::supplier_forms::add_contract,
        )
        .add(
            M::POST,
            "/suppliers/{id}/reviews",
            OPERATOR,
            ui::supplier_forms::add_review,
        )
        .add(
            M::POST,
            "/contracts/{id}/decisions",
            OPERATOR,
            ui::supplier_forms::decide,
        )
        .add(
            M::POST,
            "/supplier-reviews/actions/{id}/done",
            OPERATOR,
            ui::supplier_forms::action_done,
        )
}
