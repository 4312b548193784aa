//! The hire burst: signed Lever deliveries to the webhook handler, many at a time, each verified,
//! recorded and sent to SQS before the 202, and the queue worked the way `template.yaml` deploys it:
//! the HireQueue event source mapping's batches, at most its maximum concurrency of containers at
//! once, failed items back on the queue. SQS is a local stand-in that speaks the SDK's protocol
//! (`awsJson1_0`), so the webhook's real `aws-sdk-sqs` client does the sending.

use crate::binaries::TempDir;
use crate::figures::{calls, percentile, throttles, Calls, LEVER_THROTTLES, NAMELY_THROTTLES};
use crate::Options;
use app::Deps;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use lever_hire_webhook::settings::HireSettings;
use lever_hire_webhook::transfer::{ENTRY_KIND, TRANSFERRED};
use platform::runlog::SqliteRunLog;
use platform::{Config, RunLog, SecretStore};
use sandbox::{lever_signed_delivery, RecordedRequest, Sandbox, Tenant, TenantSpec, VendorHandle};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// What one burst measured.
#[derive(Debug, Clone, Serialize)]
pub struct HireBurst {
    /// Signed `candidateHired` deliveries sent, one per hired opportunity.
    pub hires: usize,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Worker containers: the HireQueue event source mapping's maximum concurrency.
    pub workers: usize,
    /// The mapping's batch size.
    pub batch_size: usize,
    /// Time for the handler to answer a delivery (verify, record, send to SQS), ms.
    pub ack_p50_ms: f64,
    pub ack_p99_ms: f64,
    pub ack_max_ms: f64,
    /// From sending a delivery to Namely answering the `POST /profiles` that created its profile, s.
    pub profile_p50_s: f64,
    pub profile_p95_s: f64,
    /// Time to send every delivery (all acknowledged), s.
    pub send_s: f64,
    /// From the first delivery until the queue is empty and every worker has returned, s.
    pub wall_s: f64,
    /// Calls made, per vendor (reads are GETs).
    pub calls: BTreeMap<String, Calls>,
    /// Throttle answers, per vendor (Lever 429, Namely 406 or 429).
    pub throttles: BTreeMap<String, u64>,
    /// Worker invocations (SQS batches).
    pub batches: u64,
    /// Messages reported in `batchItemFailures` and put back on the queue (at once; in AWS after the
    /// queue's 720 s visibility timeout).
    pub retried_messages: u64,
    /// The hires' states in the run log once the queue is empty (`transferred` for each, normally).
    pub run_log_states: BTreeMap<String, u64>,
    /// The directory of the SQLite run log standing in for the DynamoDB table.
    pub run_log_dir: String,
    /// The calls made at the published limits (Lever 10/s; Namely 100/min on `GET /profiles`), the
    /// busier of the two, as the workers use both side by side: a lower bound, s.
    pub projected_real_s: f64,
}

/// Published limits, requests per second.
const LEVER_PER_S: f64 = 10.0;
const NAMELY_PROFILES_PER_S: f64 = 100.0 / 60.0;
/// The queue's `maxReceiveCount` in `template.yaml`: after that many receives SQS dead-letters it.
const MAX_RECEIVES: u32 = 10;
const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:hires";
/// How long the workers may take beyond the time the Lever calls need at their limit.
const DRAIN_GRACE: Duration = Duration::from_secs(120);

/// Runs the burst against a fresh sandbox and checks every hire became exactly one Namely profile.
pub async fn run(options: &Options) -> Result<HireBurst, String> {
    let (batch_size, workers) = (mapping_setting("BatchSize")?, mapping_setting("MaximumConcurrency")?);
    let share = worker_rate_share()?;
    let hires = options.hires.max(1);
    let spec = TenantSpec { seed: 42, employees: 200, opportunities: 2 * hires, postings: 50 };
    let sb = Sandbox::start(Tenant::generate(&spec)).await.map_err(|e| e.to_string())?;
    let people = hired_people(&sb, hires)?;

    let queue = Arc::new(Queue::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let sqs_url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let app = axum::Router::new().fallback(sqs_api).with_state(queue.clone());
    let sqs = tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = TempDir::new_in(&run_log_dir(), "hire")?;
    let env = environment(&sb, options, &dir, &sqs_url, share);
    let runlog = Arc::new(SqliteRunLog::open(&dir.path().join("runs.sqlite3")).map_err(|e| e.to_string())?);
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&sqs_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("testing", "testing", None, None, "bench"))
        .load()
        .await;
    // Every container has its own clients and limiters; all share the run log, as they share the table.
    let container = || -> Result<Arc<Deps>, String> {
        let config = Config::from_lookup(|k| env.get(k).cloned()).map_err(|e| e.to_string())?;
        let secrets = SecretStore::with_lookup(&config, None, |k| env.get(k).cloned());
        Ok(Arc::new(Deps::new(config, secrets, runlog.clone()).with_aws(Some(sdk.clone()))))
    };
    let settings = Arc::new(HireSettings::from_lookup(|_| None).map_err(|e| e.to_string())?);

    let started = Instant::now();
    let pollers: Vec<_> = (0..workers)
        .map(|_| container().map(|deps| tokio::spawn(poll(deps, settings.clone(), queue.clone(), batch_size))))
        .collect::<Result<_, _>>()?;
    let webhook = container()?;
    let token = sb.credentials.lever_signature_tokens.first().cloned().unwrap_or_default();
    let answers: Vec<Result<Delivered, tokio::task::JoinError>> = futures::stream::iter(people)
        .map(|hire| tokio::spawn(deliver(webhook.clone(), settings.clone(), token.clone(), hire)))
        .buffer_unordered(options.hire_concurrency.max(1))
        .collect()
        .await;
    let send_s = started.elapsed().as_secs_f64();
    let delivered: Vec<Delivered> = answers.into_iter().collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let refused: Vec<&Delivered> = delivered.iter().filter(|d| d.status != 202).collect();
    if let Some(first) = refused.first() {
        queue.stop();
        return Err(format!(
            "{} of {hires} deliveries were not answered 202 (queued); the first, {}: HTTP {} {}",
            refused.len(),
            first.opportunity_id,
            first.status,
            first.body
        ));
    }

    // The Lever calls at the sandbox's limit bound how long the workers can need.
    let deadline = Duration::from_secs_f64(hires as f64 * 20.0 / LEVER_PER_S) + DRAIN_GRACE;
    let drained = queue.drained(started + deadline).await;
    let wall_s = started.elapsed().as_secs_f64();
    queue.stop();
    for poller in pollers {
        poller.await.map_err(|e| e.to_string())?;
    }
    sqs.abort();
    if !drained {
        let dead = queue.dead();
        return Err(format!(
            "the queue did not drain in {:.0} s: {} messages waiting, {} dead-lettered after {MAX_RECEIVES} receives{}",
            wall_s,
            queue.waiting(),
            dead.len(),
            dead.first().map(|m| format!(" (first: {})", m.body)).unwrap_or_default()
        ));
    }

    let namely = sb.namely.requests();
    let created = profiles_created(&namely)?;
    check_one_profile_each(&sb, &delivered, &created)?;
    let (run_log_states, first_other) = run_log_states(runlog.as_ref(), &delivered).await;
    if let Some(other) = first_other {
        eprintln!("bench: hire: {other}");
    }
    let mut acks: Vec<f64> = delivered.iter().map(|d| d.ack.as_secs_f64() * 1000.0).collect();
    let mut to_profile: Vec<f64> = delivered
        .iter()
        .filter_map(|d| Some(created.get(&d.email)?.saturating_duration_since(d.sent_at).as_secs_f64()))
        .collect();
    let lever_requests = sb.lever.requests();
    let lever_calls = calls(&lever_requests);
    let limited_namely = namely.iter().filter(|r| r.method == "GET" && is_profiles_read(&r.path)).count();
    let projected_real_s = ((lever_calls.reads + lever_calls.writes) as f64 / LEVER_PER_S)
        .max(limited_namely as f64 / NAMELY_PROFILES_PER_S);
    let (batches, retried_messages) = queue.counts();
    Ok(HireBurst {
        hires,
        concurrency: options.hire_concurrency.max(1),
        workers,
        batch_size,
        ack_p50_ms: percentile(&mut acks, 0.50),
        ack_p99_ms: percentile(&mut acks, 0.99),
        ack_max_ms: percentile(&mut acks, 1.0),
        profile_p50_s: percentile(&mut to_profile, 0.50),
        profile_p95_s: percentile(&mut to_profile, 0.95),
        send_s,
        wall_s,
        calls: BTreeMap::from([("Lever".to_string(), lever_calls), ("Namely".to_string(), calls(&namely))]),
        throttles: BTreeMap::from([
            ("Lever".to_string(), throttles(&lever_requests, LEVER_THROTTLES)),
            ("Namely".to_string(), throttles(&namely, NAMELY_THROTTLES)),
        ]),
        batches,
        retried_messages,
        run_log_states,
        run_log_dir: dir.path().parent().map(|d| d.display().to_string()).unwrap_or_default(),
        projected_real_s,
    })
}

/// The first `n` hired opportunities of the sandbox's Lever.
fn hired_people(sb: &Sandbox, n: usize) -> Result<Vec<Hire>, String> {
    let lever = sb.lever_data();
    let hired: HashSet<String> = lever.hired_opportunity_ids().into_iter().collect();
    let people: Vec<Hire> = lever
        .opportunities
        .iter()
        .filter(|o| o["id"].as_str().is_some_and(|id| hired.contains(id)))
        .filter_map(|o| {
            Some(Hire {
                opportunity_id: o["id"].as_str()?.to_string(),
                contact: o["contact"].as_str()?.to_string(),
                email: o["emails"][0].as_str()?.to_lowercase(),
            })
        })
        .take(n)
        .collect();
    if people.len() < n {
        return Err(format!("the seeded tenant has {} hired opportunities with an email, not {n}", people.len()));
    }
    Ok(people)
}

/// The burst as a few lines.
pub fn table(burst: &HireBurst) -> String {
    let mut out = String::new();
    let b = burst;
    let _ = writeln!(
        out,
        "hire burst ({} hires, {} in flight, {} workers, batches of {})",
        b.hires, b.concurrency, b.workers, b.batch_size
    );
    let _ = writeln!(
        out,
        "  acknowledgement  p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 < 50 ms)",
        b.ack_p50_ms, b.ack_p99_ms, b.ack_max_ms
    );
    let _ = writeln!(out, "  to profile       p50 {:.1} s, p95 {:.1} s", b.profile_p50_s, b.profile_p95_s);
    let _ = writeln!(out, "  wall time        {:.1} s (every delivery acknowledged in {:.1} s)", b.wall_s, b.send_s);
    let calls: Vec<String> = b.calls.iter().map(|(v, c)| format!("{v} {}r/{}w", c.reads, c.writes)).collect();
    let _ = writeln!(out, "  calls made       {}", calls.join(", "));
    let throttles: Vec<String> = b.throttles.iter().map(|(v, n)| format!("{v} {n}")).collect();
    let _ = writeln!(out, "  throttle answers {}", throttles.join(", "));
    let _ = writeln!(out, "  queue            {} batches, {} messages retried", b.batches, b.retried_messages);
    let states: Vec<String> = b.run_log_states.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let _ = writeln!(out, "  run log          {} (SQLite in {})", states.join(", "), b.run_log_dir);
    let _ = writeln!(out, "  at real limits   {:.0} s ({:.1} min)", b.projected_real_s, b.projected_real_s / 60.0);
    out
}

/// A setting of the HireQueue event source mapping in `template.yaml`, so the bench works the
/// queue as deployed.
/// The worker function's `RATE_LIMIT_SHARE` in `template.yaml`.
fn worker_rate_share() -> Result<usize, String> {
    let template = include_str!("../../template.yaml");
    let worker = template.find("  LeverHireWebhookFunction:").ok_or("template.yaml has no LeverHireWebhookFunction")?;
    template[worker..]
        .lines()
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("   "))
        .find_map(|l| l.trim().strip_prefix("RATE_LIMIT_SHARE:")?.trim().trim_matches('"').parse().ok())
        .ok_or_else(|| "template.yaml's LeverHireWebhookFunction sets no RATE_LIMIT_SHARE".to_string())
}

fn mapping_setting(key: &str) -> Result<usize, String> {
    let template = include_str!("../../template.yaml");
    let lines: Vec<&str> = template.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let start = lines
        .windows(2)
        .position(|w| w[0].trim() == "HireQueue:" && w[1].trim() == "Type: SQS")
        .ok_or("template.yaml has no SQS event named HireQueue")?;
    lines[start + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent(l) > indent(lines[start]))
        .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix(':')?.trim().parse().ok())
        .ok_or_else(|| format!("template.yaml's HireQueue event sets no {key}"))
}

/// Where the run log goes: in memory where the system has it. The SQLite file stands in for the
/// DynamoDB table, and on disk every write waits for fsync under the store's one lock, which the
/// table does not (on this machine's disk that took the acknowledgement p99 from ~35 ms to ~170 ms).
fn run_log_dir() -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// The environment of every container: the sandbox, the run log, the queue and the limits.
fn environment(sb: &Sandbox, options: &Options, dir: &TempDir, sqs_url: &str, share: usize) -> HashMap<String, String> {
    let latency = (options.latency_ms > 0).then(|| Duration::from_millis(options.latency_ms));
    let namely = (100.0 * f64::from(options.rate_scale)).round() as u32;
    // Lever publishes a per-second limit, so it is not scaled; burst 1 as in the sync scenarios.
    let limits: [(&VendorHandle, &str, u32); 2] =
        [(&sb.namely, "NAMELY_RATE_LIMIT", namely), (&sb.lever, "LEVER_RATE_LIMIT", 600)];
    let mut env: HashMap<String, String> = sb.env_vars().into_iter().collect();
    env.insert("LOCAL_STORE_PATH".into(), dir.path().join("runs.sqlite3").display().to_string());
    env.insert("HIRE_QUEUE_URL".into(), format!("{sqs_url}/000000000000/hires"));
    // As the template sets it: each worker keeps to its share of every limit, the share counting every
    // container that may call the vendors at once (receivers, workers, the sweep, a run by hand).
    env.insert("RATE_LIMIT_SHARE".into(), share.to_string());
    for (handle, var, per_minute) in limits {
        handle.set_latency(latency);
        handle.set_rate_limit(Some(per_minute));
        env.insert(var.into(), format!("{per_minute}/min,burst=1"));
    }
    env
}

/// A hired opportunity and the email its Namely profile gets.
struct Hire {
    opportunity_id: String,
    contact: String,
    email: String,
}

/// One delivery and how the handler answered it.
struct Delivered {
    opportunity_id: String,
    email: String,
    sent_at: Instant,
    ack: Duration,
    status: u16,
    body: String,
}

/// POSTs one signed `candidateHired` delivery to the Function URL, as Lever does.
async fn deliver(deps: Arc<Deps>, settings: Arc<HireSettings>, token: String, hire: Hire) -> Delivered {
    let Hire { opportunity_id, contact, email } = hire;
    let data = json!({"opportunityId": opportunity_id, "candidateId": opportunity_id, "contactId": contact});
    let triggered_at = sandbox::now_ms();
    let delivery = lever_signed_delivery("candidateHired", data, &token, triggered_at);
    let event = json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "POST"}},
                       "headers": {"content-type": "application/json", "user-agent": "Lever-Webhooks"},
                       "isBase64Encoded": false, "body": delivery.to_string()});
    let sent_at = Instant::now();
    let answer = lever_hire_webhook::handle_with(&deps, &settings, event).await;
    let ack = sent_at.elapsed();
    let (status, body) = match answer {
        Ok(a) => (a["statusCode"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(0), a["body"].to_string()),
        Err(e) => (0, e.to_string()),
    };
    Delivered { opportunity_id, email, sent_at, ack, status, body }
}

/// One container of the event source mapping: takes up to a batch of visible messages, invokes the
/// handler with them, and puts the items it reports as failed back on the queue.
async fn poll(deps: Arc<Deps>, settings: Arc<HireSettings>, queue: Arc<Queue>, batch_size: usize) {
    while !queue.stopped() {
        let batch = queue.take(batch_size);
        if batch.is_empty() {
            // Woken by a send; the timeout only guards against a missed wake-up.
            let _ = tokio::time::timeout(Duration::from_millis(20), queue.arrived.notified()).await;
            continue;
        }
        let records: Vec<Value> = batch
            .iter()
            .map(|m| {
                json!({"messageId": m.id, "receiptHandle": m.id, "body": m.body, "eventSource": "aws:sqs",
                       "eventSourceARN": QUEUE_ARN, "awsRegion": "us-east-1", "messageAttributes": {},
                       "attributes": {"ApproximateReceiveCount": m.receives.to_string(),
                                      "SentTimestamp": m.sent_at_ms.to_string()}})
            })
            .collect();
        let failed: HashSet<String> =
            match lever_hire_webhook::handle_with(&deps, &settings, json!({"Records": records})).await {
                Ok(answer) => answer["batchItemFailures"]
                    .as_array()
                    .map(|f| f.iter().filter_map(|i| i["itemIdentifier"].as_str().map(str::to_string)).collect())
                    .unwrap_or_default(),
                // A failed invocation returns the whole batch.
                Err(_) => batch.iter().map(|m| m.id.clone()).collect(),
            };
        queue.settle(batch, &failed);
    }
}

/// A message on the stand-in queue.
#[derive(Clone)]
struct Message {
    id: String,
    body: String,
    sent_at_ms: u64,
    /// Receives so far (SQS's `ApproximateReceiveCount`).
    receives: u32,
}

/// The stand-in SQS queue: visible messages, those handed to a worker, and the dead letters.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    arrived: Notify,
}

#[derive(Default)]
struct QueueState {
    visible: VecDeque<Message>,
    in_flight: usize,
    dead: Vec<Message>,
    batches: u64,
    retried: u64,
    stopped: bool,
}

impl Queue {
    fn state(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, body: String) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let message = Message { id: id.clone(), body, sent_at_ms: sandbox::now_ms(), receives: 0 };
        self.state().visible.push_back(message);
        self.arrived.notify_one();
        id
    }

    fn take(&self, max: usize) -> Vec<Message> {
        let mut state = self.state();
        let n = state.visible.len().min(max);
        let mut batch: Vec<Message> = state.visible.drain(..n).collect();
        if !batch.is_empty() {
            state.in_flight += batch.len();
            state.batches += 1;
        }
        for m in &mut batch {
            m.receives += 1;
        }
        batch
    }

    /// Deletes the batch's messages, but for the failed ones: visible again, or dead-lettered.
    // In AWS a failed item is visible again after the visibility timeout (720 s); here at once.
    fn settle(&self, batch: Vec<Message>, failed: &HashSet<String>) {
        let mut state = self.state();
        state.in_flight -= batch.len();
        for m in batch.into_iter().filter(|m| failed.contains(&m.id)) {
            if m.receives >= MAX_RECEIVES {
                state.dead.push(m);
            } else {
                state.retried += 1;
                state.visible.push_back(m);
            }
        }
        drop(state);
        self.arrived.notify_one();
    }

    /// Waits until no message is left, visible or with a worker; false at the deadline or when one
    /// is dead-lettered.
    async fn drained(&self, deadline: Instant) -> bool {
        loop {
            {
                let state = self.state();
                if state.visible.is_empty() && state.in_flight == 0 {
                    return true;
                }
                if !state.dead.is_empty() || Instant::now() > deadline {
                    return false;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn waiting(&self) -> usize {
        let state = self.state();
        state.visible.len() + state.in_flight
    }

    fn dead(&self) -> Vec<Message> {
        self.state().dead.clone()
    }

    fn counts(&self) -> (u64, u64) {
        let state = self.state();
        (state.batches, state.retried)
    }

    fn stop(&self) {
        self.state().stopped = true;
        self.arrived.notify_waiters();
    }

    fn stopped(&self) -> bool {
        self.state().stopped
    }
}

/// The SQS API as the SDK speaks it (`awsJson1_0`, the operation in `X-Amz-Target`): `SendMessage` only.
async fn sqs_api(State(queue): State<Arc<Queue>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = |status: StatusCode, body: Value| {
        (status, [("content-type", "application/x-amz-json-1.0")], body.to_string()).into_response()
    };
    let error = |code: &str, message: &str| {
        answer(StatusCode::BAD_REQUEST, json!({"__type": format!("com.amazonaws.sqs#{code}"), "message": message}))
    };
    if target != "AmazonSQS.SendMessage" {
        return error("UnsupportedOperation", &format!("the bench's queue does not do '{target}'"));
    }
    if !request["QueueUrl"].as_str().is_some_and(|u| u.ends_with("/000000000000/hires")) {
        return error("QueueDoesNotExist", "The specified queue does not exist.");
    }
    match request["MessageBody"].as_str() {
        Some(message) => answer(StatusCode::OK, json!({"MessageId": queue.send(message.to_string())})),
        None => error("MissingParameter", "The request must contain the parameter MessageBody."),
    }
}

/// When Namely answered the `POST /profiles` that created each email's profile.
fn profiles_created(namely: &[RecordedRequest]) -> Result<HashMap<String, Instant>, String> {
    let mut created = HashMap::new();
    for r in namely.iter().filter(|r| r.method == "POST" && r.path.ends_with("/profiles")) {
        let (Some(answered_at), true) = (r.answered_at, (200..300).contains(&r.status)) else { continue };
        let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        let Some(email) = body["profiles"][0]["email"].as_str() else { continue };
        if created.insert(email.to_lowercase(), answered_at).is_some() {
            return Err(format!("Namely created a second profile for {email}"));
        }
    }
    Ok(created)
}

/// Every hire has exactly one Namely profile, and its delivery's `POST /profiles` created it.
fn check_one_profile_each(
    sb: &Sandbox,
    delivered: &[Delivered],
    created: &HashMap<String, Instant>,
) -> Result<(), String> {
    let mut profiles: HashMap<String, usize> = HashMap::new();
    for p in sb.namely_data().profiles {
        if let Some(email) = p["email"].as_str() {
            *profiles.entry(email.to_lowercase()).or_default() += 1;
        }
    }
    let problems: Vec<String> = delivered
        .iter()
        .filter_map(|d| match (profiles.get(&d.email).copied().unwrap_or(0), created.contains_key(&d.email)) {
            (1, true) => None,
            (0, _) => Some(format!("{} ({}) has no Namely profile", d.opportunity_id, d.email)),
            (1, false) => Some(format!("{} ({}) was linked, not created", d.opportunity_id, d.email)),
            (n, _) => Some(format!("{} ({}) has {n} Namely profiles", d.opportunity_id, d.email)),
        })
        .collect();
    match problems.first() {
        None => Ok(()),
        Some(first) => Err(format!("{} of {} hires went wrong; the first: {first}", problems.len(), delivered.len())),
    }
}

/// How many hires the run log holds in each state, and what the first not transferred says.
async fn run_log_states(runlog: &dyn RunLog, delivered: &[Delivered]) -> (BTreeMap<String, u64>, Option<String>) {
    let mut states = BTreeMap::new();
    let mut first_other = None;
    for d in delivered {
        let (state, detail) = match runlog.entry(ENTRY_KIND, &d.opportunity_id).await {
            Ok(Some(e)) => (e.state, e.body.get("last_detail").map(Value::to_string).unwrap_or_default()),
            Ok(None) => ("missing".to_string(), String::new()),
            Err(e) => ("unreadable".to_string(), e.to_string()),
        };
        if state != TRANSFERRED && first_other.is_none() {
            first_other = Some(format!("{} is '{state}' in the run log: {detail}", d.opportunity_id));
        }
        *states.entry(state).or_default() += 1;
    }
    (states, first_other)
}

/// Namely limits `GET /profiles` and `GET /profiles/…` only.
fn is_profiles_read(path: &str) -> bool {
    path.ends_with("/profiles") || path.contains("/profiles/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workers_rate_share_is_the_templates_and_counts_more_than_the_queue_workers() {
        let share = worker_rate_share().expect("RATE_LIMIT_SHARE");
        let workers = mapping_setting("MaximumConcurrency").expect("MaximumConcurrency");
        assert!(share >= workers + 2, "share {share} for {workers} queue workers, the sweep and a run by hand");
    }
}
