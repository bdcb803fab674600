//! Who owns a backlog item: its team and its assignee, chosen by name in the item's forms,
//! shown by name on its page and in the list, and filterable there (issue 20 item 9).

use super::Choice;
use crate::AppState;
use opsward_core::people::{Person, Team};
use opsward_store::StoreError;

/// Every team and person, to name owners and offer them in selects.
pub struct Owners {
    pub teams: Vec<Team>,
    pub people: Vec<Person>,
}

impl Owners {
    pub async fn load(state: &AppState) -> Result<Owners, StoreError> {
        Ok(Owners {
            teams: state.store.list_teams().await?,
            people: state.store.list_people().await?,
        })
    }

    /// The team's name, or empty for none (or one deleted since).
    pub fn team_name(&self, id: Option<i64>) -> String {
        id.and_then(|id| self.teams.iter().find(|t| t.id == id))
            .map(|t| t.name.clone())
            .unwrap_or_default()
    }

    pub fn person_name(&self, id: Option<i64>) -> String {
        id.and_then(|id| self.people.iter().find(|p| p.id == id))
            .map(|p| p.name.clone())
            .unwrap_or_default()
    }

    pub fn team_choices(&self, selected: Option<i64>) -> Vec<Choice> {
        self.teams
            .iter()
            .map(|t| Choice {
                value: t.id.to_string(),
                label: t.name.clone(),
                selected: Some(t.id) == selected,
            })
            .collect()
    }

    pub fn person_choices(&self, selected: Option<i64>) -> Vec<Choice> {
        self.people
            .iter()
            .map(|p| Choice {
                value: p.id.to_string(),
                label: p.name.clone(),
                selected: Some(p.id) == selected,
            })
            .collect()
    }
}

/// A select's value: empty is nobody, anything else the id of one of the options.
pub fn chosen(field: &str, value: &str) -> Result<Option<i64>, String> {
    match value.trim() {
        "" => Ok(None),
        v => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| format!("{field}: choose one from the list")),
    }
}
