//! Inbound email against a real IMAP server (Dovecot, started per test): new mail opens
//! items, replies naming `[#N]` comment on item N, reruns file nothing twice, handled mail
//! is flagged `\Seen` (or moved), bad mail is reported and left unread; TLS, STARTTLS, a
//! wrong password and a server that never answers.

use crate::{client, on_both_backends, TestApp};
use opsward_backlog::inbound::{InboundAction, InboundRun, InboundSettings, Secret, TlsMode};
use opsward_core::{people::PersonInput, Actor, Role};
use opsward_server::{scheduler::JobRegistry, ServerConfig};
use opsward_testkit::{
    imap::{DovecotPeer, IMAP_PASSWORD, IMAP_USER},
    smtp::TlsFixture,
    Backend, TestDb,
};
use reqwest::StatusCode;
use serde_json::Value;

fn settings(port: u16, tls: TlsMode) -> InboundSettings {
    InboundSettings {
        host: Some("127.0.0.1".into()),
        port: Some(port),
        tls,
        username: IMAP_USER.into(),
        password: Some(Secret::new(IMAP_PASSWORD)),
        connect_timeout_seconds: 10,
        read_timeout_seconds: 20,
        ..InboundSettings::default()
    }
}

fn mail(from: &str, subject: &str, id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: backlog@example.com\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
    .into_bytes()
}

async fn start_app(backend: Backend, inbound: InboundSettings) -> TestApp {
    let config = ServerConfig {
        backlog_inbound: inbound,
        ..ServerConfig::default()
    };
    let db = TestDb::new(backend).await;
    let jobs = JobRegistry::for_server(&db.store, &config);
    TestApp::start_with(db, config, jobs).await
}

async fn api_run(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let response = client()
        .post(app.url("/api/v1/backlog/inbound/run"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

fn actions(run: &Value) -> Vec<String> {
    run["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["action"].as_str().unwrap().to_string())
        .collect()
}

async fn files_mail_and_replies_once(backend: Backend) {
    let mut imap = DovecotPeer::start(None).await;
    let app = start_app(backend, settings(imap.port, TlsMode::None)).await;
    let (_, token) = app.user_with_token("mail-op", Role::Operator).await;
    app.db
        .store
        .create_person(
            &Actor::system("test"),
            &PersonInput {
                name: "Alice Example".into(),
                email: "alice@example.com".into(),
                team_id: None,
            },
        )
        .await
        .unwrap();

    // Carol writes for a customer: the item her mail opens is linked to it.
    let customers = &app.state.customers;
    let acme = customers
        .create_customer(
            &Actor::system("test"),
            &opsward_customers::CustomerInput {
                name: "ACME".into(),
                notes: String::new(),
                owner_team_id: None,
                owner_person_id: None,
                asset_ids: vec![],
            },
        )
        .await
        .unwrap();
    customers
        .add_contact(
            &Actor::system("test"),
            acme.id,
            &opsward_customers::ContactInput {
                name: "Carol".into(),
                email: "Carol@Example.org".into(),
                role: String::new(),
                surveys_opt_out: false,
            },
        )
        .await
        .unwrap();

    let new = imap.deliver(&mail(
        "Alice Example <ALICE@example.com>",
        "Printer on fire",
        "m1@example.com",
        "The printer on floor 2 smokes.\r\n\r\nPlease check.\r\n",
    ));
    let bad = imap.deliver(b"\x00\x01\x02 this is not a mail message at all\r\n");
    let (status, run) = api_run(&app, &token).await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(actions(&run), ["created", "failed"], "{run}");
    let item_id = run["messages"][0]["item_id"].as_i64().unwrap();
    assert!(
        run["messages"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("cannot be parsed"),
        "{run}"
    );
    let item = app.state.backlog.get_item(item_id).await.unwrap();
    assert_eq!(item.title, "Printer on fire");
    assert_eq!(item.item_type.as_str(), "incident");
    assert!(
        item.description
            .starts_with("The printer on floor 2 smokes.\n\nPlease check."),
        "{}",
        item.description
    );
    assert!(
        item.description
            .contains("Alice Example <ALICE@example.com> (person"),
        "{}",
        item.description
    );
    assert!(item.tags.contains(&"email".to_string()));
    assert!(
        imap.is_seen(&new),
        "filed mail is flagged seen: {:?}",
        imap.flags(&new)
    );
    assert!(
        !imap.is_seen(&bad),
        "bad mail stays unread: {:?}",
        imap.flags(&bad)
    );

    // A reply naming the item: its own words become a comment, the quote is cut.
    let reply = imap.deliver(&mail(
        "Bob <bob@example.net>",
        &format!("Re: [#{item_id}] Printer on fire"),
        "m2@example.net",
        "It is out now, the fire brigade came.\r\n\r\nOn Thu, 26 Nov 2026, Alice wrote:\r\n> The printer on floor 2 smokes.\r\n",
    ));
    // The same message delivered twice (as after a crash before flagging): filed once.
    let twice = imap.deliver(&mail(
        "Bob <bob@example.net>",
        &format!("Re: [#{item_id}] Printer on fire"),
        "m2@example.net",
        "It is out now, the fire brigade came.\r\n",
    ));
    let missing = imap.deliver(&mail(
        "carol@example.org",
        "Re: [#999999] Old thing",
        "m3@example.org",
        "Hello?\0 (a NUL byte, which PostgreSQL refuses in text)\r\n",
    ));
    let (status, run) = api_run(&app, &token).await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(
        actions(&run),
        ["failed", "commented", "already_processed", "created"],
        "{run}"
    );
    assert!(
        run["messages"][3]["detail"]
            .as_str()
            .unwrap()
            .contains("#999999 does not exist"),
        "{run}"
    );
    assert_eq!(
        run["messages"][1]["customer_id"],
        Value::Null,
        "a comment links nothing: {run}"
    );
    assert_eq!(run["messages"][3]["customer_id"], acme.id, "{run}");
    let carols_item = run["messages"][3]["item_id"].as_i64().unwrap();
    let linked = customers.items_of(acme.id).await.unwrap();
    assert_eq!(
        linked.iter().map(|l| l.0).collect::<Vec<_>>(),
        [carols_item]
    );
    let comments = app.state.backlog.comments(item_id).await.unwrap();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]
            .body
            .starts_with("It is out now, the fire brigade came."),
        "{}",
        comments[0].body
    );
    assert!(
        !comments[0].body.contains("floor 2"),
        "quoted text is cut: {}",
        comments[0].body
    );
    assert!(
        comments[0].body.contains("Bob <bob@example.net>"),
        "{}",
        comments[0].body
    );
    assert_eq!(comments[0].author, "system:backlog-inbound");
    for name in [&reply, &twice, &missing] {
        assert!(imap.is_seen(name), "{name}: {:?}", imap.flags(name));
    }
    assert!(!imap.is_seen(&bad));

    // As after a crash between filing and flagging: the filed reply is unseen again. The
    // next poll finds its Message-ID recorded and only flags it.
    imap.mark_unseen(&reply);
    assert!(!imap.is_seen(&reply));
    let (_, run) = api_run(&app, &token).await;
    assert_eq!(actions(&run), ["failed", "already_processed"], "{run}");
    assert_eq!(run["messages"][1]["comment_id"], comments[0].id, "{run}");
    assert!(imap.is_seen(&reply));

    // Nothing new: a rerun files nothing and reports the bad message again.
    let before = app.state.backlog.all_items().await.unwrap().len();
    let (_, run) = api_run(&app, &token).await;
    assert_eq!(actions(&run), ["failed"], "{run}");
    assert_eq!(app.state.backlog.all_items().await.unwrap().len(), before);
    assert_eq!(app.state.backlog.comments(item_id).await.unwrap().len(), 1);

    // Every change is audited as the inbound-email actor.
    let audit = app
        .state
        .store
        .list_audit(
            &Default::default(),
            opsward_core::page::PageRequest::first(200),
        )
        .await
        .unwrap();
    let by_inbound = |entity: &str| {
        audit
            .items
            .iter()
            .filter(|a| a.entity_type == entity && a.actor == "system:backlog-inbound")
            .count()
    };
    assert_eq!(by_inbound("backlog_item"), 2);
    assert_eq!(by_inbound("backlog_comment"), 1);
    assert_eq!(by_inbound("backlog_inbound_message"), 3);
    app.stop().await;
}

on_both_backends!(files_mail_and_replies_once);

async fn tls_starttls_and_move(backend: Backend) {
    let tls = TlsFixture::generate();
    let mut imap = DovecotPeer::start(Some(&tls)).await;
    let db = TestDb::new(backend).await;
    let implicit = InboundSettings {
        ca_file: imap.ca_file.clone(),
        ..settings(imap.tls_port.unwrap(), TlsMode::Implicit)
    };

    // The private CA is not trusted without ca_file: the handshake is refused.
    let untrusted = InboundSettings {
        ca_file: None,
        ..implicit.clone()
    };
    let run = opsward_server::backlog_inbound::run(db.store.as_ref(), &untrusted).await;
    let error = run.error.unwrap();
    assert!(
        error.contains("TLS") && error.contains("certificate"),
        "{error}"
    );

    let first = imap.deliver(&mail(
        "a@example.com",
        "Over TLS",
        "t1@example.com",
        "one\r\n",
    ));
    let run = opsward_server::backlog_inbound::run(db.store.as_ref(), &implicit).await;
    assert_eq!(run.error, None);
    assert_eq!(run.count(InboundAction::Created), 1, "{run:?}");
    assert!(imap.is_seen(&first));

    // STARTTLS on the plain port, moving handled mail to a folder it creates.
    let starttls = InboundSettings {
        processed_mailbox: Some("Done".into()),
        ..settings(imap.port, TlsMode::Starttls)
    };
    let starttls = InboundSettings {
        ca_file: imap.ca_file.clone(),
        ..starttls
    };
    let second = imap.deliver(&mail(
        "b@example.com",
        "Over STARTTLS",
        "t2@example.com",
        "two\r\n",
    ));
    let run: InboundRun = opsward_server::backlog_inbound::run(db.store.as_ref(), &starttls).await;
    assert_eq!(run.error, None);
    assert_eq!(run.count(InboundAction::Created), 1, "{run:?}");
    assert_eq!(imap.flags(&second), None, "moved out of the inbox");
    let done = imap.folder("Done");
    assert_eq!(done.len(), 1, "{}", imap.log());
    assert!(done[0].ends_with(":2,S"), "moved as read: {done:?}");
    // Both sessions that logged in did so over TLS (Dovecot marks such logins "TLS").
    let logins: Vec<String> = imap
        .log()
        .lines()
        .filter(|l| l.contains("Login: user=<backlog>"))
        .map(str::to_string)
        .collect();
    assert_eq!(logins.len(), 2, "{logins:?}");
    assert!(logins.iter().all(|l| l.contains("TLS")), "{logins:?}");
    let titles: Vec<String> = opsward_backlog::BacklogStore::new(db.store.as_ref())
        .all_items()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.title)
        .collect();
    assert_eq!(titles, ["Over TLS", "Over STARTTLS"]);
}

on_both_backends!(tls_starttls_and_move);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_a_clear_error_and_leaves_mail_unread() {
    let mut imap = DovecotPeer::start(None).await;
    let waiting = imap.deliver(&mail("a@example.com", "Hello", "w1@example.com", "hi\r\n"));
    let wrong = InboundSettings {
        password: Some(Secret::new("not the password")),
        ..settings(imap.port, TlsMode::None)
    };
    let app = start_app(Backend::Sqlite, wrong).await;
    let (_, token) = app.user_with_token("mail-op", Role::Operator).await;
    let (status, body) = api_run(&app, &token).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let message = body["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("refused the login of \"backlog\""),
        "{message}"
    );
    assert!(
        !message.contains("not the password"),
        "the password is never echoed: {message}"
    );
    assert!(!imap.is_seen(&waiting));
    assert!(app.state.backlog.all_items().await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_hits_the_read_timeout() {
    // Accepts connections and never writes a byte.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let db = TestDb::sqlite().await;
    let quick = InboundSettings {
        read_timeout_seconds: 1,
        ..settings(port, TlsMode::None)
    };
    let run = opsward_server::backlog_inbound::run(db.store.as_ref(), &quick).await;
    let error = run.error.unwrap();
    assert!(error.contains("greeting timed out after 1 s"), "{error}");
    holder.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_configured_answers_409() {
    let app = start_app(Backend::Sqlite, InboundSettings::default()).await;
    let (_, token) = app.user_with_token("mail-op", Role::Operator).await;
    let (status, body) = api_run(&app, &token).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, viewer) = app.user_with_token("mail-viewer", Role::Viewer).await;
    assert_eq!(api_run(&app, &viewer).await.0, StatusCode::FORBIDDEN);
    app.stop().await;
}

/// The scheduler runs the job when inbound email is configured: a message waiting in the
/// mailbox when the server starts becomes an item without anyone asking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_job_polls_the_mailbox() {
    let mut imap = DovecotPeer::start(None).await;
    let name = imap.deliver(&mail(
        "a@example.com",
        "Found by the job",
        "j1@example.com",
        "hi\r\n",
    ));
    let inbound = settings(imap.port, TlsMode::None);
    let config = ServerConfig {
        backlog_inbound: inbound,
        ..ServerConfig::default()
    };
    let db = TestDb::sqlite().await;
    let jobs = JobRegistry::for_server(&db.store, &config);
    assert!(jobs
        .kinds()
        .contains(&opsward_backlog::jobs::INBOUND_JOB.to_string()));
    let app = TestApp::start_with(db, config, jobs).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        // Flagged after the item is committed: wait for both.
        let items = app.state.backlog.all_items().await.unwrap();
        if items.iter().any(|i| i.title == "Found by the job") && imap.is_seen(&name) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job never filed the message"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.stop().await;

    let db = TestDb::sqlite().await;
    let disabled = JobRegistry::for_server(&db.store, &ServerConfig::default());
    assert!(!disabled
        .kinds()
        .contains(&opsward_backlog::jobs::INBOUND_JOB.to_string()));
}

/// Two polls at the same moment (the scheduled job and an on-demand run, or two servers)
/// see the same unseen messages: each message still becomes exactly one item.
async fn concurrent_polls_file_each_message_once(backend: Backend) {
    let mut imap = DovecotPeer::start(None).await;
    for n in 0..6 {
        imap.deliver(&mail(
            "a@example.com",
            &format!("Race {n}"),
            &format!("race{n}@example.com"),
            "x\r\n",
        ));
    }
    let db = TestDb::new(backend).await;
    let inbound = settings(imap.port, TlsMode::None);
    let (a, b) = tokio::join!(
        opsward_server::backlog_inbound::run(db.store.as_ref(), &inbound),
        opsward_server::backlog_inbound::run(db.store.as_ref(), &inbound),
    );
    assert_eq!((&a.error, &b.error), (&None, &None));
    let created = a.count(InboundAction::Created) + b.count(InboundAction::Created);
    assert_eq!(created, 6, "{a:?}\n{b:?}");
    let mut titles: Vec<String> = opsward_backlog::BacklogStore::new(db.store.as_ref())
        .all_items()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.title)
        .collect();
    titles.sort();
    titles.dedup();
    assert_eq!(titles.len(), 6);
    assert_eq!(
        opsward_backlog::BacklogStore::new(db.store.as_ref())
            .all_items()
            .await
            .unwrap()
            .len(),
        6
    );
}

on_both_backends!(concurrent_polls_file_each_message_once);
