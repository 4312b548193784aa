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
            .process_group(0)
            .spawn()
            .expect("`cargo lambda` must be installed: run the README test command (scripts/test.sh)");
        let mut watch = Watch { child, port };
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
        // The watcher runs each function in a process group of its own: stop those first, then the
        // watcher's group (Ctrl-C, then SIGKILL if it has not exited within five seconds).
        let watcher = self.child.id();
        for pid in children_of(watcher) {
            // SAFETY: plain kill(2) on a process this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let group = i32::try_from(watcher).expect("pid fits in i32");
        // SAFETY: killpg(2) on the process group this test created with process_group(0).
        unsafe { libc::killpg(group, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // SAFETY: as above.
        unsafe { libc::killpg(group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
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
    let expected = [
        ("lever-hire-webhook", ["lever", "namely"]),
        ("lessonly-sync", ["namely", "lessonly"]),
        ("litmos-sync", ["namely", "litmos"]),
        ("theorg-import", ["lever", "theorg"]),
    ];
    for (function, vendor_names) in expected {
        let report = watch.invoke(function, json!({"action": "verify"})).await;
        assert_eq!(report["function"], function, "{report}");
        assert_eq!(report["ok"], true, "{function} did not verify: {report}");
        let seen = vendors(&report);
        for v in vendor_names {
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
        1_763_000_000_000,
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
