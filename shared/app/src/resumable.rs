//! A sync run that can span several invocations: each works for a time budget, saves its place in a
//! checkpoint and stops; the next invocation (the frequent `continue_only` schedule) carries the
//! same run on, until everyone is done.

use crate::{run_answer, warnings_message, Deps, Error, RunLease};
use platform::{Run, Trigger};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;

/// An unfinished run: which one, and how many invocations it has had. What is done is what the run
/// has recorded outcomes for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Progress {
    pub run_id: String,
    pub invocations: u32,
    /// The source page to start reading at (1 = from the start), for a job that need not re-read
    /// what it has done.
    #[serde(default)]
    pub resume_page: u32,
}

/// How one invocation of a resumable sync ended.
pub enum Ended {
    /// Every record was handled: the summary.
    Done(Value),
    /// The budget ran out; the run continues in the next invocation.
    Paused { summary: Value, progress: Progress },
}

fn checkpoint(job: &str) -> String {
    format!("{job}.progress")
}

/// The job's unfinished run, if it has one.
pub async fn load_progress(deps: &Deps, job: &str) -> Result<Option<Progress>, Error> {
    let text = deps.runlog.checkpoint(&checkpoint(job)).await?;
    Ok(text.filter(|t| !t.is_empty()).and_then(|t| serde_json::from_str(&t).ok()))
}

/// The run to work on (the unfinished one, else a new one) under the job's lease, which outlives one
/// invocation's budget by a minute so that a dead holder frees it soon; or, when another run holds
/// the lease, the answer to give instead.
pub async fn begin(
    deps: &Deps,
    job: &str,
    trigger: Trigger,
    progress: Option<&Progress>,
    budget: Duration,
) -> Result<Result<(Run, RunLease), Value>, Error> {
    let unfinished = match progress {
        Some(p) => deps.runlog.run(&p.run_id).await?,
        None => None,
    };
    let run = unfinished.unwrap_or_else(|| Run::start(job, trigger));
    let lease = chrono::Duration::seconds(i64::try_from(budget.as_secs()).unwrap_or(i64::MAX / 1000) + 60);
    let lease = match RunLease::acquire(deps, job, &run.run_id, lease).await? {
        Ok(lease) => lease,
        Err(answer) => return Ok(Err(answer)),
    };
    deps.runlog.save_run(&run).await?;
    Ok(Ok((run, lease)))
}

/// Records how the invocation ended and answers with the summary: a paused run saves its place and
/// says it is continuing; a finished or failed one clears the place, so the next run starts afresh.
pub async fn finish(
    deps: &Deps,
    job: &str,
    mut run: Run,
    result: Result<Ended, String>,
    dry_run: bool,
) -> Result<Value, Error> {
    let (summary, error) = match result {
        Ok(Ended::Paused { summary, progress }) => {
            let text = serde_json::to_string(&progress).unwrap_or_default();
            deps.runlog.save_checkpoint(&checkpoint(job), &text).await?;
            deps.runlog.save_run(&run).await?;
            let mut answer = run_answer(summary, &run, dry_run, None);
            answer["status"] = json!("continuing");
            return Ok(answer);
        }
        Ok(Ended::Done(summary)) => (summary, None),
        Err(message) => (json!({}), Some(message)),
    };
    run.finish(error.clone());
    if error.is_none() {
        run.message = warnings_message(&summary);
    }
    if !dry_run {
        deps.runlog.save_checkpoint(&checkpoint(job), "").await?;
    }
    deps.runlog.save_run(&run).await?;
    tracing::info!(job, run_id = %run.run_id, status = %run.status, counts = %run.counts, "sync finished");
    Ok(run_answer(summary, &run, dry_run, error.as_deref()))
}
