//! Supplier tables on either backend. The SQL is the same on SQLite and PostgreSQL, so each
//! part (register, contracts, reviews) is one macro body expanded per backend. Every change
//! writes its audit row in the same transaction as the change.

mod contracts;
mod register;
mod reviews;
mod standing;

pub use contracts::NewDocument;
pub use standing::LatestReview;

use opsward_core::ValidationError;
use opsward_ops::OpsStore;
use opsward_store::{Database, Store, StoreError};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Suppliers, contracts and reviews, next to the foundation store on the same database.
/// Reviews are scheduled and evidenced through the operations calendar.
#[derive(Clone)]
pub struct SupplierStore {
    db: Database,
    ops: OpsStore,
}

impl SupplierStore {
    pub fn new(store: &dyn Store) -> Self {
        SupplierStore {
            db: store.database(),
            ops: OpsStore::new(store),
        }
    }
}

/// Escape `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn missing(field: &str, id: i64) -> StoreError {
    ValidationError::single(field, format!("{id} does not exist")).into()
}

/// Check that each `(table, id, field)` reference exists, inside the writing transaction.
macro_rules! check_refs {
    ($conn:expr, $refs:expr) => {{
        let mut result: Result<()> = Ok(());
        for (table, id, field) in $refs {
            if let Some(id) = id {
                let found = sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *$conn)
                    .await?;
                if found.is_none() {
                    result = Err($crate::store::missing(field, id));
                    break;
                }
            }
        }
        result
    }};
}
use check_refs;

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(super::like_pattern("50%_A\\"), "%50\\%\\_a\\\\%");
    }
}
