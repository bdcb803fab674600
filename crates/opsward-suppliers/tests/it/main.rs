//! Supplier storage, contract renewals and alerts, and reviews, on SQLite and PostgreSQL.

mod alerts;
mod contracts;
mod practice;
mod reviews;
mod suppliers;

use chrono::NaiveDate;
use opsward_core::{asset::Criticality, Actor};
use opsward_suppliers::{
    notice::NoticePeriod, ContractInput, RenewalType, SupplierInput, SupplierStore,
};

pub fn actor() -> Actor {
    Actor::user(1, "buyer")
}

pub fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn supplier_input(name: &str, criticality: Criticality) -> SupplierInput {
    SupplierInput {
        name: name.into(),
        category: "hosting".into(),
        criticality,
        contacts: vec![],
        notes: String::new(),
        asset_ids: vec![],
        owner_team_id: None,
        owner_person_id: None,
    }
}

pub fn contract_input(supplier_id: i64, end: &str, notice: NoticePeriod) -> ContractInput {
    ContractInput {
        supplier_id,
        title: "Colocation".into(),
        reference: "C-1".into(),
        start_date: day("2023-06-01"),
        end_date: day(end),
        notice,
        renewal_type: RenewalType::Automatic,
        renewal_term_months: 12,
        value: Some("48000.00".into()),
        currency: Some("EUR".into()),
        owner_team_id: None,
        owner_person_id: None,
    }
}

pub async fn supplier(store: &SupplierStore, name: &str) -> i64 {
    store
        .create_supplier(&actor(), &supplier_input(name, Criticality::High))
        .await
        .unwrap()
        .id
}
