//! The web UI: server-rendered pages (askama), plain HTML forms with CSRF tokens, usable
//! without JavaScript. Handlers call the same store operations as the API.

pub mod advisory_imports;
pub mod assets;
pub mod audit;
pub mod backlog;
pub mod backlog_board;
pub mod backlog_clocks;
pub mod backlog_more;
pub mod backlog_owners;
pub mod backlog_review;
pub mod calendar;
pub mod cert_assets;
pub mod cert_scans;
pub mod certs;
pub mod changes;
pub mod channel_forms;
pub mod conditions;
pub mod confirm;
pub mod customer_review_schedule;
pub mod customers;
pub mod dashboard;
pub mod enrollment;
pub mod flash;
pub mod getting_started;
pub mod login;
pub mod markdown;
pub mod money;
pub mod names;
pub mod notifications;
pub mod patch_ring_forms;
pub mod patch_rollout;
pub mod patches;
pub mod people;
pub mod rejections;
pub mod resilience;
pub mod resilience_forms;
pub mod schedule_editor;
pub mod sign_in_settings;
pub mod sso;
pub mod supplier_forms;
pub mod suppliers;
pub mod surveys;
pub mod svg;
pub mod tokens;
pub mod users;
pub mod vuln_policy;
pub mod vulns;

use crate::{auth::Principal, error::ApiError};
use askama::Template;
use axum::{
    extract::{FromRequest, Request},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use opsward_core::{user::User, Role};
use serde::de::DeserializeOwned;

pub struct NavItem {
    pub key: &'static str,
    pub label: &'static str,
    pub href: &'static str,
}

/// One of the seven operational practices opsward tracks.
pub struct Practice {
    pub key: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
    /// The practice's own pages.
    pub home: &'static str,
}

pub const PRACTICES: &[Practice] = &[
    Practice { key: "certificates", title: "Certificates", summary: "Discover certificates, record expiry, alert in time, track renewal to done.", home: "/certificates" },
    Practice { key: "resilience", title: "Resilience", summary: "RAID, multipath, failover and backups: scheduled tests with evidence, fault injection.", home: "/resilience" },
    Practice { key: "patches", title: "Patches", summary: "Installed packages and pending updates per host, evaluated and installed against SLAs.", home: "/patches" },
    Practice { key: "vulnerabilities", title: "Vulnerabilities", summary: "Inventory matched against OSV, CISA KEV and EPSS; exposure and misconfiguration findings.", home: "/vulns" },
    Practice { key: "backlog", title: "Backlog", summary: "Problems, low-priority incidents and improvements, triaged and aged, not lost.", home: "/backlog" },
    Practice { key: "customers", title: "Customers", summary: "Satisfaction surveys, feedback and regular service reviews with actions.", home: "/customers" },
    Practice { key: "suppliers", title: "Suppliers", summary: "Supplier and contract register, review schedule, scorecards and renewals.", home: "/suppliers" },
];

const NAV: &[NavItem] = &[
    NavItem {
        key: "dashboard",
        label: "Dashboard",
        href: "/",
    },
    NavItem {
        key: "calendar",
        label: "Calendar",
        href: "/calendar",
    },
    NavItem {
        key: "assets",
        label: "Assets",
        href: "/assets",
    },
    NavItem {
        key: "teams",
        label: "Teams",
        href: "/teams",
    },
    NavItem {
        key: "certificates",
        label: "Certificates",
        href: "/certificates",
    },
    NavItem {
        key: "resilience",
        label: "Resilience",
        href: "/resilience",
    },
    NavItem {
        key: "patches",
        label: "Patches",
        href: "/patches",
    },
    NavItem {
        key: "vulnerabilities",
        label: "Vulnerabilities",
        href: "/vulns",
    },
    NavItem {
        key: "backlog",
        label: "Backlog",
        href: "/backlog",
    },
    NavItem {
        key: "customers",
        label: "Customers",
        href: "/customers",
    },
    NavItem {
        key: "suppliers",
        label: "Suppliers",
        href: "/suppliers",
    },
];

/// What the page layout needs: who is signed in, the CSRF token for forms, the open section.
pub struct Nav {
    pub user: Option<User>,
    pub csrf: String,
    pub active: &'static str,
    /// What the form before this page did (see [`flash`]).
    pub flash: Option<String>,
}

impl Nav {
    pub fn new(principal: &Principal, active: &'static str) -> Self {
        Nav {
            user: Some(principal.user.clone()),
            csrf: principal.csrf_token().to_string(),
            active,
            flash: principal.flash.clone(),
        }
    }
    pub fn anonymous() -> Self {
        Nav {
            user: None,
            csrf: String::new(),
            active: "",
            flash: None,
        }
    }
    pub fn items(&self) -> &'static [NavItem] {
        NAV
    }
    /// The flash message's text, when there is one.
    pub fn flash_text(&self) -> Option<&str> {
        self.flash.as_deref().map(|f| flash::parse(f).1)
    }
    /// Whether the flash message reports a problem (styled as an error).
    pub fn flash_is_problem(&self) -> bool {
        self.flash.as_deref().is_some_and(|f| flash::parse(f).0)
    }
    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role == Role::Admin)
    }
    pub fn can_edit(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| u.role.allows(Role::Operator))
    }
}

/// An option in a `<select>`, with its selected state worked out in Rust.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    /// Choices whose option text is a label ("In progress") for a stored value
    /// ("in_progress").
    pub fn labelled<'a>(
        values: impl IntoIterator<Item = (&'a str, &'a str)>,
        current: &str,
    ) -> Vec<Choice> {
        values
            .into_iter()
            .map(|(v, label)| Choice {
                value: v.into(),
                label: label.into(),
                selected: v == current,
            })
            .collect()
    }

    pub fn list<'a>(values: impl IntoIterator<Item = &'a str>, current: &str) -> Vec<Choice> {
        values
            .into_iter()
            .map(|v| Choice {
                value: v.into(),
                label: v.into(),
                selected: v == current,
            })
            .collect()
    }
}

pub fn render(template: &impl Template) -> Response {
    render_with(StatusCode::OK, template)
}

pub fn render_with(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    nav: Nav,
    status: StatusCode,
    message: &'a str,
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    render_with(
        status,
        &ErrorPage {
            nav: Nav::anonymous(),
            status,
            message,
        },
    )
}

/// An error as one line for a page: the field problems when there are any, else the message.
pub fn describe(e: &ApiError) -> String {
    if e.details.is_empty() {
        e.message.clone()
    } else {
        e.details
            .iter()
            .map(|d| format!("{}: {}", d.field, d.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Show an API-level error as a page.
pub fn error_response(err: ApiError) -> Response {
    let mut message = err.message;
    for d in &err.details {
        message.push_str(&format!("; {}: {}", d.field, d.message));
    }
    error_page(err.status, &message)
}

pub async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        ApiError::not_found("route").into_response()
    } else {
        error_page(StatusCode::NOT_FOUND, "There is no page at this address.")
    }
}

/// A urlencoded form whose rejection is a page rather than plain text.
pub struct UiForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for UiForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|f| UiForm(f.0))
            .map_err(|e| error_page(StatusCode::BAD_REQUEST, &e.body_text()))
    }
}

/// Empty form fields arrive as empty strings; treat them as absent.
pub fn non_empty(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_string())
}
