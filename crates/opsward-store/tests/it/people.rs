use crate::{actor, asset};
use opsward_core::people::{PersonInput, TeamInput};
use opsward_store::{Store, StoreError};
use opsward_testkit::store_test;
use std::sync::Arc;

store_test!(teams_and_people, |store: Arc<dyn Store>| async move {
    let team = store
        .create_team(
            &actor(),
            &TeamInput {
                name: "dba".into(),
                email: Some("dba@example.com".into()),
            },
        )
        .await
        .unwrap();
    let ann = store
        .create_person(
            &actor(),
            &PersonInput {
                name: "Ann".into(),
                email: "Ann@Example.com".into(),
                team_id: Some(team.id),
            },
        )
        .await
        .unwrap();
    assert_eq!(ann.email, "ann@example.com");
    let mut a = asset("pg-01");
    a.owner_person_id = Some(ann.id);
    let owned = store.create_asset(&actor(), &a).await.unwrap();
    // A person who still owns assets cannot be deleted.
    assert!(matches!(
        store.delete_person(&actor(), ann.id).await,
        Err(StoreError::Conflict(_))
    ));
    store.delete_asset(&actor(), owned.id).await.unwrap();
    store.delete_person(&actor(), ann.id).await.unwrap();
    let renamed = store
        .update_team(
            &actor(),
            team.id,
            &TeamInput {
                name: "databases".into(),
                email: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "databases");
    assert_eq!(store.list_teams().await.unwrap().len(), 1);
    store.delete_team(&actor(), team.id).await.unwrap();
    assert!(store.list_people().await.unwrap().is_empty());
});
