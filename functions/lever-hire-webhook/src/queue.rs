//! Handing a received hire to the worker: an SQS message in AWS (with a dead-letter queue, see
//! `template.yaml`), or, for local runs without a queue, the transfer done before answering.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
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

/// The records of an SQS event, read as `aws_lambda_events` types; an event that is not an SQS
/// batch is an error (the whole batch stays on the queue, and reaches the dead-letter queue).
pub fn read_batch(payload: Value) -> Result<Vec<QueuedHire>, String> {
    let event: SqsEvent = serde_json::from_value(payload).map_err(|e| format!("not an SQS batch: {e}"))?;
    Ok(event
        .records
        .into_iter()
        .map(|record| {
            let body = record.body.unwrap_or_default();
            QueuedHire {
                message_id: record.message_id.unwrap_or_default(),
                message: serde_json::from_str(&body).map_err(|e| format!("unreadable queue message ({e}): {body}")),
                receive_count: record
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1),
            }
        })
        .collect())
}

/// The answer to an SQS batch: the messages to hand out again (`batchItemFailures`).
pub fn batch_response(retry: impl IntoIterator<Item = String>) -> Value {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = retry
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    serde_json::to_value(response).unwrap_or_else(|_| serde_json::json!({"batchItemFailures": []}))
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
        let records = read_batch(event).unwrap();
        assert_eq!(records[0].receive_count, 3);
        assert_eq!(records[0].message.as_ref().unwrap().opportunity_id, "o1");
        assert_eq!(records[1].receive_count, 1);
        assert!(records[1].message.is_err());
        let wrong = json!({"Records": [{"messageId": 7, "eventSource": "aws:sqs"}]});
        assert!(read_batch(wrong).unwrap_err().contains("not an SQS batch"));
    }

    #[test]
    fn the_batch_answer_names_the_messages_to_hand_out_again() {
        assert_eq!(batch_response(Vec::new()), json!({"batchItemFailures": []}));
        assert_eq!(batch_response(["m2".to_string()]), json!({"batchItemFailures": [{"itemIdentifier": "m2"}]}));
    }
}
