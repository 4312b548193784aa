//! Namely → Litmos: employees whose "Litmos Activated" field is Yes become Litmos learners, their
//! 12 profile fields stay current, terminations deactivate them, and each run's sync log says who
//! and which fields changed.
//!
//! Events: `{"action": "sync"}` (daily schedule, "Sync Namely Data Now"; `"dry_run": true` plans
//! without writing), `{"action": "sync", "continue_only": true}` (the frequent schedule that carries
//! a long first sync across invocations), and `{"action": "verify"}`.

pub mod settings;
pub mod sync;

use app::{BadEvent, Connection, Deps};
use platform::Trigger;
use serde::Deserialize;
use serde_json::Value;
use settings::LitmosSettings;
use sync::SyncOptions;

/// The function's name, as in `template.yaml` and the run log.
pub const FUNCTION: &str = "litmos-sync";

/// The vendor connections this function uses.
pub const CONNECTIONS: &[Connection] = &[Connection::Namely, Connection::Litmos];

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
enum LitmosEvent {
    Sync {
        #[serde(default)]
        trigger: Option<String>,
        #[serde(default)]
        dry_run: bool,
        #[serde(default)]
        continue_only: bool,
    },
}

/// Handles one direct invocation with the settings from the environment.
pub async fn handle(deps: &Deps, payload: Value) -> Result<Value, app::Error> {
    let settings = LitmosSettings::from_env()?;
    handle_with(deps, &settings, payload).await
}

/// Handles one direct invocation with the given settings.
pub async fn handle_with(deps: &Deps, settings: &LitmosSettings, payload: Value) -> Result<Value, app::Error> {
    let Ok(LitmosEvent::Sync { trigger, dry_run, continue_only }) =
        serde_json::from_value::<LitmosEvent>(payload.clone())
    else {
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
    Box::pin(sync::run(deps, settings, SyncOptions { trigger, dry_run, continue_only })).await
}
