//! Work items, what a caller sends to create or change one, comments and history.

use crate::{
    priority::{Priority, WsjfInput, WSJF_MAX},
    workflow::ItemState,
};
use chrono::{DateTime, Utc};
use opsward_core::validation::{ValidationError, Validator};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use utoipa::ToSchema;

pub const MAX_TAGS: usize = 20;
pub const MAX_ASSETS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemType {
    /// The unknown cause of one or more incidents.
    Problem,
    /// An interruption small enough to wait in the backlog.
    Incident,
    /// Work that makes things better; ranked by WSJF.
    Improvement,
    Risk,
}

impl ItemType {
    pub const ALL: [ItemType; 4] = [
        ItemType::Problem,
        ItemType::Incident,
        ItemType::Improvement,
        ItemType::Risk,
    ];
    /// What people read in lists, filters and history.
    pub fn label(self) -> &'static str {
        match self {
            ItemType::Problem => "Problem",
            ItemType::Incident => "Incident",
            ItemType::Improvement => "Improvement",
            ItemType::Risk => "Risk",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::Problem => "problem",
            ItemType::Incident => "incident",
            ItemType::Improvement => "improvement",
            ItemType::Risk => "risk",
        }
    }
}

impl fmt::Display for ItemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ItemType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.trim().to_ascii_lowercase();
        ItemType::ALL
            .into_iter()
            .find(|t| t.as_str() == wanted)
            .ok_or_else(|| format!("{s:?} is not one of problem, incident, improvement, risk"))
    }
}

/// A backlog entry as stored, with its derived priority and WSJF score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Item {
    pub id: i64,
    pub item_type: ItemType,
    pub title: String,
    /// Plain text.
    pub description: String,
    pub state: ItemState,
    /// ITIL impact, 1 (high) to 3 (low).
    pub impact: i32,
    /// ITIL urgency, 1 (high) to 3 (low).
    pub urgency: i32,
    pub priority: Priority,
    /// Only improvements carry WSJF inputs.
    pub wsjf: Option<WsjfInput>,
    pub wsjf_score: Option<f64>,
    pub team_id: Option<i64>,
    pub assignee_person_id: Option<i64>,
    pub tags: Vec<String>,
    pub asset_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Grows by one with every change; send it back with an update so a change made
    /// meanwhile by someone else is refused instead of overwritten.
    pub version: i64,
    /// When the item first had an assignee: stops the time-to-own clock.
    pub owned_at: Option<DateTime<Utc>>,
    /// When the item was resolved; cleared when it is reopened.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A new item. It always starts in `new`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ItemInput {
    pub item_type: ItemType,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_level")]
    pub impact: i32,
    #[serde(default = "default_level")]
    pub urgency: i32,
    #[serde(default)]
    pub wsjf: Option<WsjfInput>,
    #[serde(default)]
    pub team_id: Option<i64>,
    #[serde(default)]
    pub assignee_person_id: Option<i64>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub asset_ids: Vec<i64>,
}

fn default_level() -> i32 {
    3
}

/// A change to an item: only the fields present change. `Some(None)` clears an optional
/// field (JSON `null`), an absent key leaves it alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ItemPatch {
    /// The `version` of the item this change was based on. When the item changed since,
    /// the update is refused with 409 `version_conflict`. Without it the change applies
    /// to whatever is stored (last writer wins).
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub item_type: Option<ItemType>,
    /// Moved through the workflow; an illegal move is refused.
    #[serde(default)]
    pub state: Option<ItemState>,
    #[serde(default)]
    pub impact: Option<i32>,
    #[serde(default)]
    pub urgency: Option<i32>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<WsjfInput>)]
    pub wsjf: Option<Option<WsjfInput>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<Option<i64>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub assignee_person_id: Option<Option<i64>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub asset_ids: Option<Vec<i64>>,
}

/// Tells a JSON `null` (clear) from a missing key (keep).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    pub fn serialize<T: Serialize, S: Serializer>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            None => s.serialize_none(),
            Some(inner) => inner.serialize(s),
        }
    }
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Comment {
    pub id: i64,
    pub item_id: i64,
    /// `user:alice`, `token:alice/ci`, `cli:root`.
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CommentInput {
    pub body: String,
}

impl CommentInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.text("body", &self.body, true, 20_000);
        v.finish()
    }
}

/// One change to an item: who, when, and each changed field's value before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    pub item_id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// `create` (changes hold the new item), `update` (each changed field as
    /// `{"before", "after"}`) or `comment` (changes hold the `comment_id`).
    pub action: String,
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

/// Which items a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogItemFilter)]
pub struct ItemFilter {
    #[serde(default)]
    pub state: Option<ItemState>,
    #[serde(default)]
    pub item_type: Option<ItemType>,
    #[serde(default)]
    pub team_id: Option<i64>,
    #[serde(default)]
    pub assignee_person_id: Option<i64>,
    /// Full-text query over title and description.
    #[serde(default)]
    pub q: Option<String>,
}

/// The stored fields of an item, what both create and update write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ItemFields {
    pub item_type: ItemType,
    pub title: String,
    pub description: String,
    pub state: ItemState,
    pub impact: i32,
    pub urgency: i32,
    pub wsjf: Option<WsjfInput>,
    pub team_id: Option<i64>,
    pub assignee_person_id: Option<i64>,
    pub tags: Vec<String>,
    pub asset_ids: Vec<i64>,
}

impl ItemFields {
    pub fn from_input(input: &ItemInput) -> Self {
        ItemFields {
            item_type: input.item_type,
            title: input.title.trim().to_string(),
            description: input.description.clone(),
            state: ItemState::New,
            impact: input.impact,
            urgency: input.urgency,
            wsjf: input.wsjf,
            team_id: input.team_id,
            assignee_person_id: input.assignee_person_id,
            tags: normalize_tags(&input.tags),
            asset_ids: input.asset_ids.clone(),
        }
    }

    pub fn of(item: &Item) -> Self {
        ItemFields {
            item_type: item.item_type,
            title: item.title.clone(),
            description: item.description.clone(),
            state: item.state,
            impact: item.impact,
            urgency: item.urgency,
            wsjf: item.wsjf,
            team_id: item.team_id,
            assignee_person_id: item.assignee_person_id,
            tags: item.tags.clone(),
            asset_ids: item.asset_ids.clone(),
        }
    }

    /// The fields after `patch`; the state change is checked separately by the workflow.
    pub fn patched(&self, patch: &ItemPatch) -> Self {
        let mut f = self.clone();
        if let Some(t) = &patch.title {
            f.title = t.trim().to_string();
        }
        if let Some(d) = &patch.description {
            f.description = d.clone();
        }
        if let Some(t) = patch.item_type {
            f.item_type = t;
        }
        if let Some(s) = patch.state {
            f.state = s;
        }
        if let Some(i) = patch.impact {
            f.impact = i;
        }
        if let Some(u) = patch.urgency {
            f.urgency = u;
        }
        if let Some(w) = patch.wsjf {
            f.wsjf = w;
        }
        if let Some(t) = patch.team_id {
            f.team_id = t;
        }
        if let Some(a) = patch.assignee_person_id {
            f.assignee_person_id = a;
        }
        if let Some(t) = &patch.tags {
            f.tags = normalize_tags(t);
        }
        if let Some(a) = &patch.asset_ids {
            f.asset_ids = a.clone();
        }
        f
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.name("title", &self.title, 200);
        v.text("description", &self.description, false, 20_000);
        for (field, value) in [("impact", self.impact), ("urgency", self.urgency)] {
            if !(1..=3).contains(&value) {
                v.error(field, "must be 1 (high), 2 or 3 (low)");
            }
        }
        if let Some(w) = self.wsjf {
            if self.item_type != ItemType::Improvement {
                v.error("wsjf", "only improvements are ranked by WSJF");
            } else if w.score().is_none() {
                v.error("wsjf", format!("every WSJF value must be 1-{WSJF_MAX}"));
            }
        }
        if self.tags.len() > MAX_TAGS {
            v.error("tags", format!("at most {MAX_TAGS} tags"));
        }
        for tag in &self.tags {
            if tag.chars().count() > 50 || tag.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                v.error(
                    "tags",
                    format!("{tag:?} is not a tag (one word, at most 50 characters)"),
                );
            }
        }
        if self.asset_ids.len() > MAX_ASSETS {
            v.error("asset_ids", format!("at most {MAX_ASSETS} linked assets"));
        }
        v.finish()
    }
}

/// Lower-case, trimmed, without empties or repeats, in first-seen order.
fn normalize_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim().to_lowercase();
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ItemInput {
        serde_json::from_value(serde_json::json!({
            "item_type": "improvement", "title": " Automate cert renewal ", "tags": ["TLS", "tls", " pki "]
        }))
        .unwrap()
    }

    #[test]
    fn create_defaults_and_normalises() {
        let f = ItemFields::from_input(&input());
        assert_eq!(f.title, "Automate cert renewal");
        assert_eq!(f.tags, ["tls", "pki"]);
        assert_eq!((f.state, f.impact, f.urgency), (ItemState::New, 3, 3));
        assert!(f.validate().is_ok());
    }

    #[test]
    fn patch_null_clears_and_missing_keeps() {
        let mut f = ItemFields::from_input(&input());
        f.team_id = Some(4);
        f.assignee_person_id = Some(7);
        let patch: ItemPatch =
            serde_json::from_value(serde_json::json!({"assignee_person_id": null, "urgency": 1}))
                .unwrap();
        let after = f.patched(&patch);
        assert_eq!(after.assignee_person_id, None);
        assert_eq!(after.team_id, Some(4));
        assert_eq!(after.urgency, 1);
    }

    #[test]
    fn wsjf_only_for_improvements_and_levels_bounded() {
        let mut f = ItemFields::from_input(&input());
        f.wsjf = Some(WsjfInput {
            business_value: 1,
            time_criticality: 1,
            risk_reduction: 1,
            job_size: 1,
        });
        assert!(f.validate().is_ok());
        f.item_type = ItemType::Risk;
        f.impact = 4;
        let err = f.validate().unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["impact", "wsjf"]);
    }
}
