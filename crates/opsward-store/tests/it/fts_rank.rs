//! `opsward_bm25` against SQLite's own `bm25`: with exact document counts the two must give
//! the same score for every row; only the counting moved out of the query. SQLite only: the
//! function is an FTS5 extension, PostgreSQL ranks with `ts_rank`.

use opsward_store::Database;
use opsward_testkit::TestDb;
use sqlx::SqlitePool;

const WORDS: &[&str] = &[
    "disk",
    "full",
    "backup",
    "failed",
    "certificate",
    "expired",
    "router",
    "restart",
    "latency",
    "printer",
    "vpn",
    "timeout",
];

async fn pool() -> (TestDb, SqlitePool) {
    let db = TestDb::sqlite().await;
    let Database::Sqlite(pool) = db.store.database() else {
        panic!("a SQLite test database");
    };
    (db, pool)
}

/// 400 documents in two columns, words repeated and spread unevenly so that term
/// frequencies, lengths and document counts all differ.
async fn seed(pool: &SqlitePool) {
    sqlx::query("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize = 'porter unicode61')")
        .execute(pool)
        .await
        .unwrap();
    let mut state: u64 = 7;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize % n
    };
    for _ in 0..400 {
        // Titles lean to the first words of the list, so their counts differ.
        let mut title = Vec::new();
        for _ in 0..1 + next(4) {
            let upto = next(WORDS.len()) + 1;
            title.push(WORDS[next(upto)]);
        }
        let body: Vec<&str> = (0..next(30)).map(|_| WORDS[next(WORDS.len())]).collect();
        sqlx::query("INSERT INTO docs (title, body) VALUES (?, ?)")
            .bind(title.join(" "))
            .bind(body.join(" "))
            .execute(pool)
            .await
            .unwrap();
    }
}

async fn exact_count(pool: &SqlitePool, word: &str) -> f64 {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM docs WHERE docs MATCH ?")
        .bind(format!("\"{word}\""))
        .fetch_one(pool)
        .await
        .unwrap();
    n as f64
}

#[tokio::test]
async fn with_exact_counts_it_scores_as_bm25_does() {
    let (_db, pool) = pool().await;
    seed(&pool).await;
    for query in [
        vec!["disk"],
        vec!["disk", "full"],
        vec!["certificate", "expired", "restart"],
        vec!["printer", "vpn", "timeout", "disk", "backup"],
    ] {
        for joiner in [" ", " OR "] {
            let expression: Vec<String> = query.iter().map(|w| format!("\"{w}\"")).collect();
            let expression = expression.join(joiner);
            let mut sql = "SELECT rowid, bm25(docs), opsward_bm25(docs".to_string();
            let mut counts = Vec::new();
            for word in &query {
                sql.push_str(", ?");
                counts.push(exact_count(&pool, word).await);
            }
            sql.push_str(") FROM docs WHERE docs MATCH ? ORDER BY rowid");
            let mut q = sqlx::query_as::<_, (i64, f64, f64)>(&sql);
            for count in &counts {
                q = q.bind(*count);
            }
            let rows = q.bind(&expression).fetch_all(&pool).await.unwrap();
            assert!(!rows.is_empty(), "{expression} matches something");
            for (rowid, builtin, ours) in rows {
                assert!(
                    (builtin - ours).abs() <= 1e-9 * builtin.abs().max(1.0),
                    "{expression}, row {rowid}: bm25 {builtin}, opsward_bm25 {ours}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_rarer_word_weighs_more_when_told_so() {
    let (_db, pool) = pool().await;
    sqlx::query("CREATE VIRTUAL TABLE docs USING fts5(title)")
        .execute(&pool)
        .await
        .unwrap();
    for title in ["alpha beta", "alpha gamma", "beta gamma"] {
        sqlx::query("INSERT INTO docs (title) VALUES (?)")
            .bind(title)
            .execute(&pool)
            .await
            .unwrap();
    }
    // Rows 1 and 2 have the same length and one matching word each: only the counts
    // given for the two words decide which ranks first.
    let only_one = |first: bool| {
        let pool = pool.clone();
        async move {
            let (gamma, beta) = if first { (0.0, 3.0) } else { (3.0, 0.0) };
            sqlx::query_scalar::<_, i64>(
                "SELECT rowid FROM docs WHERE docs MATCH '\"gamma\" OR \"beta\"' AND rowid < 3 \
                 ORDER BY opsward_bm25(docs, ?, ?) LIMIT 1",
            )
            .bind(gamma)
            .bind(beta)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(
        only_one(true).await,
        2,
        "gamma said to be rare: alpha gamma first"
    );
    assert_eq!(
        only_one(false).await,
        1,
        "beta said to be rare: alpha beta first"
    );
}

#[tokio::test]
async fn a_count_missing_for_a_phrase_is_a_clear_error() {
    let (_db, pool) = pool().await;
    seed(&pool).await;
    let error =
        sqlx::query("SELECT opsward_bm25(docs, 3) FROM docs WHERE docs MATCH '\"disk\" \"full\"'")
            .fetch_all(&pool)
            .await
            .err()
            .expect("a missing count fails");
    assert!(
        error.to_string().contains("one document count per phrase"),
        "{error}"
    );
}

#[tokio::test]
async fn every_pooled_connection_has_the_function() {
    let (_db, pool) = pool().await;
    seed(&pool).await;
    // Hold several connections at once so the pool has to open new ones.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut connection = pool.acquire().await.unwrap();
        let rows: Vec<f64> = sqlx::query_scalar(
            "SELECT opsward_bm25(docs, 10) FROM docs WHERE docs MATCH '\"disk\"' LIMIT 3",
        )
        .fetch_all(&mut *connection)
        .await
        .unwrap();
        assert!(rows.iter().all(|s| *s < 0.0), "{rows:?}");
        held.push(connection);
    }
}
