//! Agent enrollment in the UI: mint an enrollment token (the API's and CLI's
//! `mint_enrollment_token`), then show it once with the agent file and the commands that
//! enroll a host, and revoke tokens. The secret reaches the page after the redirect in the
//! one-time cookie of [`super::flash`], never in a URL.

use super::{error_response, render_with, Nav, UiForm};
use crate::{
    api::{patches::mint_enrollment_token, Caller},
    auth::Principal,
    error::ApiError,
    AppState,
};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use opsward_patches::store::EnrollmentToken;
use serde::Deserialize;

/// Where the agent keeps the token and its state: the README's and the systemd unit's paths.
const TOKEN_FILE: &str = "/etc/opsward/enroll.token";
const AGENT_FILE: &str = "/etc/opsward/agent.toml";
const STATE_DIR: &str = "/var/lib/opsward-agent";

/// What a host needs to enroll with a freshly minted token.
pub struct AgentSetup {
    pub token: String,
    /// The commands, one a line, to run as root on the host.
    pub commands: String,
    /// The agent file they write.
    pub agent_file: String,
}

impl AgentSetup {
    pub fn new(server: &str, token: &str) -> Self {
        let agent_file = format!(
            "server = \"{server}\"\n[patches]\nenrollment_token_file = \"{TOKEN_FILE}\"\nstate_dir = \"{STATE_DIR}\"\nevery = \"1h\"\n"
        );
        // The token goes through stdin, not an argument, so `ps` on the host never shows it.
        let commands = format!(
            "install -d -m 700 /etc/opsward {STATE_DIR}\n\
             printf '%s\\n' '{token}' | install -m 600 /dev/stdin {TOKEN_FILE}\n\
             cat > {AGENT_FILE} <<'TOML'\n{agent_file}TOML\n\
             opsward agent {AGENT_FILE}"
        );
        AgentSetup {
            token: token.to_string(),
            commands,
            agent_file,
        }
    }
}

#[derive(Template)]
#[template(path = "patches/enrollment.html")]
struct EnrollmentPage {
    nav: Nav,
    tokens: Vec<EnrollmentToken>,
    now: DateTime<Utc>,
    setup: Option<AgentSetup>,
    error: Option<String>,
    name: String,
}

/// The address agents reach this server at: the configured public URL, else what the
/// browser used (over HTTPS when a trusted proxy said so is not knowable here: plain host).
fn server_address(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = state.config.public_url.as_deref() {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

async fn enrollment_page(
    state: &AppState,
    caller: &Principal,
    status: StatusCode,
    setup: Option<AgentSetup>,
    error: Option<String>,
    name: String,
) -> Response {
    match state.patches.list_enrollment_tokens().await {
        Ok(mut tokens) => {
            tokens.reverse();
            render_with(
                status,
                &EnrollmentPage {
                    nav: Nav::new(caller, "patches"),
                    tokens,
                    now: Utc::now(),
                    setup,
                    error,
                    name,
                },
            )
        }
        Err(e) => error_response(e.into()),
    }
}

pub async fn page(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
) -> Response {
    let setup = caller
        .secret
        .as_deref()
        .map(|token| AgentSetup::new(&server_address(&state, &headers), token));
    enrollment_page(&state, &caller, StatusCode::OK, setup, None, String::new()).await
}

#[derive(Deserialize)]
pub struct MintForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_in_days: String,
}

pub async fn mint(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<MintForm>,
) -> Response {
    let name = form.name.trim().to_string();
    let refused = |status, message: String| {
        enrollment_page(&state, &caller, status, None, Some(message), name.clone())
    };
    if name.is_empty() {
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Give the token a name (what the hosts are, e.g. web fleet).".into(),
        )
        .await;
    }
    let days = match form.expires_in_days.trim() {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(d) => Some(d),
            Err(_) => {
                return refused(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Expiry must be a number of days (1-365).".into(),
                )
                .await
            }
        },
    };
    match mint_enrollment_token(&state.patches, &caller.actor(), &name, days).await {
        Ok(created) => super::flash::redirect_with_secret(
            "/patches/enrollment",
            format!("Enrollment token {} created.", created.info.name),
            created.token,
        ),
        Err(e) => refused(e.status, super::describe(&e)).await,
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        let tokens = match state.patches.list_enrollment_tokens().await {
            Ok(t) => t,
            Err(e) => return error_response(e.into()),
        };
        let Some(token) = tokens.into_iter().find(|t| t.id == id) else {
            return error_response(ApiError::not_found("enrollment token"));
        };
        let deletion = super::confirm::Deletion::new(
            format!("the enrollment token {}", token.name),
            format!("/patches/enrollment/{id}/revoke"),
            "/patches/enrollment",
        )
        .verb("Revoke")
        .effect("hosts not yet enrolled with it can no longer enroll")
        .effect("hosts already enrolled keep reporting with their own credentials");
        return super::confirm::page(&caller, "patches", deletion);
    }
    match state
        .patches
        .revoke_enrollment_token(&caller.actor(), id)
        .await
    {
        Ok(token) => super::flash::redirect(
            "/patches/enrollment",
            format!("Enrollment token {} revoked.", token.name),
        ),
        Err(e) => error_response(e.into()),
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The agent file the page shows is one the agent reads: valid TOML with the keys its
    /// `[patches]` section needs.
    #[test]
    fn the_agent_file_is_the_agents_format() {
        let setup = AgentSetup::new("https://ops.example.org", "owe_abc");
        let parsed: toml::Value = toml::from_str(&setup.agent_file).expect("valid TOML");
        assert_eq!(parsed["server"].as_str(), Some("https://ops.example.org"));
        assert_eq!(
            parsed["patches"]["enrollment_token_file"].as_str(),
            Some(TOKEN_FILE)
        );
        assert_eq!(parsed["patches"]["state_dir"].as_str(), Some(STATE_DIR));
        assert!(setup.commands.contains("'owe_abc'"));
        assert!(setup
            .commands
            .ends_with("opsward agent /etc/opsward/agent.toml"));
    }
}
