//! bench/backlog: seed a large backlog on SQLite or PostgreSQL and time the queries the list
//! page, the search box and the aging report run, through the real `BacklogStore`.
//!
//! ```sh
//! cargo run --release -p opsward-backlog --example bench_backlog -- sqlite [ITEMS] [--keep FILE]
//! cargo run --release -p opsward-backlog --example bench_backlog -- postgres://postgres@127.0.0.1:5432/test [ITEMS] [--keep SCHEMA]
//! ```
//!
//! SQLite gets a fresh file in a temporary directory; PostgreSQL a fresh schema, dropped at
//! the end. With `--keep`, the SQLite file or the PostgreSQL schema is kept, and a later run
//! with the same `--keep` that finds the items already there skips seeding and only times the
//! queries (migrations added since still apply on connect); delete the file or drop the schema
//! by hand when done. Seeding writes the rows with multi-row INSERTs in batched transactions
//! (the FTS5 triggers and the generated `tsvector` run as for any insert); it skips the history
//! and audit rows, which no measured query reads. Prints each query kind's row of the Markdown
//! table as soon as it is measured, with the load average at that moment.

mod bm25;

use chrono::{DateTime, Duration, Utc};
use opsward_backlog::{aging::aging, BacklogStore, ItemFilter, ItemState, ItemType};
use opsward_core::{
    page::PageRequest,
    people::{PersonInput, TeamInput},
    Actor,
};
use opsward_store::{Database, Store, StoreSettings};
use sqlx::{Connection, QueryBuilder};
use std::{sync::Arc, time::Instant};

const TEAMS: i64 = 20;
const PEOPLE: i64 = 100;
const BATCH: usize = 2000;
const QUERIES: usize = 200;
const HOSTS: u64 = 5000;

const WORDS: &[&str] = &[
    "disk",
    "full",
    "database",
    "replica",
    "lag",
    "backup",
    "failed",
    "certificate",
    "expired",
    "login",
    "slow",
    "timeout",
    "printer",
    "queue",
    "stuck",
    "memory",
    "leak",
    "kernel",
    "panic",
    "network",
    "switch",
    "port",
    "flapping",
    "dns",
    "resolution",
    "vpn",
    "tunnel",
    "down",
    "email",
    "bounce",
    "storage",
    "quota",
    "exceeded",
    "cpu",
    "spike",
    "cron",
    "job",
    "missed",
    "firewall",
    "rule",
    "ldap",
    "sync",
    "error",
    "patch",
    "reboot",
    "pending",
    "license",
    "renewal",
    "monitoring",
    "alert",
    "noise",
    "raid",
    "degraded",
    "ups",
    "battery",
    "cluster",
    "failover",
    "webserver",
    "500",
    "api",
    "latency",
    "ticket",
    "invoice",
    "report",
    "export",
    "csv",
    "import",
    "wifi",
    "access",
    "point",
    "laptop",
    "docking",
    "station",
    "upgrade",
    "migration",
    "legacy",
    "java",
    "runtime",
    "python",
    "package",
    "mirror",
    "proxy",
    "cache",
    "invalidation",
    "session",
    "cookie",
    "sso",
    "saml",
    "token",
    "rotation",
    "secret",
    "vault",
    "audit",
    "log",
    "retention",
    "gdpr",
    "request",
    "supplier",
    "contract",
    "customer",
];

/// A small deterministic generator (SplitMix64): the same seed gives the same backlog.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// `n` words, the first of the list far more often than the last (roughly Zipf-like,
    /// as in real text).
    fn words(&mut self, n: usize) -> String {
        let len = WORDS.len() as u64;
        (0..n)
            .map(|_| WORDS[(self.below(len) * self.below(len) / len) as usize])
            .collect::<Vec<_>>()
            .join(" ")
    }
    /// One of 5,000 host names, the kind of rare word people search for.
    fn host(&mut self) -> String {
        format!("srv{:04}", self.below(HOSTS))
    }
}

struct Row {
    item_type: &'static str,
    title: String,
    description: String,
    state: &'static str,
    impact: i32,
    urgency: i32,
    team_id: Option<i64>,
    assignee: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
}

const STATES: &[(&str, u64)] = &[
    ("new", 15),
    ("triaged", 15),
    ("in_progress", 15),
    ("waiting_customer", 5),
    ("waiting_supplier", 5),
    ("waiting_change", 5),
    ("resolved", 15),
    ("closed", 25),
];
const TYPES: &[&str] = &["problem", "incident", "improvement", "risk"];

fn row(rng: &mut Rng, n: u64, teams: &[i64], people: &[i64], now: DateTime<Utc>) -> Row {
    let mut pick = rng.below(100);
    let state = STATES
        .iter()
        .find(|(_, w)| {
            if pick < *w {
                true
            } else {
                pick -= w;
                false
            }
        })
        .map_or("new", |(s, _)| *s);
    let created_at = now - Duration::minutes(rng.below(2 * 365 * 24 * 60) as i64);
    let age = (now - created_at).num_minutes().max(1) as u64;
    let updated_at = created_at + Duration::minutes(rng.below(age) as i64);
    let n_words = 4 + rng.below(6) as usize;
    let desc_words = 20 + rng.below(40) as usize;
    Row {
        item_type: TYPES[rng.below(4) as usize],
        title: format!("{} on {} #{n}", rng.words(n_words), rng.host()),
        description: format!("{} {}", rng.words(desc_words), rng.host()),
        state,
        impact: 1 + rng.below(3) as i32,
        urgency: 1 + rng.below(3) as i32,
        team_id: (rng.below(10) != 0).then(|| teams[rng.below(teams.len() as u64) as usize]),
        assignee: (rng.below(10) < 7).then(|| people[rng.below(people.len() as u64) as usize]),
        created_at,
        updated_at,
        resolved_at: matches!(state, "resolved" | "closed").then_some(updated_at),
    }
}

macro_rules! seed_fn {
    ($name:ident, $db:ty, $settle:literal) => {
        async fn $name(
            pool: &sqlx::Pool<$db>,
            total: u64,
            teams: &[i64],
            people: &[i64],
            now: DateTime<Utc>,
        ) -> sqlx::Result<()> {
            let mut rng = Rng(0x0b5e_55ed);
            let mut n = 0u64;
            while n < total {
                let rows: Vec<Row> = (0..BATCH as u64)
                    .take_while(|i| n + i < total)
                    .map(|i| row(&mut rng, n + i + 1, teams, people, now))
                    .collect();
                n += rows.len() as u64;
                let mut tx = pool.begin().await?;
                let mut q = QueryBuilder::<$db>::new(
                    "INSERT INTO backlog_items (item_type, title, description, state, impact, urgency, team_id, \
                     assignee_person_id, tags, asset_ids, created_at, updated_at, owned_at, resolved_at) ",
                );
                q.push_values(rows, |mut b, r| {
                    b.push_bind(r.item_type)
                        .push_bind(r.title)
                        .push_bind(r.description)
                        .push_bind(r.state)
                        .push_bind(r.impact)
                        .push_bind(r.urgency)
                        .push_bind(r.team_id)
                        .push_bind(r.assignee)
                        .push_bind(sqlx::types::Json(Vec::<String>::new()))
                        .push_bind(sqlx::types::Json(Vec::<i64>::new()))
                        .push_bind(r.created_at)
                        .push_bind(r.updated_at)
                        .push_bind(r.assignee.map(|_| r.updated_at))
                        .push_bind(r.resolved_at);
                });
                q.build().execute(&mut *tx).await?;
                tx.commit().await?;
                if n % 100_000 == 0 {
                    eprintln!("  seeded {n}");
                }
            }
            sqlx::query($settle).execute(pool).await?;
            Ok(())
        }
    };
}
seed_fn!(seed_sqlite, sqlx::Sqlite, "ANALYZE");
// VACUUM as autovacuum does after a bulk insert: the visibility map then lets the aging
// counts read their covering index alone, as they would in service.
seed_fn!(seed_postgres, sqlx::Postgres, "VACUUM ANALYZE");

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The 1-minute load average (Linux), to say how busy the machine was during a measurement.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Print one row of the table as soon as its queries ran.
fn report(what: &str, mut ms: Vec<f64>, rows: usize) {
    ms.sort_by(f64::total_cmp);
    if ms.is_empty() {
        println!("| {what} | 0 | - | - | - | - | {} |", load_average());
        return;
    }
    println!(
        "| {what} | {} | {:.1} | {:.1} | {:.1} | {rows} | {} |",
        ms.len(),
        percentile(&ms, 50.0),
        percentile(&ms, 99.0),
        ms[ms.len() - 1],
        load_average()
    );
}

async fn measure(
    backlog: &BacklogStore,
    teams: &[i64],
    now: DateTime<Utc>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = Rng(0x5ea7c4);
    let open = ["new", "triaged", "in_progress", "waiting_customer"];

    // The list page: state + type + team filters, oldest first, the first page of 50.
    let (mut ms, mut rows) = (Vec::new(), 0);
    for _ in 0..QUERIES {
        let filter = ItemFilter {
            state: Some(open[rng.below(4) as usize].parse::<ItemState>()?),
            item_type: Some(TYPES[rng.below(4) as usize].parse::<ItemType>()?),
            team_id: Some(teams[rng.below(teams.len() as u64) as usize]),
            ..Default::default()
        };
        let t = Instant::now();
        let page = backlog.list_items(&filter, PageRequest::first(50)).await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        rows += page.items.len();
    }
    report(
        "list: state + type + team, first page of 50",
        ms,
        rows / QUERIES,
    );

    // The same list, second page (cursor after the first).
    let (mut ms, mut rows) = (Vec::new(), 0);
    for _ in 0..QUERIES {
        let filter = ItemFilter {
            state: Some(open[rng.below(4) as usize].parse::<ItemState>()?),
            team_id: Some(teams[rng.below(teams.len() as u64) as usize]),
            ..Default::default()
        };
        let first = backlog.list_items(&filter, PageRequest::first(50)).await?;
        let Some(cursor) = first.next_cursor else {
            continue;
        };
        let t = Instant::now();
        let page = backlog
            .list_items(&filter, PageRequest::from_params(Some(50), Some(&cursor))?)
            .await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        rows += page.items.len();
    }
    let runs = ms.len().max(1);
    report("list: state + team, next page", ms, rows / runs);

    // The list page's search box, first page: a host name (rare word) with a state, and
    // two common words (the worst case: a large share of all items match).
    for (what, common) in [
        ("list: full-text host name + state, first page", false),
        ("list: full-text 2 common words + state, first page", true),
    ] {
        let (mut ms, mut rows) = (Vec::new(), 0);
        for _ in 0..QUERIES {
            let q = if common { rng.words(2) } else { rng.host() };
            let filter = ItemFilter {
                state: Some(open[rng.below(4) as usize].parse::<ItemState>()?),
                q: Some(q),
                ..Default::default()
            };
            let t = Instant::now();
            let page = backlog.list_items(&filter, PageRequest::first(50)).await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            rows += page.items.len();
        }
        report(what, ms, rows / QUERIES);
    }

    // Ranked search (best match first), as the API's search and the duplicate check use.
    for (what, common) in [
        ("search: host name + common word, ranked, top 20", false),
        ("search: 2 common words, ranked, top 20", true),
    ] {
        let (mut ms, mut rows) = (Vec::new(), 0);
        for _ in 0..QUERIES {
            let words = if common {
                rng.words(2)
            } else {
                format!("{} {}", rng.host(), rng.words(1))
            };
            let t = Instant::now();
            let found = backlog.search(&words, 20).await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            rows += found.len();
        }
        report(what, ms, rows / QUERIES);
    }

    // Duplicate suggestions when an item is filed: any word of a new title, top 5.
    let (mut ms, mut rows) = (Vec::new(), 0);
    for _ in 0..QUERIES {
        let title = format!("{} on {}", rng.words(5), rng.host());
        let t = Instant::now();
        let found = backlog.similar(&title, "").await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        rows += found.len();
    }
    report(
        "similar: new title (5 words + host), any word, top 5",
        ms,
        rows / QUERIES,
    );

    // The aging line of the list page: counts only, one aggregate.
    let (mut ms, mut rows) = (Vec::new(), 0);
    for _ in 0..3 {
        let t = Instant::now();
        let c = backlog.aging_counts(now, 14).await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        rows = c.open;
    }
    report(
        "aging counts in the database (the list page's aging line)",
        ms,
        rows,
    );

    // The aging report, as `GET /api/v1/backlog/aging` computes it: with its default of
    // 1,000 ids per list, and with the ids of every stale and every unowned open item; once
    // the old way, loading every item, for comparison.
    let (mut ms, mut rows) = (Vec::new(), 0);
    for _ in 0..1 {
        let t = Instant::now();
        let items = backlog.all_items().await?;
        let r = aging(&items, now, 14);
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        rows = r.open;
    }
    report(
        "aging report from every item (before: all_items + aging)",
        ms,
        rows,
    );
    for (what, ids_limit) in [
        (
            "aging report in the database, 1,000 ids per list (GET /api/v1/backlog/aging)",
            1000,
        ),
        (
            "aging report in the database, every id (?ids_limit=1000000)",
            usize::MAX,
        ),
    ] {
        let (mut ms, mut rows) = (Vec::new(), 0);
        for _ in 0..3 {
            let t = Instant::now();
            let r = backlog.aging_report(now, 14, ids_limit).await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            rows = r.open;
        }
        report(what, ms, rows);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut positional = Vec::new();
    let mut keep = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--keep" {
            keep = Some(
                args.next()
                    .ok_or("--keep needs a file (SQLite) or schema name")?,
            );
        } else {
            positional.push(arg);
        }
    }
    let target = positional
        .first()
        .cloned()
        .unwrap_or_else(|| "sqlite".into());
    let total: u64 = positional.get(1).map_or(Ok(1_000_000), |n| n.parse())?;
    let temp = tempfile::tempdir()?;
    let (url, schema) = if target == "sqlite" {
        let path = match &keep {
            Some(file) => std::path::PathBuf::from(file),
            None => temp.path().join("bench.db"),
        };
        (format!("sqlite:{}", path.display()), None)
    } else {
        let schema = keep
            .clone()
            .unwrap_or_else(|| format!("bench_backlog_{}", std::process::id()));
        if !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err("the schema name takes letters, digits and _ only".into());
        }
        let mut conn = sqlx::PgConnection::connect(&target).await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .execute(&mut conn)
            .await?;
        let sep = if target.contains('?') { '&' } else { '?' };
        (
            format!("{target}{sep}options=-c%20search_path%3D{schema}"),
            Some(schema),
        )
    };
    let result = run(&url, total).await;
    match (schema, &keep) {
        (Some(schema), None) => {
            let mut conn = sqlx::PgConnection::connect(&target).await?;
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&mut conn)
                .await?;
            eprintln!("dropped schema {schema}");
        }
        (_, Some(kept)) => eprintln!("kept {kept}"),
        (None, None) => {}
    }
    result
}

async fn run(url: &str, total: u64) -> Result<(), Box<dyn std::error::Error>> {
    let store: Arc<dyn Store> = opsward_store::connect(&StoreSettings::new(url)).await?;
    let present: i64 = match store.database() {
        Database::Sqlite(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM backlog_items")
                .fetch_one(&pool)
                .await?
        }
        Database::Postgres(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM backlog_items")
                .fetch_one(&pool)
                .await?
        }
    };
    let now = Utc::now();
    let seeded = if present == 0 {
        let t = Instant::now();
        let actor = Actor::system("bench");
        let mut people = Vec::new();
        for t in 0..TEAMS {
            store
                .create_team(
                    &actor,
                    &TeamInput {
                        name: format!("team-{t}"),
                        email: None,
                    },
                )
                .await?;
        }
        let teams = team_ids(store.as_ref()).await?;
        for p in 0..PEOPLE {
            let person = store
                .create_person(
                    &actor,
                    &PersonInput {
                        name: format!("Person {p}"),
                        email: format!("p{p}@example.com"),
                        team_id: Some(teams[(p % TEAMS) as usize]),
                    },
                )
                .await?;
            people.push(person.id);
        }
        match store.database() {
            Database::Sqlite(pool) => seed_sqlite(&pool, total, &teams, &people, now).await?,
            Database::Postgres(pool) => seed_postgres(&pool, total, &teams, &people, now).await?,
        }
        format!("seeded in {:.0} s", t.elapsed().as_secs_f64())
    } else if present as u64 == total {
        "kept from an earlier run, not seeded again".to_string()
    } else {
        return Err(format!("the kept database holds {present} items, not {total}").into());
    };
    let teams = team_ids(store.as_ref()).await?;
    println!(
        "\n{:?}, {total} items, {seeded}, load average {}\n",
        store.backend(),
        load_average()
    );
    println!("| query | runs | p50 ms | p99 ms | max ms | rows | load 1m |");
    println!("|---|---|---|---|---|---|---|");
    let backlog = BacklogStore::new(store.as_ref());
    measure(&backlog, &teams, now).await?;
    if let Database::Sqlite(pool) = store.database() {
        let agreement = bm25::compare(&backlog, &pool, &mut Rng(0xb325)).await?;
        println!("\nAgreement of opsward_bm25 with FTS5's bm25 on the same queries:\n");
        for line in agreement {
            println!("{line}");
        }
    }
    Ok(())
}

/// The bench's teams, in creation order.
async fn team_ids(store: &dyn Store) -> Result<Vec<i64>, Box<dyn std::error::Error>> {
    let sql = "SELECT id FROM teams WHERE name LIKE 'team-%' ORDER BY id";
    Ok(match store.database() {
        Database::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(&pool).await?,
        Database::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(&pool).await?,
    })
}
