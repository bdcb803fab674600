//! Sending surveys and taking answers.
//!
//! [`run`] is what the scheduler calls: it decides, once per resolved item, whether a CSAT
//! survey goes out (delay, sampling, per-contact throttle, opt-out), asks each contact for
//! an NPS answer every `nps_interval_days`, and opens any follow-up item a low answer is
//! still missing. Every decision is stored, so a rerun (or a second server) never sends a
//! survey twice. [`answer`] takes an answer through a signed link.

use crate::{
    link::{self, LinkError},
    model::{Answer, Contact, Survey, SurveyKind, SurveySettings},
    sampling::{self, SkipReason},
    score,
    store::CustomersStore,
    survey_store::SurveyDecision,
};
use chrono::{DateTime, Duration, Utc};
use opsward_core::{
    contract::ProposedItemType,
    work_items::{NewWorkItem, WorkItems},
    Actor, ValidationError,
};
use opsward_notify::{Notification, Severity};
use opsward_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("this survey has already been answered")]
    AlreadyAnswered,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ValidationError> for SurveyError {
    fn from(e: ValidationError) -> Self {
        SurveyError::Store(e.into())
    }
}

/// What one run decided.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[schema(as = SurveyRunReport)]
pub struct RunReport {
    pub sent: usize,
    pub not_sampled: usize,
    pub throttled: usize,
    pub no_contact: usize,
    pub opted_out: usize,
    /// Items waiting because no survey channel is set; nothing is recorded for them.
    pub no_channel: usize,
    pub followups_opened: usize,
}

impl RunReport {
    fn count(&mut self, reason: Option<SkipReason>) {
        match reason {
            None => self.sent += 1,
            Some(SkipReason::NotSampled) => self.not_sampled += 1,
            Some(SkipReason::Throttled) => self.throttled += 1,
            Some(SkipReason::NoContact) => self.no_contact += 1,
            Some(SkipReason::OptedOut) => self.opted_out += 1,
        }
    }
}

/// The page a survey link opens.
pub fn survey_url(settings: &SurveySettings, token: &str) -> String {
    format!("{}/survey/{token}", settings.base_url.trim_end_matches('/'))
}

/// What every decision in one run shares.
struct Run<'a> {
    store: &'a CustomersStore,
    settings: SurveySettings,
    key: Vec<u8>,
    now: DateTime<Utc>,
}

/// The subject a survey is about: a resolved item (CSAT) or none (NPS).
type About<'a> = Option<(i64, &'a str)>;

impl Run<'_> {
    fn message(
        &self,
        kind: SurveyKind,
        contact: &Contact,
        about: &str,
        survey_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Notification {
        let url = survey_url(
            &self.settings,
            &link::sign(&self.key, survey_id, expires_at),
        );
        let (subject, question) = match kind {
            SurveyKind::Csat => (
                format!("How did we do? {about}"),
                format!("We recently resolved \"{about}\". How satisfied are you with how it was handled, from 1 (very dissatisfied) to 5 (very satisfied)?"),
            ),
            SurveyKind::Nps => (
                "How likely are you to recommend us?".to_string(),
                "How likely is it that you would recommend our service to a colleague, from 0 (not at all likely) to 10 (extremely likely)?".to_string(),
            ),
        };
        Notification {
            id: format!("survey:{survey_id}"),
            subject,
            body_text: format!(
                "Hello {name},\n\n{question}\n\nAnswer here (no login; the link works once and until {expires}):\n{url}\n\nThank you.\n",
                name = contact.name,
                expires = expires_at.format("%Y-%m-%d"),
            ),
            body_html: None,
            severity: Severity::Info,
            practice: "customers".into(),
            link: None,
            event: format!("survey.{kind}"),
            occurred_at: self.now,
            recipients: vec![format!("{} <{}>", contact.name.replace(['<', '>', '"'], ""), contact.email)],
        }
    }

    /// One survey decision for `contact` (none when the item has no contact).
    async fn decide(
        &self,
        kind: SurveyKind,
        customer_id: i64,
        contact: Option<&Contact>,
        item: About<'_>,
    ) -> Result<Option<SkipReason>, StoreError> {
        let settings = &self.settings;
        let sample_subject = match item {
            Some((id, _)) => format!("item:{id}"),
            None => String::new(),
        };
        let reason = match contact {
            None => Some(SkipReason::NoContact),
            Some(c) if c.surveys_opt_out => Some(SkipReason::OptedOut),
            // NPS asks every contact each interval; only CSAT is sampled.
            Some(_)
                if kind == SurveyKind::Csat
                    && !sampling::sampled(
                        &settings.sampling_seed,
                        &sample_subject,
                        settings.sampling_percent as u8,
                    ) =>
            {
                Some(SkipReason::NotSampled)
            }
            Some(c) => sampling::throttled(
                self.store.last_sent_to(c.id).await?,
                self.now,
                settings.throttle_days.into(),
            )
            .then_some(SkipReason::Throttled),
        };
        let expires_at = self.now + Duration::days(settings.link_valid_days.into());
        let about = item.map_or("", |(_, title)| title);
        let build = |survey_id: i64| {
            self.message(
                kind,
                contact.expect("only sent with a contact"),
                about,
                survey_id,
                expires_at,
            )
        };
        let send = match (reason, settings.channel_id) {
            (None, Some(channel)) => {
                Some((channel, &build as &(dyn Fn(i64) -> Notification + Sync)))
            }
            _ => None,
        };
        let decision = SurveyDecision {
            kind,
            customer_id,
            contact_id: contact.map(|c| c.id),
            item_id: item.map(|(id, _)| id),
            skip_reason: reason.map(SkipReason::as_str),
            expires_at: reason.is_none().then_some(expires_at),
        };
        self.store.record_survey(&decision, send, self.now).await?;
        Ok(reason)
    }
}

/// Decide every survey that is due at `now`.
pub async fn run(
    store: &CustomersStore,
    backlog: &dyn WorkItems,
    now: DateTime<Utc>,
) -> Result<RunReport, StoreError> {
    let (settings, key) = store.settings().await?;
    let run = Run {
        store,
        settings,
        key,
        now,
    };
    let mut report = RunReport::default();
    let resolved_before = now - Duration::minutes(run.settings.csat_delay_minutes.into());
    if run.settings.channel_id.is_none() {
        // Surveys are off. Nothing is decided, so that turning them on later still
        // surveys what was resolved in the meantime (within the link validity it gets).
        report.no_channel = store.csat_candidates(resolved_before).await?.len();
        report.followups_opened = open_missing_followups(store, backlog).await?;
        return Ok(report);
    }
    for (item_id, customer_id, contact_id) in store.csat_candidates(resolved_before).await? {
        let contact = match contact_id {
            Some(id) => Some(store.contact(id).await?),
            None => None,
        };
        let title = backlog
            .work_item(item_id)
            .await
            .map_err(crate::work_item_error)?
            .title;
        match run
            .decide(
                SurveyKind::Csat,
                customer_id,
                contact.as_ref(),
                Some((item_id, &title)),
            )
            .await
        {
            Ok(reason) => report.count(reason),
            // Another server decided this item first (one CSAT decision per item).
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    if run.settings.nps_interval_days > 0 {
        let since = now - Duration::days(run.settings.nps_interval_days.into());
        for contact in store.nps_due(since).await? {
            report.count(
                run.decide(SurveyKind::Nps, contact.customer_id, Some(&contact), None)
                    .await?,
            );
        }
    }
    report.followups_opened = open_missing_followups(store, backlog).await?;
    Ok(report)
}

/// Low answers whose follow-up item is missing (the server stopped between storing the
/// answer and opening the item) get it now.
async fn open_missing_followups(
    store: &CustomersStore,
    backlog: &dyn WorkItems,
) -> Result<usize, StoreError> {
    // A bounded batch per run: a backlog of missing follow-ups drains over a few runs.
    let missing = store.low_without_followup(500).await?;
    let mut opened = 0;
    for survey in missing.iter().filter(|s| needs_followup(s)) {
        open_followup(store, backlog, survey).await?;
        opened += 1;
    }
    Ok(opened)
}

fn needs_followup(s: &Survey) -> bool {
    s.followup_item_id.is_none() && s.score.is_some_and(|score| score::is_low(s.kind, score))
}

async fn open_followup(
    store: &CustomersStore,
    backlog: &dyn WorkItems,
    survey: &Survey,
) -> Result<i64, StoreError> {
    let customer = store.customer(survey.customer_id).await?;
    let score = survey.score.unwrap_or_default();
    let about = match survey.item_id {
        Some(item) => format!(" about item #{item}"),
        None => String::new(),
    };
    let input = NewWorkItem {
        item_type: ProposedItemType::Improvement,
        title: format!(
            "Follow up: {} {} {score} from {}",
            survey.kind.as_str().to_uppercase(),
            "score",
            customer.name
        ),
        description: format!(
            "{} answered a {} survey{about} with {score}.\n\nComment: {}\n\nSurvey #{}",
            customer.name,
            survey.kind.as_str().to_uppercase(),
            survey
                .comment
                .as_deref()
                .filter(|c| !c.is_empty())
                .unwrap_or("(none)"),
            survey.id
        ),
        impact: 2,
        urgency: 2,
        team_id: customer.owner_team_id,
        assignee_person_id: customer.owner_person_id,
        tags: vec!["customer-feedback".into()],
        asset_ids: Vec::new(),
    };
    let item_id = backlog
        .file_item(&Actor::system("surveys"), &input)
        .await
        .map_err(crate::work_item_error)?;
    store.set_followup(survey.id, item_id).await?;
    Ok(item_id)
}

/// The survey a link is for, if the link is genuine and unexpired (answered or not).
pub async fn open(
    store: &CustomersStore,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Survey, SurveyError> {
    let (_, key) = store.settings().await?;
    let id = link::verify(&key, token, now)?;
    Ok(store.survey(id).await?)
}

/// Take an answer through a link: once, before the link expires. A low score opens a
/// follow-up item for the customer's owners.
pub async fn answer(
    store: &CustomersStore,
    backlog: &dyn WorkItems,
    token: &str,
    answer: &Answer,
    now: DateTime<Utc>,
) -> Result<Survey, SurveyError> {
    let survey = open(store, token, now).await?;
    if !score::valid_score(survey.kind, answer.score) {
        let scale = survey.kind.scale();
        return Err(ValidationError::single(
            "score",
            format!("must be between {} and {}", scale.start(), scale.end()),
        )
        .into());
    }
    let mut v = opsward_core::validation::Validator::new();
    v.text("comment", &answer.comment, false, 5000);
    v.finish()?;
    let answered = store
        .answer_survey(survey.id, answer.score, answer.comment.trim(), now)
        .await?
        .ok_or(SurveyError::AlreadyAnswered)?;
    if needs_followup(&answered) {
        let item = open_followup(store, backlog, &answered).await?;
        return Ok(Survey {
            followup_item_id: Some(item),
            ..answered
        });
    }
    Ok(answered)
}
