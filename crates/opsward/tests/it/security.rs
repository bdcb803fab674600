//! Issue 19: the failures found by probing the binary (CLI imports, the text log, the
//! password rules of `opsward user`), each with a regression test, on both backends.

use crate::{both_backends, Env};
use std::time::Duration;

// Failures 4 and 5: a strict import of a file ending inside an open quote committed (the
// rows after the quote were swallowed into a description), and a strict import with four
// bad rows reported three.
both_backends!(strict_import_reports_every_bad_row, |env: Env| async move {
    let open_quote = env.write(
        "open.csv",
        "name,kind,description\nweb-01,host,fine\ndb-01,host,\"never closed\nmail-01,host,x\n",
    );
    let out = env.run(
        &["asset", "import", "--strict", open_quote.to_str().unwrap()],
        "",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nothing imported"), "{stderr}");
    assert!(
        stderr.contains("open.csv:3: a quoted field is not closed"),
        "{stderr}"
    );
    assert_eq!(env.ok(&["asset", "list", "-o", "json"]).trim(), "[]");

    let four_bad = env.write(
        "four.csv",
        "name,kind,owner\nweb-01,host,\nbad-1,hots,\n,host,\nbad-3,host,team:nobody\nbad-4,host,person:nobody@example.com\n",
    );
    let out = env.run(
        &["asset", "import", "--strict", four_bad.to_str().unwrap()],
        "",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("4 bad row(s)"), "{stderr}");
    for line in 3..=6 {
        assert!(
            stderr.contains(&format!("four.csv:{line}:")),
            "line {line}: {stderr}"
        );
    }
});

// Failure 3: a username with a newline and ANSI escapes wrote a forged line, and raw ESC
// bytes, into the text log.
both_backends!(sign_in_log_cannot_be_forged, |env: Env| async move {
    let server = env.serve();
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let page = http.get(server.url("/login")).send().await.unwrap();
    let csrf = opsward_testkit::csrf_token_in(&page.text().await.unwrap());
    let forged = "mallory\n2026-01-01T00:00:00.000000Z  INFO opsward: FORGED signed in \u{1b}[2J";
    let response = http
        .post(server.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", forged),
            ("password", "whatever it is"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::UNAUTHORIZED);
    drop(server);
    let log = std::fs::read_to_string(env.dir.path().join("serve.log")).unwrap();
    // (The log may colour its own level names; the user's escape sequence must not pass.)
    assert!(
        !log.contains("\u{1b}[2J"),
        "no raw escape sequence from the username"
    );
    let lines: Vec<_> = log.lines().filter(|l| l.contains("FORGED")).collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].contains("sign-in failed") && lines[0].contains("mallory\\n2026"),
        "{}",
        lines[0]
    );
});

// The same username in the JSON log format: one record, the username a JSON string with its
// newline and escape inside it, never a second record.
both_backends!(
    sign_in_json_log_keeps_the_username_a_string,
    |env: Env| async move {
        let server = env.serve_with_config("log_format = \"json\"\n");
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let page = http.get(server.url("/login")).send().await.unwrap();
        let csrf = opsward_testkit::csrf_token_in(&page.text().await.unwrap());
        let forged = "mallory\n{\"level\":\"INFO\",\"fields\":{\"message\":\"FORGED\"}}\u{1b}[2J";
        let response = http
            .post(server.url("/login"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", forged),
                ("password", "whatever it is"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::UNAUTHORIZED);
        drop(server);
        let log = std::fs::read_to_string(env.dir.path().join("serve.log")).unwrap();
        assert!(!log.contains('\u{1b}'), "no raw escape byte: {log}");
        let records: Vec<serde_json::Value> = log
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let forged_records: Vec<_> = records
            .iter()
            .filter(|r| r.to_string().contains("FORGED"))
            .collect();
        assert_eq!(forged_records.len(), 1, "{log}");
        let record = forged_records[0].to_string();
        assert!(record.contains("sign-in failed"), "{record}");
        assert!(
            !records.iter().any(|r| r["fields"]["message"] == "FORGED"),
            "the username never becomes a record of its own"
        );
    }
);

// Failure 10, through the CLI: the reason is printed and no account is made.
both_backends!(user_add_refuses_weak_passwords, |env: Env| async move {
    for (password, why) in [
        ("password1234", "common"),
        ("aaaaaaaaaaaa", "common"),
        ("abcabcabcabcabc", "easy to guess"),
    ] {
        let out = env.run(
            &["user", "add", "--username", "erin", "--password-stdin"],
            &format!("{password}\n"),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{password} accepted");
        assert!(stderr.contains(why), "{password}: {stderr}");
    }
    let out = env.run(
        &["user", "add", "--username", "erin", "--password-stdin"],
        "correct horse battery staple\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
});

// Item 4: the archive limits are configuration (here `OPSWARD_OSV_MAX_ENTRY_MIB`), and an
// archive over them is refused with the reason and nothing imported.
both_backends!(osv_archive_limits_are_configurable, |env: Env| async move {
    use std::io::Write;
    let path = env.dir.path().join("all.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.start_file("GHSA-big.json", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(&vec![b' '; 2 << 20]).unwrap();
    zip.finish().unwrap();
    let out = env
        .command()
        .env("OPSWARD_OSV_MAX_ENTRY_MIB", "1")
        .args([
            "-o",
            "json",
            "vuln",
            "import",
            "osv",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("more than 1048576 bytes") && said.contains("zip bomb"),
        "{said}"
    );
});
