//! Namely → Litmos sync, its handler called in-process as Lambda calls it, against the sandbox
//! Namely and Litmos and the embedded run log.

use app::Deps;
use litmos_sync::settings::LitmosSettings;
use platform::runlog::SqliteRunLog;
use platform::{Action, RunLog, RunStatus};
use sandbox::{Fault, FaultRule, Sandbox, Tenant, TenantSpec};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

struct Harness {
    sb: Sandbox,
    deps: Deps,
    settings: LitmosSettings,
    runlog: Arc<SqliteRunLog>,
    dir: std::path::PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tenant(employees: usize) -> Tenant {
    Tenant::generate(&TenantSpec { seed: 23, employees, opportunities: 2, postings: 2 })
}

async fn harness(employees: usize, settings: &[(&str, &str)]) -> Harness {
    harness_on(tenant(employees), settings, None).await
}

/// A harness on `tenant`; `company` replaces the Namely secret's company (what an admin pasted).
async fn harness_on(tenant: Tenant, settings: &[(&str, &str)], company: Option<&str>) -> Harness {
    let sb = Sandbox::start(tenant).await.expect("sandbox");
    let dir = std::env::temp_dir().join(format!("e2e-litmos-{}", uuid::Uuid::new_v4()));
    // The published 100/min would make a few dozen writes take most of a minute.
    let secret = company.map(|company| json!({"company": company, "token": sb.credentials.namely_token}).to_string());
    let mut overrides = vec![("LITMOS_RATE_LIMIT", "100/s,burst=20"), ("NAMELY_RATE_LIMIT", "100/s")];
    if let Some(secret) = &secret {
        overrides.push(("NAMELY_SECRET_JSON", secret));
    }
    let (deps, runlog) = e2e::sandbox_deps(&sb, &dir, &overrides);
    let map: HashMap<String, String> = settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let settings = LitmosSettings::from_lookup(|k| map.get(k).cloned()).expect("settings");
    Harness { sb, deps, settings, runlog, dir }
}

impl Harness {
    async fn sync(&self, event: Value) -> Value {
        litmos_sync::handle_with(&self.deps, &self.settings, event).await.expect("sync answers")
    }

    fn writes(&self) -> usize {
        self.sb.litmos.requests().iter().filter(|r| r.method != "GET").count()
    }

    fn learner(&self, username: &str) -> Option<Value> {
        self.sb
            .litmos_data()
            .users
            .into_iter()
            .find(|u| u["UserName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(username)))
    }

    fn opted_in(&self) -> Vec<Value> {
        let key = self.sb.namely_data().litmos_field_key;
        self.sb.namely_data().profiles.into_iter().filter(|p| p[key.as_str()] == "Yes").collect()
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

#[tokio::test]
async fn only_opted_in_employees_become_learners_with_all_twelve_fields_and_a_rerun_writes_nothing() {
    let h = harness(60, &[]).await;
    let summary = h.sync(json!({"action": "sync"})).await;
    assert_eq!(summary["status"], "succeeded", "{summary}");
    let key = h.sb.namely_data().litmos_field_key;
    let namely = h.sb.namely_data();
    let mut checked = 0;
    for p in &namely.profiles {
        let email = s(&p["email"]);
        if email.is_empty() {
            continue;
        }
        let learner = h.learner(email);
        let wanted = p[key.as_str()] == "Yes" && p["user_status"] != "inactive";
        if !wanted {
            // Not opted in (or terminated): no learner was created for them.
            let pre_existing = learner.as_ref().is_some_and(|l| l["CreatedDate"].as_str().is_some_and(|d| d < "2026"));
            assert!(learner.is_none() || pre_existing, "{email} should not have been made a learner");
            continue;
        }
        let l = learner.unwrap_or_else(|| panic!("no learner for opted-in {email}"));
        assert_eq!(l["Active"], true, "{l}");
        assert_eq!(s(&l["FirstName"]), s(&p["first_name"]));
        assert_eq!(s(&l["LastName"]), s(&p["last_name"]));
        assert!(s(&l["UserName"]).eq_ignore_ascii_case(email) && s(&l["Email"]).eq_ignore_ascii_case(email));
        assert_eq!(s(&l["JobTitle"]), s(&p["job_title"]["title"]));
        assert!(s(&l["Street1"]).starts_with(s(&p["office"]["address1"])), "{l}");
        assert_eq!(s(&l["City"]), s(&p["office"]["city"]));
        assert_eq!(s(&l["State"]), s(&p["office"]["state_id"]));
        assert_eq!(s(&l["PostalCode"]), s(&p["office"]["zip"]));
        let country = s(&l["Country"]);
        match s(&p["office"]["country_id"]) {
            "US" => assert_eq!(country, "United States"),
            "CA" => assert_eq!(country, "Canada"),
            "GB" => assert_eq!(country, "United Kingdom"),
            other => assert!(!country.is_empty(), "{other}: {l}"),
        }
        let work_phone = p["office_phone"].as_str().filter(|x| !x.is_empty()).unwrap_or(s(&p["office"]["phone"]));
        assert_eq!(s(&l["PhoneWork"]), work_phone);
        assert_eq!(s(&l["PhoneMobile"]), s(&p["mobile_phone"]));
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} opted-in employees checked");

    let writes = h.writes();
    let again = h.sync(json!({"action": "sync", "trigger": "schedule"})).await;
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(h.writes(), writes, "a second run with no change in Namely must not write");
    assert_eq!((again["counts"]["created"].as_u64(), again["counts"]["updated"].as_u64()), (Some(0), Some(0)));
}

#[tokio::test]
async fn an_address_change_a_termination_and_a_new_email_each_touch_only_their_learner() {
    let h = harness(40, &[]).await;
    h.sync(json!({"action": "sync"})).await;
    let people: Vec<Value> =
        h.opted_in().into_iter().filter(|p| p["user_status"] == "active" && !s(&p["email"]).is_empty()).collect();
    let (mover, leaver, renamed) = (people[0].clone(), people[1].clone(), people[2].clone());
    let users_before = h.sb.litmos_data().users.len();
    h.sb.with_namely(|d| {
        d.profile_mut(s(&mover["id"])).unwrap()["office"]["address1"] = json!("1 New Street");
        d.profile_mut(s(&renamed["id"])).unwrap()["email"] = json!("brand.new.address@acme.example.com");
    });
    h.sb.with_namely(|d| d.set_status(s(&leaver["id"]), "inactive"));
    let writes = h.writes();
    let summary = h.sync(json!({"action": "sync"})).await;
    assert_eq!(summary["status"], "succeeded", "{summary}");
    assert_eq!(summary["counts"]["updated"], 3, "{summary}");
    // Read, change, write: one PUT each, nothing else written.
    assert_eq!(h.writes() - writes, 3, "writes for three changes");

    assert_eq!(s(&h.learner(s(&mover["email"])).unwrap()["Street1"]), "1 New Street");
    let history = h.runlog.record_history("litmos-sync", s(&mover["id"]), 1).await.unwrap();
    let detail = history[0].detail.clone().unwrap();
    assert!(detail.contains("Street1") && detail.contains("1 New Street") && !detail.contains("City"), "{detail}");

    let gone = h.learner(s(&leaver["email"])).expect("terminated learners are kept");
    assert_eq!(gone["Active"], false, "deactivated, never deleted");

    assert!(h.learner("brand.new.address@acme.example.com").is_some(), "the same learner now has the new email");
    assert!(h.learner(s(&renamed["email"])).is_none(), "no learner is left on the old address");
    assert_eq!(h.sb.litmos_data().users.len(), users_before, "a changed email created a second learner");

    // The terminated employee returns.
    h.sb.with_namely(|d| d.set_status(s(&leaver["id"]), "active"));
    h.sync(json!({"action": "sync"})).await;
    assert_eq!(h.learner(s(&leaver["email"])).unwrap()["Active"], true, "reactivated");
}

#[tokio::test]
async fn the_namely_subdomain_is_taken_as_admins_paste_it() {
    for company in ["acme", "acme.namely.com", "https://acme.namely.com/", " ACME.namely.com "] {
        let h = harness_on(tenant(10), &[], Some(company)).await;
        let summary = h.sync(json!({"action": "sync"})).await;
        assert_eq!(summary["status"], "succeeded", "{company}: {summary}");
        assert!(h.sb.namely.requests().iter().all(|r| r.path.starts_with("/acme/")), "{company}");
    }
}

#[tokio::test]
async fn a_disabled_sync_records_that_it_skipped_and_touches_nothing() {
    let h = harness(10, &[("LITMOS_SYNC_ENABLED", "false")]).await;
    let summary = h.sync(json!({"action": "sync", "trigger": "schedule"})).await;
    assert_eq!(summary["status"], "skipped", "{summary}");
    assert!(h.sb.namely.requests().is_empty() && h.sb.litmos.requests().is_empty(), "a vendor was called");
    let run = h.runlog.latest_runs(Some("litmos-sync"), 1).await.unwrap().remove(0);
    assert!(run.message.unwrap_or_default().contains("disabled"));
}

#[tokio::test]
async fn a_missing_litmos_activated_field_fails_with_how_to_create_it() {
    let h = harness(10, &[]).await;
    h.sb.with_namely(|d| d.fields.retain(|f| f["label"] != "Litmos Activated"));
    let summary = h.sync(json!({"action": "sync"})).await;
    assert_eq!(summary["status"], "failed", "{summary}");
    let error = s(&summary["error"]);
    assert!(error.contains("Litmos Activated") && error.contains("Add New Field") && error.contains("Yes"), "{error}");
    assert_eq!(h.writes(), 0);
}

#[tokio::test]
async fn litmos_503_throttling_slows_the_run_but_it_completes() {
    let h = harness(30, &[]).await;
    h.sb.litmos.set_retry_after(Some(1));
    h.sb.litmos.inject(FaultRule::new(Fault::Throttle).method("POST").times(3));
    let summary = h.sync(json!({"action": "sync"})).await;
    assert_eq!(summary["status"], "succeeded", "{summary}");
    assert_eq!(h.sb.litmos.requests().iter().filter(|r| r.status == 503).count(), 3);
    assert_eq!(summary["counts"]["failed"], 0);
}

/// Usernames and the 12 fields of every learner, for comparing end states.
fn learners(h: &Harness) -> Vec<String> {
    let mut out: Vec<String> =
        h.sb.litmos_data()
            .users
            .iter()
            .map(|u| {
                let fields = ["UserName", "FirstName", "LastName", "JobTitle", "Email", "Street1", "City", "State"];
                let more = ["PostalCode", "Country", "PhoneWork", "PhoneMobile", "Active"];
                fields.iter().chain(more.iter()).map(|k| u[*k].to_string()).collect::<Vec<_>>().join("|")
            })
            .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_run_out_of_time_continues_across_invocations_to_the_same_end_state() {
    // Every Litmos create takes half a second, and an invocation may start work for one second.
    let slow = harness(200, &[("LITMOS_TIME_BUDGET_SECONDS", "1")]).await;
    slow.sb.litmos.inject(FaultRule::new(Fault::Slow(Duration::from_millis(500))).method("POST"));
    let mut answer = slow.sync(json!({"action": "sync", "trigger": "schedule"})).await;
    let mut invocations = 1;
    while answer["status"] == "continuing" {
        assert!(invocations < 50, "the run does not finish: {answer}");
        answer = slow.sync(json!({"action": "sync", "trigger": "schedule", "continue_only": true})).await;
        invocations += 1;
    }
    assert_eq!(answer["status"], "succeeded", "{answer}");
    assert!(invocations > 2, "the budget should have split the run, it took {invocations} invocation(s)");
    let idle = slow.sync(json!({"action": "sync", "continue_only": true})).await;
    assert_eq!(idle["status"], "idle", "{idle}");

    let runs = slow.runlog.latest_runs(Some("litmos-sync"), 10).await.unwrap();
    assert_eq!(runs.len(), 1, "one run across its invocations: {runs:?}");
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    let outcomes = slow.runlog.run_outcomes(&runs[0].run_id).await.unwrap();
    let mut ids: Vec<&str> = outcomes.iter().map(|o| o.record_id.as_str()).collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "an employee was handled twice");
    assert_eq!(total, slow.sb.namely_data().profiles.len(), "every employee has an outcome");

    let fast = harness(200, &[]).await;
    fast.sync(json!({"action": "sync"})).await;
    assert_eq!(learners(&slow), learners(&fast), "the same end state as one long run");
    let mut names: Vec<String> = slow.sb.litmos_data().users.iter().map(|u| s(&u["UserName"]).to_lowercase()).collect();
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "a learner was created twice");
}

#[tokio::test]
async fn a_dry_run_lists_the_plan_and_writes_nothing() {
    let h = harness(30, &[]).await;
    let plan = h.sync(json!({"action": "sync", "dry_run": true})).await;
    assert_eq!(h.writes(), 0);
    let lines: Vec<&str> = plan["plan"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(lines.iter().any(|l| l.starts_with("create learner ")), "{plan}");
    assert!(lines.iter().any(|l| l.contains("Litmos Activated is not Yes")), "{plan}");
    let applied = h.sync(json!({"action": "sync"})).await;
    assert_eq!(applied["counts"]["created"], plan["counts"]["created"], "{applied}");
    let outcomes = h.runlog.run_outcomes(s(&applied["run_id"])).await.unwrap();
    assert!(outcomes.iter().any(|o| o.action == Action::Created && o.detail.as_deref().unwrap().contains("JobTitle=")));
}
