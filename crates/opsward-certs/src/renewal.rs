//! Renewal to done: which certificates need a renewal task, which tasks are finished because
//! a newer certificate for the same names (or more) is served everywhere the old one was,
//! which places still serve the old one after its replacement was seen, and the expiry
//! alerts.

use crate::{
    inventory::{CertFilter, RenewalStatus, StoredCertificate},
    model::{Problem, Severity},
    store::{CertFacts, CertStore, SightingFact},
};
use chrono::{DateTime, Duration, Utc};
use opsward_core::{practice::Practice, Actor};
use opsward_ops::notifications::{Event, Notifier};
use opsward_store::StoreError;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A place that still serves a certificate whose replacement is served elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRotated {
    pub certificate_id: i64,
    pub replacement_id: i64,
    /// The current sightings of the old certificate.
    pub sighting_ids: Vec<i64>,
}

/// What the renewal rules decide from the stored sightings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenewalPlan {
    /// Leaf certificates in use that expire within the first threshold (or have expired).
    pub due: Vec<i64>,
    /// `(old, replacement)`: the replacement is served at every place the old one was.
    pub replaced: Vec<(i64, i64)>,
    pub not_rotated: Vec<NotRotated>,
}

/// Decide from facts alone. A *replacement* of C is a non-CA certificate that covers every
/// name of C (it may add names: a renewal often does) and expires later. C is replaced at a place when the place now serves a replacement and
/// no longer serves C; C is replaced when that holds at every place it was ever seen.
pub fn plan(
    certs: &[CertFacts],
    sightings: &[SightingFact],
    first_threshold_days: i64,
    now: DateTime<Utc>,
) -> RenewalPlan {
    plan_with(certs, sightings, |_| first_threshold_days, now)
}

/// [`plan`] with each certificate's own first threshold (an asset's override).
pub fn plan_with(
    certs: &[CertFacts],
    sightings: &[SightingFact],
    first_threshold_days: impl Fn(i64) -> i64,
    now: DateTime<Utc>,
) -> RenewalPlan {
    let leaves: Vec<&CertFacts> = certs
        .iter()
        .filter(|c| !c.is_ca && !c.names_key.is_empty())
        .collect();
    let by_name = NameIndex::new(&leaves);
    // source -> certificates it serves now; certificate -> its sightings
    let mut serving: HashMap<i64, BTreeSet<i64>> = HashMap::new();
    let mut of_cert: BTreeMap<i64, Vec<&SightingFact>> = BTreeMap::new();
    for s in sightings {
        if s.current {
            serving
                .entry(s.source_id)
                .or_default()
                .insert(s.certificate_id);
        }
        of_cert.entry(s.certificate_id).or_default().push(s);
    }
    let mut plan = RenewalPlan::default();
    for c in certs.iter().filter(|c| !c.is_ca) {
        let Some(seen) = of_cert.get(&c.id) else {
            continue;
        };
        let replacements: Vec<&CertFacts> = by_name
            .covering(c)
            .into_iter()
            .filter(|r| r.id != c.id && r.not_after > c.not_after && of_cert.contains_key(&r.id))
            .collect();
        let places: BTreeSet<i64> = seen.iter().map(|s| s.source_id).collect();
        let mut served_replacement: Option<&CertFacts> = None;
        let mut all_rotated = true;
        for place in &places {
            let now_serving = serving.get(place);
            let still_old = now_serving.is_some_and(|set| set.contains(&c.id));
            let new_here = replacements
                .iter()
                .filter(|r| now_serving.is_some_and(|set| set.contains(&r.id)))
                .max_by_key(|r| r.not_after);
            match new_here {
                Some(r) if !still_old => {
                    if served_replacement.is_none_or(|best| r.not_after > best.not_after) {
                        served_replacement = Some(r);
                    }
                }
                _ => all_rotated = false,
            }
        }
        let in_use = seen.iter().any(|s| s.current);
        if let (true, Some(r)) = (all_rotated, served_replacement) {
            plan.replaced.push((c.id, r.id));
            continue;
        }
        if let (true, Some(newest)) = (in_use, replacements.iter().max_by_key(|r| r.not_after)) {
            plan.not_rotated.push(NotRotated {
                certificate_id: c.id,
                replacement_id: newest.id,
                sighting_ids: seen.iter().filter(|s| s.current).map(|s| s.id).collect(),
            });
        }
        if in_use && c.not_after - now <= Duration::days(first_threshold_days(c.id)) {
            plan.due.push(c.id);
        }
    }
    plan
}

/// Leaf certificates by each name they are for, to find those covering all of another's.
struct NameIndex<'a> {
    by_name: HashMap<&'a str, Vec<&'a CertFacts>>,
}

impl<'a> NameIndex<'a> {
    fn new(leaves: &[&'a CertFacts]) -> Self {
        let mut by_name: HashMap<&str, Vec<&CertFacts>> = HashMap::new();
        for c in leaves {
            for name in names(c) {
                by_name.entry(name).or_default().push(c);
            }
        }
        NameIndex { by_name }
    }

    /// Certificates (`c` among them) for every name of `c`. Names match exactly: a
    /// wildcard served elsewhere is another deployment, not this certificate's renewal.
    fn covering(&self, c: &CertFacts) -> Vec<&'a CertFacts> {
        let mut wanted = names(c);
        let Some(first) = wanted.next() else {
            return Vec::new();
        };
        let mut candidates: Vec<&CertFacts> = self.certs_for(first).to_vec();
        for name in wanted {
            let here = self.certs_for(name);
            candidates.retain(|r| here.iter().any(|h| h.id == r.id));
        }
        candidates
    }

    fn certs_for(&self, name: &str) -> &[&'a CertFacts] {
        self.by_name
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// The names of a certificate's names key (DNS and IP SANs, else its CN).
fn names(c: &CertFacts) -> impl Iterator<Item = &str> {
    c.names_key.split(',').filter(|n| !n.is_empty())
}

/// What one pass of the renewal rules did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenewalRun {
    pub opened: usize,
    pub completed: usize,
    pub not_rotated: usize,
    /// Alert messages queued in the outbox.
    pub queued: usize,
}

/// Apply the plan: open tasks, close finished ones, mark places that were not rotated, and
/// raise expiry alerts through the notification layer (each threshold once per certificate:
/// the dedupe key names the certificate, the state names the threshold).
pub async fn reconcile(
    store: &CertStore,
    notifier: &Notifier,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<RenewalRun, StoreError> {
    let settings = store.settings().await?;
    let thresholds = settings.sorted_thresholds();
    let first = thresholds.first().copied().unwrap_or(30);
    // Certificates on an asset with its own thresholds (or its tags') use those.
    let overrides = store.certificate_thresholds().await?;
    let first_of = |id: i64| {
        overrides
            .get(&id)
            .and_then(|t| t.first().copied())
            .unwrap_or(first)
    };
    let widest = overrides
        .values()
        .filter_map(|t| t.first().copied())
        .fold(first, i64::max);
    let (certs, sightings) = store.facts().await?;
    let plan = plan_with(&certs, &sightings, first_of, now);
    let mut run = RenewalRun::default();
    let tasks: HashMap<i64, _> = store
        .renewals(None)
        .await?
        .into_iter()
        .map(|t| (t.certificate_id, t))
        .collect();
    for (old, replacement) in &plan.replaced {
        if let Some(task) = tasks.get(old).filter(|t| t.status != RenewalStatus::Done) {
            store
                .complete_renewal(actor, task.id, *replacement, now)
                .await?;
            tracing::info!(
                certificate = old,
                replacement,
                "renewal done: replacement served everywhere"
            );
            run.completed += 1;
        }
    }
    for id in &plan.due {
        if !tasks.contains_key(id) {
            let note = "opened automatically: the certificate expires within the first threshold";
            if store.open_renewal(actor, *id, note, now).await?.is_some() {
                run.opened += 1;
            }
        }
    }
    let fingerprints: HashMap<i64, String> = if plan.not_rotated.is_empty() {
        HashMap::new()
    } else {
        store
            .list(&CertFilter {
                include_retired: true,
                limit: Some(crate::store::MAX_LIST),
                ..CertFilter::default()
            })
            .await?
            .into_iter()
            .map(|c| (c.id, c.fingerprint_sha256))
            .collect()
    };
    for nr in &plan.not_rotated {
        let replacement = fingerprints
            .get(&nr.replacement_id)
            .map(|f| &f[..16.min(f.len())])
            .unwrap_or("?");
        let problem = Problem::new(
            "not-rotated",
            Severity::Warning,
            format!("its replacement (SHA-256 {replacement}...) is served elsewhere, but this place still serves this certificate"),
        );
        let at: Vec<(i64, i64)> = nr
            .sighting_ids
            .iter()
            .map(|s| (*s, nr.certificate_id))
            .collect();
        store.add_problem(&at, &problem).await?;
        run.not_rotated += at.len();
    }
    let replaced: BTreeSet<i64> = plan.replaced.iter().map(|(old, _)| *old).collect();
    let expiring = store
        .list(&CertFilter {
            expires_before: Some(now + Duration::days(widest)),
            limit: Some(crate::store::MAX_LIST),
            ..CertFilter::default()
        })
        .await?;
    for cert in expiring.iter().filter(|c| !replaced.contains(&c.id)) {
        let own = overrides.get(&cert.id).unwrap_or(&thresholds);
        if let Some(event) = expiry_event(cert, own, now) {
            run.queued += notifier.emit(&event, now).await?.len();
        }
    }
    Ok(run)
}

/// The alert due for a certificate: expired, or within the nearest threshold it has crossed.
pub fn expiry_event(
    cert: &StoredCertificate,
    thresholds: &[i64],
    now: DateTime<Utc>,
) -> Option<Event> {
    use opsward_ops::notifications::Severity as Level;
    let name = cert.display_name();
    let left = cert.not_after - now;
    let (kind, state, severity, subject) = if left <= Duration::zero() {
        (
            "certificate.expired",
            "expired".to_string(),
            Level::Critical,
            format!("Certificate expired: {name}"),
        )
    } else {
        let threshold = thresholds
            .iter()
            .copied()
            .filter(|t| left <= Duration::days(*t))
            .min()?;
        let severity = match threshold {
            t if t <= 7 => Level::Critical,
            t if t <= 14 => Level::Warning,
            _ => Level::Info,
        };
        (
            "certificate.expiring",
            format!("{threshold}d"),
            severity,
            format!("Certificate expires in {} days: {name}", left.num_days()),
        )
    };
    let names = if cert.san_dns.is_empty() {
        name.to_string()
    } else {
        cert.san_dns.join(", ")
    };
    Some(Event {
        kind: kind.into(),
        practice: Practice::Certificates,
        severity,
        subject,
        body: format!(
            "{name} (for {names}; issuer {}; serial {}) is valid until {}. It is served at {} place(s).\n\
             Renew it and deploy the new certificate everywhere; the renewal task closes itself once \
             the replacement is seen at every place.",
            cert.issuer_cn.as_deref().unwrap_or(&cert.issuer),
            cert.serial,
            cert.not_after.format("%Y-%m-%d %H:%M UTC"),
            cert.current_sightings
        ),
        link: Some(format!("/certificates/{}", cert.id)),
        owner_team_id: cert.effective_owner_team_id,
        owner_person_id: cert.effective_owner_person_id,
        dedupe_key: format!("certificate:{}:expiry", cert.fingerprint_sha256),
        state,
        occurred_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap()
    }

    fn cert(id: i64, names: &str, expires: u32) -> CertFacts {
        CertFacts {
            id,
            names_key: names.into(),
            not_before: at(1),
            not_after: at(expires),
            is_ca: false,
        }
    }

    fn seen(id: i64, certificate_id: i64, source_id: i64, current: bool) -> SightingFact {
        SightingFact {
            id,
            certificate_id,
            source_id,
            current,
        }
    }

    #[test]
    fn replaced_only_when_every_place_serves_the_new_one() {
        let certs = [cert(1, "a.example", 10), cert(2, "a.example", 28)];
        // Old at places 100 and 101; the new one only at 100 so far.
        let partly = [
            seen(1, 1, 100, false),
            seen(2, 1, 101, true),
            seen(3, 2, 100, true),
        ];
        let p = plan(&certs, &partly, 30, at(5));
        assert!(p.replaced.is_empty());
        assert_eq!(
            p.not_rotated,
            vec![NotRotated {
                certificate_id: 1,
                replacement_id: 2,
                sighting_ids: vec![2]
            }]
        );
        assert_eq!(p.due, vec![1, 2]);

        let everywhere = [
            seen(1, 1, 100, false),
            seen(2, 1, 101, false),
            seen(3, 2, 100, true),
            seen(4, 2, 101, true),
        ];
        let p = plan(&certs, &everywhere, 30, at(5));
        assert_eq!(p.replaced, vec![(1, 2)]);
        assert!(p.not_rotated.is_empty());
        assert_eq!(
            p.due,
            vec![2],
            "the replaced certificate needs nothing more"
        );
    }

    #[test]
    fn other_names_older_certificates_and_cas_are_no_replacement() {
        let mut ca = cert(4, "a.example", 30);
        ca.is_ca = true;
        let certs = [
            cert(1, "a.example", 20),
            cert(2, "b.example", 30),
            cert(3, "a.example", 15),
            ca,
        ];
        let sightings = [
            seen(1, 1, 100, false),
            seen(2, 2, 100, true),
            seen(3, 3, 100, true),
            seen(4, 4, 100, true),
        ];
        let p = plan(&certs, &sightings, 1, at(5));
        assert!(p.replaced.iter().all(|(old, _)| *old != 1));
        // 1 replaces 3 by names and dates, but place 100 serves 3 again, not 1.
        assert!(p.replaced.is_empty());
        assert!(p.due.is_empty(), "nothing within one day of expiry");
    }

    #[test]
    fn a_replacement_covers_every_old_name_and_may_add_some() {
        let certs = [
            cert(1, "192.0.2.7,api.example", 20),
            cert(2, "192.0.2.7,2001:db8::7,api.example,new.example", 28),
            cert(3, "a.example,b.example", 20),
            cert(4, "a.example", 28),
            cert(5, "*.example", 28),
            cert(6, "c.example", 20),
        ];
        let sightings = [
            seen(1, 1, 100, false),
            seen(2, 2, 100, true),
            seen(3, 3, 101, false),
            seen(4, 4, 101, true),
            seen(5, 6, 102, false),
            seen(6, 5, 102, true),
        ];
        let p = plan(&certs, &sightings, 30, at(5));
        // Names added (an IP and a DNS name): replaced. A name dropped, or only a wildcard
        // for it: not.
        assert_eq!(p.replaced, vec![(1, 2)]);
    }

    #[test]
    fn due_within_the_first_threshold_or_expired_and_in_use() {
        let certs = [
            cert(1, "a", 20),
            cert(2, "b", 31),
            cert(3, "c", 3),
            cert(4, "d", 4),
        ];
        let sightings = [
            seen(1, 1, 1, true),
            seen(2, 2, 2, true),
            seen(3, 3, 3, true),
            seen(4, 4, 4, false),
        ];
        let p = plan(&certs, &sightings, 10, at(10));
        // 1 in 10 days (due), 2 in 21 (not), 3 expired (due), 4 no longer in use.
        assert_eq!(p.due, vec![1, 3]);
    }
}
