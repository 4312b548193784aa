//! Property tests: any direct-invocation event and any environment is read or refused with a reason
//! that says what to send or set, never a panic.

use app::{run_answer, warnings_message, OperatorEvent, SyncEvent};
use platform::{Config, RateSetting, Run, Trigger};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};
use std::collections::HashMap;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        3 => "[a-zA-Z0-9 _.,:/=-]{0,16}",
        1 => "[ \t\n\u{a0}]{0,4}",
        1 => ".{200,800}",
    ]
}

/// Any JSON value, at most three levels deep, keys including the event fields.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        3 => select(vec!["action", "trigger", "dry_run", "initial", "continue_only", "warnings", "opportunity_id"])
            .prop_map(String::from),
        1 => text(),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
        select(vec!["sync", "verify", "schedule", "manual"]).prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A sync or verify event with each field any value, or missing.
fn event() -> impl Strategy<Value = Value> {
    let field = |known: Vec<&'static str>| {
        prop::option::of(prop_oneof![
            select(known).prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
            json_value()
        ])
    };
    (
        field(vec!["sync", "verify", "Sync", "retry-sweep"]),
        field(vec!["schedule", "manual", "hourly"]),
        field(vec!["yes", "true"]),
        field(vec!["no"]),
        field(vec!["1"]),
    )
        .prop_map(|(action, trigger, dry_run, initial, continue_only)| {
            let mut event = serde_json::Map::new();
            for (key, value) in [
                ("action", action),
                ("trigger", trigger),
                ("dry_run", dry_run),
                ("initial", initial),
                ("continue_only", continue_only),
            ] {
                if let Some(value) = value {
                    event.insert(key.to_string(), value);
                }
            }
            Value::Object(event)
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_event_is_a_sync_a_verify_or_refused_with_what_to_send(payload in prop_oneof![event(), json_value()]) {
        let is_sync = payload.get("action").and_then(Value::as_str) == Some("sync");
        match SyncEvent::parse(&payload) {
            None => prop_assert!(!is_sync),
            Some(Ok(sync)) => {
                prop_assert!(is_sync);
                let trigger = payload.get("trigger").and_then(Value::as_str);
                prop_assert_eq!(sync.trigger == Trigger::Schedule, trigger == Some("schedule"));
                prop_assert_eq!(sync.dry_run, payload.get("dry_run") == Some(&Value::Bool(true)));
            }
            Some(Err(e)) => prop_assert!(e.to_string().contains("\"action\": \"sync\""), "{}", e),
        }
        match OperatorEvent::parse(&payload) {
            // serde also takes the tag from the first element of an array (`["verify"]`).
            Ok(OperatorEvent::Verify) => prop_assert!(payload.get("action").or(payload.get(0)).and_then(Value::as_str) == Some("verify"), "{}", payload),
            Err(e) => prop_assert!(e.to_string().contains("\"action\": \"verify\""), "{}", e),
        }
    }

    #[test]
    fn any_summary_gets_the_run_fields_and_its_warnings(summary in json_value(), error in prop::option::of(text()), dry_run in any::<bool>()) {
        let warnings = summary["warnings"].as_array().map_or(0, |w| w.iter().filter(|w| w.is_string()).count());
        match warnings_message(&summary) {
            None => prop_assert_eq!(warnings, 0),
            Some(message) => prop_assert!(warnings > 0 && message.matches("warning: ").count() >= warnings, "{}", message),
        }
        let run = Run::start("job", Trigger::Manual);
        let answer = run_answer(summary, &run, dry_run, error.as_deref());
        prop_assert_eq!(answer["run_id"].as_str(), Some(run.run_id.as_str()));
        prop_assert_eq!(answer["dry_run"].as_bool(), Some(dry_run));
        if let Some(error) = &error {
            prop_assert_eq!(answer["error"].as_str(), Some(error.as_str()));
        }
    }
}

/// Every variable the platform configuration reads.
const VARIABLES: &[&str] = &[
    "LEVER_API_URL",
    "NAMELY_API_URL",
    "LESSONLY_API_URL",
    "LITMOS_API_URL",
    "THEORG_API_URL",
    "LEVER_SECRET_ID",
    "SECRETS_FILE",
    "SECRET_CACHE_SECONDS",
    "RUNS_TABLE",
    "LOCAL_STORE_PATH",
    "RUN_LOG_RETENTION_DAYS",
    "LEVER_RATE_LIMIT",
    "NAMELY_RATE_LIMIT",
    "LESSONLY_RATE_LIMIT",
    "LITMOS_RATE_LIMIT",
    "THEORG_RATE_LIMIT",
    "RATE_LIMIT_SHARE",
    "HIRE_QUEUE_URL",
    "VENDOR_TIMEOUT_SECONDS",
    "AWS_LAMBDA_FUNCTION_NAME",
];

fn setting() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => select(vec![
            "http://127.0.0.1:1/", "https://x", "ftp://x", "10/s", "100/min,burst=5", "0/s", "5/h", "1/s,burst=0",
            "0", "1", "101", "4294967296", "18446744073709551616", "0.5", "901", "1e400", "NaN", "-1",
        ])
        .prop_map(String::from),
        1 => "[0-9]{1,3}/(s|min|m|second|minute|h)(,burst=[0-9]{1,3})?",
        1 => text(),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_environment_is_read_or_names_the_bad_variable(vars in prop::collection::hash_map(select(VARIABLES.to_vec()), setting(), 0..8)) {
        let vars: HashMap<&str, String> = vars;
        match Config::from_lookup(|name| vars.get(name).cloned()) {
            Ok(config) => {
                for url in [&config.lever_api_url, &config.namely_api_url, &config.lessonly_api_url, &config.litmos_api_url, &config.theorg_api_url] {
                    match url {
                        Ok(url) => prop_assert!(url.starts_with("http") && !url.ends_with('/'), "{}", url),
                        Err(e) => prop_assert!(e.name.ends_with("_API_URL") && !e.reason.is_empty(), "{}", e),
                    }
                }
                prop_assert!((1..=100).contains(&config.rate_limits.share));
                prop_assert!(config.vendor_timeout.is_none_or(|t| t.as_secs_f64() > 0.0 && t.as_secs_f64() <= 900.0));
            }
            Err(e) => {
                prop_assert!(VARIABLES.contains(&e.name), "{}", e.name);
                prop_assert!(!e.reason.is_empty());
            }
        }
    }

    #[test]
    fn any_rate_is_read_or_refused_with_an_example(text in setting()) {
        match text.parse::<RateSetting>() {
            Ok(rate) => prop_assert!(rate.count >= 1 && rate.burst.is_none_or(|b| b >= 1)),
            Err(e) => prop_assert!(e.contains(&format!("'{text}'")), "{}", e),
        }
    }
}

#[test]
fn a_sync_event_reads_its_options() {
    let event =
        SyncEvent::parse(&json!({"action": "sync", "trigger": "schedule", "continue_only": true})).unwrap().unwrap();
    assert_eq!((event.trigger, event.continue_only, event.initial), (Trigger::Schedule, true, false));
}
