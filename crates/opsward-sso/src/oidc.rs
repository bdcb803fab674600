//! OpenID Connect sign-in: the authorization code flow with PKCE, `state` and `nonce`, the
//! provider found by discovery, the ID token's signature, `iss`, `aud`, `exp` and `nonce`
//! verified by the `openidconnect` crate, and RP-initiated logout.

use crate::{settings::Secret, store::PendingLogin, store::ProviderIdentity, Method};
use base64::Engine;
use chrono::{DateTime, Utc};
use openidconnect::{
    core::{CoreAuthenticationFlow, CoreClient, CoreIdToken},
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope,
    TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::{
    path::PathBuf,
    sync::Mutex,
    time::{Duration, Instant},
};

/// How long a started sign-in may take at the provider before its `state` expires.
pub const PENDING_TTL: Duration = Duration::from_secs(10 * 60);
/// How long discovered metadata and signing keys are reused before they are fetched again
/// (providers rotate keys; an unknown key also triggers a fresh fetch).
const METADATA_TTL: Duration = Duration::from_secs(5 * 60);

/// `[sso.oidc]`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The button says "Sign in with <name>".
    pub name: String,
    /// The issuer URL; `<issuer>/.well-known/openid-configuration` is fetched from it.
    pub issuer: String,
    pub client_id: String,
    /// A file whose first line is the client secret; [`crate::settings::OIDC_SECRET_ENV`]
    /// wins when set. Without either, the client is public (PKCE only).
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    #[serde(skip)]
    pub client_secret: Option<Secret>,
    /// This server's callback as the provider knows it: `https://<host>/auth/oidc/callback`.
    pub redirect_url: String,
    /// Where the provider sends the browser after logout; this server's `/login` (on the
    /// origin of `redirect_url`) when unset.
    #[serde(default)]
    pub post_logout_redirect_url: Option<String>,
    /// Scopes besides `openid`.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Claim with the username (`preferred_username`; `upn` or `email` on some providers).
    #[serde(default = "default_username_claim")]
    pub username_claim: String,
    /// Claim with the groups; a dotted path reaches into objects (`realm_access.roles`).
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// Seconds each request to the provider may take.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_scopes() -> Vec<String> {
    vec!["profile".into(), "email".into()]
}
fn default_username_claim() -> String {
    "preferred_username".into()
}
fn default_groups_claim() -> String {
    "groups".into()
}
fn default_timeout_secs() -> u64 {
    10
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("client_secret_file", &self.client_secret_file)
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("username_claim", &self.username_claim)
            .field("groups_claim", &self.groups_claim)
            .finish_non_exhaustive()
    }
}

impl OidcSettings {
    /// A complete section, for tests and documentation.
    pub fn example() -> Self {
        OidcSettings {
            name: "Example".into(),
            issuer: "https://id.example.com/realms/it".into(),
            client_id: "opsward".into(),
            client_secret_file: None,
            client_secret: None,
            redirect_url: "https://opsward.example.com/auth/oidc/callback".into(),
            post_logout_redirect_url: None,
            scopes: default_scopes(),
            username_claim: default_username_claim(),
            groups_claim: default_groups_claim(),
            timeout_secs: default_timeout_secs(),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        let url = |name: &str, text: &str| -> Result<url::Url, String> {
            let parsed = url::Url::parse(text).map_err(|e| format!("{name} {text:?}: {e}"))?;
            let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
                return Err(format!("{name} must be https:// (http only to localhost)"));
            }
            Ok(parsed)
        };
        url("issuer", &self.issuer)?;
        url("redirect_url", &self.redirect_url)?;
        if let Some(u) = &self.post_logout_redirect_url {
            url("post_logout_redirect_url", u)?;
        }
        if self.name.trim().is_empty() || self.client_id.trim().is_empty() {
            return Err("name and client_id must not be empty".into());
        }
        if self.username_claim.trim().is_empty() || self.groups_claim.trim().is_empty() {
            return Err("username_claim and groups_claim must not be empty".into());
        }
        crate::settings::check_file("client_secret_file", self.client_secret_file.as_ref())?;
        if !(1..=120).contains(&self.timeout_secs) {
            return Err("timeout_secs must be 1 to 120".into());
        }
        Ok(())
    }
}

/// What went wrong talking to the provider or with what it sent. The texts are shown to the
/// user and logged: they never contain a secret or a token.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider could not be reached or described itself wrongly: {0}")]
    Discovery(String),
    #[error("the identity provider refused the sign-in code: {0}")]
    CodeExchange(String),
    #[error("the identity provider sent no ID token")]
    NoIdToken,
    #[error("the ID token is not valid: {0}")]
    InvalidIdToken(String),
    #[error("the ID token has no {0:?} claim to take the username from")]
    NoUsername(String),
    #[error("the identity provider does not offer logout")]
    NoLogout,
    #[error("bad setting: {0}")]
    Setting(String),
}

/// The client `from_provider_metadata` builds, with a redirect URI set (its type names
/// which endpoints are known).
type RelyingParty = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    openidconnect::core::CoreAuthDisplay,
    openidconnect::core::CoreGenderClaim,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    openidconnect::core::CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// An ID token verified, and who it says signed in.
#[derive(Debug, Clone)]
pub struct VerifiedLogin {
    pub identity: ProviderIdentity,
    /// The token as received, for the logout's `id_token_hint`.
    pub id_token: String,
}

/// The relying party: settings, an HTTP client with timeouts that follows no redirects, and
/// the provider's metadata (with its signing keys) cached for [`METADATA_TTL`].
pub struct OidcClient {
    settings: OidcSettings,
    http: reqwest::Client,
    metadata: Mutex<Option<(Instant, ProviderMetadataWithLogout)>>,
}

impl OidcClient {
    pub fn new(settings: OidcSettings) -> Result<Self, OidcError> {
        let timeout = Duration::from_secs(settings.timeout_secs);
        let http = reqwest::Client::builder()
            // Redirects are refused: a provider that redirects its token endpoint could send
            // the code and secret anywhere.
            .redirect(reqwest::redirect::Policy::none())
            // A fresh connection per request: sign-ins are rare, and a provider (or proxy)
            // that drops idle connections would otherwise reset a reused one mid-sign-in.
            .pool_max_idle_per_host(0)
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| OidcError::Setting(e.to_string()))?;
        Ok(OidcClient {
            settings,
            http,
            metadata: Mutex::new(None),
        })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The provider's metadata, from the cache or discovery.
    pub async fn metadata(&self, fresh: bool) -> Result<ProviderMetadataWithLogout, OidcError> {
        if !fresh {
            let cached = self.metadata.lock().expect("metadata lock");
            if let Some((at, meta)) = cached.as_ref() {
                if at.elapsed() < METADATA_TTL {
                    return Ok(meta.clone());
                }
            }
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone())
            .map_err(|e| OidcError::Setting(format!("issuer: {e}")))?;
        let meta = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Discovery(error_chain(&e)))?;
        *self.metadata.lock().expect("metadata lock") = Some((Instant::now(), meta.clone()));
        Ok(meta)
    }

    fn client(&self, meta: ProviderMetadataWithLogout) -> Result<RelyingParty, OidcError> {
        let redirect = RedirectUrl::new(self.settings.redirect_url.clone())
            .map_err(|e| OidcError::Setting(format!("redirect_url: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            meta,
            ClientId::new(self.settings.client_id.clone()),
            self.settings
                .client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose().to_string())),
        )
        .set_redirect_uri(redirect))
    }

    /// Start a sign-in: the provider URL to send the browser to, the pending sign-in to keep
    /// (by the hash of its state), and the state itself for the browser's cookie.
    pub async fn begin(
        &self,
        next_path: &str,
        now: DateTime<Utc>,
    ) -> Result<(url::Url, PendingLogin, String), OidcError> {
        let client = self.client(self.metadata(false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let pending = PendingLogin {
            state_hash: crate::hash_state(state.secret()),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next_path: next_path.to_string(),
            created_at: now,
            expires_at: now + chrono::Duration::from_std(PENDING_TTL).expect("ttl"),
        };
        Ok((url, pending, state.secret().clone()))
    }

    /// Finish a sign-in: exchange the code (with the PKCE verifier) and verify the ID token
    /// against the nonce of the pending sign-in.
    pub async fn finish(
        &self,
        pending: &PendingLogin,
        code: &str,
    ) -> Result<VerifiedLogin, OidcError> {
        let client = self.client(self.metadata(false).await?)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Setting(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::CodeExchange(error_chain(&e)))?;
        let raw = response.id_token().ok_or(OidcError::NoIdToken)?.to_string();
        match self.verify(&raw, &pending.nonce, Utc::now()).await {
            // Keys rotated since the metadata was cached: fetch them once more.
            Err(OidcError::InvalidIdToken(_)) => {
                self.metadata(true).await?;
                self.verify(&raw, &pending.nonce, Utc::now()).await
            }
            other => other,
        }
    }

    /// Verify a compact ID token (signature, `iss`, `aud`, `exp` at `now`, `nonce`) and read
    /// who it names.
    pub async fn verify(
        &self,
        raw: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<VerifiedLogin, OidcError> {
        let client = self.client(self.metadata(false).await?)?;
        let token: CoreIdToken = raw
            .parse()
            .map_err(|e: serde_json::Error| OidcError::InvalidIdToken(e.to_string()))?;
        let verifier = client.id_token_verifier().set_time_fn(move || now);
        let claims = token
            .claims(&verifier, &Nonce::new(nonce.to_string()))
            .map_err(|e| OidcError::InvalidIdToken(e.to_string()))?;
        let subject = claims.subject().to_string();
        // The signature is verified: the payload's other claims (the configured username
        // and groups claims, which may be provider-specific) are read from it directly.
        let payload = payload_json(raw).map_err(OidcError::InvalidIdToken)?;
        let username = claim_text(&payload, &self.settings.username_claim)
            .ok_or_else(|| OidcError::NoUsername(self.settings.username_claim.clone()))?;
        let display_name = claim_text(&payload, "name").unwrap_or_else(|| username.clone());
        Ok(VerifiedLogin {
            identity: ProviderIdentity {
                method: Method::Oidc,
                issuer: self.settings.issuer.clone(),
                subject,
                username,
                display_name,
                email: claim_text(&payload, "email"),
                groups: claim_list(&payload, &self.settings.groups_claim),
            },
            id_token: raw.to_string(),
        })
    }

    /// The provider's logout URL for a session signed in with `id_token`.
    pub async fn logout_url(&self, id_token: Option<&str>) -> Result<url::Url, OidcError> {
        let meta = self.metadata(false).await?;
        let end = meta
            .additional_metadata()
            .end_session_endpoint
            .clone()
            .ok_or(OidcError::NoLogout)?;
        let redirect = match &self.settings.post_logout_redirect_url {
            Some(url) => url.clone(),
            // This server's sign-in page, on the origin of the callback.
            None => url::Url::parse(&self.settings.redirect_url)
                .and_then(|u| u.join("/login"))
                .map_err(|e| OidcError::Setting(format!("redirect_url: {e}")))?
                .to_string(),
        };
        let mut request = openidconnect::LogoutRequest::from(end)
            .set_client_id(ClientId::new(self.settings.client_id.clone()))
            .set_post_logout_redirect_uri(
                PostLogoutRedirectUrl::new(redirect)
                    .map_err(|e| OidcError::Setting(format!("post_logout_redirect_url: {e}")))?,
            );
        if let Some(hint) = id_token.and_then(|t| t.parse::<CoreIdToken>().ok()) {
            request = request.set_id_token_hint(&hint);
        }
        Ok(request.http_get_url())
    }
}

/// An error and its causes on one line (the `openidconnect` errors keep the detail in
/// their sources).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The JSON payload of a compact JWS (`header.payload.signature`).
pub fn payload_json(raw: &str) -> Result<Value, String> {
    let mut parts = raw.split('.');
    let payload = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(payload), Some(_), None) => payload,
        _ => return Err("not a compact JWS".into()),
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| format!("payload is not base64url: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("payload is not JSON: {e}"))
}

/// The value at a dotted path (`realm_access.roles`); a claim whose own name has a dot
/// (`https://example.com/groups` style) is found by its whole name first.
fn claim<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    path.split('.').try_fold(claims, |v, key| v.get(key))
}

pub fn claim_text(claims: &Value, path: &str) -> Option<String> {
    match claim(claims, path)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

/// A claim as a list of strings: an array's strings, or a single string as one group.
pub fn claim_list(claims: &Value, path: &str) -> Vec<String> {
    match claim(claims, path) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn groups_are_read_from_keycloak_and_azure_style_claims() {
        let keycloak = json!({"realm_access": {"roles": ["ops", "offline_access"]}, "preferred_username": "alice"});
        assert_eq!(
            claim_list(&keycloak, "realm_access.roles"),
            ["ops", "offline_access"]
        );
        let azure =
            json!({"groups": ["5e0c-guid"], "roles": "Opsward.Admin", "upn": "bob@example.com"});
        assert_eq!(claim_list(&azure, "groups"), ["5e0c-guid"]);
        assert_eq!(claim_list(&azure, "roles"), ["Opsward.Admin"]);
        assert_eq!(
            claim_text(&azure, "upn").as_deref(),
            Some("bob@example.com")
        );
        let namespaced = json!({"https://example.com/groups": ["a"]});
        assert_eq!(claim_list(&namespaced, "https://example.com/groups"), ["a"]);
        assert!(claim_list(&azure, "missing").is_empty());
    }

    #[test]
    fn a_payload_is_read_only_from_three_parts() {
        assert!(payload_json("a.b").is_err());
        assert!(payload_json("a.!!.c").is_err());
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"1"}"#);
        assert_eq!(payload_json(&format!("h.{body}.s")).unwrap()["sub"], "1");
    }

    #[test]
    fn settings_refuse_plain_http_except_to_localhost() {
        let mut s = OidcSettings::example();
        assert!(s.validate().is_ok());
        s.issuer = "http://id.example.com".into();
        assert!(s.validate().is_err());
        s.issuer = "http://127.0.0.1:9000".into();
        assert!(s.validate().is_ok());
        s.timeout_secs = 0;
        assert!(s.validate().is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever a token's payload says, reading it never panics.
        #[test]
        fn payload_and_claims_never_panic(raw in "[A-Za-z0-9_.=-]{0,80}", path in "[a-z.]{0,12}") {
            if let Ok(v) = payload_json(&raw) {
                let _ = claim_list(&v, &path);
                let _ = claim_text(&v, &path);
            }
        }

        #[test]
        fn claims_of_any_json_never_panic(text in "\\PC{0,40}", path in "[a-z.]{0,12}") {
            let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text.as_bytes());
            if let Ok(v) = payload_json(&format!("h.{body}.s")) {
                let _ = claim_list(&v, &path);
            }
        }
    }
}
