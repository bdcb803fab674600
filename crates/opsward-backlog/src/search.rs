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

/// SQLite: the FTS5 table, `MATCH`, ranking with `opsward_bm25` (FTS5's `bm25` with the
/// document counts given, see `opsward_store::sqlite_rank`; lower is better).
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

    /// Up to this many of a term's newest matches are counted per query; a term with more
    /// has its document count estimated from how densely these are spread over the ids.
    pub const COUNTED_MATCHES: i64 = 5000;

    /// How many items contain each term, for the IDF of [`opsward_bm25`]
    /// (`opsward_store::sqlite_rank`): counting only what is cheap to count.
    ///
    /// A term in fewer than [`COUNTED_MATCHES`] items is counted exactly. For a commoner term
    /// the count stops there, and the items are estimated as that many times the share of
    /// the ids at or above the last one counted: items are never deleted and ids are handed
    /// out in order, so the ids from 1 to the highest are the items. The estimate follows the
    /// term's use in the newest items; it only weighs terms against each other, and at these
    /// frequencies BM25's IDF is near or at its floor anyway. The built-in `bm25` counts every
    /// match of every term per query instead, 30-60 ms for common words in a million items.
    ///
    /// [`opsward_bm25`]: opsward_store::sqlite_rank::FUNCTION
    pub async fn document_counts(
        pool: &sqlx::SqlitePool,
        terms: &[String],
    ) -> Result<Vec<f64>, sqlx::Error> {
        counted_documents(pool, terms, COUNTED_MATCHES).await
    }

    /// [`document_counts`] counting up to `counted` matches per term.
    pub(crate) async fn counted_documents(
        pool: &sqlx::SqlitePool,
        terms: &[String],
        counted: i64,
    ) -> Result<Vec<f64>, sqlx::Error> {
        let mut q = QueryBuilder::<Sqlite>::new(
            // Two subqueries: SQLite answers a lone min() or max() from the end of the
            // primary key, but both in one SELECT scan the whole table.
            "SELECT -1, 0, COALESCE((SELECT min(id) FROM backlog_items), 0), \
             COALESCE((SELECT max(id) FROM backlog_items), 0)",
        );
        for (i, term) in terms.iter().enumerate() {
            q.push(" UNION ALL SELECT ")
                .push_bind(i as i64)
                .push(
                    ", count(*), COALESCE(min(rowid), 0), 0 FROM (SELECT rowid FROM backlog_items_fts \
                     WHERE backlog_items_fts MATCH ",
                )
                .push_bind(fts5_query(std::slice::from_ref(term), Match::All))
                .push(" ORDER BY rowid DESC LIMIT ")
                .push_bind(counted)
                .push(")");
        }
        let rows: Vec<(i64, i64, i64, i64)> = q.build_query_as().fetch_all(pool).await?;
        let (first, last) = rows
            .iter()
            .find(|r| r.0 == -1)
            .map_or((0, 0), |r| (r.2, r.3));
        let items = (last - first + 1).max(1) as f64;
        let mut counts = vec![0.0; terms.len()];
        for (i, matches, lowest, _) in rows {
            let Some(count) = usize::try_from(i).ok().and_then(|i| counts.get_mut(i)) else {
                continue;
            };
            *count = if matches < counted {
                matches as f64
            } else {
                let share = matches as f64 / (last - lowest + 1).max(1) as f64;
                (share * items).min(items)
            };
        }
        Ok(counts)
    }

    /// The best `limit` matches among the newest [`RANK_WINDOW`]: FTS5 delivers rowids newest
    /// first and computes the score only for the rows it hands out, with the document counts
    /// of [`document_counts`] (one per term, in order: each term is one phrase).
    pub fn push_ranked(
        q: &mut QueryBuilder<'_, Sqlite>,
        columns: &str,
        terms: &[String],
        documents: &[f64],
        mode: Match,
        limit: i64,
    ) {
        q.push("SELECT ")
            .push(columns)
            .push(" FROM (SELECT rowid AS hit, ")
            .push(opsward_store::sqlite_rank::FUNCTION)
            .push("(backlog_items_fts");
        for count in documents {
            q.push(", ").push_bind(*count);
        }
        q.push(") AS score FROM backlog_items_fts WHERE backlog_items_fts MATCH ")
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

    /// `ts_rank` counts nothing across documents, so it needs no document counts.
    pub async fn document_counts(
        _pool: &sqlx::PgPool,
        _terms: &[String],
    ) -> Result<Vec<f64>, sqlx::Error> {
        Ok(Vec::new())
    }

    /// The best `limit` matches among the newest [`RANK_WINDOW`]: only those are ranked.
    /// `ts_rank` needs no document counts, so `_documents` is always empty here.
    pub fn push_ranked(
        q: &mut QueryBuilder<'_, Postgres>,
        columns: &str,
        terms: &[String],
        _documents: &[f64],
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
    use crate::{model::ItemInput, BacklogStore, ItemType};
    use opsward_core::Actor;
    use opsward_store::Database;
    use opsward_testkit::TestDb;

    fn item(title: &str) -> ItemInput {
        ItemInput {
            item_type: ItemType::Problem,
            title: title.into(),
            description: String::new(),
            impact: 2,
            urgency: 1,
            wsjf: None,
            team_id: None,
            assignee_person_id: None,
            tags: vec![],
            asset_ids: vec![],
        }
    }

    /// 1,000 items: "disk" in every third one (334), "fan" in every 40th (25), "tape" in
    /// none. Counting at most 100 matches, "fan" is exact and "disk" estimated from the
    /// share of ids its newest 100 matches span.
    #[tokio::test]
    async fn document_counts_are_exact_below_the_limit_and_estimated_above() {
        let db = TestDb::sqlite().await;
        let backlog = BacklogStore::new(db.store.as_ref());
        let titles: Vec<ItemInput> = (0..1000)
            .map(|n| {
                let mut words = vec![format!("item{n}")];
                if n % 3 == 0 {
                    words.push("disk".into());
                }
                if n % 40 == 0 {
                    words.push("fan".into());
                }
                item(&words.join(" "))
            })
            .collect();
        backlog
            .import_items(&Actor::user(1, "tester"), &titles)
            .await
            .unwrap();
        let Database::Sqlite(pool) = db.store.database() else {
            panic!("SQLite");
        };
        let words: Vec<String> = ["disk", "fan", "tape"].map(String::from).into();
        let counts = sqlite_fts::counted_documents(&pool, &words, 100)
            .await
            .unwrap();
        assert_eq!(counts[1], 25.0);
        assert_eq!(counts[2], 0.0);
        // The newest 100 "disk" items have ids 1,000 down to 703: 100 in the 298 ids from
        // 703 to the newest item, so an estimated 100/298 of the 1,000 items (336, not 334).
        assert!(
            (counts[0] - 1000.0 * 100.0 / 298.0).abs() < 1e-9,
            "{counts:?}"
        );
        // With the production limit every count here is exact.
        let exact = sqlite_fts::document_counts(&pool, &words).await.unwrap();
        assert_eq!(exact, [334.0, 25.0, 0.0]);
    }

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
