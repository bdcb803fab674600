//! A customer answers a satisfaction survey through the link in the email opsward sent, in
//! Chromium, signed out; the operator sees the score on the customers page.

use crate::browser::{add_admin, Driver, Session};
use crate::Env;
use serde_json::Value;

/// The survey link in a delivered email, as the customer would click it.
fn survey_link(mail: &opsward_testkit::smtp::ReceivedMail, base: &str) -> String {
    // Quoted-printable soft line breaks would split a long link.
    let body = mail.content.replace("=\r\n", "");
    let start = body
        .find(&format!("{base}/survey/"))
        .unwrap_or_else(|| panic!("no survey link in:\n{body}"));
    body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_answers_a_survey_through_its_emailed_link_and_sees_the_score() {
    use opsward_testkit::smtp::{Mode, SmtpPeer};
    let env = Env::new(false).await;
    let password = "browser test password";
    add_admin(&env, password);
    let smtp = SmtpPeer::start(Mode::Plain, None).await;
    env.ok(&[
        "notify",
        "channel-add",
        "--name",
        "customer-mail",
        "--settings",
        &format!(
            r#"{{"type":"email","host":"127.0.0.1","port":{},"security":"none","from":"desk@example.com","to":["ops@example.com"]}}"#,
            smtp.port
        ),
    ]);
    env.ok(&["customer", "add", "--name", "Acme"]);
    env.ok(&[
        "customer",
        "contact-add",
        "Acme",
        "--name",
        "Ana",
        "--email",
        "ana@acme.example",
    ]);
    env.ok(&[
        "backlog",
        "add",
        "--type",
        "incident",
        "--title",
        "Printer jams on floor 3",
    ]);
    for state in ["triaged", "in_progress", "resolved"] {
        env.ok(&["backlog", "update", "1", "--state", state]);
    }
    env.ok(&[
        "customer",
        "link-item",
        "Acme",
        "--item",
        "1",
        "--contact",
        "ana@acme.example",
    ]);
    // No scheduler: with no delay its survey job could send the survey before the button
    // below does (a race seen under load), and the button is what this test is about.
    let server = env.serve_args(&["serve", "--listen", "127.0.0.1:0", "--no-scheduler"]);
    let base = server.url("");
    let base = base.trim_end_matches('/');
    let driver = Driver::start().await;
    let session = Session::new(&driver, &env.dir.path().join("chromium-profile")).await;

    // An administrator turns surveys on: the mail channel, no delay, this server's address.
    session.go(&server.url("/customers/settings")).await;
    session.wait_for_title("Sign in").await;
    session.type_into("#username", "ops").await;
    session.type_into("#password", password).await;
    session.click("button[type=submit]").await;
    session.wait_for_title("Survey settings").await;
    session.click("#channel option[value='1']").await;
    session.fill("#base-url", base).await;
    session.fill("#delay", "0").await;
    session.click("form.card button[type=submit]").await;
    session.wait_for_text("Survey settings saved.").await;

    session.go(&server.url("/customers")).await;
    session.wait_for_title("Customers").await;
    session.click("form.actions button[type=submit]").await;
    session.wait_for_text("Surveys: 1 sent").await;
    env.ok(&["notify", "run"]);
    let mail = smtp.message(1).await;
    assert_eq!(mail.rcpt_tos, vec!["ana@acme.example".to_string()]);
    let link = survey_link(&mail, base);

    // The customer has no account: signed out, the link alone opens the survey.
    // On a phone the menu is folded; the toggle opens it without JavaScript.
    session.click("label[for=nav-toggle]").await;
    session.click("header form button[type=submit]").await;
    session.wait_for_title("Sign in").await;
    session.go(&link).await;
    session.wait_for_title("Your feedback").await;
    session.click("#score-4").await;
    session
        .type_into("#comment", "Fixed the same afternoon.")
        .await;
    session.click("#survey-form button[type=submit]").await;
    session.wait_for_text("Thank you for your answer.").await;
    // The link works once.
    session.go(&link).await;
    session.wait_for_text("Thank you for your answer.").await;
    let source = session.source().await;
    assert!(
        !source.contains("survey-form"),
        "no second answer form:\n{source}"
    );
    // A changed link is refused.
    session.go(&format!("{}x", &link[..link.len() - 1])).await;
    session.wait_for_title("403 Forbidden").await;

    session.go(&server.url("/customers")).await;
    session.wait_for_title("Sign in").await;
    session.type_into("#username", "ops").await;
    session.type_into("#password", password).await;
    session.click("button[type=submit]").await;
    session.wait_for_title("Customers").await;
    assert_eq!(session.text("#csat-overall").await, "100%");
    assert_eq!(session.text("#response-rate").await, "100%");
    let dashboard = session.source().await;
    assert!(
        dashboard.contains("Fixed the same afternoon."),
        "{dashboard}"
    );
    assert!(dashboard.contains("<svg"), "the trend chart is drawn");

    let artifacts =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    session.resize(1280, 1500).await;
    std::fs::write(artifacts.join("customers.png"), session.screenshot().await).unwrap();
    session.close().await;

    let answered: Value =
        serde_json::from_str(&env.ok(&["survey", "list", "--state", "answered", "-o", "json"]))
            .unwrap();
    assert_eq!(answered[0]["score"], 4);
}
