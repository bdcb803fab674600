use serde::Serialize;
use utoipa::ToSchema;

/// One field that failed validation, with a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Input that cannot be accepted; lists every problem at once rather than the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", .errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct ValidationError {
    pub errors: Vec<FieldError>,
}

impl ValidationError {
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        ValidationError {
            errors: vec![FieldError {
                field: field.into(),
                message: message.into(),
            }],
        }
    }
}

/// Collects field errors while a value is checked.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Text that is stored and shown: bounded, free of control characters (PostgreSQL
    /// rejects NUL outright, and the others only ever come from broken or hostile input).
    pub fn text(&mut self, field: &str, value: &str, required: bool, max_chars: usize) {
        if required && value.trim().is_empty() {
            self.error(field, "is required");
        } else if value.chars().count() > max_chars {
            self.error(field, format!("is longer than {max_chars} characters"));
        } else if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            self.error(field, "contains control characters");
        }
    }

    /// A single-line name: no line breaks, no surrounding whitespace.
    pub fn name(&mut self, field: &str, value: &str, max_chars: usize) {
        let before = self.errors.len();
        self.text(field, value, true, max_chars);
        if self.errors.len() == before
            && (value.contains(['\n', '\r', '\t']) || value.trim() != value)
        {
            self.error(field, "must be one line without leading or trailing spaces");
        }
    }

    /// A plausible email address. Deliverability is the mail server's business; this only
    /// catches typing mistakes such as a missing `@` or domain.
    pub fn email(&mut self, field: &str, value: &str) {
        let ok = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            });
        if !ok {
            self.error(field, "is not an email address");
        }
    }

    pub fn finish(self) -> Result<(), ValidationError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationError {
                errors: self.errors,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_error() {
        let mut v = Validator::new();
        v.name("name", " padded", 10);
        v.email("email", "no-at-sign");
        v.text("notes", "nul\0byte", false, 100);
        let err = v.finish().unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "email", "notes"]);
    }

    #[test]
    fn accepts_ordinary_values() {
        let mut v = Validator::new();
        v.name("name", "web-01", 10);
        v.email("email", "ops@example.com");
        v.text("notes", "line one\nline two", false, 100);
        assert!(v.finish().is_ok());
    }
}
