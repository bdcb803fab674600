//! Fixtures shared by the customer tests.

use opsward_backlog::{BacklogStore, ItemInput, ItemPatch, ItemState, ItemType};
use opsward_core::Actor;
use opsward_customers::{
    Contact, ContactInput, Customer, CustomerInput, CustomersStore, ItemLink, SurveySettings,
};
use opsward_notify::{ChannelConfig, EmailConfig, SmtpSecurity};
use opsward_ops::notifications::Notifier;

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

pub async fn contact(store: &CustomersStore, customer: &Customer, name: &str) -> Contact {
    let input = ContactInput {
        name: name.into(),
        email: format!(
            "{}@{}.example",
            name.to_lowercase(),
            customer.name.to_lowercase()
        ),
        role: "IT lead".into(),
        surveys_opt_out: false,
    };
    store
        .add_contact(&actor(), customer.id, &input)
        .await
        .unwrap()
}

/// An email channel to `port` (nothing needs to listen unless delivery is attempted).
pub async fn email_channel(notifier: &Notifier, port: u16) -> i64 {
    let config = ChannelConfig::Email(EmailConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "service-desk@example.com".into(),
        to: vec!["ops@example.com".into()],
        timeout_secs: 5,
        tls_root_pem: None,
    });
    notifier
        .create_channel(&actor(), "surveys", &config)
        .await
        .unwrap()
        .id
}

pub async fn settings(
    store: &CustomersStore,
    channel_id: Option<i64>,
    sampling_percent: i32,
    throttle_days: i32,
) -> SurveySettings {
    let settings = SurveySettings {
        channel_id,
        base_url: "https://ops.example.com".into(),
        csat_delay_minutes: 60,
        sampling_percent,
        throttle_days,
        link_valid_days: 14,
        nps_interval_days: 0,
        sampling_seed: "opsward".into(),
    };
    store.save_settings(&actor(), &settings).await.unwrap()
}

/// A backlog item raised by `contact` and moved to resolved.
pub async fn resolved_item(
    backlog: &BacklogStore,
    store: &CustomersStore,
    contact: &Contact,
    title: &str,
) -> i64 {
    let input = ItemInput {
        item_type: ItemType::Incident,
        title: title.into(),
        description: String::new(),
        impact: 3,
        urgency: 3,
        wsjf: None,
        team_id: None,
        assignee_person_id: None,
        tags: vec![],
        asset_ids: vec![],
    };
    let item = backlog.create_item(&actor(), &input).await.unwrap();
    let link = ItemLink {
        item_id: item.id,
        customer_id: contact.customer_id,
        contact_id: Some(contact.id),
    };
    store.link_item(&actor(), &link).await.unwrap();
    for state in [
        ItemState::Triaged,
        ItemState::InProgress,
        ItemState::Resolved,
    ] {
        let patch = ItemPatch {
            state: Some(state),
            ..ItemPatch::default()
        };
        backlog
            .update_item(&actor(), item.id, &patch)
            .await
            .unwrap();
    }
    item.id
}
