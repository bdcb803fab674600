//! Certificates inside containers: PKCS#12/PFX archives (tried with no password, then each
//! password given), Java keystores (JKS and JCEKS: their certificates are not encrypted, so no
//! password is needed to read them), and Kubernetes TLS secrets dumped as YAML (`tls.crt`,
//! `ca.crt`). Private keys are never decoded; their bytes are skipped.

use crate::error::FileError;
use base64::Engine as _;
use rustls::pki_types::{pem::PemObject, CertificateDer};

const JKS_MAGIC: [u8; 4] = [0xfe, 0xed, 0xfe, 0xed];
const JCEKS_MAGIC: [u8; 4] = [0xce, 0xce, 0xce, 0xce];
/// Far more entries than any keystore has; a corrupt count must not allocate wildly.
const MAX_JKS_ENTRIES: u32 = 100_000;

pub fn is_java_keystore(bytes: &[u8]) -> bool {
    bytes.starts_with(&JKS_MAGIC) || bytes.starts_with(&JCEKS_MAGIC)
}

/// A bounds-checked big-endian reader.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("truncated at byte {}", self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().unwrap_or_default(),
        ))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }
    fn utf(&mut self) -> Result<&'a [u8], String> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
    fn blob(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()?;
        self.take(n as usize)
    }
}

/// The certificates (DER) of a JKS or JCEKS keystore, private-key chains and trusted
/// certificates alike. The keystore's integrity digest needs the password and is not checked.
pub fn java_keystore_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, FileError> {
    let bad = |reason: String| FileError::BadKeystore(format!("Java keystore: {reason}"));
    let mut r = Reader { bytes, at: 0 };
    r.take(4).map_err(bad)?;
    let version = r.u32().map_err(bad)?;
    if !(1..=2).contains(&version) {
        return Err(bad(format!("unknown version {version}")));
    }
    let count = r.u32().map_err(bad)?;
    if count > MAX_JKS_ENTRIES {
        return Err(bad(format!("{count} entries is not plausible")));
    }
    let mut certs = Vec::new();
    let mut cert = |r: &mut Reader<'_>| -> Result<(), String> {
        if version == 2 {
            let kind = r.utf()?;
            if kind != b"X.509" {
                return Err(format!(
                    "certificate type {:?}",
                    String::from_utf8_lossy(kind)
                ));
            }
        }
        certs.push(r.blob()?.to_vec());
        Ok(())
    };
    for i in 0..count {
        let tag = r.u32().map_err(bad)?;
        r.utf().map_err(bad)?; // alias
        r.take(8).map_err(bad)?; // creation time
        match tag {
            1 => {
                r.blob().map_err(bad)?; // the encrypted private key: skipped unread
                let chain = r.u32().map_err(bad)?;
                if chain > MAX_JKS_ENTRIES {
                    return Err(bad(format!("entry {i}: chain of {chain}")));
                }
                for _ in 0..chain {
                    cert(&mut r).map_err(|e| bad(format!("entry {i}: {e}")))?;
                }
            }
            2 => cert(&mut r).map_err(|e| bad(format!("entry {i}: {e}")))?,
            3 => {
                return Err(bad(format!(
                    "entry {i} is a secret key (JCEKS), which opsward cannot skip"
                )))
            }
            other => return Err(bad(format!("entry {i} has unknown tag {other}"))),
        }
    }
    Ok(certs)
}

/// Why one password did not open an archive.
enum Pkcs12Failure {
    /// The bytes are not a PKCS#12 archive at all.
    NotPkcs12(String),
    /// A password is needed, or this one is wrong.
    Password,
}

fn open_pkcs12(bytes: &[u8], password: &str) -> Result<Vec<Vec<u8>>, Pkcs12Failure> {
    use p12_keystore::error::Error as E;
    match p12_keystore::Pkcs12Archive::from_pkcs12(bytes, password) {
        Ok(archive) => Ok(archive
            .certs
            .iter()
            .map(|b| b.cert.as_der().to_vec())
            .collect()),
        Err(E::MacError(_) | E::UnpadError | E::Pkcs5Error(_)) => Err(Pkcs12Failure::Password),
        Err(e) => Err(Pkcs12Failure::NotPkcs12(e.to_string())),
    }
}

/// The certificates of a PKCS#12 archive: tried with the empty password (and none), then each
/// of `passwords`. `Ok(None)` when the bytes are no PKCS#12 archive at all.
pub fn pkcs12_certificates(
    bytes: &[u8],
    passwords: &[String],
) -> Result<Option<Vec<Vec<u8>>>, FileError> {
    let mut tried = 0;
    for password in std::iter::once("").chain(passwords.iter().map(String::as_str)) {
        tried += 1;
        match open_pkcs12(bytes, password) {
            Ok(certs) => return Ok(Some(certs)),
            Err(Pkcs12Failure::Password) => continue,
            Err(Pkcs12Failure::NotPkcs12(reason)) if tried == 1 => {
                tracing::debug!(%reason, "not PKCS#12");
                return Ok(None);
            }
            Err(Pkcs12Failure::NotPkcs12(reason)) => {
                return Err(FileError::BadKeystore(format!("PKCS#12: {reason}")))
            }
        }
    }
    Err(FileError::WrongPassword { tried })
}

/// Whether a YAML file names a TLS certificate at all (so that other YAML in a walked
/// directory is not reported as "no certificate").
pub fn mentions_tls_secret(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes)
        .lines()
        .any(|l| secret_key(l.trim_start()).is_some())
}

fn secret_key(line: &str) -> Option<&str> {
    ["tls.crt:", "ca.crt:", "\"tls.crt\":", "\"ca.crt\":"]
        .iter()
        .find_map(|k| line.strip_prefix(k))
}

/// The certificates of Kubernetes TLS secrets in YAML: base64 `data` values of `tls.crt` and
/// `ca.crt`, or literal `stringData` blocks. `tls.key` is never decoded.
pub fn kubernetes_secret_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, FileError> {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    let mut pems: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let indent = line.len() - line.trim_start().len();
        let Some(value) = secret_key(line.trim_start()) else {
            i += 1;
            continue;
        };
        let value = value.trim().trim_matches('"');
        if value.starts_with('|') || value.is_empty() {
            // A literal block: the following, more indented lines.
            let mut block = String::new();
            let mut j = i + 1;
            while j < lines.len()
                && (lines[j].trim().is_empty()
                    || lines[j].len() - lines[j].trim_start().len() > indent)
            {
                block.push_str(lines[j].trim());
                block.push('\n');
                j += 1;
            }
            pems.push((i + 1, block.into_bytes()));
            i = j;
        } else {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value)
                .map_err(|e| {
                    FileError::BadKeystore(format!(
                        "Kubernetes secret line {}: not base64 ({e})",
                        i + 1
                    ))
                })?;
            pems.push((i + 1, decoded));
            i += 1;
        }
    }
    let mut certs = Vec::new();
    for (line, pem) in pems {
        let before = certs.len();
        for der in CertificateDer::pem_slice_iter(&pem) {
            let der = der.map_err(|e| {
                FileError::BadKeystore(format!("Kubernetes secret line {line}: bad PEM ({e})"))
            })?;
            certs.push(der.to_vec());
        }
        if certs.len() == before {
            return Err(FileError::BadKeystore(format!(
                "Kubernetes secret line {line}: no certificate in the value"
            )));
        }
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_odd_java_keystores_are_errors_not_panics() {
        let mut ks = JKS_MAGIC.to_vec();
        ks.extend_from_slice(&2u32.to_be_bytes());
        ks.extend_from_slice(&1u32.to_be_bytes());
        assert!(java_keystore_certificates(&ks)
            .unwrap_err()
            .to_string()
            .contains("truncated"));
        let mut huge = JKS_MAGIC.to_vec();
        huge.extend_from_slice(&2u32.to_be_bytes());
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(java_keystore_certificates(&huge)
            .unwrap_err()
            .to_string()
            .contains("plausible"));
        let mut empty = JKS_MAGIC.to_vec();
        empty.extend_from_slice(&2u32.to_be_bytes());
        empty.extend_from_slice(&0u32.to_be_bytes());
        assert_eq!(
            java_keystore_certificates(&empty).unwrap(),
            Vec::<Vec<u8>>::new()
        );
    }

    #[test]
    fn only_certificate_keys_of_secrets_count() {
        assert!(mentions_tls_secret(b"data:\n  tls.crt: AAAA\n"));
        assert!(!mentions_tls_secret(b"apiVersion: v1\nkind: ConfigMap\n"));
        let err = kubernetes_secret_certificates(b"data:\n  tls.crt: not*base64\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
