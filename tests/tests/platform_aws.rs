//! The platform crate through the real AWS SDK against moto's server: vendor secrets from Secrets
//! Manager (redaction, errors, caching across rotation) and the DynamoDB run log (the `RunLog`
//! contract, TTL attributes, a missing table). `scripts/test.sh` starts moto and exports
//! `AWS_ENDPOINT_URL`; every test makes its own table and secrets, so they run in parallel.

mod runlog_contract;

use aws_sdk_dynamodb::types::AttributeValue;
use platform::runlog::{from_config, DynamoRunLog};
use platform::secrets::SecretStore;
use platform::{Config, Entry, RunLog, RunLogError, SecretError};
use std::collections::HashMap;
use std::sync::Arc;

use e2e::{create_runs_table as create_table, moto as aws};

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager
// ---------------------------------------------------------------------------------------------

async fn create_secret(sdk: &aws_config::SdkConfig, vendor: &str, text: &str) -> String {
    let name = format!("e2e/{}/{vendor}", uuid::Uuid::new_v4().simple());
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(&name)
        .secret_string(text)
        .send()
        .await
        .expect("create a secret in moto");
    name
}

async fn rotate_secret(sdk: &aws_config::SdkConfig, id: &str, text: &str) {
    aws_sdk_secretsmanager::Client::new(sdk)
        .put_secret_value()
        .secret_id(id)
        .secret_string(text)
        .send()
        .await
        .expect("put a new secret value");
}

/// A store reading only the given variables (never the process environment) and Secrets Manager.
fn secret_store(sdk: &aws_config::SdkConfig, vars: &[(&str, &str)]) -> SecretStore {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let config = Config::from_lookup(|k| map.get(k).cloned()).expect("config");
    SecretStore::with_lookup(&config, Some(sdk), |k| map.get(k).cloned())
}

#[tokio::test]
async fn vendor_secrets_are_read_from_secrets_manager_and_redacted() {
    let Some(sdk) = aws().await else { return };
    let namely = create_secret(
        &sdk,
        "namely",
        r#"{"company":"acme","token":"namely-tok-very-secret","expires_on":"2099-01-31"}"#,
    )
    .await;
    let lever = create_secret(
        &sdk,
        "lever",
        r#"{"api_key":"lever-key-very-secret","webhook_signature_tokens":["hired-tok","stage-tok"],"extra":1}"#,
    )
    .await;
    let lessonly = create_secret(&sdk, "lessonly", r#"{"subdomain":"acme","api_key":"lessonly-very-secret"}"#).await;
    let litmos = create_secret(&sdk, "litmos", r#"{"api_key":"litmos-very-secret","source":"acme-hr"}"#).await;
    let theorg = create_secret(&sdk, "theorg", r#"{"api_key":"theorg-very-secret"}"#).await;
    let store = secret_store(
        &sdk,
        &[
            ("NAMELY_SECRET_ID", &namely),
            ("LEVER_SECRET_ID", &lever),
            ("LESSONLY_SECRET_ID", &lessonly),
            ("LITMOS_SECRET_ID", &litmos),
            ("THEORG_SECRET_ID", &theorg),
        ],
    );

    let n = store.namely().await.expect("namely secret");
    assert_eq!(n.company, "acme");
    assert_eq!(n.token.expose(), "namely-tok-very-secret");
    assert_eq!(n.expires_on, Some("2099-01-31".parse().expect("date")));
    let l = store.lever().await.expect("lever secret");
    assert_eq!(l.api_key.expose(), "lever-key-very-secret");
    let tokens: Vec<&str> = l.webhook_signature_tokens.iter().map(|t| t.expose()).collect();
    assert_eq!(tokens, ["hired-tok", "stage-tok"]);
    assert_eq!(store.lessonly().await.expect("lessonly secret").subdomain, "acme");
    assert_eq!(store.litmos().await.expect("litmos secret").source, "acme-hr");
    assert_eq!(store.theorg().await.expect("theorg secret").api_key.expose(), "theorg-very-secret");

    let debug = format!("{n:?} {l:?}");
    assert!(debug.contains("acme") && debug.contains("[redacted]"), "{debug}");
    assert!(!debug.contains("very-secret") && !debug.contains("hired-tok"), "a secret leaked: {debug}");
}

#[tokio::test]
async fn a_missing_secret_is_a_permanent_error_naming_the_id() {
    let Some(sdk) = aws().await else { return };
    let id = format!("e2e/{}/does-not-exist", uuid::Uuid::new_v4().simple());
    let store = secret_store(&sdk, &[("LITMOS_SECRET_ID", &id)]);
    let err = store.litmos().await.expect_err("no such secret");
    assert!(
        matches!(&err, SecretError::SecretsManager { name: "litmos", id: got, reason, .. }
            if got == &id && reason.contains("no such secret")),
        "{err:?}"
    );
    assert!(!err.is_retryable(), "a person must fix the id: {err}");
    assert!(err.to_string().contains(&id), "{err}");
}

#[tokio::test]
async fn a_secret_scheduled_for_deletion_is_a_permanent_error() {
    let Some(sdk) = aws().await else { return };
    let id = create_secret(&sdk, "theorg", r#"{"api_key":"theorg-very-secret"}"#).await;
    aws_sdk_secretsmanager::Client::new(&sdk)
        .delete_secret()
        .secret_id(&id)
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("schedule deletion");
    let err = secret_store(&sdk, &[("THEORG_SECRET_ID", &id)]).theorg().await.expect_err("deleted secret");
    assert!(matches!(err, SecretError::SecretsManager { .. }), "{err:?}");
    assert!(!err.is_retryable(), "retrying will not restore a deleted secret: {err}");
    assert!(err.to_string().contains("deletion"), "{err}");
}

#[tokio::test]
async fn malformed_secrets_say_what_is_wrong_without_quoting_the_value() {
    let Some(sdk) = aws().await else { return };
    let broken = create_secret(&sdk, "theorg", r#"{"api_key": "theorg-very-secret""#).await;
    let wrong_type = create_secret(&sdk, "lessonly", r#"{"subdomain": 12, "api_key": "lessonly-very-secret"}"#).await;
    let missing = create_secret(&sdk, "litmos", r#"{"api_key": "litmos-very-secret"}"#).await;
    let store = secret_store(
        &sdk,
        &[("THEORG_SECRET_ID", &broken), ("LESSONLY_SECRET_ID", &wrong_type), ("LITMOS_SECRET_ID", &missing)],
    );

    let err = store.theorg().await.expect_err("not JSON");
    let text = format!("{err} {err:?}");
    assert!(matches!(err, SecretError::Malformed { .. }), "{err:?}");
    assert!(text.contains("not valid JSON") && text.contains(&broken), "{text}");
    assert!(!text.contains("very-secret"), "the secret leaked: {text}");
    assert!(!err.is_retryable());

    let err = store.lessonly().await.expect_err("wrong type");
    let text = format!("{err} {err:?}");
    assert!(text.contains("wrong type") && !text.contains("very-secret"), "{text}");
    let err = store.litmos().await.expect_err("missing field");
    assert!(err.to_string().contains("missing field `source`"), "{err}");
}

#[tokio::test]
async fn a_secrets_file_without_the_vendor_falls_back_to_secrets_manager_and_says_so() {
    let Some(sdk) = aws().await else { return };
    let dir = std::env::temp_dir().join(unique("secrets-file"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("secrets.json");
    std::fs::write(&file, r#"{"theorg": {"api_key": "from-file"}}"#).expect("write secrets file");
    let broken = create_secret(&sdk, "namely", r#"{"company": "acme", "token": "#).await;
    let store =
        secret_store(&sdk, &[("SECRETS_FILE", file.to_str().expect("utf-8 path")), ("NAMELY_SECRET_ID", &broken)]);
    assert_eq!(store.theorg().await.expect("from the file").api_key.expose(), "from-file");
    let err = store.namely().await.expect_err("malformed in Secrets Manager").to_string();
    assert!(err.contains("AWS Secrets Manager") && err.contains(&broken), "names where it came from: {err}");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_rotated_secret_is_picked_up_after_the_cache_ttl_or_invalidate() {
    let Some(sdk) = aws().await else { return };
    let id = create_secret(&sdk, "theorg", r#"{"api_key":"old-key"}"#).await;
    let cached = secret_store(&sdk, &[("THEORG_SECRET_ID", &id)]);
    let uncached = secret_store(&sdk, &[("THEORG_SECRET_ID", &id), ("SECRET_CACHE_SECONDS", "0")]);
    assert_eq!(cached.theorg().await.expect("read").api_key.expose(), "old-key");
    assert_eq!(uncached.theorg().await.expect("read").api_key.expose(), "old-key");

    rotate_secret(&sdk, &id, r#"{"api_key":"new-key"}"#).await;
    assert_eq!(cached.theorg().await.expect("read").api_key.expose(), "old-key", "cached within the TTL");
    assert_eq!(uncached.theorg().await.expect("read").api_key.expose(), "new-key", "no cache with a TTL of 0");
    cached.invalidate();
    assert_eq!(cached.theorg().await.expect("read").api_key.expose(), "new-key", "re-read after invalidate");
}

// ---------------------------------------------------------------------------------------------
// DynamoDB run log
// ---------------------------------------------------------------------------------------------

async fn dynamo_log(sdk: &aws_config::SdkConfig) -> (DynamoRunLog, String) {
    let table = create_table(sdk).await;
    (DynamoRunLog::new(sdk, &table, 90), table)
}

/// Every item of one partition, read raw.
async fn partition(sdk: &aws_config::SdkConfig, table: &str, pk: &str) -> Vec<HashMap<String, AttributeValue>> {
    aws_sdk_dynamodb::Client::new(sdk)
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()))
        .send()
        .await
        .expect("query")
        .items
        .unwrap_or_default()
}

fn expires_at(item: &HashMap<String, AttributeValue>) -> Option<i64> {
    item.get("expires_at").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn dynamo_runs_read_back_newest_first_by_job_and_limit() {
    let Some(sdk) = aws().await else { return };
    runlog_contract::runs(&dynamo_log(&sdk).await.0).await;
}

#[tokio::test]
async fn dynamo_outcomes_keep_their_order_and_history_runs_newest_first() {
    let Some(sdk) = aws().await else { return };
    runlog_contract::outcomes_and_history(&dynamo_log(&sdk).await.0).await;
}

#[tokio::test]
async fn dynamo_records_are_found_by_id_name_or_email() {
    let Some(sdk) = aws().await else { return };
    runlog_contract::find_records(&dynamo_log(&sdk).await.0).await;
}

#[tokio::test]
async fn dynamo_claims_are_exclusive_completable_releasable_and_expire() {
    let Some(sdk) = aws().await else { return };
    runlog_contract::claims(&dynamo_log(&sdk).await.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_concurrent_claims_give_one_winner() {
    let Some(sdk) = aws().await else { return };
    let (log, table) = dynamo_log(&sdk).await;
    // A second handle with its own client, like a second container.
    let other: Arc<dyn RunLog> = Arc::new(DynamoRunLog::new(&sdk, &table, 90));
    let log: Arc<dyn RunLog> = Arc::new(log);
    for _ in 0..3 {
        runlog_contract::concurrent_claims(vec![Arc::clone(&log), Arc::clone(&other)]).await;
    }
}

#[tokio::test]
async fn dynamo_checkpoints_round_trip() {
    let Some(sdk) = aws().await else { return };
    runlog_contract::checkpoints(&dynamo_log(&sdk).await.0).await;
}

#[tokio::test]
async fn dynamo_entries_insert_once_put_keeps_created_and_open_ones_list_oldest_first() {
    let Some(sdk) = aws().await else { return };
    runlog_contract::entries(&dynamo_log(&sdk).await.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_concurrent_entry_inserts_store_one() {
    let Some(sdk) = aws().await else { return };
    let (log, table) = dynamo_log(&sdk).await;
    let other: Arc<dyn RunLog> = Arc::new(DynamoRunLog::new(&sdk, &table, 90));
    let log: Arc<dyn RunLog> = Arc::new(log);
    for _ in 0..3 {
        runlog_contract::concurrent_entry_inserts(vec![Arc::clone(&log), Arc::clone(&other)]).await;
    }
}

/// Writes an open-index item by hand, as a write that stopped half-way would leave it.
async fn put_index_item(sdk: &aws_config::SdkConfig, table: &str, kind: &str, id: &str, written: &str) {
    aws_sdk_dynamodb::Client::new(sdk)
        .put_item()
        .table_name(table)
        .item("pk", AttributeValue::S(format!("OPEN#{kind}")))
        .item("sk", AttributeValue::S(id.to_string()))
        .item("updated_at", AttributeValue::N("0".into()))
        .item("written", AttributeValue::S(written.to_string()))
        .send()
        .await
        .expect("put an index item");
}

#[tokio::test]
async fn dynamo_entries_keep_an_index_of_open_ones_and_closed_ones_expire() {
    let Some(sdk) = aws().await else { return };
    let (log, table) = dynamo_log(&sdk).await;
    let kind = unique("hire");
    let index_ids = |items: Vec<HashMap<String, AttributeValue>>| {
        let mut ids: Vec<String> = items.iter().filter_map(|i| i.get("sk")?.as_s().ok().cloned()).collect();
        ids.sort();
        ids
    };
    let open = Entry::new(&kind, "opp-1", "queued", true, serde_json::json!({ "name": "Jane" }));
    let closed = Entry::new(&kind, "opp-2", "transferred", false, serde_json::json!({}));
    assert_eq!(log.insert_entry(&open).await.expect("insert"), None);
    assert_eq!(log.insert_entry(&closed).await.expect("insert"), None);
    assert_eq!(index_ids(partition(&sdk, &table, &format!("OPEN#{kind}")).await), ["opp-1"]);

    // Unfinished work never expires; finished work expires the retention after its last update.
    let item = |id: &str| {
        let pk = format!("ENTRY#{kind}#{id}");
        let sdk = &sdk;
        let table = &table;
        async move { partition(sdk, table, &pk).await.pop().expect("the entry item") }
    };
    assert_eq!(expires_at(&item("opp-1").await), None, "an open entry must not expire");
    let ninety_days = chrono::Duration::days(90).num_seconds();
    assert_eq!(expires_at(&item("opp-2").await), Some(closed.updated_at.timestamp() + ninety_days));
    assert!(partition(&sdk, &table, &format!("OPEN#{kind}")).await.iter().all(|i| expires_at(i).is_none()));

    // Closing removes the index item; an insert losing to a closed entry leaves none behind.
    log.put_entry(&Entry { open: false, state: "transferred".into(), ..open.clone() }).await.expect("close");
    assert!(partition(&sdk, &table, &format!("OPEN#{kind}")).await.is_empty());
    assert!(expires_at(&item("opp-1").await).is_some());
    let late = Entry::new(&kind, "opp-2", "queued", true, serde_json::json!({}));
    assert_eq!(log.insert_entry(&late).await.expect("insert").map(|e| e.open), Some(false));
    assert!(partition(&sdk, &table, &format!("OPEN#{kind}")).await.is_empty(), "no index item for a closed entry");

    // Index items a stopped write left behind are skipped; old ones are removed, young ones kept
    // (they may belong to a write still under way).
    let old_stamp =
        format!("{:020}", (chrono::Utc::now() - chrono::Duration::hours(1)).timestamp_nanos_opt().expect("ns"));
    let young_stamp = format!("{:020}", chrono::Utc::now().timestamp_nanos_opt().expect("ns"));
    put_index_item(&sdk, &table, &kind, "opp-1", &old_stamp).await;
    put_index_item(&sdk, &table, &kind, "opp-missing", &young_stamp).await;
    let still_open = Entry::new(&kind, "opp-3", "queued", true, serde_json::json!({}));
    log.put_entry(&still_open).await.expect("put");
    assert_eq!(log.open_entries(&kind, 10).await.expect("open entries"), vec![still_open.clone()]);
    assert_eq!(log.open_entries(&kind, 1).await.expect("limited past stale items"), vec![still_open]);
    assert_eq!(index_ids(partition(&sdk, &table, &format!("OPEN#{kind}")).await), ["opp-3", "opp-missing"]);
}

#[tokio::test]
async fn dynamo_items_expire_after_the_retention_but_checkpoints_do_not() {
    let Some(sdk) = aws().await else { return };
    let (log, table) = dynamo_log(&sdk).await;
    let mut run = platform::Run::start("litmos-sync", platform::Trigger::Schedule);
    run.finish(None);
    log.save_run(&run).await.expect("save run");
    let outcome = platform::Outcome {
        run_id: run.run_id.clone(),
        job: run.job.clone(),
        record_id: "42".into(),
        label: None,
        action: platform::Action::Created,
        detail: None,
        at: run.started_at,
    };
    log.record_outcomes(&[outcome]).await.expect("record");
    log.claim("hire-42", "a", chrono::Duration::minutes(5)).await.expect("claim");
    log.save_checkpoint("litmos-sync", "page-2").await.expect("checkpoint");

    let now = chrono::Utc::now().timestamp();
    let ninety_days = chrono::Duration::days(90).num_seconds();
    let mut items = Vec::new();
    for pk in [format!("RUN#{}", run.run_id), "RUNS".into(), format!("OUTCOMES#{}", run.run_id)] {
        items.extend(partition(&sdk, &table, &pk).await);
    }
    items.extend(partition(&sdk, &table, "RECORD#litmos-sync#42").await);
    items.extend(partition(&sdk, &table, "CLAIM#hire-42").await);
    assert_eq!(items.len(), 5, "run twice, outcome twice, claim once: {items:?}");
    for item in &items {
        let at = expires_at(item).unwrap_or_else(|| panic!("no numeric expires_at on {item:?}"));
        assert!((at - now - ninety_days).abs() < 120, "expires_at {at} is not 90 days ahead of {now}: {item:?}");
    }
    let checkpoint = partition(&sdk, &table, "CHECKPOINT#litmos-sync").await;
    assert_eq!(checkpoint.len(), 1);
    assert_eq!(expires_at(&checkpoint[0]), None, "a checkpoint must outlive the retention");
}

#[tokio::test]
async fn dynamo_a_missing_table_is_an_error_naming_it() {
    let Some(sdk) = aws().await else { return };
    let table = unique("no-such-runs-table");
    let log = DynamoRunLog::new(&sdk, &table, 90);
    let run = platform::Run::start("lessonly-sync", platform::Trigger::Manual);
    let errors = [
        log.save_run(&run).await.expect_err("save_run"),
        log.run(&run.run_id).await.expect_err("run"),
        log.latest_runs(None, 5).await.expect_err("latest_runs"),
        log.claim("k", "a", chrono::Duration::minutes(1)).await.expect_err("claim"),
        log.checkpoint("lessonly-sync").await.expect_err("checkpoint"),
        log.insert_entry(&Entry::new("hire", "opp-1", "queued", true, serde_json::json!({})))
            .await
            .expect_err("insert"),
        log.entry("hire", "opp-1").await.expect_err("entry"),
        log.open_entries("hire", 5).await.expect_err("open_entries"),
    ];
    for err in errors {
        assert!(matches!(&err, RunLogError::Dynamo { table: t, .. } if t == &table), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&table) && text.contains("RUNS_TABLE"), "{text}");
        assert!(!err.is_retryable(), "{text}");
    }
}

#[tokio::test]
async fn from_config_picks_dynamo_when_runs_table_is_set() {
    let Some(sdk) = aws().await else { return };
    let table = create_table(&sdk).await;
    let store = std::env::temp_dir().join(unique("runlog")).join("runs.sqlite3");
    let store_text = store.display().to_string();
    let vars = HashMap::from([("RUNS_TABLE", table.clone()), ("LOCAL_STORE_PATH", store_text)]);
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("config");

    let log = from_config(&config, Some(&sdk)).expect("dynamo run log");
    log.save_checkpoint("theorg-import", "page-7").await.expect("checkpoint");
    let items = partition(&sdk, &table, "CHECKPOINT#theorg-import").await;
    assert_eq!(items.len(), 1, "the checkpoint went to the table");
    assert!(!store.exists(), "no embedded file when RUNS_TABLE is set");

    let Err(err) = from_config(&config, None) else { panic!("RUNS_TABLE without an AWS configuration must fail") };
    assert!(err.to_string().contains(&table) && !err.is_retryable(), "{err}");

    let embedded = Config { runs_table: None, ..config };
    let log = from_config(&embedded, Some(&sdk)).expect("embedded run log");
    log.save_checkpoint("theorg-import", "page-8").await.expect("checkpoint");
    assert!(store.exists(), "the embedded file is used without RUNS_TABLE");
    assert_eq!(partition(&sdk, &table, "CHECKPOINT#theorg-import").await.len(), 1);
    if let Some(dir) = store.parent() {
        std::fs::remove_dir_all(dir).ok();
    }
}
