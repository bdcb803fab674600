//! Chromium files a backlog item, triages it on the item page, sees its SLA clocks in
//! business hours, and moves it across the board, where htmx swaps the board in place.

use crate::{
    browser::{add_admin, Driver, Session},
    Env,
};

/// The markup of the board column of `state`, read from the page source so an htmx swap
/// between finding an element and reading it cannot make the read fail.
async fn column(session: &Session<'_>, state: &str) -> String {
    let source = session.source().await;
    source
        .split(&format!("id=\"column-{state}\""))
        .nth(1)
        .and_then(|c| c.split("</section>").next())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_triages_an_item_sees_the_sla_clock_and_the_board() {
    let env = Env::new(false).await;
    let password = "browser test password";
    add_admin(&env, password);
    let server = env.serve();
    let driver = Driver::start().await;
    let session = Session::new(&driver, &env.dir.path().join("chromium-profile")).await;
    session.resize(1280, 1600).await;

    session.go(&server.url("/backlog")).await;
    session.wait_for_title("Sign in").await;
    session.type_into("#username", "ops").await;
    session.type_into("#password", password).await;
    session.click("button[type=submit]").await;
    session.wait_for_title("Backlog").await;

    session.click("a[href='/backlog/new']").await;
    session.wait_for_title("New").await;
    session.click("#item-type option[value=incident]").await;
    session
        .fill("#title", "Badge readers offline in hall B")
        .await;
    session
        .fill(
            "#description",
            "Since **08:00**. <script>document.title='owned'</script>",
        )
        .await;
    session.click("#impact option:nth-child(1)").await;
    session.click("#urgency option:nth-child(2)").await;
    session.click("form.card button[type=submit]").await;
    session
        .wait_for_title("Badge readers offline in hall B")
        .await;
    assert!(
        !session.title().await.contains("owned"),
        "the script did not run"
    );
    assert_eq!(session.text("#description strong").await, "08:00");

    // The SLA clocks of a P2 item under the default policy (office hours, UTC).
    let sla = session.text("#sla").await;
    assert!(
        sla.contains("Time to own") && sla.contains("Time to resolve"),
        "{sla}"
    );
    assert!(
        sla.contains("4:00 h") && sla.contains("24:00 h"),
        "P2 targets: {sla}"
    );
    assert!(
        sla.contains("On track") || sla.contains("Near breach") || sla.contains("Breached"),
        "{sla}"
    );

    // Triage: move from new to triaged with the page's form.
    session.click("#next-state option[value=triaged]").await;
    session
        .click("form[action$='/state'] button[type=submit]")
        .await;
    session.wait_for_text("<dd>Triaged</dd>").await;
    assert!(session
        .text("table:not(#sla) tbody")
        .await
        .contains("changed state"));

    // The board shows it under triaged; moving it there swaps the board in place.
    session.go(&server.url("/backlog/board")).await;
    session.wait_for_title("Backlog board").await;
    assert!(column(&session, "triaged")
        .await
        .contains("Badge readers offline"));
    assert!(column(&session, "triaged").await.contains("SLA"));
    let url_before = session.current_url().await;
    session
        .click("#column-triaged select option[value=in_progress]")
        .await;
    session
        .click("#column-triaged form button[type=submit]")
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if column(&session, "in_progress")
            .await
            .contains("Badge readers offline")
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the card never moved");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!column(&session, "triaged")
        .await
        .contains("Badge readers offline"));
    assert_eq!(
        session.current_url().await,
        url_before,
        "htmx swapped the board in place"
    );

    // Save the list's filter under a name; the dropdown then offers and applies it.
    session.go(&server.url("/backlog?state=in_progress")).await;
    session.wait_for_title("Backlog").await;
    session.fill("#filter-name", "working").await;
    session.click("#save-filter button[type=submit]").await;
    session
        .wait_for_text(r#"<option value="working" selected="">working</option>"#)
        .await;
    assert!(session
        .text("#results")
        .await
        .contains("Badge readers offline"));

    // Bulk edit: tick the row, set the urgency, apply; the item's priority follows.
    session.click("input[name=item]").await;
    session.click("#bulk-urgency option[value='3']").await;
    session.click("#bulk button[type=submit]").await;
    session.wait_for_title("Backlog").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let shown = env.ok(&["-o", "json", "backlog", "show", "1"]);
        if shown.contains("\"urgency\": 3") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the bulk edit never applied: {shown}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    session.close().await;

    let shown = env.ok(&["-o", "json", "backlog", "show", "1"]);
    assert!(shown.contains("in_progress"), "{shown}");
}
