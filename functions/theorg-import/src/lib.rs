//! Lever → The Org: open roles imported from Lever postings every 6 hours and on demand; roles that
//! closed, became drafts or were deleted in Lever are removed at the next run.
//!
//! Events: `{"action": "sync"}` (the 6-hourly schedule, "Import" by hand; `"dry_run": true` plans
//! without publishing) and `{"action": "verify"}`.

pub mod import;
pub mod settings;
pub mod sink;

use app::{Connection, Deps, SyncEvent};
use import::ImportOptions;
use serde_json::Value;
use settings::TheOrgSettings;

/// The function's name, as in `template.yaml` and the run log.
pub const FUNCTION: &str = "theorg-import";

/// The vendor connections this function uses.
pub const CONNECTIONS: &[Connection] = &[Connection::LeverPostings, Connection::TheOrg];

/// Handles one direct invocation with the settings from the environment.
pub async fn handle(deps: &Deps, payload: Value) -> Result<Value, app::Error> {
    let settings = TheOrgSettings::from_env()?;
    handle_with(deps, &settings, payload).await
}

/// Handles one direct invocation with the given settings.
pub async fn handle_with(deps: &Deps, settings: &TheOrgSettings, payload: Value) -> Result<Value, app::Error> {
    let event = match SyncEvent::parse(&payload) {
        Some(event) => event?,
        None => return app::handle_operator_event(deps, FUNCTION, CONNECTIONS, payload).await,
    };
    Box::pin(import::run(deps, settings, ImportOptions { trigger: event.trigger, dry_run: event.dry_run })).await
}
