//! Plain-text tables for the terminal.

use platform::{Action, Outcome, RecordMatch, Run};
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

/// The records `text` names, each with its outcomes across runs, newest first.
pub fn histories(job: Option<&str>, text: &str, records: &[(&RecordMatch, Vec<Outcome>)]) -> String {
    let scope = job.map_or_else(|| "any job".to_string(), |j| format!("job {j}"));
    if records.is_empty() {
        return format!("No record of {scope} has the id '{text}' or a name or e-mail containing it.\n");
    }
    let mut out = String::new();
    if records.len() > 1 {
        let _ = writeln!(out, "{} records of {scope} match '{text}':", records.len());
    }
    for (record, outcomes) in records {
        let label = record.label.as_deref().unwrap_or("");
        let _ = writeln!(out, "\n{}  record {}  {label}", record.job, record.record_id);
        for o in outcomes {
            let detail = o.detail.as_deref().unwrap_or("");
            let _ = writeln!(out, "  {}  {:<9}  {detail}  (run {})", time(o.at), o.action, o.run_id);
        }
    }
    out
}

/// A sync's answer for people: status and counts, then the plan (dry run) or the changes, then warnings.
pub fn sync_summary(function: &str, answer: &serde_json::Value) -> String {
    sync_summary_with(function, answer, None)
}

/// As [`sync_summary`], with the run's records (see [`run_records`]) in place of the answer's changes.
pub fn sync_summary_with(function: &str, answer: &serde_json::Value, records: Option<&[Outcome]>) -> String {
    let mut out = String::new();
    let status = answer["status"].as_str().unwrap_or("?");
    let _ = write!(out, "{function}: {status}");
    if let Some(run_id) = answer["run_id"].as_str() {
        let _ = write!(out, " (run {run_id})");
    }
    if let Some(counts) = answer["counts"].as_object() {
        let n = |k: &str| counts.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
        let _ = write!(
            out,
            ": {} created, {} updated, {} unchanged, {} skipped, {} failed",
            n("created"),
            n("updated"),
            n("unchanged"),
            n("skipped"),
            n("failed")
        );
    }
    out.push('\n');
    for key in ["error", "message", "reason"] {
        if let Some(text) = answer[key].as_str() {
            let _ = writeln!(out, "  {text}");
        }
    }
    if answer["dry_run"] == true {
        let _ = writeln!(out, "Dry run: nothing was written. The plan ({} writes):", answer["writes"]);
        for line in answer["plan"].as_array().into_iter().flatten().filter_map(serde_json::Value::as_str) {
            let _ = writeln!(out, "  {line}");
        }
    }
    if let Some(outcomes) = records {
        out.push_str(&run_records(outcomes));
    }
    let changes = answer["changes"].as_array().into_iter().flatten();
    for change in changes.chain(answer["outcomes"].as_array().into_iter().flatten()).filter(|_| records.is_none()) {
        let label = change["label"]
            .as_str()
            .or(change["namely_id"].as_str())
            .or(change["opportunity_id"].as_str())
            .or(change["posting_id"].as_str());
        let _ = writeln!(
            out,
            "  {:<9} {}  {}",
            change["action"].as_str().unwrap_or(""),
            label.unwrap_or(""),
            change["detail"].as_str().unwrap_or("")
        );
    }
    for warning in answer["warnings"].as_array().into_iter().flatten().filter_map(serde_json::Value::as_str) {
        let _ = writeln!(out, "  warning: {warning}");
    }
    out
}

/// One line per record of a run, from its outcomes in the run log: failed first, then created,
/// updated and skipped, each by name. A record with several outcomes (a Lessonly user created, then
/// added to a group) is one line with its first outcome's action, so the lines of each action add up
/// to the run's count of it. Unchanged records are counted in the run's summary, not listed.
pub fn run_records(outcomes: &[Outcome]) -> String {
    let mut records: Vec<(Action, String, String, Vec<&str>)> = Vec::new();
    for o in outcomes {
        let detail = o.detail.as_deref().unwrap_or("");
        match records.iter_mut().find(|(_, _, id, _)| *id == o.record_id) {
            Some((_, _, _, details)) => details.push(detail),
            None => {
                let label = o.label.clone().unwrap_or_else(|| o.record_id.clone());
                records.push((o.action, label, o.record_id.clone(), vec![detail]));
            }
        }
    }
    let rank =
        |a: Action| [Action::Failed, Action::Created, Action::Updated, Action::Skipped].iter().position(|x| *x == a);
    records.retain(|(action, ..)| rank(*action).is_some());
    records.sort_by(|a, b| (rank(a.0), &a.1, &a.2).cmp(&(rank(b.0), &b.1, &b.2)));
    let mut out = String::new();
    for (action, label, _, details) in records {
        let details: Vec<&str> = details.into_iter().filter(|d| !d.is_empty()).collect();
        let _ = writeln!(out, "  {action:<9} {label}  {}", details.join("; "));
    }
    out
}

/// For each job, its last completed run and, when later, its last failed one.
pub fn status_table(jobs: &[(&str, Option<Run>, Option<Run>)]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<20}  {:<23}  {:<9}  DETAIL", "JOB", "LAST COMPLETED", "STATUS");
    for (job, completed, failed) in jobs {
        match completed {
            Some(run) => {
                let ended = run.ended_at.map(time).unwrap_or_else(|| "-".into());
                let _ = writeln!(out, "{job:<20}  {ended:<23}  {:<9}  {}", run.status, run.counts);
            }
            None => {
                let _ = writeln!(out, "{job:<20}  {:<23}  {:<9}  no completed run yet", "-", "-");
            }
        }
        if let Some(run) = failed {
            let ended = run.ended_at.map(time).unwrap_or_else(|| "-".into());
            let message = run.message.as_deref().unwrap_or("");
            let _ = writeln!(out, "{:<20}  last failed {ended}: {message}", "");
        }
    }
    out
}

/// One CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A run's sync log as CSV: one line per record, what happened and which fields changed.
pub fn outcomes_csv(outcomes: &[Outcome]) -> String {
    let mut out = String::from("time,job,run_id,record_id,record,action,detail\n");
    for o in outcomes {
        let row = [
            o.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            o.job.clone(),
            o.run_id.clone(),
            o.record_id.clone(),
            o.label.clone().unwrap_or_default(),
            o.action.to_string(),
            o.detail.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
