//! SQLite only: the ranking opsward used before `opsward_bm25`, FTS5's built-in `bm25`,
//! timed on the same kind of queries in the same run, and how often the two agree. They
//! differ only in where the document counts of the IDF come from: `bm25` counts every match
//! of every word per query, `opsward_bm25` counts up to 5,000 and estimates above.

use crate::{report, Rng};
use opsward_backlog::{
    search::{fts5_query, terms, Match, RANK_WINDOW},
    BacklogStore,
};
use sqlx::SqlitePool;
use std::{collections::HashSet, error::Error, time::Instant};

const RUNS: usize = 50;

/// The ids `bm25` ranks first: the query `search::sqlite_fts::push_ranked` ran before.
async fn builtin(
    pool: &SqlitePool,
    text: &str,
    mode: Match,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT hit FROM (SELECT rowid AS hit, bm25(backlog_items_fts) AS score \
         FROM backlog_items_fts WHERE backlog_items_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2) \
         ORDER BY score, hit DESC LIMIT ?3",
    )
    .bind(fts5_query(&terms(text), mode))
    .bind(RANK_WINDOW)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Times `bm25` on each kind of query (a table row each) and returns the agreement lines,
/// printed after the table.
pub async fn compare(
    backlog: &BacklogStore,
    pool: &SqlitePool,
    rng: &mut Rng,
) -> Result<Vec<String>, Box<dyn Error>> {
    let mut agreement = Vec::new();
    for (what, kind) in [
        (
            "search: host name + common word, FTS5 bm25 (before), top 20",
            0,
        ),
        ("search: 2 common words, FTS5 bm25 (before), top 20", 1),
        ("similar: 5 words + host, FTS5 bm25 (before), top 5", 2),
    ] {
        let (mut ms, mut rows) = (Vec::new(), 0);
        let (mut same_first, mut same_set, mut shared, mut total) = (0, 0, 0, 0);
        for _ in 0..RUNS {
            let (text, mode, limit) = match kind {
                0 => (format!("{} {}", rng.host(), rng.words(1)), Match::All, 20),
                1 => (rng.words(2), Match::All, 20),
                _ => (format!("{} on {}", rng.words(5), rng.host()), Match::Any, 5),
            };
            let ours: Vec<i64> = if mode == Match::All {
                backlog.search(&text, limit).await?
            } else {
                backlog.similar(&text, "").await?
            }
            .iter()
            .map(|i| i.id)
            .collect();
            let t = Instant::now();
            let theirs = builtin(pool, &text, mode, limit).await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            rows += theirs.len();
            same_first += usize::from(ours.first() == theirs.first());
            let ours: HashSet<i64> = ours.into_iter().collect();
            let theirs: HashSet<i64> = theirs.into_iter().collect();
            same_set += usize::from(ours == theirs);
            shared += ours.intersection(&theirs).count();
            total += theirs.len();
        }
        report(what, ms, rows / RUNS);
        agreement.push(format!(
            "- {what}: same first result in {same_first} of {RUNS} queries, the same set in \
             {same_set}, {:.1} % of bm25's results also in opsward_bm25's",
            100.0 * shared as f64 / total.max(1) as f64
        ));
    }
    Ok(agreement)
}
