//! Records by name instead of by id: the teams, people and assets a page mentions, each
//! fetched with one query per kind (never one per row), and the links to their pages.
//!
//! Teams and people have no page of their own; their rows on `/teams` carry anchors
//! (`#team-3`, `#person-4`) so a link lands on the record.

use crate::AppState;
use opsward_store::StoreError;
use std::collections::HashMap;

/// Names by id for the records pages refer to.
#[derive(Debug, Default, Clone)]
pub struct Names {
    teams: HashMap<i64, String>,
    people: HashMap<i64, String>,
    assets: HashMap<i64, String>,
}

/// A record's name and where it lives, ready for `<a href="{{ href }}">{{ name }}</a>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedLink {
    pub name: String,
    pub href: String,
}

impl Names {
    /// Teams, people and assets by name: three queries whatever the page shows.
    pub async fn load(state: &AppState) -> Result<Names, StoreError> {
        let teams = state.store.list_teams().await?;
        let people = state.store.list_people().await?;
        let assets = state.ops.asset_names().await?;
        Ok(Names {
            teams: teams.into_iter().map(|t| (t.id, t.name)).collect(),
            people: people.into_iter().map(|p| (p.id, p.name)).collect(),
            assets,
        })
    }

    /// Teams and people only, for pages that mention no asset.
    pub async fn load_owners(state: &AppState) -> Result<Names, StoreError> {
        let teams = state.store.list_teams().await?;
        let people = state.store.list_people().await?;
        Ok(Names {
            teams: teams.into_iter().map(|t| (t.id, t.name)).collect(),
            people: people.into_iter().map(|p| (p.id, p.name)).collect(),
            assets: HashMap::new(),
        })
    }

    pub fn team(&self, id: i64) -> NamedLink {
        NamedLink {
            name: self
                .teams
                .get(&id)
                .cloned()
                .unwrap_or_else(|| "a deleted team".into()),
            href: format!("/teams#team-{id}"),
        }
    }

    pub fn person(&self, id: i64) -> NamedLink {
        NamedLink {
            name: self
                .people
                .get(&id)
                .cloned()
                .unwrap_or_else(|| "a deleted person".into()),
            href: format!("/teams#person-{id}"),
        }
    }

    pub fn asset(&self, id: i64) -> NamedLink {
        NamedLink {
            name: self
                .assets
                .get(&id)
                .cloned()
                .unwrap_or_else(|| "a deleted asset".into()),
            href: format!("/assets/{id}"),
        }
    }

    /// The owner a record names: its team, else its person, else nobody.
    pub fn owner(&self, team: Option<i64>, person: Option<i64>) -> Option<NamedLink> {
        match (team, person) {
            (Some(t), _) => Some(self.team(t)),
            (None, Some(p)) => Some(self.person(p)),
            (None, None) => None,
        }
    }

    /// The name behind an id-valued field of a history or audit record (`team_id`,
    /// `owner_person_id`, `asset_id` ...), or `None` when the field holds no such id.
    pub fn of_field(&self, field: &str, id: i64) -> Option<String> {
        let link = if field.ends_with("team_id") {
            self.team(id)
        } else if field.ends_with("person_id") {
            self.person(id)
        } else if field.ends_with("asset_id") {
            self.asset(id)
        } else {
            return None;
        };
        Some(link.name)
    }

    /// Asset choices for a filter or form select, by name.
    pub fn asset_choices(&self, selected: Option<i64>) -> Vec<super::Choice> {
        let mut assets: Vec<_> = self.assets.iter().collect();
        assets.sort_by_key(|a| a.1.to_lowercase());
        assets
            .into_iter()
            .map(|(id, name)| super::Choice {
                value: id.to_string(),
                label: name.clone(),
                selected: Some(*id) == selected,
            })
            .collect()
    }
}

impl Names {
    /// Whether a record of an audit `entity_type` still exists, as far as these names
    /// know: teams, people and assets are checked, other kinds are taken to exist.
    pub fn exists(&self, entity_type: &str, id: i64) -> bool {
        match entity_type {
            "team" => self.teams.contains_key(&id),
            "person" => self.people.contains_key(&id),
            "asset" => self.assets.contains_key(&id),
            _ => true,
        }
    }

    /// The name of a team, person or asset named by an audit entry.
    pub fn entity_name(&self, entity_type: &str, id: i64) -> Option<String> {
        match entity_type {
            "team" => self.teams.get(&id).cloned(),
            "person" => self.people.get(&id).cloned(),
            "asset" => self.assets.get(&id).cloned(),
            _ => None,
        }
    }
}

/// A backlog item's state, stored as text by other practices' links, as its label.
pub fn item_state_label(state: &str) -> String {
    match state.parse::<opsward_backlog::workflow::ItemState>() {
        Ok(s) => s.label().to_string(),
        Err(_) => opsward_core::label::humanise(state),
    }
}

/// The page of an audited record, where it has one, by its audit `entity_type`.
pub fn entity_href(entity_type: &str, id: i64) -> Option<String> {
    let path = match entity_type {
        "asset" => format!("/assets/{id}"),
        "team" => format!("/teams#team-{id}"),
        "person" => format!("/teams#person-{id}"),
        "backlog_item" => format!("/backlog/{id}"),
        "vuln_finding" => format!("/vulns/findings/{id}"),
        "supplier" => format!("/suppliers/{id}"),
        "customer" => format!("/customers/{id}"),
        "patch_host" => format!("/patches/hosts/{id}"),
        "resilience_measure" => format!("/resilience/{id}"),
        "activity" => format!("/calendar/activities/{id}"),
        "certificate" => format!("/certificates/{id}"),
        _ => return None,
    };
    Some(path)
}
