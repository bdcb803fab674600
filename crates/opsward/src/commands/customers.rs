//! `opsward customer ...` and `opsward survey ...`.

use super::cli_actor;
use crate::{
    cli::{CustomerCommand, SurveyCommand},
    output::{print, print_one, OutputFormat},
};
use anyhow::{anyhow, bail, Result};
use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use opsward_backlog::BacklogStore;
use opsward_customers::{
    reviews, surveys, ActionInput, ContactInput, Customer, CustomerInput, CustomersStore, ItemLink,
    ReviewInput, ReviewSchedule, SurveyState,
};
use opsward_ops::OpsStore;
use opsward_store::Store;
use std::{process::ExitCode, sync::Arc};

/// A customer by id or exact name.
async fn find(customers: &CustomersStore, key: &str) -> Result<Customer> {
    if let Ok(id) = key.parse::<i64>() {
        return Ok(customers.customer(id).await?);
    }
    customers
        .customers()
        .await?
        .into_iter()
        .find(|c| c.name == key)
        .ok_or_else(|| anyhow!("no customer named {key:?}"))
}

fn period(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    default_days: i64,
) -> Result<(NaiveDate, NaiveDate)> {
    let to = to.unwrap_or_else(|| Utc::now().date_naive());
    let from = from.unwrap_or(to - Duration::days(default_days));
    if from > to {
        bail!("--from must not be after --to");
    }
    Ok((from, to))
}

pub async fn customer(
    store: &Arc<dyn Store>,
    cmd: CustomerCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let customers = CustomersStore::new(store.as_ref());
    match cmd {
        CustomerCommand::Add { name, notes } => {
            let input = CustomerInput {
                name,
                notes,
                owner_team_id: None,
                owner_person_id: None,
                asset_ids: Vec::new(),
            };
            print_one(out, &customers.create_customer(&cli_actor(), &input).await?)?;
        }
        CustomerCommand::List => print(
            out,
            &customers.customers().await?,
            &["id", "name", "review_activity_id", "created_at"],
        )?,
        CustomerCommand::Show { customer } => {
            let c = find(&customers, &customer).await?;
            let detail = serde_json::json!({
                "contacts": customers.contacts(c.id).await?,
                "item_ids": customers.items_of(c.id).await?.into_iter().map(|i| i.0).collect::<Vec<_>>(),
                "reviews": customers.reviews(c.id).await?,
                "customer": c,
            });
            print_one(out, &detail)?;
        }
        CustomerCommand::ContactAdd {
            customer,
            name,
            email,
            role,
            no_surveys,
        } => {
            let c = find(&customers, &customer).await?;
            let input = ContactInput {
                name,
                email,
                role,
                surveys_opt_out: no_surveys,
            };
            print_one(
                out,
                &customers.add_contact(&cli_actor(), c.id, &input).await?,
            )?;
        }
        CustomerCommand::LinkItem {
            customer,
            item,
            contact,
        } => {
            let c = find(&customers, &customer).await?;
            let contact_id = match contact {
                Some(email) => Some(
                    customers
                        .contacts(c.id)
                        .await?
                        .into_iter()
                        .find(|k| k.email.eq_ignore_ascii_case(&email))
                        .ok_or_else(|| anyhow!("{} has no contact {email}", c.name))?
                        .id,
                ),
                None => None,
            };
            let link = ItemLink {
                item_id: item,
                customer_id: c.id,
                contact_id,
            };
            print_one(out, &customers.link_item(&cli_actor(), &link).await?)?;
        }
        CustomerCommand::ScheduleReview {
            customer,
            rrule,
            start,
            timezone,
        } => {
            let c = find(&customers, &customer).await?;
            let starts_local = NaiveDateTime::parse_from_str(&start, "%Y-%m-%dT%H:%M")
                .map_err(|_| anyhow!("--start must look like 2026-01-14T10:00"))?;
            let schedule = ReviewSchedule {
                rrule,
                starts_local,
                timezone,
            };
            let ops = OpsStore::new(store.as_ref());
            print_one(
                out,
                &reviews::schedule(&customers, &ops, &cli_actor(), c.id, &schedule).await?,
            )?;
        }
        CustomerCommand::ReviewPack { customer, from, to } => {
            let c = find(&customers, &customer).await?;
            let (from, to) = period(from, to, 90)?;
            let backlog = BacklogStore::new(store.as_ref());
            print_one(
                out,
                &reviews::pack(&customers, &backlog, c.id, from, to).await?,
            )?;
        }
        CustomerCommand::ReviewAdd {
            customer,
            from,
            to,
            held_on,
            attendees,
            notes,
            actions,
        } => {
            let c = find(&customers, &customer).await?;
            let input = ReviewInput {
                period_start: from,
                period_end: to,
                held_on: held_on.unwrap_or_else(|| Utc::now().date_naive()),
                attendees,
                notes,
                actions: actions
                    .into_iter()
                    .map(|title| ActionInput {
                        title,
                        owner_person_id: None,
                        due_on: None,
                    })
                    .collect(),
            };
            let ops = OpsStore::new(store.as_ref());
            print_one(
                out,
                &reviews::record(&customers, &ops, &cli_actor(), c.id, &input).await?,
            )?;
        }
        CustomerCommand::ActionDone { id, reopen } => {
            print_one(
                out,
                &customers.set_action_done(&cli_actor(), id, !reopen).await?,
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn survey(
    store: &Arc<dyn Store>,
    cmd: SurveyCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let customers = CustomersStore::new(store.as_ref());
    match cmd {
        SurveyCommand::List {
            customer,
            state,
            limit,
        } => {
            let customer_id = match customer {
                Some(c) => Some(find(&customers, &c).await?.id),
                None => None,
            };
            let state = state
                .map(|s| {
                    s.parse::<SurveyState>()
                        .map_err(|e| anyhow!("--state: {e}"))
                })
                .transpose()?;
            let list = customers.surveys(customer_id, state, None, limit).await?;
            print(
                out,
                &list,
                &[
                    "id",
                    "kind",
                    "customer_id",
                    "contact_id",
                    "item_id",
                    "state",
                    "skip_reason",
                    "score",
                    "comment",
                    "followup_item_id",
                ],
            )?;
        }
        SurveyCommand::Run => {
            let backlog = BacklogStore::new(store.as_ref());
            print_one(out, &surveys::run(&customers, &backlog, Utc::now()).await?)?;
        }
        SurveyCommand::Settings {
            channel,
            base_url,
            delay_minutes,
            sampling_percent,
            throttle_days,
            link_valid_days,
            nps_interval_days,
            sampling_seed,
        } => {
            let (mut s, _) = customers.settings().await?;
            let before = s.clone();
            if let Some(c) = channel {
                s.channel_id = (c != 0).then_some(c);
            }
            s.base_url = base_url.unwrap_or(s.base_url);
            s.csat_delay_minutes = delay_minutes.unwrap_or(s.csat_delay_minutes);
            s.sampling_percent = sampling_percent.unwrap_or(s.sampling_percent);
            s.throttle_days = throttle_days.unwrap_or(s.throttle_days);
            s.link_valid_days = link_valid_days.unwrap_or(s.link_valid_days);
            s.nps_interval_days = nps_interval_days.unwrap_or(s.nps_interval_days);
            s.sampling_seed = sampling_seed.unwrap_or(s.sampling_seed);
            if s != before {
                s = customers.save_settings(&cli_actor(), &s).await?;
            }
            print_one(out, &s)?;
        }
        SurveyCommand::Stats { customer, from, to } => {
            let customer_id = match customer {
                Some(c) => Some(find(&customers, &c).await?.id),
                None => None,
            };
            let (from, to) = period(from, to, 365)?;
            let list = reviews::surveys_in(&customers, customer_id, from, to).await?;
            print_one(out, &reviews::satisfaction(&list, from, to))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
