//! Suppliers and their contracts: what is stored, what callers send, and how it is checked.

use crate::notice::{notice_deadline, NoticePeriod, MAX_MONTHS};
use chrono::{DateTime, NaiveDate, Utc};
use opsward_core::{
    asset::Criticality,
    validation::{ValidationError, Validator},
};
use serde::{Deserialize, Serialize};

use utoipa::ToSchema;

pub const MAX_CONTACTS: usize = 20;
pub const MAX_ASSETS: usize = 100;

pub(crate) use opsward_core::text_enum;

/// Someone to call at the supplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = SupplierContact)]
pub struct Contact {
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    /// `account manager`, `support`, `escalation`, ...
    #[serde(default)]
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Supplier {
    pub id: i64,
    pub name: String,
    pub category: String,
    pub criticality: Criticality,
    pub contacts: Vec<Contact>,
    pub notes: String,
    /// The assets and services the supplier provides.
    pub asset_ids: Vec<i64>,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    /// The calendar activity that schedules this supplier's reviews.
    pub review_activity_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A supplier as a caller creates or replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SupplierInput {
    pub name: String,
    #[serde(default)]
    pub category: String,
    pub criticality: Criticality,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub asset_ids: Vec<i64>,
    #[serde(default)]
    pub owner_team_id: Option<i64>,
    #[serde(default)]
    pub owner_person_id: Option<i64>,
}

impl SupplierInput {
    pub fn normalize(mut self) -> Self {
        self.name = self.name.trim().to_string();
        self.category = self.category.trim().to_string();
        self.asset_ids.sort_unstable();
        self.asset_ids.dedup();
        for c in &mut self.contacts {
            c.name = c.name.trim().to_string();
            c.email = c.email.trim().to_string();
            c.phone = c.phone.trim().to_string();
            c.role = c.role.trim().to_string();
        }
        self
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.name("name", &self.name, 200);
        v.text("category", &self.category, false, 100);
        v.text("notes", &self.notes, false, 20_000);
        if self.contacts.len() > MAX_CONTACTS {
            v.error("contacts", format!("at most {MAX_CONTACTS} contacts"));
        }
        for c in &self.contacts {
            v.name("contacts.name", &c.name, 200);
            if !c.email.is_empty() {
                v.email("contacts.email", &c.email);
            }
            v.text("contacts.phone", &c.phone, false, 50);
            v.text("contacts.role", &c.role, false, 100);
        }
        if self.asset_ids.len() > MAX_ASSETS {
            v.error("asset_ids", format!("at most {MAX_ASSETS} assets"));
        }
        if self.owner_team_id.is_some() && self.owner_person_id.is_some() {
            v.error(
                "owner",
                "a supplier is owned by a team or by a person, not both",
            );
        }
        v.finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SupplierFilter {
    pub criticality: Option<Criticality>,
    pub category: Option<String>,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    /// Part of the name, case-insensitive.
    pub q: Option<String>,
}

text_enum! {
    /// What happens at the end of a term.
    RenewalType {
        /// Tacit: the contract rolls forward by its renewal term unless notice is given by
        /// the notice deadline.
        Automatic => "automatic",
        /// The contract ends unless someone renews it.
        Express => "express",
    }
}

text_enum! {
    /// What was decided about a contract's current term.
    DecisionKind { Renew => "renew", Terminate => "terminate", Renegotiate => "renegotiate" }
}

text_enum! {
    /// Where a contract stands today, derived from its dates and decisions.
    ContractStatus {
        Active => "active",
        /// Ends at the end of the current term (notice given, or express and not renewed).
        Ending => "ending",
        Ended => "ended",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Contract {
    pub id: i64,
    pub supplier_id: i64,
    pub title: String,
    pub reference: String,
    pub start_date: NaiveDate,
    /// End of the current term.
    pub end_date: NaiveDate,
    /// End of the first term; later terms are counted from it.
    pub anchor_end_date: NaiveDate,
    /// How many times the contract has been renewed.
    pub renewal_count: i32,
    pub notice: NoticePeriod,
    /// Last day on which notice can be given for the current term.
    pub notice_deadline: NaiveDate,
    pub renewal_type: RenewalType,
    pub renewal_term_months: i32,
    /// Decimal text, e.g. `48000.00`.
    pub value: Option<String>,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: Option<String>,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    /// The decision taken for the current term, if any.
    pub term_decision: Option<DecisionKind>,
    pub status: ContractStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Contract {
    /// Whether the contract stops at the end of its current term.
    pub fn ends_at_term_end(&self) -> bool {
        match self.renewal_type {
            RenewalType::Automatic => self.term_decision == Some(DecisionKind::Terminate),
            RenewalType::Express => self.term_decision != Some(DecisionKind::Renew),
        }
    }

    pub fn status_on(&self, today: NaiveDate) -> ContractStatus {
        if !self.ends_at_term_end() {
            ContractStatus::Active
        } else if today > self.end_date {
            ContractStatus::Ended
        } else {
            ContractStatus::Ending
        }
    }
}

/// A contract as a caller creates or replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContractInput {
    pub supplier_id: i64,
    pub title: String,
    #[serde(default)]
    pub reference: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub notice: NoticePeriod,
    pub renewal_type: RenewalType,
    /// Length of a renewed term; for automatic contracts the tacit roll-forward.
    #[serde(default = "default_term")]
    pub renewal_term_months: i32,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub owner_team_id: Option<i64>,
    #[serde(default)]
    pub owner_person_id: Option<i64>,
}

fn default_term() -> i32 {
    12
}

impl ContractInput {
    pub fn normalize(mut self) -> Self {
        self.title = self.title.trim().to_string();
        self.reference = self.reference.trim().to_string();
        self.value = self
            .value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        self.currency = self
            .currency
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty());
        self
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.name("title", &self.title, 200);
        v.text("reference", &self.reference, false, 100);
        if self.end_date < self.start_date {
            v.error("end_date", "is before start_date");
        }
        if !self.notice.is_valid() {
            v.error("notice", "must be 0-3660 days or 0-120 months");
        } else if notice_deadline(self.end_date, self.notice) < self.start_date {
            v.error(
                "notice",
                "the notice deadline would fall before the start date",
            );
        }
        if !(1..=MAX_MONTHS).contains(&self.renewal_term_months) {
            v.error("renewal_term_months", format!("must be 1-{MAX_MONTHS}"));
        }
        if let Some(value) = &self.value {
            if !is_decimal(value) {
                v.error(
                    "value",
                    "must be a non-negative amount like 48000 or 48000.50",
                );
            }
        }
        match (&self.value, &self.currency) {
            (Some(_), None) => v.error("currency", "is required with a value"),
            (_, Some(c)) if !(c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase())) => v
                .error(
                    "currency",
                    "must be a three-letter ISO 4217 code such as EUR",
                ),
            _ => {}
        }
        if self.owner_team_id.is_some() && self.owner_person_id.is_some() {
            v.error(
                "owner",
                "a contract is owned by a team or by a person, not both",
            );
        }
        v.finish()
    }
}

/// Up to 15 digits and at most two decimals: enough for any contract, exact as text.
fn is_decimal(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    !whole.is_empty()
        && whole.len() <= 15
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.len() <= 2
        && fraction.chars().all(|c| c.is_ascii_digit())
        && !(text.contains('.') && fraction.is_empty())
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContractFilter {
    pub supplier_id: Option<i64>,
    /// Contracts whose current term ends on or before this day (and not before `from`).
    pub ends_by: Option<NaiveDate>,
    pub ends_from: Option<NaiveDate>,
}

impl ContractFilter {
    /// Contracts whose current term ends within `days` days from `today`.
    pub fn expiring_within(today: NaiveDate, days: i64) -> Self {
        ContractFilter {
            supplier_id: None,
            ends_from: Some(today),
            ends_by: Some(today + chrono::Duration::days(days)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    pub id: i64,
    pub contract_id: i64,
    pub decision: DecisionKind,
    /// End of the term the decision was about.
    pub term_end_date: NaiveDate,
    pub note: String,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DecisionInput {
    pub decision: DecisionKind,
    #[serde(default)]
    pub note: String,
}

impl DecisionInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.text("note", &self.note, false, 4000);
        v.finish()
    }
}

/// One change of term: tacit (the scheduler rolled it) or express (someone renewed it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Renewal {
    pub id: i64,
    pub contract_id: i64,
    /// `tacit` or `express`.
    pub kind: String,
    pub from_end_date: NaiveDate,
    pub to_end_date: NaiveDate,
    pub renewed_by: String,
    pub renewed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContractDocument {
    pub id: i64,
    pub contract_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_plain_decimals() {
        for ok in ["0", "48000", "48000.5", "48000.50"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in [
            "",
            "-1",
            "1.",
            ".5",
            "1.234",
            "1e5",
            "1,000",
            "1234567890123456",
        ] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }

    #[test]
    fn express_contracts_end_unless_renewed() {
        let c = Contract {
            id: 1,
            supplier_id: 1,
            title: "t".into(),
            reference: String::new(),
            start_date: "2024-01-01".parse().unwrap(),
            end_date: "2024-12-31".parse().unwrap(),
            anchor_end_date: "2024-12-31".parse().unwrap(),
            renewal_count: 0,
            notice: NoticePeriod::months(3),
            notice_deadline: "2024-09-30".parse().unwrap(),
            renewal_type: RenewalType::Express,
            renewal_term_months: 12,
            value: None,
            currency: None,
            owner_team_id: None,
            owner_person_id: None,
            term_decision: None,
            status: ContractStatus::Active,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(c.status_on(day("2024-06-01")), ContractStatus::Ending);
        assert_eq!(c.status_on(day("2025-01-01")), ContractStatus::Ended);
        let auto = Contract {
            renewal_type: RenewalType::Automatic,
            ..c.clone()
        };
        assert_eq!(auto.status_on(day("2024-06-01")), ContractStatus::Active);
        let terminated = Contract {
            term_decision: Some(DecisionKind::Terminate),
            ..auto
        };
        assert_eq!(
            terminated.status_on(day("2024-06-01")),
            ContractStatus::Ending
        );
    }
}
