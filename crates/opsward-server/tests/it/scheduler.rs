//! Two server instances on one PostgreSQL database share the job queue: every job runs
//! exactly once.

use crate::TestApp;
use async_trait::async_trait;
use chrono::Utc;
use opsward_core::job::{Job, JobError, JobState, NewJob};
use opsward_server::{
    scheduler::{JobHandler, JobRegistry, SchedulerConfig},
    ServerConfig,
};
use opsward_testkit::TestDb;
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

/// Records which instance ran which job.
struct Recorder {
    instance: &'static str,
    runs: Arc<Mutex<Vec<(i64, &'static str)>>>,
}

#[async_trait]
impl JobHandler for Recorder {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.runs.lock().unwrap().push((job.id, self.instance));
        Ok(())
    }
}

/// Fails on the first attempt, succeeds on the second.
struct Flaky;

#[async_trait]
impl JobHandler for Flaky {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        if job.attempts == 1 {
            Err("first attempt fails".into())
        } else {
            Ok(())
        }
    }
}

fn config(instance: &str) -> ServerConfig {
    ServerConfig {
        scheduler: SchedulerConfig {
            instance_id: instance.into(),
            poll_interval: Duration::from_millis(20),
            concurrency: 4,
            retry_base: Duration::from_millis(50),
            ..SchedulerConfig::default()
        },
        ..ServerConfig::default()
    }
}

async fn instance(
    db_url: &str,
    name: &'static str,
    runs: &Arc<Mutex<Vec<(i64, &'static str)>>>,
) -> TestApp {
    let db = TestDb::open(db_url).await;
    let mut jobs = JobRegistry::for_server(&db.store, &config(name));
    jobs.register(
        "test.record",
        Recorder {
            instance: name,
            runs: runs.clone(),
        },
    );
    jobs.register("test.flaky", Flaky);
    TestApp::start_with(db, config(name), jobs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_run_each_job_once() {
    let url = opsward_testkit::fresh_postgres_schema().await;
    let runs = Arc::new(Mutex::new(Vec::new()));
    let a = instance(&url, "a", &runs).await;
    let b = instance(&url, "b", &runs).await;
    let store = a.db.store.clone();
    let total = 200;
    for i in 0..total {
        let job = NewJob {
            kind: "test.record".into(),
            payload: serde_json::json!({ "i": i }),
            run_at: Utc::now(),
            max_attempts: 3,
            dedupe_key: None,
        };
        store.enqueue_job(&job).await.unwrap();
    }
    store
        .enqueue_job(&NewJob {
            kind: "test.flaky".into(),
            payload: serde_json::json!({}),
            run_at: Utc::now(),
            max_attempts: 3,
            dedupe_key: None,
        })
        .await
        .unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let done = store
            .list_jobs(Some(JobState::Succeeded), 1000)
            .await
            .unwrap();
        if done.iter().filter(|j| j.kind.starts_with("test.")).count() == total + 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs did not finish in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.stop().await;
    b.stop().await;

    let runs = runs.lock().unwrap().clone();
    let mut ids: Vec<i64> = runs.iter().map(|(id, _)| *id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(runs.len(), total, "no job ran twice");
    assert_eq!(ids.len(), total, "every job ran");
    let by_a = runs.iter().filter(|(_, who)| *who == "a").count();
    assert!(
        by_a > 0 && by_a < total,
        "both instances took work (a ran {by_a} of {total})"
    );

    let flaky = store
        .list_jobs(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.kind == "test.flaky")
        .unwrap();
    assert_eq!(
        (flaky.state, flaky.attempts),
        (JobState::Succeeded, 2),
        "retried after backoff"
    );
    // The periodic housekeeping job exists once for this hour, however many servers run.
    let prune = store
        .list_jobs(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == "maintenance.prune_sessions")
        .count();
    assert_eq!(prune, 1);
}
