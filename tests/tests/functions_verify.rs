//! The functions' handlers called in-process, as Lambda calls them, against the sandbox vendor APIs:
//! the verify report, the run it records, and what each kind of misconfiguration says.

use app::Deps;
use platform::runlog::SqliteRunLog;
use platform::{Config, RunStatus, SecretStore};
use sandbox::{Sandbox, Tenant};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Deps pointed at the sandbox, with `overrides` applied to its environment (empty value = unset).
fn deps(sb: &Sandbox, overrides: &[(&str, &str)]) -> (Deps, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("e2e-verify-{}", uuid::Uuid::new_v4()));
    let mut env: HashMap<String, String> = e2e::sandbox_env(sb, &dir.join("runs.sqlite3")).into_iter().collect();
    for (k, v) in overrides {
        env.insert(k.to_string(), v.to_string());
    }
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
    let secrets = SecretStore::with_lookup(&config, None, |k| env.get(k).cloned());
    let runlog = SqliteRunLog::open(&config.local_store_path).expect("run log");
    (Deps::new(config, secrets, Arc::new(runlog)), dir)
}

async fn invoke(function: &str, deps: &Deps, payload: Value) -> Result<Value, app::Error> {
    match function {
        "lever-hire-webhook" => lever_hire_webhook::handle(deps, payload).await,
        "lessonly-sync" => lessonly_sync::handle(deps, payload).await,
        "litmos-sync" => litmos_sync::handle(deps, payload).await,
        "theorg-import" => theorg_import::handle(deps, payload).await,
        other => panic!("no function {other}"),
    }
}

fn check<'a>(report: &'a Value, vendor: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["vendor"] == vendor))
        .unwrap_or_else(|| panic!("no {vendor} check in {report}"))
}

#[tokio::test]
async fn each_function_verifies_exactly_its_own_vendors_and_records_the_check() {
    let sb = Sandbox::start(Tenant::small()).await.expect("sandbox");
    let (deps, dir) = deps(&sb, &[]);
    let expected = [
        ("lever-hire-webhook", vec!["Lever", "Namely"]),
        ("lessonly-sync", vec!["Namely", "Lessonly"]),
        ("litmos-sync", vec!["Namely", "Litmos"]),
        ("theorg-import", vec!["Lever", "The Org"]),
    ];
    for (function, vendors) in &expected {
        let report = invoke(function, &deps, json!({"action": "verify"})).await.expect("verify answers");
        assert_eq!(report["ok"], true, "{report}");
        let seen: Vec<&str> =
            report["checks"].as_array().unwrap().iter().map(|c| c["vendor"].as_str().unwrap()).collect();
        assert_eq!(&seen, vendors, "{function}");
    }
    // Each check is a real authenticated read on the vendor.
    assert!(sb.litmos.requests().iter().any(|r| r.path.contains("/users")), "Litmos was not called");
    assert!(!sb.theorg.requests().is_empty(), "The Org was not called");
    assert!(sb.lever.requests().iter().any(|r| r.path.contains("/postings")), "Lever postings were not read");

    let runs = deps.runlog.latest_runs(None, 10).await.expect("runs");
    assert_eq!(runs.len(), 4, "{runs:?}");
    assert!(runs.iter().all(|r| r.status == RunStatus::Succeeded && r.ended_at.is_some()), "{runs:?}");
    assert!(runs.iter().any(|r| r.job == "litmos-sync.verify"), "{runs:?}");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_wrong_namely_subdomain_is_explained_and_the_failed_check_is_recorded() {
    let sb = Sandbox::start(Tenant::small()).await.expect("sandbox");
    let token = sb.credentials.namely_token.clone();
    let secret = json!({"company": "acme-typo", "token": token}).to_string();
    let (deps, dir) = deps(&sb, &[("NAMELY_SECRET_JSON", &secret)]);
    let report = invoke("lessonly-sync", &deps, json!({"action": "verify"})).await.expect("verify answers");
    assert_eq!(report["ok"], false, "{report}");
    let namely = check(&report, "Namely");
    let detail = namely["detail"].as_str().unwrap().to_lowercase();
    assert!(detail.contains("html") || detail.contains("subdomain") || detail.contains("company"), "{report}");
    assert_eq!(check(&report, "Lessonly")["ok"], true, "the Lessonly check is independent: {report}");
    assert!(!report.to_string().contains(&token), "the report leaked the Namely token");

    let runs = deps.runlog.latest_runs(Some("lessonly-sync.verify"), 1).await.expect("runs");
    assert_eq!(runs[0].status, RunStatus::Failed);
    assert!(runs[0].message.as_deref().unwrap_or("").starts_with("Namely:"), "{:?}", runs[0].message);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_missing_secret_says_where_it_was_looked_for() {
    let sb = Sandbox::start(Tenant::small()).await.expect("sandbox");
    let (deps, dir) = deps(&sb, &[("LITMOS_SECRET_JSON", "")]);
    let report = invoke("litmos-sync", &deps, json!({"action": "verify"})).await.expect("verify answers");
    let litmos = check(&report, "Litmos");
    assert_eq!(litmos["ok"], false);
    assert!(litmos["detail"].as_str().unwrap().contains("LITMOS_SECRET_ID"), "{report}");
    assert_eq!(check(&report, "Namely")["ok"], true, "{report}");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_rotated_key_is_used_once_the_cache_expires() {
    let sb = Sandbox::start(Tenant::small()).await.expect("sandbox");
    let dir = std::env::temp_dir().join(format!("e2e-rotate-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let secrets_file = dir.join("secrets.json");
    let write = |key: &str| {
        std::fs::write(&secrets_file, json!({"theorg": {"api_key": key}}).to_string()).expect("write secrets file");
    };
    write("revoked-key");
    let file = secrets_file.display().to_string();
    let (deps, store_dir) =
        deps(&sb, &[("THEORG_SECRET_JSON", ""), ("SECRETS_FILE", &file), ("SECRET_CACHE_SECONDS", "0")]);
    let report = invoke("theorg-import", &deps, json!({"action": "verify"})).await.unwrap();
    assert_eq!(check(&report, "The Org")["ok"], false, "{report}");
    write(&sb.credentials.theorg_api_key);
    let report = invoke("theorg-import", &deps, json!({"action": "verify"})).await.unwrap();
    assert_eq!(check(&report, "The Org")["ok"], true, "the rotated key was not picked up: {report}");
    std::fs::remove_dir_all(dir).ok();
    std::fs::remove_dir_all(store_dir).ok();
}

#[tokio::test]
async fn unknown_events_are_refused_with_what_to_send() {
    let sb = Sandbox::start(Tenant::small()).await.expect("sandbox");
    let (deps, dir) = deps(&sb, &[]);
    for function in ["lessonly-sync", "litmos-sync", "theorg-import"] {
        let err = invoke(function, &deps, json!({"action": "explode"})).await.unwrap_err();
        assert_eq!(err.kind(), "BadEvent", "{function}: {err}");
        assert!(err.to_string().contains("verify") && err.to_string().contains("sync"), "{err}");
        let err = invoke(function, &deps, json!({"action": "sync", "trigger": "sometimes"})).await.unwrap_err();
        assert!(err.to_string().contains("sometimes"), "{err}");
    }
    let err = invoke("litmos-sync", &deps, json!({"hello": "world"})).await.unwrap_err();
    assert_eq!(err.kind(), "BadEvent", "{err}");

    // The webhook's own job exists: an empty delivery is refused as malformed, and nothing is called.
    let delivery = json!({"version": "2.0", "requestContext": {"http": {"method": "POST"}}, "body": "{}"});
    let answer = invoke("lever-hire-webhook", &deps, delivery).await.expect("webhook answers");
    assert_eq!(answer["statusCode"], 400, "{answer}");
    assert!(sb.namely.requests().is_empty() && sb.lever.requests().is_empty());
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_configured_rate_limit_reaches_the_vendor_client() {
    let sb = Sandbox::start(Tenant::small()).await.expect("sandbox");
    let (deps, dir) = deps(&sb, &[("THEORG_RATE_LIMIT", "2/s,burst=1")]);
    let client = deps.clients.theorg(&deps).await.expect("client");
    let described = format!("{client:?}");
    assert!(described.contains("PerSecond(2)") && described.contains("burst: 1"), "{described}");
    let lever = format!("{:?}", deps.clients.lever(&deps).await.expect("client"));
    assert!(lever.contains("PerSecond(10)") && lever.contains("burst: 20"), "the default stays: {lever}");
    assert!(!described.contains(&sb.credentials.theorg_api_key), "a client's Debug shows its key");
    std::fs::remove_dir_all(dir).ok();
}
