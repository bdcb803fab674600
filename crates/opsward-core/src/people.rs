//! Teams and people: the owners and contacts behind every asset and activity.

use crate::validation::{ValidationError, Validator};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Team {
    pub id: i64,
    pub name: String,
    /// Shared mailbox for the team, where notifications go when no person is named.
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TeamInput {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
}

impl TeamInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.name("name", &self.name, 128);
        if let Some(email) = &self.email {
            v.email("email", email);
        }
        v.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub team_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PersonInput {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub team_id: Option<i64>,
}

impl PersonInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.name("name", &self.name, 128);
        v.email("email", &self.email);
        v.finish()
    }
}
