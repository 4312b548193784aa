//! The JSON events an operator (or a schedule) sends a function by direct invocation.

use platform::Trigger;
use serde::Deserialize;
use serde_json::Value;

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

/// `{"action": "sync", …}`: run the function's job now. The schedules send `"trigger": "schedule"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncEvent {
    pub trigger: Trigger,
    /// Plan only: read everything, write nothing, report what would change.
    pub dry_run: bool,
    /// Only if no sync has ever completed (the first sync after set-up).
    pub initial: bool,
    /// Only continue an unfinished run; start nothing new.
    pub continue_only: bool,
}

#[derive(Deserialize)]
struct RawSync {
    #[serde(default)]
    trigger: Option<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    initial: bool,
    #[serde(default)]
    continue_only: bool,
}

impl SyncEvent {
    /// `None` when the payload is not a sync event; an error when it is one that cannot be run.
    pub fn parse(payload: &Value) -> Option<Result<SyncEvent, BadEvent>> {
        if payload.get("action").and_then(Value::as_str) != Some("sync") {
            return None;
        }
        let raw: RawSync = match serde_json::from_value(payload.clone()) {
            Ok(raw) => raw,
            Err(e) => return Some(Err(BadEvent::new(e.to_string()))),
        };
        let trigger = match raw.trigger.as_deref() {
            Some("schedule") => Trigger::Schedule,
            None | Some("manual") => Trigger::Manual,
            Some(other) => {
                return Some(Err(BadEvent::new(format!("unknown trigger '{other}': use schedule or manual"))))
            }
        };
        Some(Ok(SyncEvent { trigger, dry_run: raw.dry_run, initial: raw.initial, continue_only: raw.continue_only }))
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
    fn sync_events_carry_trigger_and_options() {
        let event =
            SyncEvent::parse(&json!({"action": "sync", "trigger": "schedule", "dry_run": true})).unwrap().unwrap();
        assert_eq!((event.trigger, event.dry_run, event.initial), (Trigger::Schedule, true, false));
        assert_eq!(SyncEvent::parse(&json!({"action": "sync"})).unwrap().unwrap().trigger, Trigger::Manual);
        assert!(SyncEvent::parse(&json!({"action": "sync", "trigger": "hourly"})).unwrap().is_err());
        assert!(SyncEvent::parse(&json!({"action": "sync", "dry_run": "yes"})).unwrap().is_err());
        assert!(SyncEvent::parse(&json!({"action": "verify"})).is_none());
    }

    #[test]
    fn unknown_action_says_what_to_send() {
        let err = OperatorEvent::parse(&json!({"action": "explode"})).unwrap_err().to_string();
        assert!(err.contains("explode"), "{err}");
        assert!(err.contains("\"action\": \"verify\""), "{err}");
        assert!(OperatorEvent::parse(&json!({"hello": 1})).is_err());
    }
}
