//! Customer engagement tables on either backend: the same SQL on SQLite and PostgreSQL,
//! expanded once per backend. Every change writes an audit row in the same transaction.

use crate::model::*;
use chrono::{DateTime, Utc};
use opsward_core::{Actor, ValidationError};
use opsward_store::{on_backend, Database, Store, StoreError};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

macro_rules! customers_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{types::Json, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const CUSTOMER_COLUMNS: &str = "id, name, notes, owner_team_id, owner_person_id, asset_ids, review_activity_id, created_at, updated_at";
            pub(crate) const CONTACT_COLUMNS: &str = "id, customer_id, name, email, role, surveys_opt_out, created_at";
            pub(crate) const SURVEY_COLUMNS: &str = "id, kind, customer_id, contact_id, item_id, state, skip_reason, created_at, expires_at, \
                answered_at, score, comment, followup_item_id";
            const REVIEW_COLUMNS: &str = "id, customer_id, period_start, period_end, held_on, attendees, notes, evidence_id, created_at";
            const ACTION_COLUMNS: &str = "id, review_id, title, owner_person_id, due_on, done_at, created_at";

            pub(crate) fn parse<T: std::str::FromStr>(row: &DbRow, column: &str) -> Result<T> {
                let text: String = row.try_get(column)?;
                text.parse().map_err(|_| StoreError::Corrupt(format!("{column} has unexpected value {text:?}")))
            }

            fn customer_row(row: &DbRow) -> Result<Customer> {
                let assets: Json<Vec<i64>> = row.try_get("asset_ids")?;
                Ok(Customer {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    notes: row.try_get("notes")?,
                    owner_team_id: row.try_get("owner_team_id")?,
                    owner_person_id: row.try_get("owner_person_id")?,
                    asset_ids: assets.0,
                    review_activity_id: row.try_get("review_activity_id")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            pub(crate) fn contact_row(row: &DbRow) -> Result<Contact> {
                Ok(Contact {
                    id: row.try_get("id")?,
                    customer_id: row.try_get("customer_id")?,
                    name: row.try_get("name")?,
                    email: row.try_get("email")?,
                    role: row.try_get("role")?,
                    surveys_opt_out: row.try_get("surveys_opt_out")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            pub(crate) fn survey_row(row: &DbRow) -> Result<Survey> {
                Ok(Survey {
                    id: row.try_get("id")?,
                    kind: parse(row, "kind")?,
                    customer_id: row.try_get("customer_id")?,
                    contact_id: row.try_get("contact_id")?,
                    item_id: row.try_get("item_id")?,
                    state: parse(row, "state")?,
                    skip_reason: row.try_get("skip_reason")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    answered_at: row.try_get("answered_at")?,
                    score: row.try_get("score")?,
                    comment: row.try_get("comment")?,
                    followup_item_id: row.try_get("followup_item_id")?,
                })
            }

            fn action_row(row: &DbRow) -> Result<ReviewAction> {
                Ok(ReviewAction {
                    id: row.try_get("id")?,
                    review_id: row.try_get("review_id")?,
                    title: row.try_get("title")?,
                    owner_person_id: row.try_get("owner_person_id")?,
                    due_on: row.try_get("due_on")?,
                    done_at: row.try_get("done_at")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            async fn check_refs(conn: &mut backend::Conn, refs: &[(&str, Option<i64>, &str)]) -> Result<()> {
                for (table, id, field) in refs {
                    if let Some(id) = id {
                        let found = sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await?;
                        if found.is_none() {
                            return Err(ValidationError::single(field, format!("{id} does not exist")).into());
                        }
                    }
                }
                Ok(())
            }

            async fn customer_refs(conn: &mut backend::Conn, input: &CustomerInput) -> Result<()> {
                let mut refs = vec![("teams", input.owner_team_id, "owner_team_id"), ("people", input.owner_person_id, "owner_person_id")];
                refs.extend(input.asset_ids.iter().map(|a| ("assets", Some(*a), "asset_ids")));
                check_refs(conn, &refs).await
            }

            async fn fetch_customer(conn: &mut backend::Conn, id: i64) -> Result<Customer> {
                let row = sqlx::query(&format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("customer"))?;
                customer_row(&row)
            }

            pub async fn create_customer(pool: &Pool, actor: &Actor, input: &CustomerInput) -> Result<Customer> {
                let mut tx = pool.begin_with($begin).await?;
                customer_refs(&mut tx, input).await?;
                let id: i64 = sqlx::query(
                    "INSERT INTO customers (name, notes, owner_team_id, owner_person_id, asset_ids, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                )
                .bind(&input.name)
                .bind(&input.notes)
                .bind(input.owner_team_id)
                .bind(input.owner_person_id)
                .bind(Json(&input.asset_ids))
                .bind(backend::now())
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let created = fetch_customer(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "create", "customer", Some(id), None, serde_json::to_value(&created).ok()).await?;
                tx.commit().await?;
                Ok(created)
            }

            pub async fn update_customer(pool: &Pool, actor: &Actor, id: i64, input: &CustomerInput) -> Result<Customer> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch_customer(&mut tx, id).await?;
                customer_refs(&mut tx, input).await?;
                sqlx::query(
                    "UPDATE customers SET name = $1, notes = $2, owner_team_id = $3, owner_person_id = $4, asset_ids = $5, updated_at = $6 WHERE id = $7",
                )
                .bind(&input.name)
                .bind(&input.notes)
                .bind(input.owner_team_id)
                .bind(input.owner_person_id)
                .bind(Json(&input.asset_ids))
                .bind(backend::now())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let after = fetch_customer(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "update", "customer", Some(id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                tx.commit().await?;
                Ok(after)
            }

            pub async fn set_review_activity(pool: &Pool, actor: &Actor, id: i64, activity_id: i64) -> Result<Customer> {
                let mut tx = pool.begin_with($begin).await?;
                fetch_customer(&mut tx, id).await?;
                sqlx::query("UPDATE customers SET review_activity_id = $1, updated_at = $2 WHERE id = $3")
                    .bind(activity_id)
                    .bind(backend::now())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let after = fetch_customer(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "schedule_review", "customer", Some(id), None, Some(serde_json::json!({"activity_id": activity_id}))).await?;
                tx.commit().await?;
                Ok(after)
            }

            pub async fn get_customer(pool: &Pool, id: i64) -> Result<Customer> {
                let mut conn = pool.acquire().await?;
                fetch_customer(&mut conn, id).await
            }

            pub async fn list_customers(pool: &Pool) -> Result<Vec<Customer>> {
                sqlx::query(&format!("SELECT {CUSTOMER_COLUMNS} FROM customers ORDER BY name, id"))
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(customer_row)
                    .collect()
            }

            pub async fn add_contact(pool: &Pool, actor: &Actor, customer_id: i64, input: &ContactInput) -> Result<Contact> {
                let mut tx = pool.begin_with($begin).await?;
                fetch_customer(&mut tx, customer_id).await?;
                let row = sqlx::query(&format!(
                    "INSERT INTO customer_contacts (customer_id, name, email, role, surveys_opt_out, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {CONTACT_COLUMNS}"
                ))
                .bind(customer_id)
                .bind(&input.name)
                .bind(&input.email)
                .bind(&input.role)
                .bind(input.surveys_opt_out)
                .bind(backend::now())
                .fetch_one(&mut *tx)
                .await?;
                let contact = contact_row(&row)?;
                backend::audit(&mut tx, actor, "create", "customer_contact", Some(contact.id), None, serde_json::to_value(&contact).ok()).await?;
                tx.commit().await?;
                Ok(contact)
            }

            pub async fn contacts(pool: &Pool, customer_id: i64) -> Result<Vec<Contact>> {
                sqlx::query(&format!("SELECT {CONTACT_COLUMNS} FROM customer_contacts WHERE customer_id = $1 ORDER BY name, id"))
                    .bind(customer_id)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(contact_row)
                    .collect()
            }

            /// The oldest contact with this email address, ignoring case.
            pub async fn contact_by_email(pool: &Pool, email: &str) -> Result<Option<Contact>> {
                sqlx::query(&format!("SELECT {CONTACT_COLUMNS} FROM customer_contacts WHERE lower(email) = lower($1) ORDER BY id LIMIT 1"))
                    .bind(email)
                    .fetch_optional(pool)
                    .await?
                    .as_ref()
                    .map(contact_row)
                    .transpose()
            }

            pub async fn get_contact(pool: &Pool, id: i64) -> Result<Contact> {
                let row = sqlx::query(&format!("SELECT {CONTACT_COLUMNS} FROM customer_contacts WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
                    .ok_or(StoreError::NotFound("contact"))?;
                contact_row(&row)
            }

            pub async fn link_item(pool: &Pool, actor: &Actor, link: &ItemLink) -> Result<ItemLink> {
                let mut tx = pool.begin_with($begin).await?;
                fetch_customer(&mut tx, link.customer_id).await?;
                check_refs(&mut tx, &[("backlog_items", Some(link.item_id), "item_id")]).await?;
                if let Some(contact_id) = link.contact_id {
                    let owner: Option<i64> = sqlx::query("SELECT customer_id FROM customer_contacts WHERE id = $1")
                        .bind(contact_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|r| r.try_get("customer_id"))
                        .transpose()?;
                    if owner != Some(link.customer_id) {
                        return Err(ValidationError::single("contact_id", format!("{contact_id} is not a contact of customer {}", link.customer_id)).into());
                    }
                }
                sqlx::query(
                    "INSERT INTO customer_items (item_id, customer_id, contact_id, linked_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (item_id) DO UPDATE SET customer_id = excluded.customer_id, contact_id = excluded.contact_id, linked_at = excluded.linked_at",
                )
                .bind(link.item_id)
                .bind(link.customer_id)
                .bind(link.contact_id)
                .bind(backend::now())
                .execute(&mut *tx)
                .await?;
                backend::audit(&mut tx, actor, "link_item", "customer", Some(link.customer_id), None, serde_json::to_value(link).ok()).await?;
                tx.commit().await?;
                Ok(link.clone())
            }

            /// Items the customer raised, with when they were created and their state.
            pub async fn items_of(pool: &Pool, customer_id: i64) -> Result<Vec<(i64, String, String, DateTime<Utc>, DateTime<Utc>)>> {
                let rows = sqlx::query(
                    "SELECT b.id, b.title, b.state, b.created_at, b.updated_at FROM customer_items ci \
                     JOIN backlog_items b ON b.id = ci.item_id WHERE ci.customer_id = $1 ORDER BY b.id",
                )
                .bind(customer_id)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("id")?, r.try_get("title")?, r.try_get("state")?, r.try_get("created_at")?, r.try_get("updated_at")?)))
                    .collect()
            }

            pub async fn create_review(pool: &Pool, actor: &Actor, customer_id: i64, input: &ReviewInput, evidence_id: Option<i64>) -> Result<ServiceReview> {
                let mut tx = pool.begin_with($begin).await?;
                fetch_customer(&mut tx, customer_id).await?;
                let refs: Vec<_> = input.actions.iter().map(|a| ("people", a.owner_person_id, "actions.owner_person_id")).collect();
                check_refs(&mut tx, &refs).await?;
                let now = backend::now();
                let id: i64 = sqlx::query(
                    "INSERT INTO service_reviews (customer_id, period_start, period_end, held_on, attendees, notes, evidence_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(customer_id)
                .bind(input.period_start)
                .bind(input.period_end)
                .bind(input.held_on)
                .bind(Json(&input.attendees))
                .bind(&input.notes)
                .bind(evidence_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                for a in &input.actions {
                    sqlx::query("INSERT INTO review_actions (review_id, title, owner_person_id, due_on, created_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(id)
                        .bind(&a.title)
                        .bind(a.owner_person_id)
                        .bind(a.due_on)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                let review = fetch_review(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "create", "service_review", Some(id), None, serde_json::to_value(&review).ok()).await?;
                tx.commit().await?;
                Ok(review)
            }

            async fn fetch_review(conn: &mut backend::Conn, id: i64) -> Result<ServiceReview> {
                let row = sqlx::query(&format!("SELECT {REVIEW_COLUMNS} FROM service_reviews WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("service review"))?;
                let actions = sqlx::query(&format!("SELECT {ACTION_COLUMNS} FROM review_actions WHERE review_id = $1 ORDER BY id"))
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(action_row)
                    .collect::<Result<Vec<_>>>()?;
                let attendees: Json<Vec<String>> = row.try_get("attendees")?;
                Ok(ServiceReview {
                    id,
                    customer_id: row.try_get("customer_id")?,
                    period_start: row.try_get("period_start")?,
                    period_end: row.try_get("period_end")?,
                    held_on: row.try_get("held_on")?,
                    attendees: attendees.0,
                    notes: row.try_get("notes")?,
                    evidence_id: row.try_get("evidence_id")?,
                    created_at: row.try_get("created_at")?,
                    actions,
                })
            }

            pub async fn get_review(pool: &Pool, id: i64) -> Result<ServiceReview> {
                let mut conn = pool.acquire().await?;
                fetch_review(&mut conn, id).await
            }

            pub async fn reviews(pool: &Pool, customer_id: i64) -> Result<Vec<ServiceReview>> {
                let mut conn = pool.acquire().await?;
                let ids: Vec<i64> = sqlx::query("SELECT id FROM service_reviews WHERE customer_id = $1 ORDER BY held_on DESC, id DESC")
                    .bind(customer_id)
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| r.try_get("id"))
                    .collect::<Result<_, _>>()?;
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    out.push(fetch_review(&mut conn, id).await?);
                }
                Ok(out)
            }

            pub async fn set_action_done(pool: &Pool, actor: &Actor, action_id: i64, done: bool) -> Result<ReviewAction> {
                let mut tx = pool.begin_with($begin).await?;
                let done_at = done.then(backend::now);
                let row = sqlx::query(&format!("UPDATE review_actions SET done_at = $1 WHERE id = $2 RETURNING {ACTION_COLUMNS}"))
                    .bind(done_at)
                    .bind(action_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("review action"))?;
                let action = action_row(&row)?;
                backend::audit(&mut tx, actor, if done { "done" } else { "reopen" }, "review_action", Some(action_id), None, serde_json::to_value(&action).ok()).await?;
                tx.commit().await?;
                Ok(action)
            }
        }
    };
}

customers_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
customers_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");

/// Customer engagement storage, next to the foundation store on the same database.
#[derive(Clone)]
pub struct CustomersStore {
    pub(crate) db: Database,
}

impl CustomersStore {
    pub fn new(store: &dyn Store) -> Self {
        CustomersStore {
            db: store.database(),
        }
    }

    pub async fn create_customer(&self, actor: &Actor, input: &CustomerInput) -> Result<Customer> {
        input.validate()?;
        on_backend!(&self.db, create_customer(actor, input))
    }
    pub async fn update_customer(
        &self,
        actor: &Actor,
        id: i64,
        input: &CustomerInput,
    ) -> Result<Customer> {
        input.validate()?;
        on_backend!(&self.db, update_customer(actor, id, input))
    }
    pub async fn set_review_activity(
        &self,
        actor: &Actor,
        id: i64,
        activity_id: i64,
    ) -> Result<Customer> {
        on_backend!(&self.db, set_review_activity(actor, id, activity_id))
    }
    pub async fn customer(&self, id: i64) -> Result<Customer> {
        on_backend!(&self.db, get_customer(id))
    }
    pub async fn customers(&self) -> Result<Vec<Customer>> {
        on_backend!(&self.db, list_customers())
    }
    pub async fn add_contact(
        &self,
        actor: &Actor,
        customer_id: i64,
        input: &ContactInput,
    ) -> Result<Contact> {
        input.validate()?;
        on_backend!(&self.db, add_contact(actor, customer_id, input))
    }
    pub async fn contacts(&self, customer_id: i64) -> Result<Vec<Contact>> {
        on_backend!(&self.db, contacts(customer_id))
    }
    pub async fn contact(&self, id: i64) -> Result<Contact> {
        on_backend!(&self.db, get_contact(id))
    }
    /// The contact who writes from this address (inbound email links their items).
    pub async fn contact_by_email(&self, email: &str) -> Result<Option<Contact>> {
        on_backend!(&self.db, contact_by_email(email))
    }
    pub async fn link_item(&self, actor: &Actor, link: &ItemLink) -> Result<ItemLink> {
        on_backend!(&self.db, link_item(actor, link))
    }
    /// (id, title, state, created, last changed) of the items a customer raised.
    pub async fn items_of(
        &self,
        customer_id: i64,
    ) -> Result<Vec<(i64, String, String, DateTime<Utc>, DateTime<Utc>)>> {
        on_backend!(&self.db, items_of(customer_id))
    }
    pub async fn create_review(
        &self,
        actor: &Actor,
        customer_id: i64,
        input: &ReviewInput,
        evidence_id: Option<i64>,
    ) -> Result<ServiceReview> {
        input.validate()?;
        on_backend!(
            &self.db,
            create_review(actor, customer_id, input, evidence_id)
        )
    }
    pub async fn review(&self, id: i64) -> Result<ServiceReview> {
        on_backend!(&self.db, get_review(id))
    }
    pub async fn reviews(&self, customer_id: i64) -> Result<Vec<ServiceReview>> {
        on_backend!(&self.db, reviews(customer_id))
    }
    pub async fn set_action_done(
        &self,
        actor: &Actor,
        action_id: i64,
        done: bool,
    ) -> Result<ReviewAction> {
        on_backend!(&self.db, set_action_done(actor, action_id, done))
    }
}
