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
        let watch = Watch { child, port };
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
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
