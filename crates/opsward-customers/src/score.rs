//! Satisfaction arithmetic. CSAT is the share of answers that are 4 or 5 on a 1-5 scale;
//! NPS is the share of promoters (9-10) minus the share of detractors (0-6) on 0-10.

use crate::model::SurveyKind;
use serde::Serialize;
use utoipa::ToSchema;

/// Highest CSAT answer that counts as low.
pub const CSAT_LOW_MAX: i32 = 2;
/// Highest NPS answer that counts as low (a detractor).
pub const NPS_LOW_MAX: i32 = 6;

/// A CSAT of 2 or less, or an NPS answer of 6 or less (a detractor), opens a follow-up.
pub fn is_low(kind: SurveyKind, score: i32) -> bool {
    match kind {
        SurveyKind::Csat => score <= CSAT_LOW_MAX,
        SurveyKind::Nps => score <= NPS_LOW_MAX,
    }
}

pub fn valid_score(kind: SurveyKind, score: i32) -> bool {
    match kind {
        SurveyKind::Csat => (1..=5).contains(&score),
        SurveyKind::Nps => (0..=10).contains(&score),
    }
}

/// Percentage of satisfied answers (4 or 5), if there are any answers.
pub fn csat_percent(scores: &[i32]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let satisfied = scores.iter().filter(|s| **s >= 4).count();
    Some(100.0 * satisfied as f64 / scores.len() as f64)
}

/// Net Promoter Score from -100 to 100, if there are any answers.
pub fn nps(scores: &[i32]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let promoters = scores.iter().filter(|s| **s >= 9).count() as f64;
    let detractors = scores.iter().filter(|s| **s <= 6).count() as f64;
    Some(100.0 * (promoters - detractors) / scores.len() as f64)
}

/// Answered share of surveys sent, in percent.
pub fn response_rate(sent: usize, answered: usize) -> Option<f64> {
    (sent > 0).then(|| 100.0 * answered as f64 / sent as f64)
}

/// One month of a trend.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = SatisfactionTrendPoint)]
pub struct TrendPoint {
    /// `YYYY-MM`.
    pub month: String,
    pub csat_percent: Option<f64>,
    pub nps: Option<f64>,
    pub answers: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csat_counts_fours_and_fives() {
        assert_eq!(csat_percent(&[]), None);
        assert_eq!(csat_percent(&[5, 4, 3, 1]), Some(50.0));
        assert_eq!(csat_percent(&[5]), Some(100.0));
    }

    #[test]
    fn nps_is_promoters_minus_detractors() {
        // 3 promoters, 2 passives, 5 detractors: 30% - 50% = -20.
        assert_eq!(nps(&[10, 9, 9, 8, 7, 6, 5, 0, 3, 1]), Some(-20.0));
        assert_eq!(nps(&[10, 10]), Some(100.0));
        assert_eq!(nps(&[0]), Some(-100.0));
        assert_eq!(nps(&[7, 8]), Some(0.0));
    }

    #[test]
    fn low_scores_and_ranges() {
        assert!(is_low(SurveyKind::Csat, 2) && !is_low(SurveyKind::Csat, 3));
        assert!(is_low(SurveyKind::Nps, 6) && !is_low(SurveyKind::Nps, 7));
        assert!(valid_score(SurveyKind::Nps, 0) && !valid_score(SurveyKind::Csat, 0));
        assert!(!valid_score(SurveyKind::Csat, 6) && !valid_score(SurveyKind::Nps, 11));
        assert_eq!(response_rate(0, 0), None);
        assert_eq!(response_rate(4, 1), Some(25.0));
    }
}
