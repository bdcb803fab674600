use crate::fixtures::{openssl, openssl_fingerprint_and_end, TestCa};
use opsward_certs::{scan_paths, FileError, FileReport};
use std::path::Path;

fn report_for<'a>(reports: &'a [FileReport], path: &Path) -> &'a FileReport {
    reports
        .iter()
        .find(|r| r.path == path)
        .unwrap_or_else(|| panic!("no report for {}: {reports:#?}", path.display()))
}

#[test]
fn pem_bundle_with_crlf_and_text_and_der_match_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("files CA");
    let leaf = ca.issue_current(&["files.test"]);
    let (leaf_path, _) = leaf.write(dir.path(), "leaf");
    let bundle = format!(
        "Subject: files.test\nissued by the files CA\n{}\nsome trailing words\n{}\n",
        leaf.cert_pem, ca.pem
    )
    .replace('\n', "\r\n");
    let bundle_path = dir.path().join("bundle.pem");
    std::fs::write(&bundle_path, bundle).unwrap();
    let der_path = dir.path().join("leaf.der");
    openssl(
        dir.path(),
        &[
            "x509", "-in", "leaf.crt", "-outform", "DER", "-out", "leaf.der",
        ],
    );

    let reports = scan_paths(&[bundle_path.clone(), der_path.clone()]);
    let (fingerprint, not_after) = openssl_fingerprint_and_end(dir.path(), &leaf_path);

    let bundle = report_for(&reports, &bundle_path);
    assert!(bundle.error.is_none(), "{:?}", bundle.error);
    assert_eq!(bundle.certificates.len(), 2);
    assert_eq!(bundle.certificates[0].fingerprint_sha256, fingerprint);
    assert_eq!(bundle.certificates[0].not_after, not_after);
    assert!(bundle.certificates[1].is_ca && bundle.certificates[1].self_signed);

    let der = report_for(&reports, &der_path);
    assert!(der.error.is_none(), "{:?}", der.error);
    assert_eq!(der.certificates[0].fingerprint_sha256, fingerprint);
}

#[test]
fn bad_files_are_reported_one_by_one_and_keys_are_skipped_unseen() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("certs");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let ca = TestCa::new("walk CA");
    let leaf = ca.issue_current(&["walk.test"]);
    std::fs::write(root.join("good.pem"), &leaf.cert_pem).unwrap();
    std::fs::write(root.join("sub/server.key"), &leaf.key_pem).unwrap();
    std::fs::write(root.join("empty.crt"), "").unwrap();
    std::fs::write(
        root.join("random.der"),
        [0x30u8, 0x82, 0xff, 0x13, 7, 7, 7, 7],
    )
    .unwrap();
    let cut = &leaf.cert_pem[..leaf.cert_pem.len() / 2];
    std::fs::write(root.join("truncated.pem"), cut).unwrap();
    std::fs::write(
        root.join("notes.txt"),
        "not looked at: no certificate extension",
    )
    .unwrap();
    // A directory link back up to the root: the walk must notice and stop.
    std::os::unix::fs::symlink(&root, root.join("sub/loop")).unwrap();

    let reports = scan_paths(std::slice::from_ref(&root));

    let good = report_for(&reports, &root.join("good.pem"));
    assert_eq!(good.certificates.len(), 1);
    assert!(good.error.is_none());
    let key = report_for(&reports, &root.join("sub/server.key"));
    assert_eq!((key.certificates.len(), key.private_keys_skipped), (0, 1));
    assert!(key.error.is_none());
    assert!(matches!(
        report_for(&reports, &root.join("empty.crt")).error,
        Some(FileError::Empty)
    ));
    assert!(matches!(
        report_for(&reports, &root.join("random.der")).error,
        Some(FileError::NotACertificate(_))
    ));
    let truncated = report_for(&reports, &root.join("truncated.pem"));
    assert!(
        matches!(truncated.error, Some(FileError::BadPem(_))),
        "{:?}",
        truncated.error
    );
    assert!(matches!(
        report_for(&reports, &root.join("sub/loop")).error,
        Some(FileError::SymlinkLoop)
    ));
    assert!(reports.iter().all(|r| !r.path.ends_with("notes.txt")));
    // The loop is reported once and nothing is read twice through it.
    assert_eq!(
        reports
            .iter()
            .filter(|r| r.path.ends_with("good.pem"))
            .count(),
        1
    );
    assert_eq!(
        reports
            .iter()
            .filter(|r| matches!(r.error, Some(FileError::SymlinkLoop)))
            .count(),
        1
    );

    // Nothing derived from the key's bytes shows up in what a caller could print.
    let key_body: String = leaf
        .key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let printed = format!("{reports:?}");
    assert!(!printed.contains(&key_body[..40]));
    for report in &reports {
        if let Some(e) = &report.error {
            assert!(!e.to_string().contains(&key_body[..40]));
        }
    }
}

#[test]
fn missing_paths_are_errors_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let leaf = TestCa::new("ca").issue_current(&["a.test"]);
    let (cert, _) = leaf.write(dir.path(), "a");
    let missing = dir.path().join("nope.pem");
    let reports = scan_paths(&[missing.clone(), cert.clone()]);
    assert!(matches!(
        report_for(&reports, &missing).error,
        Some(FileError::Unreadable(_))
    ));
    assert_eq!(report_for(&reports, &cert).certificates.len(), 1);
}

#[test]
fn a_directory_reached_twice_without_a_loop_is_read_once_and_is_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    let leaf = TestCa::new("ca").issue_current(&["a.test"]);
    leaf.write(&certs, "a");
    std::os::unix::fs::symlink(&certs, dir.path().join("alias")).unwrap();
    let reports = scan_paths(&[certs.clone(), dir.path().join("alias")]);
    assert_eq!(reports.len(), 2, "a.crt and a.key, once: {reports:#?}");
    assert!(reports.iter().all(|r| r.error.is_none()), "{reports:#?}");
}
