//! The calendar over HTTP: activities, occurrences, evidence with files, exports, and iCal
//! feeds checked by a real parser (Python's `icalendar`, expanding rules with `dateutil`).

use crate::{both_backends, client, TestApp};
use opsward_core::Role;
use opsward_testkit::python;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::{collections::BTreeSet, process::Command};

/// Parse a feed with Python's icalendar and expand every event in [from, to) with dateutil:
/// returns (UID, start in UTC) pairs and the SUMMARY texts.
fn parse_with_python(ics: &str, from: &str, to: &str) -> (BTreeSet<(String, String)>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.ics");
    std::fs::write(&path, ics).unwrap();
    let script = r#"
import sys, json, datetime
from icalendar import Calendar
from dateutil.rrule import rrulestr
cal = Calendar.from_ical(open(sys.argv[1], 'rb').read())
start = datetime.datetime.fromisoformat(sys.argv[2])
end = datetime.datetime.fromisoformat(sys.argv[3])
occ, names = [], []
for ev in cal.walk('VEVENT'):
    dtstart = ev.decoded('DTSTART')
    assert dtstart.tzinfo is not None, 'DTSTART must carry a time zone'
    names.append(str(ev['SUMMARY']))
    if 'RRULE' in ev:
        times = rrulestr(ev['RRULE'].to_ical().decode(), dtstart=dtstart).between(start, end, inc=True)
    else:
        times = [dtstart]
    for t in times:
        u = t.astimezone(datetime.timezone.utc)
        if start <= u < end:
            occ.append([str(ev['UID']), u.strftime('%Y-%m-%dT%H:%M:%SZ')])
print(json.dumps({'occurrences': occ, 'names': names}))
"#;
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(&path)
        .arg(from)
        .arg(to)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); run .ci/run to create .venv with icalendar",
                python().display()
            )
        });
    assert!(
        out.status.success(),
        "Python icalendar failed: {}\n{ics}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let occ = v["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let names = v["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    (occ, names)
}

/// Open a ZIP with Python, verify every file listed in SHA256SUMS and that every file
/// (evidence.csv included, issue 19) is listed, return the sorted names.
fn check_zip_with_python(bytes: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evidence.zip");
    std::fs::write(&path, bytes).unwrap();
    let script = r#"
import sys, zipfile, hashlib, json
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None, 'corrupt member'
listed = set()
for line in z.read('SHA256SUMS').decode().splitlines():
    digest, name = line.split('  ', 1)
    assert hashlib.sha256(z.read(name)).hexdigest() == digest, name
    listed.add(name)
unlisted = [n for n in z.namelist() if n != 'SHA256SUMS' and n not in listed and not n.endswith('.MISSING.txt')]
assert not unlisted, ('not in SHA256SUMS', unlisted)
print(json.dumps(sorted(z.namelist())))
"#;
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "Python zipfile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

both_backends!(
    activities_evidence_and_ical_round_trip,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("planner", Role::Operator).await;
        let http = client();
        let post = |path: &str, body: Value| {
            http.post(app.url(path))
                .bearer_auth(&token)
                .json(&body)
                .send()
        };

        let activities = [
            json!({"title": "Patch window; ring 1, Berlin", "practice": "patches", "rrule": "FREQ=WEEKLY;BYDAY=MO", "starts_local": "2026-03-02T09:00:00", "timezone": "Europe/Berlin", "duration_minutes": 120}),
            json!({"title": "Restore test", "practice": "resilience", "rrule": "FREQ=MONTHLY;BYMONTHDAY=-1", "starts_local": "2026-01-31T22:30:00", "timezone": "UTC"}),
            json!({"title": "Failover drill", "practice": "resilience", "rrule": "FREQ=DAILY;INTERVAL=10;COUNT=4", "starts_local": "2026-03-05T23:30:00", "timezone": "America/New_York"}),
            json!({"title": "Contract notice", "practice": "suppliers", "starts_local": "2026-04-15T12:00:00", "timezone": "Asia/Kolkata"}),
        ];
        let mut ids = Vec::new();
        for a in &activities {
            let r = post("/api/v1/activities", a.clone()).await.unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            ids.push(r.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
        }
        let bad = post("/api/v1/activities", json!({"title": "x", "practice": "general", "rrule": "FREQ=SOMETIMES", "starts_local": "2026-01-01T00:00:00"})).await.unwrap();
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let (from, to) = ("2026-03-01", "2026-05-01");
        let occurrences: Vec<Value> = http
            .get(app.url(&format!("/api/v1/calendar?from={from}&to={to}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ours: BTreeSet<(String, String)> = occurrences
            .iter()
            .map(|o| {
                (
                    format!("activity-{}@opsward", o["activity_id"]),
                    o["starts_at"].as_str().unwrap().replace("+00:00", "Z"),
                )
            })
            .collect();
        assert!(
            ours.contains(&(
                format!("activity-{}@opsward", ids[0]),
                "2026-03-30T07:00:00Z".to_string()
            )),
            "CEST Monday: {ours:?}"
        );

        // Complete one occurrence with two files, through multipart.
        let first = occurrences
            .iter()
            .find(|o| o["activity_id"] == ids[0])
            .unwrap();
        let form = reqwest::multipart::Form::new()
            .text(
                "occurrence_at",
                first["starts_at"].as_str().unwrap().to_string(),
            )
            .text("result", "partial")
            .text("notes", "two hosts deferred")
            .text("links", "https://tickets.example.com/7\n")
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"host-a patched\n".to_vec())
                    .file_name("../../hosts.log"),
            )
            .part(
                "file",
                reqwest::multipart::Part::bytes(vec![0u8, 159, 146, 150]).file_name("screen.png"),
            );
        let done = http
            .post(app.url(&format!("/api/v1/activities/{}/complete", ids[0])))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::CREATED);
        let evidence: Value = done.json().await.unwrap();
        assert_eq!(evidence["attachments"][0]["filename"], "hosts.log");
        let file = http
            .get(app.url(&format!(
                "/api/v1/attachments/{}",
                evidence["attachments"][0]["id"]
            )))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            file.headers()["content-disposition"],
            "attachment; filename=\"hosts.log\""
        );
        assert_eq!(file.headers()["content-type"], "application/octet-stream");
        assert_eq!(file.bytes().await.unwrap().as_ref(), b"host-a patched\n");

        let after: Vec<Value> = http
            .get(app.url(&format!("/api/v1/calendar?from={from}&to={to}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let completed = after
            .iter()
            .find(|o| o["starts_at"] == first["starts_at"] && o["activity_id"] == ids[0])
            .unwrap();
        assert_eq!(
            (completed["state"].as_str(), completed["result"].as_str()),
            (Some("done"), Some("partial"))
        );

        let csv = http
            .get(app.url("/api/v1/evidence/export.csv?practice=patches"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(csv.starts_with("id,practice,activity_id,title,"), "{csv}");
        assert!(
            csv.contains("two hosts deferred")
                && csv.contains(evidence["attachments"][0]["sha256"].as_str().unwrap()),
            "{csv}"
        );
        // The ZIP for auditors, opened and checked by Python's zipfile and hashlib.
        let zip = http
            .get(app.url("/api/v1/evidence/export.zip?practice=patches"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(zip.headers()["content-type"], "application/zip");
        let checked = check_zip_with_python(&zip.bytes().await.unwrap());
        assert_eq!(
            checked,
            [
                "SHA256SUMS",
                "evidence.csv",
                &format!("files/{}/hosts.log", evidence["id"]),
                &format!("files/{}/screen.png", evidence["id"])
            ]
        );
        let report = http
            .get(app.url(&format!("/evidence/report?from={from}&to={to}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            report.contains(&format!(
                "1 of {} scheduled occurrences in the period have evidence",
                ours.len()
            )),
            "{report}"
        );

        // The iCal feed expands, in an independent implementation, to exactly our occurrences.
        let feed: Value = post("/api/v1/ical-feeds", json!({"name": "Ops, all"}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let path = feed["path"].as_str().unwrap().to_string();
        let ics = http.get(app.url(&path)).send().await.unwrap();
        assert_eq!(
            ics.headers()["content-type"],
            "text/calendar; charset=utf-8"
        );
        let ics = ics.text().await.unwrap();
        let (theirs, names) = parse_with_python(
            &ics,
            &format!("{from}T00:00:00+00:00"),
            &format!("{to}T00:00:00+00:00"),
        );
        assert_eq!(
            theirs, ours,
            "occurrences differ between opsward and Python dateutil\n{ics}"
        );
        assert!(
            names.contains(&"Patch window; ring 1, Berlin".to_string()),
            "{names:?}"
        );

        let id = feed["feed"]["id"].as_i64().unwrap();
        let revoked = http
            .delete(app.url(&format!("/api/v1/ical-feeds/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), StatusCode::OK);
        assert_eq!(
            http.get(app.url(&path)).send().await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
        app.stop().await;
    }
);

both_backends!(
    attachments_have_limits_and_checksums,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("ops", Role::Operator).await;
        let http = client();
        let a = app.post_json(&token, "/api/v1/activities", &json!({"title": "Backup check", "practice": "resilience", "starts_local": "2026-01-01T10:00:00"})).await;
        let id = a["id"].as_i64().unwrap();
        let big = vec![b'x'; (app.state.config.max_attachment_bytes + 1) as usize];
        let form = reqwest::multipart::Form::new()
            .text("result", "passed")
            .part(
                "file",
                reqwest::multipart::Part::bytes(big).file_name("huge.bin"),
            );
        let r = http
            .post(app.url(&format!("/api/v1/activities/{id}/complete")))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        // Too large is 413 (issue 19), with the limit named.
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(r.text().await.unwrap().contains("limit"));
        let missing_result = reqwest::multipart::Form::new().text("notes", "n");
        let r = http
            .post(app.url(&format!("/api/v1/activities/{id}/complete")))
            .bearer_auth(&token)
            .multipart(missing_result)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // Nothing half-recorded by the refused requests.
        let evidence: Vec<Value> = http
            .get(app.url("/api/v1/evidence"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(evidence.is_empty());
        app.stop().await;
    }
);
