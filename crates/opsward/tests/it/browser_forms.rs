//! Chromium and the UI's form rules (issue 20 items 4 and 5): deleting an asset goes through
//! a confirmation page that says what else goes, and reloading the page a new backlog item's
//! form led to does not file the item twice.

use crate::{
    browser::{add_admin, Driver, Session},
    Env,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_confirms_a_delete_and_a_refresh_never_files_twice() {
    let env = Env::new(false).await;
    let password = "browser forms password";
    add_admin(&env, password);
    env.ok(&[
        "asset",
        "add",
        "--name",
        "doomed-01",
        "--kind",
        "host",
        "--tag",
        "dmz",
        "--tag",
        "linux",
    ]);
    let server = env.serve();
    let driver = Driver::start().await;
    let session = Session::new(&driver, &env.dir.path().join("chromium-profile")).await;

    session.go(&server.url("/assets")).await;
    session.wait_for_title("Sign in").await;
    session.type_into("#username", "ops").await;
    session.type_into("#password", password).await;
    session.click("button[type=submit]").await;
    session.wait_for_title("Assets").await;

    // Delete asks first and says what else goes; the asset is still there until confirmed.
    session.go(&server.url("/assets/1")).await;
    session.wait_for_title("doomed-01").await;
    session
        .click("form[action$='/delete'] button[type=submit]")
        .await;
    let confirm = session.wait_for_text("Delete the asset doomed-01?").await;
    assert!(confirm.contains("also removes 2 tags"), "{confirm}");
    let listed = |env: &Env| {
        env.ok(&["-o", "csv", "asset", "list"])
            .matches("doomed-01")
            .count()
    };
    assert_eq!(listed(&env), 1, "nothing deleted unasked");
    session.click(".confirm-delete button.danger").await;
    session.wait_for_title("Assets").await;
    assert_eq!(listed(&env), 0, "deleted once confirmed");

    // File a backlog item, then reload the page the form led to.
    session.go(&server.url("/backlog/new")).await;
    session.wait_for_title("New backlog item").await;
    session
        .type_into("#title", "Refresh must not file this twice")
        .await;
    session.click("form.card button[type=submit]").await;
    session.wait_for_text("created.").await;
    let url = session.current_url().await;
    assert!(url.contains("/backlog/"), "{url}");
    session.refresh().await;
    session
        .wait_for_title("Refresh must not file this twice")
        .await;
    session.close().await;

    let items = env.ok(&["-o", "csv", "backlog", "list"]);
    assert_eq!(
        items.matches("Refresh must not file this twice").count(),
        1,
        "{items}"
    );
}
