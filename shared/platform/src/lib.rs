//! Platform layer shared by every function: configuration, secrets, the run log and logging.

pub mod aws;
pub mod config;
pub mod logging;
pub mod metrics;
pub mod runlog;
pub mod secret;
pub mod secrets;

pub use config::{Config, ConfigError, RateLimits, RateSetting};
pub use runlog::{Action, Claim, Counts, Entry, Outcome, RecordMatch, Run, RunLog, RunLogError, RunStatus, Trigger};
pub use secret::Secret;
pub use secrets::{SecretError, SecretStore};
