//! A real OpenID provider for sign-in tests: the npm package `oidc-provider` (installed by
//! `.ci/run` into `.tools/oidc`) run by `.ci/oidc-provider.mjs` on loopback, with one
//! confidential client `opsward`. Accounts and their groups live in a JSON file the provider
//! reads at every sign-in, so a test can change someone's groups in between. A missing Node
//! or package fails the test: it is never skipped.

use serde_json::Value;
use std::{path::PathBuf, process::Stdio, time::Duration};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The client secret the provider knows opsward by.
pub const CLIENT_SECRET: &str = "opsward-test-client-secret";

/// The provider process; killed when dropped.
pub struct OidcPeer {
    pub issuer: String,
    accounts: PathBuf,
    _child: tokio::process::Child,
    /// Kept open: the provider may print more, and a closed pipe would end it.
    _stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    _dir: tempfile::TempDir,
}

impl OidcPeer {
    pub async fn start(app_origin: &str, accounts: &Value, id_token_ttl_secs: u64) -> OidcPeer {
        let dir = tempfile::tempdir().unwrap();
        let accounts_file = dir.path().join("accounts.json");
        std::fs::write(&accounts_file, accounts.to_string()).unwrap();
        let script = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../.ci/oidc-provider.mjs"
        ));
        let mut child = tokio::process::Command::new("node")
            .arg(&script)
            .env(
                "OIDC_REDIRECT_URI",
                format!("{app_origin}/auth/oidc/callback"),
            )
            .env("OIDC_POST_LOGOUT_URI", format!("{app_origin}/login"))
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_ACCOUNTS_FILE", &accounts_file)
            .env("OIDC_ID_TOKEN_TTL", id_token_ttl_secs.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs .ci/oidc-provider.mjs (install it with .ci/run)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            let lines = &mut lines;
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(port) = line.strip_prefix("listening ") {
                    return port.trim().to_string();
                }
            }
            panic!("oidc-provider exited before listening; is .tools/oidc installed?");
        })
        .await
        .expect("oidc-provider starts within 30 s");
        OidcPeer {
            issuer: format!("http://127.0.0.1:{port}"),
            accounts: accounts_file,
            _child: child,
            _stdout: lines,
            _dir: dir,
        }
    }

    /// Replace every account's claims (the next sign-in sees them).
    pub fn set_accounts(&self, accounts: &Value) {
        std::fs::write(&self.accounts, accounts.to_string()).unwrap();
    }
}
