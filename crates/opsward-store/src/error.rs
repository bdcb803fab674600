use opsward_core::ValidationError;

/// What can go wrong in the store, in terms callers act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness or reference rule would be broken (duplicate name, owner still in use).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("unsupported database URL {0:?}: expected sqlite:<path> or postgres://...")]
    UnsupportedUrl(String),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let Some(db) = err.as_database_error() {
            if db.is_unique_violation() {
                return StoreError::Conflict("a record with that name already exists".into());
            }
            // PostgreSQL refuses a NUL character in text (22021, character not in
            // repertoire); the API refuses it before, this covers every other way in.
            if db.code().as_deref() == Some("22021") {
                return StoreError::Invalid(ValidationError::single(
                    "text",
                    "text must not contain NUL characters (U+0000)",
                ));
            }
            if db.is_foreign_key_violation() {
                return StoreError::Conflict(
                    "the record refers to, or is referred to by, another record".into(),
                );
            }
        }
        match err {
            sqlx::Error::RowNotFound => StoreError::NotFound("record"),
            other => StoreError::Database(other),
        }
    }
}

impl StoreError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound(_))
    }
}
