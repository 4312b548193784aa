//! One run of a job at a time: a scheduled and a manual run started at once — exactly one runs, the
//! other answers that a run is in progress and does nothing; a lease whose holder died (taken and
//! never given back) blocks runs until it runs out, and the next run then proceeds and ends the dead
//! run's record. For the
//! Lessonly sync, the Litmos sync and The Org import, through their public handlers, on the
//! embedded run log and on DynamoDB (moto).

use app::{Deps, RunLease};
use platform::runlog::DynamoRunLog;
use sandbox::{Sandbox, Tenant, TenantSpec};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Lessonly,
    Litmos,
    TheOrg,
}

impl Job {
    fn name(self) -> &'static str {
        match self {
            Job::Lessonly => lessonly_sync::FUNCTION,
            Job::Litmos => litmos_sync::FUNCTION,
            Job::TheOrg => theorg_import::FUNCTION,
        }
    }
}

struct World {
    job: Job,
    sb: Sandbox,
    deps: Deps,
    dir: std::path::PathBuf,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The job's world; with `aws`, its run log is a DynamoDB table in moto.
async fn world(job: Job, aws: Option<aws_config::SdkConfig>) -> World {
    let tenant = Tenant::generate(&TenantSpec { seed: 71, employees: 20, opportunities: 2, postings: 12 });
    let sb = Sandbox::start(tenant).await.expect("sandbox");
    // Each answer takes a moment, as across a network, so a run lasts while the other one starts.
    for vendor in [&sb.lever, &sb.namely, &sb.lessonly, &sb.litmos, &sb.theorg] {
        vendor.set_latency(Some(Duration::from_millis(20)));
    }
    let dir = std::env::temp_dir().join(format!("e2e-one-run-{}", uuid::Uuid::new_v4()));
    let rates = [
        ("LEVER_RATE_LIMIT", "200/s,burst=50"),
        ("NAMELY_RATE_LIMIT", "200/s,burst=50"),
        ("LESSONLY_RATE_LIMIT", "200/s,burst=50"),
        ("LITMOS_RATE_LIMIT", "200/s,burst=50"),
        ("THEORG_RATE_LIMIT", "200/s,burst=50"),
    ];
    let (mut deps, _) = e2e::sandbox_deps(&sb, &dir, &rates);
    if let Some(aws) = &aws {
        let table = e2e::create_runs_table(aws).await;
        deps.runlog = Arc::new(DynamoRunLog::new(aws, &table, 90));
    }
    World { job, sb, deps, dir }
}

impl World {
    async fn invoke(&self, trigger: &str) -> Value {
        let event = json!({"action": "sync", "trigger": trigger});
        let answer = match self.job {
            Job::Lessonly => {
                let settings = lessonly_sync::settings::LessonlySettings::from_lookup(|_| None).unwrap();
                lessonly_sync::handle_with(&self.deps, &settings, event).await
            }
            Job::Litmos => {
                let settings = litmos_sync::settings::LitmosSettings::from_lookup(|_| None).unwrap();
                litmos_sync::handle_with(&self.deps, &settings, event).await
            }
            Job::TheOrg => {
                let settings = theorg_import::settings::TheOrgSettings::from_lookup(|_| None).unwrap();
                theorg_import::handle_with(&self.deps, &settings, event).await
            }
        };
        answer.expect("the handler answers")
    }

    /// Requests the vendors were sent so far.
    fn requests(&self) -> usize {
        [&self.sb.lever, &self.sb.namely, &self.sb.lessonly, &self.sb.litmos, &self.sb.theorg]
            .iter()
            .map(|v| v.requests().len())
            .sum()
    }

    /// The records the job writes, by their key at the target; each must be there once.
    fn written(&self) -> Vec<String> {
        match self.job {
            Job::Lessonly => {
                self.sb.lessonly_data().users.iter().map(|u| u["email"].to_string().to_lowercase()).collect()
            }
            Job::Litmos => {
                self.sb.litmos_data().users.iter().map(|u| u["UserName"].to_string().to_lowercase()).collect()
            }
            Job::TheOrg => self.sb.theorg_data().jobs.iter().map(|j| j["externalId"].to_string()).collect(),
        }
    }

    async fn runs(&self) -> Vec<platform::Run> {
        self.deps.runlog.latest_runs(Some(self.job.name()), 10).await.unwrap()
    }
}

async fn one_run_at_a_time(job: Job, aws: Option<aws_config::SdkConfig>) {
    let w = world(job, aws).await;
    let before = w.written().len();

    // The schedule and an operator start the job at the same moment.
    let (scheduled, manual) = tokio::join!(w.invoke("schedule"), w.invoke("manual"));
    let answers = [&scheduled, &manual];
    let ran: Vec<&&Value> = answers.iter().filter(|a| a["status"] == "succeeded").collect();
    let refused: Vec<&&Value> = answers.iter().filter(|a| a["status"] == "already running").collect();
    assert_eq!((ran.len(), refused.len()), (1, 1), "exactly one runs: {scheduled} / {manual}");
    let winner = ran[0]["run_id"].as_str().unwrap();
    let message = refused[0]["message"].as_str().unwrap_or("");
    assert!(
        message.contains(&format!("another {} run ({winner}) is in progress", job.name()))
            && message.contains("this one did nothing"),
        "{message}"
    );
    let runs = w.runs().await;
    assert_eq!(runs.len(), 1, "one run in the run log: {runs:?}");
    assert_eq!(runs[0].run_id, winner);
    let written = w.written();
    let unique: BTreeSet<&String> = written.iter().collect();
    assert_eq!(unique.len(), written.len(), "a record was written twice: {written:?}");
    assert!(written.len() > before, "the run that ran wrote its records");

    // A run whose container died holds the lease and never gives it back.
    let lease = chrono::Duration::seconds(2);
    let dead = RunLease::acquire(&w.deps, job.name(), "dead-run", lease).await.unwrap();
    let _never_released = dead.expect("the lease is free once the run has finished");
    // It had recorded its start, and never gets to record its end.
    let mut dead_run = platform::Run::start(job.name(), platform::Trigger::Schedule);
    dead_run.run_id = "dead-run".into();
    w.deps.runlog.save_run(&dead_run).await.unwrap();
    let calls = w.requests();
    let blocked = w.invoke("schedule").await;
    assert_eq!(blocked["status"], "already running", "{blocked}");
    assert!(blocked["message"].as_str().unwrap_or("").contains("(dead-run) is in progress"), "{blocked}");
    assert_eq!(w.requests(), calls, "a blocked run called a vendor");
    assert_eq!(w.runs().await.len(), 2, "a blocked run was recorded");

    // Once the lease has run out, the next run proceeds, and ends the dead one's record: it would
    // otherwise show `running` for ever.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let after = w.invoke("schedule").await;
    assert_eq!(after["status"], "succeeded", "{after}");
    let runs = w.runs().await;
    assert_eq!(runs.len(), 3);
    let dead = runs.iter().find(|r| r.run_id == "dead-run").unwrap();
    assert_eq!(dead.status, platform::RunStatus::Failed, "{dead:?}");
    assert!(dead.message.as_deref().unwrap_or("").contains("stopped without recording its end"), "{dead:?}");
    assert!(runs.iter().all(|r| r.status != platform::RunStatus::Running), "{runs:?}");
}

#[tokio::test]
async fn lessonly_sync_runs_one_at_a_time() {
    one_run_at_a_time(Job::Lessonly, None).await;
}

#[tokio::test]
async fn litmos_sync_runs_one_at_a_time() {
    one_run_at_a_time(Job::Litmos, None).await;
}

#[tokio::test]
async fn theorg_import_runs_one_at_a_time() {
    one_run_at_a_time(Job::TheOrg, None).await;
}

#[tokio::test]
async fn lessonly_sync_runs_one_at_a_time_with_its_lease_in_dynamodb() {
    let Some(aws) = e2e::moto().await else { return };
    one_run_at_a_time(Job::Lessonly, Some(aws)).await;
}

#[tokio::test]
async fn litmos_sync_runs_one_at_a_time_with_its_lease_in_dynamodb() {
    let Some(aws) = e2e::moto().await else { return };
    one_run_at_a_time(Job::Litmos, Some(aws)).await;
}

#[tokio::test]
async fn theorg_import_runs_one_at_a_time_with_its_lease_in_dynamodb() {
    let Some(aws) = e2e::moto().await else { return };
    one_run_at_a_time(Job::TheOrg, Some(aws)).await;
}
