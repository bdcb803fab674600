use crate::{Backend, StoreError};
use std::{fmt, time::Duration};

/// How to reach the database. `Debug` hides the password so URLs can be logged.
#[derive(Clone)]
pub struct StoreSettings {
    pub url: String,
    pub max_connections: u32,
    pub connect_timeout: Duration,
}

impl StoreSettings {
    pub fn new(url: impl Into<String>) -> Self {
        StoreSettings {
            url: url.into(),
            max_connections: 10,
            connect_timeout: Duration::from_secs(10),
        }
    }

    pub fn backend(&self) -> Result<Backend, StoreError> {
        if self.url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if self.url.starts_with("postgres://") || self.url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(&self.url)))
        }
    }

    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSettings")
            .field("url", &self.redacted_url())
            .field("max_connections", &self.max_connections)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// `postgres://user:secret@host/db` -> `postgres://user:***@host/db`; also hides a
/// `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find('/')
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    if let Some(pos) = out.find("password=") {
        let end = out[pos..].find('&').map_or(out.len(), |i| pos + i);
        out.replace_range(pos + "password=".len()..end, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_passwords() {
        assert_eq!(
            redact_url("postgres://ops:s3cret@db:5432/opsward"),
            "postgres://ops:***@db:5432/opsward"
        );
        assert_eq!(
            redact_url("postgres://db/x?user=a&password=pw&sslmode=require"),
            "postgres://db/x?user=a&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("sqlite:/var/lib/opsward/opsward.db"),
            "sqlite:/var/lib/opsward/opsward.db"
        );
        let s = StoreSettings::new("postgres://a:b@h/d");
        assert!(!format!("{s:?}").contains(":b@"));
    }
}
