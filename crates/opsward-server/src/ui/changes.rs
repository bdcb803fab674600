//! What changed, said in words: "changed state from In progress to Done". History rows
//! keep each changed field as `{"before", "after"}` and audit rows keep whole before and
//! after snapshots; both become a list of [`FieldChange`]s with names instead of ids and
//! labels instead of stored identifiers.

use super::names::Names;
use opsward_core::label::humanise;
use serde_json::Value;

/// One field's old and new value, ready to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// Fields whose values are stored identifiers (states, kinds, severities) and read better
/// as labels ("in_progress" as "In progress").
const LABELLED_FIELDS: &[&str] = &[
    "state",
    "status",
    "severity",
    "min_severity",
    "priority",
    "kind",
    "result",
    "outcome",
    "decision",
    "category",
    "role",
    "item_type",
    "criticality",
    "practice",
    "relation",
];

/// Bookkeeping that changes with every edit and says nothing to a reader.
const SKIPPED_FIELDS: &[&str] = &["version", "updated_at", "created_at", "id"];

/// Longest value shown in full; longer ones (descriptions, documents) are cut.
const MAX_VALUE_CHARS: usize = 80;

/// From a history row's `{"field": {"before": .., "after": ..}}`.
pub fn from_history(changes: &Value, names: &Names) -> Vec<FieldChange> {
    let Some(fields) = changes.as_object() else {
        return Vec::new();
    };
    fields
        .iter()
        .filter(|(field, _)| !SKIPPED_FIELDS.contains(&field.as_str()))
        .map(|(field, change)| FieldChange {
            field: field_label(field),
            before: value_text(field, change.get("before").unwrap_or(&Value::Null), names),
            after: value_text(field, change.get("after").unwrap_or(&Value::Null), names),
        })
        .collect()
}

/// From an audit row's snapshots: every top-level field whose value differs, in the
/// snapshot's order. A create has no before and a delete no after; their fields read
/// from and to "none".
pub fn from_snapshots(
    before: Option<&Value>,
    after: Option<&Value>,
    names: &Names,
) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let old = before.and_then(Value::as_object).unwrap_or(&empty);
    let new = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut fields: Vec<&String> = old.keys().collect();
    fields.extend(new.keys().filter(|k| !old.contains_key(*k)));
    let mut changes: Vec<FieldChange> = fields
        .into_iter()
        .filter(|field| !SKIPPED_FIELDS.contains(&field.as_str()))
        .filter(|field| old.get(*field) != new.get(*field))
        .map(|field| FieldChange {
            field: field_label(field),
            before: value_text(field, old.get(field).unwrap_or(&Value::Null), names),
            after: value_text(field, new.get(field).unwrap_or(&Value::Null), names),
        })
        .collect();
    // A snapshot that is not an object (a count, a list) is shown whole.
    if changes.is_empty()
        && (before.is_some_and(|b| !b.is_object()) || after.is_some_and(|a| !a.is_object()))
    {
        changes.push(FieldChange {
            field: "Value".into(),
            before: value_text("", before.unwrap_or(&Value::Null), names),
            after: value_text("", after.unwrap_or(&Value::Null), names),
        });
    }
    changes
}

/// "changed state from In progress to Done and team from none to Operations".
pub fn sentence(changes: &[FieldChange]) -> String {
    if changes.is_empty() {
        return "changed nothing visible".into();
    }
    let parts: Vec<String> = changes
        .iter()
        .map(|c| {
            format!(
                "{} from {} to {}",
                c.field.to_lowercase(),
                c.before,
                c.after
            )
        })
        .collect();
    format!("changed {}", parts.join(" and "))
}

/// `assignee_person_id` reads "Assignee", `owner_team_id` "Owner team", `due_at` "Due".
fn field_label(field: &str) -> String {
    let trimmed = field
        .strip_suffix("_person_id")
        .or_else(|| field.strip_suffix("_id"))
        .or_else(|| field.strip_suffix("_at"))
        .unwrap_or(field);
    let trimmed = if trimmed.is_empty() { field } else { trimmed };
    humanise(trimmed)
}

fn value_text(field: &str, value: &Value, names: &Names) -> String {
    let text = match value {
        Value::Null => "none".to_string(),
        Value::Bool(true) => "yes".to_string(),
        Value::Bool(false) => "no".to_string(),
        Value::Number(n) => match n.as_i64().and_then(|id| names.of_field(field, id)) {
            Some(name) => name,
            None => n.to_string(),
        },
        // Backlog states have labels of their own ("Waiting for the customer").
        Value::String(s) if field == "state" => super::names::item_state_label(s),
        Value::String(s) if LABELLED_FIELDS.contains(&field) => humanise(s),
        Value::String(s) if s.is_empty() => "empty".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "none".to_string(),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        // A nested record (a schedule, a measure in its envelope) reads field by field.
        Value::Object(fields) => fields
            .iter()
            .filter(|(k, _)| !SKIPPED_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| format!("{}: {}", field_label(k), value_text(k, v, names)))
            .collect::<Vec<_>>()
            .join("; "),
    };
    if text.chars().count() > MAX_VALUE_CHARS {
        let cut: String = text.chars().take(MAX_VALUE_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn history_reads_from_and_to() {
        let changes = json!({"state": {"before": "in_progress", "after": "resolved"}, "version": {"before": 1, "after": 2}});
        let list = from_history(&changes, &Names::default());
        assert_eq!(
            sentence(&list),
            "changed state from In progress to Resolved"
        );
    }

    #[test]
    fn snapshots_show_only_what_differs() {
        let before = json!({"name": "db1", "criticality": "high", "owner_team_id": null});
        let after = json!({"name": "db1", "criticality": "critical", "owner_team_id": null});
        let list = from_snapshots(Some(&before), Some(&after), &Names::default());
        assert_eq!(
            list,
            vec![FieldChange {
                field: "Criticality".into(),
                before: "High".into(),
                after: "Critical".into()
            }]
        );
    }

    #[test]
    fn field_names_drop_their_id_suffix() {
        assert_eq!(field_label("assignee_person_id"), "Assignee");
        assert_eq!(field_label("owner_team_id"), "Owner team");
        assert_eq!(field_label("due_at"), "Due");
    }
}
