//! The route table: every route with the role it needs, in one place. The router is built
//! from it, and the role-matrix test walks it, so no route can exist without an access rule.

use crate::{
    api,
    auth::{guard, Access},
    metrics, openapi, ui, AppState,
};
use axum::{
    extract::DefaultBodyLimit,
    handler::Handler,
    http::{header, HeaderValue, Method, StatusCode},
    middleware,
    routing::{on, MethodFilter},
    Router,
};
use opsward_core::Role;
use tower_http::{set_header::SetResponseHeaderLayer, timeout::TimeoutLayer, trace::TraceLayer};

mod backlog;
mod backlog_auto;
mod backlog_inbound;
mod certs;
mod patches;
mod resilience;
mod suppliers;
mod vulns;

#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    /// The pattern, with `{id}` for path parameters.
    pub path: &'static str,
    pub access: Access,
}

struct Table {
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
}

impl Table {
    /// Add a group of routes kept in a function of its own.
    fn merge(self, group: fn(Table) -> Table) -> Table {
        group(self)
    }

    fn add<H, T>(mut self, method: Method, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
        let route = on(filter, handler).route_layer(middleware::from_fn(move |req, next| {
            guard::require(access, req, next)
        }));
        self.router = self.router.route(path, route);
        self.specs.push(RouteSpec {
            method,
            path,
            access,
        });
        self
    }
}

const PUBLIC: Access = Access::Public;
const VIEWER: Access = Access::Role(Role::Viewer);
const OPERATOR: Access = Access::Role(Role::Operator);
const ADMIN: Access = Access::Role(Role::Admin);

fn build() -> Table {
    use Method as M;
    let t = Table {
        router: Router::new(),
        specs: Vec::new(),
    };
    t
        // System
        .add(M::GET, "/healthz", PUBLIC, api::system::healthz)
        .add(M::GET, "/readyz", PUBLIC, api::system::readyz)
        .add(M::GET, "/metrics", PUBLIC, api::system::metrics)
        .add(M::GET, "/api/v1/openapi.json", PUBLIC, openapi::serve)
        .add(M::GET, "/api/v1/jobs", ADMIN, api::system::jobs)
        // Assets
        .add(M::GET, "/api/v1/assets", VIEWER, api::assets::list)
        .add(M::POST, "/api/v1/assets", OPERATOR, api::assets::create)
        .add(
            M::POST,
            "/api/v1/assets/import",
            OPERATOR,
            api::assets::import,
        )
        .add(M::GET, "/api/v1/assets/export", VIEWER, api::assets::export)
        .add(M::GET, "/api/v1/assets/{id}", VIEWER, api::assets::get)
        .add(
            M::GET,
            "/api/v1/assets/{id}/overview",
            VIEWER,
            api::assets::overview,
        )
        .add(M::PUT, "/api/v1/assets/{id}", OPERATOR, api::assets::update)
        .add(
            M::DELETE,
            "/api/v1/assets/{id}",
            OPERATOR,
            api::assets::delete,
        )
        // Teams and people
        .add(M::GET, "/api/v1/teams", VIEWER, api::people::list_teams)
        .add(M::POST, "/api/v1/teams", OPERATOR, api::people::create_team)
        .add(M::GET, "/api/v1/teams/{id}", VIEWER, api::people::get_team)
        .add(
            M::PUT,
            "/api/v1/teams/{id}",
            OPERATOR,
            api::people::update_team,
        )
        .add(
            M::DELETE,
            "/api/v1/teams/{id}",
            OPERATOR,
            api::people::delete_team,
        )
        .add(M::GET, "/api/v1/people", VIEWER, api::people::list_people)
        .add(
            M::POST,
            "/api/v1/people",
            OPERATOR,
            api::people::create_person,
        )
        .add(
            M::GET,
            "/api/v1/people/{id}",
            VIEWER,
            api::people::get_person,
        )
        .add(
            M::PUT,
            "/api/v1/people/{id}",
            OPERATOR,
            api::people::update_person,
        )
        .add(
            M::DELETE,
            "/api/v1/people/{id}",
            OPERATOR,
            api::people::delete_person,
        )
        // Accounts and tokens
        .add(M::GET, "/api/v1/me", VIEWER, api::users::me)
        .add(M::GET, "/api/v1/users", ADMIN, api::users::list)
        .add(M::POST, "/api/v1/users", ADMIN, api::users::create)
        .add(M::GET, "/api/v1/users/{id}", ADMIN, api::users::get)
        .add(M::PATCH, "/api/v1/users/{id}", ADMIN, api::users::update)
        .add(M::GET, "/api/v1/admin/sign-in", ADMIN, api::sign_in::get)
        .add(M::PUT, "/api/v1/admin/sign-in", ADMIN, api::sign_in::put)
        .add(M::GET, "/api/v1/tokens", VIEWER, api::tokens::list)
        .add(M::POST, "/api/v1/tokens", VIEWER, api::tokens::create)
        .add(
            M::DELETE,
            "/api/v1/tokens/{id}",
            VIEWER,
            api::tokens::revoke,
        )
        .add(M::GET, "/api/v1/audit", ADMIN, api::audit::list)
        // Operations calendar
        .add(
            M::GET,
            "/api/v1/activity-templates",
            VIEWER,
            api::calendar::templates,
        )
        .add(M::GET, "/api/v1/activities", VIEWER, api::calendar::list)
        .add(
            M::POST,
            "/api/v1/activities",
            OPERATOR,
            api::calendar::create,
        )
        .add(
            M::GET,
            "/api/v1/activities/{id}",
            VIEWER,
            api::calendar::get,
        )
        .add(
            M::PUT,
            "/api/v1/activities/{id}",
            OPERATOR,
            api::calendar::update,
        )
        .add(
            M::DELETE,
            "/api/v1/activities/{id}",
            OPERATOR,
            api::calendar::delete,
        )
        .add(
            M::POST,
            "/api/v1/activities/{id}/complete",
            OPERATOR,
            api::calendar::complete,
        )
        .add(M::GET, "/api/v1/calendar", VIEWER, api::calendar::calendar)
        .add(M::GET, "/api/v1/evidence", VIEWER, api::calendar::evidence)
        .add(
            M::POST,
            "/api/v1/evidence",
            OPERATOR,
            api::calendar::record_run,
        )
        .add(
            M::GET,
            "/api/v1/evidence/export.zip",
            VIEWER,
            api::calendar::evidence_zip,
        )
        .add(
            M::GET,
            "/api/v1/evidence/export.csv",
            VIEWER,
            api::calendar::evidence_export,
        )
        .add(
            M::GET,
            "/api/v1/evidence/{id}",
            VIEWER,
            api::calendar::evidence_one,
        )
        .add(
            M::GET,
            "/api/v1/attachments/{id}",
            VIEWER,
            api::calendar::attachment,
        )
        .add(M::GET, "/api/v1/ical-feeds", VIEWER, api::calendar::feeds)
        .add(
            M::POST,
            "/api/v1/ical-feeds",
            VIEWER,
            api::calendar::create_feed,
        )
        .add(
            M::DELETE,
            "/api/v1/ical-feeds/{id}",
            VIEWER,
            api::calendar::revoke_feed,
        )
        .add(M::GET, "/ical/{file}", PUBLIC, api::calendar::ical_feed)
        // Backlog
        .add(M::GET, "/api/v1/customers", VIEWER, api::customers::list)
        .add(
            M::POST,
            "/api/v1/customers",
            OPERATOR,
            api::customers::create,
        )
        .add(
            M::GET,
            "/api/v1/customers/{id}",
            VIEWER,
            api::customers::get,
        )
        .add(
            M::PUT,
            "/api/v1/customers/{id}",
            OPERATOR,
            api::customers::update,
        )
        .add(
            M::POST,
            "/api/v1/customers/{id}/contacts",
            OPERATOR,
            api::customers::add_contact,
        )
        .add(
            M::POST,
            "/api/v1/customers/{id}/items",
            OPERATOR,
            api::customers::link_item,
        )
        .add(
            M::PUT,
            "/api/v1/customers/{id}/review-schedule",
            OPERATOR,
            api::customers::schedule_review,
        )
        .add(
            M::GET,
            "/api/v1/customers/{id}/review-pack",
            VIEWER,
            api::customers::review_pack,
        )
        .add(
            M::GET,
            "/api/v1/customers/{id}/reviews",
            VIEWER,
            api::customers::list_reviews,
        )
        .add(
            M::POST,
            "/api/v1/customers/{id}/reviews",
            OPERATOR,
            api::customers::record_review,
        )
        .add(
            M::PUT,
            "/api/v1/review-actions/{id}",
            OPERATOR,
            api::customers::set_action,
        )
        .add(
            M::GET,
            "/api/v1/surveys",
            VIEWER,
            api::customers::list_surveys,
        )
        .add(
            M::POST,
            "/api/v1/surveys/run",
            OPERATOR,
            api::customers::run_surveys,
        )
        // The signed link in the body is the credential: customers have no account.
        .add(
            M::POST,
            "/api/v1/surveys/answer",
            PUBLIC,
            api::customers::answer,
        )
        .add(
            M::GET,
            "/api/v1/surveys/settings",
            ADMIN,
            api::customers::settings,
        )
        .add(
            M::PUT,
            "/api/v1/surveys/settings",
            ADMIN,
            api::customers::save_settings,
        )
        .add(
            M::GET,
            "/api/v1/satisfaction",
            VIEWER,
            api::customers::satisfaction,
        )
        .add(M::GET, "/api/v1/backlog/items", VIEWER, api::backlog::list)
        .add(
            M::POST,
            "/api/v1/backlog/items",
            OPERATOR,
            api::backlog::create,
        )
        .add(
            M::GET,
            "/api/v1/backlog/items/{id}",
            VIEWER,
            api::backlog::get,
        )
        .add(
            M::PATCH,
            "/api/v1/backlog/items/{id}",
            OPERATOR,
            api::backlog::update,
        )
        .add(
            M::POST,
            "/api/v1/backlog/items/{id}/comments",
            OPERATOR,
            api::backlog::comment,
        )
        .add(
            M::GET,
            "/api/v1/backlog/aging",
            VIEWER,
            api::backlog::aging_report,
        )
        // Notifications
        .add(
            M::GET,
            "/api/v1/notifications/channels",
            ADMIN,
            api::notifications::channels,
        )
        .add(
            M::POST,
            "/api/v1/notifications/channels",
            ADMIN,
            api::notifications::create_channel,
        )
        .add(
            M::PATCH,
            "/api/v1/notifications/channels/{id}",
            ADMIN,
            api::notifications::change_channel,
        )
        .add(
            M::DELETE,
            "/api/v1/notifications/channels/{id}",
            ADMIN,
            api::notifications::delete_channel,
        )
        .add(
            M::POST,
            "/api/v1/notifications/channels/{id}/test",
            ADMIN,
            api::notifications::test_channel,
        )
        .add(
            M::GET,
            "/api/v1/notifications/rules",
            VIEWER,
            api::notifications::rules,
        )
        .add(
            M::POST,
            "/api/v1/notifications/rules",
            VIEWER,
            api::notifications::create_rule,
        )
        .add(
            M::DELETE,
            "/api/v1/notifications/rules/{id}",
            VIEWER,
            api::notifications::delete_rule,
        )
        .add(
            M::GET,
            "/api/v1/notifications/outbox",
            ADMIN,
            api::notifications::outbox,
        )
        .add(
            M::POST,
            "/api/v1/notifications/snooze",
            OPERATOR,
            api::notifications::snooze,
        )
        .add(
            M::GET,
            "/admin/notifications",
            ADMIN,
            ui::notifications::page,
        )
        .add(
            M::POST,
            "/admin/notifications/channels",
            ADMIN,
            ui::notifications::create_channel,
        )
        .add(
            M::POST,
            "/admin/notifications/channels/{id}/test",
            ADMIN,
            ui::notifications::test_channel,
        )
        .add(
            M::POST,
            "/admin/notifications/channels/{id}/delete",
            ADMIN,
            ui::notifications::delete_channel,
        )
        .add(
            M::POST,
            "/admin/notifications/rules",
            ADMIN,
            ui::notifications::create_rule,
        )
        .add(
            M::POST,
            "/admin/notifications/rules/{id}/delete",
            ADMIN,
            ui::notifications::delete_rule,
        )
        .add(
            M::POST,
            "/admin/notifications/snooze",
            ADMIN,
            ui::notifications::snooze,
        )
        // Dashboard numbers
        .add(M::GET, "/api/v1/summary", VIEWER, api::summary::summary)
        .add(M::GET, "/api/v1/conditions", VIEWER, api::conditions::list)
        // Web UI
        .add(M::GET, "/static/app.css", PUBLIC, ui::assets::stylesheet)
        .add(M::GET, "/static/htmx.min.js", PUBLIC, ui::assets::htmx)
        .add(M::GET, "/favicon.svg", PUBLIC, ui::assets::favicon)
        .add(M::GET, "/login", PUBLIC, ui::login::form)
        .add(M::POST, "/login", PUBLIC, ui::login::submit)
        .add(M::POST, "/logout", VIEWER, ui::login::logout)
        .add(M::GET, "/auth/oidc/start", PUBLIC, ui::sso::start)
        .add(M::GET, "/auth/oidc/callback", PUBLIC, ui::sso::callback)
        .add(M::GET, "/", VIEWER, ui::dashboard::page)
        .add(M::GET, "/assets", VIEWER, ui::assets::list)
        .add(M::POST, "/assets", OPERATOR, ui::assets::create)
        .add(M::GET, "/assets/new", OPERATOR, ui::assets::new_form)
        .add(M::GET, "/assets/import", OPERATOR, ui::assets::import_form)
        .add(M::POST, "/assets/import", OPERATOR, ui::assets::import)
        .add(M::GET, "/assets/export.csv", VIEWER, api::assets::export)
        .add(M::GET, "/assets/{id}", VIEWER, ui::assets::detail)
        .add(M::POST, "/assets/{id}", OPERATOR, ui::assets::update)
        .add(M::GET, "/assets/{id}/edit", OPERATOR, ui::assets::edit_form)
        .add(M::POST, "/assets/{id}/delete", OPERATOR, ui::assets::delete)
        .add(M::GET, "/teams", VIEWER, ui::people::page)
        .add(M::POST, "/teams", OPERATOR, ui::people::create_team)
        .add(
            M::POST,
            "/teams/{id}/delete",
            OPERATOR,
            ui::people::delete_team,
        )
        .add(M::POST, "/people", OPERATOR, ui::people::create_person)
        .add(
            M::POST,
            "/people/{id}/delete",
            OPERATOR,
            ui::people::delete_person,
        )
        .add(M::GET, "/tokens", VIEWER, ui::tokens::page)
        .add(M::POST, "/tokens", VIEWER, ui::tokens::create)
        .add(M::POST, "/tokens/{id}/revoke", VIEWER, ui::tokens::revoke)
        .add(M::GET, "/admin/users", ADMIN, ui::users::page)
        .add(M::GET, "/admin/sign-in", ADMIN, ui::sign_in_settings::page)
        .add(M::POST, "/admin/sign-in", ADMIN, ui::sign_in_settings::save)
        .add(M::POST, "/admin/users", ADMIN, ui::users::create)
        .add(M::POST, "/admin/users/{id}", ADMIN, ui::users::update)
        .add(M::GET, "/admin/audit", ADMIN, ui::audit::page)
        .add(M::GET, "/conditions", VIEWER, ui::conditions::page)
        .add(
            M::GET,
            "/practices/{practice}",
            VIEWER,
            ui::dashboard::practice,
        )
        .add(M::GET, "/customers", VIEWER, ui::customers::list)
        .add(M::POST, "/customers", OPERATOR, ui::customers::create)
        .add(M::GET, "/customers/settings", ADMIN, ui::surveys::settings)
        .add(
            M::POST,
            "/customers/settings",
            ADMIN,
            ui::surveys::save_settings,
        )
        .add(
            M::POST,
            "/customers/surveys/run",
            OPERATOR,
            ui::customers::run_surveys,
        )
        .add(M::GET, "/customers/{id}", VIEWER, ui::customers::detail)
        .add(
            M::POST,
            "/customers/{id}/edit",
            OPERATOR,
            ui::customers::edit,
        )
        .add(
            M::POST,
            "/customers/{id}/contacts",
            OPERATOR,
            ui::customers::add_contact,
        )
        .add(
            M::POST,
            "/customers/{id}/items",
            OPERATOR,
            ui::customers::link_item,
        )
        .add(
            M::POST,
            "/customers/{id}/review-schedule",
            OPERATOR,
            ui::customer_review_schedule::schedule_review,
        )
        .add(
            M::POST,
            "/customers/{id}/reviews",
            OPERATOR,
            ui::customers::record_review,
        )
        .add(
            M::GET,
            "/customers/{id}/review-pack",
            VIEWER,
            ui::customers::pack,
        )
        .add(
            M::POST,
            "/review-actions/{id}",
            OPERATOR,
            ui::customers::set_action,
        )
        // Public: the signed token in the address is the credential (see ui::surveys).
        .add(M::GET, "/survey/{token}", PUBLIC, ui::surveys::survey_form)
        .add(
            M::POST,
            "/survey/{token}",
            PUBLIC,
            ui::surveys::survey_answer,
        )
        .add(M::GET, "/backlog", VIEWER, ui::backlog::list)
        .add(M::GET, "/calendar", VIEWER, ui::calendar::page)
        .add(
            M::GET,
            "/calendar/activities/new",
            OPERATOR,
            ui::calendar::new_form,
        )
        .add(
            M::POST,
            "/calendar/activities",
            OPERATOR,
            ui::calendar::create,
        )
        .add(
            M::GET,
            "/calendar/activities/{id}",
            VIEWER,
            ui::calendar::activity,
        )
        .add(
            M::POST,
            "/calendar/activities/{id}",
            OPERATOR,
            ui::calendar::update,
        )
        .add(
            M::GET,
            "/calendar/activities/{id}/edit",
            OPERATOR,
            ui::calendar::edit_form,
        )
        .add(
            M::POST,
            "/calendar/activities/{id}/delete",
            OPERATOR,
            ui::calendar::delete,
        )
        .add(
            M::POST,
            "/calendar/activities/{id}/complete",
            OPERATOR,
            ui::calendar::complete,
        )
        .add(M::GET, "/calendar/feeds", VIEWER, ui::calendar::feeds)
        .add(
            M::POST,
            "/calendar/feeds",
            VIEWER,
            ui::calendar::create_feed,
        )
        .add(
            M::POST,
            "/calendar/feeds/{id}/revoke",
            VIEWER,
            ui::calendar::revoke_feed,
        )
        .add(M::GET, "/evidence", VIEWER, ui::calendar::evidence)
        .add(M::GET, "/evidence/report", VIEWER, ui::calendar::report)
        .add(M::GET, "/notifications", VIEWER, ui::notifications::mine)
        .add(
            M::POST,
            "/notifications/rules",
            VIEWER,
            ui::notifications::create_mine,
        )
        .add(
            M::POST,
            "/notifications/rules/{id}/delete",
            VIEWER,
            ui::notifications::delete_mine,
        )
        .add(M::GET, "/backlog/new", OPERATOR, ui::backlog::new_form)
        .add(M::POST, "/backlog", OPERATOR, ui::backlog::create)
        .add(M::GET, "/backlog/{id}", VIEWER, ui::backlog::item)
        .add(
            M::POST,
            "/backlog/{id}/state",
            OPERATOR,
            ui::backlog::move_state,
        )
        .add(
            M::POST,
            "/backlog/{id}/comments",
            OPERATOR,
            ui::backlog::comment,
        )
        .merge(suppliers::routes)
        .merge(vulns::routes)
        .merge(resilience::routes)
        .merge(patches::routes)
        .merge(certs::routes)
        .merge(backlog::routes)
        .merge(backlog_auto::routes)
        .merge(backlog_inbound::routes)
}

/// Every route and who may call it.
pub fn route_table() -> Vec<RouteSpec> {
    build().specs
}

/// The complete application with its middleware.
pub fn app(state: AppState) -> Router {
    let config = state.config.clone();
    let app = build()
        .router
        .fallback(ui::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ui::flash::carry,
        ))
        .layer(middleware::from_fn_with_state(
            state.picture.clone(),
            crate::picture::invalidate_on_write,
        ))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track_http,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::authenticate,
        ))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ui::sso::set_content_security_policy,
        ))
        .with_state(state);
    // Outside the router: axum adds a 405's Allow header after every route layer has run.
    Router::new()
        .fallback_service(app)
        .layer(middleware::from_fn(ui::rejections::readable))
}
