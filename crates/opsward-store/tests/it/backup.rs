//! Export and import of every table (the database half of backup and restore), on both
//! backends and across them.

use super::{actor, asset};
use opsward_core::job::NewJob;
use opsward_store::{
    backup::{self, TransferError},
    Store, StoreSettings,
};
use opsward_testkit::{fresh_postgres_schema, run_sql_script, store_test, TestDb};
use std::{collections::BTreeMap, path::Path, sync::Arc};

/// Rows of every kind of value: through the store, and raw SQL for the tables the store
/// crate has no operations for (reals, dates, bytes, booleans, JSON, odd text).
async fn fill(store: &Arc<dyn Store>, url: &str) {
    let team = store
        .create_team(
            &actor(),
            &opsward_core::people::TeamInput {
                name: "Platform \"core\" ✓".into(),
                email: Some("platform@example.com".into()),
            },
        )
        .await
        .unwrap();
    for name in ["db-1", "Web-2", "web-10", "ämter"] {
        let mut input = asset(name);
        input.owner_team_id = Some(team.id);
        store.create_asset(&actor(), &input).await.unwrap();
    }
    let gone = store.create_asset(&actor(), &asset("gone")).await.unwrap();
    store.delete_asset(&actor(), gone.id).await.unwrap();
    store
        .enqueue_job(&NewJob {
            kind: "test".into(),
            payload: serde_json::json!({"z": [1, 2.5, null], "a": {"y": true, "b": "x"}}),
            run_at: chrono::Utc::now(),
            max_attempts: 3,
            dedupe_key: Some("once".into()),
        })
        .await
        .unwrap();
    let bytes = if url.starts_with("sqlite:") {
        "X'00ff10'"
    } else {
        "'\\x00ff10'::bytea"
    };
    run_sql_script(
        url,
        &format!(
            "INSERT INTO vuln_epss (cve, score, percentile) VALUES ('CVE-2026-1', 0.1, 1), ('CVE-2026-2', 0.000123, 0.5);
             INSERT INTO vuln_kev (cve, vendor, product, name, date_added, due_date)
                 VALUES ('CVE-2026-1', 'V', 'P', 'tab\there, newline\nthere', '2026-01-31', '2026-02-28');
             INSERT INTO certificates (fingerprint_sha256, subject, issuer, serial, san_dns, san_ip,
                 names_key, not_before, not_after, key_type, signature_algorithm, is_ca, self_signed,
                 der, first_seen_at, last_seen_at)
             VALUES ('ab', 'CN=x', 'CN=y', '01', '[\"b.example\", \"a.example\"]', '[]', 'x',
                 '2026-01-01T00:00:00Z', '2027-01-01T12:30:00.123456+00:00', 'rsa', 'sha256', TRUE,
                 FALSE, {bytes}, '2026-01-02T03:04:05.5+00:00', '2026-01-02T03:04:05+00:00');"
        ),
    )
    .await;
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

async fn export(store: &Arc<dyn Store>, dir: &Path) -> backup::Export {
    backup::export(&store.database(), dir, &|_| {})
        .await
        .unwrap()
}

/// Restore `dir` (exported at `version` with `tables`) into the new database at `url`.
async fn restore(url: &str, dir: &Path, export: &backup::Export) -> Arc<dyn Store> {
    let settings = StoreSettings::new(url);
    let db = backup::open_target(&settings, export.schema_version)
        .await
        .unwrap();
    backup::check_empty(&db).await.unwrap();
    let counts = backup::import(&db, dir, &export.tables, &export.last_ids, &|_| {})
        .await
        .unwrap();
    assert_eq!(counts, export.tables);
    opsward_store::connect(&settings).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_to_sqlite_gives_equal_exports() {
    let source = TestDb::sqlite().await;
    fill(&source.store, &source.url).await;
    let first = tempfile::tempdir().unwrap();
    let exported = export(&source.store, first.path()).await;
    assert_eq!(exported.schema_version, backup::latest_schema_version());

    let pg_url = fresh_postgres_schema().await;
    let pg = restore(&pg_url, first.path(), &exported).await;
    let second = tempfile::tempdir().unwrap();
    let again = export(&pg, second.path()).await;
    assert_eq!(again.tables, exported.tables);
    assert_eq!(again.last_ids["assets"], exported.last_ids["assets"]);

    let back_dir = tempfile::tempdir().unwrap();
    let back_url = format!("sqlite:{}", back_dir.path().join("back.db").display());
    let back = restore(&back_url, second.path(), &again).await;
    let third = tempfile::tempdir().unwrap();
    export(&back, third.path()).await;

    let (a, b, c) = (
        files(first.path()),
        files(second.path()),
        files(third.path()),
    );
    assert!(a.len() > 50, "every table has a file");
    for (name, content) in &a {
        assert_eq!(Some(content), b.get(name), "{name} after PostgreSQL");
        assert_eq!(Some(content), c.get(name), "{name} after SQLite again");
    }
    assert_eq!(a.len(), c.len());

    // The restored databases work: ids continue after the restored ones (PostgreSQL's
    // identity sequences were moved), names and the audit log are there.
    for store in [&pg, &back] {
        let restored = store.get_asset_by_name("ämter").await.unwrap();
        let new = store.create_asset(&actor(), &asset("new")).await.unwrap();
        assert!(
            new.id > restored.id + 1,
            "a fresh id past the deleted asset's"
        );
        let ours = backup::tables(&store.database()).await.unwrap();
        assert!(ours.iter().any(|t| t.name == "audit_log"));
    }
}

store_test!(only_an_empty_database_takes_a_restore, |store: Arc<
    dyn Store,
>| async move {
    let db = store.database();
    backup::check_empty(&db)
        .await
        .expect("rows only from migrations");
    store.create_asset(&actor(), &asset("a")).await.unwrap();
    let refused = backup::check_empty(&db).await.unwrap_err();
    assert!(
        matches!(&refused, TransferError::Refused(m) if m.contains("assets") && m.contains("audit_log")),
        "{refused}"
    );
});

/// Both backends see the same tables with the same columns of the same kinds; a column
/// missing from `column_kinds.txt` shows here with the line to add.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_agree_on_every_column() {
    let sqlite = TestDb::sqlite().await;
    let postgres = TestDb::postgres().await;
    let lite = backup::tables(&sqlite.store.database()).await.unwrap();
    let pg = backup::tables(&postgres.store.database()).await.unwrap();
    let names = |t: &[backup::TableInfo]| t.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&lite), names(&pg));
    let mut differences = Vec::new();
    for (l, p) in lite.iter().zip(&pg) {
        assert_eq!(l.primary_key, p.primary_key, "{}", l.name);
        let mut theirs = p.columns.clone();
        theirs.sort_by(|a, b| a.name.cmp(&b.name));
        let mut ours = l.columns.clone();
        ours.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(
            ours.iter().map(|c| &c.name).collect::<Vec<_>>(),
            theirs.iter().map(|c| &c.name).collect::<Vec<_>>(),
            "{}",
            l.name
        );
        for (o, t) in ours.iter().zip(&theirs) {
            if o.kind != t.kind {
                differences.push(format!(
                    "{}.{} {}",
                    l.name,
                    t.name,
                    serde_json::to_value(t.kind).unwrap().as_str().unwrap()
                ));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "add to column_kinds.txt:\n{}",
        differences.join("\n")
    );
}

/// A table file that lost rows, or whose rows were changed to something else, is refused
/// and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_table_file_is_refused_and_nothing_written() {
    let source = TestDb::sqlite().await;
    fill(&source.store, &source.url).await;
    let dir = tempfile::tempdir().unwrap();
    let exported = export(&source.store, dir.path()).await;
    let assets = backup::table_file(dir.path(), "assets");
    let text = std::fs::read_to_string(&assets).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&assets, lines[..lines.len() - 1].join("\n")).unwrap();

    let target = TestDb::postgres().await;
    let db = target.store.database();
    let err = backup::import(
        &db,
        dir.path(),
        &exported.tables,
        &exported.last_ids,
        &|_| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, TransferError::Damaged(m) if m.contains("assets")),
        "{err}"
    );
    backup::check_empty(&db).await.expect("nothing was written");

    std::fs::write(&assets, text.replace("\"db-1\"", "17")).unwrap();
    let err = backup::import(
        &db,
        dir.path(),
        &exported.tables,
        &exported.last_ids,
        &|_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, TransferError::Damaged(_)), "{err}");
    backup::check_empty(&db).await.expect("nothing was written");
}
