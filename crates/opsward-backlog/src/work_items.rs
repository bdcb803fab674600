//! The backlog as the [`WorkItems`] other practices file into and read from (customer
//! follow-ups, review packs), so they depend on `opsward-core` instead of on this crate.

use crate::{BacklogStore, Item, ItemInput, ItemType};
use async_trait::async_trait;
use opsward_core::{
    contract::ProposedItemType,
    work_items::{NewWorkItem, WorkItemError, WorkItemSummary, WorkItems},
    Actor,
};
use opsward_store::StoreError;

fn item_type(kind: ProposedItemType) -> ItemType {
    match kind {
        ProposedItemType::Problem => ItemType::Problem,
        ProposedItemType::Risk => ItemType::Risk,
        ProposedItemType::Incident => ItemType::Incident,
        ProposedItemType::Improvement => ItemType::Improvement,
    }
}

/// Not-found and validation errors keep their meaning; the rest travels as the
/// [`StoreError`] itself, which callers on this side of the store recover by downcasting.
fn work_item_error(e: StoreError) -> WorkItemError {
    match e {
        StoreError::NotFound(what) => WorkItemError::NotFound(what),
        StoreError::Invalid(v) => WorkItemError::Invalid(v),
        other => WorkItemError::Other(Box::new(other)),
    }
}

fn summary(item: Item) -> WorkItemSummary {
    WorkItemSummary {
        id: item.id,
        open: item.state.is_open(),
        state: item.state.as_str().to_string(),
        title: item.title,
        priority: item.priority,
        created_at: item.created_at,
        updated_at: item.updated_at,
    }
}

#[async_trait]
impl WorkItems for BacklogStore {
    async fn file_item(&self, actor: &Actor, item: &NewWorkItem) -> Result<i64, WorkItemError> {
        let input = ItemInput {
            item_type: item_type(item.item_type),
            title: item.title.clone(),
            description: item.description.clone(),
            impact: item.impact,
            urgency: item.urgency,
            wsjf: None,
            team_id: item.team_id,
            assignee_person_id: item.assignee_person_id,
            tags: item.tags.clone(),
            asset_ids: item.asset_ids.clone(),
        };
        let created = self
            .create_item(actor, &input)
            .await
            .map_err(work_item_error)?;
        Ok(created.id)
    }

    async fn work_item(&self, id: i64) -> Result<WorkItemSummary, WorkItemError> {
        self.get_item(id)
            .await
            .map(summary)
            .map_err(work_item_error)
    }
}
