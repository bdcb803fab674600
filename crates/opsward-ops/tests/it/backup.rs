//! Backup and restore with stored files, on both backends: consistent while a writer
//! writes, restored across backends, and refused when damaged, cut short or too new.

use opsward_core::Actor;
use opsward_ops::{
    attachments::AttachmentStore,
    backup::{self, SnapshotError},
};
use opsward_store::{
    backup::format::{parse_header, parse_row, Cell},
    Store, StoreSettings,
};
use opsward_testkit::{asset_input, Backend, TestDb};
use std::{
    collections::BTreeSet,
    path::Path,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
};

fn actor() -> Actor {
    Actor::user(1, "tester")
}

/// Column `name` of every row of `table` in the snapshot at `dir`.
fn column(dir: &Path, table: &str, name: &str) -> Vec<Cell> {
    let text = std::fs::read_to_string(dir.join("tables").join(format!("{table}.jsonl"))).unwrap();
    let mut lines = text.lines();
    let header = parse_header(lines.next().unwrap()).unwrap();
    let at = header.columns.iter().position(|c| c.name == name).unwrap();
    lines
        .map(|l| parse_row(&header, l).unwrap().swap_remove(at))
        .collect()
}

/// A target on the other backend than `backend`.
async fn other_url(backend: Backend, dir: &Path) -> String {
    match backend {
        Backend::Sqlite => opsward_testkit::fresh_postgres_schema().await,
        Backend::Postgres => format!("sqlite:{}", dir.join("restored.db").display()),
    }
}

async fn backup_during_writes(backend: Backend) {
    let db = TestDb::new(backend).await;
    let work = tempfile::tempdir().unwrap();
    let files = AttachmentStore::new(work.path().join("files"), 1 << 20);
    let writing = Arc::new(AtomicBool::new(true));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (store, files) = (db.store.clone(), files.clone());
        let (writing, written) = (writing.clone(), written.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while writing.load(Ordering::Relaxed) || n < 20 {
                // A file first, then the row that names it, as opsward does.
                files
                    .save(format!("evidence {n}").as_bytes())
                    .await
                    .unwrap();
                store
                    .create_asset(&actor(), &asset_input(&format!("host-{n}")))
                    .await
                    .unwrap();
                n += 1;
                written.store(n, Ordering::Relaxed);
            }
        })
    };
    while written.load(Ordering::Relaxed) < 10 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let snapshot = work.path().join("snapshot");
    let summary = backup::backup(
        &db.store.database(),
        db.store.backend(),
        &files,
        &snapshot,
        &|_| {},
    )
    .await
    .unwrap();
    writing.store(false, Ordering::Relaxed);
    writer.await.unwrap();

    let assets: BTreeSet<i64> = column(&snapshot, "assets", "id")
        .into_iter()
        .map(|c| match c {
            Cell::Int(id) => id,
            other => panic!("{other:?}"),
        })
        .collect();
    let kinds = column(&snapshot, "audit_log", "entity_type");
    let ids = column(&snapshot, "audit_log", "entity_id");
    let audited: Vec<i64> = kinds
        .iter()
        .zip(&ids)
        .filter(|(k, _)| **k == Cell::Text("asset".into()))
        .map(|(_, id)| match id {
            Cell::Int(id) => *id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(audited.len() >= 10, "the snapshot has the early writes");
    assert_eq!(audited.len(), assets.len());
    for id in &audited {
        assert!(assets.contains(id), "audited asset {id} is in the snapshot");
    }
    assert!(summary.files >= assets.len(), "every named file is there");

    // And it restores on the other backend, with its files.
    let target = tempfile::tempdir().unwrap();
    let url = other_url(backend, target.path()).await;
    let restored = backup::restore(
        &StoreSettings::new(&url),
        &AttachmentStore::new(target.path().join("files"), 1 << 20),
        &snapshot,
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(restored.files, summary.files);
    assert_eq!(restored.rows, summary.rows);
    let store = TestDb::open(&url).await.store;
    assert_eq!(store.count_assets().await.unwrap() as usize, assets.len());
    let restored_files = AttachmentStore::new(target.path().join("files"), 1 << 20);
    assert_eq!(restored_files.list().await.unwrap().len(), summary.files);
    for sha in restored_files.list().await.unwrap() {
        assert_eq!(
            restored_files.read(&sha).await.unwrap(),
            files.read(&sha).await.unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_during_writes_is_consistent_and_restores_sqlite() {
    backup_during_writes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_during_writes_is_consistent_and_restores_postgres() {
    backup_during_writes(Backend::Postgres).await;
}

/// A snapshot archive of a database with one asset and one file.
async fn archive(backend: Backend, work: &Path) -> (TestDb, std::path::PathBuf, String) {
    let db = TestDb::new(backend).await;
    let files = AttachmentStore::new(work.join("files"), 1 << 20);
    let sha = files.save(b"contract document").await.unwrap();
    db.store
        .create_asset(&actor(), &asset_input("only"))
        .await
        .unwrap();
    let to = work.join("backup.tar.gz");
    backup::backup(
        &db.store.database(),
        db.store.backend(),
        &files,
        &to,
        &|_| {},
    )
    .await
    .unwrap();
    (db, to, sha)
}

async fn refused(from: &Path, url: &str) -> SnapshotError {
    let target = tempfile::tempdir().unwrap();
    let err = backup::restore(
        &StoreSettings::new(url),
        &AttachmentStore::new(target.path().join("files"), 1 << 20),
        from,
        &|_| {},
    )
    .await
    .unwrap_err();
    assert!(err.is_refusal(), "{err}");
    assert!(
        !target.path().join("files").exists(),
        "no file was written for a refused snapshot"
    );
    err
}

async fn refusals(backend: Backend) {
    let work = tempfile::tempdir().unwrap();
    let (source, archive, sha) = archive(backend, work.path()).await;
    let target = tempfile::tempdir().unwrap();
    let url = other_url(backend, target.path()).await;

    // Cut short: the archive's last half is missing.
    let bytes = std::fs::read(&archive).unwrap();
    let cut = work.path().join("cut.tar.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(
        refused(&cut, &url).await,
        SnapshotError::Damaged(_)
    ));

    // A stored file changed after the backup.
    let unpacked = work.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]))
        .unpack(&unpacked)
        .unwrap();
    let file = unpacked.join("files").join(&sha);
    std::fs::write(&file, b"contract documenT").unwrap();
    let err = refused(&unpacked, &url).await;
    assert!(
        matches!(&err, SnapshotError::Damaged(m) if m.contains(&sha)),
        "{err}"
    );
    std::fs::write(&file, b"contract document").unwrap();

    // A table file changed.
    let assets = unpacked.join("tables/assets.jsonl");
    let text = std::fs::read_to_string(&assets).unwrap();
    std::fs::write(&assets, text.replace("only", "ONLY")).unwrap();
    let err = refused(&unpacked, &url).await;
    assert!(
        matches!(&err, SnapshotError::Damaged(m) if m.contains("assets")),
        "{err}"
    );
    std::fs::write(&assets, &text).unwrap();

    // From a newer opsward.
    let manifest_path = unpacked.join("manifest.json");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();
    let mut newer: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    newer["schema_version"] = serde_json::json!(9999);
    std::fs::write(&manifest_path, newer.to_string()).unwrap();
    let err = refused(&unpacked, &url).await;
    assert!(
        matches!(&err, SnapshotError::Refused(m) if m.contains("newer")),
        "{err}"
    );

    // Without its manifest (a backup cut short before the end).
    std::fs::remove_file(&manifest_path).unwrap();
    assert!(matches!(
        refused(&unpacked, &url).await,
        SnapshotError::Damaged(_)
    ));
    std::fs::write(&manifest_path, &manifest).unwrap();

    // Into a database that is in use: refused, and it is left as it was.
    let err = refused(&unpacked, &source.url).await;
    assert!(
        matches!(&err, SnapshotError::Refused(m) if m.contains("not empty")),
        "{err}"
    );
    assert_eq!(source.store.count_assets().await.unwrap(), 1);

    // The sound archive restores.
    let restored = backup::restore(
        &StoreSettings::new(&url),
        &AttachmentStore::new(target.path().join("files"), 1 << 20),
        &archive,
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(restored.files, 1);
    let store: Arc<dyn Store> = TestDb::open(&url).await.store;
    store.get_asset_by_name("only").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_cut_short_newer_and_occupied_are_refused_sqlite() {
    refusals(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_cut_short_newer_and_occupied_are_refused_postgres() {
    refusals(Backend::Postgres).await;
}

#[test]
fn retention_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    for day in 1..=5 {
        std::fs::write(
            dir.path()
                .join(format!("opsward-backup-2026010{day}T000000Z.tar.gz")),
            b"x",
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
    let removed = backup::prune(dir.path(), 2).unwrap();
    assert_eq!(removed.len(), 3);
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "notes.txt",
            "opsward-backup-20260104T000000Z.tar.gz",
            "opsward-backup-20260105T000000Z.tar.gz"
        ]
    );
}

/// The files of a server whose file store is an S3 bucket (moto on loopback): the backup holds
/// the bucket's files, and a restore puts them into the bucket the target is configured with.
async fn bucket_round_trip(backend: Backend) {
    use opsward_ops::attachments::{FileStoreBackend, FileStoreSettings};
    let s3 = opsward_testkit::s3::S3Server::start(&["before", "after"]).await;
    let work = tempfile::tempdir().unwrap();
    let credentials = work.path().join("credentials");
    std::fs::write(&credentials, opsward_testkit::s3::CREDENTIALS).unwrap();
    let bucket = |name: &str| {
        let settings = FileStoreSettings {
            backend: FileStoreBackend::S3,
            bucket: name.into(),
            prefix: "opsward".into(),
            endpoint: Some(s3.endpoint.clone()),
            region: Some("eu-west-1".into()),
            credentials_file: Some(credentials.clone()),
            timeout_seconds: 5,
        };
        AttachmentStore::from_settings(&settings, work.path().join("unused"), 1 << 20).unwrap()
    };
    let (before, after) = (bucket("before"), bucket("after"));
    let db = TestDb::new(backend).await;
    let sha = before.save(b"failover test report").await.unwrap();
    db.store
        .create_asset(&actor(), &asset_input("db-1"))
        .await
        .unwrap();
    let to = work.path().join("snapshot");
    let summary = backup::backup(
        &db.store.database(),
        db.store.backend(),
        &before,
        &to,
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(summary.files, 1);

    let target = tempfile::tempdir().unwrap();
    let url = other_url(backend, target.path()).await;
    let restored = backup::restore(&StoreSettings::new(&url), &after, &to, &|_| {})
        .await
        .unwrap();
    assert_eq!(restored.files, 1);
    assert_eq!(after.list().await.unwrap(), [sha.as_str()]);
    assert_eq!(after.read(&sha).await.unwrap(), b"failover test report");
    assert!(
        !work.path().join("unused").exists(),
        "nothing went to the local directory"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_is_backed_up_and_restored_into_a_bucket_sqlite() {
    bucket_round_trip(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_is_backed_up_and_restored_into_a_bucket_postgres() {
    bucket_round_trip(Backend::Postgres).await;
}
