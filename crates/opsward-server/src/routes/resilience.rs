//! The resilience register's routes: API and pages, each with the role it needs.

use super::{Table, OPERATOR, VIEWER};
use crate::{api, ui};
use axum::http::Method;

/// Measures and their test results: API and pages.
pub(super) fn routes(t: Table) -> Table {
    use Method as M;
    use {api::resilience as api_r, ui::resilience as pages, ui::resilience_forms as forms};
    const ONE: &str = "/api/v1/resilience/measures/{id}";
    t.add(M::GET, "/api/v1/resilience/measures", VIEWER, api_r::list)
        .add(
            M::POST,
            "/api/v1/resilience/measures",
            OPERATOR,
            api_r::create,
        )
        .add(M::GET, ONE, VIEWER, api_r::get)
        .add(M::PUT, ONE, OPERATOR, api_r::update)
        .add(M::DELETE, ONE, OPERATOR, api_r::delete)
        .add(
            M::POST,
            "/api/v1/resilience/measures/{id}/results",
            OPERATOR,
            api_r::record_result,
        )
        .add(M::GET, "/resilience", VIEWER, pages::list)
        .add(M::POST, "/resilience", OPERATOR, forms::create)
        .add(M::GET, "/resilience/new", OPERATOR, forms::new_form)
        .add(M::GET, "/resilience/{id}", VIEWER, pages::detail)
        .add(M::POST, "/resilience/{id}", OPERATOR, forms::update)
        .add(M::GET, "/resilience/{id}/edit", OPERATOR, forms::edit_form)
        .add(M::POST, "/resilience/{id}/delete", OPERATOR, pages::delete)
        .add(
            M::POST,
            "/resilience/{id}/results",
            OPERATOR,
            pages::record_result,
        )
}
