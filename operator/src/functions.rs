//! The four functions, callable in-process with the same handler Lambda calls.

use app::{Deps, VerifyReport};
use serde_json::{json, Value};

/// Every function, in the order the demo runs them.
pub const ALL: [&str; 4] =
    [lever_hire_webhook::FUNCTION, lessonly_sync::FUNCTION, litmos_sync::FUNCTION, theorg_import::FUNCTION];

/// The functions a `--function` option names (all when `None`), or what the valid names are.
pub fn select(name: Option<&str>) -> Result<Vec<&'static str>, String> {
    match name {
        None => Ok(ALL.to_vec()),
        Some(name) => ALL
            .iter()
            .find(|f| **f == name)
            .map(|f| vec![*f])
            .ok_or_else(|| format!("unknown function '{name}': use one of {}", ALL.join(", "))),
    }
}

/// Calls a function's Lambda handler with `payload`.
pub async fn invoke(function: &str, deps: &Deps, payload: Value) -> Result<Value, app::Error> {
    match function {
        lever_hire_webhook::FUNCTION => lever_hire_webhook::handle(deps, payload).await,
        lessonly_sync::FUNCTION => lessonly_sync::handle(deps, payload).await,
        litmos_sync::FUNCTION => litmos_sync::handle(deps, payload).await,
        theorg_import::FUNCTION => theorg_import::handle(deps, payload).await,
        other => Err(app::Error::BadEvent(app::BadEvent::new(format!("no function named '{other}'")))),
    }
}

/// Sends `{"action": "verify"}` through the function's handler and reads back its report.
pub async fn verify(function: &str, deps: &Deps) -> VerifyReport {
    let answer = invoke(function, deps, json!({"action": "verify"})).await;
    match answer.map(serde_json::from_value::<VerifyReport>) {
        Ok(Ok(report)) => report,
        Ok(Err(e)) => VerifyReport::failed(function, format!("the function answered an unexpected report: {e}")),
        Err(e) => VerifyReport::failed(function, e.to_string()),
    }
}
