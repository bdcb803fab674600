//! The resilience practice's contract on SQLite and PostgreSQL: measures made through the
//! register, results and host agents' reports recorded as evidence, give exactly the
//! expected conditions, deductions, backlog proposals and asset facets; a healthy register
//! reports nothing.

use chrono::{DateTime, Duration, Utc};
use opsward_core::{
    asset::Criticality,
    contract::{
        ConditionSource, Deduction, JobContext, PracticeContract, ProposedItemType, Registry,
        Severity, Tone,
    },
    people::TeamInput,
    practice::Practice,
    Actor,
};
use opsward_ops::{ActivityInput, EvidenceInput, EvidenceResult, OpsStore};
use opsward_resilience::{
    health::{Report, Verdict},
    practice::ResiliencePractice,
    register::{MeasureInput, MeasureKind, MeasureStore, TestResultInput, TestSchedule},
};
use opsward_store::Store;
use opsward_testkit::{asset_input, store_test};
use std::sync::Arc;

fn actor() -> Actor {
    Actor::user(1, "resilience-lead")
}

/// Weekly tests whose first one starts `days_ago` days ago (negative: ahead) at 09:00 UTC.
fn weekly_from(days_ago: i64) -> TestSchedule {
    TestSchedule {
        rrule: "FREQ=WEEKLY".into(),
        starts_local: (Utc::now() - Duration::days(days_ago))
            .date_naive()
            .and_hms_opt(9, 0, 0)
            .unwrap(),
        timezone: "UTC".into(),
        duration_minutes: 30,
    }
}

fn measure(asset_id: i64, kind: MeasureKind, title: &str, days_ago: i64) -> MeasureInput {
    MeasureInput {
        asset_id,
        kind,
        title: title.into(),
        description: String::new(),
        procedure: vec![],
        owner_team_id: None,
        owner_person_id: None,
        check: None,
        schedule: weekly_from(days_ago),
    }
}

fn result(r: EvidenceResult, notes: &str) -> TestResultInput {
    TestResultInput {
        result: r,
        notes: notes.into(),
        links: vec![],
        occurrence_at: None,
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

store_test!(
    each_resilience_condition_its_deduction_and_the_asset_facets,
    |store: Arc<dyn Store>| async move {
        let measures = MeasureStore::new(store.as_ref());
        let ops = OpsStore::new(store.as_ref());
        let team = store
            .create_team(
                &actor(),
                &TeamInput {
                    name: "Storage".into(),
                    email: None,
                },
            )
            .await
            .unwrap();
        let critical = |name: &str| {
            let mut a = asset_input(name);
            a.criticality = Criticality::Critical;
            a
        };
        let db1 = store
            .create_asset(&actor(), &critical("db1"))
            .await
            .unwrap();
        let db2 = store
            .create_asset(&actor(), &critical("db2"))
            .await
            .unwrap();

        // First tests are ahead, so only the results recorded count, except the restore's.
        let mut failover = measure(db1.id, MeasureKind::ClusterFailover, "Cluster failover", -3);
        failover.owner_team_id = Some(team.id);
        let failover = measures.create(&actor(), &failover).await.unwrap().measure;
        let power = measures
            .create(
                &actor(),
                &measure(db1.id, MeasureKind::RedundantPower, "Power feed B", -3),
            )
            .await
            .unwrap()
            .measure;
        let mirror = measures
            .create(
                &actor(),
                &measure(db1.id, MeasureKind::Raid, "Mirror on db1", -3),
            )
            .await
            .unwrap()
            .measure;
        let restore = measures
            .create(
                &actor(),
                &measure(db1.id, MeasureKind::BackupRestore, "Nightly restore", 15),
            )
            .await
            .unwrap()
            .measure;
        let failed = measures
            .record_result(
                &actor(),
                failover.id,
                &result(EvidenceResult::Failed, "VIP stayed"),
            )
            .await
            .unwrap();
        let partial = measures
            .record_result(
                &actor(),
                power.id,
                &result(EvidenceResult::Partial, "one PSU"),
            )
            .await
            .unwrap();
        let mdstat = Report {
            check: "mdstat".into(),
            verdict: Verdict::Failed,
            findings: vec!["md0 raid1 Degraded: [U_]".into()],
        };
        let degraded = measures
            .record_result(
                &actor(),
                mirror.id,
                &result(EvidenceResult::Failed, &mdstat.evidence_notes()),
            )
            .await
            .unwrap();
        // A host agent's backup check on a plain resilience activity of db1.
        let backups = ops
            .create_activity(
                &actor(),
                &ActivityInput {
                    title: "Backups of db1".into(),
                    practice: Practice::Resilience,
                    template: None,
                    description: String::new(),
                    rrule: "FREQ=DAILY".into(),
                    starts_local: weekly_from(-1).starts_local,
                    timezone: "UTC".into(),
                    duration_minutes: 10,
                    owner_team_id: None,
                    owner_person_id: None,
                    asset_id: Some(db1.id),
                    active: true,
                },
            )
            .await
            .unwrap();
        let backup = Report {
            check: "backup".into(),
            verdict: Verdict::Failed,
            findings: vec!["newest of 3 files: /b/x.dump (10 bytes, 50.0 h old)".into()],
        };
        let stale = ops
            .complete(
                &actor(),
                backups.id,
                &EvidenceInput {
                    occurrence_at: None,
                    result: EvidenceResult::Failed,
                    notes: backup.evidence_notes(),
                    links: vec![],
                },
                &[],
            )
            .await
            .unwrap();

        let now = Utc::now();
        let practice = ResiliencePractice::new(store.clone());
        let assessment = practice.assess(now).await.unwrap();
        let overdue_since = weekly_from(15).starts_local.and_utc();
        let summary: Vec<(&str, Severity, &str, i64)> = assessment
            .conditions
            .iter()
            .map(|c| (c.kind.as_str(), c.severity, c.title.as_str(), c.entity.id))
            .collect();
        let titles = [
            format!(
                "Resilience test of Cluster failover on db1 failed on {}; repair it and test again",
                stamp(failed.recorded_at)
            ),
            format!(
                "Resilience test of Power feed B on db1 passed only partly on {}; repair it and test again",
                stamp(partial.recorded_at)
            ),
            format!(
                "Mirror on db1: the host agent reports RAID is degraded ({})",
                stamp(degraded.recorded_at)
            ),
            format!(
                "Resilience test of Nightly restore on db1 is overdue since {}",
                stamp(overdue_since)
            ),
            format!(
                "Backups of db1: the host agent reports the newest backup is stale ({})",
                stamp(stale.recorded_at)
            ),
            "Critical asset db2 has no resilience measure: register how it survives a failure and test it".to_string(),
        ];
        assert_eq!(
            summary,
            [
                (
                    "measure_test_failed",
                    Severity::Critical,
                    titles[0].as_str(),
                    failover.id
                ),
                (
                    "measure_test_failed",
                    Severity::High,
                    titles[1].as_str(),
                    power.id
                ),
                (
                    "raid_degraded",
                    Severity::Critical,
                    titles[2].as_str(),
                    mirror.id
                ),
                (
                    "measure_test_overdue",
                    Severity::High,
                    titles[3].as_str(),
                    restore.id
                ),
                (
                    "backup_stale",
                    Severity::High,
                    titles[4].as_str(),
                    backups.id
                ),
                (
                    "critical_asset_unprotected",
                    Severity::Medium,
                    titles[5].as_str(),
                    db2.id
                ),
            ]
        );
        let c = &assessment.conditions;
        assert_eq!(c[0].entity.link, format!("/resilience/{}", failover.id));
        assert_eq!(
            (c[0].asset_id, c[0].asset_name.as_deref()),
            (Some(db1.id), Some("db1"))
        );
        assert_eq!(c[0].owner_team_id, Some(team.id));
        assert_eq!(c[0].since, Some(failed.recorded_at));
        assert_eq!(
            c[0].due,
            Some(weekly_from(-3).starts_local.and_utc()),
            "the next test"
        );
        assert_eq!(
            (c[3].since, c[3].due),
            (Some(overdue_since), Some(overdue_since))
        );
        assert!(c[3].is_overdue(now));
        assert_eq!(
            c[4].entity.link,
            format!("/calendar/activities/{}", backups.id)
        );
        assert_eq!(c[5].entity.link, format!("/assets/{}", db2.id));

        // Today's automatic items ride on the measures whose last test failed or was partial.
        let item = c[0].backlog.as_ref().unwrap();
        assert_eq!(item.source, "resilience_test");
        assert_eq!(
            item.source_key,
            format!("resilience_measure:{}", failover.id)
        );
        assert_eq!(item.item_type, ProposedItemType::Problem);
        assert_eq!(item.title, "Resilience test failed: Cluster failover");
        assert_eq!(
            item.description,
            format!(
                "The last test of the cluster_failover measure **Cluster failover** failed on {}. \
                 Repair the redundancy and test it again.",
                stamp(failed.recorded_at)
            )
        );
        assert_eq!(
            (item.impact, item.urgency, item.team_id),
            (2, 1, Some(team.id))
        );
        assert_eq!(item.asset_ids, [db1.id]);
        assert_eq!(item.label, "resilience measure Cluster failover");
        let item = c[1].backlog.as_ref().unwrap();
        assert_eq!(
            item.title,
            "Resilience test passed only partly: Power feed B"
        );
        assert_eq!((item.urgency, item.team_id), (2, None));
        assert_eq!(
            c[2].backlog.as_ref().unwrap().source_key,
            format!("resilience_measure:{}", mirror.id)
        );
        assert!(c[3].backlog.is_none() && c[4].backlog.is_none() && c[5].backlog.is_none());

        assert_eq!(
            assessment.deductions,
            [
                Deduction::new(
                    15,
                    "1 measure's last test failed; 1 measure's last test passed only partly",
                    Some("/resilience?state=failed")
                ),
                Deduction::new(
                    5,
                    format!(
                        "1 measure's test is overdue (oldest {} days)",
                        (now - overdue_since).num_days()
                    ),
                    Some("/resilience?state=overdue")
                ),
                Deduction::new(
                    15,
                    "host agents report 1 RAID array or multipath device degraded",
                    Some("/resilience?state=failed")
                ),
                Deduction::new(
                    10,
                    "host agents report 1 backup is stale (too old, too small or missing)",
                    Some("/resilience?kind=backup_restore")
                ),
                Deduction::new(
                    5,
                    "1 of 2 critical assets has no resilience measure",
                    Some("/assets?criticality=critical")
                ),
            ]
        );

        // db1: its four measures, and the two host agents' reports.
        let facets = practice.asset_facets(db1.id, now).await.unwrap();
        assert_eq!(facets.len(), 2, "{facets:?}");
        assert_eq!(facets[0].title, "Resilience measures");
        assert_eq!(
            facets[0].summary.as_deref(),
            Some("4 measures, 4 failing or overdue")
        );
        assert_eq!(
            facets[0].rows[0].cells,
            [
                "Cluster failover".to_string(),
                "cluster failover".into(),
                stamp(failed.recorded_at),
                "failed".into(),
                stamp(weekly_from(-3).starts_local.and_utc()),
                String::new(),
            ]
        );
        assert_eq!(facets[0].rows[0].tone, Tone::Bad);
        assert_eq!(facets[0].rows[3].cells[3], "not tested");
        assert_eq!(facets[0].rows[3].cells[5], stamp(overdue_since));
        assert_eq!(
            facets[0].more_link.as_deref(),
            Some(format!("/resilience?asset={}", db1.id).as_str())
        );
        assert_eq!(facets[1].title, "Host agent health checks");
        let checks: Vec<(&str, &str)> = facets[1]
            .rows
            .iter()
            .map(|r| (r.cells[0].as_str(), r.cells[1].as_str()))
            .collect();
        assert_eq!(
            checks,
            [("mdstat", "Mirror on db1"), ("backup", "Backups of db1")]
        );
        assert!(practice.asset_facets(db2.id, now).await.unwrap().is_empty());

        // A passing test clears the failure and its item's condition.
        measures
            .record_result(&actor(), failover.id, &result(EvidenceResult::Passed, "ok"))
            .await
            .unwrap();
        let later = practice.assess(Utc::now()).await.unwrap();
        assert!(later
            .conditions
            .iter()
            .all(|c| c.entity.id != failover.id || c.entity.kind != "measure"));
    }
);

store_test!(
    a_healthy_register_reports_nothing_and_runs_no_job,
    |store: Arc<dyn Store>| async move {
        let practice = ResiliencePractice::new(store.clone());
        let empty = practice.assess(Utc::now()).await.unwrap();
        assert!(empty.conditions.is_empty() && empty.deductions.is_empty());

        let measures = MeasureStore::new(store.as_ref());
        let mut asset = asset_input("db9");
        asset.criticality = Criticality::Critical;
        let db9 = store.create_asset(&actor(), &asset).await.unwrap();
        let m = measures
            .create(
                &actor(),
                &measure(db9.id, MeasureKind::Raid, "Mirror on db9", -3),
            )
            .await
            .unwrap()
            .measure;
        let mdstat = Report {
            check: "mdstat".into(),
            verdict: Verdict::Passed,
            findings: vec!["md0 raid1 Ok: [UU]".into()],
        };
        measures
            .record_result(
                &actor(),
                m.id,
                &result(EvidenceResult::Passed, &mdstat.evidence_notes()),
            )
            .await
            .unwrap();
        let healthy = practice.assess(Utc::now()).await.unwrap();
        assert_eq!(healthy.conditions, []);
        assert_eq!(healthy.deductions, []);
        let facets = practice.asset_facets(db9.id, Utc::now()).await.unwrap();
        assert_eq!(facets[0].rows[0].tone, Tone::Good);
        assert_eq!(facets[1].rows[0].tone, Tone::Good);

        let context = JobContext {
            conditions: Arc::new(Registry::new()) as Arc<dyn ConditionSource>,
            public_url: None,
        };
        assert!(practice.jobs(&context).is_empty());
    }
);
