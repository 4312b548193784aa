//! Namely → Lessonly sync, its handler called in-process as Lambda calls it, against the sandbox
//! Namely and Lessonly and the embedded run log.

use app::Deps;
use lessonly_sync::settings::LessonlySettings;
use platform::runlog::SqliteRunLog;
use platform::{RunLog, RunStatus};
use sandbox::{Fault, FaultRule, Sandbox, Tenant, TenantSpec};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

struct Harness {
    sb: Sandbox,
    deps: Deps,
    settings: LessonlySettings,
    runlog: Arc<SqliteRunLog>,
    dir: std::path::PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn harness(employees: usize, settings: &[(&str, &str)]) -> Harness {
    let tenant = Tenant::generate(&TenantSpec { seed: 11, employees, opportunities: 2, postings: 2 });
    let sb = Sandbox::start(tenant).await.expect("sandbox");
    let dir = std::env::temp_dir().join(format!("e2e-lessonly-{}", uuid::Uuid::new_v4()));
    // The published 500/min would make a few hundred writes take most of a minute.
    let rates = [("LESSONLY_RATE_LIMIT", "100/s,burst=20"), ("NAMELY_RATE_LIMIT", "100/s")];
    let (deps, runlog) = e2e::sandbox_deps(&sb, &dir, &rates);
    let map: HashMap<String, String> = settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let settings = LessonlySettings::from_lookup(|k| map.get(k).cloned()).expect("settings");
    Harness { sb, deps, settings, runlog, dir }
}

impl Harness {
    async fn sync(&self, event: Value) -> Value {
        lessonly_sync::handle_with(&self.deps, &self.settings, event).await.expect("sync answers")
    }

    fn writes(&self) -> usize {
        self.sb.lessonly.requests().iter().filter(|r| r.method != "GET").count()
    }

    fn lessonly_user(&self, namely_id: &str) -> Option<Value> {
        self.sb.lessonly_data().users.into_iter().find(|u| u["ext_uid"] == namely_id)
    }

    fn group_members(&self, name: &str) -> Vec<i64> {
        let data = self.sb.lessonly_data();
        data.groups.iter().find(|g| g.name == name).map(|g| g.members.clone()).unwrap_or_default()
    }
}

/// The department of a Namely profile, from its groups and the department group type.
fn department_of(namely: &sandbox::NamelyData, profile: &Value) -> Option<String> {
    let dept_type = namely.group_types.iter().find(|t| t["type"] == "department")?["id"].clone();
    profile["links"]["groups"].as_array()?.iter().find_map(|g| {
        let group = namely.groups.iter().find(|x| x["id"] == g["id"])?;
        (group["links"]["group_type"] == dept_type).then(|| group["title"].as_str().unwrap().to_string())
    })
}

#[tokio::test]
async fn a_tenant_of_a_few_hundred_syncs_completely_and_a_second_run_writes_nothing() {
    let h = harness(300, &[("LESSONLY_GROUPS_FROM", "department,job_tier")]).await;
    let summary = h.sync(json!({"action": "sync"})).await;
    assert_eq!(summary["status"], "succeeded", "{summary}");
    let namely = h.sb.namely_data();
    let statuses: Vec<&str> = namely.profiles.iter().map(|p| p["user_status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"pending") && statuses.contains(&"inactive"), "the tenant needs every status");

    let lessonly = h.sb.lessonly_data();
    for p in &namely.profiles {
        let id = p["id"].as_str().unwrap();
        let user = lessonly.users.iter().find(|u| u["ext_uid"] == id);
        match p["user_status"].as_str().unwrap() {
            "inactive" => assert!(
                user.is_none_or(|u| !u["archived_at"].is_null()),
                "an inactive employee is archived or absent: {user:?}"
            ),
            _ if p["email"].as_str().unwrap_or("").is_empty() => {
                let history = h.runlog.record_history("lessonly-sync", id, 1).await.unwrap();
                assert_eq!(history[0].action, platform::Action::Skipped, "no work email: {history:?}");
                assert!(history[0].detail.as_deref().unwrap_or("").contains("no email"), "{history:?}");
            }
            _ => {
                if user.is_none() {
                    let history = h.runlog.record_history("lessonly-sync", id, 1).await.unwrap();
                    panic!("no Lessonly user for {p}: {history:?}");
                }
                let user = user.unwrap();
                assert!(user["archived_at"].is_null(), "{user}");
                assert!(user["email"].as_str().unwrap().eq_ignore_ascii_case(p["email"].as_str().unwrap()));
                assert_eq!(user["job_title"], p["job_title"]["title"]);
                let dept = department_of(&namely, p);
                assert_eq!(user["department"].as_str(), dept.as_deref(), "{user}");
                if let Some(dept) = dept {
                    let uid = user["id"].as_i64().unwrap();
                    assert!(h.group_members(&dept).contains(&uid), "{id} is not in group {dept}");
                }
            }
        }
    }
    // One Lessonly user per Namely profile: no duplicate ext_uid, no duplicate email.
    let mut ext: Vec<&str> = lessonly.users.iter().filter_map(|u| u["ext_uid"].as_str()).collect();
    let before = ext.len();
    ext.sort();
    ext.dedup();
    assert_eq!(ext.len(), before, "two Lessonly users for one Namely profile");
    // Tier groups exist too, and unrelated groups were left alone.
    assert!(lessonly.groups.iter().any(|g| g.name == "All Employees" && g.members.len() >= 5));

    let run = h.runlog.latest_runs(Some("lessonly-sync"), 1).await.unwrap().remove(0);
    assert_eq!(run.counts.total() as usize, namely.profiles.len(), "one outcome per Namely profile: {run:?}");
    assert!(run.counts.created > 250, "{run:?}");

    let writes = h.writes();
    let again = h.sync(json!({"action": "sync", "trigger": "schedule"})).await;
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(h.writes(), writes, "a second run with no change in Namely must not write");
    assert_eq!(again["counts"]["created"], 0);
    assert_eq!(again["counts"]["updated"], 0, "{again}");
}

#[tokio::test]
async fn moving_departments_moves_group_membership_and_inactive_users_are_archived() {
    let h = harness(40, &[]).await;
    h.sync(json!({"action": "sync"})).await;
    let namely = h.sb.namely_data();
    let mover = namely
        .profiles
        .iter()
        .find(|p| p["user_status"] == "active" && department_of(&namely, p).is_some())
        .unwrap()
        .clone();
    let old_dept = department_of(&namely, &mover).unwrap();
    let new_group =
        namely.groups.iter().find(|g| g["type"] == "Departments" && g["title"] != old_dept.as_str()).unwrap().clone();
    let id = mover["id"].as_str().unwrap().to_string();
    let old_group_id = namely.groups.iter().find(|g| g["title"] == old_dept.as_str()).unwrap()["id"].clone();
    h.sb.with_namely(|d| {
        let p = d.profile_mut(&id).unwrap();
        let groups = p["links"]["groups"].as_array_mut().unwrap();
        groups.retain(|g| g["id"] != old_group_id);
        groups.push(json!({"id": new_group["id"], "name": new_group["title"]}));
    });
    let leaver = namely.profiles.iter().find(|p| p["user_status"] == "active" && p["id"] != id.as_str()).unwrap();
    let leaver_id = leaver["id"].as_str().unwrap().to_string();
    h.sb.with_namely(|d| d.set_status(&leaver_id, "inactive"));

    let summary = h.sync(json!({"action": "sync"})).await;
    assert_eq!(summary["status"], "succeeded", "{summary}");
    let uid = h.lessonly_user(&id).unwrap()["id"].as_i64().unwrap();
    let new_name = new_group["title"].as_str().unwrap();
    assert!(h.group_members(new_name).contains(&uid), "added to {new_name}");
    assert!(!h.group_members(&old_dept).contains(&uid), "removed from {old_dept}");
    assert_eq!(h.lessonly_user(&id).unwrap()["department"], new_name);
    assert!(!h.lessonly_user(&leaver_id).unwrap()["archived_at"].is_null(), "the leaver is archived");

    // The run log tells the operator what happened to each of them.
    let history = h.runlog.record_history("lessonly-sync", &id, 5).await.unwrap();
    let detail = history[0].detail.clone().unwrap_or_default();
    assert!(detail.contains(new_name) && detail.contains(&old_dept), "{detail}");
    // Archived as the users are written, and out of the group once everyone is placed: two outcomes.
    let history = h.runlog.record_history("lessonly-sync", &leaver_id, 5).await.unwrap();
    let this_run: Vec<String> = history
        .iter()
        .filter(|o| summary["run_id"] == o.run_id.as_str())
        .map(|o| o.detail.clone().unwrap_or_default())
        .collect();
    assert!(this_run.iter().any(|d| d.contains("archived")), "{history:?}");
    assert!(this_run.iter().any(|d| d.contains("removed from group")), "{history:?}");

    // Back in Namely: restored.
    h.sb.with_namely(|d| d.set_status(&leaver_id, "active"));
    h.sync(json!({"action": "sync"})).await;
    assert!(h.lessonly_user(&leaver_id).unwrap()["archived_at"].is_null(), "restored when back");
}

#[tokio::test]
async fn a_missing_lessonly_custom_field_is_reported_and_never_created() {
    let h = harness(30, &[("LESSONLY_CUSTOM_FIELDS", "employee_id:Employee ID, shoe_size")]).await;
    let fields_before = h.sb.lessonly_data().custom_fields.len();
    let summary = h.sync(json!({"action": "sync"})).await;
    assert_eq!(summary["status"], "succeeded", "{summary}");
    assert_eq!(h.sb.lessonly_data().custom_fields.len(), fields_before, "a Lessonly field was created");
    let warnings = summary["warnings"].to_string();
    assert!(warnings.contains("shoe_size"), "{summary}");
    let run = h.runlog.latest_runs(Some("lessonly-sync"), 1).await.unwrap().remove(0);
    assert!(run.message.unwrap_or_default().contains("shoe_size"), "the run log names the missing field");
    // The field that exists was synced.
    let namely = h.sb.namely_data();
    let p = namely.profiles.iter().find(|p| p["user_status"] == "active" && p["employee_id"].is_string()).unwrap();
    let user = h.lessonly_user(p["id"].as_str().unwrap()).unwrap();
    let value = user["custom_user_field_data"].as_array().unwrap().iter().find(|c| c["custom_user_field_id"] == 101);
    assert_eq!(value.map(|c| c["value"].clone()), Some(p["employee_id"].clone()), "{user}");
    let created_by_name = h.sb.lessonly.requests().iter().any(|r| r.body.contains("\"name\":\"shoe_size\""));
    assert!(!created_by_name, "a custom field was sent by name");
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_reports_the_plan() {
    let h = harness(25, &[]).await;
    let summary = h.sync(json!({"action": "sync", "dry_run": true})).await;
    assert_eq!(h.writes(), 0, "a dry run wrote to Lessonly");
    assert_eq!(summary["dry_run"], true);
    let plan: Vec<String> =
        summary["plan"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
    assert!(plan.iter().any(|l| l.starts_with("create ")), "{plan:?}");
    assert!(plan.iter().any(|l| l.starts_with("group '") && l.contains("add")), "{plan:?}");
    assert!(summary["writes"].as_u64().unwrap() > 0);
    // Applying it then does what it said.
    let applied = h.sync(json!({"action": "sync"})).await;
    assert_eq!(applied["counts"]["created"], summary["counts"]["created"], "{applied}");
}

#[tokio::test]
async fn a_revoked_namely_token_fails_the_run_with_what_to_do() {
    let h = harness(10, &[]).await;
    h.sb.namely.inject(FaultRule::new(Fault::Unauthorized));
    let summary = h.sync(json!({"action": "sync"})).await;
    assert_eq!(summary["status"], "failed", "{summary}");
    let error = summary["error"].as_str().unwrap();
    assert!(error.contains("personal access token"), "{error}");
    assert!(!error.contains(&h.sb.credentials.namely_token), "the token leaked");
    let run = h.runlog.latest_runs(Some("lessonly-sync"), 1).await.unwrap().remove(0);
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(h.writes(), 0);
}

#[tokio::test]
async fn a_lessonly_key_refused_mid_run_fails_the_run_and_records_what_was_written() {
    let h = harness(60, &[]).await;
    // Every fifth create is refused, as when the key is revoked while the run writes.
    h.sb.lessonly.inject(FaultRule::new(Fault::Unauthorized).method("POST").share(0.2));
    let summary = h.sync(json!({"action": "sync"})).await;
    assert_eq!(summary["status"], "failed", "{summary}");
    let error = summary["error"].as_str().unwrap();
    assert!(error.contains("Lessonly refused the API key") && error.contains("Lessonly secret"), "{error}");
    let created = h.sb.lessonly.requests().iter().filter(|r| r.method == "POST" && r.status == 201).count();
    assert!(created > 0, "some creates got through before the refusal");
    let run = summary["run_id"].as_str().unwrap();
    let outcomes = h.runlog.run_outcomes(run).await.unwrap();
    let recorded = outcomes.iter().filter(|o| o.action == platform::Action::Created).count();
    assert_eq!(recorded, created, "every user written before the run failed has its outcome");
    assert!(outcomes.iter().any(|o| o.action == platform::Action::Failed), "the refused one is recorded too");
}

#[tokio::test]
async fn a_throttled_lessonly_slows_the_run_but_it_completes() {
    let h = harness(30, &[]).await;
    h.sb.lessonly.set_retry_after(Some(1));
    h.sb.lessonly.inject(FaultRule::new(Fault::Throttle).method("POST").times(3));
    let summary = h.sync(json!({"action": "sync"})).await;
    assert_eq!(summary["status"], "succeeded", "{summary}");
    let throttled = h.sb.lessonly.requests().iter().filter(|r| r.status == 403).count();
    assert_eq!(throttled, 3, "the sandbox answered 403 Rate Limit Exceeded three times");
    assert_eq!(summary["counts"]["failed"], 0);
}

#[tokio::test]
async fn one_run_at_a_time_and_the_first_set_up_sync_happens_once() {
    let h = harness(10, &[]).await;
    let first = h.sync(json!({"action": "sync", "trigger": "schedule", "initial": true})).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    let again = h.sync(json!({"action": "sync", "trigger": "schedule", "initial": true})).await;
    assert_eq!(again["status"], "skipped", "{again}");

    // A run holding the lease makes a second one stand aside.
    let lease = h.runlog.claim("lessonly-sync:run", "other-run", chrono::Duration::minutes(5)).await.unwrap();
    assert_eq!(lease, platform::Claim::Acquired);
    let blocked = h.sync(json!({"action": "sync"})).await;
    assert_eq!(blocked["status"], "already running", "{blocked}");
    h.runlog.release("lessonly-sync:run").await.unwrap();
}

#[tokio::test]
async fn a_namely_token_expiring_within_30_days_is_a_warning_in_the_run_log() {
    let soon = (chrono::Utc::now().date_naive() + chrono::Duration::days(20)).to_string();
    let later = (chrono::Utc::now().date_naive() + chrono::Duration::days(45)).to_string();
    for (expires, warned) in [(soon, true), (later, false)] {
        let mut h = harness(5, &[]).await;
        let secret = json!({"company": h.sb.credentials.namely_company, "token": h.sb.credentials.namely_token,
                            "expires_on": expires});
        // A second handle on the same run-log file: `h.runlog` reads what this one records.
        h.deps = e2e::sandbox_deps(&h.sb, &h.dir, &[("NAMELY_SECRET_JSON", &secret.to_string())]).0;
        let summary = h.sync(json!({"action": "sync"})).await;
        assert_eq!(summary["status"], "succeeded", "{summary}");
        let run = h.runlog.latest_runs(Some("lessonly-sync"), 1).await.unwrap().remove(0);
        let message = run.message.unwrap_or_default();
        assert_eq!(message.contains(&format!("expires on {expires}")), warned, "{expires}: {message}");
        assert!(!message.contains(&h.sb.credentials.namely_token), "the token leaked");
    }
}

/// The `page` of a Namely profiles query.
fn page_of(query: &str) -> u32 {
    query.split('&').find_map(|kv| kv.strip_prefix("page=")).and_then(|p| p.parse().ok()).unwrap_or(1)
}

/// Lessonly as people see it: each user (by ext_uid) with its fields, and each group's members.
fn lessonly_state(h: &Harness) -> (Vec<Value>, Vec<(String, Vec<String>)>) {
    let data = h.sb.lessonly_data();
    let ext_of: HashMap<i64, String> = data
        .users
        .iter()
        .map(|u| (u["id"].as_i64().unwrap(), u["ext_uid"].as_str().unwrap_or("").to_string()))
        .collect();
    let mut users: Vec<Value> = data
        .users
        .iter()
        .map(|u| {
            let fields = ["ext_uid", "email", "name", "job_title", "department", "location", "hire_date"];
            let mut kept: serde_json::Map<String, Value> =
                fields.iter().map(|k| (k.to_string(), u[*k].clone())).collect();
            kept.insert("archived".into(), json!(!u["archived_at"].is_null()));
            Value::Object(kept)
        })
        .collect();
    users.sort_by_key(|u| u["ext_uid"].to_string());
    let mut groups: Vec<(String, Vec<String>)> = data
        .groups
        .iter()
        .map(|g| {
            let mut members: Vec<String> = g.members.iter().filter_map(|id| ext_of.get(id).cloned()).collect();
            members.sort();
            (g.name.clone(), members)
        })
        .collect();
    groups.sort();
    (users, groups)
}

#[tokio::test]
async fn a_run_out_of_time_continues_across_invocations_to_the_same_end_state() {
    // Every Lessonly create takes 200 ms, and an invocation may start work for one second.
    let settings = [("LESSONLY_GROUPS_FROM", "department,job_tier"), ("LESSONLY_TIME_BUDGET_SECONDS", "1")];
    let slow = harness(400, &settings).await;
    slow.sb.lessonly.inject(FaultRule::new(Fault::Slow(std::time::Duration::from_millis(200))).method("POST"));
    let mut answer = slow.sync(json!({"action": "sync", "trigger": "schedule"})).await;
    let mut invocations = 1;
    // The pages each invocation read, in order: a continued one starts where the last one stopped.
    let mut pages_read: Vec<Vec<u32>> = Vec::new();
    while answer["status"] == "continuing" {
        assert!(invocations < 50, "the run does not finish: {answer}");
        slow.sb.namely.clear_requests();
        answer = slow.sync(json!({"action": "sync", "trigger": "schedule", "continue_only": true})).await;
        invocations += 1;
        let requests = slow.sb.namely.requests();
        pages_read.push(requests.iter().filter(|r| r.path.ends_with("/profiles")).map(|r| page_of(&r.query)).collect());
    }
    assert_eq!(answer["status"], "succeeded", "{answer}");
    assert!(invocations > 2, "the budget should have split the run, it took {invocations} invocation(s)");
    assert!(pages_read.iter().any(|p| p.first().is_some_and(|&first| first > 1)), "{pages_read:?}");
    // The pages before the resume page (needed only for the groups) are read beside the pages
    // after it, not after the last of them.
    let resumed_mid_way: Vec<&Vec<u32>> = pages_read
        .iter()
        .filter(|p| p.first().is_some_and(|&first| first > 1 && p.iter().any(|&q| q > first)))
        .collect();
    assert!(!resumed_mid_way.is_empty(), "no invocation resumed before the last page: {pages_read:?}");
    for pages in resumed_mid_way {
        let (first, last) = (pages[0], *pages.iter().max().unwrap());
        let before = pages.iter().position(|&p| p < first).unwrap_or(usize::MAX);
        let end = pages.iter().position(|&p| p == last).unwrap();
        assert!(before < end, "page 1.. read only after the last page: {pages:?}");
    }
    let idle = slow.sync(json!({"action": "sync", "continue_only": true})).await;
    assert_eq!(idle["status"], "idle", "{idle}");

    let runs = slow.runlog.latest_runs(Some("lessonly-sync"), 10).await.unwrap();
    assert_eq!(runs.len(), 1, "one run across its invocations: {runs:?}");
    let profiles = slow.sb.namely_data().profiles.len();
    assert_eq!(runs[0].counts.total() as usize, profiles, "one count per employee: {:?}", runs[0].counts);
    let outcomes = slow.runlog.run_outcomes(&runs[0].run_id).await.unwrap();
    let mut ids: Vec<&str> = outcomes.iter().map(|o| o.record_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), profiles, "every employee has an outcome");
    // Groups come last, once everyone is placed: someone created by the first invocation has a
    // follow-up outcome in the same run saying which groups they joined.
    let first = outcomes.iter().find(|o| o.action == platform::Action::Created).unwrap();
    let history: Vec<&platform::Outcome> = outcomes.iter().filter(|o| o.record_id == first.record_id).collect();
    assert!(history.iter().any(|o| o.detail.as_deref().unwrap_or("").contains("added to group")), "{history:?}");
    let creates =
        slow.sb.lessonly.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/v1/users")).count();

    let fast = harness(400, &settings[..1]).await;
    let clean = fast.sync(json!({"action": "sync"})).await;
    assert_eq!(clean["status"], "succeeded", "{clean}");
    assert_eq!(lessonly_state(&slow), lessonly_state(&fast), "the same end state as one long run");
    let fast_creates =
        fast.sb.lessonly.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/v1/users")).count();
    assert_eq!(creates, fast_creates, "a user was created twice");
    assert_eq!(runs[0].counts, fast.runlog.latest_runs(Some("lessonly-sync"), 1).await.unwrap()[0].counts);
}

#[tokio::test]
async fn a_run_killed_mid_way_keeps_what_it_recorded_and_the_next_run_finishes_without_duplicates() {
    let settings = [("LESSONLY_GROUPS_FROM", "department")];
    let h = harness(120, &settings).await;
    h.sb.lessonly.inject(FaultRule::new(Fault::Slow(std::time::Duration::from_millis(300))).method("POST"));
    // The invocation dies (a crash, Lambda's timeout) while users are being written.
    let killed = tokio::time::timeout(std::time::Duration::from_millis(1500), h.sync(json!({"action": "sync"}))).await;
    assert!(killed.is_err(), "the run should still have been writing: {killed:?}");
    let dead = h.runlog.latest_runs(Some("lessonly-sync"), 1).await.unwrap().remove(0);
    assert_eq!(dead.status, RunStatus::Running);
    let created = h.sb.lessonly_data().users.len();
    let recorded = h.runlog.run_outcomes(&dead.run_id).await.unwrap();
    assert!(!recorded.is_empty() && recorded.len() <= created, "{} recorded, {created} created", recorded.len());

    // Its lease runs out (given back here rather than waited for), and the next run takes over.
    h.runlog.release("lessonly-sync:run").await.unwrap();
    h.sb.lessonly.clear_faults();
    let next = h.sync(json!({"action": "sync", "trigger": "schedule"})).await;
    assert_eq!(next["status"], "succeeded", "{next}");
    let dead = h.runlog.run(&dead.run_id).await.unwrap().unwrap();
    assert_eq!(dead.status, RunStatus::Failed, "the dead run is ended, not left running: {dead:?}");

    let clean = harness(120, &settings).await;
    clean.sync(json!({"action": "sync"})).await;
    assert_eq!(lessonly_state(&h), lessonly_state(&clean), "the same end state as a run that was never killed");
    // (Requests cut off by the kill have no status, so users are counted rather than 201s.)
    let users = |h: &Harness| h.sb.lessonly_data().users.len();
    assert_eq!(users(&h), users(&clean), "a user was created twice");
}
