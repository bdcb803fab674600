//! Chromium and the schedule editor (issue 20 item 6): fill the fields, preview the next five
//! occurrences, save, and read the schedule in words on the activity page.

use crate::{
    browser::{add_admin, Driver, Session},
    Env,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_fills_the_schedule_editor_previews_and_saves() {
    let env = Env::new(false).await;
    let password = "browser schedule password";
    add_admin(&env, password);
    let server = env.serve();
    let driver = Driver::start().await;
    let session = Session::new(&driver, &env.dir.path().join("chromium-profile")).await;

    session.go(&server.url("/calendar/activities/new")).await;
    session.wait_for_title("Sign in").await;
    session.type_into("#username", "ops").await;
    session.type_into("#password", password).await;
    session.click("button[type=submit]").await;
    session.wait_for_title("Plan an activity").await;
    session.browser_log().await;

    session.type_into("#title", "Patch night").await;
    // A datetime-local input and selects are set as a person's picker would leave them.
    session
        .execute(
            "for (const [id, v] of arguments[0]) { document.getElementById(id).value = v; }",
            json!([[
                ["starts_local", "2026-01-05T22:00"],
                ["timezone", "Europe/London"],
                ["frequency", "weekly"]
            ]]),
        )
        .await;
    session.fill("#interval", "2").await;
    session.click("input[name=day_mo]").await;
    session.click("input[name=day_th]").await;
    session.click("button[name=preview]").await;
    let preview = session
        .wait_for_text("every 2 weeks on Monday and Thursday at 22:00 Europe/London")
        .await;
    let listed = session
        .execute(
            "return document.querySelectorAll('.schedule-preview li').length;",
            json!([]),
        )
        .await;
    assert_eq!(listed, json!(5), "{preview}");
    // The preview kept what was typed.
    let kept = session
        .execute(
            "return [document.getElementById('title').value, \
             document.querySelector('input[name=day_th]').checked];",
            json!([]),
        )
        .await;
    assert_eq!(kept, json!(["Patch night", true]));

    session.click("#activity-form > button[type=submit]").await;
    session.wait_for_title("Patch night").await;
    let page = session
        .wait_for_text("every 2 weeks on Monday and Thursday at 22:00 Europe/London")
        .await;
    assert!(!page.contains("FREQ="), "the rule is shown in words");
    let problems: Vec<_> = session
        .browser_log()
        .await
        .into_iter()
        .filter(|e| {
            e["level"] == "SEVERE"
                || e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("Content Security Policy"))
        })
        .collect();
    assert!(problems.is_empty(), "{problems:?}");
    session.close().await;

    let listed = env.ok(&["-o", "json", "activity", "list"]);
    assert!(
        listed.contains("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH"),
        "{listed}"
    );
}
