//! Handing a received hire to the worker: an SQS message in AWS (with a dead-letter queue, see
//! `template.yaml`), or, for local runs without a queue, the transfer done before answering.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The queue message: which opportunity, and what announced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HireMessage {
    pub opportunity_id: String,
    pub event: String,
    pub triggered_at: u64,
}

/// Where received hires go.
pub enum Handoff {
    /// An SQS queue; the same function consumes it through an event source mapping.
    Sqs { client: aws_sdk_sqs::Client, queue_url: String },
    /// No queue configured (local runs): the webhook transfers the hire itself.
    Inline,
}

#[derive(Debug, thiserror::Error)]
#[error("could not hand the hire to the queue {queue_url}: {reason}")]
pub struct QueueError {
    pub queue_url: String,
    pub reason: String,
}

impl Handoff {
    /// The handoff the configuration asks for. The SQS client is built once per container, so its
    /// connections are reused from one delivery to the next.
    pub fn from_deps(deps: &app::Deps) -> Handoff {
        static CLIENT: std::sync::OnceLock<aws_sdk_sqs::Client> = std::sync::OnceLock::new();
        match (&deps.config.hire_queue_url, &deps.aws) {
            (Some(url), Some(aws)) => Handoff::Sqs {
                client: CLIENT.get_or_init(|| aws_sdk_sqs::Client::new(aws)).clone(),
                queue_url: url.clone(),
            },
            _ => Handoff::Inline,
        }
    }

    pub async fn send(&self, message: &HireMessage) -> Result<(), QueueError> {
        let Handoff::Sqs { client, queue_url } = self else { return Ok(()) };
        let body = serde_json::to_string(message).unwrap_or_default();
        client
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| QueueError { queue_url: queue_url.clone(), reason: platform::aws::error_chain(&e) })
    }
}

/// One SQS record of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedHire {
    pub message_id: String,
    pub message: Result<HireMessage, String>,
    /// How many times SQS has handed this message out, this time included.
    pub receive_count: u32,
}

/// True for an SQS event (`Records[].eventSource == "aws:sqs"`).
pub fn is_sqs_event(payload: &Value) -> bool {
    payload
        .get("Records")
        .and_then(Value::as_array)
        .is_some_and(|r| r.first().and_then(|r| r.get("eventSource")).and_then(Value::as_str) == Some("aws:sqs"))
}

/// The records of an SQS event.
pub fn sqs_records(payload: &Value) -> Vec<QueuedHire> {
    let records = payload.get("Records").and_then(Value::as_array).cloned().unwrap_or_default();
    records
        .iter()
        .map(|r| {
            let body = r.get("body").and_then(Value::as_str).unwrap_or("");
            QueuedHire {
                message_id: r.get("messageId").and_then(Value::as_str).unwrap_or("").to_string(),
                message: serde_json::from_str(body).map_err(|e| format!("unreadable queue message ({e}): {body}")),
                receive_count: r
                    .pointer("/attributes/ApproximateReceiveCount")
                    .and_then(|c| c.as_str().and_then(|s| s.parse().ok()).or_else(|| c.as_u64()))
                    .and_then(|c| u32::try_from(c).ok())
                    .unwrap_or(1),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sqs_events_are_read_with_their_receive_count() {
        let event = json!({"Records": [
            {"messageId": "m1", "eventSource": "aws:sqs", "attributes": {"ApproximateReceiveCount": "3"},
             "body": "{\"opportunity_id\":\"o1\",\"event\":\"candidateHired\",\"triggered_at\":7}"},
            {"messageId": "m2", "eventSource": "aws:sqs", "body": "garbage"}]});
        assert!(is_sqs_event(&event));
        assert!(!is_sqs_event(&json!({"action": "verify"})));
        let records = sqs_records(&event);
        assert_eq!(records[0].receive_count, 3);
        assert_eq!(records[0].message.as_ref().unwrap().opportunity_id, "o1");
        assert_eq!(records[1].receive_count, 1);
        assert!(records[1].message.is_err());
    }
}
