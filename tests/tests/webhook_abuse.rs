//! Webhook abuse, end to end: requests to `lever-hire-webhook` as Lambda passes them from its
//! Function URL. Every refused request — unsigned, forged, signed with another webhook's token,
//! too large, not JSON, incomplete, not a POST — gets its status and writes nothing anywhere (no
//! queue message, no run-log item, no Lever or Namely call), only a log line; a delivery replayed
//! after its hire was transferred is acknowledged and does no work. In both deployments: the one
//! `template.yaml` makes (DynamoDB run log and SQS hire queue, here on moto) and the local one
//! (embedded run log, the hire transferred before answering).

use base64::Engine;
use e2e::evidence::{run_log_rows, Logs};
use lever_hire_webhook::settings::HireSettings;
use sandbox::{lever_signed_delivery, Sandbox, Tenant};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use tracing::Instrument;

/// The body size limit configured for these tests (the default is 64 KiB).
const MAX_BODY: usize = 4096;

/// Where a deployment keeps what the webhook writes.
enum Store {
    /// The embedded run log; no queue (the hire is transferred before answering).
    Embedded { path: PathBuf },
    /// The template's deployment: the DynamoDB run log and the SQS hire queue.
    Aws { dynamo: aws_sdk_dynamodb::Client, table: String, sqs: aws_sdk_sqs::Client, queue: String },
}

/// Everything the function could have written, and every call it made to a vendor.
#[derive(Debug, PartialEq, Eq)]
struct Written {
    run_log: Vec<String>,
    queued: u64,
    lever_requests: usize,
    namely_requests: usize,
}

impl Written {
    /// Since `before`, one run-log item more (a remembered delivery token), nothing queued and no
    /// vendor called.
    fn assert_only_a_token_more_than(&self, before: &Written, what: &str) {
        assert_eq!(self.run_log.len(), before.run_log.len() + 1, "{what}: {self:?}");
        assert_eq!(
            (self.queued, self.lever_requests, self.namely_requests),
            (0, before.lever_requests, before.namely_requests),
            "{what}"
        );
    }
}

struct Harness {
    sb: Sandbox,
    deps: app::Deps,
    settings: HireSettings,
    store: Store,
    dir: PathBuf,
    logs: Logs,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn harness(aws: Option<&aws_config::SdkConfig>) -> Harness {
    let logs = Logs::capture();
    let sb = Sandbox::start(Tenant::small()).await.expect("sandbox");
    let dir = std::env::temp_dir().join(format!("e2e-abuse-{}", uuid::Uuid::new_v4()));
    let settings =
        HireSettings::from_lookup(|k| (k == "WEBHOOK_MAX_BODY_BYTES").then(|| MAX_BODY.to_string())).expect("settings");
    let (deps, store) = match aws {
        None => {
            let (deps, _) = e2e::sandbox_deps(&sb, &dir, &[]);
            (deps, Store::Embedded { path: dir.join("runs.sqlite3") })
        }
        Some(aws) => {
            let table = e2e::create_runs_table(aws).await;
            let sqs = aws_sdk_sqs::Client::new(aws);
            let name = format!("hires-{}", uuid::Uuid::new_v4().simple());
            let created = sqs.create_queue().queue_name(name).send().await.expect("create the hire queue in moto");
            let queue = created.queue_url.expect("queue url");
            let mut env: HashMap<String, String> = sb.env_vars().into_iter().collect();
            env.insert("RUNS_TABLE".into(), table.clone());
            env.insert("HIRE_QUEUE_URL".into(), queue.clone());
            let config = platform::Config::from_lookup(|k| env.get(k).cloned()).expect("config");
            let secrets = platform::SecretStore::with_lookup(&config, Some(aws), |k| env.get(k).cloned());
            let runlog = platform::runlog::from_config(&config, Some(aws)).expect("run log");
            let deps = app::Deps::new(config, secrets, runlog).with_aws(Some(aws.clone()));
            let dynamo = aws_sdk_dynamodb::Client::new(aws);
            (deps, Store::Aws { dynamo, table, sqs, queue })
        }
    };
    Harness { sb, deps, settings, store, dir, logs }
}

/// A Function URL request (payload format 2.0) with this method and body.
fn request(method: &str, body: &str) -> Value {
    json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": method, "path": "/"}},
           "headers": {"content-type": "application/json", "user-agent": "Lever-Webhooks"},
           "isBase64Encoded": false, "body": body})
}

fn post(delivery: &Value) -> Value {
    request("POST", &delivery.to_string())
}

/// The body base64-encoded, as a Function URL passes a body it does not take for text.
fn base64_post(body: &str) -> Value {
    let mut event = request("POST", &base64::engine::general_purpose::STANDARD.encode(body));
    event["isBase64Encoded"] = json!(true);
    event
}

/// `delivery` with a `padding` field that makes its body exactly `size` bytes.
fn padded(delivery: &Value, size: usize) -> Value {
    let mut out = delivery.clone();
    out["padding"] = json!("");
    let base = out.to_string().len();
    out["padding"] = json!("x".repeat(size - base));
    assert_eq!(out.to_string().len(), size);
    out
}

impl Harness {
    fn token(&self, i: usize) -> &str {
        &self.sb.credentials.lever_signature_tokens[i]
    }

    fn opportunity(&self, index: usize) -> Value {
        self.sb.lever_data().opportunities[index].clone()
    }

    /// A `candidateHired` delivery for the sandbox's first opportunity (hired), signed as Lever does.
    fn hire(&self, triggered_at: u64) -> Value {
        let o = self.opportunity(0);
        let data = json!({"opportunityId": o["id"], "candidateId": o["id"], "contactId": o["contact"]});
        lever_signed_delivery("candidateHired", data, self.token(0), triggered_at)
    }

    /// Sends one request as the case `case`; returns the status and the answer's body.
    async fn send(&self, case: &str, event: Value) -> (u16, Value) {
        let span = tracing::info_span!("abuse", case);
        let answer = lever_hire_webhook::handle_with(&self.deps, &self.settings, event)
            .instrument(span)
            .await
            .expect("the webhook answers every request");
        let status = answer["statusCode"].as_u64().and_then(|s| u16::try_from(s).ok()).expect("status");
        let body = serde_json::from_str(answer["body"].as_str().unwrap_or("")).expect("a JSON body");
        (status, body)
    }

    async fn written(&self) -> Written {
        let (run_log, queued) = match &self.store {
            Store::Embedded { path } => (run_log_rows(path), 0),
            Store::Aws { dynamo, table, sqs, queue } => {
                let scan = dynamo.scan().table_name(table).consistent_read(true).send().await.expect("scan");
                let items =
                    scan.items.unwrap_or_default().iter().map(|item| format!("{:?}", item_sorted(item))).collect();
                use aws_sdk_sqs::types::QueueAttributeName as A;
                let attributes = sqs
                    .get_queue_attributes()
                    .queue_url(queue)
                    .attribute_names(A::All)
                    .send()
                    .await
                    .expect("queue attributes")
                    .attributes
                    .unwrap_or_default();
                let count = |name: A| attributes.get(&name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                let queued = count(A::ApproximateNumberOfMessages)
                    + count(A::ApproximateNumberOfMessagesNotVisible)
                    + count(A::ApproximateNumberOfMessagesDelayed);
                (items, queued)
            }
        };
        let mut run_log = run_log;
        run_log.sort();
        Written {
            run_log,
            queued,
            lever_requests: self.sb.lever.requests().len(),
            namely_requests: self.sb.namely.requests().len(),
        }
    }

    /// With a queue: takes the queued hire and hands it to the worker, as the event source mapping
    /// does (deleting it once the worker is done). Without one the webhook has transferred it.
    async fn work_the_queue(&self) {
        let Store::Aws { sqs, queue, .. } = &self.store else { return };
        let received = sqs.receive_message().queue_url(queue).wait_time_seconds(2).send().await.expect("receive");
        let messages = received.messages.unwrap_or_default();
        assert_eq!(messages.len(), 1, "one queued hire");
        let message = &messages[0];
        let batch = json!({"Records": [{"messageId": message.message_id, "receiptHandle": message.receipt_handle,
            "body": message.body, "attributes": {"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs"}]});
        let answer = lever_hire_webhook::handle_with(&self.deps, &self.settings, batch).await.expect("worker");
        assert_eq!(answer, json!({"batchItemFailures": []}));
        let handle = message.receipt_handle.clone().unwrap_or_default();
        sqs.delete_message().queue_url(queue).receipt_handle(handle).send().await.expect("delete");
    }

    /// The log lines written while handling `case`.
    fn log_lines(&self, case: &str) -> Vec<String> {
        let marker = format!("\"case\":\"{case}\"");
        self.logs.lines().into_iter().filter(|l| l.contains(&marker)).collect()
    }
}

/// A DynamoDB item with its attributes in name order, for comparing snapshots.
fn item_sorted(
    item: &HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> Vec<(&String, &aws_sdk_dynamodb::types::AttributeValue)> {
    let mut attributes: Vec<_> = item.iter().collect();
    attributes.sort_by(|a, b| a.0.cmp(b.0));
    attributes
}

/// Every refused request, named, with the status it must get.
fn refused_requests(h: &Harness, prefix: &str) -> Vec<(String, Value, u16)> {
    let good = h.hire(sandbox::now_ms());
    let without = |field: &str| {
        let mut d = good.clone();
        d.as_object_mut().expect("object").remove(field);
        d
    };
    let with = |field: &str, value: Value| {
        let mut d = good.clone();
        d[field] = value;
        d
    };
    let o = h.opportunity(0);
    let another_token = lever_signed_delivery(
        "candidateHired",
        json!({"opportunityId": o["id"]}),
        "another-webhooks-token",
        sandbox::now_ms(),
    );
    let oversized = padded(&good, MAX_BODY + 1);
    let cases = vec![
        ("missing-signature", post(&without("signature")), 401),
        ("empty-signature", post(&with("signature", json!(""))), 401),
        ("wrong-signature", post(&with("signature", json!("0".repeat(64)))), 401),
        ("signature-not-hex", post(&with("signature", json!("not a signature"))), 401),
        ("signed-with-another-token", post(&another_token), 401),
        ("signed-for-another-time", post(&with("triggeredAt", json!(1_763_000_000_001u64))), 401),
        // Signed as Lever signs, but triggered before the replay window (72 hours by default).
        ("triggered-four-days-ago", post(&h.hire(sandbox::now_ms() - 4 * 24 * 3_600_000)), 401),
        ("triggered-in-the-future", post(&h.hire(sandbox::now_ms() + 3_600_000)), 401),
        ("signed-for-another-token-field", post(&with("token", json!("f".repeat(48)))), 401),
        ("over-the-size-limit", post(&oversized), 413),
        ("over-the-size-limit-base64", base64_post(&oversized.to_string()), 413),
        ("not-json", request("POST", "<html><body>hello</body></html>"), 400),
        ("json-not-an-object", request("POST", "[1, 2, 3]"), 400),
        ("empty-body", request("POST", ""), 400),
        (
            "not-base64",
            {
                let mut e = request("POST", "%%% not base64 %%%");
                e["isBase64Encoded"] = json!(true);
                e
            },
            400,
        ),
        ("missing-event", post(&without("event")), 400),
        ("missing-token", post(&without("token")), 400),
        ("missing-triggeredAt", post(&without("triggeredAt")), 400),
        ("triggeredAt-not-a-number", post(&with("triggeredAt", json!("1763000000000"))), 400),
        ("get", request("GET", &good.to_string()), 405),
        ("put", request("PUT", &good.to_string()), 405),
        ("delete", request("DELETE", ""), 405),
        ("head", request("HEAD", ""), 405),
    ];
    cases.into_iter().map(|(name, event, status)| (format!("{prefix}-{name}"), event, status)).collect()
}

/// The whole abuse matrix against one deployment, then the replay of a transferred hire.
async fn refused_requests_write_nothing_and_a_replay_does_no_work(h: &Harness, prefix: &str) {
    let nothing = h.written().await;
    assert!(nothing.run_log.is_empty() && nothing.queued == 0, "{nothing:?}");
    for (case, event, expected) in refused_requests(h, prefix) {
        let (status, body) = h.send(&case, event).await;
        assert_eq!(status, expected, "{case}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{case} says why: {body}");
        for token in &h.sb.credentials.lever_signature_tokens {
            assert!(!body.to_string().contains(token.as_str()), "{case}: the answer shows a signature token");
        }
        assert_eq!(h.written().await, nothing, "{case} wrote something or called a vendor");
        let lines = h.log_lines(&case);
        let refusal = lines
            .iter()
            .find(|l| l.contains("webhook request refused"))
            .unwrap_or_else(|| panic!("{case}: no log line says the request was refused: {lines:#?}"));
        assert!(refusal.contains(&format!("\"status\":{expected}")), "{case}: {refusal}");
    }

    // The size limit is the configured one: a delivery of exactly that size goes through (Lever's
    // settings "test" delivery, which does no work).
    let test_delivery = lever_signed_delivery("candidateHired", json!({}), h.token(1), sandbox::now_ms());
    let (status, body) = h.send(&format!("{prefix}-at-the-size-limit"), post(&padded(&test_delivery, MAX_BODY))).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("test delivery received")), "{body}");
    // A verified delivery's token is remembered (one run-log item), whatever it asks for.
    h.written().await.assert_only_a_token_more_than(&nothing, "the test delivery");

    // The genuine delivery is accepted and does write: the checks above could see a write.
    let delivery = h.hire(sandbox::now_ms());
    let (status, body) = h.send(&format!("{prefix}-genuine"), post(&delivery)).await;
    assert!(status == 200 || status == 202, "{status}: {body}");
    let received = h.written().await;
    assert!(received.run_log.len() > nothing.run_log.len(), "the hire was not recorded");
    assert!(received.queued == 1 || matches!(h.store, Store::Embedded { .. }), "{received:?}");
    h.work_the_queue().await;
    let email = h.opportunity(0)["emails"][0].as_str().expect("email").to_string();
    let profiles = |h: &Harness| h.sb.namely_data().profiles.iter().filter(|p| p["email"] == email.as_str()).count();
    assert_eq!(profiles(h), 1, "the hire was transferred");
    let id = h.opportunity(0)["id"].clone();
    let notes = |h: &Harness| h.sb.lever_data().notes.iter().filter(|n| n["opportunityId"] == id).count();
    assert_eq!(notes(h), 1);

    // Replayed after it succeeded — the same delivery (Lever's retry), and a new one for the same hire
    // ("Rerun"): acknowledged, and nothing written, queued or called.
    let done = h.written().await;
    assert_eq!(done.queued, 0, "{done:?}");
    let (status, body) = h.send(&format!("{prefix}-replay"), post(&delivery)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("already transferred")), "replay: {body}");
    assert_eq!(h.written().await, done, "the byte-identical retry did work");
    let (status, body) = h.send(&format!("{prefix}-rerun"), post(&h.hire(sandbox::now_ms() + 1))).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("already transferred")), "rerun: {body}");
    let rerun = h.written().await;
    rerun.assert_only_a_token_more_than(&done, "only the rerun's token is remembered");

    // The accepted delivery's signature, token and time with another opportunity swapped into its
    // data (Lever's HMAC does not cover `data`): refused, nothing written, queued or called.
    let mut swapped = delivery.clone();
    swapped["data"]["opportunityId"] = h.opportunity(1)["id"].clone();
    let case = format!("{prefix}-replayed-with-other-data");
    let (status, body) = h.send(&case, post(&swapped)).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("already used")), "{body}");
    assert_eq!(h.written().await, rerun, "the altered replay wrote something or called a vendor");
    assert!(h.log_lines(&case).iter().any(|l| l.contains("webhook request refused")));
    assert_eq!((profiles(h), notes(h)), (1, 1), "a second profile or note");
}

#[tokio::test]
async fn local_deployment_refuses_abuse_with_nothing_written_and_ignores_replays() {
    let h = harness(None).await;
    refused_requests_write_nothing_and_a_replay_does_no_work(&h, "local").await;

    // A Lever secret without signature tokens trusts no delivery at all.
    let lever = json!({"api_key": h.sb.credentials.lever_api_key}).to_string();
    let dir = h.dir.join("no-tokens");
    let (deps, _) = e2e::sandbox_deps(&h.sb, &dir, &[("LEVER_SECRET_JSON", &lever)]);
    let before = (h.sb.lever.requests().len(), h.sb.namely.requests().len());
    let answer =
        lever_hire_webhook::handle_with(&deps, &h.settings, post(&h.hire(sandbox::now_ms()))).await.expect("answer");
    assert_eq!(answer["statusCode"], 401, "{answer}");
    // The caller is not told about this deployment's settings; the log says what to fix.
    assert!(!answer["body"].as_str().unwrap_or("").contains("webhook_signature_tokens"), "{answer}");
    assert!(h.logs.lines().iter().any(|l| l.contains("add `webhook_signature_tokens`")), "no log says what to fix");
    assert_eq!((h.sb.lever.requests().len(), h.sb.namely.requests().len()), before);
    assert!(run_log_rows(&dir.join("runs.sqlite3")).is_empty(), "a refused delivery was recorded");

    // Method and size are checked before any secret is read: with an unreadable Lever secret, junk
    // still gets 405 and 413; a real delivery gets a 503 that names no secret, path or setting.
    let dir = h.dir.join("unreadable-secret");
    let (deps, _) = e2e::sandbox_deps(&h.sb, &dir, &[("LEVER_SECRET_JSON", "{not json")]);
    let call = |event: Value| lever_hire_webhook::handle_with(&deps, &h.settings, event);
    assert_eq!(call(request("GET", "")).await.expect("answer")["statusCode"], 405);
    let oversized = padded(&h.hire(sandbox::now_ms()), MAX_BODY + 1);
    assert_eq!(call(post(&oversized)).await.expect("answer")["statusCode"], 413);
    let answer = call(post(&h.hire(sandbox::now_ms()))).await.expect("answer");
    assert_eq!(answer["statusCode"], 503, "{answer}");
    let body = answer["body"].as_str().unwrap_or("").to_lowercase();
    for private in ["secret", "lever_secret_json", "json", "/", "arn:"] {
        assert!(!body.contains(private), "the 503 shows '{private}': {body}");
    }

    // Blank tokens are no tokens: never an HMAC key, even for a body signed with the empty key.
    let blank = json!({"api_key": h.sb.credentials.lever_api_key, "webhook_signature_tokens": ["", "  "]}).to_string();
    let dir = h.dir.join("blank-tokens");
    let (deps, _) = e2e::sandbox_deps(&h.sb, &dir, &[("LEVER_SECRET_JSON", &blank)]);
    let o = h.opportunity(0);
    let signed_with_blank =
        lever_signed_delivery("candidateHired", json!({"opportunityId": o["id"]}), "", sandbox::now_ms());
    let answer = lever_hire_webhook::handle_with(&deps, &h.settings, post(&signed_with_blank)).await.expect("answer");
    assert_eq!(answer["statusCode"], 401, "{answer}");
    assert_eq!((h.sb.lever.requests().len(), h.sb.namely.requests().len()), before);
    assert!(run_log_rows(&dir.join("runs.sqlite3")).is_empty(), "a refused delivery was recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployed_shape_refuses_abuse_with_nothing_queued_or_recorded_and_ignores_replays() {
    let Some(aws) = e2e::moto().await else { return };
    let h = harness(Some(&aws)).await;
    refused_requests_write_nothing_and_a_replay_does_no_work(&h, "aws").await;
}
