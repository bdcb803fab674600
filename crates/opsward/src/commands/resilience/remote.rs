//! Reporting a check or experiment to an opsward server over its API, as a host does that
//! has no access to the database: find the activity's open occurrence, then complete it.

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use opsward_resilience::health::Report;
use serde_json::Value;
use std::time::Duration;

/// Every request ends: a server that hangs must not hang the host's cron job.
const TIMEOUT: Duration = Duration::from_secs(30);

async fn checked(response: reqwest::Response, what: &str) -> Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let message = body["error"]["message"].as_str().unwrap_or("no details");
        bail!("{what}: the server answered {status}: {message}");
    }
    Ok(body)
}

/// Complete `activity`'s latest started, undone occurrence with `report`; the evidence id.
pub async fn record(
    server: &str,
    token: &str,
    activity: i64,
    report: &Report,
    file: Option<(String, Vec<u8>)>,
) -> Result<i64> {
    let base = server.trim_end_matches('/');
    let http = reqwest::Client::builder().timeout(TIMEOUT).build()?;
    let now = Utc::now();
    let today = now.date_naive();
    let (from, to) = (
        today - ChronoDuration::days(399),
        today + ChronoDuration::days(1),
    );
    let occurrences = checked(
        http.get(format!("{base}/api/v1/calendar"))
            .query(&[("from", from.to_string()), ("to", to.to_string())])
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("cannot reach {base}"))?,
        "reading the calendar",
    )
    .await?;
    let open = occurrences
        .as_array()
        .ok_or_else(|| anyhow!("the calendar answer is not a list"))?
        .iter()
        .filter(|o| o["activity_id"] == activity && o["evidence_id"].is_null())
        .filter_map(|o| o["starts_at"].as_str()?.parse::<DateTime<Utc>>().ok())
        .filter(|at| *at <= now)
        .max();
    let mut form = reqwest::multipart::Form::new()
        .text("result", report.verdict.as_str().to_string())
        .text("notes", report.evidence_notes());
    if let Some(at) = open {
        form = form.text("occurrence_at", at.to_rfc3339());
    }
    if let Some((name, bytes)) = file {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name)
                .mime_str("application/json")?,
        );
    }
    let evidence = checked(
        http.post(format!("{base}/api/v1/activities/{activity}/complete"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .with_context(|| format!("cannot reach {base}"))?,
        "recording the evidence",
    )
    .await?;
    evidence["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("the server answered without an evidence id"))
}
