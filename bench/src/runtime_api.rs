//! A local Lambda runtime API (the endpoints a function's runtime loop polls in AWS), and a
//! function binary running as one Lambda container against it: started as its own process, timed
//! from process start to its first request for an invocation, invoked, and measured for peak RSS.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

/// How long an invocation may run (the deadline the runtime reports to the function).
const DEADLINE: Duration = Duration::from_secs(900);

struct Invocation {
    request_id: String,
    payload: Value,
}

#[derive(Default)]
struct Shared {
    /// When the function first asked for an invocation.
    first_next: Mutex<Option<Instant>>,
    /// Answers awaited, by request id: the response body, or the error body.
    waiting: Mutex<HashMap<String, oneshot::Sender<Result<Value, Value>>>>,
    /// Set when the function reported an initialisation error.
    init_error: Mutex<Option<String>>,
}

struct Api {
    shared: Arc<Shared>,
    invocations: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn next(State(api): State<Arc<Api>>) -> Response {
    lock(&api.shared.first_next).get_or_insert_with(Instant::now);
    let Some(invocation) = api.invocations.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + DEADLINE;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = value.parse() {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", invocation.request_id);
    set("lambda-runtime-deadline-ms", deadline.as_millis().to_string());
    set("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:000000000000:function:bench".into());
    set("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000".into());
    set("content-type", "application/json".into());
    (headers, invocation.payload.to_string()).into_response()
}

fn answer(api: &Api, id: &str, outcome: Result<Value, Value>) -> StatusCode {
    match lock(&api.shared.waiting).remove(id) {
        Some(sender) => {
            let _ = sender.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn body_json(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| json!(String::from_utf8_lossy(body)))
}

async fn response(State(api): State<Arc<Api>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answer(&api, &id, Ok(body_json(&body)))
}

async fn error(State(api): State<Arc<Api>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answer(&api, &id, Err(body_json(&body)))
}

async fn init_error(State(api): State<Arc<Api>>, body: Bytes) -> StatusCode {
    *lock(&api.shared.init_error) = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

/// One function binary running as a Lambda container against its own local runtime API.
pub struct Container {
    name: String,
    child: Child,
    shared: Arc<Shared>,
    invocations: mpsc::UnboundedSender<Invocation>,
    log: PathBuf,
    /// From process start to its first request for an invocation.
    pub ready: Duration,
}

impl Container {
    /// Starts `binary` with exactly `env` (nothing inherited but `PATH`), and waits until it asks
    /// for its first invocation.
    pub async fn start(
        binary: &std::path::Path,
        env: &HashMap<String, String>,
        log_dir: &std::path::Path,
    ) -> Result<Container, String> {
        let name = binary.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        let api = Arc::new(Api { shared: shared.clone(), invocations: tokio::sync::Mutex::new(receiver) });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        tokio::spawn(async move { axum::serve(listener, router).await });

        let log = log_dir.join(format!("{name}-{}.log", uuid::Uuid::new_v4().simple()));
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new(binary);
        command.env_clear().envs(env).stdin(Stdio::null()).stdout(out).stderr(err);
        if let Ok(path) = std::env::var("PATH") {
            command.env("PATH", path);
        }
        command
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench");
        let started = Instant::now();
        let child = command.spawn().map_err(|e| format!("could not start {}: {e}", binary.display()))?;
        let mut container = Container { name, child, shared, invocations: sender, log, ready: Duration::ZERO };
        let ready = loop {
            if let Some(at) = *lock(&container.shared.first_next) {
                break at;
            }
            if let Ok(Some(status)) = container.child.try_wait() {
                return Err(format!(
                    "{} exited before asking for an invocation ({status}): {}",
                    container.name,
                    container.log_tail()
                ));
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err(format!(
                    "{} did not ask for an invocation within 20 s: {}",
                    container.name,
                    container.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        container.ready = ready.saturating_duration_since(started);
        Ok(container)
    }

    /// Sends one invocation and waits for its answer; a function error comes back as `Err`.
    pub async fn invoke(&self, payload: Value) -> Result<Value, String> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (sender, receiver) = oneshot::channel();
        lock(&self.shared.waiting).insert(request_id.clone(), sender);
        self.invocations
            .send(Invocation { request_id, payload })
            .map_err(|_| format!("{} is no longer serving", self.name))?;
        match receiver.await {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(body)) => Err(format!("{} answered with an error: {body}", self.name)),
            Err(_) => Err(format!("{} never answered: {}", self.name, self.log_tail())),
        }
    }

    /// Peak resident set size of the function's process so far (VmHWM), in MB.
    pub fn peak_rss_mb(&self) -> f64 {
        peak_rss_mb(&format!("/proc/{}/status", self.child.id()))
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let init = lock(&self.shared.init_error).clone().unwrap_or_default();
        let tail: String = text.chars().rev().take(2000).collect::<Vec<_>>().into_iter().rev().collect();
        format!("{init}{tail}")
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// VmHWM of a `/proc/<pid>/status` file, in MB.
fn peak_rss_mb(status_file: &str) -> f64 {
    let status = std::fs::read_to_string(status_file).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Cold start of one function.
#[derive(Debug, Clone, Serialize)]
pub struct ColdStart {
    pub function: String,
    /// Process start to first request for an invocation, over several starts, in ms.
    pub ready_ms_median: f64,
    pub ready_ms_max: f64,
    pub starts: usize,
    /// Peak RSS of the process after one `verify` invocation against the sandbox, in MB.
    pub peak_rss_mb: f64,
    /// Size of the binary on disk, in MB.
    pub binary_mb: f64,
}

/// Starts each function several times against a small sandbox tenant: the time to ready each
/// time, then one `verify` invocation and the process's peak RSS.
pub async fn cold_starts(bin_dir: &std::path::Path) -> Result<Vec<ColdStart>, String> {
    const STARTS: usize = 7;
    let sb = sandbox::Sandbox::start(sandbox::Tenant::small()).await.map_err(|e| e.to_string())?;
    let dir = crate::binaries::TempDir::new("cold")?;
    let mut env: HashMap<String, String> = sb.env_vars().into_iter().collect();
    env.insert("LOCAL_STORE_PATH".into(), dir.path().join("runs.sqlite3").display().to_string());
    let mut rows = Vec::new();
    for function in crate::binaries::FUNCTIONS {
        let binary = bin_dir.join(function);
        let mut ready = Vec::new();
        let mut peak = 0.0;
        for start in 0..STARTS {
            let container = Container::start(&binary, &env, dir.path()).await?;
            ready.push(container.ready.as_secs_f64() * 1000.0);
            if start == 0 {
                let answer = container.invoke(json!({"action": "verify"})).await?;
                if answer["ok"] != true {
                    return Err(format!("{function} did not verify against the sandbox: {answer}"));
                }
                peak = container.peak_rss_mb();
            }
        }
        let binary_mb = std::fs::metadata(&binary).map(|m| m.len() as f64 / 1_048_576.0).unwrap_or(0.0);
        rows.push(ColdStart {
            function: function.to_string(),
            ready_ms_median: crate::figures::percentile(&mut ready, 0.5),
            ready_ms_max: crate::figures::percentile(&mut ready, 1.0),
            starts: STARTS,
            peak_rss_mb: peak,
            binary_mb,
        });
    }
    Ok(rows)
}

/// The cold starts as a table.
pub fn table(rows: &[ColdStart]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        return out;
    }
    let _ = writeln!(out, "cold start (release binary, local Lambda runtime API)");
    let _ = writeln!(
        out,
        "  {:<20} {:>12} {:>10} {:>14} {:>8}",
        "function", "ready p50", "ready max", "RSS (verify)", "binary"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "  {:<20} {:>9.1} ms {:>7.1} ms {:>11.1} MB {:>5.1} MB",
            r.function, r.ready_ms_median, r.ready_ms_max, r.peak_rss_mb, r.binary_mb
        );
    }
    out
}
