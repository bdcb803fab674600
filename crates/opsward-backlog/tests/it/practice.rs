//! The backlog's side of the practice contract on both backends: SLA breaches as
//! conditions with exact titles, severities, owners and due times; hygiene deductions from
//! live counts; the open items of one asset; the jobs it hands to the scheduler.

use crate::items::{actor, input};
use chrono::{DateTime, Duration, Utc};
use opsward_backlog::{
    auto::AutoSettings,
    business_hours::{CalendarSpec, WeekSpec},
    inbound::InboundSettings,
    practice::BacklogPractice,
    sla::{SlaPolicy, SlaTarget},
    BacklogStore, Item, ItemPatch, ItemState, ItemType,
};
use opsward_core::{
    asset::{AssetInput, AssetKind, Criticality},
    contract::{Condition, Deduction, EntityRef, PracticeContract, Severity, Tone},
    people::{PersonInput, TeamInput},
    practice::Practice,
};
use opsward_store::Store;
use opsward_testkit::store_test;
use std::sync::Arc;

/// Around the clock in UTC, every priority owned within an hour and resolved within two.
fn hour_to_own_two_to_resolve() -> SlaPolicy {
    let mut policy = SlaPolicy {
        calendar: CalendarSpec {
            time_zone: "UTC".into(),
            week: WeekSpec::every_day(&["00:00-24:00"]),
            holidays: vec![],
        },
        ..SlaPolicy::default()
    };
    for t in &mut policy.targets {
        *t = SlaTarget {
            priority: t.priority,
            own_minutes: 60,
            resolve_minutes: 120,
        };
    }
    policy
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

struct Seeded {
    asset_id: i64,
    team_id: i64,
    person_id: i64,
    /// P1 on the asset, nobody assigned.
    urgent: Item,
    /// P3 on the asset, assigned.
    assigned: Item,
}

async fn seed(store: &dyn Store, backlog: &BacklogStore) -> Seeded {
    backlog
        .set_sla_policy(&actor(), &hour_to_own_two_to_resolve())
        .await
        .unwrap();
    let team = store
        .create_team(
            &actor(),
            &TeamInput {
                name: "dba".into(),
                email: None,
            },
        )
        .await
        .unwrap();
    let person = store
        .create_person(
            &actor(),
            &PersonInput {
                name: "Ana".into(),
                email: "ana@example.com".into(),
                team_id: None,
            },
        )
        .await
        .unwrap();
    let asset = store
        .create_asset(
            &actor(),
            &AssetInput {
                name: "db-1".into(),
                kind: AssetKind::Host,
                environment: "production".into(),
                criticality: Criticality::High,
                owner_team_id: Some(team.id),
                owner_person_id: None,
                tags: vec![],
                description: String::new(),
            },
        )
        .await
        .unwrap();
    let mut urgent = input(ItemType::Incident, "Database backup failing", "");
    (urgent.impact, urgent.urgency) = (1, 1);
    urgent.asset_ids = vec![asset.id];
    let urgent = backlog.create_item(&actor(), &urgent).await.unwrap();
    let mut assigned = input(ItemType::Problem, "Slow queries on db-1", "");
    (assigned.impact, assigned.urgency) = (2, 2);
    assigned.asset_ids = vec![asset.id];
    assigned.assignee_person_id = Some(person.id);
    let assigned = backlog.create_item(&actor(), &assigned).await.unwrap();
    // Resolved: no clock runs.
    let done = backlog
        .create_item(&actor(), &input(ItemType::Problem, "Old disk alert", ""))
        .await
        .unwrap();
    for state in [
        ItemState::Triaged,
        ItemState::InProgress,
        ItemState::Resolved,
    ] {
        backlog
            .update_item(
                &actor(),
                done.id,
                &ItemPatch {
                    state: Some(state),
                    ..ItemPatch::default()
                },
            )
            .await
            .unwrap();
    }
    Seeded {
        asset_id: asset.id,
        team_id: team.id,
        person_id: person.id,
        urgent,
        assigned,
    }
}

store_test!(breaches_are_conditions_with_owner_and_due, |store: Arc<
    dyn Store,
>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    let s = seed(store.as_ref(), &backlog).await;
    let practice = BacklogPractice::new(
        store.clone(),
        AutoSettings::default(),
        InboundSettings::default(),
    );
    assert_eq!(practice.practice(), Practice::Backlog);

    // 90 minutes after the second item was filed: the P1 item's hour to own ran out, the
    // assigned P3 item is within its two hours.
    let at = s.assigned.created_at + Duration::minutes(90);
    let a = practice.assess(at).await.unwrap();
    let breached: Vec<&Condition> = a
        .conditions
        .iter()
        .filter(|c| c.kind == "sla_breached")
        .collect();
    assert_eq!(breached.len(), 1);
    let c = breached[0];
    let own_due = s.urgent.created_at + Duration::minutes(60);
    assert_eq!(c.severity, Severity::Critical, "P1 is critical");
    assert_eq!(
        c.title,
        format!(
            "Backlog item #{} \"Database backup failing\" (P1) is past its SLA: time to own was due {}; nobody is assigned",
            s.urgent.id,
            utc(own_due)
        )
    );
    assert_eq!(c.due, Some(own_due));
    assert_eq!(c.since, Some(own_due));
    assert_eq!(
        c.entity,
        EntityRef {
            kind: "item".into(),
            id: s.urgent.id,
            label: format!("#{} Database backup failing", s.urgent.id),
            link: format!("/backlog/{}", s.urgent.id),
        }
    );
    assert_eq!(
        (c.asset_id, c.asset_name.as_deref()),
        (Some(s.asset_id), Some("db-1"))
    );
    assert_eq!(
        (c.owner_team_id, c.owner_person_id),
        (Some(s.team_id), None),
        "nobody on the item: its asset's team owns it"
    );
    assert_eq!(c.count, 1);
    assert!(
        c.backlog.is_none(),
        "the backlog proposes no item about itself"
    );

    // 150 minutes: both clocks of the P1 item, and the P3 item's resolve clock.
    let at = s.assigned.created_at + Duration::minutes(150);
    let a = practice.assess(at).await.unwrap();
    let summary: Vec<(&str, Severity, Option<DateTime<Utc>>, u32)> = a
        .conditions
        .iter()
        .map(|c| (c.kind.as_str(), c.severity, c.due, c.count))
        .collect();
    let resolve_due = s.assigned.created_at + Duration::minutes(120);
    assert_eq!(
        summary,
        [
            ("sla_breached", Severity::Critical, Some(own_due), 1),
            ("sla_breached", Severity::Medium, Some(resolve_due), 1),
            ("items_unowned", Severity::Low, None, 1),
        ]
    );
    assert!(a.conditions[0]
        .title
        .contains("time to own and time to resolve was due"));
    assert_eq!(
        a.conditions[1].title,
        format!(
            "Backlog item #{} \"Slow queries on db-1\" (P3) is past its SLA: time to resolve was due {}",
            s.assigned.id,
            utc(resolve_due)
        )
    );
    assert_eq!(
        (
            a.conditions[1].owner_team_id,
            a.conditions[1].owner_person_id
        ),
        (None, Some(s.person_id)),
        "the assignee owns an assigned item"
    );
    assert_eq!(
        a.conditions[2].title,
        "1 open backlog item without an assignee; assign them or close them"
    );
    assert_eq!(
        a.deductions,
        [
            Deduction::new(
                30,
                "2 of 2 open backlog items have breached the SLA (oldest due today)",
                Some("/backlog")
            ),
            Deduction::new(
                5,
                "1 of 2 open backlog items has nobody assigned",
                Some("/backlog/review?stale_days=14")
            ),
        ]
    );

    // Fifteen days on, nobody touched either: both stale as well.
    let a = practice
        .assess(s.assigned.created_at + Duration::days(15))
        .await
        .unwrap();
    let stale = a
        .conditions
        .iter()
        .find(|c| c.kind == "items_stale")
        .unwrap();
    assert_eq!(stale.count, 2);
    assert_eq!(
        stale.title,
        "2 open backlog items not changed for 14 days or more; review them"
    );
    assert_eq!(stale.entity.link, "/backlog/review?stale_days=14");
    assert_eq!(
        a.deductions[1],
        Deduction::new(
            15,
            "2 of 2 open backlog items were not changed for 14 days or more",
            Some("/backlog/review?stale_days=14")
        )
    );
});

store_test!(a_healthy_backlog_reports_nothing, |store: Arc<
    dyn Store,
>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    let practice = BacklogPractice::new(
        store.clone(),
        AutoSettings::default(),
        InboundSettings::default(),
    );
    let empty = practice.assess(Utc::now()).await.unwrap();
    assert!(empty.conditions.is_empty() && empty.deductions.is_empty());
    let s = seed(store.as_ref(), &backlog).await;
    // Everyone assigned, within the hour.
    backlog
        .update_item(
            &actor(),
            s.urgent.id,
            &ItemPatch {
                assignee_person_id: Some(Some(s.person_id)),
                ..ItemPatch::default()
            },
        )
        .await
        .unwrap();
    let healthy = practice
        .assess(s.assigned.created_at + Duration::minutes(30))
        .await
        .unwrap();
    assert_eq!(healthy.conditions, []);
    assert_eq!(healthy.deductions, []);
    assert_eq!(
        practice
            .asset_facets(s.asset_id + 1000, Utc::now())
            .await
            .unwrap(),
        []
    );
});

store_test!(an_assets_open_items_newest_first, |store: Arc<
    dyn Store,
>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    let s = seed(store.as_ref(), &backlog).await;
    let practice = BacklogPractice::new(
        store.clone(),
        AutoSettings::default(),
        InboundSettings::default(),
    );
    let at = s.assigned.created_at + Duration::minutes(90);
    let facets = practice.asset_facets(s.asset_id, at).await.unwrap();
    assert_eq!(facets.len(), 1);
    let f = &facets[0];
    assert_eq!(f.practice, Practice::Backlog);
    assert_eq!(f.title, "Backlog items");
    assert_eq!(f.summary.as_deref(), Some("2 open items, 1 past its SLA"));
    assert_eq!(f.columns, ["Item", "State", "Priority", "Assignee", "SLA"]);
    assert_eq!(f.more_link.as_deref(), Some("/backlog"));
    let rows: Vec<(Vec<String>, Option<String>, Tone)> = f
        .rows
        .iter()
        .map(|r| (r.cells.clone(), r.link.clone(), r.tone))
        .collect();
    let cells = |v: [&str; 5]| v.map(String::from).to_vec();
    assert_eq!(
        rows,
        [
            (
                cells([
                    &format!("#{} Slow queries on db-1", s.assigned.id),
                    "new",
                    "P3",
                    "Ana",
                    &format!(
                        "time to resolve on track, due {}",
                        utc(s.assigned.created_at + Duration::minutes(120))
                    ),
                ]),
                Some(format!("/backlog/{}", s.assigned.id)),
                Tone::Neutral,
            ),
            (
                cells([
                    &format!("#{} Database backup failing", s.urgent.id),
                    "new",
                    "P1",
                    "nobody",
                    &format!(
                        "time to own breached, due {}",
                        utc(s.urgent.created_at + Duration::minutes(60))
                    ),
                ]),
                Some(format!("/backlog/{}", s.urgent.id)),
                Tone::Bad,
            ),
        ]
    );
});

store_test!(
    an_asset_facet_shows_twenty_and_matches_whole_ids,
    |store: Arc<dyn Store>| async move {
        let backlog = BacklogStore::new(store.as_ref());
        let mut assets = Vec::new();
        for n in 1..=11 {
            let asset = store
                .create_asset(
                    &actor(),
                    &AssetInput {
                        name: format!("host-{n}"),
                        kind: AssetKind::Host,
                        environment: "production".into(),
                        criticality: Criticality::Medium,
                        owner_team_id: None,
                        owner_person_id: None,
                        tags: vec![],
                        description: String::new(),
                    },
                )
                .await
                .unwrap();
            assets.push(asset.id);
        }
        // The first asset's id is a prefix of the eleventh's on a fresh database (1 and 11):
        // items of one must not show on the other.
        let (first, eleventh) = (assets[0], assets[10]);
        let mut ids = Vec::new();
        for n in 0..21 {
            let mut item = input(ItemType::Problem, &format!("Item {n}"), "");
            item.asset_ids = if n == 0 {
                vec![eleventh, first]
            } else {
                vec![eleventh]
            };
            ids.push(backlog.create_item(&actor(), &item).await.unwrap().id);
        }
        let practice = BacklogPractice::new(
            store.clone(),
            AutoSettings::default(),
            InboundSettings::default(),
        );
        let many = practice.asset_facets(eleventh, Utc::now()).await.unwrap();
        assert_eq!(many[0].rows.len(), 20);
        assert_eq!(
            many[0].summary.as_deref(),
            Some("21 open items; the newest 20 shown")
        );
        assert_eq!(
            many[0].rows[0].link,
            Some(format!("/backlog/{}", ids[20])),
            "newest first"
        );
        let one = practice.asset_facets(first, Utc::now()).await.unwrap();
        assert_eq!(one[0].rows.len(), 1);
        assert_eq!(one[0].rows[0].cells[0], format!("#{} Item 0", ids[0]));
        assert_eq!(
            practice.asset_facets(assets[1], Utc::now()).await.unwrap(),
            []
        );
    }
);

store_test!(
    an_items_assets_follow_its_edits,
    |store: Arc<dyn Store>| async move {
        // SQLite finds an asset's items through the link table its triggers keep (migration
        // 0029); PostgreSQL through the GIN index. Either must follow every change of the list.
        let backlog = BacklogStore::new(store.as_ref());
        let mut assets = Vec::new();
        for name in ["db-1", "db-2"] {
            let input = opsward_testkit::asset_input(name);
            assets.push(store.create_asset(&actor(), &input).await.unwrap().id);
        }
        let mut item = input(ItemType::Problem, "Replication lag", "");
        item.asset_ids = vec![assets[0]];
        let item = backlog.create_item(&actor(), &item).await.unwrap();
        let practice = BacklogPractice::new(
            store.clone(),
            AutoSettings::default(),
            InboundSettings::default(),
        );
        let rows_of = |facets: Vec<opsward_core::contract::AssetFacet>| {
            facets
                .iter()
                .flat_map(|f| f.rows.iter().map(|r| r.link.clone()))
                .collect::<Vec<_>>()
        };
        let link = Some(format!("/backlog/{}", item.id));
        assert_eq!(
            rows_of(practice.asset_facets(assets[0], Utc::now()).await.unwrap()),
            vec![link.clone()]
        );
        for (list, first, second) in [
            (vec![assets[1]], vec![], vec![link.clone()]),
            (
                vec![assets[1], assets[0]],
                vec![link.clone()],
                vec![link.clone()],
            ),
            (vec![], vec![], vec![]),
        ] {
            backlog
                .update_item(
                    &actor(),
                    item.id,
                    &ItemPatch {
                        asset_ids: Some(list.clone()),
                        ..ItemPatch::default()
                    },
                )
                .await
                .unwrap();
            let now = Utc::now();
            assert_eq!(
                rows_of(practice.asset_facets(assets[0], now).await.unwrap()),
                first,
                "{list:?}"
            );
            assert_eq!(
                rows_of(practice.asset_facets(assets[1], now).await.unwrap()),
                second,
                "{list:?}"
            );
        }
    }
);
