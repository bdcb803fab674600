//! Who is calling and what they may do: password and token verification, sessions, the
//! per-route role check, CSRF protection and login rate limiting.

pub mod client;
pub mod cookies;
pub mod guard;
pub mod limiter;
pub mod password;
pub mod password_policy;
pub mod secret;

use opsward_core::{user::User, Actor, Role};

/// How a request proved who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A browser session; state-changing requests must carry its CSRF token.
    Session {
        token_hash: String,
        csrf_token: String,
    },
    /// An API token; bearer tokens are not sent by browsers on their own, so no CSRF risk.
    Token { id: i64, name: String },
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub credential: Credential,
    /// The message the previous form left for this page (Post/Redirect/Get).
    pub flash: Option<String>,
    /// A secret the previous form minted, shown once by this page (see `ui::flash`).
    pub secret: Option<String>,
}

impl Principal {
    pub fn role(&self) -> Role {
        self.user.role
    }

    pub fn actor(&self) -> Actor {
        match &self.credential {
            Credential::Session { .. } => Actor::user(self.user.id, &self.user.username),
            Credential::Token { name, .. } => Actor::token(self.user.id, &self.user.username, name),
        }
    }

    pub fn csrf_token(&self) -> &str {
        match &self.credential {
            Credential::Session { csrf_token, .. } => csrf_token,
            Credential::Token { .. } => "",
        }
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (login page, health checks, metrics, the API description).
    Public,
    /// Signed-in users with at least this role.
    Role(Role),
}
