//! The API's shapes, defaults and errors, as Toxiproxy answers them.

use crate::support::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn proxies_and_toxics_round_trip_with_toxiproxy_shapes() {
    let api = Api::start().await;
    let (status, version) = api.call(Method::GET, "/version", None).await;
    assert_eq!(status, 200);
    assert!(version["version"].as_str().unwrap().starts_with("2."));
    let upstream = echo_server().await;
    api.proxy_to("db", upstream).await;
    let (status, body) = api
        .call(
            Method::POST,
            "/proxies",
            Some(json!({"name": "db", "upstream": upstream.to_string()})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["status"], 409);
    assert!(body["error"].is_string());

    let (_, list) = api.call(Method::GET, "/proxies", None).await;
    assert_eq!(list["db"]["upstream"], upstream.to_string());
    assert_eq!(list["db"]["enabled"], true);
    assert_eq!(list["db"]["toxics"], json!([]));

    api.toxic(
        "db",
        json!({"type": "latency", "attributes": {"latency": 10}}),
    )
    .await;
    let (status, _) = api
        .call(
            Method::POST,
            "/proxies/db/toxics",
            Some(json!({"type": "latency"})),
        )
        .await;
    assert_eq!(status, 409, "latency_downstream exists");
    let (_, toxic) = api
        .call(Method::GET, "/proxies/db/toxics/latency_downstream", None)
        .await;
    assert_eq!(
        toxic,
        json!({"name": "latency_downstream", "type": "latency", "stream": "downstream", "toxicity": 1.0, "attributes": {"latency": 10, "jitter": 0}})
    );
    let (status, toxic) = api
        .call(
            Method::POST,
            "/proxies/db/toxics/latency_downstream",
            Some(json!({"attributes": {"jitter": 5}})),
        )
        .await;
    assert_eq!(
        (status, &toxic["attributes"]),
        (200, &json!({"latency": 10, "jitter": 5}))
    );

    for (method, path, body, want) in [
        (Method::GET, "/proxies/nope", None, 404),
        (Method::GET, "/proxies/db/toxics/nope", None, 404),
        (
            Method::POST,
            "/proxies/db/toxics",
            Some(json!({"type": "gremlins"})),
            400,
        ),
        (
            Method::POST,
            "/proxies/db/toxics",
            Some(json!({"type": "latency", "name": "x", "toxicity": 2})),
            400,
        ),
        (
            Method::POST,
            "/proxies",
            Some(json!({"name": "bad", "upstream": "no-port"})),
            400,
        ),
        (
            Method::POST,
            "/proxies",
            Some(
                json!({"name": "taken", "upstream": upstream.to_string(), "listen": upstream.to_string()}),
            ),
            500,
        ),
    ] {
        let (status, body) = api.call(method.clone(), path, body).await;
        assert_eq!(status, want, "{method} {path}: {body}");
    }
    let raw = api
        .http
        .post(format!("{}/proxies", api.base))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);

    let (status, _) = api.call(Method::POST, "/reset", None).await;
    assert_eq!(status, 204);
    let (_, list) = api.call(Method::GET, "/proxies", None).await;
    assert_eq!(list["db"]["toxics"], json!([]), "reset removes toxics");

    let (status, body) = api
        .call(Method::POST, "/populate", Some(json!([{"name": "db", "upstream": upstream.to_string()}, {"name": "cache", "upstream": upstream.to_string()}])))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["proxies"].as_array().unwrap().len(), 2);
    let (status, _) = api.call(Method::DELETE, "/proxies/cache", None).await;
    assert_eq!(status, 204);
    assert_eq!(api.proxy.list().len(), 1);
}
