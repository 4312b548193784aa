//! Namely → Litmos: employees whose "Litmos Activated" field is Yes become Litmos learners, their
//! 12 profile fields stay current, terminations deactivate them, and each run's sync log says who
//! and which fields changed.
//!
//! Events: `{"action": "sync"}` (daily schedule, "Sync Namely Data Now"; `"dry_run": true` plans
//! without writing), `{"action": "sync", "continue_only": true}` (the frequent schedule that carries
//! a long first sync across invocations), and `{"action": "verify"}`.

pub mod settings;
pub mod sync;

use app::{Connection, Deps, SyncEvent};
use serde_json::Value;
use settings::LitmosSettings;
use sync::SyncOptions;

/// The function's name, as in `template.yaml` and the run log.
pub const FUNCTION: &str = "litmos-sync";

/// The vendor connections this function uses.
pub const CONNECTIONS: &[Connection] = &[Connection::Namely, Connection::Litmos];

/// Handles one direct invocation with the settings from the environment.
pub async fn handle(deps: &Deps, payload: Value) -> Result<Value, app::Error> {
    let settings = LitmosSettings::from_env()?;
    handle_with(deps, &settings, payload).await
}

/// Handles one direct invocation with the given settings.
pub async fn handle_with(deps: &Deps, settings: &LitmosSettings, payload: Value) -> Result<Value, app::Error> {
    let event = match SyncEvent::parse(&payload) {
        Some(event) => event?,
        None => return app::handle_operator_event(deps, FUNCTION, CONNECTIONS, payload).await,
    };
    let options = SyncOptions { trigger: event.trigger, dry_run: event.dry_run, continue_only: event.continue_only };
    Box::pin(sync::run(deps, settings, options)).await
}
