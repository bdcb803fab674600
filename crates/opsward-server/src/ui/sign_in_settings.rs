//! `/admin/sign-in`: how people sign in, as configured in `opsward.toml` and the
//! environment: local passwords, the identity provider, the group mapping, and whether the
//! provider answers now. Secrets are never shown, only whether one is set.

use super::{render_with, Nav};
use crate::{api::Caller, AppState};
use askama::Template;
use axum::{extract::State, http::StatusCode, response::Response};

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    nav: Nav,
    local: String,
    provisioning: &'static str,
    /// Group and role name, as configured.
    groups: Vec<(String, String)>,
    default_role: String,
    oidc: Option<OidcView>,
}

struct OidcView {
    name: String,
    issuer: String,
    client_id: String,
    secret: &'static str,
    redirect_url: String,
    scopes: String,
    username_claim: String,
    groups_claim: String,
    /// What discovery said just now: the provider's endpoints, or why it failed.
    status: Result<String, String>,
}

pub async fn page(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    let sso = &state.config.sso;
    let local = match sso.local_login {
        opsward_sso::LocalLogin::All => "every local account may sign in with its password".into(),
        opsward_sso::LocalLogin::BreakGlass => format!(
            "only the break-glass accounts may sign in with a password: {}",
            sso.break_glass_users.join(", ")
        ),
    };
    let oidc = match (&sso.oidc, &state.oidc) {
        (Some(settings), Some(client)) => Some(OidcView {
            name: settings.name.clone(),
            issuer: settings.issuer.clone(),
            client_id: settings.client_id.clone(),
            secret: if settings.client_secret.is_some() {
                "set (from the environment or client_secret_file; never shown)"
            } else {
                "none: a public client, PKCE only"
            },
            redirect_url: settings.redirect_url.clone(),
            scopes: settings.scopes.join(" "),
            username_claim: settings.username_claim.clone(),
            groups_claim: settings.groups_claim.clone(),
            status: client
                .metadata(false)
                .await
                .map(|m| {
                    format!(
                        "discovery works; sign-in at {}",
                        m.authorization_endpoint().as_str()
                    )
                })
                .map_err(|e| e.to_string()),
        }),
        _ => None,
    };
    render_with(
        StatusCode::OK,
        &SignInPage {
            nav: Nav::new(&caller, "sign-in"),
            local,
            provisioning: match sso.provisioning {
                opsward_sso::Provisioning::JustInTime => {
                    "accounts are created at their first sign-in (just in time)"
                }
                opsward_sso::Provisioning::PreCreated => {
                    "only accounts an administrator created may sign in"
                }
            },
            groups: sso
                .mapping
                .groups
                .iter()
                .map(|(g, r)| (g.clone(), r.to_string()))
                .collect(),
            default_role: sso.mapping.default_role.map_or(
                "none: users without a mapped group are refused".into(),
                |r| r.to_string(),
            ),
            oidc,
        },
    )
}
