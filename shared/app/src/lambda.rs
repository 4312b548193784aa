//! The Lambda runtime loop every function's `main` calls.

use crate::{Deps, Error};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use std::future::Future;
use std::time::{Duration, SystemTime};
use tracing::Instrument;

tokio::task_local! {
    /// When the current invocation is stopped by Lambda (its context's deadline).
    static DEADLINE: SystemTime;
}

/// Runs `work` as an invocation that Lambda stops at `deadline`: [`remaining`] reads it.
pub async fn with_deadline<F: Future>(deadline: SystemTime, work: F) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// Runs `work` with `deadline` when there is one.
async fn within<F: Future>(deadline: Option<SystemTime>, work: F) -> F::Output {
    match deadline {
        Some(deadline) => with_deadline(deadline, work).await,
        None => work.await,
    }
}

/// The time left before Lambda stops the current invocation; `None` outside one (local runs and
/// tests without [`with_deadline`]), where nothing stops the work.
pub fn remaining() -> Option<Duration> {
    DEADLINE.try_with(|deadline| deadline.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO)).ok()
}

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
    platform::metrics::emit_to_stdout();
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
        // Lambda's deadline is always ahead at the start of an invocation. cargo-lambda's emulator
        // sends a constant 600000 (ten minutes after 1970), which would leave no time at all: a
        // deadline already past is treated as none.
        let deadline = Some(SystemTime::UNIX_EPOCH + Duration::from_millis(event.context.deadline))
            .filter(|deadline| *deadline > SystemTime::now());
        let span = tracing::info_span!("invocation", function, request_id = %request_id);
        async move {
            match deps {
                Ok(deps) => Box::pin(within(deadline, handler(deps, event.payload))).await.map_err(|e| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_time_left_is_known_only_inside_an_invocation() {
        assert_eq!(remaining(), None);
        let left = with_deadline(SystemTime::now() + Duration::from_secs(60), async { remaining() }).await;
        assert!(left.is_some_and(|l| l > Duration::from_secs(50) && l <= Duration::from_secs(60)), "{left:?}");
        let past = with_deadline(SystemTime::now() - Duration::from_secs(1), async { remaining() }).await;
        assert_eq!(past, Some(Duration::ZERO));
    }
}
