//! Typed async clients for the five vendors of the HR integration bundle: Lever (ATS), Namely (HRIS),
//! Lessonly and Litmos (LMS) and The Org (org chart).
//!
//! Every client is built once per Lambda container and is cheap to clone (an `Arc` inside). All of
//! them share one HTTP core ([`http`]) that authorises, rate-limits, retries and classifies answers;
//! each vendor module only describes its quirks (auth, throttle signal, error envelope).
//!
//! ```no_run
//! # async fn demo() -> Result<(), connectors::Error> {
//! use connectors::namely::{NamelyClient, NamelyConfig};
//! let namely = NamelyClient::new(NamelyConfig::new("acme", platform::Secret::new("token")))?;
//! let me = namely.me().await?;
//! # let _ = me; Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod error;
pub mod http;
pub mod lenient;
pub mod lessonly;
pub mod lever;
pub mod limiter;
pub mod litmos;
pub mod namely;
pub mod theorg;

pub use error::{Error, ErrorKind, Vendor};
pub use http::{RateLimit, RetryPolicy};

/// The outcome of a connection check: which vendor, whether it worked, and a sentence for the admin.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    /// The vendor that was checked.
    pub vendor: Vendor,
    /// True when the credentials and base URL work for what the caller needs.
    pub ok: bool,
    /// On success who/what was reached; on failure what is wrong and what to fix.
    pub detail: String,
}

impl Verification {
    /// A successful check.
    pub fn ok(vendor: Vendor, detail: impl Into<String>) -> Self {
        Verification { vendor, ok: true, detail: detail.into() }
    }

    /// A failed check, explained by the error's own message (which never contains a secret).
    pub fn failed(vendor: Vendor, error: &Error) -> Self {
        Verification { vendor, ok: false, detail: error.to_string() }
    }
}
