//! Lever → Namely: Lever posts hire events to this function's URL; the hire becomes a Namely profile.
//!
//! This release answers the operator event `{"action": "verify"}`. Webhook deliveries are answered
//! 503 with a JSON reason until the hire transfer arrives with its own issue, so Lever keeps them in
//! its delivery history (and its "Rerun" button) instead of reporting them delivered.

use app::{Connection, Deps};
use serde_json::{json, Value};

/// The function's name, as in `template.yaml` and the run log.
pub const FUNCTION: &str = "lever-hire-webhook";

/// The vendor connections this function uses.
pub const CONNECTIONS: &[Connection] = &[Connection::LeverHires, Connection::Namely];

/// Handles one invocation: a Function URL request from Lever, or an operator event.
pub async fn handle(deps: &Deps, payload: Value) -> Result<Value, app::Error> {
    if is_function_url_request(&payload) {
        return Ok(http_response(
            503,
            json!({"error": "the Lever to Namely hire transfer is not enabled in this release; the delivery was not processed"}),
        ));
    }
    app::handle_operator_event(deps, FUNCTION, CONNECTIONS, payload).await
}

/// A Lambda Function URL request carries `requestContext.http`; an operator event never does.
fn is_function_url_request(payload: &Value) -> bool {
    payload.pointer("/requestContext/http").is_some()
}

/// A Function URL response (payload format 2.0).
fn http_response(status: u16, body: Value) -> Value {
    json!({
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": body.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_url_requests_are_told_apart_from_operator_events() {
        let http = json!({"version": "2.0", "requestContext": {"http": {"method": "POST"}}, "body": "{}"});
        assert!(is_function_url_request(&http));
        assert!(!is_function_url_request(&json!({"action": "verify"})));
    }
}
