use super::*;
use crate::model::CertificateInfo;
use chrono::TimeZone;
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType,
};

fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

fn params(sans: &[&str], from: (i32, u8, u8), to: (i32, u8, u8)) -> CertificateParams {
    let mut p =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, "leaf.test");
    p.not_before = date_time_ymd(from.0, from.1, from.2);
    p.not_after = date_time_ymd(to.0, to.1, to.2);
    p
}

struct TestCa(Issuer<'static, KeyPair>);

impl TestCa {
    fn new() -> Self {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, "test CA");
        TestCa(Issuer::new(p, KeyPair::generate().unwrap()))
    }

    fn sign(&self, p: CertificateParams) -> CertificateInfo {
        let cert = p.signed_by(&KeyPair::generate().unwrap(), &self.0).unwrap();
        CertificateInfo::from_der(cert.der()).unwrap()
    }
}

fn self_signed(p: CertificateParams) -> CertificateInfo {
    let cert = p.self_signed(&KeyPair::generate().unwrap()).unwrap();
    CertificateInfo::from_der(cert.der()).unwrap()
}

fn codes(problems: &[Problem]) -> Vec<&'static str> {
    problems.iter().map(|p| p.code).collect()
}

#[test]
fn parses_the_facts_of_a_certificate() {
    let ca = TestCa::new();
    let cert = ca.sign(params(
        &["www.example.com", "192.0.2.7"],
        (2026, 1, 1),
        (2026, 3, 1),
    ));
    assert_eq!(cert.subject_cn.as_deref(), Some("leaf.test"));
    assert_eq!(cert.issuer_cn.as_deref(), Some("test CA"));
    assert_eq!(cert.san_dns, ["www.example.com"]);
    assert_eq!(cert.san_ip, ["192.0.2.7".parse::<IpAddr>().unwrap()]);
    assert_eq!(cert.not_after, day(2026, 3, 1));
    assert_eq!(cert.validity_days, 59);
    assert_eq!(cert.key, KeyType::Ec { bits: 256 });
    assert_eq!(cert.signature_algorithm, "ecdsa-with-SHA256");
    assert!(!cert.is_ca && !cert.self_signed);
    assert_eq!(cert.fingerprint_sha256.len(), 64);
    assert!(self_signed(params(&["a.test"], (2026, 1, 1), (2026, 3, 1))).self_signed);
    for (alg, key) in [
        (&rcgen::PKCS_ECDSA_P384_SHA384, KeyType::Ec { bits: 384 }),
        (&rcgen::PKCS_ED25519, KeyType::Ed25519),
    ] {
        let p = params(&["a.test"], (2026, 1, 1), (2026, 3, 1));
        let cert = p.self_signed(&KeyPair::generate_for(alg).unwrap()).unwrap();
        let info = CertificateInfo::from_der(cert.der()).unwrap();
        assert_eq!(info.key, key);
        assert!(info.self_signed, "{key}");
    }
}

#[test]
fn expiry_severity_rises_as_the_date_nears() {
    let cert = TestCa::new().sign(params(&["a.test"], (2026, 1, 1), (2026, 3, 1)));
    let at = |now| check_certificate(&cert, true, &CheckContext::at(now));
    assert!(at(day(2026, 1, 10)).is_empty());
    let severity_at = |now| {
        let problems = at(now);
        assert_eq!(codes(&problems), ["expires-soon"], "{problems:?}");
        problems[0].severity
    };
    assert_eq!(severity_at(day(2026, 2, 5)), Severity::Info);
    assert_eq!(severity_at(day(2026, 2, 20)), Severity::Warning);
    assert_eq!(severity_at(day(2026, 2, 25)), Severity::Critical);
    assert!(at(day(2026, 2, 28)).contains(&Problem::new(
        "expires-soon",
        Severity::Critical,
        "expires 2026-03-01 00:00 UTC (in 1 days, within the 1-day threshold)"
    )));
    let expired = at(day(2026, 3, 2));
    assert_eq!(codes(&expired), ["expired"]);
    assert_eq!(expired[0].severity, Severity::Critical);
    assert_eq!(codes(&at(day(2025, 12, 1))), ["not-yet-valid"]);
}

#[test]
fn self_signed_and_long_lived_leaves_are_reported() {
    let ctx = CheckContext::at(day(2026, 1, 2));
    let own = self_signed(params(&["a.test"], (2026, 1, 1), (2026, 3, 1)));
    assert_eq!(codes(&check_certificate(&own, true, &ctx)), ["self-signed"]);
    let long = TestCa::new().sign(params(&["a.test"], (2026, 1, 1), (2027, 6, 1)));
    assert_eq!(
        codes(&check_certificate(&long, true, &ctx)),
        ["long-validity"]
    );
    // The same certificate used as a CA in a file is not judged as a leaf.
    assert!(check_certificate(&long, false, &ctx).is_empty());
}

#[test]
fn weak_keys_and_signatures_are_reported() {
    let ctx = CheckContext::at(day(2026, 1, 2));
    let mut cert = TestCa::new().sign(params(&["a.test"], (2026, 1, 1), (2026, 3, 1)));
    cert.key = KeyType::Rsa { bits: 1024 };
    assert_eq!(codes(&check_certificate(&cert, true, &ctx)), ["weak-key"]);
    cert.key = KeyType::Ec { bits: 224 };
    assert_eq!(codes(&check_certificate(&cert, true, &ctx)), ["weak-key"]);
    cert.key = KeyType::Rsa { bits: 2048 };
    assert!(check_certificate(&cert, true, &ctx).is_empty());
    cert.signature_oid = "1.2.840.113549.1.1.5".into();
    assert_eq!(
        codes(&check_certificate(&cert, true, &ctx)),
        ["weak-signature"]
    );
    cert.signature_oid = "1.2.840.113549.1.1.4".into();
    assert_eq!(
        codes(&check_certificate(&cert, true, &ctx)),
        ["weak-signature"]
    );
}

fn leaf_naming(sans: &[&str]) -> CertificateInfo {
    TestCa::new().sign(params(sans, (2026, 1, 1), (2026, 3, 1)))
}

#[test]
fn hostnames_match_by_rfc_6125() {
    let cert = leaf_naming(&["www.example.com", "*.apps.example.com", "192.0.2.7", "::1"]);
    for good in [
        "www.example.com",
        "WWW.Example.COM",
        "www.example.com.",
        "x.apps.example.com",
        "192.0.2.7",
        "::1",
        "[::1]",
    ] {
        assert!(matches_hostname(&cert, good), "{good}");
    }
    for bad in [
        "example.com",
        "apps.example.com",
        "a.b.apps.example.com",
        "192.0.2.8",
        "leaf.test",
        "",
    ] {
        assert!(!matches_hostname(&cert, bad), "{bad}");
    }
    assert_eq!(
        check_hostname(&cert, "other.test").map(|p| p.code),
        Some("hostname-mismatch")
    );
    assert_eq!(check_hostname(&cert, "www.example.com"), None);
}

#[test]
fn wildcards_only_as_the_whole_leftmost_label() {
    let mut cert = leaf_naming(&["a.test"]);
    for (pattern, host, expected) in [
        ("f*.example.com", "foo.example.com", false),
        ("*oo.example.com", "foo.example.com", false),
        ("www.*.example.com", "www.a.example.com", false),
        ("*.com", "example.com", false),
        ("*.example.com", "foo.example.com", true),
    ] {
        cert.san_dns = vec![pattern.to_owned()];
        assert_eq!(
            matches_hostname(&cert, host),
            expected,
            "{pattern} vs {host}"
        );
    }
}

#[test]
fn idn_names_compare_in_a_label_form() {
    let mut cert = leaf_naming(&["a.test"]);
    cert.san_dns = vec!["xn--bcher-kva.example".to_owned()];
    assert!(matches_hostname(&cert, "bücher.example"));
    assert!(matches_hostname(&cert, "XN--BCHER-KVA.example"));
    cert.san_dns = vec!["*.xn--bcher-kva.example".to_owned()];
    assert!(matches_hostname(&cert, "shop.bücher.example"));
}

#[test]
fn common_name_counts_only_without_sans() {
    let mut cert = leaf_naming(&["a.test"]);
    cert.subject_cn = Some("cn.test".into());
    assert!(
        !matches_hostname(&cert, "cn.test"),
        "SANs exist: CN ignored"
    );
    cert.san_dns.clear();
    assert!(matches_hostname(&cert, "cn.test"));
    assert!(
        !matches_hostname(&cert, "192.0.2.1"),
        "IP targets need IP SANs"
    );
}

#[test]
fn chain_to_an_extra_ca_is_trusted_and_a_lone_leaf_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "extra CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut leaf_params = params(&["a.test"], (2026, 1, 1), (2026, 3, 1));
    leaf_params.subject_alt_names = vec![SanType::DnsName("a.test".try_into().unwrap())];
    let leaf = leaf_params
        .signed_by(&KeyPair::generate().unwrap(), &issuer)
        .unwrap();
    let chain = [CertificateInfo::from_der(leaf.der()).unwrap()];
    let now = day(2027, 1, 1); // after expiry: the chain verdict is independent of it

    let problem = crate::chain::check_chain(&chain, &crate::TrustStore::public_roots(), now)
        .expect("unknown CA");
    assert_eq!(problem.code, "untrusted-chain");
    assert!(problem.message.contains("UnknownIssuer"), "{problem}");

    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).unwrap();
    let mut trust = crate::TrustStore::public_roots();
    assert_eq!(trust.add_pem_file(&ca_file).unwrap(), 1);
    assert_eq!(crate::chain::check_chain(&chain, &trust, now), None);
}

#[test]
fn acme_certificates_are_due_for_renewal_at_two_thirds_of_their_lifetime() {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::OrganizationName, "Let's Encrypt");
    p.distinguished_name.push(DnType::CommonName, "R11");
    let acme = TestCa(Issuer::new(p, KeyPair::generate().unwrap()));
    // 90 days from 2026-01-01: renew by 2026-03-02 (day 60).
    let leaf = acme.sign(params(&["a.test"], (2026, 1, 1), (2026, 4, 1)));
    assert_eq!(
        acme_renewal_due(&leaf.issuer, leaf.not_before, leaf.not_after),
        Some(day(2026, 3, 2))
    );
    let ctx = CheckContext::at(day(2026, 3, 1));
    assert!(!codes(&check_certificate(&leaf, true, &ctx)).contains(&"acme-renewal-overdue"));
    let ctx = CheckContext::at(day(2026, 3, 3));
    assert!(codes(&check_certificate(&leaf, true, &ctx)).contains(&"acme-renewal-overdue"));
    // Other issuers have no such rule.
    let other = TestCa::new().sign(params(&["a.test"], (2026, 1, 1), (2026, 4, 1)));
    assert_eq!(
        acme_renewal_due(&other.issuer, other.not_before, other.not_after),
        None
    );
}
