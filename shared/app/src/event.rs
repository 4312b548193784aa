//! The JSON events an operator (or a schedule) sends a function by direct invocation.

use serde::Deserialize;

/// An operator or schedule event, e.g. `{"action": "verify"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum OperatorEvent {
    /// Check every vendor connection the function uses and report what is wrong.
    Verify,
}

/// Why an event could not be understood, with what to send instead.
#[derive(Debug, thiserror::Error)]
#[error("unrecognised event: {reason}. Send {{\"action\": \"verify\"}} or {{\"action\": \"sync\"}}")]
pub struct BadEvent {
    reason: String,
}

impl BadEvent {
    pub fn new(reason: impl Into<String>) -> BadEvent {
        BadEvent { reason: reason.into() }
    }
}

impl OperatorEvent {
    /// Parses a direct-invocation payload.
    pub fn parse(payload: &serde_json::Value) -> Result<OperatorEvent, BadEvent> {
        serde_json::from_value(payload.clone()).map_err(|e| BadEvent { reason: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_verify() {
        assert_eq!(OperatorEvent::parse(&json!({"action": "verify"})).unwrap(), OperatorEvent::Verify);
        // Each function reads its own `sync` event; here it is not understood.
        assert!(OperatorEvent::parse(&json!({"action": "sync"})).is_err());
    }

    #[test]
    fn unknown_action_says_what_to_send() {
        let err = OperatorEvent::parse(&json!({"action": "explode"})).unwrap_err().to_string();
        assert!(err.contains("explode"), "{err}");
        assert!(err.contains("\"action\": \"verify\""), "{err}");
        assert!(OperatorEvent::parse(&json!({"hello": 1})).is_err());
    }
}
