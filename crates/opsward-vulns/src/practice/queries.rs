//! The aggregate reads behind the practice's conditions and hygiene: a fixed handful of
//! GROUP BY queries over `vuln_findings` and `vuln_asset_scans` (indexed by state, asset,
//! severity and due date), the same SQL on both backends.

use chrono::{DateTime, NaiveDate, Utc};
use opsward_store::{Database, StoreError};
use sqlx::Row;

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Runs one query on whichever backend, binding the values in order and mapping each row
/// with `$map` (which sees the row as `$row`).
macro_rules! fetch_rows {
    ($db:expr, $sql:expr, [$($bind:expr),*], |$row:ident| $map:expr) => {
        match $db {
            Database::Sqlite(pool) => sqlx::query($sql)$(.bind($bind))*
                .fetch_all(pool).await?.iter().map(|$row| $map).collect::<Result<Vec<_>>>(),
            Database::Postgres(pool) => sqlx::query($sql)$(.bind($bind))*
                .fetch_all(pool).await?.iter().map(|$row| $map).collect::<Result<Vec<_>>>(),
        }
    };
}

/// A [`FindingGroup`] from a row of a query selecting `GROUP_COLUMNS`.
macro_rules! finding_group {
    ($r:expr, $severity:expr) => {
        Ok(FindingGroup {
            asset: AssetOwner {
                id: $r.try_get("asset_id")?,
                name: $r.try_get("asset_name")?,
                team_id: $r.try_get("owner_team_id")?,
                person_id: $r.try_get("owner_person_id")?,
            },
            severity: $severity,
            findings: $r.try_get("n")?,
            oldest_due: $r.try_get("oldest_due")?,
            oldest_seen: $r.try_get("oldest_seen")?,
        })
    };
}

/// An asset as a condition names it, with its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetOwner {
    pub id: i64,
    pub name: String,
    pub team_id: Option<i64>,
    pub person_id: Option<i64>,
}

/// Findings of one asset grouped by one property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingGroup {
    pub asset: AssetOwner,
    pub severity: String,
    pub findings: i64,
    pub oldest_due: NaiveDate,
    pub oldest_seen: DateTime<Utc>,
}

const GROUP_COLUMNS: &str =
    "f.asset_id, a.name AS asset_name, a.owner_team_id, a.owner_person_id, \
    COUNT(*) AS n, MIN(f.due_date) AS oldest_due, MIN(f.first_seen) AS oldest_seen";

/// Overdue findings (open or acknowledged, due before `today`) not in the KEV catalog, per
/// asset and severity: KEV ones are conditions of their own.
pub async fn overdue_groups(db: &Database, today: NaiveDate) -> Result<Vec<FindingGroup>> {
    let sql = format!(
        "SELECT {GROUP_COLUMNS}, f.severity FROM vuln_findings f JOIN assets a ON a.id = f.asset_id \
         WHERE f.state IN ('open', 'acknowledged') AND f.due_date < $1 AND f.kev = $2 \
         GROUP BY f.asset_id, a.name, a.owner_team_id, a.owner_person_id, f.severity \
         ORDER BY MIN(f.due_date), f.asset_id"
    );
    fetch_rows!(db, &sql, [today, false], |r| finding_group!(
        r,
        r.try_get("severity")?
    ))
}

/// Open critical findings due from `today` to `until`, per asset.
pub async fn critical_due_soon(
    db: &Database,
    today: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<FindingGroup>> {
    let sql = format!(
        "SELECT {GROUP_COLUMNS} FROM vuln_findings f JOIN assets a ON a.id = f.asset_id \
         WHERE f.state = 'open' AND f.severity = 'critical' AND f.due_date >= $1 AND f.due_date <= $2 \
         GROUP BY f.asset_id, a.name, a.owner_team_id, a.owner_person_id ORDER BY MIN(f.due_date), f.asset_id"
    );
    fetch_rows!(db, &sql, [today, until], |r| finding_group!(
        r,
        "critical".to_string()
    ))
}

/// An asset scanned before, whose last scan (any scope) is older than the interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnscannedAsset {
    pub asset: AssetOwner,
    pub last_scanned: DateTime<Utc>,
}

/// At most this many unscanned assets become conditions; hygiene counts them all.
pub const UNSCANNED_LIMIT: i64 = 200;

/// Assets whose last scan is before `cutoff`, oldest first, at most [`UNSCANNED_LIMIT`].
pub async fn unscanned_assets(db: &Database, cutoff: DateTime<Utc>) -> Result<Vec<UnscannedAsset>> {
    let sql = "SELECT s.asset_id, a.name AS asset_name, a.owner_team_id, a.owner_person_id, MAX(s.scanned_at) AS last_scanned \
         FROM vuln_asset_scans s JOIN assets a ON a.id = s.asset_id \
         GROUP BY s.asset_id, a.name, a.owner_team_id, a.owner_person_id HAVING MAX(s.scanned_at) < $1 \
         ORDER BY MAX(s.scanned_at), s.asset_id LIMIT $2";
    fetch_rows!(db, sql, [cutoff, UNSCANNED_LIMIT], |r| Ok(UnscannedAsset {
        asset: AssetOwner {
            id: r.try_get("asset_id")?,
            name: r.try_get("asset_name")?,
            team_id: r.try_get("owner_team_id")?,
            person_id: r.try_get("owner_person_id")?,
        },
        last_scanned: r.try_get("last_scanned")?,
    }))
}

/// The counts hygiene needs besides the groups: open KEV findings, assets with a scan, and
/// those whose last scan is before `cutoff`.
pub async fn totals(db: &Database, cutoff: DateTime<Utc>) -> Result<(i64, i64, i64)> {
    let sql = "SELECT \
         (SELECT COUNT(*) FROM vuln_findings WHERE state IN ('open', 'acknowledged') AND kev = $1) AS open_kev, \
         (SELECT COUNT(DISTINCT asset_id) FROM vuln_asset_scans) AS scanned, \
         (SELECT COUNT(*) FROM (SELECT asset_id FROM vuln_asset_scans GROUP BY asset_id HAVING MAX(scanned_at) < $2) t) AS unscanned";
    let rows = fetch_rows!(db, sql, [true, cutoff], |r| Ok((
        r.try_get::<i64, _>("open_kev")?,
        r.try_get::<i64, _>("scanned")?,
        r.try_get::<i64, _>("unscanned")?
    )))?;
    Ok(rows.into_iter().next().unwrap_or((0, 0, 0)))
}

/// The owners of the assets with overdue KEV findings (one query for all of them).
pub async fn kev_overdue_assets(db: &Database, today: NaiveDate) -> Result<Vec<AssetOwner>> {
    let sql = "SELECT a.id, a.name, a.owner_team_id, a.owner_person_id FROM assets a WHERE a.id IN \
         (SELECT asset_id FROM vuln_findings WHERE kev = $1 AND state IN ('open', 'acknowledged') AND due_date < $2)";
    fetch_rows!(db, sql, [true, today], |r| Ok(AssetOwner {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        team_id: r.try_get("owner_team_id")?,
        person_id: r.try_get("owner_person_id")?,
    }))
}
