//! The register of things we operate: hosts, services, endpoints and applications.

use crate::validation::{ValidationError, Validator};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use utoipa::ToSchema;

/// Longest asset name accepted; long enough for a fully qualified host name.
pub const MAX_NAME: usize = 255;
pub const MAX_TAGS: usize = 32;
pub const MAX_TAG: usize = 64;
pub const MAX_DESCRIPTION: usize = 4000;

crate::text_enum! {
    /// What sort of thing an asset is.
    AssetKind { Host => "host", Service => "service", Endpoint => "endpoint", Application => "application" }
}

crate::text_enum! {
    /// How much the business suffers when the asset fails; drives alert thresholds and SLAs.
    Criticality { Low => "low", Medium => "medium", High => "high", Critical => "critical" }
}

/// A registered asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Asset {
    pub id: i64,
    pub name: String,
    pub kind: AssetKind,
    /// Free-form lower-case label such as `production`, `staging` or `dr`.
    pub environment: String,
    pub criticality: Criticality,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    pub tags: Vec<String>,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a caller supplies to create or replace an asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AssetInput {
    pub name: String,
    pub kind: AssetKind,
    #[serde(default = "default_environment")]
    pub environment: String,
    #[serde(default = "default_criticality")]
    pub criticality: Criticality,
    #[serde(default)]
    pub owner_team_id: Option<i64>,
    #[serde(default)]
    pub owner_person_id: Option<i64>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub description: String,
}

impl From<&Asset> for AssetInput {
    /// The input that would recreate `asset`, as a starting point for a change.
    fn from(a: &Asset) -> Self {
        AssetInput {
            name: a.name.clone(),
            kind: a.kind,
            environment: a.environment.clone(),
            criticality: a.criticality,
            owner_team_id: a.owner_team_id,
            owner_person_id: a.owner_person_id,
            tags: a.tags.clone(),
            description: a.description.clone(),
        }
    }
}

fn default_environment() -> String {
    "production".into()
}
fn default_criticality() -> Criticality {
    Criticality::Medium
}

impl AssetInput {
    /// Canonical form: tags trimmed, lower-cased, de-duplicated and sorted, so that
    /// "Web, web" and "web" are the same tag set everywhere.
    pub fn normalize(mut self) -> Self {
        self.environment = self.environment.trim().to_ascii_lowercase();
        let mut tags: Vec<String> = self
            .tags
            .iter()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        tags.sort();
        tags.dedup();
        self.tags = tags;
        self
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.name("name", &self.name, MAX_NAME);
        if !is_label(&self.environment) {
            v.error(
                "environment",
                "must be 1-32 characters of a-z, 0-9, '-' or '_'",
            );
        }
        if self.owner_team_id.is_some() && self.owner_person_id.is_some() {
            v.error(
                "owner",
                "an asset is owned by a team or by a person, not both",
            );
        }
        if self.tags.len() > MAX_TAGS {
            v.error("tags", format!("at most {MAX_TAGS} tags"));
        }
        for tag in &self.tags {
            if tag.is_empty()
                || tag.chars().count() > MAX_TAG
                || tag.chars().any(|c| c.is_control() || c == ';' || c == ',')
            {
                v.error("tags", format!("tag {tag:?} must be 1-{MAX_TAG} characters without ',' ';' or control characters"));
            }
        }
        v.text("description", &self.description, false, MAX_DESCRIPTION);
        v.finish()
    }
}

fn is_label(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Which assets a listing returns. Every field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssetFilter {
    /// Case-insensitive substring of the name or description.
    pub q: Option<String>,
    pub kind: Option<AssetKind>,
    pub environment: Option<String>,
    pub criticality: Option<Criticality>,
    pub tag: Option<String>,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AssetInput {
        AssetInput {
            name: "db-01".into(),
            kind: AssetKind::Host,
            environment: "Production ".into(),
            criticality: Criticality::High,
            owner_team_id: None,
            owner_person_id: None,
            tags: vec![" Web".into(), "web".into(), "".into(), "db".into()],
            description: String::new(),
        }
    }

    #[test]
    fn normalizes_tags_and_environment() {
        let a = input().normalize();
        assert_eq!(a.tags, ["db", "web"]);
        assert_eq!(a.environment, "production");
        assert!(a.validate().is_ok());
    }

    #[test]
    fn rejects_two_owners_and_bad_environment() {
        let mut a = input().normalize();
        a.owner_team_id = Some(1);
        a.owner_person_id = Some(2);
        a.environment = "prod env".into();
        let err = a.validate().unwrap_err();
        assert_eq!(err.errors.len(), 2);
    }

    #[test]
    fn parses_enums_case_insensitively() {
        assert_eq!("HOST".parse::<AssetKind>().unwrap(), AssetKind::Host);
        assert!("server"
            .parse::<AssetKind>()
            .unwrap_err()
            .contains("host, service"));
    }
}
