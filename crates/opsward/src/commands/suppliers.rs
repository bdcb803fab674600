//! `opsward supplier list|add|show|review ...` and `opsward contract list|add|decide`.

use super::{cli_actor, team_named};
use crate::{
    cli::{ContractCommand, ReviewCommand, SupplierCommand},
    output::{print, print_one, OutputFormat},
};
use anyhow::{anyhow, bail, Context, Result};
use chrono::{NaiveDate, Utc};
use opsward_core::{asset::Criticality, page::PageRequest};
use opsward_store::Store;
use opsward_suppliers::{
    notice::NoticePeriod, ActionInput, Contact, ContractFilter, ContractInput, DecisionInput,
    ReviewInput, ScoreInput, Supplier, SupplierFilter, SupplierInput, SupplierStore,
};
use serde::Serialize;
use std::{process::ExitCode, sync::Arc};

const SUPPLIER_COLUMNS: &[&str] = &["id", "name", "category", "criticality", "owner_team_id"];
const CONTRACT_COLUMNS: &[&str] = &[
    "id",
    "supplier_id",
    "title",
    "end_date",
    "notice_deadline",
    "renewal_type",
    "status",
    "term_decision",
];
const REVIEW_COLUMNS: &[&str] = &[
    "id",
    "supplier_id",
    "review_date",
    "outcome",
    "weighted_score",
    "open_actions",
];

fn parsed<T: std::str::FromStr<Err = String>>(flag: &str, text: &str) -> Result<T> {
    text.parse::<T>().map_err(|e| anyhow!("{flag}: {e}"))
}

fn date(flag: &str, text: &str) -> Result<NaiveDate> {
    text.parse()
        .with_context(|| format!("{flag}: {text:?} is not a date (YYYY-MM-DD)"))
}

/// `90d`, `90` (days) or `3m` (calendar months).
fn notice(text: &str) -> Result<NoticePeriod> {
    let text = text.trim();
    let (number, months) = match text.strip_suffix(['m', 'M']) {
        Some(n) => (n, true),
        None => (text.strip_suffix(['d', 'D']).unwrap_or(text), false),
    };
    let amount: i32 = number
        .parse()
        .map_err(|_| anyhow!("--notice: {text:?} is not like 90d or 3m"))?;
    Ok(if months {
        NoticePeriod::months(amount)
    } else {
        NoticePeriod::days(amount)
    })
}

fn days(text: &str) -> Result<i64> {
    let number = text.trim().trim_end_matches(['d', 'D']);
    match number.parse::<i64>() {
        Ok(n) if (0..=3660).contains(&n) => Ok(n),
        _ => bail!("--expiring-within: {text:?} is not a number of days such as 90d"),
    }
}

/// A supplier by id, or by its exact name.
async fn find(suppliers: &SupplierStore, key: &str) -> Result<Supplier> {
    if let Ok(id) = key.parse::<i64>() {
        return Ok(suppliers.get_supplier(id).await?);
    }
    let filter = SupplierFilter {
        q: Some(key.to_string()),
        ..SupplierFilter::default()
    };
    suppliers
        .list_suppliers(&filter, PageRequest::first(500))
        .await?
        .items
        .into_iter()
        .find(|s| s.name.eq_ignore_ascii_case(key))
        .ok_or_else(|| anyhow!("no supplier named {key:?}"))
}

/// A review as one line of a list.
#[derive(Serialize)]
struct ReviewLine {
    id: i64,
    supplier_id: i64,
    review_date: NaiveDate,
    outcome: String,
    weighted_score: Option<f64>,
    open_actions: usize,
}

impl From<&opsward_suppliers::Review> for ReviewLine {
    fn from(r: &opsward_suppliers::Review) -> Self {
        ReviewLine {
            id: r.id,
            supplier_id: r.supplier_id,
            review_date: r.review_date,
            outcome: r.outcome.to_string(),
            weighted_score: r.weighted_score,
            open_actions: r.actions.iter().filter(|a| !a.done).count(),
        }
    }
}

pub async fn supplier(
    store: &Arc<dyn Store>,
    cmd: SupplierCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let suppliers = SupplierStore::new(store.as_ref());
    match cmd {
        SupplierCommand::List {
            criticality,
            category,
            query,
            limit,
        } => {
            let filter = SupplierFilter {
                criticality: criticality
                    .map(|c| parsed::<Criticality>("--criticality", &c))
                    .transpose()?,
                category,
                q: query,
                ..SupplierFilter::default()
            };
            let page = suppliers
                .list_suppliers(&filter, PageRequest::first(limit))
                .await?;
            print(out, &page.items, SUPPLIER_COLUMNS)?;
        }
        SupplierCommand::Add {
            name,
            criticality,
            category,
            contact_name,
            contact_email,
            contact_phone,
            contact_role,
            assets,
            team,
            notes,
        } => {
            let owner_team_id = match team {
                Some(t) => Some(team_named(store, &t).await?.id),
                None => None,
            };
            let input = SupplierInput {
                name,
                category,
                criticality: parsed("--criticality", &criticality)?,
                contacts: contact_name
                    .map(|name| Contact {
                        name,
                        email: contact_email,
                        phone: contact_phone,
                        role: contact_role,
                    })
                    .into_iter()
                    .collect(),
                notes,
                asset_ids: assets,
                owner_team_id,
                owner_person_id: None,
            };
            print_one(out, &suppliers.create_supplier(&cli_actor(), &input).await?)?;
        }
        SupplierCommand::Show { supplier } => {
            let s = find(&suppliers, &supplier).await?;
            let filter = ContractFilter {
                supplier_id: Some(s.id),
                ..ContractFilter::default()
            };
            let contracts = suppliers
                .list_contracts(&filter, PageRequest::first(500))
                .await?
                .items;
            let reviews: Vec<ReviewLine> = suppliers
                .review_history(s.id)
                .await?
                .iter()
                .map(ReviewLine::from)
                .collect();
            if out == OutputFormat::Json {
                let all = serde_json::json!({ "supplier": s, "contracts": contracts, "reviews": reviews });
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                print_one(out, &s)?;
                println!();
                print(out, &contracts, CONTRACT_COLUMNS)?;
                println!();
                print(out, &reviews, REVIEW_COLUMNS)?;
            }
        }
        SupplierCommand::Review(cmd) => return review(&suppliers, cmd, out).await,
    }
    Ok(ExitCode::SUCCESS)
}

async fn review(
    suppliers: &SupplierStore,
    cmd: ReviewCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    match cmd {
        ReviewCommand::Add {
            supplier,
            date: day,
            scores,
            outcome,
            attendees,
            notes,
            actions,
        } => {
            let s = find(suppliers, &supplier).await?;
            let scores = scores
                .iter()
                .map(|s| {
                    let (criterion, score) = s
                        .split_once('=')
                        .ok_or_else(|| anyhow!("--score: {s:?} is not criterion=N"))?;
                    Ok(ScoreInput {
                        criterion: criterion.trim().to_string(),
                        score: score
                            .trim()
                            .parse()
                            .map_err(|_| anyhow!("--score: {s:?} is not criterion=N"))?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let input = ReviewInput {
                supplier_id: s.id,
                review_date: match day {
                    Some(d) => date("--date", &d)?,
                    None => Utc::now().date_naive(),
                },
                period_start: None,
                outcome: parsed("--outcome", &outcome)?,
                notes,
                attendees,
                scores,
                actions: actions
                    .into_iter()
                    .map(|title| ActionInput {
                        title,
                        owner_person_id: None,
                        due_date: None,
                    })
                    .collect(),
            };
            print_one(out, &suppliers.record_review(&cli_actor(), &input).await?)?;
        }
        ReviewCommand::List { supplier, limit } => {
            let supplier_id = match supplier {
                Some(key) => Some(find(suppliers, &key).await?.id),
                None => None,
            };
            let page = suppliers
                .list_reviews(supplier_id, PageRequest::first(limit))
                .await?;
            let lines: Vec<ReviewLine> = page.items.iter().map(ReviewLine::from).collect();
            print(out, &lines, REVIEW_COLUMNS)?;
        }
        ReviewCommand::Done { action } => {
            print_one(
                out,
                &suppliers
                    .set_action_done(&cli_actor(), action, true)
                    .await?,
            )?;
        }
        ReviewCommand::Criteria => {
            print(
                out,
                &suppliers.criteria().await?,
                &["key", "label", "weight", "active"],
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn contract(
    store: &Arc<dyn Store>,
    cmd: ContractCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let suppliers = SupplierStore::new(store.as_ref());
    match cmd {
        ContractCommand::List {
            supplier,
            expiring_within,
            limit,
        } => {
            let mut filter = match expiring_within {
                Some(d) => ContractFilter::expiring_within(Utc::now().date_naive(), days(&d)?),
                None => ContractFilter::default(),
            };
            if let Some(key) = supplier {
                filter.supplier_id = Some(find(&suppliers, &key).await?.id);
            }
            let page = suppliers
                .list_contracts(&filter, PageRequest::first(limit))
                .await?;
            print(out, &page.items, CONTRACT_COLUMNS)?;
        }
        ContractCommand::Add {
            supplier,
            title,
            reference,
            start,
            end,
            notice: period,
            renewal,
            term,
            value,
            currency,
        } => {
            let s = find(&suppliers, &supplier).await?;
            let input = ContractInput {
                supplier_id: s.id,
                title,
                reference,
                start_date: date("--start", &start)?,
                end_date: date("--end", &end)?,
                notice: notice(&period)?,
                renewal_type: parsed("--renewal", &renewal)?,
                renewal_term_months: term,
                value,
                currency,
                owner_team_id: None,
                owner_person_id: None,
            };
            print_one(out, &suppliers.create_contract(&cli_actor(), &input).await?)?;
        }
        ContractCommand::Decide { id, decision, note } => {
            let input = DecisionInput {
                decision: parsed("--decision", &decision)?,
                note,
            };
            let (_, contract) = suppliers.decide(&cli_actor(), id, &input).await?;
            print_one(out, &contract)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_periods_read_days_and_months() {
        assert_eq!(notice("90d").unwrap(), NoticePeriod::days(90));
        assert_eq!(notice("90").unwrap(), NoticePeriod::days(90));
        assert_eq!(notice("3m").unwrap(), NoticePeriod::months(3));
        assert!(notice("three months").is_err());
        assert_eq!(days("90d").unwrap(), 90);
        assert!(days("-1").is_err());
    }
}
