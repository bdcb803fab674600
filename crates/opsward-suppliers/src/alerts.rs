//! Contract events for the notification layer: reminders before a notice deadline, a
//! deadline passed (or a contract renewed tacitly because of it), and a contract about to
//! end. Each event's dedupe key names the contract and the date it is about, and its state
//! names the stage, so every stage of every term is sent once.

use crate::{
    model::{Contract, DecisionKind, Renewal, RenewalType, Supplier},
    notice::{notice_stage, NoticeStage},
    store::SupplierStore,
};
use chrono::{DateTime, NaiveDate, Utc};
use opsward_core::{practice::Practice, Actor};
use opsward_ops::notifications::{Event, Notifier, Severity};
use opsward_store::StoreError;
use std::collections::HashMap;

/// A passed deadline is reported for this long; older ones were news long ago.
pub const PASSED_LOOKBACK_DAYS: i64 = 30;
/// Contracts that will end are announced this many days before their end date.
pub const EXPIRING_DAYS: i64 = 30;

/// What one contract check did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ContractRun {
    pub renewed: Vec<Renewal>,
    /// Messages queued in the outbox.
    pub queued: usize,
}

fn owner(c: &Contract, s: Option<&Supplier>) -> (Option<i64>, Option<i64>) {
    if c.owner_team_id.is_some() || c.owner_person_id.is_some() {
        (c.owner_team_id, c.owner_person_id)
    } else {
        s.map(|s| (s.owner_team_id, s.owner_person_id))
            .unwrap_or((None, None))
    }
}

/// What every contract event shares; the caller fills in what happened.
struct Draft<'a> {
    kind: &'static str,
    severity: Severity,
    dedupe_key: String,
    state: &'a str,
    subject: String,
    body: String,
}

fn event(c: &Contract, supplier: Option<&Supplier>, d: Draft<'_>, now: DateTime<Utc>) -> Event {
    let (owner_team_id, owner_person_id) = owner(c, supplier);
    Event {
        kind: d.kind.into(),
        practice: Practice::Suppliers,
        severity: d.severity,
        subject: d.subject,
        body: d.body,
        link: Some(format!("/suppliers/{}", c.supplier_id)),
        owner_team_id,
        owner_person_id,
        dedupe_key: d.dedupe_key,
        state: d.state.into(),
        occurred_at: now,
    }
}

/// The notice and expiry events due for one contract on `today`. Passed deadlines of
/// automatic contracts are left to [`renewal_event`]: the roll-forward reports them.
pub fn contract_events(
    c: &Contract,
    supplier: Option<&Supplier>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<Event> {
    let name = supplier.map(|s| s.name.as_str()).unwrap_or("supplier");
    let mut events = Vec::new();
    let decided = matches!(
        c.term_decision,
        Some(DecisionKind::Renew | DecisionKind::Terminate)
    );
    let key = format!("contract:{}:notice:{}", c.id, c.notice_deadline);
    match notice_stage(c.notice_deadline, today) {
        _ if decided || today > c.end_date => {}
        Some(NoticeStage::Passed) => {
            let late = (today - c.notice_deadline).num_days() <= PASSED_LOOKBACK_DAYS;
            if late && c.renewal_type == RenewalType::Express {
                events.push(event(
                    c,
                    supplier,
                    Draft {
                        kind: "contract.notice_passed",
                        severity: Severity::Critical,
                        dedupe_key: key,
                        state: "passed",
                        subject: format!("Notice deadline passed: {} ({name})", c.title),
                        body: format!(
                        "The notice deadline of {} ({name}) was {}. It ends on {} unless renewed.",
                        c.title, c.notice_deadline, c.end_date
                    ),
                    },
                    now,
                ));
            }
        }
        Some(stage) => {
            let days = (c.notice_deadline - today).num_days();
            let severity = match stage {
                NoticeStage::Days90 => Severity::Info,
                NoticeStage::Days30 => Severity::Warning,
                _ => Severity::Critical,
            };
            let consequence = match c.renewal_type {
                RenewalType::Automatic => format!(
                    "Without notice it renews automatically for {} months.",
                    c.renewal_term_months
                ),
                RenewalType::Express => "It ends unless renewed.".to_string(),
            };
            events.push(event(
                c,
                supplier,
                Draft {
                    kind: "contract.notice_due",
                    severity,
                    dedupe_key: key,
                    state: stage.as_str(),
                    subject: format!(
                        "Notice due in {days} days: {} ({name}) by {}",
                        c.title, c.notice_deadline
                    ),
                    body: format!(
                        "Give notice on {} ({name}, reference {}) by {}; the term ends on {}. {consequence}\n\
                         Record a decision (renew, terminate, renegotiate) in opsward.",
                        c.title, c.reference, c.notice_deadline, c.end_date
                    ),
                },
                now,
            ));
        }
        None => {}
    }
    let days_to_end = (c.end_date - today).num_days();
    if c.ends_at_term_end() && (0..=EXPIRING_DAYS).contains(&days_to_end) {
        events.push(event(
            c,
            supplier,
            Draft {
                kind: "contract.expiring",
                severity: Severity::Warning,
                dedupe_key: format!("contract:{}:end:{}", c.id, c.end_date),
                state: "expiring",
                subject: format!("Contract ends in {days_to_end} days: {} ({name})", c.title),
                body: format!(
                    "{} ({name}) ends on {} and will not renew.",
                    c.title, c.end_date
                ),
            },
            now,
        ));
    }
    events
}

/// One `contract.notice_passed` event per tacitly renewed term, keyed like the reminders of
/// that term so it is the last message about it.
pub fn renewal_event(
    renewal: &Renewal,
    c: &Contract,
    supplier: Option<&Supplier>,
    now: DateTime<Utc>,
) -> Event {
    let name = supplier.map(|s| s.name.as_str()).unwrap_or("supplier");
    let old_deadline = crate::notice::notice_deadline(renewal.from_end_date, c.notice);
    event(c, supplier, Draft { kind: "contract.notice_passed", severity: Severity::Warning, dedupe_key: format!("contract:{}:notice:{old_deadline}", c.id), state: "passed", subject: format!("Renewed tacitly: {} ({name})", c.title), body: format!(
            "The notice deadline {old_deadline} of {} ({name}) passed without notice, so the contract \
             renewed from {} to {}.",
            c.title, renewal.from_end_date, renewal.to_end_date
        ) }, now)
}

/// The daily contract job: roll automatic contracts forward, then raise every reminder
/// that is due. Safe to run repeatedly and from several servers.
pub async fn check_contracts(
    suppliers: &SupplierStore,
    notifier: &Notifier,
    actor: &Actor,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<ContractRun, StoreError> {
    let renewed = suppliers.roll_forward(actor, today).await?;
    let by_id: HashMap<i64, Supplier> = suppliers
        .all_suppliers()
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let contracts = suppliers.all_contracts().await?;
    let mut queued = 0;
    for c in &contracts {
        let supplier = by_id.get(&c.supplier_id);
        for r in renewed.iter().filter(|r| r.contract_id == c.id) {
            queued += notifier
                .emit(&renewal_event(r, c, supplier, now), now)
                .await?
                .len();
        }
        for e in contract_events(c, supplier, today, now) {
            queued += notifier.emit(&e, now).await?.len();
        }
    }
    Ok(ContractRun { renewed, queued })
}
