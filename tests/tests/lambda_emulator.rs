//! Every function under cargo-lambda's Lambda runtime emulator (`cargo lambda watch`), answering
//! `{"action": "verify"}` against the sandbox vendor APIs — the same binary and runtime loop that
//! runs in AWS Lambda.

use e2e::sandbox_env;
use sandbox::{Fault, FaultRule, Sandbox, Tenant};
use serde_json::{json, Value};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `cargo lambda watch`, killed with its whole process group on drop.
struct Watch {
    child: Child,
    port: u16,
    /// Everything the emulator and the functions it runs wrote to standard output (their logs, and
    /// the metric lines), copied through to this test's output as it comes.
    output: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Watch {
    fn start(env_file: &std::path::Path) -> Watch {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let child = Command::new("cargo")
            .args(["lambda", "watch", "--ignore-changes", "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string(), "--timeout", "600"])
            .arg("--env-file")
            .arg(env_file)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("`cargo lambda` must be installed: run the README test command (scripts/test.sh)");
        let mut child = child;
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        if let Some(stdout) = child.stdout.take() {
            let lines = output.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                    println!("{line}");
                    lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            });
        }
        let mut watch = Watch { child, port, output };
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = watch.child.try_wait() {
                panic!("cargo lambda watch exited ({status}) before serving: is cargo-lambda installed? (scripts/test.sh installs it)");
            }
            assert!(Instant::now() < deadline, "cargo lambda watch did not open port {port}");
            std::thread::sleep(Duration::from_millis(200));
        }
        watch
    }

    /// The metric lines (CloudWatch Embedded Metric Format) the functions wrote so far.
    fn metric_lines(&self) -> Vec<Value> {
        let lines = self.output.lock().unwrap_or_else(|e| e.into_inner()).clone();
        lines.iter().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|v| v.get("_aws").is_some()).collect()
    }

    /// `cargo lambda invoke`, as the README runs it, against this watch.
    fn invoke_with_cli(&self, function: &str, payload: &str) -> Value {
        let output = Command::new("cargo")
            .args(["lambda", "invoke", function, "--data-ascii", payload, "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &self.port.to_string()])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .output()
            .expect("`cargo lambda invoke` must run: scripts/test.sh installs cargo-lambda");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "cargo lambda invoke failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let json = stdout.lines().rev().find(|l| l.trim_start().starts_with('{')).unwrap_or_default();
        serde_json::from_str(json).unwrap_or_else(|e| panic!("cargo lambda invoke printed no JSON ({e}): {stdout}"))
    }

    /// A real HTTP POST to the function's URL as the emulator serves it.
    async fn post_to_function_url(&self, function: &str, body: &[u8]) -> (u16, Value) {
        let url = format!("http://127.0.0.1:{}/lambda-url/{function}/", self.port);
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .timeout(Duration::from_secs(600))
            .body(body.to_vec())
            .send()
            .await
            .expect("POST to the emulator's Function URL");
        let status = response.status().as_u16();
        let text = response.text().await.expect("the Function URL's answer");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn invoke(&self, function: &str, payload: Value) -> Value {
        let url = format!("http://127.0.0.1:{}/2015-03-31/functions/{function}/invocations", self.port);
        let response = reqwest::Client::new()
            .post(url)
            .timeout(Duration::from_secs(600))
            .json(&payload)
            .send()
            .await
            .expect("invoke through the emulator");
        let status = response.status();
        let body = response.text().await.expect("invoke body");
        assert!(status.is_success(), "{function} answered {status}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{function} answered non-JSON ({e}): {body}"))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        stop_process_group(&mut self.child);
    }
}

/// A `cargo run -p operator --bin hrctl -- …`, as the README runs it, killed with its group on drop.
struct Hrctl(Child);

impl Hrctl {
    fn spawn(args: &[&str]) -> Hrctl {
        let child = Command::new("cargo")
            .args(["run", "--quiet", "-p", "operator", "--bin", "hrctl", "--"])
            .args(args)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("cargo run hrctl");
        Hrctl(child)
    }

    /// Runs `hrctl args` to the end and returns its exit code and output.
    fn run(args: &[&str]) -> (Option<i32>, String) {
        let output = Command::new("cargo")
            .args(["run", "--quiet", "-p", "operator", "--bin", "hrctl", "--"])
            .args(args)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .env_remove("RUNS_TABLE")
            .output()
            .expect("cargo run hrctl");
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.code(), text)
    }
}

impl Drop for Hrctl {
    fn drop(&mut self) {
        stop_process_group(&mut self.0);
    }
}

/// Stops a child started with `process_group(0)`, and the processes it started.
fn stop_process_group(child: &mut Child) {
    // The watcher runs each function in a process group of its own: stop those first, then the
    // watcher's group (Ctrl-C, then SIGKILL if it has not exited within five seconds).
    let watcher = child.id();
    for pid in children_of(watcher) {
        // SAFETY: plain kill(2) on a process this test started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let group = i32::try_from(watcher).expect("pid fits in i32");
    // SAFETY: killpg(2) on the process group this test created with process_group(0).
    unsafe { libc::killpg(group, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: as above.
    unsafe { libc::killpg(group, libc::SIGKILL) };
    let _ = child.wait();
}

/// The pids whose parent is `parent`, read from /proc.
fn children_of(parent: u32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Fields after the parenthesised command name: state, ppid, ...
            let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            after.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) == Some(parent)
        })
        .collect()
}

fn vendors(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .map(|c| c.iter().map(|c| c["vendor"].as_str().unwrap_or("").to_lowercase()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_function_verifies_its_connections_under_the_lambda_emulator() {
    let sb = Sandbox::start(Tenant::small()).await.expect("sandbox");
    let dir = std::env::temp_dir().join(format!("e2e-watch-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let env_file = dir.join("env");
    let mut file = std::fs::File::create(&env_file).expect("env file");
    for (k, v) in sandbox_env(&sb, &dir.join("runs.sqlite")) {
        // Single quotes: the dotenv parser takes the JSON secrets literally.
        assert!(!v.contains('\''), "{k} cannot be written to a dotenv file");
        writeln!(file, "{k}='{v}'").expect("write env");
    }
    writeln!(file, "RUST_LOG=info").expect("write env");
    drop(file);

    let watch = Watch::start(&env_file);
    let expected: [(&str, &[&str]); 5] = [
        ("lever-hire-receiver", &["lever"]),
        ("lever-hire-webhook", &["lever", "namely"]),
        ("lessonly-sync", &["namely", "lessonly"]),
        ("litmos-sync", &["namely", "litmos"]),
        ("theorg-import", &["lever", "theorg"]),
    ];
    for (function, vendor_names) in expected {
        let report = watch.invoke(function, json!({"action": "verify"})).await;
        assert_eq!(report["function"], function, "{report}");
        assert_eq!(report["ok"], true, "{function} did not verify: {report}");
        let seen = vendors(&report);
        for v in vendor_names.iter().copied() {
            assert!(seen.iter().any(|s| s.replace(' ', "") == v), "{function} did not check {v}: {report}");
        }
    }
    // The checks are real calls: Namely's token owner was asked for, with the sandbox's token.
    let me_calls = sb.namely.requests().into_iter().filter(|r| r.path.ends_with("/profiles/me")).count();
    assert!(me_calls >= 3, "expected a GET /profiles/me per Namely-using function, saw {me_calls}");

    // A revoked Lessonly key is reported, naming the vendor, without failing the invocation.
    sb.lessonly.inject(FaultRule::new(Fault::Unauthorized).times(1));
    let report = watch.invoke("lessonly-sync", json!({"action": "verify"})).await;
    assert_eq!(report["ok"], false, "{report}");
    let lessonly = report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["vendor"].as_str().is_some_and(|v| v.eq_ignore_ascii_case("lessonly"))))
        .cloned()
        .unwrap_or_default();
    assert_eq!(lessonly["ok"], false, "{report}");
    let detail = lessonly["detail"].as_str().unwrap_or("").to_lowercase();
    assert!(
        detail.contains("key") || detail.contains("credential"),
        "detail should say the API key is wrong: {report}"
    );
    assert!(!report.to_string().contains(&sb.credentials.lessonly_api_key), "the report leaked the Lessonly key");

    // The Lessonly sync runs under the emulator too: a dry run plans, the sync applies, and a second
    // sync finds nothing to do.
    let plan = watch.invoke("lessonly-sync", json!({"action": "sync", "dry_run": true})).await;
    assert_eq!(plan["dry_run"], true, "{plan}");
    let planned = plan["counts"]["created"].as_u64().unwrap_or(0);
    assert!(planned > 0, "{plan}");
    let synced = watch.invoke("lessonly-sync", json!({"action": "sync", "trigger": "manual"})).await;
    assert_eq!(synced["status"], "succeeded", "{synced}");
    assert_eq!(synced["counts"]["created"].as_u64(), Some(planned), "{synced}");
    // The run's metric line, as CloudWatch reads it from the function's log: its counts, by job.
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let found = watch.metric_lines().into_iter().find(|m| m["run_id"] == synced["run_id"]);
        match found {
            Some(m) => break m,
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            None => panic!("no metric line for run {}: {:#?}", synced["run_id"], watch.metric_lines()),
        }
    };
    assert_eq!(metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"], platform::metrics::NAMESPACE, "{metrics}");
    assert_eq!(metrics["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Job"]]), "{metrics}");
    assert_eq!(metrics["Job"], "lessonly-sync", "{metrics}");
    for (metric, count) in [
        ("RecordsCreated", "created"),
        ("RecordsUpdated", "updated"),
        ("RecordsUnchanged", "unchanged"),
        ("RecordsSkipped", "skipped"),
        ("RecordsFailed", "failed"),
    ] {
        assert_eq!(metrics[metric], synced["counts"][count], "{metric}: {metrics} against {synced}");
    }
    assert_eq!((&metrics["RunSucceeded"], &metrics["RunFailed"]), (&json!(1), &json!(0)), "{metrics}");
    let again = watch.invoke("lessonly-sync", json!({"action": "sync"})).await;
    assert_eq!((again["counts"]["created"].as_u64(), again["counts"]["updated"].as_u64()), (Some(0), Some(0)));

    // And the Litmos sync: opted-in employees become learners; a re-run writes nothing.
    let litmos = watch.invoke("litmos-sync", json!({"action": "sync", "trigger": "manual"})).await;
    assert_eq!(litmos["status"], "succeeded", "{litmos}");
    assert!(litmos["counts"]["created"].as_u64().unwrap_or(0) > 0, "{litmos}");
    let writes = sb.litmos.requests().iter().filter(|r| r.method != "GET").count();
    let again = watch.invoke("litmos-sync", json!({"action": "sync"})).await;
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(sb.litmos.requests().iter().filter(|r| r.method != "GET").count(), writes);

    // And The Org import: the open roles are published; a re-import publishes nothing.
    let import = watch.invoke("theorg-import", json!({"action": "sync", "trigger": "manual"})).await;
    assert_eq!(import["status"], "succeeded", "{import}");
    assert!(import["roles"]["added"].as_u64().unwrap_or(0) > 0, "{import}");
    let again = watch.invoke("theorg-import", json!({"action": "sync"})).await;
    assert_eq!(again["roles"]["added"].as_u64().unwrap_or(9) + again["roles"]["updated"].as_u64().unwrap_or(9), 0);

    // An event the function does not understand is an error that says what to send.
    let url = format!("http://127.0.0.1:{}/2015-03-31/functions/theorg-import/invocations", watch.port);
    let body = reqwest::Client::new()
        .post(url)
        .json(&json!({"action": "explode"}))
        .send()
        .await
        .expect("invoke")
        .text()
        .await
        .expect("body");
    assert!(body.contains("verify"), "a bad event should be explained: {body}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Function URL request carrying a Lever delivery, as Lambda passes it in (payload format 2.0).
fn function_url_request(delivery: &Value) -> Value {
    json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "POST", "path": "/"}},
           "headers": {"content-type": "application/json", "user-agent": "Lever-Webhooks"},
           "isBase64Encoded": false, "body": delivery.to_string()})
}

/// The whole hire path through the real parts: the webhook binary under the emulator verifies a
/// signed `candidateHired`, records it in DynamoDB and queues it on SQS (both moto); the test then
/// plays SQS's event source mapping, handing the queued message to the same binary, which creates
/// the Namely profile and tags and notes the opportunity in Lever.
#[tokio::test(flavor = "multi_thread")]
async fn a_signed_hire_goes_through_the_queue_into_namely_under_the_lambda_emulator() {
    let Some(aws) = e2e::moto().await else { return };
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("hires-{}", uuid::Uuid::new_v4().simple()))
        .send()
        .await
        .expect("create the hire queue in moto")
        .queue_url
        .expect("queue url");
    let table = e2e::create_runs_table(&aws).await;

    let sb = Sandbox::start(Tenant::small()).await.expect("sandbox");
    let dir = std::env::temp_dir().join(format!("e2e-watch-hire-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let env_file = dir.join("env");
    let mut file = std::fs::File::create(&env_file).expect("env file");
    let mut env = sandbox_env(&sb, &dir.join("runs.sqlite"));
    for key in ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"] {
        env.push((key.into(), std::env::var(key).unwrap_or_else(|_| "us-east-1".into())));
    }
    env.push(("HIRE_QUEUE_URL".into(), queue_url.clone()));
    env.push(("RUNS_TABLE".into(), table.clone()));
    for (k, v) in env {
        assert!(!v.contains('\''), "{k} cannot be written to a dotenv file");
        writeln!(file, "{k}='{v}'").expect("write env");
    }
    writeln!(file, "RUST_LOG=info").expect("write env");
    drop(file);

    let opportunity = sb.lever_data().opportunities[0].clone();
    let id = opportunity["id"].as_str().unwrap().to_string();
    let email = opportunity["emails"][0].as_str().unwrap().to_string();
    let delivery = sandbox::lever_signed_delivery(
        "candidateHired",
        json!({"opportunityId": id, "candidateId": id, "contactId": opportunity["contact"]}),
        &sb.credentials.lever_signature_tokens[0],
        sandbox::now_ms(),
    );

    let watch = Watch::start(&env_file);
    let response = watch.invoke("lever-hire-webhook", function_url_request(&delivery)).await;
    assert_eq!(response["statusCode"], 202, "{response}");
    assert!(sb.namely.requests().iter().all(|r| r.method == "GET"), "the webhook itself must not write to Namely");

    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .wait_time_seconds(2)
        .send()
        .await
        .expect("receive from moto");
    let messages = received.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1, "one queued hire");
    let message = &messages[0];
    let receive_count = message
        .attributes
        .as_ref()
        .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount))
        .cloned()
        .unwrap_or_else(|| "1".into());
    let event = json!({"Records": [{
        "messageId": message.message_id, "receiptHandle": message.receipt_handle, "body": message.body,
        "attributes": {"ApproximateReceiveCount": receive_count}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:hires", "awsRegion": "us-east-1"}]});
    let batch = watch.invoke("lever-hire-webhook", event).await;
    assert_eq!(batch, json!({"batchItemFailures": []}));

    let namely = sb.namely_data();
    let profile = namely.profiles.iter().find(|p| p["email"] == email.as_str()).expect("a Namely profile");
    let namely_id = profile["id"].as_str().unwrap();
    let lever = sb.lever_data();
    let tags = lever.opportunities[0]["tags"].as_array().unwrap();
    assert!(tags.contains(&json!("Namely - Successfully Transferred")), "{tags:?}");
    let notes: Vec<&Value> = lever.notes.iter().filter(|n| n["opportunityId"] == id.as_str()).collect();
    assert_eq!(notes.len(), 1);
    assert!(notes[0]["value"].as_str().unwrap().contains(namely_id), "{}", notes[0]);

    // The hire's state is in DynamoDB: transferred, no longer open.
    let log = platform::runlog::DynamoRunLog::new(&aws, &table, 90);
    let entry = platform::RunLog::entry(&log, "hire", &id).await.expect("read entry").expect("entry");
    assert_eq!((entry.state.as_str(), entry.open), ("transferred", false), "{entry:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The README's local Lambda path, exactly as written: `hrctl sandbox --env-file`, `cargo lambda
/// watch --env-file`, `cargo lambda invoke … verify`, a real HTTP POST of the signed Lever delivery
/// to the watched Function URL, and `hrctl --env-file … runs` showing what the functions recorded.
#[tokio::test(flavor = "multi_thread")]
async fn the_readme_local_lambda_path_verifies_and_a_signed_delivery_posted_to_the_function_url_creates_the_profile() {
    let dir = std::env::temp_dir().join(format!("e2e-local-lambda-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let env_file = dir.join("sandbox.env");
    let env_arg = env_file.to_str().expect("utf-8 path");
    let _sandbox = Hrctl::spawn(&["sandbox", "--env-file", env_arg]);
    let delivery_file = dir.join("hire-delivery.json");
    let deadline = Instant::now() + Duration::from_secs(600);
    while !(env_file.exists() && delivery_file.exists()) {
        assert!(Instant::now() < deadline, "hrctl sandbox wrote no {} within the time allowed", env_file.display());
        std::thread::sleep(Duration::from_millis(200));
    }
    let env = std::fs::read_to_string(&env_file).expect("the env file");
    for key in ["LEVER_API_URL=", "NAMELY_API_URL=", "SECRETS_FILE=", "LOCAL_STORE_PATH="] {
        assert!(env.contains(key), "{key} missing from the env file:\n{env}");
    }
    assert!(!env.contains("SANDBOX-"), "credentials belong in the secrets file, not the env file:\n{env}");

    let watch = Watch::start(&env_file);
    let report = watch.invoke_with_cli("lessonly-sync", r#"{"action":"verify"}"#);
    assert_eq!(report["ok"], true, "verify under the emulator with the sandbox env: {report}");

    let delivery = std::fs::read(&delivery_file).expect("the signed delivery");
    let (status, answer) = watch.post_to_function_url("lever-hire-receiver", &delivery).await;
    assert_eq!(status, 200, "the webhook's own answer reaches the sender: {answer}");
    assert_eq!(answer["outcomes"][0]["action"], "created", "{answer}");
    let namely_id = answer["outcomes"][0]["namely_id"].as_str().expect("the new profile's id").to_string();

    // The profile is in the sandbox's Namely, read back through its API with the sandbox's token.
    let url = |k: &str| {
        env.lines().find_map(|l| l.strip_prefix(&format!("{k}="))).map(|v| v.trim_matches('\'').to_string()).unwrap()
    };
    let secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(url("SECRETS_FILE")).expect("secrets file")).expect("JSON");
    let namely = url("NAMELY_API_URL").replace("{company}", secrets["namely"]["company"].as_str().unwrap());
    let profile: Value = reqwest::Client::new()
        .get(format!("{namely}/profiles/{namely_id}"))
        .bearer_auth(secrets["namely"]["token"].as_str().unwrap())
        .send()
        .await
        .expect("GET the profile")
        .json()
        .await
        .expect("profile JSON");
    assert_eq!(profile["profiles"][0]["id"], namely_id.as_str(), "{profile}");

    // Delivered again (Lever's retry): answered, nothing done twice. Forged: 401, not a 500.
    let (status, again) = watch.post_to_function_url("lever-hire-receiver", &delivery).await;
    assert_eq!((status, again["status"].as_str()), (200, Some("already transferred")), "{again}");
    let mut forged: Value = serde_json::from_slice(&delivery).expect("delivery JSON");
    forged["signature"] = Value::from("00".repeat(32));
    let (status, refused) = watch.post_to_function_url("lever-hire-receiver", forged.to_string().as_bytes()).await;
    assert_eq!(status, 401, "{refused}");

    let (code, runs) = Hrctl::run(&["--env-file", env_arg, "runs"]);
    assert_eq!(code, Some(0), "{runs}");
    assert!(runs.contains(&format!("run log: embedded SQLite at {}", url("LOCAL_STORE_PATH"))), "{runs}");
    let hire_run = runs.lines().find(|l| l.contains("lever-hire-webhook ")).unwrap_or_else(|| panic!("{runs}"));
    assert!(hire_run.contains("webhook") && hire_run.contains("1 created"), "{runs}");
    assert!(runs.contains("lessonly-sync.verify"), "{runs}");
    let (_, history) =
        Hrctl::run(&["--env-file", env_arg, "history", "--record", answer["outcomes"][0]["label"].as_str().unwrap()]);
    assert!(history.contains(&namely_id), "the hire's history names its Namely profile: {history}");
    let _ = std::fs::remove_dir_all(&dir);
}
