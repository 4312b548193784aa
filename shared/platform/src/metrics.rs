//! Metrics from every run, in CloudWatch's Embedded Metric Format (EMF): one JSON line per run end,
//! written to standard output, where Lambda passes it to CloudWatch Logs and CloudWatch extracts the
//! metrics from it. No API call, no agent.
//!
//! Written by hand rather than with `metrics_cloudwatch_embedded`: that crate is a recorder for the
//! `metrics` facade that aggregates per invocation and flushes through its own Lambda runner, while a
//! run's figures are already counted in [`Run`] and a run is not an invocation (a sync continues
//! across invocations; one worker invocation may end several hire runs). The format is small: an
//! `_aws` block naming the namespace, the dimensions and each metric with its unit, and the values
//! as members of the same object. `tests` below hold the lines to the specification.

use crate::runlog::{Run, RunStatus};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};

/// The CloudWatch namespace of every metric of the bundle.
pub const NAMESPACE: &str = "HrIntegrationBundle";

/// The dimension every run metric has: the job (`lessonly-sync`, `lever-hire-webhook`,
/// `lessonly-sync.verify`, …).
pub const JOB_DIMENSION: &str = "Job";

/// The run metrics, with their CloudWatch units.
pub const RUN_METRICS: [(&str, &str); 9] = [
    ("RecordsCreated", "Count"),
    ("RecordsUpdated", "Count"),
    ("RecordsUnchanged", "Count"),
    ("RecordsSkipped", "Count"),
    ("RecordsFailed", "Count"),
    ("RunSucceeded", "Count"),
    ("RunPartial", "Count"),
    ("RunFailed", "Count"),
    ("RunDuration", "Milliseconds"),
];

/// Set once the process writes metric lines (the Lambda runtime loop).
static TO_STDOUT: AtomicBool = AtomicBool::new(false);

/// Writes metric lines to standard output from now on (called by the Lambda runtime loop; a CLI or a
/// test that runs the functions in-process writes none).
pub fn emit_to_stdout() {
    TO_STDOUT.store(true, Ordering::Relaxed);
}

/// The EMF document of a run that has ended.
pub fn run_document(run: &Run) -> Value {
    let ended = run.ended_at.unwrap_or(run.started_at);
    let duration = (ended - run.started_at).num_milliseconds().max(0);
    let flag = |status: RunStatus| u64::from(run.status == status);
    let values = [
        run.counts.created,
        run.counts.updated,
        run.counts.unchanged,
        run.counts.skipped,
        run.counts.failed,
        flag(RunStatus::Succeeded),
        flag(RunStatus::Partial),
        flag(RunStatus::Failed),
        u64::try_from(duration).unwrap_or(0),
    ];
    let mut document = Map::new();
    document.insert(
        "_aws".into(),
        json!({
            "Timestamp": ended.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[JOB_DIMENSION]],
                "Metrics": RUN_METRICS.iter().map(|(name, unit)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    document.insert(JOB_DIMENSION.into(), json!(run.job));
    for ((name, _), value) in RUN_METRICS.iter().zip(values) {
        document.insert((*name).into(), json!(value));
    }
    // Properties: searchable in Logs Insights, not metrics.
    document.insert("run_id".into(), json!(run.run_id));
    document.insert("trigger".into(), json!(run.trigger.as_str()));
    document.insert("status".into(), json!(run.status.as_str()));
    Value::Object(document)
}

/// Emits the run's metric line, if metric lines are wanted in this process.
pub fn run_ended(run: &Run) {
    if !TO_STDOUT.load(Ordering::Relaxed) {
        return;
    }
    use std::io::Write;
    // One write of the whole line, so it is never interleaved with a log line.
    let line = format!("{}\n", run_document(run));
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runlog::{Action, Trigger};

    /// CloudWatch's units (`MetricDatum.Unit`).
    const UNITS: [&str; 27] = [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];

    /// The rules of the Embedded Metric Format specification (CloudWatch documentation,
    /// "Specification: Embedded metric format"), as far as a document can break them.
    fn assert_valid_emf(document: &Value) {
        let root = document.as_object().expect("an EMF document is a JSON object");
        let aws = root["_aws"].as_object().expect("_aws");
        assert!(aws["Timestamp"].as_i64().is_some_and(|t| t > 0), "Timestamp: epoch milliseconds");
        let directives = aws["CloudWatchMetrics"].as_array().expect("CloudWatchMetrics");
        assert!(!directives.is_empty());
        for directive in directives {
            let namespace = directive["Namespace"].as_str().expect("Namespace");
            assert!(!namespace.is_empty() && namespace.len() <= 1024);
            let dimension_sets = directive["Dimensions"].as_array().expect("Dimensions");
            for set in dimension_sets {
                let set = set.as_array().expect("a dimension set is an array");
                assert!(set.len() <= 30, "at most 30 dimensions in a set");
                for name in set {
                    let name = name.as_str().expect("a dimension is named by a string");
                    assert!(root[name].as_str().is_some_and(|v| !v.is_empty()), "dimension {name}: a string member");
                }
            }
            let metrics = directive["Metrics"].as_array().expect("Metrics");
            assert!(!metrics.is_empty() && metrics.len() <= 100, "1 to 100 metrics");
            let mut names = std::collections::BTreeSet::new();
            for metric in metrics {
                let name = metric["Name"].as_str().expect("Name");
                assert!(names.insert(name), "{name} twice");
                assert!(root[name].is_number(), "metric {name}: a numeric member");
                let unit = metric["Unit"].as_str().unwrap_or("None");
                assert!(UNITS.contains(&unit), "{name}: unit {unit}");
            }
        }
    }

    #[test]
    fn a_run_line_follows_the_specification_and_carries_its_counts() {
        let mut run = Run::start("lessonly-sync", Trigger::Schedule);
        run.counts.add(Action::Created);
        run.counts.add(Action::Created);
        run.counts.add(Action::Failed);
        run.counts.add(Action::Unchanged);
        run.finish(None);
        let document = run_document(&run);
        assert_valid_emf(&document);
        assert_eq!(document["Job"], "lessonly-sync");
        assert_eq!(
            (&document["RecordsCreated"], &document["RecordsFailed"], &document["RecordsUnchanged"]),
            (&json!(2), &json!(1), &json!(1))
        );
        assert_eq!(
            (&document["RunPartial"], &document["RunFailed"], &document["RunSucceeded"]),
            (&json!(1), &json!(0), &json!(0))
        );
        assert_eq!(document["run_id"], run.run_id.as_str());
        assert!(document["RunDuration"].as_u64().is_some());
        let failed = {
            let mut run = Run::start("theorg-import", Trigger::Manual);
            run.finish(Some("The Org refused the key".into()));
            run_document(&run)
        };
        assert_valid_emf(&failed);
        assert_eq!((&failed["RunFailed"], &failed["RunSucceeded"]), (&json!(1), &json!(0)));
        let line = document.to_string();
        assert!(!line.contains('\n'), "one line");
    }
}
