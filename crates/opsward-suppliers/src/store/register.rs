//! The supplier register and the supplier's links to backlog items.

use super::{check_refs, like_pattern, Result, SupplierStore};
use crate::{
    model::{Contact, Supplier, SupplierFilter, SupplierInput},
    review::{review_rrule, BacklogLink, LinkInput, LinkRelation},
};
use chrono::{Datelike, NaiveDate, Utc};
use opsward_core::{
    page::{Page, PageRequest},
    practice::Practice,
    Actor,
};
use opsward_ops::ActivityInput;
use opsward_store::{on_backend, StoreError};

macro_rules! register_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{types::Json, QueryBuilder, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const COLUMNS: &str = "id, name, category, criticality, contacts, notes, asset_ids, owner_team_id, \
                owner_person_id, review_activity_id, created_at, updated_at";

            fn supplier_row(row: &DbRow) -> Result<Supplier> {
                let criticality: String = row.try_get("criticality")?;
                let contacts: Json<Vec<Contact>> = row.try_get("contacts")?;
                let assets: Json<Vec<i64>> = row.try_get("asset_ids")?;
                Ok(Supplier {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    category: row.try_get("category")?,
                    criticality: criticality.parse().map_err(StoreError::Corrupt)?,
                    contacts: contacts.0,
                    notes: row.try_get("notes")?,
                    asset_ids: assets.0,
                    owner_team_id: row.try_get("owner_team_id")?,
                    owner_person_id: row.try_get("owner_person_id")?,
                    review_activity_id: row.try_get("review_activity_id")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            async fn fetch(conn: &mut backend::Conn, id: i64) -> Result<Supplier> {
                let row = sqlx::query(&format!("SELECT {COLUMNS} FROM suppliers WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("supplier"))?;
                supplier_row(&row)
            }

            async fn check(conn: &mut backend::Conn, s: &SupplierInput) -> Result<()> {
                let mut refs = vec![("teams", s.owner_team_id, "owner_team_id"), ("people", s.owner_person_id, "owner_person_id")];
                refs.extend(s.asset_ids.iter().map(|a| ("assets", Some(*a), "asset_ids")));
                check_refs!(conn, refs)
            }

            pub async fn create(pool: &Pool, actor: &Actor, s: &SupplierInput, activity_id: Option<i64>) -> Result<Supplier> {
                let mut tx = pool.begin_with($begin).await?;
                check(&mut tx, s).await?;
                let now = backend::now();
                let id: i64 = sqlx::query(
                    "INSERT INTO suppliers (name, category, criticality, contacts, notes, asset_ids, owner_team_id, \
                     owner_person_id, review_activity_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
                )
                .bind(&s.name)
                .bind(&s.category)
                .bind(s.criticality.as_str())
                .bind(Json(&s.contacts))
                .bind(&s.notes)
                .bind(Json(&s.asset_ids))
                .bind(s.owner_team_id)
                .bind(s.owner_person_id)
                .bind(activity_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let created = fetch(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "create", "supplier", Some(id), None, serde_json::to_value(&created).ok()).await?;
                tx.commit().await?;
                Ok(created)
            }

            pub async fn get(pool: &Pool, id: i64) -> Result<Supplier> {
                fetch(&mut *pool.acquire().await?, id).await
            }

            pub async fn update(pool: &Pool, actor: &Actor, id: i64, s: &SupplierInput, activity_id: Option<i64>) -> Result<Supplier> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch(&mut tx, id).await?;
                check(&mut tx, s).await?;
                sqlx::query(
                    "UPDATE suppliers SET name = $1, category = $2, criticality = $3, contacts = $4, notes = $5, \
                     asset_ids = $6, owner_team_id = $7, owner_person_id = $8, review_activity_id = $9, updated_at = $10 \
                     WHERE id = $11",
                )
                .bind(&s.name)
                .bind(&s.category)
                .bind(s.criticality.as_str())
                .bind(Json(&s.contacts))
                .bind(&s.notes)
                .bind(Json(&s.asset_ids))
                .bind(s.owner_team_id)
                .bind(s.owner_person_id)
                .bind(activity_id)
                .bind(backend::now())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let after = fetch(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "update", "supplier", Some(id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                tx.commit().await?;
                Ok(after)
            }

            pub async fn delete(pool: &Pool, actor: &Actor, id: i64) -> Result<Supplier> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch(&mut tx, id).await?;
                sqlx::query("DELETE FROM suppliers WHERE id = $1").bind(id).execute(&mut *tx).await?;
                backend::audit(&mut tx, actor, "delete", "supplier", Some(id), serde_json::to_value(&before).ok(), None).await?;
                tx.commit().await?;
                Ok(before)
            }

            pub async fn list(pool: &Pool, filter: &SupplierFilter, page: PageRequest) -> Result<Page<Supplier>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {COLUMNS} FROM suppliers WHERE 1 = 1"));
                if let Some(c) = filter.criticality {
                    query.push(" AND criticality = ").push_bind(c.as_str());
                }
                if let Some(c) = &filter.category {
                    query.push(" AND LOWER(category) = ").push_bind(c.to_lowercase());
                }
                if let Some(t) = filter.owner_team_id {
                    query.push(" AND owner_team_id = ").push_bind(t);
                }
                if let Some(p) = filter.owner_person_id {
                    query.push(" AND owner_person_id = ").push_bind(p);
                }
                if let Some(q) = &filter.q {
                    query.push(" AND LOWER(name) LIKE ").push_bind(like_pattern(q)).push(" ESCAPE '\\'");
                }
                if let Some(after) = page.after {
                    query.push(" AND id > ").push_bind(after);
                }
                query.push(" ORDER BY id LIMIT ").push_bind(i64::from(page.limit) + 1);
                let rows = query.build().fetch_all(pool).await?;
                let items = rows.iter().map(supplier_row).collect::<Result<Vec<_>>>()?;
                Ok(Page::from_rows(items, page.limit, |s| s.id))
            }

            pub async fn all(pool: &Pool) -> Result<Vec<Supplier>> {
                sqlx::query(&format!("SELECT {COLUMNS} FROM suppliers ORDER BY id"))
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(supplier_row)
                    .collect()
            }

            pub async fn link(pool: &Pool, actor: &Actor, supplier_id: i64, link: &LinkInput) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                fetch(&mut tx, supplier_id).await?;
                check_refs!(tx, [("backlog_items", Some(link.item_id), "item_id")])?;
                let exists = sqlx::query("SELECT item_id FROM supplier_backlog_links WHERE supplier_id = $1 AND item_id = $2 AND relation = $3")
                    .bind(supplier_id)
                    .bind(link.item_id)
                    .bind(link.relation.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_some() {
                    // Linking twice is a no-op, so clients can retry safely.
                    return Ok(());
                }
                sqlx::query("INSERT INTO supplier_backlog_links (supplier_id, item_id, relation, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(supplier_id)
                    .bind(link.item_id)
                    .bind(link.relation.as_str())
                    .bind(backend::now())
                    .execute(&mut *tx)
                    .await?;
                let after = serde_json::json!({ "item_id": link.item_id, "relation": link.relation });
                backend::audit(&mut tx, actor, "link", "supplier", Some(supplier_id), None, Some(after)).await?;
                tx.commit().await?;
                Ok(())
            }

            pub async fn unlink(pool: &Pool, actor: &Actor, supplier_id: i64, link: &LinkInput) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                let done = sqlx::query("DELETE FROM supplier_backlog_links WHERE supplier_id = $1 AND item_id = $2 AND relation = $3")
                    .bind(supplier_id)
                    .bind(link.item_id)
                    .bind(link.relation.as_str())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound("supplier link"));
                }
                let before = serde_json::json!({ "item_id": link.item_id, "relation": link.relation });
                backend::audit(&mut tx, actor, "unlink", "supplier", Some(supplier_id), Some(before), None).await?;
                tx.commit().await?;
                Ok(())
            }

            pub async fn links(pool: &Pool, supplier_id: i64) -> Result<Vec<BacklogLink>> {
                let rows = sqlx::query(
                    "SELECT l.supplier_id, l.item_id, l.relation, l.created_at, i.title, i.state \
                     FROM supplier_backlog_links l JOIN backlog_items i ON i.id = l.item_id \
                     WHERE l.supplier_id = $1 ORDER BY l.item_id, l.relation",
                )
                .bind(supplier_id)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let relation: String = r.try_get("relation")?;
                        Ok(BacklogLink {
                            supplier_id: r.try_get("supplier_id")?,
                            item_id: r.try_get("item_id")?,
                            relation: relation.parse::<LinkRelation>().map_err(StoreError::Corrupt)?,
                            item_title: r.try_get("title")?,
                            item_state: r.try_get("state")?,
                            created_at: r.try_get("created_at")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

register_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
register_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");

/// Reviews start on the first day of the month after the supplier is registered, at 09:00
/// UTC: a start on the 29th-31st would make monthly rules skip short months, and a start in
/// the past would make the calendar call the supplier overdue on its first day.
fn review_schedule_start(today: NaiveDate) -> chrono::NaiveDateTime {
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    crate::notice::shift_months(first, 1)
        .and_hms_opt(9, 0, 0)
        .unwrap_or_default()
}

fn review_activity(s: &SupplierInput, starts: chrono::NaiveDateTime) -> ActivityInput {
    ActivityInput {
        title: format!("Supplier review: {}", s.name),
        practice: Practice::Suppliers,
        template: Some("supplier-review".into()),
        description: format!(
            "Score {} on the supplier scorecard, review its contracts and record actions.",
            s.name
        ),
        rrule: review_rrule(s.criticality),
        starts_local: starts,
        timezone: "UTC".into(),
        duration_minutes: 90,
        owner_team_id: s.owner_team_id,
        owner_person_id: s.owner_person_id,
        asset_id: None,
        active: true,
    }
}

impl SupplierStore {
    /// Register a supplier and schedule its reviews on the calendar (quarterly, half-yearly
    /// or yearly by criticality).
    pub async fn create_supplier(&self, actor: &Actor, input: &SupplierInput) -> Result<Supplier> {
        let input = input.clone().normalize();
        input.validate()?;
        // The calendar keeps its own transaction; if the supplier then cannot be stored,
        // the activity is removed again so no review is scheduled for nobody.
        let activity = self
            .ops
            .create_activity(
                actor,
                &review_activity(&input, review_schedule_start(Utc::now().date_naive())),
            )
            .await?;
        match on_backend!(&self.db, create(actor, &input, Some(activity.id))) {
            Ok(s) => {
                tracing::info!(supplier = s.id, "supplier registered");
                Ok(s)
            }
            Err(e) => {
                if let Err(cleanup) = self.ops.delete_activity(actor, activity.id).await {
                    tracing::warn!(error = %cleanup, activity = activity.id, "could not remove review activity");
                }
                Err(e)
            }
        }
    }

    pub async fn get_supplier(&self, id: i64) -> Result<Supplier> {
        on_backend!(&self.db, get(id))
    }

    /// Replace a supplier's fields; its review schedule follows a change of criticality,
    /// name or owner.
    pub async fn update_supplier(
        &self,
        actor: &Actor,
        id: i64,
        input: &SupplierInput,
    ) -> Result<Supplier> {
        let input = input.clone().normalize();
        input.validate()?;
        let before = self.get_supplier(id).await?;
        let mut activity_id = before.review_activity_id;
        let existing = match activity_id {
            Some(a) => match self.ops.get_activity(a).await {
                Ok(activity) => Some(activity),
                Err(StoreError::NotFound(_)) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        match existing {
            Some(activity) => {
                let wanted = review_activity(&input, activity.starts_local);
                if wanted.title != activity.title
                    || wanted.rrule != activity.rrule
                    || wanted.owner_team_id != activity.owner_team_id
                    || wanted.owner_person_id != activity.owner_person_id
                {
                    let wanted = ActivityInput {
                        description: activity.description,
                        duration_minutes: activity.duration_minutes,
                        timezone: activity.timezone,
                        ..wanted
                    };
                    self.ops
                        .update_activity(actor, activity.id, &wanted)
                        .await?;
                }
            }
            None => {
                let start = review_schedule_start(Utc::now().date_naive());
                let created = self
                    .ops
                    .create_activity(actor, &review_activity(&input, start))
                    .await?;
                activity_id = Some(created.id);
            }
        }
        on_backend!(&self.db, update(actor, id, &input, activity_id))
    }

    /// Remove a supplier with its contracts and reviews. Its review activity is kept but
    /// made inactive, so the evidence of past reviews still names it.
    pub async fn delete_supplier(&self, actor: &Actor, id: i64) -> Result<()> {
        let removed = on_backend!(&self.db, delete(actor, id))?;
        if let Some(a) = removed.review_activity_id {
            match self.ops.get_activity(a).await {
                Ok(activity) => {
                    let input = ActivityInput {
                        title: activity.title,
                        practice: activity.practice,
                        template: activity.template,
                        description: activity.description,
                        rrule: activity.rrule,
                        starts_local: activity.starts_local,
                        timezone: activity.timezone,
                        duration_minutes: activity.duration_minutes,
                        owner_team_id: activity.owner_team_id,
                        owner_person_id: activity.owner_person_id,
                        asset_id: activity.asset_id,
                        active: false,
                    };
                    self.ops.update_activity(actor, a, &input).await?;
                }
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub async fn list_suppliers(
        &self,
        filter: &SupplierFilter,
        page: PageRequest,
    ) -> Result<Page<Supplier>> {
        on_backend!(&self.db, list(filter, page))
    }

    pub async fn all_suppliers(&self) -> Result<Vec<Supplier>> {
        on_backend!(&self.db, all())
    }

    /// Link a backlog item to a supplier (caused by it, or waiting on it). Idempotent.
    pub async fn link_item(&self, actor: &Actor, supplier_id: i64, link: &LinkInput) -> Result<()> {
        on_backend!(&self.db, link(actor, supplier_id, link))
    }

    pub async fn unlink_item(
        &self,
        actor: &Actor,
        supplier_id: i64,
        link: &LinkInput,
    ) -> Result<()> {
        on_backend!(&self.db, unlink(actor, supplier_id, link))
    }

    pub async fn linked_items(&self, supplier_id: i64) -> Result<Vec<BacklogLink>> {
        on_backend!(&self.db, links(supplier_id))
    }
}
