//! `opsward vuln policy ports` and `opsward vuln exposure <asset> --server`: the policy set
//! from the CLI decides, on the server, which of the ports the CLI found open (real listeners
//! bound here) are exposures; the findings are listed with `vuln findings --kind`.

use super::{both_backends, Env};
use serde_json::Value;

both_backends!(
    exposure_scans_are_recorded_through_the_api,
    |env: Env| async move {
        let added = env.run(
            &[
                "user",
                "add",
                "--username",
                "scanner",
                "--role",
                "operator",
                "--password-stdin",
            ],
            "a long enough password\n",
        );
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );
        let token = env.ok(&["token", "create", "--username", "scanner", "--name", "cron"]);
        let token = token.trim().to_string();
        env.ok(&["asset", "add", "--name", "web-1", "--kind", "host"]);

        let allowed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let exposed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (a, b) = (
            allowed.local_addr().unwrap().port(),
            exposed.local_addr().unwrap().port(),
        );
        let scan = format!("{a},{b}");
        let policy: Value = serde_json::from_str(&env.ok(&[
            "vuln",
            "policy",
            "ports",
            "set",
            "--asset",
            "web-1",
            "--allow",
            &a.to_string(),
            "--scan-ports",
            &scan,
            "--address",
            "127.0.0.1",
            "-o",
            "json",
        ]))
        .unwrap();
        assert_eq!(policy["allowed"], a.to_string());
        let bad = env.run(
            &[
                "vuln", "policy", "ports", "set", "--tag", "web", "--allow", "ssh",
            ],
            "",
        );
        assert_eq!(
            bad.status.code(),
            Some(2),
            "a bad port list is a usage error"
        );

        let server = env.serve();
        let base = server.url("").trim_end_matches('/').to_string();
        let out = env
            .command()
            .args(["vuln", "exposure", "web-1", "--server", &base, "-o", "json"])
            .env("OPSWARD_TOKEN", &token)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "an exposure: {stderr}");
        assert!(stderr.contains("1 new"), "{stderr}");
        let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        let exposures: Vec<_> = rows
            .iter()
            .filter(|r| r["exposure"] == true)
            .map(|r| r["port"].as_u64().unwrap())
            .collect();
        assert_eq!(exposures, vec![u64::from(b)]);

        let listed = env.run(
            &["vuln", "findings", "--kind", "exposure", "-o", "json"],
            "",
        );
        let findings: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0]["package"], format!("tcp/{b}"));
        assert_eq!(findings[0]["kind"], "exposure");
        assert_eq!(findings[0]["state"], "open");
        let tls = env.run(&["vuln", "findings", "--kind", "tls", "-o", "json"], "");
        assert_eq!(tls.status.code(), Some(0));
        assert_eq!(
            serde_json::from_slice::<Vec<Value>>(&tls.stdout)
                .unwrap()
                .len(),
            0
        );

        // Closed now: the next scan through the server fixes it, and the exit code is 0.
        drop(exposed);
        let out = env
            .command()
            .args(["vuln", "exposure", "web-1", "--server", &base])
            .env("OPSWARD_TOKEN", &token)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains("1 fixed"), "{stderr}");
        drop(server);
    }
);
