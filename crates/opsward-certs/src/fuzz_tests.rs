//! Property-based fuzz tests of the certificate file parsers (issue 19): PEM, DER, PKCS#12,
//! JKS/JCEKS and Kubernetes secrets in YAML. Any bytes give a report (certificates or an
//! error), never a panic, in bounded time: small inputs, a fixed number of cases.

use crate::{files::parse_certificate_file, keystores::java_keystore_certificates};
use proptest::prelude::*;
use std::path::PathBuf;

fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let prefixes = prop::sample::select(vec![
        b"".to_vec(),
        b"-----BEGIN CERTIFICATE-----\n".to_vec(),
        b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n".to_vec(),
        vec![0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2], // JKS magic, version 2
        vec![0xce, 0xce, 0xce, 0xce, 0, 0, 0, 2], // JCEKS magic
        vec![0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03], // DER SEQUENCE, PKCS#12 version 3
        b"apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\ndata:\n  tls.crt: ".to_vec(),
    ]);
    (prefixes, prop::collection::vec(any::<u8>(), 0..512)).prop_map(|(mut p, tail)| {
        p.extend(tail);
        p
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fuzz_certificate_files(bytes in hostile_bytes()) {
        for name in ["x.pem", "x.der", "x.p12", "x.jks", "secret.yaml"] {
            let report = parse_certificate_file(PathBuf::from(name), &bytes);
            // A report either found something or says why not.
            prop_assert!(!report.certificates.is_empty() || report.error.is_some() || report.private_keys_skipped > 0);
        }
        let _ = java_keystore_certificates(&bytes);
    }
}

fn dns_name() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z]([a-z0-9-]{0,10}[a-z0-9])?", 1..4).prop_map(|l| l.join("."))
}

fn address() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<std::net::Ipv4Addr>().prop_map(|a| a.to_string()),
        any::<std::net::Ipv6Addr>().prop_map(|a| format!("[{a}]")),
        dns_name(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any text gives a target or a clear error, never a panic; what parses prints back as a
    /// location that parses to the same target.
    #[test]
    fn fuzz_scan_target_texts(text in "[a-zA-Z0-9@:.\\[\\]/ -]{0,40}") {
        if let Ok(target) = crate::Target::parse(&text) {
            prop_assert_eq!(crate::Target::parse(&target.location()).unwrap(), target);
        }
    }

    /// `name@address:port` connects to the address and sends the name, with any address form.
    #[test]
    fn names_at_addresses_round_trip(name in dns_name(), address in address(), port in 1u16..) {
        let text = format!("{name}@{address}:{port}");
        let target = crate::Target::parse(&text).unwrap();
        prop_assert_eq!(target.port, port);
        prop_assert_eq!(target.host.as_str(), address.trim_start_matches('[').trim_end_matches(']'));
        if target.host != name {
            prop_assert_eq!(target.sni(), Some(name.as_str()));
            prop_assert_eq!(target.location(), text);
        }
        prop_assert_eq!(crate::Target::parse(&target.location()).unwrap(), target);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever a `caIssuers` URL answers (DER, PEM, PKCS#7 or garbage), the answer is
    /// certificates or a reason, never a panic.
    #[test]
    fn fuzz_issuer_downloads(bytes in hostile_issuer_bytes()) {
        if let Ok(certs) = crate::aia::issuer_certificates(&bytes) {
            prop_assert!(!certs.is_empty());
        }
    }
}

fn hostile_issuer_bytes() -> impl Strategy<Value = Vec<u8>> {
    let prefixes = prop::sample::select(vec![
        b"".to_vec(),
        b"-----BEGIN PKCS7-----\n".to_vec(),
        b"-----BEGIN CERTIFICATE-----\n".to_vec(),
        vec![0x30, 0x82, 0x01, 0x00, 0x06, 0x09], // SEQUENCE, OID (PKCS#7 ContentInfo)
        vec![0x30, 0x80],                         // indefinite length (BER, not DER)
        vec![0xa0, 0x84, 0xff, 0xff, 0xff, 0xff], // a length beyond the input
    ]);
    (prefixes, prop::collection::vec(any::<u8>(), 0..512)).prop_map(|(mut p, tail)| {
        p.extend(tail);
        p
    })
}
