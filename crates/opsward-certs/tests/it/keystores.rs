//! Certificates in PKCS#12 archives (made by `openssl pkcs12 -export` and by Java's keytool),
//! Java keystores (JKS, made by keytool) and Kubernetes TLS secrets in YAML; wrong passwords
//! and truncated archives are per-file errors and the walk goes on.

use crate::fixtures::{openssl, openssl_fingerprint_and_end, TestCa};
use base64::Engine as _;
use opsward_certs::{scan_paths_with, FileError, FileReport};
use std::{path::Path, process::Command};

fn keytool(dir: &Path, args: &[&str]) {
    let out = Command::new("keytool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("keytool (Java) is installed");
    assert!(
        out.status.success(),
        "keytool {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn report<'a>(reports: &'a [FileReport], name: &str) -> &'a FileReport {
    reports
        .iter()
        .find(|r| r.path.file_name().unwrap() == name)
        .unwrap_or_else(|| {
            panic!(
                "no report for {name}: {:?}",
                reports.iter().map(|r| &r.path).collect::<Vec<_>>()
            )
        })
}

fn fingerprints(r: &FileReport) -> Vec<&str> {
    r.certificates
        .iter()
        .map(|c| c.fingerprint_sha256.as_str())
        .collect()
}

#[test]
fn pkcs12_archives_open_with_the_right_password_and_fail_clearly_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = TestCa::new("P12 CA");
    std::fs::write(d.join("ca.pem"), &ca.pem).unwrap();
    let (crt, key) = ca.issue_current(&["p12.test"]).write(d, "leaf");
    let (leaf_fp, _) = openssl_fingerprint_and_end(d, &crt);
    let (ca_fp, _) = openssl_fingerprint_and_end(d, &d.join("ca.pem"));
    let export = |out: &str, pass: &str| {
        openssl(
            d,
            &[
                "pkcs12",
                "-export",
                "-in",
                crt.to_str().unwrap(),
                "-inkey",
                key.to_str().unwrap(),
                "-certfile",
                "ca.pem",
                "-name",
                "web",
                "-passout",
                &format!("pass:{pass}"),
                "-out",
                out,
            ],
        );
    };
    export("locked.p12", "s3cret");
    export("open.pfx", "");
    let full = std::fs::read(d.join("locked.p12")).unwrap();
    std::fs::write(d.join("truncated.p12"), &full[..full.len() / 2]).unwrap();
    std::fs::remove_file(&crt).unwrap();
    std::fs::remove_file(&key).unwrap();
    std::fs::remove_file(d.join("ca.pem")).unwrap();

    let reports = scan_paths_with(&[d.to_path_buf()], &["wrong".into(), "s3cret".into()]);
    assert_eq!(reports.len(), 3, "{reports:?}");
    let mut locked = fingerprints(report(&reports, "locked.p12"));
    locked.sort();
    let mut expected = vec![leaf_fp.as_str(), ca_fp.as_str()];
    expected.sort();
    assert_eq!(locked, expected);
    assert_eq!(
        fingerprints(report(&reports, "open.pfx")).len(),
        2,
        "the empty password is tried first"
    );
    let truncated = report(&reports, "truncated.p12");
    assert!(truncated.certificates.is_empty());
    assert!(
        matches!(&truncated.error, Some(FileError::BadKeystore(m)) if m.starts_with("PKCS#12")),
        "{:?}",
        truncated.error
    );

    // Without the password: a clear error for that file only.
    let reports = scan_paths_with(&[d.to_path_buf()], &["wrong".into()]);
    let locked = report(&reports, "locked.p12");
    assert!(
        matches!(locked.error, Some(FileError::WrongPassword { tried: 2 })),
        "{:?}",
        locked.error
    );
    assert_eq!(report(&reports, "open.pfx").certificates.len(), 2);
    assert!(!format!("{:?}", locked.error).contains("s3cret"));
}

#[test]
fn java_keystores_from_keytool_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = TestCa::new("JKS CA");
    std::fs::write(d.join("ca.pem"), &ca.pem).unwrap();
    let (ca_fp, _) = openssl_fingerprint_and_end(d, &d.join("ca.pem"));
    let (crt, key) = ca.issue_current(&["jks.test"]).write(d, "leaf");
    let (leaf_fp, _) = openssl_fingerprint_and_end(d, &crt);
    openssl(
        d,
        &[
            "pkcs12",
            "-export",
            "-in",
            crt.to_str().unwrap(),
            "-inkey",
            key.to_str().unwrap(),
            "-certfile",
            "ca.pem",
            "-name",
            "web",
            "-passout",
            "pass:changeit",
            "-out",
            "web.p12",
        ],
    );
    // A JKS with a trusted certificate and a private-key entry with its chain.
    keytool(
        d,
        &[
            "-importcert",
            "-noprompt",
            "-alias",
            "ca",
            "-file",
            "ca.pem",
            "-keystore",
            "store.jks",
            "-storetype",
            "JKS",
            "-storepass",
            "changeit",
        ],
    );
    keytool(
        d,
        &[
            "-importkeystore",
            "-noprompt",
            "-srckeystore",
            "web.p12",
            "-srcstoretype",
            "PKCS12",
            "-srcstorepass",
            "changeit",
            "-destkeystore",
            "store.jks",
            "-deststoretype",
            "JKS",
            "-deststorepass",
            "changeit",
        ],
    );
    // Java 17's default keystore type is PKCS#12.
    keytool(
        d,
        &[
            "-genkeypair",
            "-alias",
            "app",
            "-keyalg",
            "EC",
            "-groupname",
            "secp256r1",
            "-dname",
            "CN=java.test",
            "-validity",
            "30",
            "-keystore",
            "default.keystore",
            "-storepass",
            "changeit",
        ],
    );

    let files = [d.join("store.jks"), d.join("default.keystore")];
    let reports = scan_paths_with(&files, &["changeit".into()]);
    let jks = &reports[0];
    assert!(jks.error.is_none(), "{:?}", jks.error);
    let mut got = fingerprints(jks);
    got.sort();
    got.dedup();
    let mut expected = vec![leaf_fp.as_str(), ca_fp.as_str()];
    expected.sort();
    assert_eq!(got, expected);
    let default = &reports[1];
    assert!(default.error.is_none(), "{:?}", default.error);
    assert_eq!(
        default.certificates[0].subject_cn.as_deref(),
        Some("java.test")
    );

    // A JKS needs no password for its certificates; a truncated one is an error.
    let bytes = std::fs::read(d.join("store.jks")).unwrap();
    std::fs::write(d.join("cut.jks"), &bytes[..bytes.len() - 100]).unwrap();
    let reports = scan_paths_with(&[d.join("store.jks"), d.join("cut.jks")], &[]);
    assert_eq!(reports[0].certificates.len(), jks.certificates.len());
    assert!(
        matches!(&reports[1].error, Some(FileError::BadKeystore(m)) if m.contains("truncated")),
        "{:?}",
        reports[1].error
    );
}

#[test]
fn kubernetes_tls_secrets_in_yaml_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = TestCa::new("K8s CA");
    let issued = ca.issue_current(&["k8s.test"]);
    let (crt, _) = issued.write(d, "leaf");
    let (leaf_fp, _) = openssl_fingerprint_and_end(d, &crt);
    std::fs::remove_file(&crt).unwrap();
    std::fs::remove_file(d.join("leaf.key")).unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    std::fs::write(
        d.join("secret.yaml"),
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-tls\ntype: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n---\napiVersion: v1\nkind: Secret\nstringData:\n  ca.crt: |\n{}\n",
            b64(&issued.cert_pem),
            b64(&issued.key_pem),
            ca.pem.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("configmap.yml"),
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b\n",
    )
    .unwrap();
    std::fs::write(d.join("broken.yaml"), "data:\n  tls.crt: LS0tLS1CRUdJTi\n").unwrap();

    let reports = scan_paths_with(&[d.to_path_buf()], &[]);
    assert_eq!(
        reports.len(),
        2,
        "YAML without a TLS secret is not a finding: {reports:?}"
    );
    let secret = report(&reports, "secret.yaml");
    assert!(secret.error.is_none(), "{:?}", secret.error);
    assert_eq!(secret.certificates.len(), 2);
    assert_eq!(secret.certificates[0].fingerprint_sha256, leaf_fp);
    assert_eq!(secret.certificates[1].subject_cn.as_deref(), Some("K8s CA"));
    assert!(secret.certificates.iter().all(|c| !c.der.is_empty()));
    let broken = report(&reports, "broken.yaml");
    assert!(
        matches!(&broken.error, Some(FileError::BadKeystore(m)) if m.contains("line 2")),
        "{:?}",
        broken.error
    );
}
