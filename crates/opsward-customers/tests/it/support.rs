//! Fixtures shared by the customer tests.

use opsward_core::Actor;
use opsward_customers::{Customer, CustomerInput, CustomersStore};

pub fn actor() -> Actor {
    Actor::user(1, "account-manager")
}

pub async fn customer(store: &CustomersStore, name: &str) -> Customer {
    let input = CustomerInput {
        name: name.into(),
        notes: String::new(),
        owner_team_id: None,
        owner_person_id: None,
        asset_ids: vec![],
    };
    store.create_customer(&actor(), &input).await.unwrap()
}
