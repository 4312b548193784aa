//! Lever → The Org import, its handler called in-process as Lambda calls it, against the sandbox
//! Lever and The Org, the embedded run log, and moto's SNS for the completion notification.

use app::Deps;
use platform::runlog::SqliteRunLog;
use platform::RunLog;
use sandbox::{Fault, FaultRule, Sandbox, Tenant, TenantSpec};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use theorg_import::settings::TheOrgSettings;

struct Harness {
    sb: Sandbox,
    deps: Deps,
    settings: TheOrgSettings,
    runlog: Arc<SqliteRunLog>,
    dir: std::path::PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn harness(postings: usize, settings: &[(&str, &str)], aws: Option<aws_config::SdkConfig>) -> Harness {
    let tenant = Tenant::generate(&TenantSpec { seed: 31, employees: 5, opportunities: 2, postings });
    let sb = Sandbox::start(tenant).await.expect("sandbox");
    let dir = std::env::temp_dir().join(format!("e2e-theorg-{}", uuid::Uuid::new_v4()));
    let (deps, runlog) = e2e::sandbox_deps(&sb, &dir, &[]);
    let deps = deps.with_aws(aws);
    let map: HashMap<String, String> = settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let settings = TheOrgSettings::from_lookup(|k| map.get(k).cloned()).expect("settings");
    Harness { sb, deps, settings, runlog, dir }
}

impl Harness {
    async fn import(&self, event: Value) -> Value {
        theorg_import::handle_with(&self.deps, &self.settings, event).await.expect("import answers")
    }

    fn writes(&self) -> usize {
        self.sb.theorg.requests().iter().filter(|r| r.method != "GET").count()
    }

    fn job(&self, posting_id: &str) -> Option<Value> {
        self.sb.theorg_data().jobs.into_iter().find(|j| j["externalId"] == posting_id)
    }

    fn open_posting_ids(&self) -> BTreeSet<String> {
        let lever = self.sb.lever_data();
        lever
            .postings
            .iter()
            .filter(|p| p["state"] == "published" || p["state"] == "internal")
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

#[tokio::test]
async fn exactly_the_open_roles_are_imported_with_every_field_and_a_rerun_writes_nothing() {
    let h = harness(30, &[], None).await;
    let lever = h.sb.lever_data();
    let states: BTreeSet<&str> = lever.postings.iter().map(|p| s(&p["state"])).collect();
    assert!(states.len() >= 5, "the tenant needs postings in every state: {states:?}");
    let hidden =
        lever.postings.iter().any(|p| p["state"] == "published" && p["distributionChannels"] == json!(["internal"]));
    assert!(hidden, "the tenant needs a published posting on the internal channel only");

    let summary = h.import(json!({"action": "sync"})).await;
    assert_eq!(summary["status"], "succeeded", "{summary}");
    let imported: BTreeSet<String> = h.sb.theorg_data().jobs.iter().map(|j| s(&j["externalId"]).to_string()).collect();
    assert_eq!(imported, h.open_posting_ids(), "exactly the published and internal postings");
    assert_eq!(summary["roles"]["added"].as_u64(), Some(imported.len() as u64));

    for p in lever.postings.iter().filter(|p| imported.contains(s(&p["id"]))) {
        let job = h.job(s(&p["id"])).unwrap();
        assert_eq!(job["title"], p["text"]);
        assert_eq!(job["state"], p["state"]);
        assert_eq!(job["department"], p["categories"]["department"]);
        assert_eq!(job["team"], p["categories"]["team"]);
        assert_eq!(job["location"], p["categories"]["location"]);
        assert_eq!(job["allLocations"], p["categories"]["allLocations"]);
        assert_eq!(job["createdAt"], p["createdAt"]);
        assert_eq!(job["url"], p["urls"]["show"]);
        assert_eq!(job["applyUrl"], p["urls"]["apply"]);
        assert!(s(&job["description"]).contains(s(&p["content"]["description"])), "{job}");
        assert!(s(&job["description"]).contains("Curiosity"), "the lists are part of the text: {job}");
        assert!(s(&job["descriptionHtml"]).contains(s(&p["content"]["descriptionHtml"])), "{job}");
        assert!(job["managerId"].is_null(), "the import never places a manager");
    }

    let writes = h.writes();
    let again = h.import(json!({"action": "sync", "trigger": "schedule"})).await;
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(h.writes(), writes, "a run with nothing changed in Lever must not write");
    assert_eq!(
        again["roles"],
        json!({"added": 0, "updated": 0, "removed": 0,
        "unchanged": imported.len(), "failed": 0})
    );
}

#[tokio::test]
async fn closed_and_deleted_postings_are_removed_at_the_next_run_and_a_title_change_keeps_the_manager() {
    let h = harness(20, &[], None).await;
    h.import(json!({"action": "sync"})).await;
    let open: Vec<String> = h.open_posting_ids().into_iter().collect();
    let (closed, deleted, renamed) = (open[0].clone(), open[1].clone(), open[2].clone());
    // Someone placed the renamed role under a manager in The Org's org chart.
    let job_id = s(&h.job(&renamed).unwrap()["id"]).to_string();
    h.sb.with_theorg(|d| {
        d.jobs.iter_mut().find(|j| j["id"] == job_id.as_str()).unwrap()["managerId"] = json!("p-47185");
    });
    h.sb.with_lever(|d| {
        d.posting_mut(&closed).unwrap()["state"] = json!("closed");
        d.posting_mut(&renamed).unwrap()["text"] = json!("Principal Platform Engineer");
        assert!(d.delete_posting(&deleted, 1_763_000_000_000));
    });

    let summary = h.import(json!({"action": "sync"})).await;
    assert_eq!(summary["status"], "succeeded", "{summary}");
    assert_eq!((summary["roles"]["removed"].as_u64(), summary["roles"]["updated"].as_u64()), (Some(2), Some(1)));
    assert!(h.job(&closed).is_none() && h.job(&deleted).is_none(), "removed at once, not within 3 days");
    let job = h.job(&renamed).unwrap();
    assert_eq!(job["title"], "Principal Platform Engineer");
    assert_eq!(job["managerId"], "p-47185", "the org chart's manager was overwritten");

    let reason = |id: &str| {
        let runlog = h.runlog.clone();
        let id = id.to_string();
        async move { runlog.record_history("theorg-import", &id, 1).await.unwrap()[0].detail.clone().unwrap() }
    };
    assert!(reason(&closed).await.contains("closed in Lever"));
    assert!(reason(&deleted).await.contains("deleted in Lever"));
    let detail = reason(&renamed).await;
    assert!(detail.contains("title") && detail.contains("Principal Platform Engineer"), "{detail}");
}

#[tokio::test]
async fn a_throttling_the_org_slows_the_import_but_it_completes() {
    let h = harness(20, &[], None).await;
    h.sb.theorg.inject(FaultRule::new(Fault::Throttle).method("POST").times(3));
    let summary = h.import(json!({"action": "sync"})).await;
    assert_eq!(summary["status"], "succeeded", "{summary}");
    assert_eq!(h.sb.theorg.requests().iter().filter(|r| r.status == 429).count(), 3);
    assert_eq!(summary["roles"]["failed"], 0);
    assert_eq!(h.sb.theorg_data().jobs.len(), h.open_posting_ids().len());
}

#[tokio::test]
async fn a_dry_run_lists_what_would_change_and_publishes_nothing() {
    let h = harness(15, &[], None).await;
    let plan = h.import(json!({"action": "sync", "dry_run": true})).await;
    assert_eq!(h.writes(), 0);
    let lines: Vec<&str> = plan["plan"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(lines.iter().filter(|l| l.starts_with("add '")).count(), h.open_posting_ids().len(), "{plan}");
}

#[tokio::test]
async fn a_key_without_read_postings_permission_is_named_by_verify() {
    let h = harness(5, &[], None).await;
    h.sb.lever.inject(FaultRule::new(Fault::Forbidden).path("/postings"));
    let report = h.import(json!({"action": "verify"})).await;
    assert_eq!(report["ok"], false, "{report}");
    let lever = report["checks"].as_array().unwrap().iter().find(|c| c["vendor"] == "Lever").unwrap().clone();
    assert!(s(&lever["detail"]).contains("permission"), "{lever}");
    let summary = h.import(json!({"action": "sync"})).await;
    assert_eq!(summary["status"], "failed");
    assert!(s(&summary["error"]).contains("read-postings"), "{summary}");
}

#[tokio::test]
async fn the_completion_notification_is_published_to_sns() {
    let Some(aws) = e2e::moto().await else { return };
    let sns = aws_sdk_sns::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let topic = sns.create_topic().name(format!("imports-{}", uuid::Uuid::new_v4().simple())).send().await.unwrap();
    let topic_arn = topic.topic_arn.unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("mail-{}", uuid::Uuid::new_v4().simple()))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    sns.subscribe().topic_arn(&topic_arn).protocol("sqs").endpoint(&queue_arn).send().await.unwrap();

    let h = harness(12, &[("THEORG_NOTIFY_TOPIC_ARN", &topic_arn)], Some(aws)).await;
    let summary = h.import(json!({"action": "sync", "trigger": "manual"})).await;
    assert_eq!(summary["status"], "succeeded", "{summary}");
    let received = sqs.receive_message().queue_url(&queue_url).wait_time_seconds(2).send().await.unwrap();
    let messages = received.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1, "one notification per import");
    let envelope: Value = serde_json::from_str(messages[0].body.as_deref().unwrap()).unwrap();
    let added = summary["roles"]["added"].as_u64().unwrap();
    assert!(s(&envelope["Subject"]).contains(&format!("{added} added")), "{envelope}");
    assert!(s(&envelope["Message"]).contains("Roles removed: 0"), "{envelope}");
    assert!(!s(&envelope["Message"]).contains(&h.sb.credentials.theorg_api_key));

    // A scheduled import that changes nothing sends no mail.
    h.import(json!({"action": "sync", "trigger": "schedule"})).await;
    let quiet = sqs.receive_message().queue_url(&queue_url).wait_time_seconds(1).send().await.unwrap();
    assert!(quiet.messages.unwrap_or_default().is_empty(), "a quiet scheduled import notified");
}
