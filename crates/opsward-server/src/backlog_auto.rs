//! Automatic backlog items from the other practices: what each practice's store reports as a
//! condition (a certificate expiring within the first threshold with no owner, an overdue
//! KEV finding, a resilience measure whose last test failed, a supplier whose latest review
//! scored badly) becomes one linked item through [`opsward_backlog::auto::sync`].
//!
//! Runs as the `backlog.auto_items` job (interval and sources from `[backlog_auto]` in the
//! configuration), from `POST /api/v1/backlog/auto-items/run` and from
//! `opsward backlog auto-items run`.

use crate::scheduler::{JobHandler, JobRegistry};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use opsward_backlog::{
    auto::{sync, AutoItemSource, AutoRun, AutoSettings, Condition, SourceRun},
    BacklogStore, ItemType,
};
use opsward_core::{asset::Criticality, job::Job, page::PageRequest, Actor};
use opsward_ops::model::EvidenceResult;
use opsward_resilience::register::{MeasureFilter, MeasureState, MeasureStore};
use opsward_store::Store;
use std::{collections::HashSet, sync::Arc};

/// The job kind.
pub const JOB: &str = "backlog.auto_items";

type Detected = Result<Vec<Condition>, String>;

/// Register the job, recurring every `settings.interval_minutes` (replacing an earlier
/// registration, so the configured interval wins over the built-in default).
pub fn register(jobs: &mut JobRegistry, settings: &AutoSettings) {
    jobs.register(
        JOB,
        AutoItemsJob {
            settings: settings.clone(),
        },
    );
    jobs.every(
        JOB,
        Duration::minutes(i64::from(settings.interval_minutes.clamp(1, 1440))),
    );
}

struct AutoItemsJob {
    settings: AutoSettings,
}

#[async_trait]
impl JobHandler for AutoItemsJob {
    async fn run(&self, store: &Arc<dyn Store>, _job: &Job) -> Result<(), String> {
        let run = run(
            store.as_ref(),
            &self.settings,
            &Actor::system("backlog-auto"),
            Utc::now(),
        )
        .await;
        tracing::info!(?run, "automatic backlog items checked");
        match run.sources.iter().find_map(|s| s.error.clone()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Check every enabled source and bring its items in line. A source that fails is reported
/// with its error; the others still run.
pub async fn run(
    store: &dyn Store,
    settings: &AutoSettings,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AutoRun {
    let backlog = BacklogStore::new(store);
    let mut out = AutoRun {
        at: Some(now),
        sources: Vec::new(),
    };
    for source in AutoItemSource::ALL.iter().copied() {
        if !settings.enabled(source) {
            continue;
        }
        let detected = match source {
            AutoItemSource::Certificate => certificates(store, now).await,
            AutoItemSource::KevFinding => kev_findings(store).await,
            AutoItemSource::ResilienceTest => resilience_tests(store).await,
            AutoItemSource::SupplierReview => {
                supplier_reviews(store, settings.supplier_score_below).await
            }
        };
        let result = match detected {
            Ok(conditions) => sync(&backlog, actor, source, &conditions)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        out.sources.push(result.unwrap_or_else(|e| {
            tracing::warn!(source = %source, error = %e, "automatic backlog items: source failed");
            SourceRun {
                source: Some(source),
                error: Some(format!("{source}: {e}")),
                ..SourceRun::default()
            }
        }));
    }
    out
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Leaf certificates still served that expire within the largest threshold (or have
/// expired), with no owner (direct or through their asset) and no finished renewal.
async fn certificates(store: &dyn Store, now: DateTime<Utc>) -> Detected {
    let certs = opsward_certs::CertStore::new(store);
    let settings = certs.settings().await.map_err(text)?;
    let horizon = settings.sorted_thresholds().first().copied().unwrap_or(30);
    let renewed: HashSet<i64> = certs
        .renewals(Some(opsward_certs::inventory::RenewalStatus::Done))
        .await
        .map_err(text)?
        .iter()
        .map(|t| t.certificate_id)
        .collect();
    let expiring = certs
        .list(&opsward_certs::inventory::CertFilter {
            expires_before: Some(now + Duration::days(horizon)),
            limit: Some(5000),
            ..Default::default()
        })
        .await
        .map_err(text)?;
    Ok(expiring
        .into_iter()
        .filter(|c| !c.is_ca && c.current_sightings > 0 && !renewed.contains(&c.id))
        .filter(|c| c.effective_owner_team_id.is_none() && c.effective_owner_person_id.is_none())
        .map(|c| {
            let days = c.days_left(now);
            let (impact, urgency) = match days {
                d if d < 0 => (1, 1),
                d if d <= 7 => (2, 1),
                _ => (2, 2),
            };
            let name = c.display_name().to_string();
            Condition {
                source_key: format!("certificate:{}", c.id),
                title: format!("Certificate {name} expires without a renewal owner"),
                description: format!(
                    "The certificate **{name}** (issuer {}, serial {}) expires on {} ({days} days from when this item was opened) \
                     and is served at {} place(s). Neither the certificate nor its asset has an owner to renew it: \
                     set an owner on the certificate, then renew it.",
                    c.issuer_cn.as_deref().unwrap_or(&c.issuer),
                    c.serial,
                    c.not_after.format("%Y-%m-%d %H:%M UTC"),
                    c.current_sightings,
                ),
                item_type: ItemType::Risk,
                impact,
                urgency,
                team_id: None,
                asset_ids: c.asset_id.into_iter().collect(),
                link: format!("/certificates/{}", c.id),
                label: format!("certificate {name}"),
            }
        })
        .collect())
}

/// Findings in the KEV catalog still open or acknowledged after their due date.
async fn kev_findings(store: &dyn Store) -> Detected {
    let vulns = opsward_vulns::VulnStore::new(store);
    let findings = vulns
        .findings(&opsward_vulns::findings::FindingFilter {
            kev: true,
            overdue: true,
            ..Default::default()
        })
        .await
        .map_err(text)?;
    Ok(findings
        .into_iter()
        .map(|f| {
            use opsward_vulns::Severity;
            let impact = match f.severity {
                Severity::Critical | Severity::High => 1,
                Severity::Medium | Severity::Unknown => 2,
                Severity::Low => 3,
            };
            Condition {
                source_key: format!("kev_finding:{}", f.id),
                title: format!(
                    "Overdue known-exploited vulnerability {} in {} {}",
                    f.vulnerability_id, f.package, f.installed_version
                ),
                description: format!(
                    "{} ({}) is in CISA's Known Exploited Vulnerabilities catalog and was due on {}. \
                     Severity {}, fixed in {}.\n\n{}",
                    f.vulnerability_id,
                    f.ids.join(", "),
                    f.due_date,
                    f.severity,
                    f.fixed_version.as_deref().unwrap_or("no fixed version known"),
                    f.summary,
                ),
                item_type: ItemType::Risk,
                impact,
                urgency: 1,
                team_id: None,
                asset_ids: vec![f.asset_id],
                link: format!("/vulns/findings/{}", f.id),
                label: format!("finding {} ({})", f.id, f.vulnerability_id),
            }
        })
        .collect())
}

/// Measures whose last test failed or passed only partly.
async fn resilience_tests(store: &dyn Store) -> Detected {
    let measures = MeasureStore::new(store);
    let filter = MeasureFilter {
        state: Some(MeasureState::Failed),
        ..Default::default()
    };
    let mut page = PageRequest::first(500);
    let mut out = Vec::new();
    loop {
        let got = measures.list(&filter, page).await.map_err(text)?;
        for s in got.items {
            let m = &s.measure;
            let failed = s.last_result == Some(EvidenceResult::Failed);
            let outcome = if failed {
                "failed"
            } else {
                "passed only partly"
            };
            out.push(Condition {
                source_key: format!("resilience_measure:{}", m.id),
                title: format!("Resilience test {outcome}: {}", m.title),
                description: format!(
                    "The last test of the {} measure **{}** {outcome}{}. Repair the redundancy and test it again.",
                    m.kind,
                    m.title,
                    s.last_tested_at
                        .map(|t| format!(" on {}", t.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_default(),
                ),
                item_type: ItemType::Problem,
                impact: 2,
                urgency: if failed { 1 } else { 2 },
                team_id: m.owner_team_id,
                asset_ids: vec![m.asset_id],
                link: format!("/resilience/{}", m.id),
                label: format!("resilience measure {}", m.title),
            });
        }
        match got.next_cursor {
            Some(cursor) => page = PageRequest::from_params(Some(500), Some(&cursor))?,
            None => break,
        }
    }
    Ok(out)
}

/// Suppliers whose latest review's weighted score is below the threshold.
async fn supplier_reviews(store: &dyn Store, below: f64) -> Detected {
    let suppliers = opsward_suppliers::SupplierStore::new(store);
    let mut out = Vec::new();
    for s in suppliers.all_suppliers().await.map_err(text)? {
        let reviews = suppliers.review_history(s.id).await.map_err(text)?;
        let Some(latest) = reviews.last() else {
            continue;
        };
        let Some(score) = latest.weighted_score.filter(|score| *score < below) else {
            continue;
        };
        let impact = match s.criticality {
            Criticality::Critical | Criticality::High => 1,
            Criticality::Medium => 2,
            Criticality::Low => 3,
        };
        out.push(Condition {
            source_key: format!("supplier:{}", s.id),
            title: format!("Supplier {} scored {score:.1} of 5 in its review", s.name),
            description: format!(
                "The review of **{}** on {} scored {score:.2} (weighted, 1-5), below the threshold of {below}. \
                 Agree improvements with the supplier, or plan to replace it.",
                s.name, latest.review_date,
            ),
            item_type: ItemType::Risk,
            impact,
            urgency: if score < 2.0 { 1 } else { 2 },
            team_id: s.owner_team_id,
            asset_ids: s.asset_ids.clone(),
            link: format!("/suppliers/{}", s.id),
            label: format!(
                "supplier {}, review of {} scored {score:.2}",
                s.name, latest.review_date
            ),
        });
    }
    Ok(out)
}
