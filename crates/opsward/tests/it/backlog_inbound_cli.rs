//! `opsward backlog inbound run` against a real Dovecot: the report per message, exit code
//! 0 when every message was filed, 1 when one was left unread, 2 when inbound email is not
//! configured or the mailbox refuses the login; the password comes from `password_file` or
//! `OPSWARD_BACKLOG_INBOUND_PASSWORD` and never shows in the output.

use crate::{both_backends, Env};
use opsward_testkit::imap::{DovecotPeer, IMAP_PASSWORD, IMAP_USER};
use serde_json::Value;

fn mail(subject: &str, id: &str) -> Vec<u8> {
    format!(
        "From: Dana <dana@example.com>\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\nDetails of {subject}.\r\n"
    )
    .into_bytes()
}

both_backends!(inbound_run_from_the_cli, |env: Env| async move {
    let unconfigured = env.run(&["backlog", "inbound", "run"], "");
    assert_eq!(unconfigured.status.code(), Some(2), "{unconfigured:?}");
    assert!(String::from_utf8_lossy(&unconfigured.stderr).contains("not configured"));

    let mut imap = DovecotPeer::start(None).await;
    let password_file = env.write("imap-password", &format!("{IMAP_PASSWORD}\n"));
    let config = env.write(
        "inbound.toml",
        &format!(
            "[backlog_inbound]\nhost = \"localhost\"\nport = {}\ntls = \"none\"\nusername = \"{IMAP_USER}\"\n\
             password_file = \"{}\"\nitem_type = \"problem\"\n",
            imap.port,
            password_file.display()
        ),
    );
    let config = config.to_str().unwrap();
    let args = [
        "--config", config, "-o", "json", "backlog", "inbound", "run",
    ];

    let first = imap.deliver(&mail("VPN drops every hour", "cli1@example.com"));
    let run = env.run(&args, "");
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let report: Vec<Value> = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0]["action"], "created");
    assert!(imap.is_seen(&first));
    let item = report[0]["item_id"].as_i64().unwrap().to_string();
    // `backlog show` prints the item, then its comments and history.
    let shown = env.ok(&["-o", "json", "backlog", "show", &item]);
    let shown: Value = serde_json::Deserializer::from_str(&shown)
        .into_iter::<Value>()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(shown["title"], "VPN drops every hour");
    assert_eq!(shown["item_type"], "problem");

    // Tracing everything still keeps the password (sent in the IMAP LOGIN) out of the log.
    imap.deliver(&mail("Traced", "cli2@example.com"));
    let traced = env
        .command()
        .args(["-vv", "--config", config, "backlog", "inbound", "run"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(traced.status.code(), Some(0), "{traced:?}");
    let log = String::from_utf8_lossy(&traced.stderr);
    assert!(
        log.contains("inbound") || log.contains("TRACE"),
        "traced: {log}"
    );
    assert!(
        !log.contains(IMAP_PASSWORD),
        "the password is in the log: {log}"
    );

    // A message that cannot be parsed: reported, left unread, exit code 1.
    let bad = imap.deliver(b"no headers here at all");
    let run = env.run(&args, "");
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let report: Vec<Value> = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report[0]["action"], "failed");
    assert!(!imap.is_seen(&bad));

    // The environment's password wins over the file: a wrong one is refused clearly.
    let refused = env
        .command()
        .args(args)
        .env("OPSWARD_BACKLOG_INBOUND_PASSWORD", "wrong-imap-password")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("refused the login of \"backlog\""),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-imap-password"), "{stderr}");
});
