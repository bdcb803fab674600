//! Deletes ask first. A delete form posts to the same address as the real delete; without a
//! `confirm=yes` field the handler deletes nothing and answers this page instead, which says
//! what else the deletion touches (counted from the database's references) and posts again
//! with the field. No JavaScript is needed, and a stray or replayed POST deletes nothing.

use super::{render, Nav};
use crate::{auth::Principal, AppState};
use askama::Template;
use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    response::Response,
};
use opsward_store::dependents::{dependents, Dependent, OnDelete};

/// Whether the delete form carried `confirm=yes`. Reads any body, so an empty POST (or one
/// without a form content type) is simply "not confirmed".
pub struct Confirmation(pub bool);

impl<S: Send + Sync> FromRequest<S> for Confirmation {
    type Rejection = Response;
    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let body = Bytes::from_request(req, state).await.unwrap_or_default();
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        let confirmed = fields.iter().any(|(k, v)| k == "confirm" && v == "yes");
        Ok(Confirmation(confirmed))
    }
}

/// What is about to be deleted, for the confirmation page.
pub struct Deletion {
    /// "the asset web-01"
    pub what: String,
    /// The button: "Delete", "Revoke", "Remove".
    pub verb: &'static str,
    /// Where the confirmed form posts.
    pub action: String,
    /// Where "Cancel" goes.
    pub cancel: String,
    /// What else changes, one sentence each.
    pub effects: Vec<String>,
    /// Why it cannot be deleted (references that refuse the deletion); empty when it can.
    pub blocked: Vec<String>,
}

impl Deletion {
    pub fn new(
        what: impl Into<String>,
        action: impl Into<String>,
        cancel: impl Into<String>,
    ) -> Self {
        Deletion {
            what: what.into(),
            verb: "Delete",
            action: action.into(),
            cancel: cancel.into(),
            effects: Vec::new(),
            blocked: Vec::new(),
        }
    }

    pub fn verb(mut self, verb: &'static str) -> Self {
        self.verb = verb;
        self
    }

    /// A consequence that is not a database reference ("scripts using it stop working").
    pub fn effect(mut self, sentence: impl Into<String>) -> Self {
        self.effects.push(sentence.into());
        self
    }

    /// Count what refers to row `id` of `table` and say what the deletion does to it.
    pub async fn counting(mut self, state: &AppState, table: &str, id: i64) -> Self {
        match dependents(&state.store.database(), table, id).await {
            Ok(found) => {
                for d in &found {
                    match d.on_delete {
                        OnDelete::Cascade => {
                            self.effects.push(format!("also removes {}", count(d)))
                        }
                        OnDelete::SetNull => self
                            .effects
                            .push(format!("unlinks {}, which stay", count(d))),
                        OnDelete::Restrict => {
                            self.blocked.push(format!("{} still refer to it", count(d)))
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, table, id, "could not count what a deletion affects");
                self.effects
                    .push("what else refers to it could not be counted".into());
            }
        }
        self
    }
}

/// "3 calendar activities", "1 vulnerability finding".
fn count(d: &Dependent) -> String {
    let (one, many) = noun(&d.table);
    let noun = if d.count == 1 { one } else { many };
    format!("{} {noun}", d.count)
}

/// People's words for the tables that refer to records people delete; other tables are
/// named by their table name with spaces.
fn noun(table: &str) -> (String, String) {
    let known: &[(&str, &str, &str)] = &[
        ("activities", "calendar activity", "calendar activities"),
        ("asset_tags", "tag", "tags"),
        ("backlog_items", "backlog item", "backlog items"),
        (
            "backlog_history",
            "backlog history entry",
            "backlog history entries",
        ),
        (
            "cert_asset_settings",
            "certificate setting",
            "certificate settings",
        ),
        (
            "cert_sightings",
            "certificate sighting",
            "certificate sightings",
        ),
        ("certificates", "certificate", "certificates"),
        ("customers", "customer", "customers"),
        ("evidence", "evidence record", "evidence records"),
        ("evidence_attachments", "evidence file", "evidence files"),
        ("ical_feeds", "calendar feed", "calendar feeds"),
        (
            "notification_rules",
            "notification rule",
            "notification rules",
        ),
        (
            "notification_outbox",
            "queued notification",
            "queued notifications",
        ),
        ("patch_approvals", "patch approval", "patch approvals"),
        ("patch_hosts", "patch host", "patch hosts"),
        ("people", "person", "people"),
        (
            "resilience_measures",
            "resilience measure",
            "resilience measures",
        ),
        ("suppliers", "supplier", "suppliers"),
        ("users", "user", "users"),
        (
            "vuln_findings",
            "vulnerability finding",
            "vulnerability findings",
        ),
        (
            "vuln_host_scans",
            "vulnerability host scan",
            "vulnerability host scans",
        ),
        (
            "vuln_asset_scans",
            "vulnerability scan",
            "vulnerability scans",
        ),
        ("vuln_port_policies", "port policy", "port policies"),
    ];
    match known.iter().find(|(t, _, _)| *t == table) {
        Some((_, one, many)) => (one.to_string(), many.to_string()),
        None => {
            let words = table.replace('_', " ");
            (format!("{words} row"), format!("{words} rows"))
        }
    }
}

#[derive(Template)]
#[template(path = "confirm_delete.html")]
struct ConfirmPage {
    nav: Nav,
    deletion: Deletion,
}

/// The confirmation page (200): nothing was deleted yet.
pub fn page(caller: &Principal, active: &'static str, deletion: Deletion) -> Response {
    render(&ConfirmPage {
        nav: Nav::new(caller, active),
        deletion,
    })
}
