//! Chromium signs in through a real OpenID provider end to end: the "Sign in with" button on
//! opsward's login page, the provider's own login form, back to opsward with the role the
//! provider's groups map to, and out again through the provider's logout.
//!
//! The provider is the npm package `oidc-provider` (`.ci/run` installs it into `.tools/oidc`);
//! the server is the `opsward` binary configured by `opsward.toml`, with the client secret
//! read from a file, as an operator would set it up.

use crate::{
    browser::{Driver, Session},
    Env,
};
use opsward_testkit::oidc::{OidcPeer, CLIENT_SECRET};
use serde_json::{json, Value};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_through_the_identity_provider_and_out_again() {
    let env = Env::new(false).await;
    let listen = format!("127.0.0.1:{}", free_port());
    let origin = format!("http://{listen}");
    let peer = OidcPeer::start(
        &origin,
        &json!({"dana": {"groups": ["it-ops"], "name": "Dana Ops"}}),
        600,
    )
    .await;
    let secret_file = env.write("oidc-secret", &format!("{CLIENT_SECRET}\n"));
    let config = format!(
        r#"
[sso.mapping.groups]
it-ops = "operator"
it-admins = "admin"

[sso.oidc]
name = "Test IdP"
issuer = "{issuer}"
client_id = "opsward"
client_secret_file = "{secret}"
redirect_url = "{origin}/auth/oidc/callback"
scopes = ["profile", "email", "groups"]
"#,
        issuer = peer.issuer,
        secret = secret_file.display(),
    );
    let server = env.serve_with_config_on(&config, &listen);
    let driver = Driver::start().await;
    let session = Session::new(&driver, &env.dir.path().join("chromium-profile")).await;
    // Desktop width: the account links (and the sign-out button) are in the header.
    session.resize(1280, 900).await;

    session.go(&server.url("/assets")).await;
    session.wait_for_title("Sign in").await;
    session.click("a.sso").await;
    // The provider's own sign-in form.
    session.wait_for_text("name=\"login\"").await;
    session.type_into("input[name=login]", "dana").await;
    session
        .type_into("input[name=password]", "any password")
        .await;
    session.click("button[type=submit]").await;
    // Back at opsward, on the page first asked for, as the mapped role.
    session.wait_for_title("Assets").await;
    let page = session.source().await;
    assert!(page.contains("dana") || page.contains("Dana Ops"), "{page}");
    let users: Value = serde_json::from_str(&env.ok(&["user", "list", "-o", "json"])).unwrap();
    let dana = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "dana")
        .unwrap_or_else(|| panic!("dana was created at sign-in: {users}"));
    assert_eq!(dana["role"], "operator");

    // Sign out: the provider asks to confirm, then sends the browser back to opsward.
    session
        .click("form[action='/logout'] button[type=submit]")
        .await;
    session.wait_for_text("Yes, sign me out").await;
    session.click("button[autofocus]").await;
    session.wait_for_title("Sign in").await;
    session.go(&server.url("/assets")).await;
    session.wait_for_title("Sign in").await;
    session.close().await;
}
