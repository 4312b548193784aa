//! Plain-text tables for the terminal.

use platform::{Outcome, Run};
use std::fmt::Write;

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The latest runs, one per line.
pub fn runs_table(runs: &[Run]) -> String {
    if runs.is_empty() {
        return "No runs recorded yet.\n".into();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<23}  {:<23}  {:<26}  {:<8}  {:<9}  COUNTS / MESSAGE",
        "STARTED", "ENDED", "JOB", "TRIGGER", "STATUS"
    );
    for run in runs {
        let ended = run.ended_at.map(time).unwrap_or_else(|| "-".into());
        let mut summary = if run.counts.total() > 0 { run.counts.to_string() } else { String::new() };
        if let Some(message) = &run.message {
            if !summary.is_empty() {
                summary.push_str("; ");
            }
            summary.push_str(message);
        }
        let _ = writeln!(
            out,
            "{:<23}  {:<23}  {:<26}  {:<8}  {:<9}  {summary}",
            time(run.started_at),
            ended,
            run.job,
            run.trigger,
            run.status
        );
        let _ = writeln!(out, "{:>23}  run {}", "", run.run_id);
    }
    out
}

/// A record's outcomes across runs.
pub fn history(job: &str, record: &str, outcomes: &[Outcome]) -> String {
    if outcomes.is_empty() {
        return format!("No outcome recorded for record {record} in job {job}.\n");
    }
    let mut out = String::new();
    for o in outcomes {
        let label = o.label.as_deref().unwrap_or("");
        let detail = o.detail.as_deref().unwrap_or("");
        let _ = writeln!(out, "{}  {:<9}  {label}  {detail}  (run {})", time(o.at), o.action, o.run_id);
    }
    out
}
