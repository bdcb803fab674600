//! Toxiproxy's HTTP API over a [`FaultProxy`]. Errors are Toxiproxy's `{"error", "status"}`.

use super::{
    toxics::{ToxicInput, ToxicPatch},
    FaultError, FaultProxy, ProxyInput, ProxyView, TOXIPROXY_API_VERSION,
};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

impl IntoResponse for FaultError {
    fn into_response(self) -> Response {
        let status = match &self {
            FaultError::ProxyNotFound | FaultError::ToxicNotFound => StatusCode::NOT_FOUND,
            FaultError::ProxyExists | FaultError::ToxicExists => StatusCode::CONFLICT,
            FaultError::BadRequest(_) | FaultError::Toxic(_) => StatusCode::BAD_REQUEST,
            FaultError::Listen { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (
            status,
            Json(json!({"error": self.to_string(), "status": status.as_u16()})),
        )
            .into_response()
    }
}

type Result<T> = std::result::Result<T, FaultError>;

/// Bodies are parsed by hand so that any malformed body is Toxiproxy's 400, whatever its
/// content type (clients do not always send one).
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| FaultError::BadRequest(format!("bad request body: {e}")))
}

fn proxy_json(p: &ProxyView) -> Value {
    json!({
        "name": p.name,
        "listen": p.listen,
        "upstream": p.upstream,
        "enabled": p.enabled,
        "toxics": p.toxics.iter().map(|t| t.to_json()).collect::<Vec<_>>(),
    })
}

async fn version() -> Response {
    (
        [("content-type", "application/json")],
        format!("{{\"version\": \"{TOXIPROXY_API_VERSION}\"}}\n"),
    )
        .into_response()
}

async fn list(State(fp): State<FaultProxy>) -> Json<Map<String, Value>> {
    Json(
        fp.list()
            .iter()
            .map(|p| (p.name.clone(), proxy_json(p)))
            .collect(),
    )
}

async fn create(State(fp): State<FaultProxy>, bytes: Bytes) -> Result<(StatusCode, Json<Value>)> {
    let input: ProxyInput = body(&bytes)?;
    let view = fp.create(input).await?;
    Ok((StatusCode::CREATED, Json(proxy_json(&view))))
}

async fn populate(State(fp): State<FaultProxy>, bytes: Bytes) -> Result<(StatusCode, Json<Value>)> {
    // Toxiproxy takes a bare list, or `{"proxies": [...]}`.
    let value: Value = body(&bytes)?;
    let list = match value {
        Value::Object(mut o) => o.remove("proxies").unwrap_or(Value::Null),
        other => other,
    };
    let inputs: Vec<ProxyInput> = serde_json::from_value(list)
        .map_err(|e| FaultError::BadRequest(format!("bad proxy list: {e}")))?;
    let views = fp.populate(inputs).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"proxies": views.iter().map(proxy_json).collect::<Vec<_>>()})),
    ))
}

async fn reset(State(fp): State<FaultProxy>) -> Result<StatusCode> {
    fp.reset().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn show(State(fp): State<FaultProxy>, Path(name): Path<String>) -> Result<Json<Value>> {
    Ok(Json(proxy_json(&fp.get(&name)?.view())))
}

#[derive(serde::Deserialize, Default)]
struct ProxyPatch {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    listen: Option<String>,
    #[serde(default)]
    upstream: Option<String>,
}

async fn update(
    State(fp): State<FaultProxy>,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>> {
    let patch: ProxyPatch = body(&bytes)?;
    Ok(Json(proxy_json(
        &fp.update(&name, patch.enabled, patch.listen, patch.upstream)
            .await?,
    )))
}

async fn delete(State(fp): State<FaultProxy>, Path(name): Path<String>) -> Result<StatusCode> {
    fp.delete(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn toxics(
    State(fp): State<FaultProxy>,
    Path(name): Path<String>,
) -> Result<Json<Vec<Value>>> {
    Ok(Json(
        fp.get(&name)?
            .toxics()
            .iter()
            .map(|t| t.to_json())
            .collect(),
    ))
}

async fn add_toxic(
    State(fp): State<FaultProxy>,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>> {
    let input: ToxicInput = body(&bytes)?;
    Ok(Json(fp.add_toxic(&name, input)?.to_json()))
}

async fn show_toxic(
    State(fp): State<FaultProxy>,
    Path((name, toxic)): Path<(String, String)>,
) -> Result<Json<Value>> {
    Ok(Json(fp.toxic(&name, &toxic)?.to_json()))
}

async fn update_toxic(
    State(fp): State<FaultProxy>,
    Path((name, toxic)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Json<Value>> {
    let patch: ToxicPatch = body(&bytes)?;
    Ok(Json(fp.update_toxic(&name, &toxic, patch)?.to_json()))
}

async fn delete_toxic(
    State(fp): State<FaultProxy>,
    Path((name, toxic)): Path<(String, String)>,
) -> Result<StatusCode> {
    fp.remove_toxic(&name, &toxic)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The HTTP API. Updates accept POST (Toxiproxy 2) and PATCH (newer clients).
pub fn router(fp: FaultProxy) -> Router {
    Router::new()
        .route("/version", get(version))
        .route("/proxies", get(list).post(create))
        .route("/populate", post(populate))
        .route("/reset", post(reset))
        .route(
            "/proxies/{name}",
            get(show).post(update).patch(update).delete(delete),
        )
        .route("/proxies/{name}/toxics", get(toxics).post(add_toxic))
        .route(
            "/proxies/{name}/toxics/{toxic}",
            get(show_toxic)
                .post(update_toxic)
                .patch(update_toxic)
                .delete(delete_toxic),
        )
        .with_state(fp)
}
