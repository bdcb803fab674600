//! The patches practice's routes. Agents enroll and report on public routes whose own
//! secrets (enrollment token, host credential) are checked by the handlers.

use super::{Table, OPERATOR, PUBLIC, VIEWER};
use crate::{api::patch_rollout as rollout, api::patches as api, ui};
use axum::http::Method;

pub(super) fn routes(t: Table) -> Table {
    use Method as M;
    t.add(M::POST, "/api/v1/patches/enroll", PUBLIC, api::enroll)
        .add(M::POST, "/api/v1/patches/reports", PUBLIC, api::report)
        .add(
            M::GET,
            "/api/v1/patches/enrollment-tokens",
            OPERATOR,
            api::list_enrollment_tokens,
        )
        .add(
            M::POST,
            "/api/v1/patches/enrollment-tokens",
            OPERATOR,
            api::create_enrollment_token,
        )
        .add(
            M::DELETE,
            "/api/v1/patches/enrollment-tokens/{id}",
            OPERATOR,
            api::revoke_enrollment_token,
        )
        .add(M::GET, "/api/v1/patches/hosts", VIEWER, api::hosts)
        .add(M::GET, "/api/v1/patches/hosts/{id}", VIEWER, api::host)
        .add(
            M::GET,
            "/api/v1/patches/updates",
            VIEWER,
            crate::api::host_vulns::updates,
        )
        .add(
            M::GET,
            "/api/v1/patches/compliance",
            VIEWER,
            api::compliance,
        )
        .add(M::GET, "/api/v1/patches/policy", VIEWER, api::policy)
        .add(M::PUT, "/api/v1/patches/policy", OPERATOR, api::set_policy)
        .add(M::GET, "/api/v1/patches/rings", VIEWER, rollout::rings)
        .add(
            M::POST,
            "/api/v1/patches/rings",
            OPERATOR,
            rollout::create_ring,
        )
        .add(
            M::PUT,
            "/api/v1/patches/rings/{id}",
            OPERATOR,
            rollout::update_ring,
        )
        .add(
            M::DELETE,
            "/api/v1/patches/rings/{id}",
            OPERATOR,
            rollout::delete_ring,
        )
        .add(
            M::PUT,
            "/api/v1/patches/hosts/{id}/ring",
            OPERATOR,
            rollout::assign_ring,
        )
        .add(
            M::GET,
            "/api/v1/patches/approvals",
            VIEWER,
            rollout::approvals,
        )
        .add(
            M::POST,
            "/api/v1/patches/approvals",
            OPERATOR,
            rollout::approve,
        )
        .add(M::GET, "/api/v1/patches/runs", VIEWER, rollout::runs)
        .add(
            M::GET,
            "/api/v1/patches/agent/instructions",
            PUBLIC,
            rollout::instructions,
        )
        .add(
            M::POST,
            "/api/v1/patches/agent/runs",
            PUBLIC,
            rollout::report_run,
        )
        .add(M::GET, "/patches", VIEWER, ui::patches::list)
        .add(M::GET, "/patches/hosts/{id}", VIEWER, ui::patches::host)
        .add(
            M::GET,
            "/patches/rollout",
            VIEWER,
            ui::patch_rollout::rollout,
        )
        .add(
            M::POST,
            "/patches/rollout/approve",
            OPERATOR,
            ui::patch_rollout::approve,
        )
        .add(
            M::POST,
            "/patches/rollout/rings",
            OPERATOR,
            ui::patch_ring_forms::create,
        )
        .add(
            M::POST,
            "/patches/rollout/rings/{id}",
            OPERATOR,
            ui::patch_ring_forms::update,
        )
        .add(
            M::POST,
            "/patches/rollout/rings/{id}/delete",
            OPERATOR,
            ui::patch_ring_forms::delete,
        )
        .add(
            M::GET,
            "/patches/enrollment",
            OPERATOR,
            ui::enrollment::page,
        )
        .add(
            M::POST,
            "/patches/enrollment",
            OPERATOR,
            ui::enrollment::mint,
        )
        .add(
            M::POST,
            "/patches/enrollment/{id}/revoke",
            OPERATOR,
            ui::enrollment::revoke,
        )
        .add(
            M::POST,
            "/patches/rollout/assign",
            OPERATOR,
            ui::patch_ring_forms::assign,
        )
}
