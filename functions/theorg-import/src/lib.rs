//! Lever → The Org: open roles imported from Lever postings every 6 hours and on demand; roles that
//! closed, became drafts or were deleted in Lever are removed at the next run.
//!
//! Events: `{"action": "sync"}` (the 6-hourly schedule, "Import" by hand; `"dry_run": true` plans
//! without publishing) and `{"action": "verify"}`.

pub mod import;
pub mod settings;
pub mod sink;

use app::{BadEvent, Connection, Deps};
use import::ImportOptions;
use platform::Trigger;
use serde::Deserialize;
use serde_json::Value;
use settings::TheOrgSettings;

/// The function's name, as in `template.yaml` and the run log.
pub const FUNCTION: &str = "theorg-import";

/// The vendor connections this function uses.
pub const CONNECTIONS: &[Connection] = &[Connection::LeverPostings, Connection::TheOrg];

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
enum TheOrgEvent {
    Sync {
        #[serde(default)]
        trigger: Option<String>,
        #[serde(default)]
        dry_run: bool,
    },
}

/// Handles one direct invocation with the settings from the environment.
pub async fn handle(deps: &Deps, payload: Value) -> Result<Value, app::Error> {
    let settings = TheOrgSettings::from_env()?;
    handle_with(deps, &settings, payload).await
}

/// Handles one direct invocation with the given settings.
pub async fn handle_with(deps: &Deps, settings: &TheOrgSettings, payload: Value) -> Result<Value, app::Error> {
    let Ok(TheOrgEvent::Sync { trigger, dry_run }) = serde_json::from_value::<TheOrgEvent>(payload.clone()) else {
        return match app::handle_operator_event(deps, FUNCTION, CONNECTIONS, payload).await {
            Err(app::Error::BadEvent(_)) => Err(BadEvent::new(
                "send {\"action\": \"verify\"} or {\"action\": \"sync\"} (optionally \"dry_run\": true)",
            )
            .into()),
            other => other,
        };
    };
    let trigger = match trigger.as_deref() {
        Some("schedule") => Trigger::Schedule,
        None | Some("manual") => Trigger::Manual,
        Some(other) => return Err(BadEvent::new(format!("unknown trigger '{other}': use schedule or manual")).into()),
    };
    Box::pin(import::run(deps, settings, ImportOptions { trigger, dry_run })).await
}
