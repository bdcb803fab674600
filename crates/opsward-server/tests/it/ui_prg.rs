//! Post/Redirect/Get for the UI's forms (issue 20 item 5): a form that succeeds answers 303
//! to the record's page, whose next load shows what happened once; a refresh shows the page,
//! never the form again.

use crate::{auth::signed_in, both_backends, TestApp};
use opsward_core::Role;
use opsward_testkit::csrf_token_in;
use reqwest::StatusCode;

/// A form's address, its fields, where it must send the browser, what the next page says.
type FormCase = (
    String,
    Vec<(&'static str, String)>,
    &'static str,
    &'static str,
);

both_backends!(
    every_changed_form_redirects_and_flashes_once,
    |app: TestApp| async move {
        let http = signed_in(&app, "prg-admin", Role::Admin).await;
        let page = http
            .get(app.url("/assets"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = csrf_token_in(&page);

        let activity = http
            .post(app.url("/calendar/activities"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("title", "Restore drill"),
                ("practice", "resilience"),
                ("starts_local", "2026-01-05T10:00"),
                ("timezone", "UTC"),
                ("rrule", ""),
                ("duration_minutes", "60"),
                ("active", "true"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            activity.status(),
            StatusCode::SEE_OTHER,
            "{:?}",
            activity.text().await
        );
        let activity_path = activity.headers()["location"].to_str().unwrap().to_string();

        // (form address, fields, where it must send the browser, what the next page says)
        let forms: Vec<FormCase> = vec![
            (
                "/backlog".into(),
                vec![
                    ("item_type", "incident".into()),
                    ("title", "Printer queue stuck".into()),
                    ("impact", "2".into()),
                    ("urgency", "1".into()),
                ],
                "/backlog/",
                "created.",
            ),
            (
                "/assets/import".into(),
                vec![("csv", "name,kind\nprg-host,host\n".into())],
                "/assets",
                "Import: 1 created, 0 updated, 0 unchanged.",
            ),
            (
                "/admin/users".into(),
                vec![
                    ("username", "newcomer".into()),
                    ("role", "viewer".into()),
                    ("password", "a long enough password".into()),
                ],
                "/admin/users",
                "User newcomer added.",
            ),
            (
                "/admin/notifications/snooze".into(),
                vec![("dedupe_key", "cert:1".into())],
                "/admin/notifications",
                "Snoozed for 24 hours",
            ),
            (
                "/customers/settings".into(),
                vec![
                    ("base_url", "http://127.0.0.1:8080".into()),
                    ("csat_delay_minutes", "60".into()),
                    ("sampling_percent", "100".into()),
                    ("throttle_days", "30".into()),
                    ("link_valid_days", "14".into()),
                    ("nps_interval_days", "0".into()),
                    ("sampling_seed", "prg".into()),
                ],
                "/customers/settings",
                "Survey settings saved.",
            ),
            (
                "/customers/surveys/run".into(),
                vec![],
                "/customers",
                "Surveys: 0 sent",
            ),
        ];
        for (path, mut fields, goes_to, says) in forms {
            fields.push(("csrf_token", csrf.clone()));
            let r = http
                .post(app.url(&path))
                .form(&fields)
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                StatusCode::SEE_OTHER,
                "{path}: {:?}",
                r.text().await
            );
            let location = r.headers()["location"].to_str().unwrap().to_string();
            assert!(location.starts_with(goes_to), "{path} went to {location}");
            let shown = http
                .get(app.url(&location))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(shown.contains(says), "{path}: {shown}");
            // A refresh is a GET of the same page: the message was shown once.
            let again = http
                .get(app.url(&location))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(!again.contains(says), "{path} flashed twice");
        }

        // The evidence form (multipart, the CSRF token in a header).
        let form = reqwest::multipart::Form::new()
            .text("occurrence_at", "2026-01-05T10:00:00+00:00")
            .text("result", "passed")
            .text("notes", "restored");
        let r = http
            .post(app.url(&format!("{activity_path}/complete")))
            .header("x-csrf-token", &csrf)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{:?}", r.text().await);
        assert_eq!(r.headers()["location"], activity_path.as_str());
        let shown = http
            .get(app.url(&activity_path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(shown.contains("recorded (passed, 0 file(s))"), "{shown}");
        app.stop().await;
    }
);
