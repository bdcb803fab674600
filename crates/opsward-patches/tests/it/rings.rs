//! Changing and deleting rings on either backend: validated, unique, audited; a ring with
//! approvals (evidence) stays; deleting a ring leaves its hosts in no ring.

use crate::store::full_report;
use chrono::{Duration, Utc};
use opsward_core::{audit::AuditFilter, page::PageRequest, Actor};
use opsward_patches::{
    store::{rollout::RingInput, PatchStore},
    window::MaintenanceWindow,
};
use opsward_store::{Store, StoreError};
use opsward_testkit::store_test;
use std::sync::Arc;

fn ring(name: &str, position: i64) -> RingInput {
    RingInput {
        name: name.into(),
        position,
        soak_hours: 24,
        window: MaintenanceWindow {
            rrule: "FREQ=WEEKLY;BYDAY=TU".into(),
            starts_local: "2026-01-06T02:00:00".parse().unwrap(),
            timezone: "Europe/Berlin".into(),
            minutes: 120,
        },
        reboot_policy: Default::default(),
    }
}

async fn host(patches: &PatchStore, name: &str) -> i64 {
    let t = Actor::system("t");
    patches
        .create_enrollment_token(
            &t,
            "t",
            &format!("tok-{name}"),
            Utc::now() + Duration::days(1),
        )
        .await
        .unwrap();
    let id = patches
        .enroll(&format!("tok-{name}"), name, &format!("cred-{name}"))
        .await
        .unwrap()
        .unwrap()
        .id;
    patches
        .ingest(id, &full_report(1, vec![], vec![]))
        .await
        .unwrap();
    id
}

store_test!(
    rings_are_changed_and_deleted_with_their_audit_trail,
    |store: Arc<dyn Store>| async move {
        let patches = PatchStore::new(store.as_ref());
        let ops = Actor::user(1, "ops");
        let canary = patches.create_ring(&ops, &ring("canary", 1)).await.unwrap();
        let broad = patches.create_ring(&ops, &ring("broad", 2)).await.unwrap();

        // A change keeps the id; the window is validated like at creation.
        let mut change = ring("canary-eu", 5);
        change.soak_hours = 48;
        change.window.rrule = "FREQ=DAILY".into();
        change.window.timezone = "America/New_York".into();
        change.window.starts_local = "2026-02-01T23:30:00".parse().unwrap();
        change.window.minutes = 45;
        let changed = patches.update_ring(&ops, canary.id, &change).await.unwrap();
        assert_eq!(changed.id, canary.id);
        assert_eq!(
            (changed.name.as_str(), changed.position, changed.soak_hours),
            ("canary-eu", 5, 48)
        );
        assert_eq!(changed.window, change.window);
        // Order is now broad (2) before canary-eu (5).
        let names: Vec<String> = patches
            .list_rings()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["broad", "canary-eu"]);

        let mut bad = change.clone();
        bad.window.rrule = "FREQ=SOMETIMES".into();
        assert!(matches!(
            patches.update_ring(&ops, canary.id, &bad).await,
            Err(StoreError::Invalid(_))
        ));
        // Name and order stay unique.
        assert!(matches!(
            patches
                .update_ring(&ops, canary.id, &ring("broad", 7))
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            patches.update_ring(&ops, canary.id, &ring("x", 2)).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            patches.update_ring(&ops, 999_999, &ring("y", 9)).await,
            Err(StoreError::NotFound(_))
        ));

        // Deleting a ring takes its hosts out of it.
        let h1 = host(&patches, "h1").await;
        let h2 = host(&patches, "h2").await;
        patches.assign_ring(&ops, h1, Some(broad.id)).await.unwrap();
        patches
            .assign_ring(&ops, h2, Some(canary.id))
            .await
            .unwrap();
        let gone = patches.delete_ring(&ops, broad.id).await.unwrap();
        assert_eq!(gone.name, "broad");
        let members = patches.ring_members().await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!((members[0].host_id, members[0].ring_id), (h2, canary.id));
        assert!(matches!(
            patches.delete_ring(&ops, broad.id).await,
            Err(StoreError::NotFound(_))
        ));

        // A ring with an approval is evidence and stays.
        let approval = patches
            .approve(&ops, canary.id, &["openssl".into()], None)
            .await
            .unwrap();
        match patches.delete_ring(&ops, canary.id).await {
            Err(StoreError::Conflict(m)) => assert!(m.contains("approvals"), "{m}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(patches.list_approvals().await.unwrap()[0].id, approval.id);
        assert_eq!(patches.list_rings().await.unwrap().len(), 1);

        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("patch_ring".into()),
                    ..Default::default()
                },
                PageRequest::first(50),
            )
            .await
            .unwrap();
        let update = audit
            .items
            .iter()
            .find(|a| a.action == "update")
            .expect("the change is audited");
        assert_eq!(update.entity_id, Some(canary.id));
        assert_eq!(update.before.as_ref().unwrap()["name"], "canary");
        assert_eq!(update.after.as_ref().unwrap()["name"], "canary-eu");
        assert_eq!(update.actor, "user:ops");
        let delete = audit
            .items
            .iter()
            .find(|a| a.action == "delete")
            .expect("the deletion is audited");
        assert_eq!(delete.entity_id, Some(broad.id));
        assert_eq!(
            delete.before.as_ref().unwrap()["hosts"],
            serde_json::json!(["h1"])
        );
        // Refused changes write nothing.
        assert_eq!(
            audit.items.iter().filter(|a| a.action == "update").count(),
            1
        );
    }
);
