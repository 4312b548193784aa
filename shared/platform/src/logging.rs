//! Structured JSON logs: one line per step, carrying the span fields (`run_id`, `record_id`) of the
//! step it belongs to. The level comes from `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber. Safe to call more than once (later calls do nothing).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .without_time()
        .try_init();
}

/// The terminal's default filter: the bundle's warnings, and none of the AWS SDK's, whose
/// credential-provider warnings dump whole HTTP responses before the one-line error that says it all.
pub const TERMINAL_FILTER: &str = "warn,aws_config=off,aws_smithy_runtime=off,aws_smithy_runtime_api=off,\
aws_smithy_http_client=off,aws_sdk_dynamodb=off,aws_sdk_secretsmanager=off,aws_sdk_sqs=off,aws_sdk_sns=off";

/// Installs a compact, human-readable subscriber on standard error for command-line use, so that
/// warnings (an expiring Namely token, a run-log write that failed) reach the operator's terminal.
/// The level comes from `RUST_LOG` (default [`TERMINAL_FILTER`]).
pub fn init_terminal() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(TERMINAL_FILTER));
    let _ = tracing_subscriber::fmt()
        .compact()
        .with_env_filter(filter)
        .with_target(false)
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
