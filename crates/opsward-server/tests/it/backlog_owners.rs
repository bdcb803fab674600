//! Backlog owners in the UI (issue 20 item 9): team and assignee chosen by name on the new
//! and edit forms, shown on the item page and in the list, and filterable there.

use crate::{both_backends, client, TestApp};
use opsward_core::Role;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    owners_round_trip_through_the_forms,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("owner-op", Role::Operator).await;
        let http = client();
        let id = |v: serde_json::Value| v["id"].as_i64().unwrap();
        let platform = id(app
            .post_json(&token, "/api/v1/teams", &json!({"name": "Platform"}))
            .await);
        let network = id(app
            .post_json(&token, "/api/v1/teams", &json!({"name": "Network"}))
            .await);
        let ada = id(app
            .post_json(
                &token,
                "/api/v1/people",
                &json!({"name": "Ada Lovelace", "email": "ada@example.com"}),
            )
            .await);
        let page = |path: String| {
            let http = http.clone();
            let token = token.clone();
            let url = app.url(&path);
            async move {
                http.get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };

        let new_form = page("/backlog/new".into()).await;
        assert!(
            new_form.contains(&format!(r#"<option value="{platform}">Platform</option>"#)),
            "{new_form}"
        );
        assert!(
            new_form.contains(&format!(r#"<option value="{ada}">Ada Lovelace</option>"#)),
            "{new_form}"
        );

        let created = http
            .post(app.url("/backlog"))
            .bearer_auth(&token)
            .form(&[
                ("item_type", "problem".to_string()),
                ("title", "VPN drops every hour".into()),
                ("impact", "2".into()),
                ("urgency", "2".into()),
                ("team_id", platform.to_string()),
                ("assignee_person_id", ada.to_string()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::SEE_OTHER);
        let location = created.headers()["location"].to_str().unwrap().to_string();
        let item_id: i64 = location
            .trim_start_matches("/backlog/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let item = page(location).await;
        assert!(
            item.contains(r#"<dd id="owner-team">Platform</dd>"#),
            "{item}"
        );
        assert!(
            item.contains(r#"<dd id="owner-assignee">Ada Lovelace</dd>"#),
            "{item}"
        );
        let api = app
            .get_json(&token, &format!("/api/v1/backlog/items/{item_id}"))
            .await;
        let stored = if api.get("item").is_some() {
            &api["item"]
        } else {
            &api
        };
        assert_eq!(stored["team_id"], json!(platform));
        assert_eq!(stored["assignee_person_id"], json!(ada));

        // The edit form moves it to another team and unassigns it.
        let version = stored["version"].as_i64().unwrap();
        let edited = http
            .post(app.url(&format!("/backlog/{item_id}/edit")))
            .bearer_auth(&token)
            .form(&[
                ("title", "VPN drops every hour".to_string()),
                ("description", String::new()),
                ("item_type", "problem".into()),
                ("impact", "2".into()),
                ("urgency", "2".into()),
                ("tags", String::new()),
                ("version", version.to_string()),
                ("team_id", network.to_string()),
                ("assignee_person_id", String::new()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(edited.status(), StatusCode::SEE_OTHER);
        let item = page(format!("/backlog/{item_id}")).await;
        assert!(
            item.contains(r#"<dd id="owner-team">Network</dd>"#),
            "{item}"
        );
        assert!(
            item.contains(r#"<dd id="owner-assignee"><span class="muted">nobody</span></dd>"#),
            "{item}"
        );

        // The list names the owner and filters by team and by assignee.
        let list = page(format!("/backlog?team={network}")).await;
        assert!(
            list.contains("VPN drops every hour")
                && list.contains(r#"<td class="owner wide">Network</td>"#),
            "{list}"
        );
        let list = page(format!("/backlog?team={platform}")).await;
        assert!(!list.contains("VPN drops every hour"), "{list}");
        let list = page(format!("/backlog?assignee={ada}")).await;
        assert!(!list.contains("VPN drops every hour"), "{list}");
        app.stop().await;
    }
);
