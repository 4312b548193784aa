//! Lever → Namely: every hire reaches Namely exactly once, and Lever says so.
//!
//! Two binaries. `lever-hire-receiver` sits behind the Function URL and only receives; in AWS it is a
//! function of its own, so that the public URL cannot starve the workers. `lever-hire-webhook` takes
//! four kinds of invocation (locally, under `cargo lambda watch`, it also receives):
//! - a **Function URL request** from Lever: verify the signature, record the hire, queue it, answer 2xx;
//! - an **SQS batch** from the hire queue: transfer each hire (the worker);
//! - `{"action": "retry-sweep"}` (every few minutes) or `{"action": "sync"}`: transfer again every
//!   opportunity tagged `Namely - Retry`, and any received hire that was never finished;
//! - `{"action": "transfer", "opportunity_id": "…"}` for one opportunity by hand, and `{"action": "verify"}`.

pub mod delivery;
pub mod function_url;
pub mod lookups;
pub mod queue;
pub mod reconcile;
pub mod settings;
pub mod transfer;

use app::{BadEvent, Connection, Deps};
use chrono::Utc;
use connectors::lever::OpportunityFilter;
use delivery::{classify, read_delivery, Classified, Delivery, Freshness, Refusal};
use function_url::json_response;
use lambda_http::{Body, Request, Response};
use platform::runlog::Entry;
use platform::{Outcome, Run, Trigger};
use queue::{Handoff, HireMessage};
use serde::Deserialize;
use serde_json::{json, Value};
use settings::{HireSettings, TriggerMode};
use transfer::{Attempt, AttemptOutcome, ENTRY_KIND, QUEUED, TRANSFERRED};

/// The function's name, as in `template.yaml` and the run log.
pub const FUNCTION: &str = "lever-hire-webhook";

/// The vendor connections this function uses.
pub const CONNECTIONS: &[Connection] = &[Connection::LeverHires, Connection::Namely];

/// The receiving function's name, as in `template.yaml`.
pub const RECEIVER: &str = "lever-hire-receiver";

/// The receiver reads Lever's archive reasons and stages, and nothing of Namely.
pub const RECEIVER_CONNECTIONS: &[Connection] = &[Connection::LeverHires];

/// The receiving function: Lever deliveries to the Function URL, and `{"action": "verify"}`.
pub async fn handle_receiver(deps: &Deps, payload: Value) -> Result<Value, app::Error> {
    match HireSettings::from_env() {
        Ok(settings) => handle_receiver_with(deps, &settings, payload).await,
        Err(e) => settings_unusable(e, payload).await,
    }
}

/// [`handle_receiver`] with the given settings.
pub async fn handle_receiver_with(deps: &Deps, settings: &HireSettings, payload: Value) -> Result<Value, app::Error> {
    if function_url::is_function_url(&payload) {
        return Ok(Box::pin(function_url::serve(payload, |request| receive(deps, settings, request))).await);
    }
    match app::handle_operator_event(deps, RECEIVER, RECEIVER_CONNECTIONS, payload).await {
        Err(app::Error::BadEvent(_)) => Err(BadEvent::new(
            "this function only receives Lever deliveries on its Function URL, and {\"action\": \"verify\"}; \
             send the other events to lever-hire-webhook",
        )
        .into()),
        other => other,
    }
}

/// A hire received but not finished for this long is picked up by the sweep.
const STALE_MINUTES: i64 = 15;

/// Time kept, after an attempt, for recording outcomes and answering before the deadline.
pub const FINISH_MARGIN: std::time::Duration = std::time::Duration::from_secs(3);

/// An attempt is not started with less time than this before its margin (or than its budget, if
/// smaller): a hire takes a second or two, so less would mostly cut it short.
pub const MIN_ATTEMPT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long the next attempt may take: its budget, or what is left before the margin if that is
/// less; `None` when too little is left to start one.
pub fn attempt_time(
    budget: std::time::Duration,
    remaining: Option<std::time::Duration>,
) -> Option<std::time::Duration> {
    let Some(remaining) = remaining else { return Some(budget) };
    let usable = remaining.checked_sub(FINISH_MARGIN)?;
    (usable >= budget.min(MIN_ATTEMPT)).then(|| budget.min(usable))
}

/// Handles one invocation with the settings from the environment.
pub async fn handle(deps: &Deps, payload: Value) -> Result<Value, app::Error> {
    match HireSettings::from_env() {
        Ok(settings) => handle_with(deps, &settings, payload).await,
        Err(e) => settings_unusable(e, payload).await,
    }
}

/// The direct-invocation events of this function beyond `verify`.
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
enum HireEvent {
    RetrySweep,
    Sync,
    Transfer { opportunity_id: String },
}

/// Handles one invocation with the given settings.
pub async fn handle_with(deps: &Deps, settings: &HireSettings, payload: Value) -> Result<Value, app::Error> {
    if function_url::is_function_url(&payload) {
        return Ok(Box::pin(function_url::serve(payload, |request| receive(deps, settings, request))).await);
    }
    if queue::is_sqs_event(&payload) {
        let hires = queue::read_batch(payload).map_err(BadEvent::new)?;
        return Ok(Box::pin(work_queue(deps, settings, hires)).await);
    }
    match serde_json::from_value::<HireEvent>(payload.clone()) {
        Ok(HireEvent::RetrySweep) => Box::pin(sweep(deps, settings, Trigger::Schedule)).await,
        Ok(HireEvent::Sync) => Box::pin(sweep(deps, settings, Trigger::Manual)).await,
        Ok(HireEvent::Transfer { opportunity_id }) if !delivery::is_opportunity_id(&opportunity_id) => {
            Err(BadEvent::new(format!(
                "'{opportunity_id}' is not a Lever opportunity id: copy it from the candidate's URL in Lever \
                 (letters, digits and '-')"
            ))
            .into())
        }
        Ok(HireEvent::Transfer { opportunity_id }) => {
            let attempt = Attempt { opportunity_id, attempt_number: 1, forced: true };
            let (run, outcomes) = Box::pin(run_attempts(deps, settings, Trigger::Manual, vec![attempt], None)).await;
            Ok(summary(&run, &outcomes))
        }
        Err(_) => match app::handle_operator_event(deps, FUNCTION, CONNECTIONS, payload).await {
            Err(app::Error::BadEvent(_)) => Err(BadEvent::new(
                "send {\"action\": \"verify\"}, {\"action\": \"sync\"} (the retry sweep), \
                 {\"action\": \"transfer\", \"opportunity_id\": \"...\"}, or a Lever delivery to the Function URL",
            )
            .into()),
            other => other,
        },
    }
}

/// Settings that cannot be read: a delivery gets a generic 503 (Lever delivers it again once they
/// are fixed), any other event the error, which says what to fix.
async fn settings_unusable(e: platform::ConfigError, payload: Value) -> Result<Value, app::Error> {
    if !function_url::is_function_url(&payload) {
        return Err(e.into());
    }
    tracing::error!(error = %e, "hire settings are not usable; the delivery was not accepted");
    Ok(function_url::serve(payload, |_| async move { not_accepted_now() }).await)
}

/// The 503 a caller gets when this side cannot take a delivery now. It names no secret, path or
/// setting (the caller is not trusted yet); the log line says what went wrong.
fn not_accepted_now() -> Response<Body> {
    json_response(503, &json!({"error": "the delivery could not be accepted right now; deliver it again later"}))
}

/// Refuses a request: its status and a short reason to the caller, the whole reason to the log.
fn refuse(refusal: &Refusal) -> Response<Body> {
    match refusal {
        Refusal::NoTokens => tracing::error!(status = refusal.status(), reason = %refusal, "webhook request refused"),
        _ => tracing::warn!(status = refusal.status(), reason = %refusal, "webhook request refused"),
    }
    refusal.response()
}

/// The run-log entry kind that remembers each delivery token, so a captured signature cannot be
/// replayed with other data (Lever signs `token` and `triggeredAt`, not `data`).
pub const DELIVERY_KIND: &str = "delivery";

/// Remembers the delivery's token with its body's fingerprint (a conditional insert; the entry is
/// closed, so it expires with the run log's retention). A byte-identical retry passes; the same
/// token with another body is [`Refusal::Replayed`].
async fn remember_delivery(deps: &Deps, delivery: &Delivery) -> Result<Result<(), Refusal>, platform::RunLogError> {
    let id = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(delivery.token.as_bytes()));
    let body = json!({"body_sha256": delivery.body_sha256, "event": delivery.event,
                      "triggered_at": delivery.triggered_at});
    let entry = Entry::new(DELIVERY_KIND, &id, "received", false, body);
    Ok(match deps.runlog.insert_entry(&entry).await? {
        None => Ok(()),
        Some(seen) if seen.body.get("body_sha256").and_then(Value::as_str) == Some(&delivery.body_sha256) => Ok(()),
        Some(_) => Err(Refusal::Replayed),
    })
}

/// A Lever delivery: verified, recorded and queued before the 2xx; refused with nothing written.
async fn receive(deps: &Deps, settings: &HireSettings, request: Request) -> Response<Body> {
    let unavailable = |what: &str, e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "{what}; Lever will deliver again");
        not_accepted_now()
    };
    if let Err(refusal) = delivery::precheck(&request, settings.max_body_bytes) {
        return refuse(&refusal);
    }
    let tokens = match deps.secrets.lever().await {
        Ok(secret) => secret.webhook_signature_tokens,
        Err(e) => return unavailable("the Lever secret could not be read", &e),
    };
    let freshness = Freshness {
        now_ms: u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0),
        window_ms: settings.replay_window_hours.saturating_mul(3_600_000),
    };
    let delivery = match read_delivery(&request, settings.max_body_bytes, &tokens, freshness) {
        Ok(d) => d,
        Err(refusal) => return refuse(&refusal),
    };
    match remember_delivery(deps, &delivery).await {
        Ok(Ok(())) => {}
        Ok(Err(refusal)) => return refuse(&refusal),
        Err(e) => return unavailable("the delivery could not be recorded", &e),
    }
    let opportunity_id = match classify(&delivery, &settings.trigger) {
        Classified::Test => {
            tracing::info!(event = %delivery.event, "Lever test delivery received");
            return json_response(200, &json!({"status": "test delivery received"}));
        }
        Classified::Ignore(reason) => {
            tracing::info!(event = %delivery.event, reason = %reason, "delivery ignored");
            return json_response(200, &json!({"status": "ignored", "reason": reason}));
        }
        Classified::Hire { opportunity_id } => opportunity_id,
        Classified::HireIfHiredReason { opportunity_id, reason_id } => {
            let hired = match deps.clients.lever(deps).await {
                Ok(lever) => lookups::is_hired_reason(&lever, &reason_id).await.map_err(app::Error::from),
                Err(e) => Err(e),
            };
            match hired {
                Ok(true) => opportunity_id,
                Ok(false) => {
                    let reason = "archived with a reason that is not of type hired";
                    return json_response(200, &json!({"status": "ignored", "reason": reason}));
                }
                Err(e) => return unavailable("Lever's archive reasons could not be read", &e),
            }
        }
        Classified::HireIfStage { opportunity_id, stage_id } => {
            let TriggerMode::OnStage(wanted) = &settings.trigger else {
                return json_response(200, &json!({"status": "ignored"}));
            };
            let matched = match deps.clients.lever(deps).await {
                Ok(lever) => lookups::is_trigger_stage(&lever, &stage_id, wanted).await.map_err(app::Error::from),
                Err(e) => Err(e),
            };
            match matched {
                Ok(true) => opportunity_id,
                Ok(false) => {
                    let reason = format!("moved to another stage than '{wanted}'");
                    return json_response(200, &json!({"status": "ignored", "reason": reason}));
                }
                Err(e) => return unavailable("Lever's stages could not be read", &e),
            }
        }
    };

    let body = json!({"event": delivery.event, "triggered_at": delivery.triggered_at,
                      "received_at": Utc::now().to_rfc3339()});
    let entry = Entry::new(ENTRY_KIND, &opportunity_id, QUEUED, true, body);
    match deps.runlog.insert_entry(&entry).await {
        Ok(None) => {}
        Ok(Some(existing)) if existing.state == TRANSFERRED => {
            tracing::info!(opportunity_id, "hire already transferred; delivery acknowledged, nothing to do");
            return json_response(200, &json!({"status": "already transferred", "opportunity_id": opportunity_id}));
        }
        Ok(Some(mut existing)) => {
            // Received again after a failure or a skip: the admin may have fixed it (Lever's "Rerun").
            if !existing.open {
                existing.state = QUEUED.into();
                existing.open = true;
                existing.updated_at = platform::runlog::now_ms();
                if let Err(e) = deps.runlog.put_entry(&existing).await {
                    return unavailable("the hire could not be recorded", &e);
                }
            }
        }
        Err(e) => return unavailable("the hire could not be recorded", &e),
    }
    let handoff = Handoff::from_deps(deps);
    if let Handoff::Inline = handoff {
        // No queue (local runs): transfer now.
        let attempt = Attempt { opportunity_id: opportunity_id.clone(), attempt_number: 1, forced: false };
        let (run, outcomes) = Box::pin(run_attempts(deps, settings, Trigger::Webhook, vec![attempt], None)).await;
        return json_response(200, &summary(&run, &outcomes));
    }
    let message = HireMessage {
        opportunity_id: opportunity_id.clone(),
        event: delivery.event.clone(),
        triggered_at: delivery.triggered_at,
    };
    match handoff.send(&message).await {
        Ok(()) => {
            tracing::info!(opportunity_id, event = %delivery.event, "hire queued");
            json_response(202, &json!({"status": "queued", "opportunity_id": opportunity_id}))
        }
        Err(e) => unavailable("the hire could not be queued", &e),
    }
}

/// The worker: one attempt per queued hire; hires to try again stay on the queue.
async fn work_queue(deps: &Deps, settings: &HireSettings, hires: Vec<queue::QueuedHire>) -> Value {
    let mut attempts = Vec::new();
    let mut message_ids = Vec::new();
    for record in hires {
        match record.message {
            Ok(message) => {
                // Counted from the hire's own record: a message handed back unstarted (the
                // invocation's time ran out) is not an attempt, though SQS counts it as a receive.
                let attempt_number = match deps.runlog.entry(ENTRY_KIND, &message.opportunity_id).await {
                    Ok(Some(entry)) => transfer::next_attempt_number(&entry),
                    _ => None,
                }
                .unwrap_or(record.receive_count);
                attempts.push(Attempt { opportunity_id: message.opportunity_id, attempt_number, forced: false });
                message_ids.push(record.message_id);
            }
            // Retrying cannot make it readable; the log keeps it.
            Err(e) => tracing::error!(message_id = %record.message_id, error = %e, "queue message dropped"),
        }
    }
    let (_, outcomes) = Box::pin(run_attempts(deps, settings, Trigger::Webhook, attempts, None)).await;
    // Attempts run in order, so the started ones come first; the others go back to the queue.
    let retry = message_ids
        .into_iter()
        .enumerate()
        .filter(|(i, _)| outcomes.get(*i).is_none_or(|(_, o)| o.retry_later))
        .map(|(_, id)| id);
    queue::batch_response(retry)
}

/// Transfers again every opportunity tagged `Namely - Retry`, every hire received but not
/// finished within [`STALE_MINUTES`] (its queue message was lost or its worker kept dying), and
/// every hire Lever never delivered ([`reconcile`]).
async fn sweep(deps: &Deps, settings: &HireSettings, trigger: Trigger) -> Result<Value, app::Error> {
    let lever = deps.clients.lever(deps).await?;
    let filter =
        OpportunityFilter { tag: Some(transfer::TAG_RETRY.into()), include_confidential: true, ..Default::default() };
    let mut attempts: Vec<Attempt> = lever
        .list_opportunities(&filter)
        .await?
        .into_iter()
        .map(|o| Attempt { opportunity_id: o.id, attempt_number: 1, forced: true })
        .collect();
    let cutoff = Utc::now() - chrono::Duration::minutes(STALE_MINUTES);
    for entry in deps.runlog.open_entries(ENTRY_KIND, 200).await? {
        if entry.updated_at < cutoff && !attempts.iter().any(|a| a.opportunity_id == entry.id) {
            let attempt_number = transfer::next_attempt_number(&entry).unwrap_or(1);
            attempts.push(Attempt { opportunity_id: entry.id, attempt_number, forced: false });
        }
    }
    // A reconciliation that cannot read Lever does not stop the retries above; the run says so.
    let reconciled = match reconcile::find_missed_hires(deps, settings, &lever).await {
        Ok(found) => {
            for found in found.attempts {
                if !attempts.iter().any(|a| a.opportunity_id == found.opportunity_id) {
                    attempts.push(found);
                }
            }
            found.summary
        }
        Err(e) => {
            tracing::error!(error = %e, "reconciliation with Lever failed");
            format!("reconciliation with Lever failed, tried again at the next sweep: {e}")
        }
    };
    let (run, outcomes) = Box::pin(run_attempts(deps, settings, trigger, attempts, Some(reconciled))).await;
    Ok(summary(&run, &outcomes))
}

/// Runs attempts one after another as one run, and records the run and each outcome. Each attempt
/// is cut short at its budget or before the invocation's deadline ([`app::lambda::remaining`]),
/// whichever comes first, and none is started without time to do it ([`attempt_time`]): the
/// outcomes returned are those of the attempts started, a prefix of `attempts`. `note` (what the
/// sweep's reconciliation found) ends the run's message.
async fn run_attempts(
    deps: &Deps,
    settings: &HireSettings,
    trigger: Trigger,
    attempts: Vec<Attempt>,
    note: Option<String>,
) -> (Run, Vec<(String, AttemptOutcome)>) {
    let mut run = Run::start(FUNCTION, trigger);
    if let Err(e) = deps.runlog.save_run(&run).await {
        tracing::warn!(run_id = %run.run_id, error = %e, "could not record the run start");
    }
    let mut outcomes = Vec::with_capacity(attempts.len());
    let planned = attempts.len();
    for attempt in attempts {
        let Some(allowed) = attempt_time(settings.attempt_budget, app::lambda::remaining()) else { break };
        let work = Box::pin(transfer::attempt(deps, settings, &run.run_id, &attempt));
        let outcome = match tokio::time::timeout(allowed, work).await {
            Ok(outcome) => outcome,
            Err(_) => transfer::cut_short(deps, settings, &run.run_id, &attempt, allowed).await,
        };
        // The detail names the person and the values sent: it goes to the run log, and to the logs only
        // at debug level. Info lines carry ids and field names, never personal data.
        tracing::info!(run_id = %run.run_id, opportunity_id = %attempt.opportunity_id, action = %outcome.action,
                       retry_later = outcome.retry_later, "hire attempt finished");
        tracing::debug!(run_id = %run.run_id, opportunity_id = %attempt.opportunity_id, detail = %outcome.detail,
                        "hire attempt detail");
        run.counts.add(outcome.action);
        let record = Outcome {
            run_id: run.run_id.clone(),
            job: FUNCTION.to_string(),
            record_id: attempt.opportunity_id.clone(),
            label: outcome.label.clone(),
            action: outcome.action,
            detail: Some(outcome.detail.clone()),
            at: platform::runlog::now_ms(),
        };
        if let Err(e) = deps.runlog.record_outcomes(&[record]).await {
            tracing::warn!(run_id = %run.run_id, error = %e, "could not record a hire outcome");
        }
        outcomes.push((attempt.opportunity_id, outcome));
    }
    run.finish(None);
    let unstarted = planned - outcomes.len();
    if unstarted > 0 {
        let message = format!(
            "{unstarted} of {planned} hires not started: the invocation's time was running out; they are tried again \
             (the queue hands them out again, the sweep picks them up)"
        );
        tracing::warn!(run_id = %run.run_id, unstarted, "{message}");
        run.message = Some(message);
    } else if run.counts.total() == 0 {
        run.message = Some("nothing to transfer".into());
    }
    if let Some(note) = note {
        run.message = Some(match run.message.take() {
            Some(message) => format!("{message}; {note}"),
            None => note,
        });
    }
    if let Err(e) = deps.runlog.save_run(&run).await {
        tracing::warn!(run_id = %run.run_id, error = %e, "could not record the run end");
    }
    (run, outcomes)
}

fn summary(run: &Run, outcomes: &[(String, AttemptOutcome)]) -> Value {
    json!({
        "run_id": run.run_id,
        "status": run.status.as_str(),
        "counts": run.counts,
        "outcomes": outcomes.iter().map(|(id, o)| json!({
            "opportunity_id": id, "label": o.label, "action": o.action.as_str(), "detail": o.detail,
            "namely_id": o.namely_id, "retry_later": o.retry_later,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_attempt_gets_its_budget_or_the_time_left_and_none_without_enough() {
        let s = Duration::from_secs;
        assert_eq!(attempt_time(s(60), None), Some(s(60)), "no deadline outside Lambda");
        assert_eq!(attempt_time(s(60), Some(s(120))), Some(s(60)));
        assert_eq!(attempt_time(s(60), Some(s(30))), Some(s(27)), "cut before the margin");
        assert_eq!(attempt_time(s(60), Some(s(8))), Some(s(5)));
        assert_eq!(attempt_time(s(60), Some(s(7))), None);
        assert_eq!(attempt_time(s(1), Some(s(4))), Some(s(1)), "a small budget needs only itself");
        assert_eq!(attempt_time(s(1), Some(Duration::from_millis(3900))), None);
        assert_eq!(attempt_time(s(60), Some(s(2))), None);
    }
}
