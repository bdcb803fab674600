//! Contracts: the register, renewal decisions, tacit roll-forward and documents.

use super::{check_refs, Result, SupplierStore};
use crate::{
    model::{
        Contract, ContractDocument, ContractFilter, ContractInput, ContractStatus, Decision,
        DecisionInput, DecisionKind, Renewal, RenewalType,
    },
    notice::{notice_deadline, term_end, terms_to_roll, NoticePeriod},
};
use chrono::{NaiveDate, Utc};
use opsward_core::{
    page::{Page, PageRequest},
    Actor,
};
use opsward_store::{on_backend, StoreError};

/// A stored file to attach to a contract (saved in the attachment store first).
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

macro_rules! contracts_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{QueryBuilder, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const COLUMNS: &str = "id, supplier_id, title, reference, start_date, end_date, anchor_end_date, \
                renewal_count, notice_amount, notice_unit, renewal_type, renewal_term_months, value, currency, \
                owner_team_id, owner_person_id, term_decision, created_at, updated_at";

            fn parse<T: std::str::FromStr<Err = String>>(row: &DbRow, column: &str) -> Result<T> {
                let text: String = row.try_get(column)?;
                text.parse().map_err(StoreError::Corrupt)
            }

            fn contract_row(row: &DbRow) -> Result<Contract> {
                let notice = NoticePeriod { amount: row.try_get("notice_amount")?, unit: parse(row, "notice_unit")? };
                let end_date: NaiveDate = row.try_get("end_date")?;
                let decision: Option<String> = row.try_get("term_decision")?;
                let mut contract = Contract {
                    id: row.try_get("id")?,
                    supplier_id: row.try_get("supplier_id")?,
                    title: row.try_get("title")?,
                    reference: row.try_get("reference")?,
                    start_date: row.try_get("start_date")?,
                    end_date,
                    anchor_end_date: row.try_get("anchor_end_date")?,
                    renewal_count: row.try_get("renewal_count")?,
                    notice,
                    notice_deadline: notice_deadline(end_date, notice),
                    renewal_type: parse(row, "renewal_type")?,
                    renewal_term_months: row.try_get("renewal_term_months")?,
                    value: row.try_get("value")?,
                    currency: row.try_get("currency")?,
                    owner_team_id: row.try_get("owner_team_id")?,
                    owner_person_id: row.try_get("owner_person_id")?,
                    term_decision: decision.map(|d| d.parse()).transpose().map_err(StoreError::Corrupt)?,
                    status: ContractStatus::Active,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                };
                contract.status = contract.status_on(Utc::now().date_naive());
                Ok(contract)
            }

            async fn fetch(conn: &mut backend::Conn, id: i64) -> Result<Contract> {
                let row = sqlx::query(&format!("SELECT {COLUMNS} FROM contracts WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("contract"))?;
                contract_row(&row)
            }

            async fn check(conn: &mut backend::Conn, c: &ContractInput) -> Result<()> {
                check_refs!(conn, [
                    ("suppliers", Some(c.supplier_id), "supplier_id"),
                    ("teams", c.owner_team_id, "owner_team_id"),
                    ("people", c.owner_person_id, "owner_person_id"),
                ])
            }

            pub async fn create(pool: &Pool, actor: &Actor, c: &ContractInput) -> Result<Contract> {
                let mut tx = pool.begin_with($begin).await?;
                check(&mut tx, c).await?;
                let id: i64 = sqlx::query(
                    "INSERT INTO contracts (supplier_id, title, reference, start_date, end_date, anchor_end_date, \
                     renewal_count, notice_amount, notice_unit, renewal_type, renewal_term_months, value, currency, \
                     owner_team_id, owner_person_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5, 0, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
                )
                .bind(c.supplier_id)
                .bind(&c.title)
                .bind(&c.reference)
                .bind(c.start_date)
                .bind(c.end_date)
                .bind(c.notice.amount)
                .bind(c.notice.unit.as_str())
                .bind(c.renewal_type.as_str())
                .bind(c.renewal_term_months)
                .bind(&c.value)
                .bind(&c.currency)
                .bind(c.owner_team_id)
                .bind(c.owner_person_id)
                .bind(backend::now())
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let created = fetch(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "create", "contract", Some(id), None, serde_json::to_value(&created).ok()).await?;
                tx.commit().await?;
                Ok(created)
            }

            pub async fn get(pool: &Pool, id: i64) -> Result<Contract> {
                fetch(&mut *pool.acquire().await?, id).await
            }

            /// Replace a contract. A new end date starts a new term: the renewal count and
            /// the term's decision start again from it.
            pub async fn update(pool: &Pool, actor: &Actor, id: i64, c: &ContractInput) -> Result<Contract> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch(&mut tx, id).await?;
                check(&mut tx, c).await?;
                let new_term = c.end_date != before.end_date;
                sqlx::query(
                    "UPDATE contracts SET supplier_id = $1, title = $2, reference = $3, start_date = $4, end_date = $5, \
                     anchor_end_date = CASE WHEN $6 THEN $5 ELSE anchor_end_date END, \
                     renewal_count = CASE WHEN $6 THEN 0 ELSE renewal_count END, \
                     term_decision = CASE WHEN $6 THEN NULL ELSE term_decision END, \
                     notice_amount = $7, notice_unit = $8, renewal_type = $9, renewal_term_months = $10, value = $11, \
                     currency = $12, owner_team_id = $13, owner_person_id = $14, updated_at = $15 WHERE id = $16",
                )
                .bind(c.supplier_id)
                .bind(&c.title)
                .bind(&c.reference)
                .bind(c.start_date)
                .bind(c.end_date)
                .bind(new_term)
                .bind(c.notice.amount)
                .bind(c.notice.unit.as_str())
                .bind(c.renewal_type.as_str())
                .bind(c.renewal_term_months)
                .bind(&c.value)
                .bind(&c.currency)
                .bind(c.owner_team_id)
                .bind(c.owner_person_id)
                .bind(backend::now())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let after = fetch(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "update", "contract", Some(id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                tx.commit().await?;
                Ok(after)
            }

            pub async fn delete(pool: &Pool, actor: &Actor, id: i64) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch(&mut tx, id).await?;
                sqlx::query("DELETE FROM contracts WHERE id = $1").bind(id).execute(&mut *tx).await?;
                backend::audit(&mut tx, actor, "delete", "contract", Some(id), serde_json::to_value(&before).ok(), None).await?;
                tx.commit().await?;
                Ok(())
            }

            pub async fn list(pool: &Pool, filter: &ContractFilter, page: PageRequest) -> Result<Page<Contract>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {COLUMNS} FROM contracts WHERE 1 = 1"));
                if let Some(s) = filter.supplier_id {
                    query.push(" AND supplier_id = ").push_bind(s);
                }
                if let Some(d) = filter.ends_by {
                    query.push(" AND end_date <= ").push_bind(d);
                }
                if let Some(d) = filter.ends_from {
                    query.push(" AND end_date >= ").push_bind(d);
                }
                if let Some(after) = page.after {
                    query.push(" AND id > ").push_bind(after);
                }
                query.push(" ORDER BY id LIMIT ").push_bind(i64::from(page.limit) + 1);
                let rows = query.build().fetch_all(pool).await?;
                let items = rows.iter().map(contract_row).collect::<Result<Vec<_>>>()?;
                Ok(Page::from_rows(items, page.limit, |c| c.id))
            }

            pub async fn all(pool: &Pool) -> Result<Vec<Contract>> {
                sqlx::query(&format!("SELECT {COLUMNS} FROM contracts ORDER BY id"))
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(contract_row)
                    .collect()
            }

            /// Move a contract on by `terms` terms, only if nobody has moved it since
            /// `before` was read: the renewal count is the compare-and-set guard, so two
            /// schedulers rolling the same contract roll it once.
            async fn advance(tx: &mut backend::Conn, actor: &Actor, before: &Contract, terms: i32, kind: &str) -> Result<Vec<Renewal>> {
                let now = backend::now();
                let count = before.renewal_count + terms;
                let new_end = term_end(before.anchor_end_date, before.renewal_term_months, count);
                let moved = sqlx::query(
                    "UPDATE contracts SET end_date = $1, renewal_count = $2, term_decision = NULL, updated_at = $3 \
                     WHERE id = $4 AND renewal_count = $5",
                )
                .bind(new_end)
                .bind(count)
                .bind(now)
                .bind(before.id)
                .bind(before.renewal_count)
                .execute(&mut *tx)
                .await?;
                if moved.rows_affected() == 0 {
                    return Ok(Vec::new());
                }
                let mut renewals = Vec::new();
                for n in before.renewal_count..count {
                    let from = term_end(before.anchor_end_date, before.renewal_term_months, n);
                    let to = term_end(before.anchor_end_date, before.renewal_term_months, n + 1);
                    let id: i64 = sqlx::query(
                        "INSERT INTO contract_renewals (contract_id, kind, from_end_date, to_end_date, renewed_by, renewed_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(before.id)
                    .bind(kind)
                    .bind(from)
                    .bind(to)
                    .bind(&actor.label)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?;
                    renewals.push(Renewal { id, contract_id: before.id, kind: kind.into(), from_end_date: from, to_end_date: to, renewed_by: actor.label.clone(), renewed_at: now });
                }
                let after = fetch(tx, before.id).await?;
                backend::audit(tx, actor, "renew", "contract", Some(before.id), serde_json::to_value(before).ok(), serde_json::to_value(&after).ok()).await?;
                Ok(renewals)
            }

            pub async fn decide(pool: &Pool, actor: &Actor, id: i64, input: &DecisionInput) -> Result<(Decision, Contract)> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch(&mut tx, id).await?;
                let now = backend::now();
                let decision_id: i64 = sqlx::query(
                    "INSERT INTO contract_decisions (contract_id, decision, term_end_date, note, decided_by, decided_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(id)
                .bind(input.decision.as_str())
                .bind(before.end_date)
                .bind(&input.note)
                .bind(&actor.label)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                sqlx::query("UPDATE contracts SET term_decision = $1, updated_at = $2 WHERE id = $3")
                    .bind(input.decision.as_str())
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let decision = Decision { id: decision_id, contract_id: id, decision: input.decision, term_end_date: before.end_date, note: input.note.clone(), decided_by: actor.label.clone(), decided_at: now };
                backend::audit(&mut tx, actor, "create", "contract_decision", Some(decision_id), None, serde_json::to_value(&decision).ok()).await?;
                // An express contract ends unless renewed: renewing it starts the next term now.
                if input.decision == DecisionKind::Renew && before.renewal_type == RenewalType::Express {
                    let current = fetch(&mut tx, id).await?;
                    advance(&mut tx, actor, &current, 1, "express").await?;
                }
                let after = fetch(&mut tx, id).await?;
                tx.commit().await?;
                Ok((decision, after))
            }

            pub async fn decisions(pool: &Pool, contract_id: i64) -> Result<Vec<Decision>> {
                let rows = sqlx::query(
                    "SELECT id, contract_id, decision, term_end_date, note, decided_by, decided_at FROM contract_decisions \
                     WHERE contract_id = $1 ORDER BY id",
                )
                .bind(contract_id)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(Decision {
                            id: r.try_get("id")?,
                            contract_id: r.try_get("contract_id")?,
                            decision: parse(r, "decision")?,
                            term_end_date: r.try_get("term_end_date")?,
                            note: r.try_get("note")?,
                            decided_by: r.try_get("decided_by")?,
                            decided_at: r.try_get("decided_at")?,
                        })
                    })
                    .collect()
            }

            pub async fn renewals(pool: &Pool, contract_id: i64) -> Result<Vec<Renewal>> {
                let rows = sqlx::query(
                    "SELECT id, contract_id, kind, from_end_date, to_end_date, renewed_by, renewed_at FROM contract_renewals \
                     WHERE contract_id = $1 ORDER BY id",
                )
                .bind(contract_id)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(Renewal {
                            id: r.try_get("id")?,
                            contract_id: r.try_get("contract_id")?,
                            kind: r.try_get("kind")?,
                            from_end_date: r.try_get("from_end_date")?,
                            to_end_date: r.try_get("to_end_date")?,
                            renewed_by: r.try_get("renewed_by")?,
                            renewed_at: r.try_get("renewed_at")?,
                        })
                    })
                    .collect()
            }

            /// Roll one automatic contract forward if its notice deadline passed on `today`
            /// without notice. Re-reads the contract inside the transaction.
            pub async fn roll_one(pool: &Pool, actor: &Actor, id: i64, today: NaiveDate) -> Result<Vec<Renewal>> {
                let mut tx = pool.begin_with($begin).await?;
                let current = fetch(&mut tx, id).await?;
                if current.renewal_type != RenewalType::Automatic {
                    return Ok(Vec::new());
                }
                let terms = terms_to_roll(
                    current.anchor_end_date,
                    current.renewal_count,
                    current.renewal_term_months,
                    current.notice,
                    current.term_decision == Some(DecisionKind::Terminate),
                    today,
                );
                if terms == 0 {
                    return Ok(Vec::new());
                }
                let renewals = advance(&mut tx, actor, &current, terms, "tacit").await?;
                tx.commit().await?;
                Ok(renewals)
            }

            pub async fn add_document(pool: &Pool, actor: &Actor, contract_id: i64, doc: &NewDocument) -> Result<ContractDocument> {
                let mut tx = pool.begin_with($begin).await?;
                fetch(&mut tx, contract_id).await?;
                let now = backend::now();
                let id: i64 = sqlx::query(
                    "INSERT INTO contract_documents (contract_id, filename, content_type, size_bytes, sha256, uploaded_by, uploaded_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(contract_id)
                .bind(&doc.filename)
                .bind(&doc.content_type)
                .bind(doc.size_bytes)
                .bind(&doc.sha256)
                .bind(&actor.label)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let stored = ContractDocument { id, contract_id, filename: doc.filename.clone(), content_type: doc.content_type.clone(), size_bytes: doc.size_bytes, sha256: doc.sha256.clone(), uploaded_by: actor.label.clone(), uploaded_at: now };
                backend::audit(&mut tx, actor, "create", "contract_document", Some(id), None, serde_json::to_value(&stored).ok()).await?;
                tx.commit().await?;
                Ok(stored)
            }

            /// The documents of a contract, or the one document `document_id`.
            pub async fn documents(pool: &Pool, contract_id: Option<i64>, document_id: Option<i64>) -> Result<Vec<ContractDocument>> {
                let rows = sqlx::query(
                    "SELECT id, contract_id, filename, content_type, size_bytes, sha256, uploaded_by, uploaded_at \
                     FROM contract_documents WHERE contract_id = COALESCE($1, contract_id) AND id = COALESCE($2, id) ORDER BY id",
                )
                .bind(contract_id)
                .bind(document_id)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(ContractDocument {
                            id: r.try_get("id")?,
                            contract_id: r.try_get("contract_id")?,
                            filename: r.try_get("filename")?,
                            content_type: r.try_get("content_type")?,
                            size_bytes: r.try_get("size_bytes")?,
                            sha256: r.try_get("sha256")?,
                            uploaded_by: r.try_get("uploaded_by")?,
                            uploaded_at: r.try_get("uploaded_at")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

contracts_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
contracts_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");

impl SupplierStore {
    pub async fn create_contract(&self, actor: &Actor, input: &ContractInput) -> Result<Contract> {
        let input = input.clone().normalize();
        input.validate()?;
        on_backend!(&self.db, create(actor, &input))
    }

    pub async fn get_contract(&self, id: i64) -> Result<Contract> {
        on_backend!(&self.db, get(id))
    }

    pub async fn update_contract(
        &self,
        actor: &Actor,
        id: i64,
        input: &ContractInput,
    ) -> Result<Contract> {
        let input = input.clone().normalize();
        input.validate()?;
        on_backend!(&self.db, update(actor, id, &input))
    }

    pub async fn delete_contract(&self, actor: &Actor, id: i64) -> Result<()> {
        on_backend!(&self.db, delete(actor, id))
    }

    pub async fn list_contracts(
        &self,
        filter: &ContractFilter,
        page: PageRequest,
    ) -> Result<Page<Contract>> {
        on_backend!(&self.db, list(filter, page))
    }

    pub async fn all_contracts(&self) -> Result<Vec<Contract>> {
        on_backend!(&self.db, all())
    }

    /// Record a renewal decision for the current term. Renewing an express contract starts
    /// its next term at once; terminating an automatic one stops the tacit roll-forward.
    pub async fn decide(
        &self,
        actor: &Actor,
        contract_id: i64,
        input: &DecisionInput,
    ) -> Result<(Decision, Contract)> {
        input.validate()?;
        on_backend!(&self.db, decide(actor, contract_id, input))
    }

    pub async fn decisions(&self, contract_id: i64) -> Result<Vec<Decision>> {
        on_backend!(&self.db, decisions(contract_id))
    }

    pub async fn renewals(&self, contract_id: i64) -> Result<Vec<Renewal>> {
        on_backend!(&self.db, renewals(contract_id))
    }

    /// Roll every automatic contract whose notice deadline has passed without notice
    /// forward by its renewal term(s). Running it again the same day changes nothing.
    pub async fn roll_forward(&self, actor: &Actor, today: NaiveDate) -> Result<Vec<Renewal>> {
        let mut renewed = Vec::new();
        for c in self.all_contracts().await? {
            let due = c.renewal_type == RenewalType::Automatic
                && terms_to_roll(
                    c.anchor_end_date,
                    c.renewal_count,
                    c.renewal_term_months,
                    c.notice,
                    c.term_decision == Some(DecisionKind::Terminate),
                    today,
                ) > 0;
            if due {
                let rolled = on_backend!(&self.db, roll_one(actor, c.id, today))?;
                for r in &rolled {
                    tracing::info!(contract = c.id, from = %r.from_end_date, to = %r.to_end_date, "contract renewed tacitly");
                }
                renewed.extend(rolled);
            }
        }
        Ok(renewed)
    }

    pub async fn add_document(
        &self,
        actor: &Actor,
        contract_id: i64,
        doc: &NewDocument,
    ) -> Result<ContractDocument> {
        let mut v = opsward_core::validation::Validator::new();
        v.name("filename", &doc.filename, 255);
        v.finish()?;
        on_backend!(&self.db, add_document(actor, contract_id, doc))
    }

    pub async fn documents(&self, contract_id: i64) -> Result<Vec<ContractDocument>> {
        on_backend!(&self.db, documents(Some(contract_id), None))
    }

    pub async fn get_document(&self, id: i64) -> Result<ContractDocument> {
        on_backend!(&self.db, documents(None, Some(id)))?
            .pop()
            .ok_or(StoreError::NotFound("contract document"))
    }
}
