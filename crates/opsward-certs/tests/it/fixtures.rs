//! Certificates and keys generated per test, and the `openssl` CLI to make odd ones and to
//! read certificates back for comparison.

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer,
    KeyPair,
};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

pub struct TestCa {
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate and its private key, as PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Issued {
    /// Write `name.crt` and `name.key` into `dir`.
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (cert, key)
    }
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let pem = p.self_signed(&key).unwrap().pem();
        TestCa {
            pem,
            issuer: Issuer::new(p, key),
        }
    }

    /// An intermediate CA signed by this one.
    pub fn intermediate(&self, name: &str) -> TestCa {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let pem = p.signed_by(&key, &self.issuer).unwrap().pem();
        TestCa {
            pem,
            issuer: Issuer::new(p, key),
        }
    }

    /// An intermediate CA signed by this one, valid from `from_days` to `to_days` days from
    /// now (negative: in the past), e.g. one that has expired.
    pub fn intermediate_around_now(&self, name: &str, from_days: i64, to_days: i64) -> TestCa {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        valid_around_now(&mut p, from_days, to_days);
        let key = KeyPair::generate().unwrap();
        let pem = p.signed_by(&key, &self.issuer).unwrap().pem();
        TestCa {
            pem,
            issuer: Issuer::new(p, key),
        }
    }

    /// A current leaf for `sans` whose Authority Information Access names `ca_issuers` (an
    /// `http://` URL) as where its issuer is published.
    pub fn issue_with_aia(&self, sans: &[&str], ca_issuers: &str) -> Issued {
        self.issue_with(sans, |p| {
            valid_around_now(p, -1, 90);
            p.custom_extensions.push(aia_extension(ca_issuers));
        })
    }

    /// A leaf for `sans`, valid between the two dates.
    pub fn issue(&self, sans: &[&str], from: (i32, u8, u8), to: (i32, u8, u8)) -> Issued {
        self.issue_with(sans, |p| {
            p.not_before = date_time_ymd(from.0, from.1, from.2);
            p.not_after = date_time_ymd(to.0, to.1, to.2);
        })
    }

    /// A leaf for `sans` whose validity `validity` sets.
    fn issue_with(&self, sans: &[&str], validity: impl FnOnce(&mut CertificateParams)) -> Issued {
        let mut p =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, sans.first().copied().unwrap_or("leaf"));
        validity(&mut p);
        let key = KeyPair::generate().unwrap();
        Issued {
            cert_pem: p.signed_by(&key, &self.issuer).unwrap().pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A leaf valid from `from_days` to `to_days` days from now (negative: in the past), to
    /// the second. Whole dates would move the expiry by up to a day with the time of day the
    /// test runs at, and a test that walks the clock to half a day before expiry would find
    /// the certificate expired in the afternoon.
    pub fn issue_around_now(&self, sans: &[&str], from_days: i64, to_days: i64) -> Issued {
        let now = chrono::Utc::now();
        let at = |days: i64| {
            let unix = (now + chrono::Duration::days(days)).timestamp();
            date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs(unix as u64)
        };
        self.issue_with(sans, |p| {
            p.not_before = at(from_days);
            p.not_after = at(to_days);
        })
    }

    /// A leaf valid from yesterday for `days`.
    pub fn issue_current(&self, sans: &[&str]) -> Issued {
        let now = chrono::Utc::now();
        let from = now - chrono::Duration::days(1);
        let to = now + chrono::Duration::days(90);
        use chrono::Datelike;
        self.issue(
            sans,
            (from.year(), from.month() as u8, from.day() as u8),
            (to.year(), to.month() as u8, to.day() as u8),
        )
    }
}

/// Valid from `from_days` to `to_days` days from now, to the second.
fn valid_around_now(p: &mut CertificateParams, from_days: i64, to_days: i64) {
    let at = |days: i64| {
        let unix = (chrono::Utc::now() + chrono::Duration::days(days)).timestamp();
        date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs(unix as u64)
    };
    p.not_before = at(from_days);
    p.not_after = at(to_days);
}

/// authorityInfoAccess (1.3.6.1.5.5.7.1.1) with one caIssuers (1.3.6.1.5.5.7.48.2) URI.
fn aia_extension(url: &str) -> CustomExtension {
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        assert!(content.len() < 128, "short form lengths only");
        let mut out = vec![tag, content.len() as u8];
        out.extend_from_slice(content);
        out
    }
    let ca_issuers_oid = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
    let mut description = ca_issuers_oid.to_vec();
    description.extend(der(0x86, url.as_bytes())); // [6] IMPLICIT IA5String: a URI
    let content = der(0x30, &der(0x30, &description));
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], content)
}

/// Run `openssl` with `args` in `dir`; panic with its stderr on failure.
pub fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A self-signed leaf (not a CA) made by openssl: `key` like `rsa:1024`, `digest` like `sha1`.
pub fn openssl_self_signed(
    dir: &Path,
    name: &str,
    key: &str,
    digest: &str,
    cn: &str,
) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.crt"));
    let keyfile = dir.join(format!("{name}.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-nodes",
            "-newkey",
            key,
            &format!("-{digest}"),
            "-days",
            "365",
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            &format!("subjectAltName=DNS:{cn}"),
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
            keyfile.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ],
    );
    (cert, keyfile)
}

/// openssl's SHA-256 fingerprint (lower-case hex without colons) and notAfter of a PEM file.
pub fn openssl_fingerprint_and_end(
    dir: &Path,
    cert: &Path,
) -> (String, chrono::DateTime<chrono::Utc>) {
    let text = openssl(
        dir,
        &[
            "x509",
            "-noout",
            "-fingerprint",
            "-sha256",
            "-enddate",
            "-in",
            cert.to_str().unwrap(),
        ],
    );
    let mut fingerprint = None;
    let mut end = None;
    for line in text.lines() {
        if let Some((_, fp)) = line.split_once("Fingerprint=") {
            fingerprint = Some(fp.replace(':', "").to_ascii_lowercase());
        }
        if let Some(date) = line.strip_prefix("notAfter=") {
            let parsed = chrono::NaiveDateTime::parse_from_str(
                date.trim_end_matches(" GMT").trim(),
                "%b %e %H:%M:%S %Y",
            )
            .unwrap_or_else(|e| panic!("{date}: {e}"));
            end = Some(parsed.and_utc());
        }
    }
    (fingerprint.unwrap(), end.unwrap())
}
