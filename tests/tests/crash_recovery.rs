//! A crash between two writes: the worker or the sync is stopped part way (its future dropped, as
//! Lambda stops a container at its timeout), its lease runs out, and the next attempt finishes the
//! work from what the vendors and the run log hold — nothing twice, nothing lost.
//!
//! The hire worker whose Lever write-back fails after Namely created the profile (the id already
//! saved) is covered by `hire_transfer.rs`
//! (`a_worker_that_died_after_namely_created_the_profile_is_finished_by_the_next_attempt`); here the
//! worker dies before it learns the new profile's id, and after it wrote the note.

use app::Deps;
use lever_hire_webhook::settings::HireSettings;
use lever_hire_webhook::transfer::{claim_key, TAG_FAILED, TAG_SUCCESS};
use platform::runlog::SqliteRunLog;
use platform::{Action, RunLog, RunStatus};
use sandbox::{Fault, FaultRule, Sandbox, Tenant, TenantSpec};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

struct World {
    sb: Sandbox,
    deps: Deps,
    runlog: Arc<SqliteRunLog>,
    dir: std::path::PathBuf,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn world(tenant: Tenant, overrides: &[(&str, &str)]) -> World {
    let sb = Sandbox::start(tenant).await.expect("sandbox");
    let dir = std::env::temp_dir().join(format!("e2e-crash-{}", uuid::Uuid::new_v4()));
    let mut all = vec![
        ("LEVER_RATE_LIMIT", "200/s,burst=50"),
        ("NAMELY_RATE_LIMIT", "200/s,burst=50"),
        ("LITMOS_RATE_LIMIT", "200/s,burst=50"),
        ("THEORG_RATE_LIMIT", "200/s,burst=50"),
        ("VENDOR_TIMEOUT_SECONDS", "10"),
    ];
    all.extend_from_slice(overrides);
    let (deps, runlog) = e2e::sandbox_deps(&sb, &dir, &all);
    World { sb, deps, runlog, dir }
}

/// Polls `f` the way a Lambda container runs it, until `stop` holds; then drops it mid-flight.
async fn kill_when<T>(f: impl Future<Output = T>, stop: impl Fn() -> bool) {
    let watch = async {
        while !stop() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        _ = f => panic!("the work finished before it could be stopped"),
        _ = watch => {}
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

// ---------------------------------------------------------------------------------------------
// The hire worker.

fn sqs(id: &str, receive_count: u32) -> Value {
    sqs_message(id, "candidateHired", receive_count)
}

/// An SQS batch of one queued Lever event of the hire, as the event source mapping hands it out.
fn sqs_message(id: &str, event: &str, receive_count: u32) -> Value {
    let body = json!({"opportunity_id": id, "event": event, "triggered_at": 1});
    json!({"Records": [{"messageId": format!("{event}-{receive_count}"), "receiptHandle": "r",
        "body": body.to_string(), "attributes": {"ApproximateReceiveCount": receive_count.to_string()},
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:hires"}]})
}

struct Hire {
    w: World,
    settings: HireSettings,
    id: String,
    email: String,
}

async fn hire() -> Hire {
    hire_in(world(Tenant::small(), &[]).await).await
}

async fn hire_in(w: World) -> Hire {
    let settings = HireSettings::from_lookup(|_| None).expect("settings");
    let id = w.sb.lever_data().hired_opportunity_ids()[0].clone();
    // The webhook recorded the hire before it queued it.
    let received = platform::runlog::Entry::new("hire", &id, "queued", true, json!({}));
    w.runlog.insert_entry(&received).await.unwrap();
    let email = w.sb.lever_data().opportunities.iter().find(|o| o["id"] == id.as_str()).unwrap()["emails"][0]
        .as_str()
        .unwrap()
        .to_string();
    Hire { w, settings, id, email }
}

impl Hire {
    async fn work(&self, receive_count: u32) -> Value {
        lever_hire_webhook::handle_with(&self.w.deps, &self.settings, sqs(&self.id, receive_count)).await.unwrap()
    }

    fn profiles(&self) -> Vec<Value> {
        let namely = self.w.sb.namely_data();
        namely.profiles.into_iter().filter(|p| s(&p["email"]).eq_ignore_ascii_case(&self.email)).collect()
    }

    fn notes(&self) -> Vec<String> {
        let lever = self.w.sb.lever_data();
        lever.notes.iter().filter(|n| n["opportunityId"] == self.id.as_str()).map(|n| s(&n["value"]).into()).collect()
    }

    fn tags(&self) -> Vec<String> {
        let lever = self.w.sb.lever_data();
        let o = lever.opportunities.iter().find(|o| o["id"] == self.id.as_str()).unwrap().clone();
        o["tags"].as_array().unwrap().iter().map(|t| s(t).to_string()).collect()
    }

    fn posts(&self, vendor: &sandbox::VendorHandle, path_end: &str) -> usize {
        vendor.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with(path_end)).count()
    }

    /// The dead worker's claim on the hire has a 10-minute lease; the next attempt comes after it.
    async fn lease_runs_out(&self) {
        e2e::lease_runs_out(self.w.runlog.as_ref(), &claim_key(&self.id)).await;
    }

    /// What the next attempt must leave: one profile, one success tag, one note naming it, the resume.
    async fn assert_transferred_once(&self) {
        let profiles = self.profiles();
        assert_eq!(profiles.len(), 1, "one Namely profile for {}", self.email);
        let profile_id = s(&profiles[0]["id"]).to_string();
        assert_eq!(self.posts(&self.w.sb.namely, "/profiles"), 1, "only the dead worker's POST /profiles");
        assert!(profiles[0]["resume"].as_str().is_some_and(|r| !r.is_empty()), "the resume is attached");
        let tags = self.tags();
        assert_eq!(tags.iter().filter(|t| *t == TAG_SUCCESS).count(), 1, "{tags:?}");
        assert!(!tags.iter().any(|t| t == TAG_FAILED), "{tags:?}");
        let notes = self.notes();
        assert_eq!(notes.len(), 1, "one note in Lever: {notes:?}");
        assert!(notes[0].contains(&profile_id), "the note names the profile: {notes:?}");
        let entry = self.w.runlog.entry("hire", &self.id).await.unwrap().unwrap();
        assert_eq!((entry.state.as_str(), entry.open), ("transferred", false), "{entry:?}");
        assert_eq!(entry.body["namely_id"], profile_id.as_str());

        // SQS delivers the message once more: the finished claim answers it, nothing is written.
        let before = (self.w.sb.namely.requests().len(), self.w.sb.lever.requests().len());
        assert_eq!(self.work(3).await["batchItemFailures"], json!([]));
        assert_eq!((self.w.sb.namely.requests().len(), self.w.sb.lever.requests().len()), before);
    }
}

#[tokio::test]
async fn a_worker_that_died_before_learning_the_new_profile_id_links_it_by_email_and_writes_back_once() {
    let h = hire().await;
    // Namely creates the profile at once but its answer never reaches the worker, which dies waiting.
    h.w.sb
        .namely
        .inject(FaultRule::new(Fault::Slow(Duration::from_secs(30))).method("POST").path("/profiles").times(1));
    kill_when(h.work(1), || !h.profiles().is_empty()).await;
    let entry = h.w.runlog.entry("hire", &h.id).await.unwrap().unwrap();
    assert!(entry.open && entry.body.get("namely_id").is_none(), "the id never came back: {entry:?}");
    assert!(h.notes().is_empty() && !h.tags().iter().any(|t| t == TAG_SUCCESS), "Lever was not written yet");

    h.lease_runs_out().await;
    h.w.sb.namely.clear_faults();
    assert_eq!(h.work(2).await["batchItemFailures"], json!([]), "the next attempt finishes the hire");
    let history = h.w.runlog.record_history(lever_hire_webhook::FUNCTION, &h.id, 5).await.unwrap();
    assert_eq!(history[0].action, Action::Updated, "linked, not created: {history:?}");
    let detail = history[0].detail.clone().unwrap_or_default();
    assert!(detail.contains("linked") && detail.contains(s(&h.profiles()[0]["id"])), "{detail}");
    h.assert_transferred_once().await;
}

#[tokio::test]
async fn a_create_answered_after_the_timeout_is_never_sent_twice_even_where_namely_allows_one_email_twice() {
    // Namely takes the create but lands it only after the worker stopped waiting (0.5 s), and this
    // account does not refuse a second profile with a taken e-mail.
    let w = world(Tenant::small(), &[("VENDOR_TIMEOUT_SECONDS", "0.5")]).await;
    w.sb.with_namely(|d| d.unique_emails = false);
    let h = hire_in(w).await;
    h.w.sb
        .namely
        .inject(FaultRule::new(Fault::Late(Duration::from_millis(1500))).method("POST").path("/profiles").times(1));
    let first = h.work(1).await;
    assert_eq!(first["batchItemFailures"].as_array().map(Vec::len), Some(1), "{first}");
    let history = h.w.runlog.record_history(lever_hire_webhook::FUNCTION, &h.id, 5).await.unwrap();
    let detail = history[0].detail.clone().unwrap_or_default();
    assert!(detail.contains("may have created the profile") && detail.contains("held"), "{detail}");

    // Lever's second event of the same hire arrives before the create has landed: the hire is held.
    assert!(h.profiles().is_empty(), "the create has not landed yet");
    let held = h.w.runlog.claim(&claim_key(&h.id), "probe", chrono::Duration::minutes(1)).await.unwrap();
    assert!(matches!(held, platform::Claim::InProgress { .. }), "the unknown create released the hire: {held:?}");
    let second =
        lever_hire_webhook::handle_with(&h.w.deps, &h.settings, sqs_message(&h.id, "candidateArchiveChange", 1))
            .await
            .unwrap();
    assert_eq!(second["batchItemFailures"], json!([]), "{second}");
    assert_eq!(h.posts(&h.w.sb.namely, "/profiles"), 1, "a second create was sent while the first was unknown");

    // The create lands; the lease runs out; the next attempt looks Namely up first and links it.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(h.profiles().len(), 1);
    h.lease_runs_out().await;
    assert_eq!(h.work(2).await["batchItemFailures"], json!([]));
    h.assert_transferred_once().await;
}

#[tokio::test]
async fn a_resume_that_failed_transiently_is_attached_by_the_next_attempt_to_the_same_profile() {
    let h = hire().await;
    // Namely creates the profile, then fails the file upload once (a 503).
    h.w.sb.namely.inject(FaultRule::new(Fault::ServerError(503)).method("POST").path("/files").times(1));
    let first = h.work(1).await;
    assert_eq!(first["batchItemFailures"].as_array().map(Vec::len), Some(1), "the hire waits for its resume: {first}");
    assert_eq!(h.profiles().len(), 1);
    assert!(h.profiles()[0]["resume"].is_null(), "{:?}", h.profiles()[0]);
    let entry = h.w.runlog.entry("hire", &h.id).await.unwrap().unwrap();
    assert!(entry.open && entry.body["namely_id"] == h.profiles()[0]["id"], "{entry:?}");
    assert!(h.notes().is_empty(), "Lever is told once the hire is finished");

    assert_eq!(h.work(2).await["batchItemFailures"], json!([]));
    h.assert_transferred_once().await;
    // Later deliveries find it done.
    let before = h.w.sb.namely.requests().len();
    assert_eq!(h.work(3).await["batchItemFailures"], json!([]));
    assert_eq!(h.w.sb.namely.requests().len(), before);
}

#[tokio::test]
async fn a_finished_hire_whose_entry_stayed_open_is_closed_not_run_again() {
    let h = hire().await;
    assert_eq!(h.work(1).await["batchItemFailures"], json!([]));
    h.assert_transferred_once().await;
    // The entry write after the claim was completed failed (or a redelivery reopened the entry).
    let mut entry = h.w.runlog.entry("hire", &h.id).await.unwrap().unwrap();
    entry.state = "queued".into();
    entry.open = true;
    entry.updated_at = chrono::Utc::now() - chrono::Duration::hours(1);
    h.w.runlog.put_entry(&entry).await.unwrap();

    let sweep =
        lever_hire_webhook::handle_with(&h.w.deps, &h.settings, json!({"action": "retry-sweep"})).await.unwrap();
    assert_eq!(sweep["counts"]["unchanged"], 1, "{sweep}");
    let entry = h.w.runlog.entry("hire", &h.id).await.unwrap().unwrap();
    assert_eq!((entry.state.as_str(), entry.open), ("transferred", false), "{entry:?}");
    let sweep =
        lever_hire_webhook::handle_with(&h.w.deps, &h.settings, json!({"action": "retry-sweep"})).await.unwrap();
    assert_eq!(sweep["counts"]["unchanged"], 0, "the sweep ran the finished hire again: {sweep}");
    h.assert_transferred_once().await;
}

#[tokio::test]
async fn a_worker_that_died_after_writing_the_note_is_finished_without_a_second_note() {
    let h = hire().await;
    // Lever takes the note at once but its answer never reaches the worker, which dies waiting.
    let notes = format!("/opportunities/{}/notes", h.id);
    h.w.sb.lever.inject(FaultRule::new(Fault::Slow(Duration::from_secs(30))).method("POST").path(&notes).times(1));
    kill_when(h.work(1), || !h.notes().is_empty()).await;
    assert!(h.w.runlog.entry("hire", &h.id).await.unwrap().unwrap().open, "the hire is not settled");

    h.lease_runs_out().await;
    h.w.sb.lever.clear_faults();
    assert_eq!(h.work(2).await["batchItemFailures"], json!([]));
    assert_eq!(h.posts(&h.w.sb.lever, "/notes"), 1, "the next attempt found the note and wrote none");
    let looked = h.w.sb.lever.requests().iter().any(|r| r.method == "GET" && r.path.ends_with("/notes"));
    assert!(looked, "the next attempt looked for the note first");
    h.assert_transferred_once().await;
}

// ---------------------------------------------------------------------------------------------
// The Litmos sync: paused by its time budget, then killed part way through a continuation.

/// Every learner's user name and 12 fields, and whether it is active.
fn learners(w: &World) -> Vec<String> {
    const FIELDS: [&str; 13] = [
        "UserName",
        "FirstName",
        "LastName",
        "JobTitle",
        "Email",
        "Street1",
        "City",
        "State",
        "PostalCode",
        "Country",
        "PhoneWork",
        "PhoneMobile",
        "Active",
    ];
    let mut out: Vec<String> =
        w.sb.litmos_data()
            .users
            .iter()
            .map(|u| FIELDS.iter().map(|k| u[*k].to_string()).collect::<Vec<_>>().join("|"))
            .collect();
    out.sort();
    out
}

fn litmos_tenant() -> Tenant {
    Tenant::generate(&TenantSpec { seed: 61, employees: 200, opportunities: 2, postings: 2 })
}

#[tokio::test]
async fn a_litmos_sync_killed_mid_continuation_resumes_from_its_checkpoint_to_the_clean_end_state() {
    let w = world(litmos_tenant(), &[]).await;
    let mut settings = litmos_sync::settings::LitmosSettings::from_lookup(|_| None).expect("settings");
    settings.time_budget = Duration::from_millis(300);
    let sync = |event: Value| litmos_sync::handle_with(&w.deps, &settings, event);
    let continuation = || json!({"action": "sync", "trigger": "schedule", "continue_only": true});
    let learners_before = w.sb.litmos_data().users.len();
    // Every learner created takes Litmos a while to confirm, so the budget splits the run.
    w.sb.litmos.inject(FaultRule::new(Fault::Slow(Duration::from_millis(400))).method("POST"));

    let first = sync(json!({"action": "sync", "trigger": "schedule"})).await.unwrap();
    assert_eq!(first["status"], "continuing", "{first}");
    let run_id = s(&first["run_id"]).to_string();
    let progress = w.runlog.checkpoint("litmos-sync.progress").await.unwrap().unwrap_or_default();
    assert!(progress.contains(&run_id), "the checkpoint holds the run's place: {progress}");

    // The next invocation is stopped once it has created a few more learners.
    let created = || w.sb.litmos_data().users.len();
    let at_pause = created();
    kill_when(sync(continuation()), || created() >= at_pause + 3).await;
    let blocked = sync(continuation()).await.unwrap();
    assert_eq!(blocked["status"], "already running", "the dead invocation still holds the run: {blocked}");
    assert!(s(&blocked["message"]).contains("in progress"), "{blocked}");
    // Its lease (the budget and a minute) runs out.
    w.runlog.release("litmos-sync:run").await.unwrap();

    let mut answer = sync(continuation()).await.unwrap();
    let mut invocations = 0;
    while answer["status"] == "continuing" {
        invocations += 1;
        assert!(invocations < 100, "the run does not finish: {answer}");
        answer = sync(continuation()).await.unwrap();
    }
    assert_eq!(answer["status"], "succeeded", "{answer}");
    assert_eq!(answer["run_id"], run_id.as_str(), "the same run, continued");

    let profiles = w.sb.namely_data().profiles.len();
    let runs = w.runlog.latest_runs(Some("litmos-sync"), 10).await.unwrap();
    assert_eq!(runs.len(), 1, "one run across its invocations: {runs:?}");
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(runs[0].counts.total() as usize, profiles, "counts add up to the employees: {:?}", runs[0].counts);
    let outcomes = w.runlog.run_outcomes(&run_id).await.unwrap();
    let ids: BTreeSet<&str> = outcomes.iter().map(|o| o.record_id.as_str()).collect();
    assert_eq!((outcomes.len(), ids.len()), (profiles, profiles), "one outcome per employee");

    let names: Vec<String> = w.sb.litmos_data().users.iter().map(|u| s(&u["UserName"]).to_lowercase()).collect();
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "a learner was created twice");
    let conflicts = w.sb.litmos.requests().iter().filter(|r| r.status == 409).count();
    assert_eq!(conflicts, 0, "a learner was sent to be created a second time");

    let clean = world(litmos_tenant(), &[]).await;
    let settings = litmos_sync::settings::LitmosSettings::from_lookup(|_| None).expect("settings");
    let done = litmos_sync::handle_with(&clean.deps, &settings, json!({"action": "sync"})).await.unwrap();
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(learners(&w), learners(&clean), "the same learners as one clean run");
    assert_eq!(w.sb.litmos_data().users.len() - learners_before, clean.sb.litmos_data().users.len() - learners_before);
}

// ---------------------------------------------------------------------------------------------
// The Org import: killed part way, re-run after its lease runs out.

fn theorg_tenant() -> Tenant {
    Tenant::generate(&TenantSpec { seed: 67, employees: 5, opportunities: 2, postings: 40 })
}

fn roles(w: &World) -> Vec<String> {
    let mut out: Vec<String> =
        w.sb.theorg_data()
            .jobs
            .into_iter()
            .map(|mut j| {
                j.as_object_mut().unwrap().retain(|k, _| k != "id" && k != "updatedAt");
                j.to_string()
            })
            .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_theorg_import_killed_part_way_is_finished_by_the_next_run_without_a_second_role() {
    let w = world(theorg_tenant(), &[]).await;
    let settings = theorg_import::settings::TheOrgSettings::from_lookup(|_| None).expect("settings");
    let import =
        |trigger: &str| theorg_import::handle_with(&w.deps, &settings, json!({"action": "sync", "trigger": trigger}));
    w.sb.theorg.inject(FaultRule::new(Fault::Slow(Duration::from_millis(100))).method("POST"));
    let open = {
        let lever = w.sb.lever_data();
        lever.postings.iter().filter(|p| p["state"] == "published" || p["state"] == "internal").count()
    };
    assert!(open >= 15, "the tenant needs open roles: {open}");

    kill_when(import("schedule"), || w.sb.theorg_data().jobs.len() >= 5).await;
    let published = w.sb.theorg_data().jobs.len();
    assert!(published < open, "the import was stopped part way ({published} of {open})");
    let blocked = import("manual").await.unwrap();
    assert_eq!(blocked["status"], "already running", "{blocked}");
    assert!(s(&blocked["message"]).contains("in progress"), "{blocked}");
    // Its 20-minute lease runs out.
    w.runlog.release("theorg-import:run").await.unwrap();
    w.sb.theorg.clear_faults();

    let again = import("schedule").await.unwrap();
    assert_eq!(again["status"], "succeeded", "{again}");
    let counts: platform::Counts = serde_json::from_value(again["counts"].clone()).unwrap();
    assert_eq!(counts.total() as usize, open, "counts add up to the open roles: {counts}");
    let ids: Vec<String> = w.sb.theorg_data().jobs.iter().map(|j| j["externalId"].to_string()).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (open, open), "one role per open posting");

    let clean = world(theorg_tenant(), &[]).await;
    let done = theorg_import::handle_with(&clean.deps, &settings, json!({"action": "sync"})).await.unwrap();
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(roles(&w), roles(&clean), "the same roles as one clean import");
    // A third import finds nothing to do: the adopted roles are remembered.
    let quiet = import("schedule").await.unwrap();
    assert_eq!(quiet["roles"]["unchanged"].as_u64(), Some(open as u64), "{quiet}");
}
