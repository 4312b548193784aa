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
