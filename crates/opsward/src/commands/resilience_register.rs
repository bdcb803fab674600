//! `opsward resilience measure add|list|show|result`: the register of resilience measures.

use super::{cli_actor, person_with_email, team_named};
use crate::{
    cli::MeasureCommand,
    output::{print, print_one, OutputFormat},
};
use anyhow::{anyhow, Context, Result};
use chrono::{DateTime, NaiveDateTime, Utc};
use opsward_core::page::PageRequest;
use opsward_ops::{Evidence, EvidenceResult};
use opsward_resilience::register::{
    CheckKind, MeasureFilter, MeasureInput, MeasureKind, MeasureState, MeasureStatus, MeasureStore,
    TestResultInput, TestSchedule,
};
use opsward_store::Store;
use serde::Serialize;
use std::{process::ExitCode, sync::Arc};

const MEASURE_COLUMNS: &[&str] = &[
    "id",
    "asset_id",
    "kind",
    "title",
    "state",
    "last_result",
    "last_tested_at",
    "next_test_at",
    "overdue_since",
];
const EVIDENCE_COLUMNS: &[&str] = &["id", "recorded_at", "recorded_by", "result", "notes"];

fn parsed<T: std::str::FromStr<Err = String>>(flag: &str, text: &str) -> Result<T> {
    text.parse::<T>().map_err(|e| anyhow!("{flag}: {e}"))
}

/// An asset by id, or by its exact name.
async fn asset_id(store: &Arc<dyn Store>, key: &str) -> Result<i64> {
    match key.parse::<i64>() {
        Ok(id) => Ok(id),
        Err(_) => Ok(store
            .get_asset_by_name(key)
            .await
            .with_context(|| format!("no asset named {key:?}"))?
            .id),
    }
}

/// A measure as one line of a list: the fields people scan for, flat.
#[derive(Serialize)]
struct MeasureLine {
    id: i64,
    asset_id: i64,
    kind: MeasureKind,
    title: String,
    state: MeasureState,
    last_result: Option<EvidenceResult>,
    last_tested_at: Option<DateTime<Utc>>,
    next_test_at: Option<DateTime<Utc>>,
    overdue_since: Option<DateTime<Utc>>,
    check: Option<CheckKind>,
    activity_id: i64,
    rrule: String,
    owner_team_id: Option<i64>,
    owner_person_id: Option<i64>,
}

impl From<&MeasureStatus> for MeasureLine {
    fn from(s: &MeasureStatus) -> Self {
        let m = &s.measure;
        MeasureLine {
            id: m.id,
            asset_id: m.asset_id,
            kind: m.kind,
            title: m.title.clone(),
            state: s.state,
            last_result: s.last_result,
            last_tested_at: s.last_tested_at,
            next_test_at: s.next_test_at,
            overdue_since: s.overdue_since,
            check: m.check,
            activity_id: m.activity_id,
            rrule: s.schedule.rrule.clone(),
            owner_team_id: m.owner_team_id,
            owner_person_id: m.owner_person_id,
        }
    }
}

#[derive(Serialize)]
struct EvidenceLine<'a> {
    id: i64,
    recorded_at: DateTime<Utc>,
    recorded_by: &'a str,
    result: EvidenceResult,
    notes: &'a str,
}

impl<'a> From<&'a Evidence> for EvidenceLine<'a> {
    fn from(e: &'a Evidence) -> Self {
        EvidenceLine {
            id: e.id,
            recorded_at: e.recorded_at,
            recorded_by: &e.recorded_by,
            result: e.result,
            notes: &e.notes,
        }
    }
}

pub async fn measure(
    store: &Arc<dyn Store>,
    cmd: MeasureCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let measures = MeasureStore::new(store.as_ref());
    match cmd {
        MeasureCommand::Add {
            asset,
            kind,
            title,
            description,
            steps,
            team,
            person,
            check,
            rrule,
            start,
            timezone,
            duration,
        } => {
            let starts_local = NaiveDateTime::parse_from_str(&start, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(&start, "%Y-%m-%dT%H:%M:%S"))
                .context("--start must look like 2026-01-14T10:00")?;
            let owner_team_id = match team {
                Some(name) => Some(team_named(store, &name).await?.id),
                None => None,
            };
            let owner_person_id = match person {
                Some(email) => Some(person_with_email(store, &email).await?.id),
                None => None,
            };
            let input = MeasureInput {
                asset_id: asset_id(store, &asset).await?,
                kind: parsed("--kind", &kind)?,
                title,
                description,
                procedure: steps,
                owner_team_id,
                owner_person_id,
                check: check.map(|c| parsed("--check", &c)).transpose()?,
                schedule: TestSchedule {
                    rrule,
                    starts_local,
                    timezone,
                    duration_minutes: duration,
                },
            };
            let created = measures.create(&cli_actor(), &input).await?;
            print_one(out, &MeasureLine::from(&created))?;
        }
        MeasureCommand::List {
            asset,
            kind,
            state,
            limit,
        } => {
            let filter = MeasureFilter {
                asset_id: match asset {
                    Some(a) => Some(asset_id(store, &a).await?),
                    None => None,
                },
                kind: kind.map(|k| parsed("--kind", &k)).transpose()?,
                state: state.map(|s| parsed("--state", &s)).transpose()?,
            };
            let page = measures.list(&filter, PageRequest::first(limit)).await?;
            let lines: Vec<MeasureLine> = page.items.iter().map(MeasureLine::from).collect();
            print(out, &lines, MEASURE_COLUMNS)?;
            // A cron job can alert on the exit code alone.
            let problems = lines
                .iter()
                .any(|l| matches!(l.state, MeasureState::Failed | MeasureState::Overdue));
            if problems {
                return Ok(ExitCode::from(1));
            }
        }
        MeasureCommand::Show { id } => {
            let detail = measures.detail(id).await?;
            let evidence: Vec<EvidenceLine> = detail.evidence.iter().map(Into::into).collect();
            match out {
                OutputFormat::Json | OutputFormat::Sarif => print_one(out, &detail)?,
                OutputFormat::Csv => print(out, &evidence, EVIDENCE_COLUMNS)?,
                OutputFormat::Table => {
                    let s = &detail.status;
                    print_one(out, &MeasureLine::from(s))?;
                    println!(
                        "schedule        {} from {} {}",
                        s.schedule.rrule, s.schedule.starts_local, s.schedule.timezone
                    );
                    println!("\nTest procedure:");
                    for (n, step) in s.measure.procedure.iter().enumerate() {
                        println!("  {}. {step}", n + 1);
                    }
                    println!("\nEvidence:");
                    print(out, &evidence, EVIDENCE_COLUMNS)?;
                }
            }
        }
        MeasureCommand::Result {
            id,
            result,
            notes,
            links,
        } => {
            let input = TestResultInput {
                result: parsed("--result", &result)?,
                notes,
                links,
                occurrence_at: None,
            };
            let evidence = measures.record_result(&cli_actor(), id, &input).await?;
            print_one(out, &EvidenceLine::from(&evidence))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
