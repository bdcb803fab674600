//! What the practice contract reads from the certificate tables: a fixed handful of
//! aggregate queries per assessment, each bounded, the same SQL on both backends.

use chrono::{DateTime, Utc};
use opsward_store::{Database, StoreError};
use sqlx::Row;

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Most rows one query returns, like the certificate list's own limit.
pub const MAX_ROWS: i64 = crate::store::MAX_LIST as i64;
/// Most rows of one asset facet (one more is read to know there are more).
pub const FACET_ROWS: i64 = 20;

/// Run `$body` with `$pool` bound to the pool of either backend: the SQL is the same, only
/// the row type differs, so the body is type-checked once per backend.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            Database::Sqlite($pool) => $body,
            Database::Postgres($pool) => $body,
        }
    };
}

/// A certificate with its effective asset and owner (set on it, else its asset's, else the
/// asset of a place it was seen at: the same rule as the certificate list), how many places
/// serve it now and its renewal task's status.
const CERTIFICATE: &str = "SELECT c.id, c.subject, c.subject_cn, c.issuer, c.issuer_cn, c.serial, \
    c.not_after, c.is_ca, c.asset_id AS direct_asset_id, a.id AS asset_id, a.name AS asset_name, \
    CASE WHEN c.owner_team_id IS NOT NULL OR c.owner_person_id IS NOT NULL THEN c.owner_team_id ELSE a.owner_team_id END AS owner_team_id, \
    CASE WHEN c.owner_team_id IS NOT NULL OR c.owner_person_id IS NOT NULL THEN c.owner_person_id ELSE a.owner_person_id END AS owner_person_id, \
    (SELECT COUNT(*) FROM cert_sightings g WHERE g.certificate_id = c.id AND g.current) AS places, \
    r.status AS renewal_status \
    FROM certificates c \
    LEFT JOIN assets a ON a.id = COALESCE(c.asset_id, \
        (SELECT MIN(s.asset_id) FROM cert_sightings g JOIN cert_sources s ON s.id = g.source_id WHERE g.certificate_id = c.id)) \
    LEFT JOIN cert_renewals r ON r.certificate_id = c.id";

/// One certificate as the conditions see it.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateFacts {
    pub id: i64,
    pub subject: String,
    pub subject_cn: Option<String>,
    pub issuer: String,
    pub issuer_cn: Option<String>,
    pub serial: String,
    pub not_after: DateTime<Utc>,
    pub is_ca: bool,
    /// The asset set on the certificate itself (what automatic backlog items link).
    pub direct_asset_id: Option<i64>,
    /// The asset it concerns: set on it, else of a place it was seen at.
    pub asset_id: Option<i64>,
    pub asset_name: Option<String>,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    /// Places that serve it at their last successful scan.
    pub places: i64,
    /// `open`, `in_progress` or `done`, when a renewal task follows it.
    pub renewal_status: Option<String>,
}

impl CertificateFacts {
    /// The common name, else the whole subject (as the certificate pages say).
    pub fn name(&self) -> &str {
        self.subject_cn.as_deref().unwrap_or(&self.subject)
    }

    pub fn owned(&self) -> bool {
        self.owner_team_id.is_some() || self.owner_person_id.is_some()
    }
}

fn certificate_facts<R: Row>(row: &R) -> Result<CertificateFacts>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(CertificateFacts {
        id: row.try_get("id")?,
        subject: row.try_get("subject")?,
        subject_cn: row.try_get("subject_cn")?,
        issuer: row.try_get("issuer")?,
        issuer_cn: row.try_get("issuer_cn")?,
        serial: row.try_get("serial")?,
        not_after: row.try_get("not_after")?,
        is_ca: row.try_get("is_ca")?,
        direct_asset_id: row.try_get("direct_asset_id")?,
        asset_id: row.try_get("asset_id")?,
        asset_name: row.try_get("asset_name")?,
        owner_team_id: row.try_get("owner_team_id")?,
        owner_person_id: row.try_get("owner_person_id")?,
        places: row.try_get("places")?,
        renewal_status: row.try_get("renewal_status")?,
    })
}

/// Leaf certificates some place serves now that expire before `before` (expired ones
/// included), soonest first.
pub async fn served_leaves_expiring_before(
    db: &Database,
    before: DateTime<Utc>,
) -> Result<Vec<CertificateFacts>> {
    let sql = format!(
        "SELECT * FROM ({CERTIFICATE} WHERE c.not_after < $1 AND NOT c.is_ca) x \
         WHERE places > 0 ORDER BY not_after, id LIMIT $2"
    );
    on_pool!(db, |pool| {
        let rows = sqlx::query(&sql)
            .bind(before)
            .bind(MAX_ROWS)
            .fetch_all(pool)
            .await?;
        rows.iter().map(certificate_facts).collect()
    })
}

/// How many leaf certificates some place serves now, and how many of them have no owner
/// (neither on the certificate nor through its asset).
pub async fn served_leaf_counts(db: &Database) -> Result<(i64, i64)> {
    let sql = "WITH placed AS (SELECT g.certificate_id, \
            SUM(CASE WHEN g.current THEN 1 ELSE 0 END) AS places, MIN(s.asset_id) AS seen_asset_id \
            FROM cert_sightings g JOIN cert_sources s ON s.id = g.source_id GROUP BY g.certificate_id) \
        SELECT COUNT(*) AS served, COALESCE(SUM(CASE WHEN c.owner_team_id IS NULL AND c.owner_person_id IS NULL \
            AND a.owner_team_id IS NULL AND a.owner_person_id IS NULL THEN 1 ELSE 0 END), 0) AS unowned \
        FROM certificates c JOIN placed p ON p.certificate_id = c.id \
        LEFT JOIN assets a ON a.id = COALESCE(c.asset_id, p.seen_asset_id) \
        WHERE p.places > 0 AND NOT c.is_ca";
    on_pool!(db, |pool| {
        let row = sqlx::query(sql).fetch_one(pool).await?;
        Ok((row.try_get("served")?, row.try_get("unowned")?))
    })
}

/// Problem codes that are not "critical problems" of their own: expiry has its conditions.
pub const EXPIRY_CODES: [&str; 2] = ["expired", "expires-soon"];

/// Certificates with a critical problem (other than expiry) at a place that serves them
/// now, one row per certificate and code with the number of such places, by certificate.
pub async fn critical_problems(
    db: &Database,
    asset_id: Option<i64>,
) -> Result<Vec<(CertificateFacts, String, i64)>> {
    let mut sql = format!(
        "SELECT x.*, pr.code, pr.problem_places FROM ({CERTIFICATE}) x \
         JOIN (SELECT g.certificate_id, p.code, COUNT(*) AS problem_places FROM cert_problems p \
               JOIN cert_sightings g ON g.id = p.sighting_id \
               WHERE g.current AND p.severity = 'critical' AND p.code NOT IN ('{}', '{}') \
               GROUP BY g.certificate_id, p.code) pr ON pr.certificate_id = x.id",
        EXPIRY_CODES[0], EXPIRY_CODES[1]
    );
    if asset_id.is_some() {
        sql.push_str(" WHERE x.asset_id = $2");
    }
    sql.push_str(" ORDER BY x.id, pr.code LIMIT $1");
    on_pool!(db, |pool| {
        let mut query = sqlx::query(&sql).bind(MAX_ROWS);
        if let Some(a) = asset_id {
            query = query.bind(a);
        }
        let rows = query.fetch_all(pool).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    certificate_facts(r)?,
                    r.try_get("code")?,
                    r.try_get("problem_places")?,
                ))
            })
            .collect()
    })
}

/// The ids of the certificates of asset `$1`: set on it, or served now at one of its places.
/// Both halves start from the asset (indexes `certificates_asset` and `cert_sources_asset`),
/// so the asset page never tests every certificate.
const ASSET_CERTIFICATE_IDS: &str = "SELECT id FROM certificates WHERE asset_id = $1 \
    UNION SELECT g.certificate_id FROM cert_sources s JOIN cert_sightings g ON g.source_id = s.id \
    WHERE s.asset_id = $1 AND g.current";

/// The certificates of one asset: set on it, or served now at one of its places; soonest
/// expiry first, at most [`FACET_ROWS`] + 1.
pub async fn asset_certificates(db: &Database, asset_id: i64) -> Result<Vec<CertificateFacts>> {
    let sql = format!(
        "SELECT * FROM ({CERTIFICATE} WHERE c.id IN ({ASSET_CERTIFICATE_IDS})) x \
         ORDER BY is_ca, not_after, id LIMIT $2"
    );
    on_pool!(db, |pool| {
        let rows = sqlx::query(&sql)
            .bind(asset_id)
            .bind(FACET_ROWS + 1)
            .fetch_all(pool)
            .await?;
        rows.iter().map(certificate_facts).collect()
    })
}

/// Problem codes at the places that serve the asset's certificates now, worst first.
pub async fn asset_problem_codes(
    db: &Database,
    asset_id: i64,
) -> Result<Vec<(i64, String, String)>> {
    let sql = format!(
        "SELECT DISTINCT g.certificate_id, p.code, p.severity FROM cert_problems p \
        JOIN cert_sightings g ON g.id = p.sighting_id \
        WHERE g.current AND g.certificate_id IN ({ASSET_CERTIFICATE_IDS}) \
        ORDER BY g.certificate_id, p.severity, p.code LIMIT $2"
    );
    on_pool!(db, |pool| {
        let rows = sqlx::query(&sql)
            .bind(asset_id)
            .bind(MAX_ROWS)
            .fetch_all(pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("certificate_id")?,
                    r.try_get("code")?,
                    r.try_get("severity")?,
                ))
            })
            .collect()
    })
}

/// A place of an asset where certificates are found, with the leaf it serves now.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetPlace {
    pub kind: String,
    pub location: String,
    pub sni: Option<String>,
    pub last_scan_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub leaf_id: Option<i64>,
    pub leaf_name: Option<String>,
    pub leaf_not_after: Option<DateTime<Utc>>,
}

/// The asset's places (endpoints first), at most [`FACET_ROWS`] + 1.
pub async fn asset_places(db: &Database, asset_id: i64) -> Result<Vec<AssetPlace>> {
    let sql = "SELECT s.kind, s.location, s.sni, s.last_scan_at, s.last_error, c.id AS leaf_id, \
            COALESCE(c.subject_cn, c.subject) AS leaf_name, c.not_after AS leaf_not_after \
        FROM cert_sources s \
        LEFT JOIN cert_sightings g ON g.source_id = s.id AND g.current AND g.chain_position = 0 \
        LEFT JOIN certificates c ON c.id = g.certificate_id \
        WHERE s.asset_id = $1 ORDER BY s.kind, s.location, c.id LIMIT $2";
    on_pool!(db, |pool| {
        let rows = sqlx::query(sql)
            .bind(asset_id)
            .bind(FACET_ROWS + 1)
            .fetch_all(pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AssetPlace {
                    kind: r.try_get("kind")?,
                    location: r.try_get("location")?,
                    sni: r.try_get("sni")?,
                    last_scan_at: r.try_get("last_scan_at")?,
                    last_error: r.try_get("last_error")?,
                    leaf_id: r.try_get("leaf_id")?,
                    leaf_name: r.try_get("leaf_name")?,
                    leaf_not_after: r.try_get("leaf_not_after")?,
                })
            })
            .collect()
    })
}
