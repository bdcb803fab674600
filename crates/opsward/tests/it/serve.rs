use crate::{both_backends, Env, SIGKILL, SIGTERM};
use std::time::Duration;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_prints_admin_once_and_stops_on_sigterm() {
    let env = Env::new(false).await;
    let mut server = env.serve();
    let password = server
        .printed
        .iter()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .unwrap_or_else(|| panic!("no bootstrap password in {:?}", server.printed))
        .to_string();
    assert!(
        env.dir.path().join("data/opsward.db").exists(),
        "SQLite file created in the data dir"
    );

    let client = http();
    let login = client
        .get(server.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = opsward_testkit::csrf_token_in(&login);
    let signed_in = client
        .post(server.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "admin"),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), reqwest::StatusCode::SEE_OTHER);
    let users = client.get(server.url("/admin/users")).send().await.unwrap();
    assert_eq!(users.status(), reqwest::StatusCode::OK);

    server.signal(SIGTERM);
    assert!(
        server.wait(Duration::from_secs(30)).success(),
        "graceful shutdown exits 0"
    );

    let again = env.serve();
    assert!(
        !again.printed.iter().any(|l| l.contains("password")),
        "the bootstrap notice appears once: {:?}",
        again.printed
    );
}

// A large import is running when the server is killed with SIGKILL: after a restart the
// register holds none of it (one transaction), never part of it.
both_backends!(
    killed_mid_import_leaves_no_half_batch,
    |env: Env| async move {
        let added = env.run(
            &[
                "user",
                "add",
                "--username",
                "ci",
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
        let token = env.run(
            &["token", "create", "--username", "ci", "--name", "import"],
            "",
        );
        let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
        env.ok(&["asset", "add", "--name", "before-import", "--kind", "host"]);

        let rows = 40_000;
        let mut csv = String::from("name,kind,environment,criticality,tags\n");
        for i in 0..rows {
            csv.push_str(&format!("bulk-{i:05},host,production,medium,a;b\n"));
        }
        let mut server = env.serve();
        let url = server.url("/api/v1/assets/import");
        let request =
            tokio::spawn(async move { http().post(url).bearer_auth(token).body(csv).send().await });
        // Let the server receive the file and get well into the transaction.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            !request.is_finished(),
            "the import finished before the kill; make it larger"
        );
        server.signal(SIGKILL);
        server.wait(Duration::from_secs(10));
        let outcome = request.await.unwrap();
        assert!(
            outcome.is_err(),
            "the client saw the connection die, not a response: {outcome:?}"
        );

        let listed: serde_json::Value =
            serde_json::from_str(&env.ok(&["asset", "list", "-o", "json"])).unwrap();
        let names: Vec<_> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["before-import"], "no bulk rows survived the kill");
        let audit: serde_json::Value =
            serde_json::from_str(&env.ok(&["audit", "-o", "json", "--limit", "500"])).unwrap();
        assert!(
            audit
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["action"] != "import"),
            "no audit rows of the lost import"
        );
    }
);
