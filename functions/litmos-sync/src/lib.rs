//! Namely → Litmos: employees whose "Litmos Activated" field is Yes become Litmos learners.
//!
//! This release answers the operator event `{"action": "verify"}`; the sync itself arrives with its
//! own issue.

use app::{Connection, Deps};

/// The function's name, as in `template.yaml` and the run log.
pub const FUNCTION: &str = "litmos-sync";

/// The vendor connections this function uses.
pub const CONNECTIONS: &[Connection] = &[Connection::Namely, Connection::Litmos];

/// Handles one direct invocation (operator or schedule event).
pub async fn handle(deps: &Deps, payload: serde_json::Value) -> Result<serde_json::Value, app::Error> {
    app::handle_operator_event(deps, FUNCTION, CONNECTIONS, payload).await
}
