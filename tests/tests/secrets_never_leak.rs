//! Secrets never leak. Every flow runs with distinctive credentials — the vendor API keys and tokens
//! and Lever's webhook signature tokens — that the sandbox really authenticates with; then none of
//! them may appear in a log line (captured at `trace`, every crate), a run-log row, a vendor record
//! (Lever notes and tags, Namely profiles, learners, roles), a request other than the vendor's own
//! auth header, a function's answer or error, or what `hrctl` prints: the sync log CSV of
//! `hrctl export`, the runs table and a record's history.

use base64::Engine;
use e2e::evidence::{run_log_rows, Logs};
use platform::RunLog;
use sandbox::{lever_signed_delivery, Credentials, Fault, FaultRule, RecordedRequest, Sandbox, Tenant, TenantSpec};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::OnceLock;

/// `hrctl`'s output formats, compiled from the operator's own source: the CSV below is exactly what
/// `hrctl export` writes (the operator crate is a binary, so it cannot be a dependency).
#[allow(dead_code)]
#[path = "../../operator/src/print.rs"]
mod print;

/// Credentials no code or fixture could produce by chance, the same for every test of this binary
/// (they share the log capture). Each ends in its own random part, so a leak that cuts the front
/// off is still found.
fn credentials() -> &'static Credentials {
    static CREDENTIALS: OnceLock<Credentials> = OnceLock::new();
    CREDENTIALS.get_or_init(|| {
        let distinctive = |what: &str| format!("SeCrEt-{what}-{}", uuid::Uuid::new_v4().simple());
        Credentials {
            lever_api_key: distinctive("lever"),
            lever_signature_tokens: vec![distinctive("lever-webhook-hired"), distinctive("lever-webhook-stage")],
            namely_company: "acme".into(),
            namely_token: distinctive("namely"),
            lessonly_subdomain: "acme-sandbox".into(),
            lessonly_api_key: distinctive("lessonly"),
            litmos_api_key: distinctive("litmos"),
            litmos_source: "hr-integration-bundle".into(),
            theorg_api_key: distinctive("theorg"),
        }
    })
}

fn basic(user_and_password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_and_password))
}

/// Each secret, the random part of it, and the forms it takes on the wire (HTTP Basic encodes it).
fn needles() -> Vec<(String, String)> {
    let c = credentials();
    let mut secrets = vec![
        ("the Lever API key", c.lever_api_key.clone()),
        ("the Namely token", c.namely_token.clone()),
        ("the Lessonly API key", c.lessonly_api_key.clone()),
        ("the Litmos API key", c.litmos_api_key.clone()),
        ("The Org API key", c.theorg_api_key.clone()),
    ];
    for token in &c.lever_signature_tokens {
        secrets.push(("a Lever webhook signature token", token.clone()));
    }
    let mut out = Vec::new();
    for (what, value) in secrets {
        let random = value.rsplit('-').next().unwrap_or_default().to_string();
        out.push((what.to_string(), value));
        out.push((format!("the random part of {what}"), random));
    }
    out.push(("the Lever Basic credentials".into(), basic(&format!("{}:", c.lever_api_key))));
    out.push((
        "the Lessonly Basic credentials".into(),
        basic(&format!("{}:{}", c.lessonly_subdomain, c.lessonly_api_key)),
    ));
    out
}

/// Panics naming the secret and the place, with the text around it.
fn assert_no_secret(place: &str, text: &str) {
    for (what, needle) in needles() {
        if let Some(at) = text.find(&needle) {
            let start = text[..at].char_indices().rev().nth(200).map_or(0, |(i, _)| i);
            let end = (at + needle.len() + 200).min(text.len());
            let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
            panic!("{what} leaked into {place}: …{}…", &text[start..end]);
        }
    }
}

/// The header a vendor authenticates with, and its value for the distinctive credentials.
fn auth_header(vendor: &str) -> (&'static str, String) {
    let c = credentials();
    match vendor {
        "Lever" => ("authorization", basic(&format!("{}:", c.lever_api_key))),
        "Namely" => ("authorization", format!("Bearer {}", c.namely_token)),
        "Lessonly" => ("authorization", basic(&format!("{}:{}", c.lessonly_subdomain, c.lessonly_api_key))),
        "Litmos" => ("apikey", c.litmos_api_key.clone()),
        "The Org" => ("x-api-key", c.theorg_api_key.clone()),
        other => panic!("no vendor {other}"),
    }
}

/// One sandbox with the distinctive credentials, an embedded run log, and everything the flows
/// answered.
struct Harness {
    sb: Sandbox,
    dir: PathBuf,
    logs: Logs,
    /// Every answer and error of a handler, as text.
    said: std::sync::Mutex<Vec<String>>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn harness(employees: usize) -> Harness {
    let logs = Logs::capture();
    let spec = TenantSpec { seed: 31, employees, opportunities: 8, postings: 8 };
    let mut tenant = Tenant::generate(&spec);
    tenant.credentials = credentials().clone();
    let sb = Sandbox::start(tenant).await.expect("sandbox");
    let dir = std::env::temp_dir().join(format!("e2e-secrets-{}", uuid::Uuid::new_v4()));
    Harness { sb, dir, logs, said: Default::default() }
}

impl Harness {
    /// Deps on the sandbox; `overrides` replace variables of its environment (secrets included).
    fn deps(&self, overrides: &[(&str, &str)]) -> app::Deps {
        let mut overrides = overrides.to_vec();
        // The published rates would only make the test slow.
        overrides.extend([("NAMELY_RATE_LIMIT", "100/s"), ("LITMOS_RATE_LIMIT", "100/s,burst=20")]);
        e2e::sandbox_deps(&self.sb, &self.dir, &overrides).0
    }

    /// Keeps what a handler answered, or the error it failed with (as Lambda would report it).
    fn keep(&self, result: Result<Value, app::Error>) -> Value {
        let mut said = self.said.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(answer) => {
                said.push(answer.to_string());
                answer
            }
            Err(e) => {
                said.push(format!("{} {e} {e:?}", e.kind()));
                json!({"error": e.to_string()})
            }
        }
    }

    fn store(&self) -> PathBuf {
        self.dir.join("runs.sqlite3")
    }

    /// Proves the credentials were the ones used, then that they appear nowhere else.
    fn assert_nothing_leaked(&self, vendors: &[&str], extra: &[(&str, &str)]) {
        // The sandbox only answers 2xx to its credentials: each vendor accepted the distinctive ones.
        for vendor in vendors {
            let requests = self.requests(vendor);
            let (name, value) = auth_header(vendor);
            assert!(
                requests.iter().any(|r| (200..300).contains(&r.status)),
                "{vendor} never accepted the distinctive credentials"
            );
            for r in &requests {
                let sent = r.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
                assert_eq!(sent, Some(value.as_str()), "{vendor} {} {} was not sent the credentials", r.method, r.path);
            }
        }
        // Only in the vendor's own auth header: never in a URL, a body, another header or vendor.
        for vendor in ["Lever", "Namely", "Lessonly", "Litmos", "The Org"] {
            let (auth, own) = auth_header(vendor);
            for r in self.requests(vendor) {
                let place = format!("a request to {vendor} ({} {})", r.method, r.path);
                assert_no_secret(&place, &format!("{}?{}\n{}", r.path, r.query, r.body));
                for (k, v) in &r.headers {
                    let v = if k == auth { v.replace(&own, "") } else { v.clone() };
                    assert_no_secret(&format!("{place}, header {k}"), &v);
                }
            }
        }
        for answer in self.said.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            assert_no_secret("a function's answer or error", answer);
        }
        let data = [
            ("Lever (notes, tags, opportunities)", format!("{:?}", self.sb.lever_data())),
            ("Namely", format!("{:?}", self.sb.namely_data())),
            ("Lessonly", format!("{:?}", self.sb.lessonly_data())),
            ("Litmos", format!("{:?}", self.sb.litmos_data())),
            ("The Org", format!("{:?}", self.sb.theorg_data())),
        ];
        for (vendor, text) in data {
            assert_no_secret(&format!("the {vendor} data the functions wrote"), &text);
        }
        let rows = run_log_rows(&self.store());
        assert!(!rows.is_empty(), "nothing was recorded in the run log");
        for row in rows {
            assert_no_secret("the run log", &row);
        }
        for (place, text) in extra {
            assert_no_secret(place, text);
        }
        // The capture is live (vendor calls are logged at debug), and holds no secret.
        let logs = self.logs.text();
        assert!(logs.contains("\"vendor request\"") && logs.contains("\"level\":\"TRACE\""), "logs were not captured");
        for line in logs.lines() {
            assert_no_secret("a log line", line);
        }
    }

    fn requests(&self, vendor: &str) -> Vec<RecordedRequest> {
        match vendor {
            "Lever" => self.sb.lever.requests(),
            "Namely" => self.sb.namely.requests(),
            "Lessonly" => self.sb.lessonly.requests(),
            "Litmos" => self.sb.litmos.requests(),
            "The Org" => self.sb.theorg.requests(),
            other => panic!("no vendor {other}"),
        }
    }

    fn opportunity(&self, index: usize) -> Value {
        self.sb.lever_data().opportunities[index].clone()
    }

    /// Lever's `candidateHired` delivery for the `index`-th opportunity, signed with `token`, as the
    /// Function URL passes it.
    fn hired(&self, index: usize, token: &str) -> Value {
        let o = self.opportunity(index);
        let data = json!({"opportunityId": o["id"], "candidateId": o["id"], "contactId": o["contact"]});
        function_url_request(&lever_signed_delivery("candidateHired", data, token, sandbox::now_ms()))
    }
}

fn function_url_request(delivery: &Value) -> Value {
    json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "POST"}},
           "headers": {"content-type": "application/json"}, "isBase64Encoded": false, "body": delivery.to_string()})
}

#[tokio::test]
async fn the_hire_transfer_its_failure_notes_and_refused_deliveries_leak_no_secret() {
    let h = harness(12).await;
    let deps = h.deps(&[]);
    let settings = lever_hire_webhook::settings::HireSettings::from_lookup(|_| None).expect("settings");
    let tokens = credentials().lever_signature_tokens.clone();
    let call = |payload: Value| lever_hire_webhook::handle_with(&deps, &settings, payload);

    assert_eq!(h.keep(call(json!({"action": "verify"})).await)["ok"], true);
    // Both webhooks' tokens sign deliveries that are accepted: the distinctive tokens are in use.
    let answer = h.keep(call(h.hired(0, &tokens[0])).await);
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let o1 = h.opportunity(1);
    let archive = json!({"opportunityId": o1["id"], "toArchived": o1["archived"], "fromArchived": null});
    let answer = h.keep(
        call(function_url_request(&lever_signed_delivery(
            "candidateArchiveChange",
            archive,
            &tokens[1],
            sandbox::now_ms(),
        )))
        .await,
    );
    assert_eq!(answer["statusCode"], 200, "{answer}");
    for (i, o) in [0, 1].into_iter().map(|i| (i, h.opportunity(i))) {
        let tags = o["tags"].to_string();
        assert!(tags.contains("Successfully Transferred"), "opportunity {i}: {tags}");
    }

    // Refused deliveries: another webhook's token, a forged signature, none at all.
    let o4 = h.opportunity(4);
    let data = json!({"opportunityId": o4["id"]});
    let mut forged = lever_signed_delivery("candidateHired", data.clone(), &tokens[0], sandbox::now_ms());
    forged["signature"] = json!("ab".repeat(32));
    let mut unsigned = forged.clone();
    unsigned.as_object_mut().expect("object").remove("signature");
    let other = lever_signed_delivery("candidateHired", data, "not-one-of-ours", sandbox::now_ms());
    for delivery in [forged, unsigned, other] {
        assert_eq!(h.keep(call(function_url_request(&delivery)).await)["statusCode"], 401);
    }

    // A failure note: no email anywhere on the candidate.
    let id4 = o4["id"].as_str().expect("id").to_string();
    let contact = o4["contact"].clone();
    h.sb.with_lever(|d| {
        d.opportunity_mut(&id4).expect("opportunity")["emails"] = json!([]);
        d.contacts.iter_mut().filter(|c| c["id"] == contact).for_each(|c| c["emails"] = json!([]));
    });
    let answer = h.keep(call(h.hired(4, &tokens[0])).await);
    assert!(answer["body"].as_str().unwrap_or("").contains("failed"), "{answer}");

    // Namely refuses the token: the hire fails with a note saying how to make a new one.
    h.sb.namely.inject(FaultRule::new(Fault::Unauthorized));
    let answer = h.keep(call(h.hired(5, &tokens[0])).await);
    assert!(answer["body"].as_str().unwrap_or("").contains("personal access token"), "{answer}");
    assert_eq!(h.keep(call(json!({"action": "verify"})).await)["ok"], false);
    h.sb.namely.clear_faults();

    // Lever refuses the key: the sweep fails, a transfer by hand fails, verify says so.
    h.sb.lever.inject(FaultRule::new(Fault::Unauthorized));
    let sweep = h.keep(call(json!({"action": "retry-sweep"})).await);
    assert!(sweep["error"].as_str().is_some_and(|e| e.contains("401")), "{sweep}");
    let id2 = h.opportunity(2)["id"].clone();
    let transfer = h.keep(call(json!({"action": "transfer", "opportunity_id": id2})).await);
    assert_eq!(transfer["counts"]["failed"], 1, "{transfer}");
    assert_eq!(h.keep(call(json!({"action": "verify"})).await)["ok"], false);
    h.sb.lever.clear_faults();
    let sweep = h.keep(call(json!({"action": "retry-sweep"})).await);
    assert_eq!(sweep["status"], "succeeded", "{sweep}");

    let notes = h.sb.lever_data().notes;
    assert!(notes.len() >= 4, "success and failure notes were written: {notes:?}");
    h.assert_nothing_leaked(&["Lever", "Namely"], &[]);
}

/// Invokes lessonly-sync with its default settings and keeps the answer.
async fn lessonly(h: &Harness, deps: &app::Deps, event: Value) -> Value {
    let settings = lessonly_sync::settings::LessonlySettings::from_lookup(|_| None).expect("settings");
    h.keep(lessonly_sync::handle_with(deps, &settings, event).await)
}

#[tokio::test]
async fn the_lessonly_sync_its_failures_and_a_malformed_or_expired_secret_leak_no_secret() {
    let h = harness(14).await;
    let deps = h.deps(&[]);
    assert_eq!(lessonly(&h, &deps, json!({"action": "verify"})).await["ok"], true);
    let first = lessonly(&h, &deps, json!({"action": "sync", "trigger": "schedule", "initial": true})).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert!(first["counts"]["created"].as_u64().unwrap_or(0) > 0, "{first}");
    let plan = lessonly(&h, &deps, json!({"action": "sync", "dry_run": true})).await;
    assert_eq!(plan["dry_run"], true, "{plan}");

    // Lessonly refuses the key; then Namely refuses the token.
    h.sb.lessonly.inject(FaultRule::new(Fault::Unauthorized));
    let failed = lessonly(&h, &deps, json!({"action": "sync"})).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(lessonly(&h, &deps, json!({"action": "verify"})).await["ok"], false);
    h.sb.lessonly.clear_faults();
    h.sb.namely.inject(FaultRule::new(Fault::Unauthorized));
    let failed = lessonly(&h, &deps, json!({"action": "sync"})).await;
    assert!(failed["error"].as_str().is_some_and(|e| e.contains("personal access token")), "{failed}");
    h.sb.namely.clear_faults();

    // A token past its expires_on: every read of the secret warns, and the run records it.
    let c = credentials();
    let expired = json!({"company": c.namely_company, "token": c.namely_token, "expires_on": "2020-01-31"}).to_string();
    let expired_deps = h.deps(&[("NAMELY_SECRET_JSON", &expired)]);
    let warned = lessonly(&h, &expired_deps, json!({"action": "sync"})).await;
    assert!(warned.to_string().contains("expired on 2020-01-31"), "{warned}");

    // Secrets an admin pasted wrong: a field of the wrong type, JSON cut short.
    let wrong_type = json!({"subdomain": 12, "api_key": c.lessonly_api_key}).to_string();
    let cut_short = format!("{{\"subdomain\": \"acme-sandbox\", \"api_key\": \"{}\"", c.lessonly_api_key);
    for broken in [wrong_type, cut_short] {
        let broken_deps = h.deps(&[("LESSONLY_SECRET_JSON", &broken)]);
        let report = lessonly(&h, &broken_deps, json!({"action": "verify"})).await;
        assert!(report.to_string().contains("LESSONLY_SECRET_JSON"), "{report}");
        let failed = lessonly(&h, &broken_deps, json!({"action": "sync"})).await;
        assert_ne!(failed["status"], "succeeded", "{failed}");
    }
    h.assert_nothing_leaked(&["Namely", "Lessonly"], &[]);
}

#[tokio::test]
async fn the_litmos_sync_and_its_downloadable_sync_log_leak_no_secret() {
    let h = harness(30).await;
    let deps = h.deps(&[]);
    let settings = litmos_sync::settings::LitmosSettings::from_lookup(|_| None).expect("settings");
    let call = |payload: Value| litmos_sync::handle_with(&deps, &settings, payload);
    assert_eq!(h.keep(call(json!({"action": "verify"})).await)["ok"], true);
    // Litmos rejects some creates: those learners fail with Litmos's own words in the sync log.
    h.sb.litmos.inject(FaultRule::new(Fault::ServerError(400)).method("POST").times(3));
    let first = h.keep(call(json!({"action": "sync"})).await);
    assert_eq!(first["counts"]["failed"], 3, "{first}");
    assert!(first["counts"]["created"].as_u64().unwrap_or(0) > 0, "{first}");
    let first_run = first["run_id"].as_str().expect("run id").to_string();
    h.sb.litmos.clear_faults();
    // Then every Litmos call is refused, and then every Namely call.
    h.sb.litmos.inject(FaultRule::new(Fault::Unauthorized));
    assert_eq!(h.keep(call(json!({"action": "sync"})).await)["status"], "failed");
    assert_eq!(h.keep(call(json!({"action": "verify"})).await)["ok"], false);
    h.sb.litmos.clear_faults();
    h.sb.namely.inject(FaultRule::new(Fault::Unauthorized));
    assert_eq!(h.keep(call(json!({"action": "sync"})).await)["status"], "failed");
    h.sb.namely.clear_faults();
    let last = h.keep(call(json!({"action": "sync"})).await);
    assert_eq!(last["status"], "succeeded", "{last}");

    // The sync log as an admin downloads it (`hrctl export --run`), the runs table (`hrctl runs`)
    // and one learner's history (`hrctl history`).
    let runlog = platform::runlog::SqliteRunLog::open(&h.store()).expect("run log");
    let outcomes = runlog.run_outcomes(&first_run).await.expect("outcomes");
    let csv = print::outcomes_csv(&outcomes);
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows.len() > 10 && rows[0].starts_with("time,job,run_id"), "{csv}");
    assert_eq!(rows.iter().filter(|r| r.contains(",failed,")).count(), 3, "the rejected creates are in it: {csv}");
    let runs = print::runs_table(&runlog.latest_runs(None, 50).await.expect("runs"));
    let failed = outcomes.iter().find(|o| o.action == platform::Action::Failed).expect("a failed learner");
    let label = failed.label.clone().expect("a learner's name");
    let found = runlog.find_records(None, &label, 20).await.expect("find by name");
    let mut histories = Vec::new();
    for m in &found {
        histories.push((m, runlog.record_history(&m.job, &m.record_id, 20).await.expect("history")));
    }
    assert!(!histories.is_empty(), "{label} is found by name");
    let history = print::histories(None, &label, &histories);
    let extra =
        [("the exported sync log", csv.as_str()), ("hrctl runs", runs.as_str()), ("hrctl history", history.as_str())];
    h.assert_nothing_leaked(&["Namely", "Litmos"], &extra);
}

#[tokio::test]
async fn the_org_import_and_its_failures_leak_no_secret() {
    let h = harness(6).await;
    let deps = h.deps(&[]);
    let settings = theorg_import::settings::TheOrgSettings::from_lookup(|_| None).expect("settings");
    let call = |payload: Value| theorg_import::handle_with(&deps, &settings, payload);
    assert_eq!(h.keep(call(json!({"action": "verify"})).await)["ok"], true);
    let plan = h.keep(call(json!({"action": "sync", "dry_run": true})).await);
    assert_eq!(plan["dry_run"], true, "{plan}");
    // The Org refuses the key for a few creates, then for everything; then Lever refuses its key.
    h.sb.theorg.inject(FaultRule::new(Fault::Unauthorized).method("POST").times(2));
    let partial = h.keep(call(json!({"action": "sync"})).await);
    assert!(partial.to_string().contains("401"), "{partial}");
    h.sb.theorg.clear_faults();
    h.sb.theorg.inject(FaultRule::new(Fault::Unauthorized));
    assert_eq!(h.keep(call(json!({"action": "verify"})).await)["ok"], false);
    h.sb.theorg.clear_faults();
    h.sb.lever.inject(FaultRule::new(Fault::Unauthorized));
    assert_eq!(h.keep(call(json!({"action": "sync"})).await)["status"], "failed");
    h.sb.lever.clear_faults();
    let import = h.keep(call(json!({"action": "sync"})).await);
    assert_eq!(import["status"], "succeeded", "{import}");
    assert!(!h.sb.theorg_data().jobs.is_empty(), "roles were published");
    h.assert_nothing_leaked(&["Lever", "The Org"], &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_read_from_secrets_manager_leak_no_secret_even_in_the_aws_sdks_trace_logs() {
    let Some(aws) = e2e::moto().await else { return };
    let h = harness(8).await;
    // Each vendor's secret in Secrets Manager, as deployed; none inline.
    let mut env: std::collections::HashMap<String, String> = e2e::sandbox_env(&h.sb, &h.store()).into_iter().collect();
    for (variable, value) in h.sb.env_vars() {
        let Some(prefix) = variable.strip_suffix("_SECRET_JSON") else { continue };
        let name = format!("e2e/{}/{}", uuid::Uuid::new_v4().simple(), prefix.to_lowercase());
        let client = aws_sdk_secretsmanager::Client::new(&aws);
        client.create_secret().name(&name).secret_string(value).send().await.expect("create a secret in moto");
        env.insert(format!("{prefix}_SECRET_ID"), name);
        env.remove(&variable);
    }
    env.insert("NAMELY_RATE_LIMIT".into(), "100/s".into());
    let config = platform::Config::from_lookup(|k| env.get(k).cloned()).expect("config");
    let secrets = platform::SecretStore::with_lookup(&config, Some(&aws), |k| env.get(k).cloned());
    let runlog = std::sync::Arc::new(platform::runlog::SqliteRunLog::open(&config.local_store_path).expect("run log"));
    let deps = app::Deps::new(config, secrets, runlog).with_aws(Some(aws.clone()));

    let verify = || json!({"action": "verify"});
    let hire_settings = lever_hire_webhook::settings::HireSettings::from_lookup(|_| None).expect("settings");
    let checks = [
        h.keep(lever_hire_webhook::handle_with(&deps, &hire_settings, verify()).await),
        h.keep(lessonly_sync::handle(&deps, verify()).await),
        h.keep(litmos_sync::handle(&deps, verify()).await),
        h.keep(theorg_import::handle(&deps, verify()).await),
    ];
    for report in &checks {
        assert_eq!(report["ok"], true, "every secret came from Secrets Manager and worked: {report}");
    }
    let o = h.opportunity(0);
    let data = json!({"opportunityId": o["id"], "candidateId": o["id"], "contactId": o["contact"]});
    let token = &credentials().lever_signature_tokens[1];
    let delivery = function_url_request(&lever_signed_delivery("candidateHired", data, token, sandbox::now_ms()));
    let answer = h.keep(lever_hire_webhook::handle_with(&deps, &hire_settings, delivery).await);
    assert_eq!(answer["statusCode"], 200, "the signature token came from Secrets Manager: {answer}");
    let sdk_traced = h.logs.lines().iter().any(|l| l.contains("aws_smithy") && l.contains("\"level\":\"TRACE\""));
    assert!(sdk_traced, "the AWS SDK's trace logs were not captured");
    h.assert_nothing_leaked(&["Lever", "Namely", "Lessonly", "Litmos", "The Org"], &[]);
}

/// Info-level logs carry ids, counts and field names, never personal data. Every test of this binary
/// logs into the one capture, so the hire, the syncs and the imports above are checked too: no info
/// line may hold a candidate's or an employee's e-mail, phone number or full name.
#[tokio::test]
async fn info_level_logs_hold_no_personal_data() {
    let h = harness(12).await;
    let deps = h.deps(&[]);
    let settings = lever_hire_webhook::settings::HireSettings::from_lookup(|_| None).expect("settings");
    let call = |payload: Value| lever_hire_webhook::handle_with(&deps, &settings, payload);
    assert_eq!(h.keep(call(json!({"action": "verify"})).await)["ok"], true);
    let answer = h.keep(call(h.hired(0, &credentials().lever_signature_tokens[0])).await);
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let sync = lessonly(&h, &deps, json!({"action": "sync"})).await;
    assert_eq!(sync["status"], "succeeded", "{sync}");

    let mut personal: Vec<String> = Vec::new();
    for o in h.sb.lever_data().opportunities {
        personal.extend(o["name"].as_str().map(str::to_string));
        personal.extend(o["emails"].as_array().into_iter().flatten().filter_map(|e| e.as_str().map(str::to_string)));
        personal.extend(
            o["phones"].as_array().into_iter().flatten().filter_map(|p| p["value"].as_str().map(str::to_string)),
        );
    }
    for p in h.sb.namely_data().profiles {
        for key in ["email", "personal_email", "home_phone", "mobile_phone"] {
            personal.extend(p[key].as_str().filter(|v| !v.is_empty()).map(str::to_string));
        }
        if let (Some(first), Some(last)) = (p["first_name"].as_str(), p["last_name"].as_str()) {
            personal.push(format!("{first} {last}"));
        }
    }
    personal.retain(|v| v.len() >= 6);
    assert!(personal.len() > 20, "the tenant's personal data: {personal:?}");
    let info: Vec<String> = h.logs.lines().into_iter().filter(|l| l.contains("\"level\":\"INFO\"")).collect();
    assert!(info.iter().any(|l| l.contains("hire attempt finished")), "the hire logged at info");
    for value in &personal {
        if let Some(line) = info.iter().find(|l| l.contains(value.as_str())) {
            panic!("an info log line holds personal data ({value}): {line}");
        }
    }
}
