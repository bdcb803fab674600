//! The states a work item moves through and which moves are allowed.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    New,
    Triaged,
    InProgress,
    WaitingCustomer,
    WaitingSupplier,
    WaitingChange,
    Resolved,
    /// Final: a closed item is never reopened; a recurrence is a new item.
    Closed,
}

/// A move the workflow does not allow, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot move an item from {from} to {to}: {reason}")]
pub struct TransitionError {
    pub from: ItemState,
    pub to: ItemState,
    pub reason: String,
}

impl ItemState {
    pub const ALL: [ItemState; 8] = [
        ItemState::New,
        ItemState::Triaged,
        ItemState::InProgress,
        ItemState::WaitingCustomer,
        ItemState::WaitingSupplier,
        ItemState::WaitingChange,
        ItemState::Resolved,
        ItemState::Closed,
    ];

    /// What people read in lists, filters and history.
    pub fn label(self) -> &'static str {
        match self {
            ItemState::New => "New",
            ItemState::Triaged => "Triaged",
            ItemState::InProgress => "In progress",
            ItemState::WaitingCustomer => "Waiting for the customer",
            ItemState::WaitingSupplier => "Waiting for the supplier",
            ItemState::WaitingChange => "Waiting for a change",
            ItemState::Resolved => "Resolved",
            ItemState::Closed => "Closed",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::New => "new",
            ItemState::Triaged => "triaged",
            ItemState::InProgress => "in_progress",
            ItemState::WaitingCustomer => "waiting_customer",
            ItemState::WaitingSupplier => "waiting_supplier",
            ItemState::WaitingChange => "waiting_change",
            ItemState::Resolved => "resolved",
            ItemState::Closed => "closed",
        }
    }

    /// Open items still need work; they are the ones that age.
    pub fn is_open(self) -> bool {
        !matches!(self, ItemState::Resolved | ItemState::Closed)
    }

    /// Waiting on someone outside the team: the SLA clocks stand still. Waiting on a
    /// change is the team's own doing and counts.
    pub fn pauses_sla(self) -> bool {
        matches!(
            self,
            ItemState::WaitingCustomer | ItemState::WaitingSupplier
        )
    }

    fn is_waiting(self) -> bool {
        matches!(
            self,
            ItemState::WaitingCustomer | ItemState::WaitingSupplier | ItemState::WaitingChange
        )
    }

    /// The states reachable in one step from this one.
    pub fn next_states(self) -> Vec<ItemState> {
        ItemState::ALL
            .into_iter()
            .filter(|to| self.can_move_to(*to))
            .collect()
    }

    /// new -> triaged -> in_progress -> (waiting_* <-> in_progress) -> resolved -> closed;
    /// a resolved item may be reopened into in_progress.
    pub fn can_move_to(self, to: ItemState) -> bool {
        use ItemState::*;
        match (self, to) {
            (New, Triaged) | (Triaged, InProgress) => true,
            (InProgress, t) if t.is_waiting() || t == Resolved => true,
            (w, InProgress | Resolved) if w.is_waiting() => true,
            (Resolved, Closed | InProgress) => true,
            _ => false,
        }
    }

    /// Check a move; staying in the same state is not a move and always allowed.
    pub fn transition(self, to: ItemState) -> Result<ItemState, TransitionError> {
        if self == to || self.can_move_to(to) {
            return Ok(to);
        }
        let reason = if self == ItemState::Closed {
            "closed is final; file a new item instead".to_string()
        } else {
            let allowed: Vec<&str> = self.next_states().iter().map(|s| s.as_str()).collect();
            format!("allowed next states are {}", allowed.join(", "))
        };
        Err(TransitionError {
            from: self,
            to,
            reason,
        })
    }
}

impl fmt::Display for ItemState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ItemState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.trim().to_ascii_lowercase();
        ItemState::ALL
            .into_iter()
            .find(|st| st.as_str() == wanted)
            .ok_or_else(|| format!("{s:?} is not a backlog state"))
    }
}

#[cfg(test)]
mod tests {
    use super::ItemState::*;
    use super::*;

    #[test]
    fn happy_path_through_every_waiting_state() {
        let path = [New, Triaged, InProgress, WaitingCustomer, InProgress];
        for pair in path.windows(2) {
            assert!(pair[0].can_move_to(pair[1]), "{} -> {}", pair[0], pair[1]);
        }
        for waiting in [WaitingCustomer, WaitingSupplier, WaitingChange] {
            assert!(InProgress.can_move_to(waiting));
            assert!(waiting.can_move_to(Resolved));
            assert!(waiting.can_move_to(InProgress));
        }
        assert!(InProgress.can_move_to(Resolved));
        assert!(Resolved.can_move_to(Closed));
    }

    #[test]
    fn reopen_resolved_but_closed_is_final() {
        assert_eq!(Resolved.transition(InProgress), Ok(InProgress));
        for to in ItemState::ALL {
            if to != Closed {
                let err = Closed.transition(to).unwrap_err();
                assert!(err.to_string().contains("closed is final"), "{err}");
            }
        }
        assert!(Closed.next_states().is_empty());
    }

    #[test]
    fn skipping_steps_is_refused_with_the_allowed_states() {
        let err = New.transition(Resolved).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot move an item from new to resolved: allowed next states are triaged"
        );
        assert!(!New.can_move_to(InProgress));
        assert!(!Triaged.can_move_to(WaitingChange));
        assert!(!WaitingSupplier.can_move_to(Closed));
        assert!(!InProgress.can_move_to(New));
    }

    #[test]
    fn same_state_is_not_a_move() {
        for s in ItemState::ALL {
            assert_eq!(s.transition(s), Ok(s));
            assert!(!s.can_move_to(s));
        }
    }

    #[test]
    fn parses_its_own_names_only() {
        for s in ItemState::ALL {
            assert_eq!(s.as_str().parse::<ItemState>(), Ok(s));
        }
        assert!("done".parse::<ItemState>().is_err());
    }
}
