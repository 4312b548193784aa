//! The `RunLog` contract on the embedded SQLite store, plus what only a file can do: two handles on
//! one file and reopening it. Needs no AWS.

mod runlog_contract;

use platform::runlog::{from_config, SqliteRunLog};
use platform::{Action, Claim, Config, Entry, Outcome, Run, RunLog, Trigger};
use std::path::PathBuf;
use std::sync::Arc;

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("runlog-sqlite-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// A store path one directory down, so `open` has to create the directory.
    fn store_path(&self) -> PathBuf {
        self.0.join("nested").join("runs.sqlite3")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn open(path: &std::path::Path) -> SqliteRunLog {
    SqliteRunLog::open(path).expect("open the embedded run log")
}

#[tokio::test]
async fn runs_read_back_newest_first_by_job_and_limit() {
    let dir = TempDir::new();
    runlog_contract::runs(&open(&dir.store_path())).await;
}

#[tokio::test]
async fn outcomes_keep_their_order_and_history_runs_newest_first() {
    let dir = TempDir::new();
    runlog_contract::outcomes_and_history(&open(&dir.store_path())).await;
}

#[tokio::test]
async fn records_are_found_by_id_name_or_email() {
    let dir = TempDir::new();
    runlog_contract::find_records(&open(&dir.store_path())).await;
}

#[tokio::test]
async fn claims_are_exclusive_completable_releasable_and_expire() {
    let dir = TempDir::new();
    runlog_contract::claims(&open(&dir.store_path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_through_two_handles_on_one_file_give_one_winner() {
    let dir = TempDir::new();
    let path = dir.store_path();
    let first: Arc<dyn RunLog> = Arc::new(open(&path));
    let second: Arc<dyn RunLog> = Arc::new(open(&path));
    for _ in 0..5 {
        runlog_contract::concurrent_claims(vec![Arc::clone(&first), Arc::clone(&second)]).await;
    }
}

#[tokio::test]
async fn checkpoints_round_trip() {
    let dir = TempDir::new();
    runlog_contract::checkpoints(&open(&dir.store_path())).await;
}

#[tokio::test]
async fn entries_insert_once_put_keeps_created_and_open_ones_list_oldest_first() {
    let dir = TempDir::new();
    runlog_contract::entries(&open(&dir.store_path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_entry_inserts_through_two_handles_on_one_file_store_one() {
    let dir = TempDir::new();
    let path = dir.store_path();
    let first: Arc<dyn RunLog> = Arc::new(open(&path));
    let second: Arc<dyn RunLog> = Arc::new(open(&path));
    for _ in 0..5 {
        runlog_contract::concurrent_entry_inserts(vec![Arc::clone(&first), Arc::clone(&second)]).await;
    }
}

#[tokio::test]
async fn reopening_the_file_keeps_everything() {
    let dir = TempDir::new();
    let path = dir.store_path();
    let mut run = Run::start("lessonly-sync", Trigger::Schedule);
    let outcome = Outcome {
        run_id: run.run_id.clone(),
        job: run.job.clone(),
        record_id: "42".into(),
        label: Some("Jane Doe".into()),
        action: Action::Created,
        detail: None,
        at: platform::runlog::now_ms(),
    };
    let entry = Entry::new("hire", "opp-42", "queued", true, serde_json::json!({ "name": "Jane Doe" }));
    {
        let log = open(&path);
        run.counts.add(Action::Created);
        run.finish(None);
        log.save_run(&run).await.expect("save run");
        log.record_outcomes(std::slice::from_ref(&outcome)).await.expect("record");
        assert_eq!(log.claim("hire-42", "a", chrono::Duration::minutes(5)).await.expect("claim"), Claim::Acquired);
        log.complete("hire-42", "a", Some("done")).await.expect("complete");
        log.save_checkpoint("lessonly-sync", "cursor-9").await.expect("checkpoint");
        assert_eq!(log.insert_entry(&entry).await.expect("insert entry"), None);
    }
    let log = open(&path);
    assert_eq!(log.run(&run.run_id).await.expect("run"), Some(run.clone()));
    assert_eq!(log.latest_runs(None, 5).await.expect("runs"), vec![run.clone()]);
    assert_eq!(log.run_outcomes(&run.run_id).await.expect("outcomes"), vec![outcome.clone()]);
    assert_eq!(log.record_history("lessonly-sync", "42", 5).await.expect("history"), vec![outcome]);
    assert_eq!(
        log.claim("hire-42", "b", chrono::Duration::minutes(5)).await.expect("claim"),
        Claim::Done { owner: "a".into(), result: Some("done".into()) }
    );
    assert_eq!(log.checkpoint("lessonly-sync").await.expect("checkpoint").as_deref(), Some("cursor-9"));
    assert_eq!(log.open_entries("hire", 5).await.expect("open entries"), vec![entry]);
}

#[tokio::test]
async fn from_config_without_runs_table_uses_the_file() {
    let dir = TempDir::new();
    let path = dir.store_path();
    let store = path.display().to_string();
    let config = Config::from_lookup(|k| (k == "LOCAL_STORE_PATH").then(|| store.clone())).expect("config");
    let log = from_config(&config, None).expect("embedded run log");
    log.save_checkpoint("theorg-import", "page-3").await.expect("checkpoint");
    assert!(path.exists(), "the store file is created at LOCAL_STORE_PATH");
    assert_eq!(open(&path).checkpoint("theorg-import").await.expect("checkpoint").as_deref(), Some("page-3"));
}

#[test]
fn an_unopenable_path_names_the_file() {
    let dir = TempDir::new();
    // A directory where the file should be.
    let path = dir.0.join("is-a-dir");
    std::fs::create_dir_all(&path).expect("mkdir");
    let err = SqliteRunLog::open(&path).err().expect("a directory is not a store");
    assert!(err.to_string().contains("is-a-dir"), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_sharded_map_round_trips_through_checkpoints_and_writes_only_changed_shards() {
    use platform::runlog::ShardedMap;
    let dir = TempDir::new();
    let log = open(&dir.store_path());
    let mut map: ShardedMap<String> = ShardedMap::load(&log, "links").await.unwrap();
    assert!(map.all().is_empty());
    for i in 0..200 {
        map.set(&format!("{i:x}-id"), format!("value-{i}"));
    }
    map.flush(&log).await.unwrap();
    let mut again: ShardedMap<String> = ShardedMap::load(&log, "links").await.unwrap();
    assert_eq!(again.all().len(), 200);
    assert_eq!(again.get("a-id").map(String::as_str), Some("value-10"));
    again.remove("a-id");
    again.set("b-id", "changed".into());
    again.flush(&log).await.unwrap();
    let third: ShardedMap<String> = ShardedMap::load(&log, "links").await.unwrap();
    assert_eq!(third.get("a-id"), None);
    assert_eq!(third.get("b-id").map(String::as_str), Some("changed"));
    assert_eq!(third.all().len(), 199);
    // Another map name is another map.
    let other: ShardedMap<String> = ShardedMap::load(&log, "roles").await.unwrap();
    assert!(other.all().is_empty());
}
