//! Namely → Lessonly: every Namely user whose status is not inactive becomes a Lessonly user, with
//! the chosen standard fields, mapped custom user fields and groups from Department and/or Job Tier.
//!
//! Events: `{"action": "sync"}` (nightly schedule, by hand; `"dry_run": true` plans without writing),
//! `{"action": "sync", "initial": true}` (the first-set-up check: syncs only if no sync has ever
//! completed), `{"action": "sync", "continue_only": true}` (the frequent schedule that carries an
//! unfinished run into its next invocation), and `{"action": "verify"}`.

pub mod settings;
pub mod sync;

use app::{Connection, Deps, SyncEvent};
use platform::RunStatus;
use serde_json::{json, Value};
use settings::LessonlySettings;
use sync::SyncOptions;

/// The function's name, as in `template.yaml` and the run log.
pub const FUNCTION: &str = "lessonly-sync";

/// The vendor connections this function uses.
pub const CONNECTIONS: &[Connection] = &[Connection::Namely, Connection::Lessonly];

/// Handles one direct invocation with the settings from the environment.
pub async fn handle(deps: &Deps, payload: Value) -> Result<Value, app::Error> {
    let settings = LessonlySettings::from_env()?;
    handle_with(deps, &settings, payload).await
}

/// Handles one direct invocation with the given settings.
pub async fn handle_with(deps: &Deps, settings: &LessonlySettings, payload: Value) -> Result<Value, app::Error> {
    let event = match SyncEvent::parse(&payload) {
        Some(event) => event?,
        None => return app::handle_operator_event(deps, FUNCTION, CONNECTIONS, payload).await,
    };
    if event.initial {
        let runs = deps.runlog.latest_runs(Some(FUNCTION), 50).await?;
        if let Some(done) = runs.iter().find(|r| matches!(r.status, RunStatus::Succeeded | RunStatus::Partial)) {
            return Ok(json!({"status": "skipped",
                "reason": format!("a sync already completed (run {}); the nightly schedule keeps Lessonly current", done.run_id)}));
        }
        // Until the admin has put real credentials in the secrets there is nothing to sync: say so
        // without recording a failed run every quarter of an hour.
        let ready = match (deps.clients.namely(deps).await, deps.clients.lessonly(deps).await) {
            (Ok(namely), Ok(lessonly)) => {
                let (n, l) = tokio::join!(namely.verify(), lessonly.verify());
                (n.ok && l.ok).then_some(()).ok_or(format!("{}; {}", n.detail, l.detail))
            }
            (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
        };
        if let Err(why) = ready {
            return Ok(json!({"status": "waiting for credentials", "reason": why}));
        }
    }
    Box::pin(sync::run(
        deps,
        settings,
        SyncOptions { trigger: event.trigger, dry_run: event.dry_run, continue_only: event.continue_only },
    ))
    .await
}
