//! What every function shares: the dependencies built once per container ([`Deps`]), the vendor
//! clients built from the current secrets, the operator events, and the verification report.

pub mod clients;
pub mod event;
pub mod lambda;
pub mod report;
pub mod resumable;

pub use event::{BadEvent, OperatorEvent, SyncEvent};
pub use report::{ConnectionCheck, VerifyReport};

use connectors::Verification;
use platform::{Claim, Config, ConfigError, Run, RunLog, RunLogError, RunStatus, SecretError, SecretStore, Trigger};
use serde_json::Value;
use std::sync::Arc;

/// A vendor connection a function needs, and what it needs it for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Lever candidates, offers, forms, files, tags and notes (the hire transfer).
    LeverHires,
    /// Lever postings (The Org import).
    LeverPostings,
    Namely,
    Lessonly,
    Litmos,
    TheOrg,
}

/// Why a function could not do what it was asked. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    RunLog(#[from] RunLogError),
    #[error(transparent)]
    Vendor(#[from] connectors::Error),
    #[error(transparent)]
    BadEvent(#[from] BadEvent),
}

impl Error {
    /// A short machine-readable kind, used as the Lambda error type.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "ConfigError",
            Error::Secret(_) => "SecretError",
            Error::RunLog(_) => "RunLogError",
            Error::Vendor(_) => "VendorError",
            Error::BadEvent(_) => "BadEvent",
        }
    }
}

/// Everything a function builds once per container and shares between invocations.
pub struct Deps {
    pub config: Config,
    /// The AWS SDK configuration, loaded only when some setting needs AWS.
    pub aws: Option<aws_config::SdkConfig>,
    pub secrets: SecretStore,
    pub runlog: Arc<dyn RunLog>,
    pub clients: clients::Clients,
}

impl Deps {
    /// Builds the dependencies from the environment. AWS is only touched when a secret id or the
    /// runs table asks for it, so local runs need no AWS configuration at all.
    pub async fn from_env() -> Result<Deps, Error> {
        let config = Config::from_env()?;
        let ids = &config.secret_ids;
        let uses_aws = config.runs_table.is_some()
            || config.hire_queue_url.is_some()
            || [&ids.lever, &ids.namely, &ids.lessonly, &ids.litmos, &ids.theorg].iter().any(|id| id.is_some());
        let sdk = if uses_aws { Some(platform::aws::sdk_config().await) } else { None };
        let secrets = SecretStore::new(&config, sdk.as_ref());
        let runlog = platform::runlog::from_config(&config, sdk.as_ref())?;
        Ok(Deps::new(config, secrets, runlog).with_aws(sdk))
    }

    pub fn new(config: Config, secrets: SecretStore, runlog: Arc<dyn RunLog>) -> Deps {
        Deps { config, aws: None, secrets, runlog, clients: clients::Clients::default() }
    }

    /// The same dependencies with an AWS SDK configuration (tests pass moto's).
    pub fn with_aws(mut self, aws: Option<aws_config::SdkConfig>) -> Deps {
        self.aws = aws;
        self
    }
}

/// Checks each connection with a real, cheap, authenticated call, and records the check as a run
/// (job `<function>.verify`) so that `hrctl runs` shows when connections were last verified.
pub async fn verify(deps: &Deps, function: &str, connections: &[Connection], trigger: Trigger) -> VerifyReport {
    let mut run = Run::start(&format!("{function}.verify"), trigger);
    let mut checks = Vec::with_capacity(connections.len());
    for &connection in connections {
        let check = verify_one(deps, connection).await;
        // A check that passed names the token's owner: that stays in the report, out of the logs.
        if check.ok {
            tracing::info!(run_id = %run.run_id, vendor = %check.vendor, ok = true, "connection checked");
        } else {
            tracing::warn!(run_id = %run.run_id, vendor = %check.vendor, ok = false, detail = %check.detail, "connection checked");
        }
        checks.push(check);
    }
    let report = VerifyReport::new(function, checks);
    let failures: Vec<String> =
        report.checks.iter().filter(|c| !c.ok).map(|c| format!("{}: {}", c.vendor, c.detail)).collect();
    run.finish(if failures.is_empty() { None } else { Some(failures.join("; ")) });
    if let Err(e) = deps.runlog.save_run(&run).await {
        // The report still answers the operator; the log line says why it is not in the history.
        tracing::warn!(run_id = %run.run_id, error = %e, "could not record the verification in the run log");
    }
    report
}

async fn verify_one(deps: &Deps, connection: Connection) -> ConnectionCheck {
    // Boxed: the connectors' futures nest deep enough to exceed the compiler's layout limit.
    let result: Result<Verification, Error> = Box::pin(async {
        Ok(match connection {
            Connection::LeverHires => deps.clients.lever(deps).await?.verify().await,
            Connection::LeverPostings => deps.clients.lever(deps).await?.verify_postings_access().await,
            Connection::Namely => deps.clients.namely(deps).await?.verify().await,
            Connection::Lessonly => deps.clients.lessonly(deps).await?.verify().await,
            Connection::Litmos => deps.clients.litmos(deps).await?.verify().await,
            Connection::TheOrg => deps.clients.theorg(deps).await?.verify().await,
        })
    })
    .await;
    match result {
        Ok(v) => ConnectionCheck { vendor: v.vendor.to_string(), ok: v.ok, detail: v.detail },
        Err(e) => {
            ConnectionCheck { vendor: clients::vendor_of(connection).to_string(), ok: false, detail: e.to_string() }
        }
    }
}

/// One run of a job at a time: a lease in the run log, which runs out if its holder dies.
pub struct RunLease {
    key: String,
}

impl RunLease {
    /// Takes the job's lease for `run_id`; when another run holds it, the answer to give instead.
    pub async fn acquire(
        deps: &Deps,
        job: &str,
        run_id: &str,
        lease: chrono::Duration,
    ) -> Result<Result<RunLease, Value>, Error> {
        let key = format!("{job}:run");
        let mut claim = deps.runlog.claim(&key, run_id, lease).await?;
        if let Claim::Done { .. } = claim {
            // A run lease is released, never completed; a completed one is stale.
            deps.runlog.release(&key).await?;
            claim = deps.runlog.claim(&key, run_id, lease).await?;
        }
        match claim {
            Claim::InProgress { owner, lease_until } => Ok(Err(serde_json::json!({
                "status": "already running", "run_id": owner,
                "message": format!("another {job} run ({owner}) is in progress (its lease runs until {lease_until}); this one did nothing"),
            }))),
            _ => {
                close_abandoned(deps, job, run_id).await;
                Ok(Ok(RunLease { key }))
            }
        }
    }

    /// Gives the lease up; if that fails it runs out on its own.
    pub async fn release(self, deps: &Deps) {
        if let Err(e) = deps.runlog.release(&self.key).await {
            tracing::warn!(key = %self.key, error = %e, "could not release the run lease; it expires on its own");
        }
    }
}

/// Ends the job's runs that still show `running`, other than `run_id`: with the job's lease taken no
/// other run is alive, so they died (a timeout, a crash) before recording their end. Without this
/// they would show `running` for ever.
async fn close_abandoned(deps: &Deps, job: &str, run_id: &str) {
    let runs = match deps.runlog.latest_runs(Some(job), 10).await {
        Ok(runs) => runs,
        Err(e) => return tracing::warn!(job, error = %e, "could not look for abandoned runs"),
    };
    for mut run in runs.into_iter().filter(|r| r.status == RunStatus::Running && r.run_id != run_id) {
        run.finish(Some(
            "stopped without recording its end (the invocation timed out or crashed); what it did is in its \
             outcomes, and a later run took up the rest"
                .into(),
        ));
        if let Err(e) = deps.runlog.save_run(&run).await {
            tracing::warn!(job, run_id = %run.run_id, error = %e, "could not close an abandoned run");
        }
    }
}

/// The run-log message of a finished sync: the `warnings` of its summary, which the admin should act
/// on (the counts are shown beside it). `None` when there are none.
pub fn warnings_message(summary: &Value) -> Option<String> {
    let warnings: Vec<String> = summary["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|w| format!("warning: {w}"))
        .collect();
    (!warnings.is_empty()).then(|| warnings.join("; "))
}

/// A sync's answer: what the job returned, with the run's id, status, counts, whether it was a dry
/// run, and the error that ended it.
pub fn run_answer(mut summary: Value, run: &Run, dry_run: bool, error: Option<&str>) -> Value {
    if !summary.is_object() {
        summary = serde_json::json!({});
    }
    if let Value::Object(map) = &mut summary {
        map.insert("run_id".into(), serde_json::json!(run.run_id));
        map.insert("status".into(), serde_json::json!(run.status.as_str()));
        map.insert("counts".into(), serde_json::json!(run.counts));
        map.insert("dry_run".into(), serde_json::json!(dry_run));
        if let Some(e) = error {
            map.insert("error".into(), serde_json::json!(e));
        }
    }
    summary
}

/// What to tell the admin when Namely refuses to be read: a refused token says how to make a new one.
pub fn namely_read_error(e: &connectors::Error) -> String {
    match e.status() {
        Some(401) | Some(403) => format!(
            "Namely refused the personal access token ({e}). Tokens expire after two years and stop working when \
             their owner is deactivated: create a new personal access token in Namely (profile menu > API > \
             Personal Access Tokens) as an administrator with access to every employee profile, and put it in \
             the Namely secret"
        ),
        _ => format!("Namely could not be read: {e}"),
    }
}

/// Answers an operator or schedule event sent by direct invocation.
pub async fn handle_operator_event(
    deps: &Deps,
    function: &str,
    connections: &[Connection],
    payload: Value,
) -> Result<Value, Error> {
    match OperatorEvent::parse(&payload)? {
        OperatorEvent::Verify => {
            let report = verify(deps, function, connections, Trigger::Manual).await;
            tracing::info!(function, ok = report.ok, "verification finished");
            Ok(serde_json::to_value(&report).unwrap_or(Value::Null))
        }
    }
}
