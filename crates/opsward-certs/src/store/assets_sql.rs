//! SQL for assets' TLS endpoints and thresholds, tag thresholds, kept scan targets, and
//! ending the sightings of files no longer found; the same on both backends.

use super::Result;
use crate::{
    assets::{CertAssetInput, CertAssetSettings, CertTagThresholds, NewScanTarget, ScanTarget},
    inventory::SourceKind,
};
use chrono::{DateTime, Utc};
use opsward_core::Actor;
use opsward_store::StoreError;
use std::{collections::BTreeMap, path::Path};

macro_rules! assets_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{types::Json, QueryBuilder, Row};

            type Pool = sqlx::Pool<$db>;

            const ASSET_SELECT: &str = "SELECT a.id, a.name, s.hostname, s.address, s.ports, s.thresholds, s.updated_at \
                FROM assets a LEFT JOIN cert_asset_settings s ON s.asset_id = a.id";

            async fn assets_where(conn: &mut backend::Conn, id: Option<i64>) -> Result<Vec<CertAssetSettings>> {
                let mut query = QueryBuilder::<$db>::new(format!("{ASSET_SELECT} WHERE 1 = 1"));
                if let Some(id) = id {
                    query.push(" AND a.id = ").push_bind(id);
                }
                query.push(" ORDER BY a.name");
                let rows = query.build().fetch_all(&mut *conn).await?;
                let mut tags: BTreeMap<i64, Vec<String>> = BTreeMap::new();
                for row in sqlx::query("SELECT asset_id, tag FROM asset_tags ORDER BY tag").fetch_all(&mut *conn).await? {
                    tags.entry(row.try_get("asset_id")?).or_default().push(row.try_get("tag")?);
                }
                rows.iter()
                    .map(|row| {
                        let id: i64 = row.try_get("id")?;
                        let ports: Option<Json<Vec<u16>>> = row.try_get("ports")?;
                        let thresholds: Option<Json<Vec<i64>>> = row.try_get("thresholds")?;
                        Ok(CertAssetSettings {
                            asset_id: id,
                            asset_name: row.try_get("name")?,
                            tags: tags.remove(&id).unwrap_or_default(),
                            hostname: row.try_get("hostname")?,
                            address: row.try_get("address")?,
                            ports: ports.map(|p| p.0).unwrap_or_default(),
                            thresholds: thresholds.map(|t| t.0),
                            updated_at: row.try_get("updated_at")?,
                        })
                    })
                    .collect()
            }

            pub async fn asset_settings(pool: &Pool) -> Result<Vec<CertAssetSettings>> {
                assets_where(&mut *pool.acquire().await?, None).await
            }

            pub async fn set_asset_settings(pool: &Pool, actor: &Actor, asset_id: i64, input: &CertAssetInput, now: DateTime<Utc>) -> Result<CertAssetSettings> {
                let mut tx = pool.begin_with($begin).await?;
                let before = assets_where(&mut tx, Some(asset_id)).await?.pop().ok_or(StoreError::NotFound("asset"))?;
                let empty = input.hostname.is_none() && input.address.is_none() && input.ports.is_empty() && input.thresholds.is_none();
                if empty {
                    sqlx::query("DELETE FROM cert_asset_settings WHERE asset_id = $1").bind(asset_id).execute(&mut *tx).await?;
                } else {
                    sqlx::query(
                        "INSERT INTO cert_asset_settings (asset_id, hostname, address, ports, thresholds, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (asset_id) DO UPDATE SET hostname = excluded.hostname, address = excluded.address, ports = excluded.ports, \
                         thresholds = excluded.thresholds, updated_at = excluded.updated_at",
                    )
                    .bind(asset_id)
                    .bind(&input.hostname)
                    .bind(&input.address)
                    .bind(Json(&input.ports))
                    .bind(input.thresholds.as_ref().map(Json))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                let after = assets_where(&mut tx, Some(asset_id)).await?.pop().ok_or(StoreError::NotFound("asset"))?;
                backend::audit(&mut tx, actor, "update", "certificate_asset_settings", Some(asset_id),
                    serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                tx.commit().await?;
                Ok(after)
            }

            pub async fn tag_thresholds(pool: &Pool) -> Result<Vec<CertTagThresholds>> {
                sqlx::query("SELECT tag, thresholds FROM cert_tag_thresholds ORDER BY tag")
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(|row| {
                        let t: Json<Vec<i64>> = row.try_get("thresholds")?;
                        Ok(CertTagThresholds { tag: row.try_get("tag")?, thresholds: t.0 })
                    })
                    .collect()
            }

            pub async fn set_tag_thresholds(pool: &Pool, actor: &Actor, tag: &str, thresholds: Option<&[i64]>, now: DateTime<Utc>) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                let before: Option<Json<Vec<i64>>> = sqlx::query("SELECT thresholds FROM cert_tag_thresholds WHERE tag = $1")
                    .bind(tag)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|row| row.try_get("thresholds"))
                    .transpose()?;
                match thresholds {
                    None => {
                        sqlx::query("DELETE FROM cert_tag_thresholds WHERE tag = $1").bind(tag).execute(&mut *tx).await?;
                    }
                    Some(t) => {
                        sqlx::query(
                            "INSERT INTO cert_tag_thresholds (tag, thresholds, updated_at) VALUES ($1, $2, $3) \
                             ON CONFLICT (tag) DO UPDATE SET thresholds = excluded.thresholds, updated_at = excluded.updated_at",
                        )
                        .bind(tag)
                        .bind(Json(t))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                backend::audit(&mut tx, actor, "update", "certificate_tag_thresholds", None,
                    Some(serde_json::json!({ "tag": tag, "thresholds": before.map(|b| b.0) })),
                    Some(serde_json::json!({ "tag": tag, "thresholds": thresholds }))).await?;
                tx.commit().await?;
                Ok(())
            }

            /// `(certificate, asset)` for every certificate set on an asset or served now at
            /// a place that belongs to one.
            pub async fn certificate_assets(pool: &Pool) -> Result<Vec<(i64, i64)>> {
                sqlx::query(
                    "SELECT g.certificate_id AS c, s.asset_id AS a FROM cert_sightings g JOIN cert_sources s ON s.id = g.source_id \
                     WHERE g.current AND s.asset_id IS NOT NULL \
                     UNION SELECT id AS c, asset_id AS a FROM certificates WHERE asset_id IS NOT NULL",
                )
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok((row.try_get("c")?, row.try_get("a")?)))
                .collect()
            }

            pub async fn add_scan_targets(pool: &Pool, actor: &Actor, targets: &[NewScanTarget], now: DateTime<Utc>) -> Result<Vec<ScanTarget>> {
                let mut tx = pool.begin_with($begin).await?;
                let mut kept = Vec::with_capacity(targets.len());
                for t in targets {
                    let row = sqlx::query(
                        "INSERT INTO cert_scan_targets (kind, value, ports, starttls, created_at) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (kind, value) DO UPDATE SET ports = excluded.ports, starttls = excluded.starttls \
                         RETURNING id, kind, value, ports, starttls, last_scan_at",
                    )
                    .bind(t.kind.as_str())
                    .bind(&t.value)
                    .bind(Json(&t.ports))
                    .bind(&t.starttls)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    kept.push(target_row(&row)?);
                }
                if !kept.is_empty() {
                    backend::audit(&mut tx, actor, "keep", "certificate_scan_targets", None, None, serde_json::to_value(&kept).ok()).await?;
                }
                tx.commit().await?;
                Ok(kept)
            }

            fn target_row(row: &<$db as sqlx::Database>::Row) -> Result<ScanTarget> {
                let kind: String = row.try_get("kind")?;
                let ports: Json<Vec<u16>> = row.try_get("ports")?;
                Ok(ScanTarget {
                    id: row.try_get("id")?,
                    kind: kind.parse().map_err(StoreError::Corrupt)?,
                    value: row.try_get("value")?,
                    ports: ports.0,
                    starttls: row.try_get("starttls")?,
                    last_scan_at: row.try_get("last_scan_at")?,
                })
            }

            pub async fn scan_targets(pool: &Pool, scanned_before: Option<DateTime<Utc>>) -> Result<Vec<ScanTarget>> {
                let mut query = QueryBuilder::<$db>::new("SELECT id, kind, value, ports, starttls, last_scan_at FROM cert_scan_targets WHERE 1 = 1");
                if let Some(before) = scanned_before {
                    query.push(" AND (last_scan_at IS NULL OR last_scan_at < ").push_bind(before).push(")");
                }
                query.push(" ORDER BY kind, value");
                query.build().fetch_all(pool).await?.iter().map(target_row).collect()
            }

            pub async fn mark_targets_scanned(pool: &Pool, ids: &[i64], now: DateTime<Utc>) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                for id in ids {
                    sqlx::query("UPDATE cert_scan_targets SET last_scan_at = $1 WHERE id = $2").bind(now).bind(*id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            /// End the sightings of the files under `root` that a walk of it did not find
            /// again; returns their paths.
            pub async fn end_missing_files(pool: &Pool, actor: &Actor, root: &Path, found: &std::collections::BTreeSet<String>, now: DateTime<Utc>) -> Result<Vec<String>> {
                let mut tx = pool.begin_with($begin).await?;
                let rows = sqlx::query("SELECT id, location FROM cert_sources WHERE kind = $1")
                    .bind(SourceKind::File.as_str())
                    .fetch_all(&mut *tx)
                    .await?;
                let mut ended = Vec::new();
                let reason = format!("no longer found in {}", root.display());
                for row in rows {
                    let id: i64 = row.try_get("id")?;
                    let location: String = row.try_get("location")?;
                    if !Path::new(&location).starts_with(root) || found.contains(&location) {
                        continue;
                    }
                    sqlx::query("DELETE FROM cert_problems WHERE sighting_id IN (SELECT id FROM cert_sightings WHERE source_id = $1)")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    let changed = sqlx::query("UPDATE cert_sightings SET current = $1 WHERE source_id = $2 AND current")
                        .bind(false)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    sqlx::query("UPDATE cert_sources SET last_scan_at = $1, last_error = $2 WHERE id = $3")
                        .bind(now)
                        .bind(&reason)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    if changed > 0 {
                        backend::audit(&mut tx, actor, "end_sightings", "certificate_source", Some(id), None,
                            Some(serde_json::json!({ "location": location, "reason": reason }))).await?;
                        ended.push(location);
                    }
                }
                tx.commit().await?;
                Ok(ended)
            }
        }
    };
}

assets_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
assets_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");
