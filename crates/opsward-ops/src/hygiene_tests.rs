//! The scoring rules with hand-computed expectations. "Now" is fixed at 2026-06-15 12:00 UTC.

use super::*;
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 12, 0, 0).unwrap()
}

fn activity(id: i64, practice: Practice, rrule: &str, owned: bool) -> Activity {
    Activity {
        id,
        title: format!("activity {id}"),
        practice,
        template: None,
        description: String::new(),
        rrule: rrule.into(),
        starts_local: now().naive_utc() - Duration::days(200),
        timezone: "UTC".into(),
        duration_minutes: 60,
        owner_team_id: owned.then_some(1),
        owner_person_id: None,
        asset_id: None,
        active: true,
        created_at: now(),
        updated_at: now(),
    }
}

/// An occurrence `days` days from now (negative: in the past) in the state its evidence gives.
fn occurrence(a: &Activity, days: i64, result: Option<EvidenceResult>) -> Occurrence {
    let starts_at = now() + Duration::days(days);
    Occurrence {
        activity_id: a.id,
        title: a.title.clone(),
        practice: a.practice,
        starts_at,
        ends_at: starts_at + Duration::hours(1),
        starts_local: starts_at.format("%Y-%m-%d %H:%M").to_string(),
        timezone: "UTC".into(),
        state: OccurrenceState::of(starts_at, result.is_some(), now()),
        evidence_id: result.map(|_| 1),
        result,
        owner_team_id: a.owner_team_id,
        owner_person_id: a.owner_person_id,
    }
}

fn scores(
    activities: &[Activity],
    occurrences: &[Occurrence],
    assets: &AssetFacts,
) -> Vec<PracticeScore> {
    scores_with_live(activities, occurrences, assets, &BTreeMap::new())
}

fn scores_with_live(
    activities: &[Activity],
    occurrences: &[Occurrence],
    assets: &AssetFacts,
    live: &BTreeMap<Practice, Vec<Deduction>>,
) -> Vec<PracticeScore> {
    score(Facts {
        now: now(),
        activities,
        occurrences,
        assets,
        live,
    })
}

fn of(scores: &[PracticeScore], practice: Practice) -> &PracticeScore {
    scores.iter().find(|s| s.practice == practice).unwrap()
}

fn points_and_reasons(s: &PracticeScore) -> Vec<(u8, &str)> {
    s.deductions
        .iter()
        .map(|d| (d.points, d.reason.as_str()))
        .collect()
}

#[test]
fn every_practice_is_scored_and_points_add_up() {
    let all = scores(&[], &[], &AssetFacts::default());
    assert_eq!(all.len(), Practice::ALL.len());
    for s in &all {
        let lost: u32 = s.deductions.iter().map(|d| u32::from(d.points)).sum();
        assert_eq!(u32::from(s.score) + lost, 100, "{s:?}");
    }
}

#[test]
fn a_practice_with_nothing_scheduled_loses_40_and_says_why() {
    let all = scores(&[], &[], &AssetFacts::default());
    let certs = of(&all, Practice::Certificates);
    assert_eq!(certs.score, 60);
    assert_eq!(certs.band, ScoreBand::Fair);
    assert_eq!(
        points_and_reasons(certs),
        [(40, "no recurring activity is scheduled")]
    );
    assert_eq!(
        certs.deductions[0].link.as_deref(),
        Some("/calendar?practice=certificates"),
        "every lost point links to the list that shows it"
    );
}

#[test]
fn only_one_off_activities_lose_20() {
    let a = activity(1, Practice::General, "", true);
    let all = scores(&[a], &[], &AssetFacts::default());
    let general = of(&all, Practice::General);
    assert_eq!(general.score, 80);
    assert_eq!(
        points_and_reasons(general),
        [(
            20,
            "no recurring activity is scheduled, only 1 one-off activity"
        )]
    );
}

#[test]
fn a_healthy_practice_scores_100() {
    let a = activity(1, Practice::General, "FREQ=WEEKLY", true);
    let occ = [
        occurrence(&a, -14, Some(EvidenceResult::Passed)),
        occurrence(&a, -7, Some(EvidenceResult::Passed)),
        occurrence(&a, 7, None),
        occurrence(&a, 14, None),
        // Beyond 30 days: not "upcoming".
        occurrence(&a, 35, None),
    ];
    let all = scores(&[a], &occ, &AssetFacts::default());
    let general = of(&all, Practice::General);
    assert_eq!((general.score, general.band), (100, ScoreBand::Good));
    assert!(general.deductions.is_empty());
    assert_eq!((general.overdue, general.upcoming_30d), (0, 2));
}

#[test]
fn overdue_failed_and_partial_occurrences_are_counted_with_numbers() {
    // Resilience, weekly, owned: of 4 due occurrences, 2 are overdue (12 and 5 days),
    // 1 failed, 1 passed partially.
    let a = activity(1, Practice::Resilience, "FREQ=WEEKLY", true);
    let occ = [
        occurrence(&a, -12, None),
        occurrence(&a, -10, Some(EvidenceResult::Failed)),
        occurrence(&a, -8, Some(EvidenceResult::Partial)),
        occurrence(&a, -5, None),
        // Older than 90 days: not counted.
        occurrence(&a, -95, None),
    ];
    let all = scores(&[a], &occ, &AssetFacts::default());
    let r = of(&all, Practice::Resilience);
    // overdue 2 × 10 = 20; failed ceil(20 × 1/4) = 5; partial ceil(10 × 1/4) = 3.
    assert_eq!(
        points_and_reasons(r),
        [
            (20, "2 occurrences are overdue (oldest 12 days)"),
            (5, "1 of 4 occurrences in the last 90 days failed"),
            (
                3,
                "1 of 4 occurrences in the last 90 days passed only partially"
            ),
        ]
    );
    assert_eq!((r.score, r.band, r.overdue), (72, ScoreBand::Fair, 2));
}

#[test]
fn overdue_is_capped_at_50_and_one_overdue_reads_naturally() {
    let a = activity(1, Practice::General, "FREQ=DAILY", true);
    let many: Vec<_> = (1..=7).map(|d| occurrence(&a, -d, None)).collect();
    let all = scores(std::slice::from_ref(&a), &many, &AssetFacts::default());
    assert_eq!(
        points_and_reasons(of(&all, Practice::General)),
        [(50, "7 occurrences are overdue (oldest 7 days)")]
    );

    // Started two hours ago.
    let mut one = occurrence(&a, 0, None);
    one.starts_at = now() - Duration::hours(2);
    one.state = OccurrenceState::Overdue;
    let all = scores(&[a], &[one], &AssetFacts::default());
    assert_eq!(
        points_and_reasons(of(&all, Practice::General)),
        [(10, "1 occurrence is overdue (oldest less than a day)")]
    );
}

#[test]
fn unowned_activities_cost_5_each_up_to_15() {
    let acts: Vec<_> = (1..=4)
        .map(|id| activity(id, Practice::Patches, "FREQ=MONTHLY", id == 1))
        .collect();
    let all = scores(&acts, &[], &AssetFacts::default());
    let p = of(&all, Practice::Patches);
    assert_eq!(p.score, 85);
    assert_eq!(
        points_and_reasons(p),
        [(15, "3 of 4 activities have no owner")]
    );
    let all = scores(&acts[..2], &[], &AssetFacts::default());
    assert_eq!(
        of(&all, Practice::Patches).deductions[0].reason,
        "1 of 2 activities has no owner"
    );
}

#[test]
fn asset_register_facts_score_general_and_resilience() {
    let mut restore = activity(1, Practice::Resilience, "FREQ=MONTHLY", true);
    restore.asset_id = Some(10);
    let assets = AssetFacts {
        total: 7,
        without_owner: 3,
        critical_asset_ids: vec![10, 11, 12],
    };
    let general_activity = activity(2, Practice::General, "FREQ=WEEKLY", true);
    let all = scores(&[restore, general_activity], &[], &assets);
    // ceil(20 × 3/7) = ceil(8.57) = 9
    assert_eq!(
        points_and_reasons(of(&all, Practice::General)),
        [(9, "3 of 7 assets have no owner")]
    );
    // Assets 11 and 12 have no resilience activity: 2 × 5 = 10.
    assert_eq!(
        points_and_reasons(of(&all, Practice::Resilience)),
        [(
            10,
            "2 of 3 critical assets have no resilience activity (restore or failover test)"
        )]
    );
    assert_eq!(of(&all, Practice::Resilience).score, 90);
}

#[test]
fn the_score_never_goes_below_zero_and_points_still_add_up() {
    // Only one-offs (20) + 5 overdue (50) + 5 unowned (25, capped at 15) + 4 uncovered
    // critical assets (20): 105 before the total is capped at 100.
    let acts: Vec<_> = (1..=5)
        .map(|id| activity(id, Practice::Resilience, "", false))
        .collect();
    let occ: Vec<_> = acts
        .iter()
        .enumerate()
        .map(|(i, a)| occurrence(a, -(i as i64) - 1, None))
        .collect();
    let assets = AssetFacts {
        total: 4,
        without_owner: 0,
        critical_asset_ids: vec![1, 2, 3, 4],
    };
    let all = scores(&acts, &occ, &assets);
    let r = of(&all, Practice::Resilience);
    assert_eq!(r.score, 0);
    assert_eq!(r.band, ScoreBand::Poor);
    let points: Vec<u8> = r.deductions.iter().map(|d| d.points).collect();
    // 20 + 50 + 15 = 85, so the critical-asset deduction is trimmed from 20 to 15.
    assert_eq!(points, [20, 50, 15, 15]);
}

#[test]
fn inactive_activities_and_other_practices_do_not_count() {
    let mut paused = activity(1, Practice::Suppliers, "FREQ=YEARLY", false);
    paused.active = false;
    let other = activity(2, Practice::Customers, "FREQ=YEARLY", true);
    let all = scores(&[paused, other], &[], &AssetFacts::default());
    assert_eq!(of(&all, Practice::Suppliers).score, 60);
    assert_eq!(of(&all, Practice::Suppliers).activities, 0);
    assert_eq!(of(&all, Practice::Customers).score, 100);
}

#[test]
fn live_deductions_come_first_and_share_the_cap_of_100() {
    let a = activity(1, Practice::Certificates, "FREQ=DAILY", true);
    let overdue: Vec<_> = (1..=7).map(|d| occurrence(&a, -d, None)).collect();
    let live = BTreeMap::from([(
        Practice::Certificates,
        vec![
            Deduction::new(
                30,
                "2 certificates have expired",
                Some("/certificates?expired=1"),
            ),
            Deduction::new(0, "a rule that found nothing", None),
            Deduction::new(40, "3 certificates have critical problems", None),
        ],
    )]);
    let all = scores_with_live(&[a], &overdue, &AssetFacts::default(), &live);
    let certs = of(&all, Practice::Certificates);
    // 30 + 40 live, then the 50 for overdue occurrences is trimmed to the 30 left.
    assert_eq!(
        points_and_reasons(certs),
        [
            (30, "2 certificates have expired"),
            (40, "3 certificates have critical problems"),
            (30, "7 occurrences are overdue (oldest 7 days)"),
        ]
    );
    assert_eq!(certs.score, 0);
    assert_eq!(
        certs.deductions[0].link.as_deref(),
        Some("/certificates?expired=1")
    );
    // Other practices are not touched by certificates' live data.
    assert_eq!(of(&all, Practice::Suppliers).score, 60);
}

#[test]
fn no_reason_says_a_practice_is_missing() {
    let all = scores(&[], &[], &AssetFacts::default());
    for s in &all {
        for d in &s.deductions {
            assert!(
                !d.reason.contains(" yet") && !d.reason.contains("calendar only"),
                "{d:?}"
            );
        }
    }
}

#[test]
fn bands() {
    assert_eq!(ScoreBand::of(100), ScoreBand::Good);
    assert_eq!(ScoreBand::of(80), ScoreBand::Good);
    assert_eq!(ScoreBand::of(79), ScoreBand::Fair);
    assert_eq!(ScoreBand::of(50), ScoreBand::Fair);
    assert_eq!(ScoreBand::of(49), ScoreBand::Poor);
    assert_eq!(ScoreBand::of(0), ScoreBand::Poor);
}
