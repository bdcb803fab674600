//! The customer page's service-review schedule, in the schedule editor (frequency, interval,
//! days, first review, IANA time zone, the next five previewed) rather than typed RRULE text;
//! the server writes the rule and hands it to the practice's `reviews::schedule`.

use super::{
    customers::{after, detail_page},
    schedule_editor::{ScheduleFields, ScheduleView},
    UiForm,
};
use crate::{api::Caller, error::ApiError, AppState};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use chrono::NaiveDateTime;
use opsward_customers::{reviews, Customer, ReviewSchedule};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    starts_local: String,
    #[serde(default)]
    timezone: String,
    #[serde(flatten)]
    schedule: ScheduleFields,
}

/// The editor as the page first shows it: the stored schedule, else quarterly from
/// tomorrow 10:00 UTC.
pub async fn stored_view(state: &AppState, customer: &Customer) -> ScheduleView {
    let stored = match customer.review_activity_id {
        Some(id) => state.ops.get_activity(id).await.ok(),
        None => None,
    };
    let (rule, start, timezone) = match stored {
        Some(a) => (a.rrule, a.starts_local, a.timezone),
        None => {
            let tomorrow = chrono::Utc::now()
                .date_naive()
                .succ_opt()
                .unwrap_or_default();
            (
                "FREQ=MONTHLY;INTERVAL=3".to_string(),
                tomorrow.and_hms_opt(10, 0, 0).unwrap_or_default(),
                "UTC".to_string(),
            )
        }
    };
    ScheduleFields::from_rule(&rule, start.date()).view(
        &start.format("%Y-%m-%dT%H:%M").to_string(),
        &timezone,
        false,
    )
}

pub async fn schedule_review(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<ScheduleForm>,
) -> Response {
    let view = form.schedule.view(&form.starts_local, &form.timezone, true);
    if form.schedule.is_preview() {
        return detail_page(&state, &caller, id, StatusCode::OK, None, Some(view)).await;
    }
    let parsed = (|| -> Result<ReviewSchedule, String> {
        let starts_local = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(form.starts_local.trim(), f).ok())
            .ok_or("the first review must be a date and time")?;
        Ok(ReviewSchedule {
            rrule: form.schedule.rule()?,
            starts_local,
            timezone: super::non_empty(&form.timezone).unwrap_or_else(|| "UTC".into()),
        })
    })();
    let result = match parsed {
        Ok(schedule) => {
            reviews::schedule(&state.customers, &state.ops, &caller.actor(), id, &schedule)
                .await
                .map(|_| ())
                .map_err(ApiError::from)
        }
        Err(message) => Err(opsward_core::ValidationError::single("schedule", message).into()),
    };
    after(&state, &caller, id, result, Some(view)).await
}
