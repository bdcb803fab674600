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

/// Ranked search and duplicate suggestions score at most this many matches: the newest ones
/// (highest id). A query whose words match more items (common words in a large backlog)
/// returns the best of its newest `RANK_WINDOW` matches, not of all of them; scoring every
/// match of `disk full` in a million items takes seconds on either backend.
pub const RANK_WINDOW: i64 = 1000;

/// SQLite: the FTS5 table, `MATCH`, ranking with `bm25` (lower is better).
pub(crate) mod sqlite_fts {
    use super::*;
    use sqlx::{QueryBuilder, Sqlite};

    /// The list's rows with a full-text filter: FTS5 hands out matching rowids in ascending
    /// order and stops when the page is full, each joined to its item by primary key (the
    /// CROSS JOIN keeps the FTS5 table as the outer loop). Ordering the item table first
    /// sorted every match instead, seconds for common words in a large backlog.
    pub fn push_list_source(q: &mut QueryBuilder<'_, Sqlite>, terms: &[String]) {
        q.push(
            " FROM backlog_items_fts CROSS JOIN backlog_items ON backlog_items.id = backlog_items_fts.rowid \
             WHERE backlog_items_fts MATCH ",
        )
        .push_bind(fts5_query(terms, Match::All));
    }

    /// The list's order and cursor column when [`push_list_source`] was used: the FTS5
    /// rowid, equal to the item id, which FTS5 can seek to and deliver in order.
    pub const LIST_KEY: &str = "backlog_items_fts.rowid";

    /// The list's state filter next to a full-text filter: as is, the CROSS JOIN already
    /// checks it on each matching item.
    pub fn state_next_to_words(column: &str) -> String {
        column.to_string()
    }

    /// The best `limit` matches among the newest [`RANK_WINDOW`]: FTS5 delivers rowids newest
    /// first and computes `bm25` only for the rows it hands out.
    pub fn push_ranked(
        q: &mut QueryBuilder<'_, Sqlite>,
        columns: &str,
        terms: &[String],
        mode: Match,
        limit: i64,
    ) {
        q.push("SELECT ")
            .push(columns)
        .push(
            " FROM (SELECT rowid AS hit, bm25(backlog_items_fts) AS score FROM backlog_items_fts \
             WHERE backlog_items_fts MATCH ",
        )
        .push_bind(fts5_query(terms, mode))
        .push(" ORDER BY rowid DESC LIMIT ")
        .push_bind(RANK_WINDOW)
        .push(
            ") AS hits CROSS JOIN backlog_items ON backlog_items.id = hits.hit \
             ORDER BY hits.score, hits.hit DESC LIMIT ",
        )
        .push_bind(limit);
    }
}

/// PostgreSQL: the generated `search_vector` column (GIN index), `@@` and `ts_rank` (higher is
/// better).
pub(crate) mod postgres_fts {
    use super::*;
    use sqlx::{Postgres, QueryBuilder};

    pub fn push_list_source(q: &mut QueryBuilder<'_, Postgres>, terms: &[String]) {
        q.push(" FROM backlog_items WHERE backlog_items.search_vector @@ to_tsquery('english', ")
            .push_bind(tsquery(terms, Match::All))
            .push(")");
    }

    pub const LIST_KEY: &str = "backlog_items.id";

    /// The list's state filter next to a full-text filter and no team filter, wrapped so no
    /// B-tree index serves it (`state || ''`, the same value). PostgreSQL otherwise AND-ed the
    /// GIN bitmap of a rare word (400 items) with the bitmap of every item in the state
    /// (150,000 at 1,000,000 items): 60-110 ms instead of 5 ms. The rows then come from the GIN
    /// index (rare words) or from walking the primary key in page order (common words), and
    /// the state is checked on those. With a team the state stays as is: the
    /// `(state, team_id, id)` index serves both (3 ms), and hidden, the planner AND-ed the team
    /// bitmap with the GIN bitmap of a common word instead (1.1 s).
    pub fn state_next_to_words(column: &str) -> String {
        format!("({column} || '')")
    }

    /// The best `limit` matches among the newest [`RANK_WINDOW`]: only those are ranked.
    pub fn push_ranked(
        q: &mut QueryBuilder<'_, Postgres>,
        columns: &str,
        terms: &[String],
        mode: Match,
        limit: i64,
    ) {
        let query = tsquery(terms, mode);
        q.push("SELECT ")
            .push(columns)
            .push(
                " FROM (SELECT id FROM backlog_items WHERE search_vector @@ to_tsquery('english', ",
            )
            .push_bind(query.clone())
            .push(") ORDER BY id DESC LIMIT ")
            .push_bind(RANK_WINDOW)
            .push(
                ") AS hits JOIN backlog_items ON backlog_items.id = hits.id \
                 ORDER BY ts_rank(backlog_items.search_vector, to_tsquery('english', ",
            )
            .push_bind(query)
            .push(")) DESC, backlog_items.id DESC LIMIT ")
            .push_bind(limit);
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
