//! The PostgreSQL session opsward asks for: JIT compilation off (its queries are short, and
//! compiling one whose cost PostgreSQL overestimates took 486 of the asset page's 516 ms),
//! unless the database URL's `options` choose.

use opsward_store::{connect, Database, StoreSettings};

async fn jit(url: &str) -> String {
    let store = connect(&StoreSettings::new(url)).await.unwrap();
    let Database::Postgres(pool) = store.database() else {
        panic!("a PostgreSQL store")
    };
    sqlx::query_scalar("SHOW jit")
        .fetch_one(&pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn jit_is_off_unless_the_url_chooses() {
    let url = opsward_testkit::fresh_postgres_schema().await;
    assert_eq!(jit(&url).await, "off");
    assert_eq!(jit(&format!("{url}%20-c%20jit%3Don")).await, "on");
}
