//! The fault matrix: every job × every vendor it touches × every fault the sandbox can inject
//! (throttle, 5xx, an answer slower than the client's timeout, an HTML body, malformed JSON, 401,
//! 403), on a share of the vendor's requests or on one decisive request. Each case checks that the
//! fault was really answered, that the run ended with a status that fits and an error a person can
//! act on, that its counts add up to the records it considered, and that a re-run once the fault
//! has cleared reaches exactly the end state of a clean run of the same tenant, with nothing
//! created twice.
//!
//! The cases of one job run at once, each on its own sandbox and run log, so a job takes as long as
//! its slowest case (the slow answers that exhaust the client's retries).

use app::Deps;
use lever_hire_webhook::transfer::{claim_key, TAG_RETRY, TAG_SUCCESS};
use platform::runlog::SqliteRunLog;
use platform::{Action, Counts, RunLog, RunStatus};
use sandbox::{Fault, FaultRule, Sandbox, Tenant, TenantSpec, VendorHandle};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Hire,
    Lessonly,
    Litmos,
    TheOrg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vendor {
    Lever,
    Namely,
    Lessonly,
    Litmos,
    TheOrg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Throttle,
    ServerError(u16),
    /// An answer that comes after the client's timeout.
    Slow,
    Html,
    Malformed,
    Unauthorized,
    Forbidden,
}

/// Which requests get the fault.
#[derive(Debug, Clone, Copy)]
enum At {
    /// Every request to the vendor.
    All,
    /// This share of the vendor's requests, spread evenly, at most [`SHARE_CAP`] of them: fewer
    /// than the client's attempts at one request, so the run absorbs them whichever request they hit.
    Share(f64),
    /// This share of the vendor's requests with this method, spread evenly (no cap).
    ShareOf(&'static str, f64),
    /// The first `n` requests with this method and path prefix; `{hire}` is the first hire's
    /// opportunity id. Five in a row exhaust the client's retries of one request.
    First(&'static str, &'static str, u32),
}

/// How the run with the fault should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ends {
    Succeeded,
    Partial,
    Failed,
}

struct Case {
    job: Job,
    vendor: Vendor,
    kind: Kind,
    at: At,
    ends: Ends,
}

const fn case(job: Job, vendor: Vendor, kind: Kind, at: At, ends: Ends) -> Case {
    Case { job, vendor, kind, at, ends }
}

use At::{First, Share, ShareOf};
use Ends::{Failed, Partial, Succeeded};
use Kind::{Forbidden, Html, Malformed, ServerError, Slow, Throttle, Unauthorized};

/// The matrix. Hires go through the queue worker four at a time, one after another, so a fault on
/// the first few requests of a kind lands on the first hire.
#[rustfmt::skip]
const MATRIX: &[Case] = &[
    // Lever → Namely hire transfer: Lever (read the hire, write the tag and note back) and Namely.
    case(Job::Hire, Vendor::Lever, Throttle, Share(0.5), Succeeded),
    case(Job::Hire, Vendor::Lever, ServerError(500), First("GET", "/opportunities", 5), Partial),
    case(Job::Hire, Vendor::Lever, Slow, First("POST", "/opportunities/{hire}/notes", 1), Partial),
    case(Job::Hire, Vendor::Lever, Html, First("GET", "/opportunities/{hire}/offers", 1), Partial),
    case(Job::Hire, Vendor::Lever, Malformed, First("GET", "/opportunities/{hire}/forms", 1), Partial),
    case(Job::Hire, Vendor::Lever, Unauthorized, At::All, Failed),
    case(Job::Hire, Vendor::Lever, Forbidden, First("POST", "/opportunities/{hire}/addTags", 1), Partial),
    case(Job::Hire, Vendor::Namely, Throttle, Share(0.5), Succeeded),
    case(Job::Hire, Vendor::Namely, ServerError(502), First("POST", "/profiles", 1), Partial),
    case(Job::Hire, Vendor::Namely, Slow, First("POST", "/profiles", 1), Partial),
    case(Job::Hire, Vendor::Namely, Html, First("GET", "/job_titles", 1), Partial),
    case(Job::Hire, Vendor::Namely, Malformed, First("GET", "/profiles", 1), Partial),
    case(Job::Hire, Vendor::Namely, Unauthorized, At::All, Failed),
    case(Job::Hire, Vendor::Namely, Forbidden, First("POST", "/profiles", 1), Partial),
    // Namely → Lessonly sync.
    case(Job::Lessonly, Vendor::Namely, Throttle, Share(0.5), Succeeded),
    case(Job::Lessonly, Vendor::Namely, ServerError(502), First("GET", "/profiles", 5), Failed),
    case(Job::Lessonly, Vendor::Namely, Slow, First("GET", "/profiles", 5), Failed),
    case(Job::Lessonly, Vendor::Namely, Html, First("GET", "/profiles", 1), Failed),
    case(Job::Lessonly, Vendor::Namely, Malformed, First("GET", "/groups", 1), Failed),
    case(Job::Lessonly, Vendor::Namely, Unauthorized, At::All, Failed),
    case(Job::Lessonly, Vendor::Namely, Forbidden, At::All, Failed),
    case(Job::Lessonly, Vendor::Lessonly, Throttle, Share(0.5), Succeeded),
    case(Job::Lessonly, Vendor::Lessonly, ServerError(500), First("POST", "/v1/users", 1), Partial),
    case(Job::Lessonly, Vendor::Lessonly, Slow, First("POST", "/v1/users", 1), Partial),
    case(Job::Lessonly, Vendor::Lessonly, Html, First("GET", "/v1.1/users", 1), Failed),
    case(Job::Lessonly, Vendor::Lessonly, Malformed, First("GET", "/v1/groups", 1), Failed),
    case(Job::Lessonly, Vendor::Lessonly, Unauthorized, At::All, Failed),
    // The key revoked while the run writes: it stops, and the re-run picks up what it had done.
    case(Job::Lessonly, Vendor::Lessonly, Unauthorized, ShareOf("POST", 0.5), Failed),
    case(Job::Lessonly, Vendor::Lessonly, Forbidden, First("POST", "/v1/users", 1), Partial),
    // Namely → Litmos sync.
    case(Job::Litmos, Vendor::Namely, Throttle, Share(0.5), Succeeded),
    case(Job::Litmos, Vendor::Namely, ServerError(500), First("GET", "/profiles/fields", 5), Failed),
    case(Job::Litmos, Vendor::Namely, Slow, Share(0.5), Succeeded),
    case(Job::Litmos, Vendor::Namely, Html, First("GET", "/profiles/fields", 1), Failed),
    case(Job::Litmos, Vendor::Namely, Malformed, First("GET", "/profiles/fields", 1), Failed),
    case(Job::Litmos, Vendor::Namely, Unauthorized, At::All, Failed),
    case(Job::Litmos, Vendor::Namely, Forbidden, At::All, Failed),
    case(Job::Litmos, Vendor::Litmos, Throttle, Share(0.5), Succeeded),
    case(Job::Litmos, Vendor::Litmos, ServerError(500), First("POST", "/users", 1), Partial),
    case(Job::Litmos, Vendor::Litmos, Slow, First("POST", "/users", 1), Partial),
    case(Job::Litmos, Vendor::Litmos, Html, First("GET", "/users", 1), Failed),
    case(Job::Litmos, Vendor::Litmos, Malformed, First("GET", "/users", 1), Failed),
    case(Job::Litmos, Vendor::Litmos, Unauthorized, At::All, Failed),
    case(Job::Litmos, Vendor::Litmos, Unauthorized, ShareOf("POST", 0.5), Failed),
    case(Job::Litmos, Vendor::Litmos, Forbidden, First("POST", "/users", 1), Partial),
    // Lever → The Org import.
    case(Job::TheOrg, Vendor::Lever, Throttle, Share(0.5), Succeeded),
    case(Job::TheOrg, Vendor::Lever, ServerError(503), First("GET", "/postings", 10), Failed),
    case(Job::TheOrg, Vendor::Lever, Slow, First("GET", "/postings", 10), Failed),
    case(Job::TheOrg, Vendor::Lever, Html, First("GET", "/postings", 1), Failed),
    case(Job::TheOrg, Vendor::Lever, Malformed, First("GET", "/postings", 1), Failed),
    case(Job::TheOrg, Vendor::Lever, Unauthorized, At::All, Failed),
    case(Job::TheOrg, Vendor::Lever, Forbidden, At::All, Failed),
    case(Job::TheOrg, Vendor::TheOrg, Throttle, Share(0.5), Succeeded),
    case(Job::TheOrg, Vendor::TheOrg, ServerError(503), First("POST", "/v1/jobs", 1), Partial),
    case(Job::TheOrg, Vendor::TheOrg, Slow, First("POST", "/v1/jobs", 1), Partial),
    case(Job::TheOrg, Vendor::TheOrg, Html, First("POST", "/v1/jobs", 1), Partial),
    case(Job::TheOrg, Vendor::TheOrg, Malformed, First("POST", "/v1/jobs", 1), Partial),
    case(Job::TheOrg, Vendor::TheOrg, Unauthorized, At::All, Failed),
    case(Job::TheOrg, Vendor::TheOrg, Unauthorized, ShareOf("POST", 0.5), Failed),
    case(Job::TheOrg, Vendor::TheOrg, Forbidden, First("POST", "/v1/jobs", 1), Partial),
];

/// How long a slow answer takes, and the client timeout set for those cases.
const SLOW: Duration = Duration::from_millis(4000);
const SLOW_CASE_TIMEOUT: &str = "2";
/// The most requests a `Share` case answers with its fault.
const SHARE_CAP: u32 = 4;

impl Job {
    fn vendors(self) -> [Vendor; 2] {
        match self {
            Job::Hire => [Vendor::Lever, Vendor::Namely],
            Job::Lessonly => [Vendor::Namely, Vendor::Lessonly],
            Job::Litmos => [Vendor::Namely, Vendor::Litmos],
            Job::TheOrg => [Vendor::Lever, Vendor::TheOrg],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Job::Hire => "hire transfer",
            Job::Lessonly => "Lessonly sync",
            Job::Litmos => "Litmos sync",
            Job::TheOrg => "The Org import",
        }
    }

    /// Small tenants: a few dozen records each, the same seed for the faulted and the clean run.
    fn tenant(self) -> Tenant {
        let spec = match self {
            Job::Hire => TenantSpec { seed: 41, employees: 15, opportunities: 8, postings: 6 },
            Job::Lessonly => TenantSpec { seed: 43, employees: 30, opportunities: 2, postings: 2 },
            Job::Litmos => TenantSpec { seed: 47, employees: 30, opportunities: 2, postings: 2 },
            Job::TheOrg => TenantSpec { seed: 53, employees: 5, opportunities: 2, postings: 24 },
        };
        Tenant::generate(&spec)
    }
}

impl Vendor {
    fn name(self) -> &'static str {
        match self {
            Vendor::Lever => "Lever",
            Vendor::Namely => "Namely",
            Vendor::Lessonly => "Lessonly",
            Vendor::Litmos => "Litmos",
            Vendor::TheOrg => "The Org",
        }
    }

    fn handle(self, sb: &Sandbox) -> &VendorHandle {
        match self {
            Vendor::Lever => &sb.lever,
            Vendor::Namely => &sb.namely,
            Vendor::Lessonly => &sb.lessonly,
            Vendor::Litmos => &sb.litmos,
            Vendor::TheOrg => &sb.theorg,
        }
    }

    /// The status of the vendor's own throttle answer.
    fn throttle_status(self) -> u16 {
        match self {
            Vendor::Lever | Vendor::TheOrg => 429,
            Vendor::Namely => 406,
            Vendor::Lessonly => 403,
            Vendor::Litmos => 503,
        }
    }
}

impl Kind {
    fn fault(self) -> Fault {
        match self {
            Throttle => Fault::Throttle,
            ServerError(status) => Fault::ServerError(status),
            Slow => Fault::Slow(SLOW),
            Html => Fault::HtmlBody,
            Malformed => Fault::MalformedJson,
            Unauthorized => Fault::Unauthorized,
            Forbidden => Fault::Forbidden,
        }
    }

    fn name(self) -> String {
        match self {
            Throttle => "throttle".into(),
            ServerError(status) => format!("{status}"),
            Slow => "slow answer".into(),
            Html => "HTML body".into(),
            Malformed => "malformed JSON".into(),
            Unauthorized => "401".into(),
            Forbidden => "403".into(),
        }
    }

    /// Words of which an error for this fault must hold one: what to do, or what came back.
    fn advice(self) -> &'static [&'static str] {
        match self {
            Unauthorized => &["check the", "personal access token"],
            Forbidden => &["permission", "personal access token"],
            Throttle | ServerError(_) | Slow => &["try again later", "run again", "will retry"],
            Html => &["HTML page"],
            Malformed => &["malformed JSON"],
        }
    }
}

impl At {
    fn name(self) -> String {
        match self {
            At::All => "every request".into(),
            Share(s) => format!("{:.0}% of requests (≤{SHARE_CAP})", s * 100.0),
            ShareOf(method, s) => format!("{:.0}% of {method}s", s * 100.0),
            First(method, path, n) => format!("first {n}× {method} {path}"),
        }
    }
}

impl Ends {
    fn status(self) -> RunStatus {
        match self {
            Succeeded => RunStatus::Succeeded,
            Partial => RunStatus::Partial,
            Failed => RunStatus::Failed,
        }
    }
}

/// One job's world: a sandbox with the job's tenant, deps pointed at it, a run log of its own.
struct World {
    job: Job,
    sb: Sandbox,
    deps: Deps,
    runlog: Arc<SqliteRunLog>,
    dir: std::path::PathBuf,
    /// The hire transfer's hired opportunities, in the order the queue batch lists them.
    hires: Vec<String>,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn world(job: Job, timeout: &str) -> World {
    let sb = Sandbox::start(job.tenant()).await.expect("sandbox");
    let dir = std::env::temp_dir().join(format!("e2e-faults-{}", uuid::Uuid::new_v4()));
    let overrides = [
        // The published rates would make a few dozen writes take minutes.
        ("LEVER_RATE_LIMIT", "200/s,burst=50"),
        ("NAMELY_RATE_LIMIT", "200/s,burst=50"),
        ("LESSONLY_RATE_LIMIT", "200/s,burst=50"),
        ("LITMOS_RATE_LIMIT", "200/s,burst=50"),
        ("THEORG_RATE_LIMIT", "200/s,burst=50"),
        ("VENDOR_TIMEOUT_SECONDS", timeout),
    ];
    let (deps, runlog) = e2e::sandbox_deps(&sb, &dir, &overrides);
    let hires = if job == Job::Hire { sb.lever_data().hired_opportunity_ids() } else { Vec::new() };
    World { job, sb, deps, runlog, dir, hires }
}

/// How a run ended, from its answer and the run log.
#[derive(Debug)]
struct Ran {
    status: RunStatus,
    counts: Counts,
    /// The run's error, when it failed.
    error: Option<String>,
    /// What the run log says of each record that failed.
    failures: Vec<String>,
}

impl Ran {
    /// The text a person reads: the run's error, else the failed records' details.
    fn message(&self) -> String {
        match &self.error {
            Some(e) => e.clone(),
            None => self.failures.join(" | "),
        }
    }
}

fn sqs_batch(ids: &[String], receive_count: u32) -> Value {
    let records: Vec<Value> = ids
        .iter()
        .map(|id| {
            let body = json!({"opportunity_id": id, "event": "candidateHired", "triggered_at": 1});
            json!({"messageId": format!("m-{id}-{receive_count}"), "receiptHandle": "r", "body": body.to_string(),
                   "attributes": {"ApproximateReceiveCount": receive_count.to_string()},
                   "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:hires"})
        })
        .collect();
    json!({"Records": records})
}

impl World {
    /// The records a run of this job considers.
    fn considered(&self) -> usize {
        match self.job {
            Job::Hire => self.hires.len(),
            Job::Lessonly | Job::Litmos => self.sb.namely_data().profiles.len(),
            Job::TheOrg => {
                let lever = self.sb.lever_data();
                lever.postings.iter().filter(|p| p["state"] == "published" || p["state"] == "internal").count()
            }
        }
    }

    /// Invokes the job's handler once, as its trigger would.
    async fn invoke(&self, payload: Value) -> Value {
        let answer = match self.job {
            Job::Hire => {
                let settings = lever_hire_webhook::settings::HireSettings::from_lookup(|_| None).expect("settings");
                lever_hire_webhook::handle_with(&self.deps, &settings, payload).await
            }
            Job::Lessonly => {
                let settings = lessonly_sync::settings::LessonlySettings::from_lookup(|_| None).expect("settings");
                lessonly_sync::handle_with(&self.deps, &settings, payload).await
            }
            Job::Litmos => {
                let settings = litmos_sync::settings::LitmosSettings::from_lookup(|_| None).expect("settings");
                litmos_sync::handle_with(&self.deps, &settings, payload).await
            }
            Job::TheOrg => {
                let settings = theorg_import::settings::TheOrgSettings::from_lookup(|_| None).expect("settings");
                theorg_import::handle_with(&self.deps, &settings, payload).await
            }
        };
        answer.unwrap_or_else(|e| panic!("the {} handler failed instead of answering: {e}", self.job.name()))
    }

    /// What the run log holds of a run.
    async fn ran(&self, run_id: &str, error: Option<String>) -> Ran {
        let run =
            self.runlog.run(run_id).await.unwrap().unwrap_or_else(|| panic!("run {run_id} is not in the run log"));
        let outcomes = self.runlog.run_outcomes(run_id).await.unwrap();
        let failures = outcomes
            .iter()
            .filter(|o| o.action == Action::Failed)
            .map(|o| o.detail.clone().unwrap_or_default())
            .collect();
        Ran { status: run.status, counts: run.counts, error, failures }
    }

    /// One run of the job: the queue worker with every hire, or one sync started by hand.
    async fn run(&self) -> Ran {
        if self.job == Job::Hire {
            self.invoke(sqs_batch(&self.hires, 1)).await;
            let run = self.runlog.latest_runs(Some(lever_hire_webhook::FUNCTION), 1).await.unwrap().remove(0);
            return self.ran(&run.run_id, None).await;
        }
        let answer = self.invoke(json!({"action": "sync", "trigger": "manual"})).await;
        let run_id = answer["run_id"].as_str().unwrap_or_else(|| panic!("no run id in {answer}")).to_string();
        self.ran(&run_id, answer["error"].as_str().map(str::to_string)).await
    }

    /// Runs the job again once the fault has cleared, as it would be run again: a sync by hand; a
    /// hire from the queue when it asked to be retried, else by the retry tag and the sweep. Every
    /// hire must end transferred.
    async fn rerun(&self) -> Vec<Ran> {
        if self.job != Job::Hire {
            return vec![self.run().await];
        }
        let mut queued = Vec::new();
        let mut tagged = Vec::new();
        for id in &self.hires {
            let entry = self.runlog.entry("hire", id).await.unwrap().expect("every hire has an entry");
            match (entry.open, entry.state.as_str()) {
                (true, _) => queued.push(id.clone()),
                (false, "failed") => tagged.push(id.clone()),
                _ => {}
            }
        }
        let mut runs = Vec::new();
        if !queued.is_empty() {
            // SQS hands a message out again after its visibility timeout (720 s), by when the lease
            // (600 s) of a hire held for a create with an unknown outcome has run out.
            for id in &queued {
                self.runlog.release(&claim_key(id)).await.unwrap();
            }
            let answer = self.invoke(sqs_batch(&queued, 2)).await;
            assert_eq!(answer["batchItemFailures"], json!([]), "the redelivered hires should go through: {answer}");
            let run = self.runlog.latest_runs(Some(lever_hire_webhook::FUNCTION), 1).await.unwrap().remove(0);
            runs.push(self.ran(&run.run_id, None).await);
        }
        if !tagged.is_empty() {
            // What the note asks the recruiter to do once the cause is fixed.
            self.sb.with_lever(|d| {
                for id in &tagged {
                    d.opportunity_mut(id).unwrap()["tags"].as_array_mut().unwrap().push(json!(TAG_RETRY));
                }
            });
            let answer = self.invoke(json!({"action": "retry-sweep"})).await;
            runs.push(self.ran(answer["run_id"].as_str().unwrap(), None).await);
        }
        for id in &self.hires {
            let entry = self.runlog.entry("hire", id).await.unwrap().unwrap();
            assert_eq!(entry.state, "transferred", "hire {id} after the re-run: {entry:?}");
        }
        runs
    }

    /// Records the target holds twice (by email, external id or user name), as `kind key` lines.
    fn duplicates(&self) -> Vec<String> {
        let keys: Vec<String> = match self.job {
            Job::Hire => self
                .sb
                .namely_data()
                .profiles
                .iter()
                .map(|p| format!("Namely profile {}", lower(&p["email"])))
                .collect(),
            Job::Lessonly => {
                let users = self.sb.lessonly_data().users;
                let emails = users.iter().map(|u| format!("Lessonly user {}", lower(&u["email"])));
                let ext = users
                    .iter()
                    .filter(|u| u["ext_uid"].is_string())
                    .map(|u| format!("Lessonly ext_uid {}", u["ext_uid"]));
                emails.chain(ext).collect()
            }
            Job::Litmos => self
                .sb
                .litmos_data()
                .users
                .iter()
                .map(|u| format!("Litmos learner {}", lower(&u["UserName"])))
                .collect(),
            Job::TheOrg => {
                self.sb.theorg_data().jobs.iter().map(|j| format!("The Org role {}", j["externalId"])).collect()
            }
        };
        let mut seen = BTreeSet::new();
        let mut twice: Vec<String> = keys.into_iter().filter(|k| !seen.insert(k.clone())).collect();
        if self.job == Job::Hire {
            // One tag and one note per hire in Lever.
            let lever = self.sb.lever_data();
            for id in &self.hires {
                let notes =
                    lever.notes.iter().filter(|n| n["opportunityId"] == id.as_str() && is_success_note(n)).count();
                if notes > 1 {
                    twice.push(format!("{notes} success notes on {id}"));
                }
            }
        }
        twice
    }

    /// What the job's target holds, normalised: generated ids and timestamps left out.
    fn end_state(&self) -> BTreeMap<String, String> {
        let strip = |mut v: Value, keys: &[&str]| {
            if let Value::Object(map) = &mut v {
                for k in keys {
                    map.remove(*k);
                }
            }
            v
        };
        let mut out = BTreeMap::new();
        match self.job {
            Job::Hire => {
                for p in self.sb.namely_data().profiles {
                    let key = format!("namely {}", lower(&p["email"]));
                    let resume = p["resume"].as_str().is_some_and(|r| !r.is_empty()) || p["resume"].is_object();
                    let mut p = strip(p, &["id", "created_at", "updated_at"]);
                    p["resume"] = json!(resume);
                    out.insert(key, p.to_string());
                }
                let lever = self.sb.lever_data();
                for id in &self.hires {
                    let o = lever.opportunities.iter().find(|o| o["id"] == id.as_str()).unwrap();
                    let mut tags: Vec<String> =
                        o["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
                    tags.sort();
                    let success =
                        lever.notes.iter().filter(|n| n["opportunityId"] == id.as_str() && is_success_note(n)).count();
                    out.insert(format!("lever {id}"), json!({"tags": tags, "success notes": success}).to_string());
                }
            }
            Job::Lessonly => {
                let data = self.sb.lessonly_data();
                let email_of: HashMap<i64, String> =
                    data.users.iter().map(|u| (u["id"].as_i64().unwrap(), lower(&u["email"]))).collect();
                for u in data.users {
                    let key = format!("user {}", lower(&u["email"]));
                    let archived = !u["archived_at"].is_null();
                    let mut custom: Vec<String> = u["custom_user_field_data"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| format!("{}={}", c["custom_user_field_id"], c["value"]))
                        .collect();
                    custom.sort();
                    let mut u = strip(u, &["id", "archived_at", "archived_by_user_id", "created_at", "updated_at"]);
                    u["archived"] = json!(archived);
                    u["custom_user_field_data"] = json!(custom);
                    out.insert(key, u.to_string());
                }
                for g in data.groups {
                    let members: BTreeSet<&String> = g.members.iter().filter_map(|m| email_of.get(m)).collect();
                    let managers: BTreeSet<&String> = g.managers.iter().filter_map(|m| email_of.get(m)).collect();
                    let value = json!({"archived": g.archived_at.is_some(), "members": members, "managers": managers});
                    out.insert(format!("group {}", g.name), value.to_string());
                }
            }
            Job::Litmos => {
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
                for u in self.sb.litmos_data().users {
                    let fields: Vec<String> = FIELDS.iter().map(|k| format!("{k}={}", u[*k])).collect();
                    out.insert(format!("learner {}", lower(&u["UserName"])), fields.join(" "));
                }
            }
            Job::TheOrg => {
                for j in self.sb.theorg_data().jobs {
                    let key = format!("role {}", j["externalId"]);
                    out.insert(key, strip(j, &["id", "updatedAt"]).to_string());
                }
            }
        }
        out
    }
}

fn lower(v: &Value) -> String {
    v.as_str().unwrap_or("").trim().to_lowercase()
}

fn is_success_note(note: &Value) -> bool {
    let text = note["value"].as_str().unwrap_or("");
    text.starts_with("Namely: successfully transferred") || text.starts_with("Namely: linked to the existing")
}

/// The differences between two end states, for a failure message.
fn differences(got: &BTreeMap<String, String>, clean: &BTreeMap<String, String>) -> Vec<String> {
    let keys: BTreeSet<&String> = got.keys().chain(clean.keys()).collect();
    keys.into_iter()
        .filter(|k| got.get(*k) != clean.get(*k))
        .map(|k| format!("{k}: got {:?}, a clean run has {:?}", got.get(k), clean.get(k)))
        .collect()
}

/// The end state of a clean run of a job's tenant.
struct Clean {
    state: BTreeMap<String, String>,
}

async fn clean_run(job: Job) -> Clean {
    let w = world(job, "10").await;
    let ran = w.run().await;
    assert_eq!(ran.status, RunStatus::Succeeded, "the clean {} run: {ran:?}", job.name());
    assert_eq!(ran.counts.total() as usize, w.considered(), "the clean {} run's counts: {ran:?}", job.name());
    assert!(ran.counts.created > 0, "the clean {} run created nothing: {ran:?}", job.name());
    assert!(w.duplicates().is_empty(), "the clean {} run duplicated: {:?}", job.name(), w.duplicates());
    let state = w.end_state();
    for id in &w.hires {
        assert!(state[&format!("lever {id}")].contains(TAG_SUCCESS), "{state:?}");
    }
    Clean { state }
}

/// One row of the matrix as it happened.
struct Row {
    label: String,
    status: RunStatus,
    excerpt: String,
}

/// Runs one case; `Err` says what went wrong.
async fn run_case(case: &'static Case, clean: Arc<Clean>) -> Result<Row, String> {
    let label = format!("{} × {} × {} @ {}", case.job.name(), case.vendor.name(), case.kind.name(), case.at.name());
    let timeout = if case.kind == Slow { SLOW_CASE_TIMEOUT } else { "10" };
    let w = world(case.job, timeout).await;
    let vendor = case.vendor.handle(&w.sb);
    let hire = w.hires.first().cloned().unwrap_or_default();
    let rule = match case.at {
        At::All => FaultRule::new(case.kind.fault()),
        Share(share) => FaultRule::new(case.kind.fault()).share(share).times(SHARE_CAP),
        ShareOf(method, share) => FaultRule::new(case.kind.fault()).method(method).share(share),
        First(method, path, n) => {
            FaultRule::new(case.kind.fault()).method(method).path(&path.replace("{hire}", &hire)).times(n)
        }
    };
    vendor.inject(rule);
    let considered = w.considered();
    let ran = w.run().await;
    let mut problems = Vec::new();

    // The fault was really answered, as often as the case says.
    let applied = vendor.faults_applied();
    match case.at {
        // A request cut off by the client's timeout may cost the next attempt its connection.
        First(_, _, n) if case.kind == Slow && (applied == 0 || applied > n) => {
            problems.push(format!("the fault was answered {applied} times, not 1 to {n}"))
        }
        First(_, _, n) if case.kind != Slow && applied != n => {
            problems.push(format!("the fault was answered {applied} times, not {n}"))
        }
        _ if applied == 0 => problems.push("the fault was never answered".to_string()),
        _ => {}
    }
    let requests = vendor.requests();
    let with_status = |status: u16| requests.iter().filter(|r| r.status == status).count() as u32;
    let shown = match case.kind {
        Throttle => with_status(case.vendor.throttle_status()),
        ServerError(status) => with_status(status),
        Unauthorized => with_status(401),
        Forbidden => with_status(403),
        Slow => requests.iter().filter(|r| r.answered_at.is_none_or(|at| at - r.received_at >= SLOW)).count() as u32,
        Html | Malformed => applied,
    };
    if shown < applied {
        problems.push(format!("the sandbox recorded {shown} faulted answers, but {applied} faults were applied"));
    }

    // A status that fits, and an error a person can act on.
    if ran.status != case.ends.status() {
        problems.push(format!("ended {}, expected {}: {ran:?}", ran.status, case.ends.status()));
    }
    let message = ran.message();
    if case.ends != Succeeded {
        if !message.contains(case.vendor.name()) {
            problems.push(format!("the error does not name {}: {message}", case.vendor.name()));
        }
        if !case.kind.advice().iter().any(|a| message.contains(a)) {
            problems.push(format!("the error does not say any of {:?}: {message}", case.kind.advice()));
        }
    }
    // Counts that add up to the records the job considered (a failed run may have stopped early).
    let total = ran.counts.total() as usize;
    let adds_up = if ran.status == RunStatus::Failed { total <= considered } else { total == considered };
    if !adds_up {
        problems.push(format!("the counts ({}) do not add up to the {considered} records considered", ran.counts));
    }

    // The fault clears; a re-run reaches the clean end state, nothing twice.
    vendor.clear_faults();
    if case.kind == Slow {
        // An answer still on its way would land after the re-run's reads.
        tokio::time::sleep(SLOW + Duration::from_millis(200)).await;
    }
    let reruns = w.rerun().await;
    for again in &reruns {
        if again.status != RunStatus::Succeeded {
            problems.push(format!("the re-run ended {}: {again:?}", again.status));
        }
    }
    if case.job != Job::Hire {
        let total = reruns.iter().map(|r| r.counts.total() as usize).sum::<usize>();
        if total != considered {
            problems.push(format!("the re-run's counts add up to {total}, not {considered}"));
        }
    }
    let twice = w.duplicates();
    if !twice.is_empty() {
        problems.push(format!("created twice: {twice:?}"));
    }
    let diff = differences(&w.end_state(), &clean.state);
    if !diff.is_empty() {
        problems.push(format!("the end state differs from a clean run's: {}", diff.join("; ")));
    }

    if problems.is_empty() {
        let excerpt = if case.ends == Succeeded { "—".to_string() } else { message.chars().take(160).collect() };
        Ok(Row { label, status: ran.status, excerpt })
    } else {
        Err(format!("{label}:\n    {}", problems.join("\n    ")))
    }
}

/// A current-thread runtime of its own: the syncs' futures are not `Send`.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// Runs every case of `job` at once, each on a thread and runtime of its own (so a busy case never
/// holds up another's timers), and fails with every case that went wrong.
fn run_job(job: Job) {
    let clean = Arc::new(runtime().block_on(clean_run(job)));
    let cases: Vec<_> = MATRIX
        .iter()
        .enumerate()
        .filter(|(_, c)| c.job == job)
        .map(|(i, case)| {
            let clean = clean.clone();
            (i, std::thread::spawn(move || runtime().block_on(run_case(case, clean))))
        })
        .collect();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (i, case) in cases {
        match case.join() {
            Ok(Ok(row)) => rows.push((i, row)),
            Ok(Err(e)) => failures.push(e),
            Err(_) => failures.push(format!("case {i} of the {} panicked (its message is above)", job.name())),
        }
    }
    for (_, row) in &rows {
        println!("{:<70} {:<10} {}", row.label, row.status.as_str(), row.excerpt);
    }
    assert!(failures.is_empty(), "{} of the {} cases failed:\n{}", failures.len(), job.name(), failures.join("\n"));
}

#[test]
fn the_matrix_covers_every_fault_on_every_vendor_of_every_job() {
    let kinds = [Throttle, ServerError(500), Slow, Html, Malformed, Unauthorized, Forbidden];
    let same = |a: Kind, b: Kind| std::mem::discriminant(&a) == std::mem::discriminant(&b);
    for job in [Job::Hire, Job::Lessonly, Job::Litmos, Job::TheOrg] {
        for vendor in job.vendors() {
            for kind in kinds {
                let n = MATRIX.iter().filter(|c| c.job == job && c.vendor == vendor && same(c.kind, kind)).count();
                assert!(n >= 1, "no case for {} × {} × {}", job.name(), vendor.name(), kind.name());
            }
        }
    }
    assert!(MATRIX.iter().all(|c| c.job.vendors().contains(&c.vendor)), "a case names a vendor its job does not use");
}

#[test]
fn hire_transfer_faults() {
    run_job(Job::Hire);
}

#[test]
fn lessonly_sync_faults() {
    run_job(Job::Lessonly);
}

#[test]
fn litmos_sync_faults() {
    run_job(Job::Litmos);
}

#[test]
fn theorg_import_faults() {
    run_job(Job::TheOrg);
}

/// Runs `job` with its target refusing the key on every other create (the key revoked mid-run);
/// returns the creates the target answered with success and the `created` outcomes the run recorded.
fn creates_and_recorded(job: Job, vendor: Vendor) -> (usize, usize, Ran) {
    runtime().block_on(async {
        let w = world(job, "10").await;
        let target = vendor.handle(&w.sb);
        target.inject(FaultRule::new(Fault::Unauthorized).method("POST").share(0.5));
        let ran = w.run().await;
        let created = target.requests().iter().filter(|r| r.method == "POST" && matches!(r.status, 200 | 201)).count();
        (created, ran.counts.created as usize, ran)
    })
}

#[test]
fn a_run_stopped_by_a_refused_key_records_every_write_it_made() {
    for (job, vendor) in [(Job::Litmos, Vendor::Litmos), (Job::TheOrg, Vendor::TheOrg)] {
        let (created, recorded, ran) = creates_and_recorded(job, vendor);
        assert_eq!(ran.status, RunStatus::Failed, "{ran:?}");
        assert!(created > 0, "{}: the run should have created something before it stopped", job.name());
        assert_eq!(recorded, created, "{}: every create it made has its outcome: {ran:?}", job.name());
        assert!(ran.counts.failed > 0, "{}: the refused records are failed: {ran:?}", job.name());
    }
}

/// The Lessonly sync, like the others, records what it wrote before a refused key stopped it.
#[test]
fn a_lessonly_run_stopped_by_a_refused_key_records_every_write_it_made() {
    let (created, recorded, ran) = creates_and_recorded(Job::Lessonly, Vendor::Lessonly);
    assert_eq!(ran.status, RunStatus::Failed, "{ran:?}");
    assert!(created > 0, "the run should have created something before it stopped");
    assert_eq!(recorded, created, "every create it made has its outcome: {ran:?}");
}
