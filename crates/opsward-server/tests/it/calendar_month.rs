//! The calendar at scale (issue 23): occurrences come from kept expansions, so an edited or
//! deleted activity must show its new occurrences at once, in the API and the month view;
//! the month view lists a few occurrences per day and counts the rest.

use crate::{both_backends, client, TestApp};
use opsward_core::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn api_starts(app: &TestApp, token: &str, activity: i64) -> Vec<String> {
    let all: Vec<Value> = client()
        .get(app.url("/api/v1/calendar?from=2026-03-01&to=2026-04-01"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    all.iter()
        .filter(|o| o["activity_id"] == activity)
        .map(|o| o["starts_local"].as_str().unwrap().to_string())
        .collect()
}

async fn month_page(app: &TestApp, token: &str) -> String {
    let r = client()
        .get(app.url("/calendar?view=month&date=2026-03-15"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

both_backends!(
    edited_and_deleted_activities_change_at_once,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("planner", Role::Operator).await;
        let daily = json!({"title": "Kept daily check", "practice": "general", "rrule": "FREQ=DAILY",
            "starts_local": "2026-01-05T09:00:00", "timezone": "Europe/Berlin"});
        let id = app.post_json(&token, "/api/v1/activities", &daily).await["id"]
            .as_i64()
            .unwrap();
        let link = format!("href=\"/calendar/activities/{id}\"");
        assert_eq!(api_starts(&app, &token, id).await.len(), 31);
        assert_eq!(month_page(&app, &token).await.matches(&link).count(), 42);

        // Weekly on Mondays from now on: March 2026 has five, the grid six weeks.
        let mut weekly = daily.clone();
        weekly["rrule"] = json!("FREQ=WEEKLY;BYDAY=MO");
        let r = client()
            .put(app.url(&format!("/api/v1/activities/{id}")))
            .bearer_auth(&token)
            .json(&weekly)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            api_starts(&app, &token, id).await,
            [
                "2026-03-02 09:00",
                "2026-03-09 09:00",
                "2026-03-16 09:00",
                "2026-03-23 09:00",
                "2026-03-30 09:00"
            ]
        );
        assert_eq!(month_page(&app, &token).await.matches(&link).count(), 6);

        // Another zone moves the local times with it.
        let mut utc = weekly.clone();
        utc["timezone"] = json!("America/New_York");
        utc["starts_local"] = json!("2026-01-05T07:30:00");
        let r = client()
            .put(app.url(&format!("/api/v1/activities/{id}")))
            .bearer_auth(&token)
            .json(&utc)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(api_starts(&app, &token, id).await[0], "2026-03-02 07:30");

        let r = client()
            .delete(app.url(&format!("/api/v1/activities/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        assert!(api_starts(&app, &token, id).await.is_empty());
        assert_eq!(month_page(&app, &token).await.matches(&link).count(), 0);
    }
);

both_backends!(
    month_view_counts_what_it_does_not_list,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("planner", Role::Operator).await;
        for i in 0..10 {
            let a = json!({"title": format!("Busy day {i}"), "practice": "general",
            "starts_local": format!("2026-03-10T{:02}:00:00", 8 + i), "timezone": "UTC"});
            app.post_json(&token, "/api/v1/activities", &a).await;
        }
        let page = month_page(&app, &token).await;
        // The first six of the day in time order, then the rest counted with a link to the
        // agenda from that day, where every one is listed.
        assert_eq!(page.matches("Busy day ").count(), 6, "{page}");
        assert!(page.contains("08:00 Busy day 0"));
        assert!(page.contains("13:00 Busy day 5"));
        assert!(!page.contains("Busy day 6"));
        let more = page.find("+4 more</a>").expect("a +4 more link");
        let href = &page[page[..more].rfind("<a href=").unwrap()..more];
        assert!(
            href.contains("view=agenda") && href.contains("date=2026-03-10"),
            "{href}"
        );
        // 10 March 2026 is past when this runs: none has evidence, so all ten are overdue.
        assert!(page.contains("(of 10: 10 overdue)"), "{page}");
        let agenda = client()
            .get(app.url("/calendar?view=agenda&date=2026-03-10"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(agenda.matches("Busy day ").count(), 10);
    }
);
