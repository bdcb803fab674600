//! The OpenAPI 3 description of the API, generated from the handlers' annotations and
//! served at `/api/v1/openapi.json`.

use crate::api;
use axum::Json;
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "opsward",
        description = "Make skipped IT operations work recorded, scheduled, measured and proven. \
            Authenticate with `Authorization: Bearer <API token>`. Errors use one body: \
            `{\"error\": {\"code\", \"message\", \"details\"}}`. Lists are paginated with `limit` and `cursor`."
    ),
    paths(
        api::system::healthz, api::system::readyz, api::system::metrics, api::system::jobs,
        api::assets::list, api::assets::create, api::assets::get, api::assets::update, api::assets::delete,
        api::assets::import, api::assets::export,
        api::people::list_teams, api::people::create_team, api::people::get_team, api::people::update_team, api::people::delete_team,
        api::people::list_people, api::people::create_person, api::people::get_person, api::people::update_person, api::people::delete_person,
        api::users::list, api::users::create, api::users::get, api::users::update, api::users::me,
        api::sign_in::get, api::sign_in::put,
        api::tokens::list, api::tokens::create, api::tokens::revoke,
        api::audit::list,
        api::calendar::templates, api::calendar::list, api::calendar::create, api::calendar::get, api::calendar::update,
        api::calendar::delete, api::calendar::complete, api::calendar::calendar, api::calendar::evidence,
        api::calendar::evidence_export, api::calendar::evidence_one, api::calendar::attachment,
        api::calendar::feeds, api::calendar::create_feed, api::calendar::revoke_feed,
        api::calendar::record_run, api::calendar::evidence_zip,
        api::notifications::channels, api::notifications::create_channel, api::notifications::change_channel,
        api::notifications::delete_channel, api::notifications::test_channel, api::notifications::rules,
        api::notifications::create_rule, api::notifications::delete_rule, api::notifications::outbox, api::notifications::snooze,
        api::summary::summary,
        api::conditions::list,
        api::assets::overview,
        api::backlog::list, api::backlog::create, api::backlog::get, api::backlog::update, api::backlog::comment,
        api::backlog::aging_report, api::backlog::sla_overview, api::backlog::sla_policy, api::backlog::set_sla_policy, api::backlog::import, api::backlog::export, api::backlog::bulk_edit,
        api::backlog_more::watchers, api::backlog_more::watch, api::backlog_more::unwatch, api::backlog_more::attachments,
        api::backlog_more::upload, api::backlog_more::download, api::backlog_more::delete_attachment, api::backlog_more::filters,
        api::backlog_more::save_filter, api::backlog_more::delete_filter, api::backlog_more::review, api::backlog_more::apply_review,
        api::backlog_more::chart,
        api::backlog_auto::list, api::backlog_auto::run, api::backlog_inbound::run,
        api::customers::list, api::customers::create, api::customers::get, api::customers::update, api::customers::add_contact,
        api::customers::link_item, api::customers::schedule_review, api::customers::review_pack, api::customers::list_reviews,
        api::customers::record_review, api::customers::set_action, api::customers::list_surveys, api::customers::run_surveys,
        api::customers::answer, api::customers::settings, api::customers::save_settings, api::customers::satisfaction,
        api::suppliers::list, api::suppliers::create, api::suppliers::get, api::suppliers::update, api::suppliers::delete,
        api::suppliers::link, api::suppliers::unlink,
        api::contracts::list, api::contracts::create, api::contracts::get, api::contracts::update, api::contracts::delete,
        api::contracts::decide, api::contracts::upload, api::contracts::document,
        api::supplier_reviews::list, api::supplier_reviews::create, api::supplier_reviews::get, api::supplier_reviews::add_action,
        api::supplier_reviews::update_action, api::supplier_reviews::criteria, api::supplier_reviews::set_criteria,
        api::resilience::list, api::resilience::create, api::resilience::get, api::resilience::update, api::resilience::delete,
        api::resilience::record_result,
        api::vulns::list, api::vulns::get, api::vulns::transition, api::vulns::imports, api::vulns::import_file, api::vuln_scans::upload,
        api::vuln_policy::settings, api::vuln_policy::save_settings, api::vuln_policy::due_policy, api::vuln_policy::set_due_policy, api::vuln_policy::policies, api::vuln_policy::set_policy,
        api::vuln_policy::delete_policy, api::vuln_policy::exposure_targets, api::vuln_policy::record_exposure,
        api::vuln_policy::check_runs,
        api::patches::enroll, api::patches::report, api::patches::list_enrollment_tokens, api::patches::create_enrollment_token,
        api::patches::revoke_enrollment_token, api::patches::hosts, api::patches::host, api::patches::compliance,
        api::patches::policy, api::patches::set_policy,
        api::host_vulns::updates,
        api::certs::list, api::certs::get, api::certs::set_owner, api::certs::update_renewal, api::certs::renewals,
        api::certs::upload_scan, api::certs::settings, api::certs::save_settings,
        api::cert_targets::assets, api::cert_targets::set_asset, api::cert_targets::tag_thresholds,
        api::cert_targets::set_tag_thresholds, api::cert_targets::scan_targets, api::cert_targets::scan_request,
        api::patch_rollout::rings, api::patch_rollout::create_ring, api::patch_rollout::update_ring, api::patch_rollout::delete_ring, api::patch_rollout::assign_ring, api::patch_rollout::approvals,
        api::patch_rollout::approve, api::patch_rollout::runs, api::patch_rollout::instructions, api::patch_rollout::report_run,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "assets", description = "The register of hosts, services, endpoints and applications"),
        (name = "people", description = "Teams and people who own assets"),
        (name = "users", description = "Accounts (administrators)"),
        (name = "tokens", description = "API tokens"),
        (name = "audit", description = "Who changed what (administrators)"),
        (name = "system", description = "Health, metrics and jobs"),
        (name = "notifications", description = "Channels, rules, the outbox and snoozing"),
        (name = "calendar", description = "Recurring activities, occurrences, evidence and iCal feeds"),
        (name = "backlog", description = "Problems, incidents, improvements and risks: triage, priority, aging and search"),
        (name = "customers", description = "Customers, CSAT/NPS surveys, satisfaction and service reviews"),
        (name = "summary", description = "Hygiene scores and the dashboard's numbers"),
        (name = "suppliers", description = "Suppliers, contracts with notice deadlines and renewals, review scorecards and actions"),
        (name = "vulnerabilities", description = "Vulnerability, exposure, weak-TLS, posture and stale-host findings with due dates, their lifecycle, allowed-ports policies, settings, and threat-intelligence imports"),
        (name = "certificates", description = "Certificates: where each is deployed, problems, owners, renewal tasks, uploaded scans"),
        (name = "resilience", description = "Resilience measures per asset, their test procedures, scheduled tests, results and evidence"),
        (name = "patches", description = "Hosts enrolled by the agent, installed packages, pending updates with due dates, compliance"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
