//! Chromium scores a supplier review twice through the supplier page's form and sees the
//! scorecard trend chart, drawn on the server, show both weighted totals.

use crate::{
    browser::{add_admin, Driver, Session},
    Env,
};
use serde_json::Value;

async fn score_review(session: &Session<'_>, scores: [&str; 5], outcome: &str, action: &str) {
    for (criterion, score) in ["quality", "delivery", "responsiveness", "cost", "security"]
        .iter()
        .zip(scores)
    {
        session
            .click(&format!("#score_{criterion} option[value='{score}']"))
            .await;
    }
    session
        .click(&format!("#outcome option[value={outcome}]"))
        .await;
    session.fill("#attendees", "Ann (Acme), Bob").await;
    session.fill("#action", action).await;
    session.click("#review-form button[type=submit]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_scores_a_supplier_twice_and_sees_the_trend() {
    let env = Env::new(false).await;
    let password = "browser test password";
    add_admin(&env, password);
    let supplier: Value = serde_json::from_str(&env.ok(&[
        "-o",
        "json",
        "supplier",
        "add",
        "--name",
        "Acme Hosting",
        "--criticality",
        "critical",
    ]))
    .unwrap();
    let id = supplier["id"].as_i64().unwrap();
    let server = env.serve();
    let driver = Driver::start().await;
    let session = Session::new(&driver, &env.dir.path().join("chromium-profile")).await;

    session.go(&server.url("/suppliers")).await;
    session.wait_for_title("Sign in").await;
    session.type_into("#username", "ops").await;
    session.type_into("#password", password).await;
    session.click("button[type=submit]").await;
    session.wait_for_title("Suppliers").await;
    assert!(session.source().await.contains(">Acme Hosting</a>"));
    // Desktop width: the review form sits below wide tables.
    session.resize(1280, 1800).await;
    session.go(&server.url(&format!("/suppliers/{id}"))).await;
    session.wait_for_title("Acme Hosting").await;
    assert!(session.source().await.contains("No reviews yet."));

    // (5*25 + 4*20 + 4*20 + 3*15 + 5*20) / 100 = 4.30
    score_review(
        &session,
        ["5", "4", "4", "3", "5"],
        "satisfactory",
        "Share the roadmap",
    )
    .await;
    session.wait_for_text("<strong>4.30</strong>").await;
    // (2*25 + 3*20 + 2*20 + 3*15 + 2*20) / 100 = 2.35
    score_review(
        &session,
        ["2", "3", "2", "3", "2"],
        "improvement_required",
        "Escalation call",
    )
    .await;
    let page = session.wait_for_text("<strong>2.35</strong>").await;

    let chart = session.text("#scorecard-trend").await;
    assert!(chart.contains("4.30") && chart.contains("2.35"), "{chart}");
    let svg_start = page
        .find("<figure class=\"chart\" id=\"scorecard-trend\">")
        .expect("the trend chart");
    let svg = &page[svg_start..page[svg_start..].find("</figure>").unwrap() + svg_start];
    assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
    assert!(
        svg.contains("4.30, ") && svg.contains(" 2.35"),
        "the description states both: {svg}"
    );
    assert!(page.contains("Escalation call") && page.contains("Share the roadmap"));

    let artifacts =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = session.screenshot().await;
    assert!(shot.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(artifacts.join("supplier-scorecard.png"), shot).unwrap();
    session.close().await;

    // The CLI sees the same two reviews, and both are evidence.
    let reviews = env.ok(&[
        "-o",
        "csv",
        "supplier",
        "review",
        "list",
        "--supplier",
        "Acme Hosting",
    ]);
    assert!(
        reviews.contains(",satisfactory,4.3,1") && reviews.contains(",improvement_required,2.35,1"),
        "{reviews}"
    );
    let evidence = env.ok(&["-o", "csv", "evidence", "list", "--practice", "suppliers"]);
    assert_eq!(evidence.lines().count(), 3, "{evidence}");
}
