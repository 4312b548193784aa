//! Helpers shared by the end-to-end tests: sandbox-backed environments for the functions, and
//! moto's AWS emulator (started by `scripts/test.sh`, which exports `AWS_ENDPOINT_URL`).

pub mod evidence;

use platform::runlog::SqliteRunLog;
use platform::{Config, SecretStore};
use sandbox::Sandbox;
use std::collections::HashMap;
use std::sync::Arc;

/// The environment that points a function at the sandbox (URLs and inline `*_SECRET_JSON`
/// secrets), with the embedded run log at `store_path`.
pub fn sandbox_env(sb: &Sandbox, store_path: &std::path::Path) -> Vec<(String, String)> {
    let mut env = sb.env_vars();
    env.push(("LOCAL_STORE_PATH".into(), store_path.display().to_string()));
    env
}

/// Deps pointed at the sandbox, `overrides` set on top of its environment, with the embedded run log
/// in `dir`; the run log is returned too, to read what a run recorded.
pub fn sandbox_deps(sb: &Sandbox, dir: &std::path::Path, overrides: &[(&str, &str)]) -> (app::Deps, Arc<SqliteRunLog>) {
    let mut env: HashMap<String, String> = sandbox_env(sb, &dir.join("runs.sqlite3")).into_iter().collect();
    for (k, v) in overrides {
        env.insert(k.to_string(), v.to_string());
    }
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
    let secrets = SecretStore::with_lookup(&config, None, |k| env.get(k).cloned());
    let runlog = Arc::new(SqliteRunLog::open(&config.local_store_path).expect("run log"));
    (app::Deps::new(config, secrets, runlog.clone()), runlog)
}

/// The SDK configuration aimed at moto, or `None` when `E2E_SKIP_AWS=1` asks to skip.
pub async fn moto() -> Option<aws_config::SdkConfig> {
    if std::env::var("E2E_SKIP_AWS").as_deref() == Ok("1") {
        // CI runs everything: a skip there would hide a broken moto install behind a green run.
        assert!(std::env::var("CI").as_deref() != Ok("true"), "E2E_SKIP_AWS=1 is not allowed under CI=true");
        eprintln!("E2E_SKIP_AWS=1: skipping a test that needs moto");
        return None;
    }
    if std::env::var("AWS_ENDPOINT_URL").map_or(true, |v| v.trim().is_empty()) {
        panic!(
            "AWS_ENDPOINT_URL is not set: run scripts/test.sh, which starts moto's AWS emulator and exports it \
             (or set E2E_SKIP_AWS=1 to skip the AWS tests)"
        );
    }
    Some(platform::aws::sdk_config().await)
}

/// Creates a run log table as template.yaml declares it (pk/sk strings, TTL) and returns its name.
pub async fn create_runs_table(sdk: &aws_config::SdkConfig) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
    };
    let table = format!("runs-{}", uuid::Uuid::new_v4().simple());
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let key = |name: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
    let attr =
        |name: &str| AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build();
    client
        .create_table()
        .table_name(&table)
        .key_schema(key("pk", KeyType::Hash).expect("key"))
        .key_schema(key("sk", KeyType::Range).expect("key"))
        .attribute_definitions(attr("pk").expect("attribute"))
        .attribute_definitions(attr("sk").expect("attribute"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create the run log table in moto");
    client
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder().attribute_name("expires_at").enabled(true).build().expect("ttl"),
        )
        .send()
        .await
        .expect("enable TTL");
    table
}

/// Lets a held claim go as its lease running out would (a dead worker's, or one kept for a create whose
/// outcome is unknown): the next attempt comes only after it. Fails if nobody held `key`.
pub async fn lease_runs_out(runlog: &dyn platform::RunLog, key: &str) {
    let held = runlog.claim(key, "probe", chrono::Duration::minutes(1)).await.expect("claim");
    assert!(matches!(held, platform::Claim::InProgress { .. }), "the hire should still be held: {held:?}");
    runlog.release(key).await.expect("release");
}
