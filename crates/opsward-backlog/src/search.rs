//! Full-text search, the one place where SQLite and PostgreSQL need different SQL: an FTS5
//! table (kept in sync by triggers, so inside the writing transaction) on SQLite and a
//! generated `tsvector` column with a GIN index on PostgreSQL.
//!
//! User text never reaches either query language as-is: it is cut into plain words first,
//! so quotes, `NEAR`, `:*` or `!` in a title cannot break or widen a query.

/// Words too common to say anything about an item. PostgreSQL's `english` configuration
/// drops these itself; SQLite's tokenizer does not, and an AND query would then require them.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "of",
    "on", "or", "that", "the", "to", "was", "were", "will", "with",
];

/// Longest query we build; more words only slow the search down.
const MAX_TERMS: usize = 32;

/// The searchable words of `text`: split at anything not a letter or digit, lower-cased,
/// without stop words and repeats.
pub fn terms(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let word = word.to_lowercase();
        if !word.is_empty() && !STOP_WORDS.contains(&word.as_str()) && !out.contains(&word) {
            out.push(word);
        }
        if out.len() == MAX_TERMS {
            break;
        }
    }
    out
}

/// Whether every word must match (a search) or any word may (duplicate suggestions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    All,
    Any,
}

/// An FTS5 `MATCH` expression: each term quoted, so it is a string and never an operator.
pub fn fts5_query(terms: &[String], mode: Match) -> String {
    let quoted: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
    quoted.join(if mode == Match::All { " " } else { " OR " })
}

/// A `to_tsquery` expression; terms are letters and digits only, so they need no quoting.
pub fn tsquery(terms: &[String], mode: Match) -> String {
    terms.join(if mode == Match::All { " & " } else { " | " })
}

/// SQLite: join the FTS5 table, filter with `MATCH`, rank with `bm25` (lower is better).
pub(crate) mod sqlite_fts {
    use super::*;
    use sqlx::{QueryBuilder, Sqlite};

    pub fn push_join(q: &mut QueryBuilder<'_, Sqlite>) {
        q.push(" JOIN backlog_items_fts ON backlog_items_fts.rowid = backlog_items.id");
    }

    pub fn push_match(q: &mut QueryBuilder<'_, Sqlite>, terms: &[String], mode: Match) {
        q.push(" AND backlog_items_fts MATCH ")
            .push_bind(fts5_query(terms, mode));
    }

    pub fn push_rank_order(q: &mut QueryBuilder<'_, Sqlite>, _terms: &[String], _mode: Match) {
        q.push(" ORDER BY bm25(backlog_items_fts), backlog_items.id DESC");
    }
}

/// PostgreSQL: the generated `search_vector` column, `@@` and `ts_rank` (higher is better).
pub(crate) mod postgres_fts {
    use super::*;
    use sqlx::{Postgres, QueryBuilder};

    pub fn push_join(_q: &mut QueryBuilder<'_, Postgres>) {}

    pub fn push_match(q: &mut QueryBuilder<'_, Postgres>, terms: &[String], mode: Match) {
        q.push(" AND backlog_items.search_vector @@ to_tsquery('english', ")
            .push_bind(tsquery(terms, mode))
            .push(")");
    }

    pub fn push_rank_order(q: &mut QueryBuilder<'_, Postgres>, terms: &[String], mode: Match) {
        q.push(" ORDER BY ts_rank(backlog_items.search_vector, to_tsquery('english', ")
            .push_bind(tsquery(terms, mode))
            .push(")) DESC, backlog_items.id DESC");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_plain_words_without_stop_words() {
        assert_eq!(terms("Disk full on DB-01!"), ["disk", "full", "db", "01"]);
        assert_eq!(terms("the the a"), Vec::<String>::new());
        assert_eq!(terms("x x y"), ["x", "y"]);
        assert_eq!(terms(&"w ".repeat(100)).len(), 1);
        let many: String = (0..100).map(|n| format!("w{n} ")).collect();
        assert_eq!(terms(&many).len(), MAX_TERMS);
    }

    #[test]
    fn operators_in_user_text_stay_words() {
        let t = terms("\"db\" NEAR(x) a:* !b | c & d");
        assert_eq!(t, ["db", "near", "x", "b", "c", "d"]);
        assert_eq!(fts5_query(&t[..2], Match::All), "\"db\" \"near\"");
        assert_eq!(fts5_query(&t[..2], Match::Any), "\"db\" OR \"near\"");
        assert_eq!(tsquery(&t[..2], Match::All), "db & near");
        assert_eq!(tsquery(&t[..2], Match::Any), "db | near");
    }
}
