//! The Lambda runtime loop every function's `main` calls.

use crate::{Deps, Error};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use std::future::Future;
use tracing::Instrument;

impl From<Error> for Diagnostic {
    fn from(error: Error) -> Diagnostic {
        Diagnostic { error_type: error.kind().to_string(), error_message: error.to_string() }
    }
}

/// Starts logging, builds [`Deps`] once for the container, and serves invocations with `handler`.
///
/// A configuration problem does not crash the container: every invocation answers with it, so the
/// operator who runs `{"action": "verify"}` reads what to fix in the response.
pub async fn serve<F, Fut>(function: &'static str, handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(&'static Deps, Value) -> Fut,
    Fut: Future<Output = Result<Value, Error>>,
{
    platform::logging::init();
    let deps: Result<&'static Deps, String> = match Deps::from_env().await {
        // Lives as long as the container; leaking it lets handlers borrow it without an Arc.
        Ok(deps) => Ok(Box::leak(Box::new(deps))),
        Err(e) => {
            tracing::error!(function, error = %e, "configuration is not usable");
            Err(e.to_string())
        }
    };
    let handler = &handler;
    let deps = &deps;
    // Boxed: the runtime's future type is deep enough to exceed the compiler's layout limit.
    Box::pin(lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let request_id = event.context.request_id.clone();
        let span = tracing::info_span!("invocation", function, request_id = %request_id);
        async move {
            match deps {
                Ok(deps) => Box::pin(handler(deps, event.payload)).await.map_err(|e| {
                    tracing::error!(function, error = %e, kind = e.kind(), "invocation failed");
                    Diagnostic::from(e)
                }),
                Err(message) => Err(Diagnostic { error_type: "ConfigError".into(), error_message: message.clone() }),
            }
        }
        .instrument(span)
        .await
    })))
    .await
}
