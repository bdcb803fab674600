//! The customer engagement practice: talk to customers regularly and act on what they say.
//!
//! - Customers, their contacts, and the backlog items they raised.
//! - Satisfaction surveys: a CSAT survey some time after an item is resolved (sampled, and
//!   throttled per contact), periodic NPS surveys per customer, answered through a signed,
//!   single-use, expiring link without logging in. A low score opens a follow-up item.
//! - Service reviews: a recurring calendar activity per customer, a review pack for the
//!   period, and the meeting's attendees, notes and action items; every review is evidence.
//!
//! Pure rules (`link`, `sampling`, `score`) need no database and are tested on their own;
//! `store` keeps the records, `surveys` and `reviews` combine them with the backlog (through
//! `opsward_core::work_items`, which the caller passes in), the calendar and the notification
//! outbox. `practice` reports the practice's conditions, hygiene and jobs.

pub mod hygiene;
pub mod link;
pub mod model;
pub mod practice;
pub mod reviews;
pub mod sampling;
pub mod score;
pub mod standing;
pub mod store;
pub mod survey_store;
pub mod surveys;

pub use model::*;
pub use store::CustomersStore;

use opsward_core::work_items::WorkItemError;
use opsward_store::StoreError;

/// A failure of the backlog as the store error it was: the backlog passes its own
/// [`StoreError`] through, so callers see the same error as when they called it directly.
pub(crate) fn work_item_error(e: WorkItemError) -> StoreError {
    match e {
        WorkItemError::NotFound(what) => StoreError::NotFound(what),
        WorkItemError::Invalid(v) => StoreError::Invalid(v),
        WorkItemError::Other(other) => match other.downcast::<StoreError>() {
            Ok(store) => *store,
            Err(foreign) => StoreError::Conflict(foreign.to_string()),
        },
    }
}
