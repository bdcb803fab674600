//! The file store's S3 backend against a real S3 API (moto on loopback): files round-trip
//! under the prefix, are listed, deduplicated, refused when altered in the bucket, and an
//! unreachable or silent endpoint is a clear error within the timeout.

use object_store::{aws::AmazonS3Builder, path::Path as ObjectPath, ObjectStore, PutPayload};
use opsward_ops::attachments::{
    AttachmentError, AttachmentStore, FileStoreBackend, FileStoreSettings,
};
use opsward_testkit::s3::{S3Server, CREDENTIALS};
use std::time::{Duration, Instant};

fn settings(endpoint: &str, bucket: &str, credentials: &std::path::Path) -> FileStoreSettings {
    FileStoreSettings {
        backend: FileStoreBackend::S3,
        bucket: bucket.into(),
        prefix: "/team-a/files/".into(),
        endpoint: Some(endpoint.into()),
        region: Some("eu-west-1".into()),
        credentials_file: Some(credentials.to_path_buf()),
        timeout_seconds: 3,
    }
}

fn credentials_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("credentials");
    std::fs::write(&path, CREDENTIALS).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_backend_round_trip_list_and_tampering() {
    let s3 = S3Server::start(&["evidence"]).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(&s3.endpoint, "evidence", &credentials_file(&dir));
    let store = AttachmentStore::from_settings(&settings, dir.path().join("unused"), 64).unwrap();
    assert!(store
        .describe()
        .starts_with("s3://evidence/team-a/files at http://127.0.0.1:"));
    assert_eq!(store.list().await.unwrap(), Vec::<String>::new());

    let report = store.save(b"restore test passed").await.unwrap();
    assert_eq!(store.save(b"restore test passed").await.unwrap(), report);
    let other = store.save(b"second file").await.unwrap();
    assert_eq!(store.read(&report).await.unwrap(), b"restore test passed");
    let mut both = vec![report.clone(), other.clone()];
    both.sort();
    assert_eq!(store.list().await.unwrap(), both);
    assert!(matches!(
        store.save(&[7u8; 65]).await,
        Err(AttachmentError::TooLarge { .. })
    ));
    // Nothing was written to the local directory: the bucket holds the files.
    assert!(!dir.path().join("unused").exists());

    // The same bucket seen by a plain S3 client: the keys are prefix/ab/sha256. Objects
    // that are not files of the store (other names, other prefixes) are not listed.
    let raw = AmazonS3Builder::new()
        .with_bucket_name("evidence")
        .with_region("eu-west-1")
        .with_endpoint(&s3.endpoint)
        .with_allow_http(true)
        .with_access_key_id("opsward-test")
        .with_secret_access_key("opsward-test")
        .build()
        .unwrap();
    let key = ObjectPath::from(format!("team-a/files/{}/{report}", &report[..2]));
    assert_eq!(
        raw.get(&key).await.unwrap().bytes().await.unwrap().as_ref(),
        b"restore test passed"
    );
    raw.put(
        &ObjectPath::from("team-a/files/notes.txt"),
        PutPayload::from_static(b"x"),
    )
    .await
    .unwrap();
    raw.put(
        &ObjectPath::from(format!("team-b/{}/{other}", &other[..2])),
        PutPayload::from_static(b"y"),
    )
    .await
    .unwrap();
    assert_eq!(store.list().await.unwrap(), both);

    // A file altered in the bucket is refused, not served.
    raw.put(&key, PutPayload::from_static(b"restore test FAILED"))
        .await
        .unwrap();
    let err = store.read(&report).await.unwrap_err();
    assert!(matches!(err, AttachmentError::Corrupt(_)), "{err}");
    // A file deleted from the bucket is missing, and a name that is no SHA-256 never
    // becomes a request.
    raw.delete(&ObjectPath::from(format!(
        "team-a/files/{}/{other}",
        &other[..2]
    )))
    .await
    .unwrap();
    assert!(matches!(
        store.read(&other).await,
        Err(AttachmentError::Missing(_))
    ));
    assert!(matches!(
        store.read("../team-b/secret").await,
        Err(AttachmentError::Missing(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_or_silent_endpoint_is_a_clear_error_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = credentials_file(&dir);
    // Nothing listens on this port (bound, then closed): connections are refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    // This one accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    for endpoint in [refused, silent_url] {
        let store = AttachmentStore::from_settings(
            &settings(&endpoint, "evidence", &credentials),
            dir.path(),
            1024,
        )
        .unwrap();
        let started = Instant::now();
        let err = store.save(b"evidence").await.unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(8), "{endpoint}: took {took:?}");
        assert!(matches!(err, AttachmentError::Unavailable { .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!(
                "the file store s3://evidence/team-a/files at {endpoint} is unavailable: "
            )),
            "{message}"
        );
        assert!(!message.contains("opsward-test"), "{message}");
        let err = store.read(&"ab".repeat(32)).await.unwrap_err();
        assert!(matches!(err, AttachmentError::Unavailable { .. }), "{err}");
        assert!(store.list().await.is_err());
    }
    held.abort();
}
