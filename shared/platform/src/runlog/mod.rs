//! The run log: every run of every job, what happened to each record, idempotency claims and
//! checkpoints. DynamoDB in AWS ([`DynamoRunLog`]); an embedded SQLite file everywhere else
//! ([`SqliteRunLog`]), so local runs and the demo need no account.

mod dynamo;
mod sharded;
mod sqlite;

pub use dynamo::DynamoRunLog;
pub use sharded::ShardedMap;
pub use sqlite::SqliteRunLog;

use crate::config::Config;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Schedule,
    Manual,
    Webhook,
}

/// How a run ended (or that it has not yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    /// Every record was handled.
    Succeeded,
    /// Some records failed; the others were handled.
    Partial,
    /// The run could not do its job (bad credentials, vendor down...).
    Failed,
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Created,
    Updated,
    Unchanged,
    Skipped,
    Failed,
}

macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $text),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = RunLogError;
            fn from_str(s: &str) -> Result<Self, RunLogError> {
                match s {
                    $($text => Ok(<$ty>::$variant),)+
                    other => Err(RunLogError::Corrupt(format!("unknown {} '{other}'", stringify!($ty)))),
                }
            }
        }
    };
}

text_enum!(Trigger { Schedule => "schedule", Manual => "manual", Webhook => "webhook" });
text_enum!(RunStatus { Running => "running", Succeeded => "succeeded", Partial => "partial", Failed => "failed" });
text_enum!(Action { Created => "created", Updated => "updated", Unchanged => "unchanged", Skipped => "skipped", Failed => "failed" });

/// How many records a run created, updated, left unchanged, skipped and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub failed: u64,
}

impl Counts {
    fn slot(&mut self, action: Action) -> &mut u64 {
        match action {
            Action::Created => &mut self.created,
            Action::Updated => &mut self.updated,
            Action::Unchanged => &mut self.unchanged,
            Action::Skipped => &mut self.skipped,
            Action::Failed => &mut self.failed,
        }
    }

    /// Counts one record's outcome.
    pub fn add(&mut self, action: Action) {
        *self.slot(action) += 1;
    }

    /// Moves one record's count from one outcome to another (a later step changed its outcome).
    pub fn replace(&mut self, from: Action, to: Action) {
        let old = self.slot(from);
        *old = old.saturating_sub(1);
        self.add(to);
    }

    pub fn total(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.skipped + self.failed
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} created, {} updated, {} unchanged, {} skipped, {} failed",
            self.created, self.updated, self.unchanged, self.skipped, self.failed
        )
    }
}

/// One run of one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub run_id: String,
    pub job: String,
    pub trigger: Trigger,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    pub counts: Counts,
    /// A sentence for the operator: why a run failed, or a summary.
    pub message: Option<String>,
}

impl Run {
    /// A new running run, with a fresh id.
    pub fn start(job: &str, trigger: Trigger) -> Run {
        Run {
            run_id: uuid::Uuid::new_v4().to_string(),
            job: job.to_string(),
            trigger,
            started_at: now_ms(),
            ended_at: None,
            status: RunStatus::Running,
            counts: Counts::default(),
            message: None,
        }
    }

    /// Ends the run: failed when `error` is given or every record failed, partial when some
    /// records failed, else succeeded.
    pub fn finish(&mut self, error: Option<String>) {
        self.ended_at = Some(now_ms());
        self.status = match (&error, self.counts.failed) {
            (Some(_), _) => RunStatus::Failed,
            (None, 0) => RunStatus::Succeeded,
            // Nothing was handled: the run did not do its job.
            (None, failed) if failed == self.counts.total() => RunStatus::Failed,
            (None, _) => RunStatus::Partial,
        };
        if error.is_some() {
            self.message = error;
        }
        crate::metrics::run_ended(self);
    }
}

/// What happened to one record in one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub run_id: String,
    pub job: String,
    /// The source record's id (a Namely profile id, a Lever opportunity id...).
    pub record_id: String,
    /// Who it is, for people: a name or an email.
    pub label: Option<String>,
    pub action: Action,
    /// Which fields changed, or what to fix.
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

/// A record the run log holds outcomes for, found by [`RunLog::find_records`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMatch {
    pub job: String,
    pub record_id: String,
    /// The label of its latest outcome (a name, an e-mail).
    pub label: Option<String>,
    /// When its latest outcome was recorded.
    pub last_at: DateTime<Utc>,
}

/// True when `text` names a record: its id exactly, or a part of its label (a name or an e-mail),
/// ignoring case. Blank text names nothing.
pub fn names_record(text: &str, record_id: &str, label: Option<&str>) -> bool {
    let text = text.trim();
    !text.is_empty() && (record_id == text || label.is_some_and(|l| l.to_lowercase().contains(&text.to_lowercase())))
}

/// Keeps each record once, with its latest label, newest first, at most `limit`.
fn latest_per_record(found: impl IntoIterator<Item = RecordMatch>, limit: usize) -> Vec<RecordMatch> {
    let mut latest: std::collections::HashMap<(String, String), RecordMatch> = std::collections::HashMap::new();
    for m in found {
        let key = (m.job.clone(), m.record_id.clone());
        match latest.get(&key) {
            Some(kept) if kept.last_at >= m.last_at => {}
            _ => {
                latest.insert(key, m);
            }
        }
    }
    let mut records: Vec<RecordMatch> = latest.into_values().collect();
    records.sort_by(|a, b| b.last_at.cmp(&a.last_at).then_with(|| (&a.job, &a.record_id).cmp(&(&b.job, &b.record_id))));
    records.truncate(limit);
    records
}

/// The state of an idempotency key after [`RunLog::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This caller now holds the key.
    Acquired,
    /// Another caller holds it and its lease has not run out.
    InProgress { owner: String, lease_until: DateTime<Utc> },
    /// The work was done already; `result` is what the finisher recorded.
    Done { owner: String, result: Option<String> },
}

/// A durable entry of work received and its state, e.g. a hire received from Lever (kind `hire`,
/// id = the opportunity id). `open` entries are work not yet finished; the sweep lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// What sort of work this is (`hire`, ...); one ledger per kind.
    pub kind: String,
    /// The work's id within its kind (a Lever opportunity id, ...).
    pub id: String,
    /// A short state word chosen by the caller (`queued`, `transferred`, `failed`, ...).
    pub state: String,
    /// True while the work is not finished.
    pub open: bool,
    /// Caller data (JSON object).
    pub body: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entry {
    /// A new entry, created and updated now.
    pub fn new(kind: &str, id: &str, state: &str, open: bool, body: serde_json::Value) -> Entry {
        let now = now_ms();
        Entry {
            kind: kind.to_string(),
            id: id.to_string(),
            state: state.to_string(),
            open,
            body,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Why the run log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RunLogError {
    #[error("the embedded run log at {path} failed: {reason}")]
    Local { path: String, reason: String },
    #[error("the DynamoDB run log table '{table}' failed: {reason}")]
    Dynamo { table: String, reason: String, retryable: bool },
    #[error("the run log holds a record it cannot read: {0}")]
    Corrupt(String),
}

impl RunLogError {
    /// True when trying again may succeed (DynamoDB throttling or a network error).
    pub fn is_retryable(&self) -> bool {
        matches!(self, RunLogError::Dynamo { retryable: true, .. })
    }
}

/// Where runs, outcomes, claims, checkpoints and entries are kept.
#[async_trait]
pub trait RunLog: Send + Sync {
    /// Records a run as it is (call at start and again at finish).
    async fn save_run(&self, run: &Run) -> Result<(), RunLogError>;
    /// Records what happened to some records.
    async fn record_outcomes(&self, outcomes: &[Outcome]) -> Result<(), RunLogError>;
    /// The latest runs, newest first, of one job or of all.
    async fn latest_runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<Run>, RunLogError>;
    /// One run by id.
    async fn run(&self, run_id: &str) -> Result<Option<Run>, RunLogError>;
    /// Every outcome of a run, in record order.
    async fn run_outcomes(&self, run_id: &str) -> Result<Vec<Outcome>, RunLogError>;
    /// A record's history across runs, newest first: "what happened to Jane's record?".
    async fn record_history(&self, job: &str, record_id: &str, limit: usize) -> Result<Vec<Outcome>, RunLogError>;
    /// The records of one job (or of all) that `text` names ([`names_record`]: an id, or part of a
    /// name or e-mail), each once with its latest label, most recently touched first, at most `limit`.
    /// On DynamoDB this reads the table's outcome items (a Scan): for the operator, not for jobs.
    async fn find_records(&self, job: Option<&str>, text: &str, limit: usize) -> Result<Vec<RecordMatch>, RunLogError>;
    /// Takes an idempotency key for `lease` unless someone holds it or it is done. Atomic.
    async fn claim(&self, key: &str, owner: &str, lease: Duration) -> Result<Claim, RunLogError>;
    /// Marks a claimed key done for good, with a result to show later duplicates.
    async fn complete(&self, key: &str, owner: &str, result: Option<&str>) -> Result<(), RunLogError>;
    /// Gives a key up, so the work may be done again (a failed attempt, an explicit retry).
    async fn release(&self, key: &str) -> Result<(), RunLogError>;
    /// The saved position of an incremental job.
    async fn checkpoint(&self, job: &str) -> Result<Option<String>, RunLogError>;
    async fn save_checkpoint(&self, job: &str, value: &str) -> Result<(), RunLogError>;
    /// Stores `entry` unless an entry with its kind and id exists. Atomic: of concurrent inserts of
    /// one key exactly one gets `None`; the others get `Some(existing)`, unchanged.
    async fn insert_entry(&self, entry: &Entry) -> Result<Option<Entry>, RunLogError>;
    /// Stores `entry`, replacing any entry with its kind and id (keeps the stored `created_at`).
    async fn put_entry(&self, entry: &Entry) -> Result<(), RunLogError>;
    /// One entry.
    async fn entry(&self, kind: &str, id: &str) -> Result<Option<Entry>, RunLogError>;
    /// Open entries of a kind, oldest `updated_at` first (ties by id), at most `limit`.
    async fn open_entries(&self, kind: &str, limit: usize) -> Result<Vec<Entry>, RunLogError>;
}

/// The run log the configuration asks for: DynamoDB when `RUNS_TABLE` is set, else the embedded file.
pub fn from_config(config: &Config, sdk: Option<&aws_config::SdkConfig>) -> Result<Arc<dyn RunLog>, RunLogError> {
    match (&config.runs_table, sdk) {
        (Some(table), Some(sdk)) => Ok(Arc::new(DynamoRunLog::new(sdk, table, config.retention_days))),
        (Some(table), None) => Err(RunLogError::Dynamo {
            table: table.clone(),
            reason: "RUNS_TABLE is set but no AWS configuration was loaded".into(),
            retryable: false,
        }),
        (None, _) => Ok(Arc::new(SqliteRunLog::open(&config.local_store_path)?)),
    }
}

/// Which run log the configuration reads, for people: "DynamoDB table runs" or "embedded SQLite at …".
pub fn describe(config: &Config) -> String {
    match &config.runs_table {
        Some(table) => format!("DynamoDB table {table}"),
        None => {
            let path = &config.local_store_path;
            let shown = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            format!("embedded SQLite at {}", shown.display())
        }
    }
}

/// Now, to the millisecond: both stores keep milliseconds, so a run reads back equal to itself.
pub fn now_ms() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_ends_partial_when_records_failed_and_failed_on_error() {
        let mut run = Run::start("lessonly-sync", Trigger::Manual);
        run.counts.add(Action::Created);
        run.finish(None);
        assert_eq!(run.status, RunStatus::Succeeded);
        run.counts.add(Action::Failed);
        run.finish(None);
        assert_eq!(run.status, RunStatus::Partial);
        run.finish(Some("Namely token rejected".into()));
        assert_eq!(run.status, RunStatus::Failed);
        assert_eq!(run.message.as_deref(), Some("Namely token rejected"));
        assert_eq!(run.counts.total(), 2);
    }

    #[test]
    fn a_replaced_outcome_moves_its_count_and_keeps_the_total() {
        let mut counts = Counts::default();
        counts.add(Action::Unchanged);
        counts.add(Action::Created);
        counts.replace(Action::Unchanged, Action::Updated);
        counts.replace(Action::Created, Action::Failed);
        assert_eq!(counts, Counts { updated: 1, failed: 1, ..Counts::default() });
        counts.replace(Action::Updated, Action::Updated);
        assert_eq!(counts.total(), 2);
    }

    #[test]
    fn a_run_whose_every_record_failed_has_failed() {
        let mut run = Run::start("lever-hire-webhook", Trigger::Webhook);
        run.counts.add(Action::Failed);
        run.counts.add(Action::Failed);
        run.finish(None);
        assert_eq!(run.status, RunStatus::Failed);
        run.counts.add(Action::Skipped);
        run.finish(None);
        assert_eq!(run.status, RunStatus::Partial, "a skipped record was handled");
    }

    #[test]
    fn enums_round_trip_through_text() {
        for t in [Trigger::Schedule, Trigger::Manual, Trigger::Webhook] {
            assert_eq!(t.as_str().parse::<Trigger>().unwrap(), t);
        }
        assert_eq!("partial".parse::<RunStatus>().unwrap(), RunStatus::Partial);
        assert!("exploded".parse::<Action>().is_err());
    }
}
