//! Lever → Namely hire transfer, its handler called in-process as Lambda calls it, against the
//! sandbox Lever and Namely and the embedded run log: signed deliveries, the worker's queue batches,
//! the retry sweep, and what Lever and Namely hold afterwards.

use app::Deps;
use chrono::{DateTime, Utc};
use lever_hire_webhook::settings::HireSettings;
use lever_hire_webhook::transfer::{TAG_FAILED, TAG_RETRY, TAG_SKIP, TAG_SUCCESS};
use platform::runlog::SqliteRunLog;
use platform::{Action, RunLog};
use sandbox::{lever_signed_delivery, Fault, FaultRule, Sandbox, Tenant};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

struct Harness {
    sb: Sandbox,
    deps: Arc<Deps>,
    settings: HireSettings,
    runlog: Arc<SqliteRunLog>,
    dir: std::path::PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn harness(settings: &[(&str, &str)]) -> Harness {
    let sb = Sandbox::start(Tenant::small()).await.expect("sandbox");
    let dir = std::env::temp_dir().join(format!("e2e-hire-{}", uuid::Uuid::new_v4()));
    let (deps, runlog) = e2e::sandbox_deps(&sb, &dir, &[]);
    let deps = Arc::new(deps);
    let map: HashMap<String, String> = settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let settings = HireSettings::from_lookup(|k| map.get(k).cloned()).expect("settings");
    Harness { sb, deps, settings, runlog, dir }
}

impl Harness {
    /// The sandbox's `index`-th opportunity (0, 1, 4, 5 are hired; 2 is at the offer stage).
    fn opportunity(&self, index: usize) -> Value {
        self.sb.lever_data().opportunities[index].clone()
    }

    fn id(&self, index: usize) -> String {
        self.opportunity(index)["id"].as_str().unwrap().to_string()
    }

    async fn invoke(&self, payload: Value) -> Value {
        lever_hire_webhook::handle_with(&self.deps, &self.settings, payload).await.expect("handler answers")
    }

    /// POSTs a delivery to the Function URL; returns (status, body).
    async fn post(&self, delivery: &Value) -> (u16, Value) {
        let event = json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "POST"}},
                           "headers": {"content-type": "application/json", "user-agent": "Lever-Webhooks"},
                           "isBase64Encoded": false, "body": delivery.to_string()});
        let response = self.invoke(event).await;
        let status = response["statusCode"].as_u64().unwrap() as u16;
        let body = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        (status, body)
    }

    fn signed(&self, event: &str, data: Value) -> Value {
        lever_signed_delivery(event, data, &self.sb.credentials.lever_signature_tokens[0], sandbox::now_ms())
    }

    async fn hire(&self, index: usize) -> (u16, Value) {
        let o = self.opportunity(index);
        let data = json!({"opportunityId": o["id"], "candidateId": o["id"], "contactId": o["contact"]});
        self.post(&self.signed("candidateHired", data)).await
    }

    fn tags(&self, index: usize) -> Vec<String> {
        let o = self.opportunity(index);
        o["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect()
    }

    fn notes(&self, index: usize) -> Vec<String> {
        let id = self.id(index);
        let notes = self.sb.lever_data().notes;
        notes
            .iter()
            .filter(|n| n["opportunityId"] == id.as_str())
            .map(|n| n["value"].as_str().unwrap().into())
            .collect()
    }

    fn email(&self, index: usize) -> String {
        self.opportunity(index)["emails"][0].as_str().unwrap().to_string()
    }

    fn namely_profiles(&self, email: &str) -> Vec<Value> {
        let data = self.sb.namely_data();
        data.profiles
            .into_iter()
            .filter(|p| p["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email)))
            .collect()
    }

    fn profile_creations(&self) -> usize {
        self.sb.namely.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/profiles")).count()
    }

    fn set_tags(&self, index: usize, tags: &[&str]) {
        let id = self.id(index);
        self.sb.with_lever(|d| d.opportunity_mut(&id).unwrap()["tags"] = json!(tags));
    }

    /// An SQS batch as the queue's event source mapping delivers it.
    fn sqs_event(&self, index: usize, receive_count: u32) -> Value {
        let body = json!({"opportunity_id": self.id(index), "event": "candidateHired", "triggered_at": 1});
        json!({"Records": [{"messageId": format!("m-{index}-{receive_count}"), "receiptHandle": "r",
            "body": body.to_string(), "attributes": {"ApproximateReceiveCount": receive_count.to_string()},
            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:hires"}]})
    }

    /// A POST /profiles answered 5xx may have created the profile, so the hire stays held until its
    /// lease runs out; SQS hands the message out again only after its visibility timeout, later still.
    async fn lease_runs_out(&self, index: usize) {
        e2e::lease_runs_out(self.runlog.as_ref(), &lever_hire_webhook::transfer::claim_key(&self.id(index))).await;
    }

    async fn history(&self, index: usize) -> Vec<platform::Outcome> {
        self.runlog.record_history(lever_hire_webhook::FUNCTION, &self.id(index), 20).await.unwrap()
    }
}

fn date_of(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap().date_naive().to_string()
}

fn offer_field(h: &Harness, index: usize, identifier: &str) -> Value {
    let offers = h.sb.lever_data().offers[&h.id(index)].clone();
    offers[0]["fields"].as_array().unwrap().iter().find(|f| f["identifier"] == identifier).unwrap()["value"].clone()
}

#[tokio::test]
async fn a_signed_hire_becomes_a_namely_profile_with_the_mapped_fields_and_lever_says_so() {
    let h = harness(&[]).await;
    let (status, body) = h.hire(0).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcomes"][0]["action"], "created", "{body}");
    let namely_id = body["outcomes"][0]["namely_id"].as_str().unwrap().to_string();

    let profiles = h.namely_profiles(&h.email(0));
    assert_eq!(profiles.len(), 1);
    let p = &profiles[0];
    assert_eq!(p["id"], namely_id.as_str());
    let form = h.sb.lever_data().forms[&h.id(0)][0]["fields"].clone();
    assert_eq!(p["first_name"], form[0]["value"], "the New Hire Form's legal first name wins");
    assert_eq!(p["last_name"], form[1]["value"]);
    assert_eq!(p["user_status"], "active");
    assert_eq!(p["home_phone"], h.opportunity(0)["phones"][0]["value"]);
    let start = offer_field(&h, 0, "anticipated_start_date").as_i64().unwrap();
    assert_eq!(p["start_date"], date_of(start).as_str(), "the signed offer's start date");
    assert_eq!(p["job_title"]["title"], offer_field(&h, 0, "job_title"), "posting title matched a Namely title");
    assert_eq!(p["employee_type"]["title"], "Full Time");
    assert_eq!(p["salary"]["yearly_amount"].as_f64(), offer_field(&h, 0, "salary_amount").as_f64());
    assert!(p["resume"].as_str().is_some_and(|r| !r.is_empty()), "the first file became the resume: {p}");

    assert!(h.tags(0).contains(&TAG_SUCCESS.to_string()), "{:?}", h.tags(0));
    let notes = h.notes(0);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains(&namely_id), "the note names the Namely id: {}", notes[0]);

    let history = h.history(0).await;
    assert_eq!(history[0].action, Action::Created);
    let detail = history[0].detail.clone().unwrap();
    assert!(detail.contains(&namely_id) && detail.contains("first_name="), "{detail}");
    let token = &h.sb.credentials.namely_token;
    assert!(!detail.contains(token.as_str()) && !notes[0].contains(token.as_str()), "a secret leaked");

    // The same delivery again (Lever's retry or "Rerun"): acknowledged, nothing done.
    let before = (h.sb.namely.requests().len(), h.sb.lever.requests().len());
    let (status, body) = h.hire(0).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("already transferred")), "{body}");
    assert_eq!((h.sb.namely.requests().len(), h.sb.lever.requests().len()), before, "replay did work");
}

#[tokio::test]
async fn bad_or_missing_signatures_are_refused_with_nothing_done() {
    let h = harness(&[]).await;
    let o = h.opportunity(0);
    let data = json!({"opportunityId": o["id"]});
    let mut forged = h.signed("candidateHired", data.clone());
    forged["signature"] = json!("0".repeat(64));
    let other_key = lever_signed_delivery("candidateHired", data.clone(), "not-our-token", sandbox::now_ms());
    let mut unsigned = h.signed("candidateHired", data.clone());
    unsigned.as_object_mut().unwrap().remove("signature");
    let mut retimed = h.signed("candidateHired", data);
    retimed["triggeredAt"] = json!(1_763_000_000_001u64);
    for delivery in [forged, other_key, unsigned, retimed] {
        let (status, body) = h.post(&delivery).await;
        assert_eq!(status, 401, "{body}");
    }
    assert!(h.sb.namely.requests().is_empty(), "Namely was called");
    assert!(h.sb.lever.requests().is_empty(), "Lever was called");
    assert!(h.runlog.entry("hire", &h.id(0)).await.unwrap().is_none(), "a refused delivery was recorded");
    assert!(h.runlog.latest_runs(None, 5).await.unwrap().is_empty());

    // A delivery signed with the second webhook's token is accepted.
    let second = &h.sb.credentials.lever_signature_tokens[1];
    let delivery =
        lever_signed_delivery("candidateHired", json!({"opportunityId": h.id(0)}), second, sandbox::now_ms());
    assert_eq!(h.post(&delivery).await.0, 200);
}

#[tokio::test]
async fn lever_test_deliveries_and_non_hire_events_are_acknowledged_and_ignored() {
    let h = harness(&[]).await;
    let (status, body) = h.post(&h.signed("candidateHired", json!({}))).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("test delivery received")));
    let stage = json!({"opportunityId": h.id(2), "toStageId": "offer", "fromStageId": "applicant-new"});
    let (status, body) = h.post(&h.signed("candidateStageChange", stage)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ignored")), "{body}");
    // Archived, but not as hired (opportunity 3 has a non-hired reason).
    let o3 = h.opportunity(3);
    let archive = json!({"opportunityId": o3["id"], "toArchived": o3["archived"], "fromArchived": null});
    let (status, body) = h.post(&h.signed("candidateArchiveChange", archive)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ignored")), "{body}");
    assert!(h.sb.namely.requests().is_empty());
    assert_eq!(h.profile_creations(), 0);
}

#[tokio::test]
async fn archive_change_and_hired_events_for_one_hire_are_one_hire() {
    let h = harness(&[]).await;
    let o = h.opportunity(1);
    let archive = json!({"opportunityId": o["id"], "toArchived": o["archived"], "fromArchived": null});
    let (status, body) = h.post(&h.signed("candidateArchiveChange", archive)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcomes"][0]["action"], "created", "{body}");
    let (status, body) = h.hire(1).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("already transferred")), "{body}");
    assert_eq!(h.profile_creations(), 1);
    assert_eq!(h.namely_profiles(&h.email(1)).len(), 1);
}

#[tokio::test]
async fn archive_reasons_are_read_once_for_hired_and_other_reasons_alike() {
    let h = harness(&[]).await;
    let reasons = h.sb.lever_data().archive_reasons;
    let rejected = reasons.iter().find(|r| r["type"] != "hired").expect("a non-hired reason")["id"].clone();
    let o = h.opportunity(3);
    let reads = || h.sb.lever.requests().iter().filter(|r| r.path.ends_with("/archive_reasons")).count();
    for _ in 0..3 {
        let archive = json!({"opportunityId": o["id"], "toArchived": {"archivedAt": 1, "reason": rejected},
                             "fromArchived": null});
        let (status, body) = h.post(&h.signed("candidateArchiveChange", archive)).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("ignored")), "{body}");
    }
    assert_eq!(reads(), 1, "each rejection re-read Lever's archive reasons");
    // A reason the cache does not know refreshes it once.
    let unknown = json!({"opportunityId": o["id"], "toArchived": {"archivedAt": 1, "reason": "new-reason"}});
    let (status, _) = h.post(&h.signed("candidateArchiveChange", unknown)).await;
    assert_eq!((status, reads()), (200, 2));
}

#[tokio::test]
async fn an_opportunity_id_that_is_not_a_lever_id_is_ignored_not_retried() {
    let h = harness(&[]).await;
    for bad in ["..", "../../users", "a b", &"x".repeat(65)] {
        let (status, body) = h.post(&h.signed("candidateHired", json!({"opportunityId": bad}))).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("ignored")), "{bad}: {body}");
    }
    assert!(h.sb.lever.requests().is_empty(), "an invalid id reached Lever");
    assert!(h.runlog.open_entries("hire", 10).await.unwrap().is_empty());
    let by_hand =
        lever_hire_webhook::handle_with(&h.deps, &h.settings, json!({"action": "transfer", "opportunity_id": ".."}));
    let error = by_hand.await.expect_err("refused").to_string();
    assert!(error.contains("not a Lever opportunity id"), "{error}");
}

#[tokio::test]
async fn a_hire_whose_every_delivery_was_refused_is_transferred_by_the_next_sweep_exactly_once() {
    let h = harness(&[]).await;
    let sweep_message = || async {
        let run = h.runlog.latest_runs(Some(lever_hire_webhook::FUNCTION), 1).await.unwrap().remove(0);
        run.message.unwrap_or_default()
    };
    // The first sweep after set-up starts reconciliation from now: earlier hires are not looked for.
    let first = h.invoke(json!({"action": "retry-sweep"})).await;
    assert_eq!(first["counts"]["created"], 0, "{first}");
    assert!(sweep_message().await.contains("reconciliation starts now"), "{}", sweep_message().await);

    // A candidate is hired in Lever now, but the signature token was rotated in Lever and not in the
    // secret: each of Lever's deliveries is refused, and then Lever gives up.
    let hired_reason = h.sb.lever_data().hired_reason_id;
    let id = h.id(2);
    let now = i64::try_from(sandbox::now_ms()).unwrap();
    h.sb.with_lever(|d| {
        let o = d.opportunity_mut(&id).unwrap();
        o["archived"] = json!({"reason": hired_reason, "archivedAt": now});
        o["updatedAt"] = json!(now);
    });
    let rotated =
        lever_signed_delivery("candidateHired", json!({"opportunityId": id}), "rotated-token", sandbox::now_ms());
    for _ in 0..5 {
        assert_eq!(h.post(&rotated).await.0, 401);
    }
    assert_eq!(h.profile_creations(), 0);

    // The next sweep finds it in Lever and transfers it; older hires stay out of its window.
    let found = h.invoke(json!({"action": "retry-sweep"})).await;
    assert_eq!(found["counts"]["created"], 1, "{found}");
    assert_eq!(found["outcomes"][0]["opportunity_id"], id.as_str(), "{found}");
    assert!(sweep_message().await.contains("1 never delivered"), "{}", sweep_message().await);
    assert_eq!(h.profile_creations(), 1);
    assert!(h.tags(2).contains(&TAG_SUCCESS.to_string()), "{:?}", h.tags(2));

    // Exactly once: the next sweeps see it in Lever again (the overlap) and leave Namely alone.
    let namely_calls = h.sb.namely.requests().len();
    let again = h.invoke(json!({"action": "retry-sweep"})).await;
    assert_eq!(again["counts"], json!({"created": 0, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}));
    assert_eq!(h.sb.namely.requests().len(), namely_calls, "a known hire cost Namely calls");
    assert!(sweep_message().await.contains("0 never delivered"), "{}", sweep_message().await);
    // A Lever call count that does not grow with the number of hires: one page per hired reason.
    let before = h.sb.lever.requests().len();
    h.invoke(json!({"action": "retry-sweep"})).await;
    let lists = h.sb.lever.requests()[before..].iter().filter(|r| r.path.ends_with("/opportunities")).count();
    assert_eq!(lists, 2, "the retry-tag list and one reconciliation page");
    assert_eq!(h.namely_profiles(&h.email(2)).len(), 1);
}

#[tokio::test]
async fn stage_mode_reconciliation_finds_a_candidate_moved_to_the_stage_without_a_delivery() {
    let h = harness(&[("HIRE_TRIGGER", "stage"), ("HIRE_TRIGGER_STAGE", "reference check")]).await;
    h.invoke(json!({"action": "retry-sweep"})).await;
    let reference = h.sb.lever_data().stages.iter().find(|s| s["text"] == "Reference Check").unwrap()["id"].clone();
    let id = h.id(2);
    let now = i64::try_from(sandbox::now_ms()).unwrap();
    h.sb.with_lever(|d| {
        let o = d.opportunity_mut(&id).unwrap();
        o["stage"] = reference.clone();
        o["updatedAt"] = json!(now);
    });
    let found = h.invoke(json!({"action": "retry-sweep"})).await;
    assert_eq!(found["counts"]["created"], 1, "{found}");
    let again = h.invoke(json!({"action": "retry-sweep"})).await;
    assert_eq!(again["counts"]["created"], 0, "{again}");
    assert_eq!(h.profile_creations(), 1);
}

#[tokio::test]
async fn stage_mode_transfers_on_the_named_stage_only() {
    let h = harness(&[("HIRE_TRIGGER", "stage"), ("HIRE_TRIGGER_STAGE", "reference check")]).await;
    let stages = h.sb.lever_data().stages;
    let reference = stages.iter().find(|s| s["text"] == "Reference Check").unwrap()["id"].clone();
    let phone = stages.iter().find(|s| s["text"] == "Phone Screen").unwrap()["id"].clone();
    let to = |stage: &Value| json!({"opportunityId": h.id(2), "toStageId": stage, "fromStageId": "applicant-new"});
    let (status, body) = h.post(&h.signed("candidateStageChange", to(&phone))).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ignored")), "{body}");
    assert_eq!(h.profile_creations(), 0);
    // Opportunity 2 is not archived at all: in stage mode that does not matter.
    let (status, body) = h.post(&h.signed("candidateStageChange", to(&reference))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcomes"][0]["action"], "created", "{body}");
    assert_eq!(h.namely_profiles(&h.email(2)).len(), 1);
    assert!(h.tags(2).contains(&TAG_SUCCESS.to_string()));
    // candidateHired is not the trigger in stage mode.
    let (_, body) = h.hire(0).await;
    assert_eq!(body["status"], "ignored", "{body}");
}

#[tokio::test]
async fn onboarding_creates_a_pending_profile_with_a_personal_email() {
    let h = harness(&[("NAMELY_RECORD_TYPE", "onboarding")]).await;
    let (_, body) = h.hire(0).await;
    assert_eq!(body["outcomes"][0]["action"], "created", "{body}");
    let p = &h.namely_profiles(&h.email(0))[0];
    assert_eq!(p["user_status"], "pending");
    assert_eq!(p["personal_email"], h.email(0).as_str(), "the address the candidate applied with");
    assert!(h.notes(0)[0].contains("Onboarding"), "{:?}", h.notes(0));

    let hris = harness(&[("NAMELY_RECORD_TYPE", "hris")]).await;
    hris.hire(0).await;
    assert_eq!(hris.namely_profiles(&hris.email(0))[0]["user_status"], "active");
}

#[tokio::test]
async fn the_skip_tag_keeps_a_hire_out_of_namely_and_the_run_log_says_so() {
    let h = harness(&[]).await;
    h.set_tags(0, &[TAG_SKIP]);
    let (status, body) = h.hire(0).await;
    assert_eq!(status, 200);
    assert_eq!(body["outcomes"][0]["action"], "skipped", "{body}");
    assert_eq!(h.profile_creations(), 0);
    assert_eq!(h.tags(0), vec![TAG_SKIP.to_string()], "no tag written");
    assert!(h.notes(0).is_empty());
    let history = h.history(0).await;
    assert_eq!(history[0].action, Action::Skipped);
    assert!(history[0].detail.as_deref().unwrap().contains(TAG_SKIP));
}

#[tokio::test]
async fn a_missing_email_fails_visibly_and_a_retry_tag_transfers_it_once_fixed() {
    let h = harness(&[]).await;
    let id = h.id(0);
    // No email on the opportunity nor on its contact.
    let contact = h.opportunity(0)["contact"].clone();
    h.sb.with_lever(|d| {
        d.opportunity_mut(&id).unwrap()["emails"] = json!([]);
        d.contacts.iter_mut().filter(|c| c["id"] == contact).for_each(|c| c["emails"] = json!([]));
    });
    let (_, body) = h.hire(0).await;
    assert_eq!(body["outcomes"][0]["action"], "failed", "{body}");
    assert_eq!(h.profile_creations(), 0, "nothing may reach Namely without an email");
    assert!(h.tags(0).contains(&TAG_FAILED.to_string()), "{:?}", h.tags(0));
    let note = h.notes(0).pop().unwrap();
    assert!(note.contains("email"), "the note names the missing field: {note}");
    assert!(note.contains(TAG_RETRY), "the note says how to try again: {note}");

    // Retried before anything was fixed: the tags are set again, the same note is not written twice.
    h.sb.with_lever(|d| d.opportunity_mut(&id).unwrap()["tags"].as_array_mut().unwrap().push(json!(TAG_RETRY)));
    let summary = h.invoke(json!({"action": "retry-sweep"})).await;
    assert_eq!(summary["counts"]["failed"], 1, "{summary}");
    assert_eq!(h.notes(0).len(), 1, "the same failure note was written again: {:?}", h.notes(0));
    assert!(!h.tags(0).contains(&TAG_RETRY.to_string()), "{:?}", h.tags(0));

    // The recruiter adds the email and the retry tag; the sweep transfers it and swaps the tags.
    h.sb.with_lever(|d| {
        let o = d.opportunity_mut(&id).unwrap();
        o["emails"] = json!(["fixed.address@candidates.example.org"]);
        o["tags"].as_array_mut().unwrap().push(json!(TAG_RETRY));
    });
    let summary = h.invoke(json!({"action": "retry-sweep"})).await;
    assert_eq!(summary["counts"]["created"], 1, "{summary}");
    let tags = h.tags(0);
    assert!(tags.contains(&TAG_SUCCESS.to_string()), "{tags:?}");
    assert!(!tags.contains(&TAG_FAILED.to_string()) && !tags.contains(&TAG_RETRY.to_string()), "{tags:?}");
    assert_eq!(h.namely_profiles("fixed.address@candidates.example.org").len(), 1);

    // A second sweep finds nothing tagged: no work.
    let summary = h.invoke(json!({"action": "retry-sweep"})).await;
    assert_eq!(summary["counts"], json!({"created": 0, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}));
}

#[tokio::test]
async fn a_namely_validation_error_is_quoted_in_the_lever_note() {
    let h = harness(&[]).await;
    let id = h.id(1);
    // The recruiter typed a personal email without a domain in the New Hire Form.
    h.sb.with_lever(|d| {
        let form = &mut d.forms.get_mut(&id).unwrap()[0];
        form["fields"].as_array_mut().unwrap().push(json!({"id": "f-pe", "type": "text", "text": "Personal email",
            "description": "", "required": false, "value": "jane@home"}));
    });
    let (_, body) = h.hire(1).await;
    assert_eq!(body["outcomes"][0]["action"], "failed", "{body}");
    let note = h.notes(1).pop().unwrap();
    assert!(note.contains("personal_email is not a valid email address"), "Namely's own words: {note}");
    assert!(h.tags(1).contains(&TAG_FAILED.to_string()));
    assert!(h.namely_profiles(&h.email(1)).is_empty());
}

#[tokio::test]
async fn when_namely_is_down_the_hire_waits_on_the_queue_and_is_transferred_later() {
    let h = harness(&[("HIRE_MAX_ATTEMPTS", "3")]).await;
    h.sb.namely.inject(FaultRule::new(Fault::ServerError(503)).method("POST"));
    let batch = h.invoke(h.sqs_event(0, 1)).await;
    assert_eq!(batch["batchItemFailures"], json!([{"itemIdentifier": "m-0-1"}]), "the message must stay queued");
    assert!(h.tags(0).iter().all(|t| !t.starts_with("Namely")), "no verdict in Lever yet: {:?}", h.tags(0));
    let entry = h.runlog.entry("hire", &h.id(0)).await.unwrap().unwrap();
    assert!(entry.open && entry.state == "queued", "{entry:?}");
    assert!(h.history(0).await[0].detail.as_deref().unwrap().contains("will retry"));

    // Namely is back; SQS hands the message out again, after the hire's lease ran out.
    h.sb.namely.clear_faults();
    h.lease_runs_out(0).await;
    let batch = h.invoke(h.sqs_event(0, 2)).await;
    assert_eq!(batch["batchItemFailures"], json!([]), "{batch}");
    assert_eq!(h.namely_profiles(&h.email(0)).len(), 1, "exactly one profile, whatever the first POST did");
    assert!(h.tags(0).contains(&TAG_SUCCESS.to_string()));
    assert!(!h.runlog.entry("hire", &h.id(0)).await.unwrap().unwrap().open);
}

#[tokio::test]
async fn a_worker_near_its_deadline_starts_no_attempt_it_cannot_finish_and_cuts_a_hung_one_short() {
    let h = harness(&[("HIRE_ATTEMPT_SECONDS", "1")]).await;
    // Namely does not answer: every attempt would hang until the vendor timeouts and retries ran out.
    h.sb.namely.inject(FaultRule::new(Fault::Slow(std::time::Duration::from_secs(30))));
    let records: Vec<Value> = [0, 1, 4].iter().map(|&i| h.sqs_event(i, 1)["Records"][0].clone()).collect();
    let batch = json!({"Records": records});
    // Lambda stops this invocation 4.5 s from now: time for one attempt (1 s) and the margin (3 s).
    let started = std::time::Instant::now();
    let deadline = std::time::SystemTime::now() + std::time::Duration::from_millis(4500);
    let answer = app::lambda::with_deadline(deadline, h.invoke(batch)).await;
    assert!(started.elapsed() < std::time::Duration::from_millis(4500), "the worker outlived its deadline");
    let failures: Vec<&str> =
        answer["batchItemFailures"].as_array().unwrap().iter().map(|f| f["itemIdentifier"].as_str().unwrap()).collect();
    assert_eq!(failures, ["m-0-1", "m-1-1", "m-4-1"], "every hire goes back to the queue: {answer}");

    // The hung attempt is recorded and counted; the hire stays held (a create may have been sent).
    let entry = h.runlog.entry("hire", &h.id(0)).await.unwrap().unwrap();
    assert_eq!((entry.open, entry.body["attempts"].as_u64()), (true, Some(1)), "{entry:?}");
    assert!(entry.body["last_detail"].as_str().unwrap().contains("stopped after 1 s"), "{entry:?}");
    let key = lever_hire_webhook::transfer::claim_key(&h.id(0));
    let held = h.runlog.claim(&key, "probe", chrono::Duration::minutes(1)).await.unwrap();
    assert!(matches!(held, platform::Claim::InProgress { .. }), "{held:?}");
    // The two not started were not touched, and the run says so.
    for i in [1, 4] {
        assert!(h.runlog.entry("hire", &h.id(i)).await.unwrap().is_none(), "hire {i} was started");
        assert!(h.history(i).await.is_empty());
    }
    let run = h.runlog.latest_runs(Some(lever_hire_webhook::FUNCTION), 1).await.unwrap().remove(0);
    assert!(run.message.as_deref().unwrap_or("").contains("2 of 3 hires not started"), "{run:?}");
    assert_eq!(run.counts.failed, 1, "{run:?}");

    // The next delivery of the hung hire counts from its record, not from SQS's receive count.
    h.sb.namely.clear_faults();
    h.lease_runs_out(0).await;
    assert_eq!(h.invoke(h.sqs_event(0, 5)).await["batchItemFailures"], json!([]));
    assert!(h.history(0).await[0].detail.as_deref().unwrap_or("").contains("created"), "{:?}", h.history(0).await);
    assert_eq!(h.runlog.entry("hire", &h.id(0)).await.unwrap().unwrap().body["attempts"], 2);
}

#[tokio::test]
async fn a_hire_that_keeps_meeting_an_outage_is_failed_visibly_on_its_last_attempt() {
    let h = harness(&[("HIRE_MAX_ATTEMPTS", "2")]).await;
    h.sb.namely.inject(FaultRule::new(Fault::ServerError(502)).method("POST"));
    assert_eq!(h.invoke(h.sqs_event(1, 1)).await["batchItemFailures"].as_array().unwrap().len(), 1);
    h.lease_runs_out(1).await;
    let batch = h.invoke(h.sqs_event(1, 2)).await;
    assert_eq!(batch["batchItemFailures"], json!([]), "the last attempt settles it: {batch}");
    assert!(h.tags(1).contains(&TAG_FAILED.to_string()));
    let note = h.notes(1).pop().unwrap();
    assert!(note.contains("2 attempts") && note.contains(TAG_RETRY), "{note}");
}

#[tokio::test]
async fn twenty_concurrent_duplicate_deliveries_create_one_profile() {
    let h = Arc::new(harness(&[]).await);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            // Half are candidateHired, half the matching archive change; each has its own token.
            let o = h.opportunity(4);
            if i % 2 == 0 {
                h.hire(4).await
            } else {
                let data = json!({"opportunityId": o["id"], "toArchived": o["archived"], "fromArchived": null});
                h.post(&h.signed("candidateArchiveChange", data)).await
            }
        }));
    }
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(h.profile_creations(), 1, "exactly one POST /profiles");
    assert_eq!(h.namely_profiles(&h.email(4)).len(), 1);
    let success_notes = h.notes(4).iter().filter(|n| n.contains("successfully transferred")).count();
    assert_eq!(success_notes, 1, "{:?}", h.notes(4));
}

#[tokio::test]
async fn an_existing_namely_profile_with_the_email_is_linked_not_duplicated() {
    let h = harness(&[]).await;
    let email = h.email(5);
    let existing = h.sb.with_namely(|d| {
        let mut p = d.profiles[0].clone();
        let id = uuid::Uuid::new_v4().to_string();
        p["id"] = json!(id);
        p["email"] = json!(email.to_uppercase());
        d.profiles.push(p);
        id
    });
    let (_, body) = h.hire(5).await;
    assert_eq!(body["outcomes"][0]["action"], "updated", "{body}");
    assert_eq!(body["outcomes"][0]["namely_id"], existing.as_str());
    assert_eq!(h.profile_creations(), 0);
    let note = h.notes(5).pop().unwrap();
    assert!(note.contains(&existing) && note.contains("linked"), "{note}");
    assert!(h.tags(5).contains(&TAG_SUCCESS.to_string()));
}

#[tokio::test]
async fn a_worker_that_died_after_namely_created_the_profile_is_finished_by_the_next_attempt() {
    let h = harness(&[]).await;
    // Namely creates the profile, then Lever refuses every write-back: the attempt cannot finish.
    h.sb.lever.inject(FaultRule::new(Fault::ServerError(500)).method("POST"));
    let batch = h.invoke(h.sqs_event(0, 1)).await;
    assert_eq!(batch["batchItemFailures"].as_array().unwrap().len(), 1, "{batch}");
    assert_eq!(h.namely_profiles(&h.email(0)).len(), 1);
    h.sb.lever.clear_faults();
    let batch = h.invoke(h.sqs_event(0, 2)).await;
    assert_eq!(batch["batchItemFailures"], json!([]), "{batch}");
    assert_eq!(h.profile_creations(), 1, "the second attempt linked the first one's profile");
    let profiles = h.namely_profiles(&h.email(0));
    assert_eq!(profiles.len(), 1, "one Namely profile");
    let notes = h.notes(0);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains(profiles[0]["id"].as_str().unwrap()), "the note names the profile: {notes:?}");
    let tags = h.tags(0);
    assert_eq!(tags.iter().filter(|t| *t == TAG_SUCCESS).count(), 1, "one success tag: {tags:?}");
    assert!(!tags.contains(&TAG_FAILED.to_string()), "{tags:?}");
}

#[tokio::test]
async fn a_success_tag_without_its_note_is_finished_by_the_next_attempt_not_skipped() {
    let h = harness(&[]).await;
    // The profile is created and the success tag goes on, but Lever refuses the note.
    let notes = format!("/opportunities/{}/notes", h.id(0));
    h.sb.lever.inject(FaultRule::new(Fault::ServerError(500)).method("POST").path(&notes));
    let batch = h.invoke(h.sqs_event(0, 1)).await;
    assert_eq!(batch["batchItemFailures"].as_array().unwrap().len(), 1, "{batch}");
    assert!(h.tags(0).contains(&TAG_SUCCESS.to_string()), "{:?}", h.tags(0));
    assert!(h.notes(0).is_empty());
    h.sb.lever.clear_faults();
    let batch = h.invoke(h.sqs_event(0, 2)).await;
    assert_eq!(batch["batchItemFailures"], json!([]), "{batch}");
    assert_eq!(h.profile_creations(), 1);
    let notes = h.notes(0);
    assert_eq!(notes.len(), 1, "{notes:?}");
    let profile_id = h.namely_profiles(&h.email(0))[0]["id"].as_str().unwrap().to_string();
    assert!(notes[0].contains(&profile_id), "the note gives the Namely id: {notes:?}");
    let entry = h.runlog.entry("hire", &h.id(0)).await.unwrap().unwrap();
    assert_eq!(entry.state, "transferred", "{entry:?}");
}

#[tokio::test]
async fn malformed_requests_get_the_status_that_says_what_is_wrong() {
    let h = harness(&[]).await;
    let request = |method: &str, body: &str| json!({"requestContext": {"http": {"method": method}}, "isBase64Encoded": false, "body": body});
    for (method, body, expected) in [
        ("GET", "", 405),
        ("POST", "<html>nope</html>", 400),
        ("POST", "{\"event\": \"candidateHired\"}", 400),
        ("POST", &"x".repeat(70 * 1024), 413),
    ] {
        let response = h.invoke(request(method, body)).await;
        assert_eq!(response["statusCode"], expected, "{method} {}: {response}", &body[..body.len().min(40)]);
        assert!(response["body"].as_str().unwrap().contains("error"));
    }
    assert!(h.sb.lever.requests().is_empty() && h.sb.namely.requests().is_empty());
}

#[tokio::test]
async fn a_refused_namely_token_fails_the_hire_with_how_to_make_a_new_one() {
    let h = harness(&[]).await;
    h.sb.namely.inject(FaultRule::new(Fault::Unauthorized));
    let (_, body) = h.hire(0).await;
    assert_eq!(body["outcomes"][0]["action"], "failed", "{body}");
    assert_eq!(body["outcomes"][0]["retry_later"], false, "waiting will not fix a token");
    let note = h.notes(0).pop().unwrap();
    assert!(note.contains("personal access token") && note.contains(TAG_RETRY), "{note}");
    assert!(!note.contains(&h.sb.credentials.namely_token), "the token leaked into the note");
    assert!(h.tags(0).contains(&TAG_FAILED.to_string()));
    assert_eq!(h.profile_creations(), 0);
}
