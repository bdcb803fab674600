//! The certificate tables' SQL, the same on both backends, expanded once per backend.

use super::{like_pattern, names_key, CertFacts, Deployed, Result, SightingFact};
use crate::{
    inventory::{
        CertFilter, CertSettings, CertSort, CertSource, ObservedSource, OwnerInput, RenewalStatus,
        RenewalTask, RenewalUpdate, ScanRecord, ScanResult, SightingRecord, SourceKind,
        StoredCertificate, StoredProblem,
    },
    model::{Problem, Severity},
};
use chrono::{DateTime, Utc};
use opsward_core::Actor;
use opsward_store::StoreError;
use std::collections::BTreeMap;

/// Most certificates one list returns.
pub const MAX_LIST: u32 = 5000;

fn severity(text: &str) -> Result<Severity> {
    match text {
        "info" => Ok(Severity::Info),
        "warning" => Ok(Severity::Warning),
        "critical" => Ok(Severity::Critical),
        other => Err(StoreError::Corrupt(format!("unknown severity {other:?}"))),
    }
}

/// One problem per code (the worst), worst first.
fn worst_per_code(problems: Vec<StoredProblem>) -> Vec<StoredProblem> {
    let mut by_code: BTreeMap<String, StoredProblem> = BTreeMap::new();
    for p in problems {
        match by_code.get(&p.code) {
            Some(seen) if seen.severity >= p.severity => {}
            _ => {
                by_code.insert(p.code.clone(), p);
            }
        }
    }
    let mut out: Vec<_> = by_code.into_values().collect();
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));
    out
}

macro_rules! certs_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{types::Json, QueryBuilder, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            /// The certificate's columns with its effective owner: set directly, else its
            /// asset's owner, else the owner of an asset it was seen at.
            const CERT_SELECT: &str = "SELECT c.id, c.fingerprint_sha256, c.subject, c.subject_cn, c.issuer, c.issuer_cn, \
                c.serial, c.san_dns, c.san_ip, c.not_before, c.not_after, c.key_type, c.signature_algorithm, c.is_ca, \
                c.self_signed, c.asset_id, c.owner_team_id, c.owner_person_id, c.first_seen_at, c.last_seen_at, \
                CASE WHEN c.owner_team_id IS NOT NULL OR c.owner_person_id IS NOT NULL THEN c.owner_team_id ELSE a.owner_team_id END AS eff_team, \
                CASE WHEN c.owner_team_id IS NOT NULL OR c.owner_person_id IS NOT NULL THEN c.owner_person_id ELSE a.owner_person_id END AS eff_person, \
                (SELECT COUNT(*) FROM cert_sightings g WHERE g.certificate_id = c.id AND g.current) AS current_sightings \
                FROM certificates c LEFT JOIN assets a ON a.id = COALESCE(c.asset_id, \
                (SELECT MIN(s.asset_id) FROM cert_sightings g JOIN cert_sources s ON s.id = g.source_id WHERE g.certificate_id = c.id))";

            const SOURCE_COLUMNS: &str = "s.id AS s_id, s.kind AS s_kind, s.location AS s_location, s.sni AS s_sni, \
                s.starttls AS s_starttls, s.asset_id AS s_asset_id, s.last_scan_at AS s_last_scan_at, s.last_error AS s_last_error";

            const RENEWAL_COLUMNS: &str = "id, certificate_id, status, replacement_certificate_id, note, opened_at, updated_at, closed_at, closed_by";

            fn cert_row(row: &DbRow) -> Result<StoredCertificate> {
                let san_dns: Json<Vec<String>> = row.try_get("san_dns")?;
                let san_ip: Json<Vec<String>> = row.try_get("san_ip")?;
                Ok(StoredCertificate {
                    id: row.try_get("id")?,
                    fingerprint_sha256: row.try_get("fingerprint_sha256")?,
                    subject: row.try_get("subject")?,
                    subject_cn: row.try_get("subject_cn")?,
                    issuer: row.try_get("issuer")?,
                    issuer_cn: row.try_get("issuer_cn")?,
                    serial: row.try_get("serial")?,
                    san_dns: san_dns.0,
                    san_ip: san_ip.0,
                    not_before: row.try_get("not_before")?,
                    not_after: row.try_get("not_after")?,
                    key_type: row.try_get("key_type")?,
                    signature_algorithm: row.try_get("signature_algorithm")?,
                    is_ca: row.try_get("is_ca")?,
                    self_signed: row.try_get("self_signed")?,
                    asset_id: row.try_get("asset_id")?,
                    owner_team_id: row.try_get("owner_team_id")?,
                    owner_person_id: row.try_get("owner_person_id")?,
                    effective_owner_team_id: row.try_get("eff_team")?,
                    effective_owner_person_id: row.try_get("eff_person")?,
                    first_seen_at: row.try_get("first_seen_at")?,
                    last_seen_at: row.try_get("last_seen_at")?,
                    current_sightings: row.try_get("current_sightings")?,
                    problems: Vec::new(),
                })
            }

            fn source_row(row: &DbRow) -> Result<CertSource> {
                let kind: String = row.try_get("s_kind")?;
                Ok(CertSource {
                    id: row.try_get("s_id")?,
                    kind: kind.parse().map_err(StoreError::Corrupt)?,
                    location: row.try_get("s_location")?,
                    sni: row.try_get("s_sni")?,
                    starttls: row.try_get("s_starttls")?,
                    asset_id: row.try_get("s_asset_id")?,
                    last_scan_at: row.try_get("s_last_scan_at")?,
                    last_error: row.try_get("s_last_error")?,
                })
            }

            fn renewal_row(row: &DbRow) -> Result<RenewalTask> {
                let status: String = row.try_get("status")?;
                Ok(RenewalTask {
                    id: row.try_get("id")?,
                    certificate_id: row.try_get("certificate_id")?,
                    status: status.parse().map_err(StoreError::Corrupt)?,
                    replacement_certificate_id: row.try_get("replacement_certificate_id")?,
                    note: row.try_get("note")?,
                    opened_at: row.try_get("opened_at")?,
                    updated_at: row.try_get("updated_at")?,
                    closed_at: row.try_get("closed_at")?,
                    closed_by: row.try_get("closed_by")?,
                })
            }

            /// Attach the problems found at the places that serve each certificate now.
            async fn with_problems(conn: &mut backend::Conn, certs: &mut [StoredCertificate]) -> Result<()> {
                if certs.is_empty() {
                    return Ok(());
                }
                let mut query = QueryBuilder::<$db>::new(
                    "SELECT p.certificate_id, p.code, p.severity, p.message FROM cert_problems p \
                     JOIN cert_sightings g ON g.id = p.sighting_id WHERE g.current AND p.certificate_id IN (",
                );
                let mut ids = query.separated(", ");
                for c in certs.iter() {
                    ids.push_bind(c.id);
                }
                query.push(")");
                let mut found: BTreeMap<i64, Vec<StoredProblem>> = BTreeMap::new();
                for row in query.build().fetch_all(&mut *conn).await? {
                    let sev: String = row.try_get("severity")?;
                    found.entry(row.try_get("certificate_id")?).or_default().push(StoredProblem {
                        code: row.try_get("code")?,
                        severity: severity(&sev)?,
                        message: row.try_get("message")?,
                    });
                }
                for c in certs.iter_mut() {
                    c.problems = worst_per_code(found.remove(&c.id).unwrap_or_default());
                }
                Ok(())
            }

            async fn fetch(conn: &mut backend::Conn, id: i64) -> Result<StoredCertificate> {
                let row = sqlx::query(&format!("{CERT_SELECT} WHERE c.id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("certificate"))?;
                let mut certs = vec![cert_row(&row)?];
                with_problems(conn, &mut certs).await?;
                Ok(certs.remove(0))
            }

            pub async fn get(pool: &Pool, id: i64) -> Result<StoredCertificate> {
                fetch(&mut *pool.acquire().await?, id).await
            }

            pub async fn by_fingerprint(pool: &Pool, fingerprint: &str) -> Result<StoredCertificate> {
                let mut conn = pool.acquire().await?;
                let id: i64 = sqlx::query("SELECT id FROM certificates WHERE fingerprint_sha256 = $1")
                    .bind(fingerprint.to_ascii_lowercase())
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("certificate"))?
                    .try_get("id")?;
                fetch(&mut conn, id).await
            }

            pub async fn der(pool: &Pool, id: i64) -> Result<Vec<u8>> {
                Ok(sqlx::query("SELECT der FROM certificates WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
                    .ok_or(StoreError::NotFound("certificate"))?
                    .try_get("der")?)
            }

            pub async fn list(pool: &Pool, filter: &CertFilter) -> Result<Vec<StoredCertificate>> {
                let mut conn = pool.acquire().await?;
                let mut query = QueryBuilder::<$db>::new(format!("SELECT * FROM ({CERT_SELECT}) x WHERE 1 = 1"));
                if !filter.include_retired {
                    query.push(" AND current_sightings > 0");
                }
                if let Some(before) = filter.expires_before {
                    query.push(" AND not_after < ").push_bind(before);
                }
                if let Some(code) = &filter.problem {
                    query
                        .push(" AND EXISTS (SELECT 1 FROM cert_problems p JOIN cert_sightings g ON g.id = p.sighting_id \
                               WHERE p.certificate_id = x.id AND g.current AND p.code = ")
                        .push_bind(code.clone())
                        .push(")");
                }
                if let Some(team) = filter.owner_team_id {
                    query.push(" AND eff_team = ").push_bind(team);
                }
                if let Some(person) = filter.owner_person_id {
                    query.push(" AND eff_person = ").push_bind(person);
                }
                if let Some(issuer) = &filter.issuer {
                    query.push(" AND LOWER(issuer) LIKE ").push_bind(like_pattern(issuer)).push(" ESCAPE '\\'");
                }
                query.push(match filter.sort.unwrap_or(CertSort::Expiry) {
                    CertSort::Expiry => " ORDER BY not_after, id",
                    CertSort::ExpiryDesc => " ORDER BY not_after DESC, id",
                    CertSort::Subject => " ORDER BY LOWER(COALESCE(subject_cn, subject)), id",
                });
                let limit = filter.limit.unwrap_or(500).clamp(1, MAX_LIST);
                query.push(" LIMIT ").push_bind(i64::from(limit));
                let rows = query.build().fetch_all(&mut *conn).await?;
                let mut certs = rows.iter().map(cert_row).collect::<Result<Vec<_>>>()?;
                with_problems(&mut conn, &mut certs).await?;
                Ok(certs)
            }

            pub async fn sightings(pool: &Pool, certificate_id: i64) -> Result<Vec<SightingRecord>> {
                let rows = sqlx::query(&format!(
                    "SELECT g.id, g.certificate_id, g.chain_position, g.first_seen_at, g.last_seen_at, g.current, {SOURCE_COLUMNS} \
                     FROM cert_sightings g JOIN cert_sources s ON s.id = g.source_id \
                     WHERE g.certificate_id = $1 ORDER BY g.current DESC, s.location, g.chain_position"
                ))
                .bind(certificate_id)
                .fetch_all(pool)
                .await?;
                let problems = sqlx::query(
                    "SELECT sighting_id, code, severity, message FROM cert_problems WHERE certificate_id = $1",
                )
                .bind(certificate_id)
                .fetch_all(pool)
                .await?;
                let mut by_sighting: BTreeMap<i64, Vec<StoredProblem>> = BTreeMap::new();
                for row in &problems {
                    let sev: String = row.try_get("severity")?;
                    by_sighting.entry(row.try_get("sighting_id")?).or_default().push(StoredProblem {
                        code: row.try_get("code")?,
                        severity: severity(&sev)?,
                        message: row.try_get("message")?,
                    });
                }
                rows.iter()
                    .map(|row| {
                        let id: i64 = row.try_get("id")?;
                        Ok(SightingRecord {
                            id,
                            certificate_id: row.try_get("certificate_id")?,
                            source: source_row(row)?,
                            chain_position: row.try_get("chain_position")?,
                            first_seen_at: row.try_get("first_seen_at")?,
                            last_seen_at: row.try_get("last_seen_at")?,
                            current: row.try_get("current")?,
                            problems: worst_per_code(by_sighting.remove(&id).unwrap_or_default()),
                        })
                    })
                    .collect()
            }

            /// Every certificate at every place that serves it now, for the metrics.
            pub async fn deployed(pool: &Pool) -> Result<Vec<Deployed>> {
                sqlx::query(
                    "SELECT c.id, c.subject_cn, c.issuer_cn, c.serial, c.not_before, c.not_after, s.location, g.chain_position \
                     FROM cert_sightings g JOIN certificates c ON c.id = g.certificate_id JOIN cert_sources s ON s.id = g.source_id \
                     WHERE g.current ORDER BY s.location, g.chain_position",
                )
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| {
                    Ok(Deployed {
                        certificate_id: row.try_get("id")?,
                        subject_cn: row.try_get("subject_cn")?,
                        issuer_cn: row.try_get("issuer_cn")?,
                        serial: row.try_get("serial")?,
                        not_before: row.try_get("not_before")?,
                        not_after: row.try_get("not_after")?,
                        source: row.try_get("location")?,
                        chain_position: row.try_get("chain_position")?,
                    })
                })
                .collect()
            }

            /// Every current and past sighting, for the renewal rules.
            pub async fn facts(pool: &Pool) -> Result<(Vec<CertFacts>, Vec<SightingFact>)> {
                let certs = sqlx::query("SELECT id, names_key, not_before, not_after, is_ca FROM certificates")
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(|row| {
                        Ok(CertFacts {
                            id: row.try_get("id")?,
                            names_key: row.try_get("names_key")?,
                            not_before: row.try_get("not_before")?,
                            not_after: row.try_get("not_after")?,
                            is_ca: row.try_get("is_ca")?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let sightings = sqlx::query("SELECT id, certificate_id, source_id, current FROM cert_sightings")
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(|row| {
                        Ok(SightingFact {
                            id: row.try_get("id")?,
                            certificate_id: row.try_get("certificate_id")?,
                            source_id: row.try_get("source_id")?,
                            current: row.try_get("current")?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok((certs, sightings))
            }

            pub async fn sources(pool: &Pool, scanned_before: Option<DateTime<Utc>>) -> Result<Vec<CertSource>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {SOURCE_COLUMNS} FROM cert_sources s WHERE 1 = 1"));
                if let Some(before) = scanned_before {
                    query.push(" AND (s.last_scan_at IS NULL OR s.last_scan_at < ").push_bind(before).push(")");
                }
                query.push(" ORDER BY s.kind, s.location");
                query.build().fetch_all(pool).await?.iter().map(source_row).collect()
            }

            /// What each place that ever served the certificate gave, scan by scan, newest first.
            pub async fn history(pool: &Pool, certificate_id: i64, limit: i64) -> Result<Vec<ScanResult>> {
                let rows = sqlx::query(
                    "SELECT r.scan_id, sc.scanned_at, r.source_id, s.location, r.leaf_certificate_id, c.fingerprint_sha256, r.error \
                     FROM cert_scan_results r JOIN cert_scans sc ON sc.id = r.scan_id JOIN cert_sources s ON s.id = r.source_id \
                     LEFT JOIN certificates c ON c.id = r.leaf_certificate_id \
                     WHERE r.source_id IN (SELECT source_id FROM cert_sightings WHERE certificate_id = $1) \
                     ORDER BY sc.scanned_at DESC, r.scan_id DESC, s.location LIMIT $2",
                )
                .bind(certificate_id)
                .bind(limit)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(ScanResult {
                            scan_id: row.try_get("scan_id")?,
                            scanned_at: row.try_get("scanned_at")?,
                            source_id: row.try_get("source_id")?,
                            location: row.try_get("location")?,
                            leaf_certificate_id: row.try_get("leaf_certificate_id")?,
                            leaf_fingerprint: row.try_get("fingerprint_sha256")?,
                            error: row.try_get("error")?,
                        })
                    })
                    .collect()
            }

            fn scan_row(row: &DbRow) -> Result<ScanRecord> {
                let kind: String = row.try_get("kind")?;
                Ok(ScanRecord {
                    id: row.try_get("id")?,
                    kind: kind.parse().map_err(StoreError::Corrupt)?,
                    actor: row.try_get("actor")?,
                    scanned_at: row.try_get("scanned_at")?,
                    sources: row.try_get("sources")?,
                    errors: row.try_get("errors")?,
                    certificates: row.try_get("certificates")?,
                    new_certificates: row.try_get("new_certificates")?,
                })
            }

            pub async fn scans(pool: &Pool, limit: i64) -> Result<Vec<ScanRecord>> {
                sqlx::query("SELECT * FROM cert_scans ORDER BY id DESC LIMIT $1")
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(scan_row)
                    .collect()
            }

            /// Store one scan: every place, what it served, and what the checks found.
            pub async fn record_scan(
                pool: &Pool,
                actor: &Actor,
                kind: SourceKind,
                observed: &[ObservedSource],
                now: DateTime<Utc>,
            ) -> Result<ScanRecord> {
                let mut tx = pool.begin_with($begin).await?;
                let errors = observed.iter().filter(|o| o.outcome.is_err()).count() as i64;
                let scan_id: i64 = sqlx::query(
                    "INSERT INTO cert_scans (kind, actor, scanned_at, sources, errors, certificates, new_certificates) \
                     VALUES ($1, $2, $3, $4, $5, 0, 0) RETURNING id",
                )
                .bind(kind.as_str())
                .bind(&actor.label)
                .bind(now)
                .bind(observed.len() as i64)
                .bind(errors)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let mut seen = std::collections::BTreeSet::new();
                let mut new = Vec::new();
                for source in observed {
                    let source_id: i64 = sqlx::query(
                        "INSERT INTO cert_sources (kind, location, sni, starttls, created_at) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (kind, location) DO UPDATE SET sni = excluded.sni, starttls = excluded.starttls RETURNING id",
                    )
                    .bind(source.kind.as_str())
                    .bind(&source.location)
                    .bind(&source.sni)
                    .bind(&source.starttls)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?;
                    if let Some(asset_id) = source.asset_id {
                        sqlx::query("UPDATE cert_sources SET asset_id = $1 WHERE id = $2")
                            .bind(asset_id)
                            .bind(source_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    sqlx::query("UPDATE cert_sources SET last_scan_at = $1, last_error = $2 WHERE id = $3")
                        .bind(now)
                        .bind(source.outcome.as_ref().err())
                        .bind(source_id)
                        .execute(&mut *tx)
                        .await?;
                    let mut leaf = None;
                    // A place that could not be read keeps what it served before.
                    if let Ok(findings) = &source.outcome {
                        sqlx::query("DELETE FROM cert_problems WHERE sighting_id IN (SELECT id FROM cert_sightings WHERE source_id = $1)")
                            .bind(source_id)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("UPDATE cert_sightings SET current = $1 WHERE source_id = $2")
                            .bind(false)
                            .bind(source_id)
                            .execute(&mut *tx)
                            .await?;
                        for finding in findings {
                            let cert = &finding.certificate;
                            let existing = sqlx::query("SELECT id FROM certificates WHERE fingerprint_sha256 = $1")
                                .bind(&cert.fingerprint_sha256)
                                .fetch_optional(&mut *tx)
                                .await?;
                            let cert_id: i64 = match existing {
                                Some(row) => {
                                    let id: i64 = row.try_get("id")?;
                                    sqlx::query("UPDATE certificates SET last_seen_at = $1 WHERE id = $2")
                                        .bind(now)
                                        .bind(id)
                                        .execute(&mut *tx)
                                        .await?;
                                    id
                                }
                                None => {
                                    let ips: Vec<String> = cert.san_ip.iter().map(|ip| ip.to_string()).collect();
                                    let id: i64 = sqlx::query(
                                        "INSERT INTO certificates (fingerprint_sha256, subject, subject_cn, issuer, issuer_cn, serial, \
                                         san_dns, san_ip, names_key, not_before, not_after, key_type, signature_algorithm, is_ca, \
                                         self_signed, der, first_seen_at, last_seen_at) \
                                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) RETURNING id",
                                    )
                                    .bind(&cert.fingerprint_sha256)
                                    .bind(&cert.subject)
                                    .bind(&cert.subject_cn)
                                    .bind(&cert.issuer)
                                    .bind(&cert.issuer_cn)
                                    .bind(&cert.serial)
                                    .bind(Json(&cert.san_dns))
                                    .bind(Json(&ips))
                                    .bind(names_key(cert))
                                    .bind(cert.not_before)
                                    .bind(cert.not_after)
                                    .bind(cert.key.to_string())
                                    .bind(&cert.signature_algorithm)
                                    .bind(cert.is_ca)
                                    .bind(cert.self_signed)
                                    .bind(&cert.der)
                                    .bind(now)
                                    .fetch_one(&mut *tx)
                                    .await?
                                    .try_get("id")?;
                                    new.push(cert.fingerprint_sha256.clone());
                                    id
                                }
                            };
                            seen.insert(cert_id);
                            let position = finding.sighting.chain_position as i64;
                            if position == 0 {
                                leaf = Some(cert_id);
                            }
                            let sighting_id: i64 = sqlx::query(
                                "INSERT INTO cert_sightings (certificate_id, source_id, chain_position, first_seen_at, last_seen_at, current) \
                                 VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (certificate_id, source_id, chain_position) \
                                 DO UPDATE SET last_seen_at = excluded.last_seen_at, current = excluded.current RETURNING id",
                            )
                            .bind(cert_id)
                            .bind(source_id)
                            .bind(position)
                            .bind(now)
                            .bind(true)
                            .fetch_one(&mut *tx)
                            .await?
                            .try_get("id")?;
                            for p in &finding.problems {
                                insert_problem(&mut tx, sighting_id, cert_id, p).await?;
                            }
                        }
                    }
                    sqlx::query("INSERT INTO cert_scan_results (scan_id, source_id, leaf_certificate_id, error) VALUES ($1, $2, $3, $4)")
                        .bind(scan_id)
                        .bind(source_id)
                        .bind(leaf)
                        .bind(source.outcome.as_ref().err())
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("UPDATE cert_scans SET certificates = $1, new_certificates = $2 WHERE id = $3")
                    .bind(seen.len() as i64)
                    .bind(new.len() as i64)
                    .bind(scan_id)
                    .execute(&mut *tx)
                    .await?;
                let row = sqlx::query("SELECT * FROM cert_scans WHERE id = $1").bind(scan_id).fetch_one(&mut *tx).await?;
                let record = scan_row(&row)?;
                let mut after = serde_json::to_value(&record).unwrap_or_default();
                after["new_fingerprints"] = serde_json::json!(new);
                backend::audit(&mut tx, actor, "scan", "certificate_scan", Some(scan_id), None, Some(after)).await?;
                tx.commit().await?;
                Ok(record)
            }

            async fn insert_problem(conn: &mut backend::Conn, sighting_id: i64, cert_id: i64, p: &Problem) -> Result<()> {
                sqlx::query(
                    "INSERT INTO cert_problems (sighting_id, certificate_id, code, severity, message) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (sighting_id, code) DO NOTHING",
                )
                .bind(sighting_id)
                .bind(cert_id)
                .bind(p.code)
                .bind(p.severity.to_string())
                .bind(&p.message)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// Add a problem found by the renewal rules to current sightings (it goes with
            /// their next successful scan, when the rules run again).
            pub async fn add_problem(pool: &Pool, sighting_ids: &[(i64, i64)], problem: &Problem) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                for (sighting_id, cert_id) in sighting_ids {
                    insert_problem(&mut tx, *sighting_id, *cert_id, problem).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            pub async fn set_owner(pool: &Pool, actor: &Actor, id: i64, owner: &OwnerInput) -> Result<StoredCertificate> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch(&mut tx, id).await?;
                for (table, id, field) in [
                    ("assets", owner.asset_id, "asset_id"),
                    ("teams", owner.owner_team_id, "owner_team_id"),
                    ("people", owner.owner_person_id, "owner_person_id"),
                ] {
                    if let Some(id) = id {
                        let found = sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1"))
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await?;
                        if found.is_none() {
                            return Err(opsward_core::ValidationError::single(field, format!("{id} does not exist")).into());
                        }
                    }
                }
                sqlx::query("UPDATE certificates SET asset_id = $1, owner_team_id = $2, owner_person_id = $3 WHERE id = $4")
                    .bind(owner.asset_id)
                    .bind(owner.owner_team_id)
                    .bind(owner.owner_person_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let after = fetch(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "set_owner", "certificate", Some(id), serde_json::to_value(owner_of(&before)).ok(), serde_json::to_value(owner_of(&after)).ok()).await?;
                tx.commit().await?;
                Ok(after)
            }

            pub async fn set_source_asset(pool: &Pool, actor: &Actor, source_id: i64, asset_id: Option<i64>) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                let before: Option<i64> = sqlx::query("SELECT asset_id FROM cert_sources WHERE id = $1")
                    .bind(source_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("certificate source"))?
                    .try_get("asset_id")?;
                if let Some(a) = asset_id {
                    if sqlx::query("SELECT id FROM assets WHERE id = $1").bind(a).fetch_optional(&mut *tx).await?.is_none() {
                        return Err(opsward_core::ValidationError::single("asset_id", format!("{a} does not exist")).into());
                    }
                }
                sqlx::query("UPDATE cert_sources SET asset_id = $1 WHERE id = $2").bind(asset_id).bind(source_id).execute(&mut *tx).await?;
                backend::audit(&mut tx, actor, "set_asset", "certificate_source", Some(source_id),
                    Some(serde_json::json!({ "asset_id": before })), Some(serde_json::json!({ "asset_id": asset_id }))).await?;
                tx.commit().await?;
                Ok(())
            }

            pub async fn renewal(pool: &Pool, certificate_id: i64) -> Result<Option<RenewalTask>> {
                sqlx::query(&format!("SELECT {RENEWAL_COLUMNS} FROM cert_renewals WHERE certificate_id = $1"))
                    .bind(certificate_id)
                    .fetch_optional(pool)
                    .await?
                    .as_ref()
                    .map(renewal_row)
                    .transpose()
            }

            pub async fn renewals(pool: &Pool, status: Option<RenewalStatus>) -> Result<Vec<RenewalTask>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {RENEWAL_COLUMNS} FROM cert_renewals WHERE 1 = 1"));
                if let Some(s) = status {
                    query.push(" AND status = ").push_bind(s.as_str());
                }
                query.push(" ORDER BY id");
                query.build().fetch_all(pool).await?.iter().map(renewal_row).collect()
            }

            /// Open a renewal task for a certificate that has none. `None` when it had one.
            pub async fn open_renewal(pool: &Pool, actor: &Actor, certificate_id: i64, note: &str, now: DateTime<Utc>) -> Result<Option<RenewalTask>> {
                let mut tx = pool.begin_with($begin).await?;
                let inserted = sqlx::query(&format!(
                    "INSERT INTO cert_renewals (certificate_id, status, note, opened_at, updated_at) VALUES ($1, 'open', $2, $3, $3) \
                     ON CONFLICT (certificate_id) DO NOTHING RETURNING {RENEWAL_COLUMNS}"
                ))
                .bind(certificate_id)
                .bind(note)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = inserted else {
                    return Ok(None);
                };
                let task = renewal_row(&row)?;
                backend::audit(&mut tx, actor, "create", "certificate_renewal", Some(task.id), None, serde_json::to_value(&task).ok()).await?;
                tx.commit().await?;
                Ok(Some(task))
            }

            async fn fetch_renewal(conn: &mut backend::Conn, id: i64) -> Result<RenewalTask> {
                let row = sqlx::query(&format!("SELECT {RENEWAL_COLUMNS} FROM cert_renewals WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("renewal task"))?;
                renewal_row(&row)
            }

            /// Move a task by hand (any status to any other: a task closed too early reopens).
            pub async fn update_renewal(pool: &Pool, actor: &Actor, id: i64, update: &RenewalUpdate, now: DateTime<Utc>) -> Result<RenewalTask> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch_renewal(&mut tx, id).await?;
                let done = update.status == RenewalStatus::Done;
                sqlx::query(
                    "UPDATE cert_renewals SET status = $1, note = COALESCE($2, note), updated_at = $3, \
                     closed_at = CASE WHEN $4 THEN COALESCE(closed_at, $3) ELSE NULL END, \
                     closed_by = CASE WHEN $4 THEN COALESCE(closed_by, $5) ELSE NULL END WHERE id = $6",
                )
                .bind(update.status.as_str())
                .bind(&update.note)
                .bind(now)
                .bind(done)
                .bind(&actor.label)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let after = fetch_renewal(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "update", "certificate_renewal", Some(id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                tx.commit().await?;
                Ok(after)
            }

            /// Close a task because `replacement` is now served everywhere the old one was.
            pub async fn complete_renewal(pool: &Pool, actor: &Actor, id: i64, replacement: i64, now: DateTime<Utc>) -> Result<RenewalTask> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch_renewal(&mut tx, id).await?;
                sqlx::query(
                    "UPDATE cert_renewals SET status = 'done', replacement_certificate_id = $1, updated_at = $2, \
                     closed_at = $2, closed_by = $3 WHERE id = $4",
                )
                .bind(replacement)
                .bind(now)
                .bind(&actor.label)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let after = fetch_renewal(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "complete", "certificate_renewal", Some(id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                tx.commit().await?;
                Ok(after)
            }

            pub async fn settings(pool: &Pool) -> Result<CertSettings> {
                let row = sqlx::query("SELECT thresholds, rescan_interval_minutes FROM cert_settings WHERE id = 1")
                    .fetch_optional(pool)
                    .await?;
                match row {
                    None => Ok(CertSettings::default()),
                    Some(row) => {
                        let thresholds: Json<Vec<i64>> = row.try_get("thresholds")?;
                        Ok(CertSettings { thresholds: thresholds.0, rescan_interval_minutes: row.try_get("rescan_interval_minutes")? })
                    }
                }
            }

            pub async fn set_settings(pool: &Pool, actor: &Actor, settings: &CertSettings) -> Result<CertSettings> {
                let before = settings_in(pool).await?;
                let mut tx = pool.begin_with($begin).await?;
                sqlx::query(
                    "INSERT INTO cert_settings (id, thresholds, rescan_interval_minutes) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO UPDATE SET thresholds = excluded.thresholds, rescan_interval_minutes = excluded.rescan_interval_minutes",
                )
                .bind(Json(&settings.thresholds))
                .bind(settings.rescan_interval_minutes)
                .execute(&mut *tx)
                .await?;
                backend::audit(&mut tx, actor, "update", "certificate_settings", Some(1), serde_json::to_value(&before).ok(), serde_json::to_value(settings).ok()).await?;
                tx.commit().await?;
                Ok(settings.clone())
            }

            async fn settings_in(pool: &Pool) -> Result<CertSettings> {
                settings(pool).await
            }
        }
    };
}

fn owner_of(c: &StoredCertificate) -> OwnerInput {
    OwnerInput {
        asset_id: c.asset_id,
        owner_team_id: c.owner_team_id,
        owner_person_id: c.owner_person_id,
    }
}

certs_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
certs_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");
