//! Lever → The Org: open roles imported from Lever postings; closed or deleted postings removed.
//!
//! This release answers the operator event `{"action": "verify"}`; the import itself arrives with its
//! own issue.

use app::{Connection, Deps};

/// The function's name, as in `template.yaml` and the run log.
pub const FUNCTION: &str = "theorg-import";

/// The vendor connections this function uses.
pub const CONNECTIONS: &[Connection] = &[Connection::LeverPostings, Connection::TheOrg];

/// Handles one direct invocation (operator or schedule event).
pub async fn handle(deps: &Deps, payload: serde_json::Value) -> Result<serde_json::Value, app::Error> {
    app::handle_operator_event(deps, FUNCTION, CONNECTIONS, payload).await
}
