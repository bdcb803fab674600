//! Inbound email for the backlog: the `backlog.inbound_mail` job polls the IMAP mailbox of
//! `[backlog_inbound]` and files each new message as an item, or a reply naming `[#123]`
//! as a comment on item 123 (see [`opsward_backlog::inbound`]).
//!
//! The job belongs to the backlog practice (registered only when inbound email is
//! configured); the server adds the link to customers after each poll. Like every job it is
//! claimed by one server at a time through the scheduler's lease, and each period's job
//! exists once however many servers run; an on-demand run (`POST
//! /api/v1/backlog/inbound/run`, `opsward backlog inbound run`) racing it files nothing
//! twice, because each message's key is recorded in the transaction that files it.

use async_trait::async_trait;
use opsward_backlog::{
    inbound::{InboundAction, InboundRun, InboundSettings},
    jobs::{inbound_actor, InboundFollowUp},
    BacklogStore,
};
use opsward_store::Store;
use std::sync::Arc;

/// After each scheduled poll (the backlog practice's `backlog.inbound_mail` job), link the
/// items opened for customer contacts' mail to their customers: the join of two practices,
/// so it lives here rather than in either.
pub struct LinkCustomers {
    pub store: Arc<dyn Store>,
}

#[async_trait]
impl InboundFollowUp for LinkCustomers {
    async fn after_poll(&self, run: &mut InboundRun) {
        link_customers(self.store.as_ref(), run).await;
    }
}

/// Poll the mailbox once as the inbound-email actor, then link each item opened for a
/// customer contact's mail to that customer (so its resolution asks them for a CSAT score).
pub async fn run(store: &dyn Store, settings: &InboundSettings) -> InboundRun {
    let backlog = BacklogStore::new(store);
    let mut run = opsward_backlog::inbound_poll::poll(&backlog, settings, &inbound_actor()).await;
    link_customers(store, &mut run).await;
    run
}

/// Link opened items to the customer whose contact wrote. Done after filing, and again for
/// a message found already filed (the link is an upsert), so a crash in between only delays
/// the link to the next poll that sees the message. A failure is logged, not fatal: the
/// item exists and can be linked by hand.
async fn link_customers(store: &dyn Store, run: &mut InboundRun) {
    let customers = opsward_customers::CustomersStore::new(store);
    for m in &mut run.messages {
        let opened = matches!(
            m.action,
            InboundAction::Created | InboundAction::AlreadyProcessed
        ) && m.comment_id.is_none();
        let (Some(item_id), Some(address), true) = (m.item_id, m.from_address.as_deref(), opened)
        else {
            continue;
        };
        let linked = async {
            let Some(contact) = customers.contact_by_email(address).await? else {
                return Ok(None);
            };
            let link = opsward_customers::model::ItemLink {
                item_id,
                customer_id: contact.customer_id,
                contact_id: Some(contact.id),
            };
            customers
                .link_item(&inbound_actor(), &link)
                .await
                .map(|l| Some(l.customer_id))
        };
        match linked.await {
            Ok(customer) => m.customer_id = customer,
            Err(e) => {
                tracing::warn!(item = item_id, error = %e, "inbound email: cannot link the item to the sender's customer")
            }
        }
    }
}
