//! The one error type of this crate: every failure names the vendor, method and path, carries the
//! vendor's own message, and says whether to retry, wait or fix something.

use std::fmt;

/// The five vendors this crate talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Vendor {
    /// Lever ATS (Data API v1).
    Lever,
    /// Namely HRIS (REST API v1).
    Namely,
    /// Lessonly / Seismic Learning.
    Lessonly,
    /// SAP Litmos LMS.
    Litmos,
    /// The Org (org chart).
    TheOrg,
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Vendor::Lever => "Lever",
            Vendor::Namely => "Namely",
            Vendor::Lessonly => "Lessonly",
            Vendor::Litmos => "Litmos",
            Vendor::TheOrg => "The Org",
        })
    }
}

impl Vendor {
    /// What the vendor's secret holds to authenticate, as its admin screens call it.
    pub fn credential(self) -> &'static str {
        match self {
            Vendor::Namely => "personal access token",
            Vendor::Lever | Vendor::Lessonly | Vendor::Litmos | Vendor::TheOrg => "API key",
        }
    }
}

/// Which request failed: vendor, HTTP method and path (never the query string, headers or body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTarget {
    /// The vendor that was called.
    pub vendor: Vendor,
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Path below the base URL, e.g. `/profiles/me`.
    pub path: String,
}

impl fmt::Display for RequestTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.vendor, self.method, self.path)
    }
}

/// How a caller should treat an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Worth retrying later as is (server trouble, timeout, network).
    Transient,
    /// The vendor is throttling us: wait, then retry.
    RateLimited,
    /// Retrying will not help: record it and tell the user what to fix.
    Permanent,
    /// A create request may or may not have been applied: look the record up before trying again.
    OutcomeUnknown,
}

/// Everything that can go wrong when talking to a vendor.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot work (empty key, unusable subdomain or base URL).
    #[error("{vendor} configuration error: {detail}")]
    Config {
        /// The vendor being configured.
        vendor: Vendor,
        /// What is wrong and how to fix it.
        detail: String,
    },
    /// 401: the key/token was rejected.
    #[error("{target} was refused (HTTP 401, bad or expired credentials){}: check the {} in {}'s secret", msg(.message), .target.vendor.credential(), .target.vendor)]
    Unauthorized {
        /// The failed request.
        target: RequestTarget,
        /// The vendor's own message, if it sent one.
        message: Option<String>,
    },
    /// 403: the key lacks a permission, or its owner was deactivated.
    #[error("{target} was forbidden (HTTP 403){}: the credentials work but lack permission for this endpoint, or the token's owner was deactivated; grant the permission or issue a new key", msg(.message))]
    Forbidden {
        /// The failed request.
        target: RequestTarget,
        /// The vendor's own message, if it sent one.
        message: Option<String>,
    },
    /// 404: unknown object or path.
    #[error("{target} found nothing (HTTP 404){}: the record does not exist (or was deleted), or the base URL is wrong", msg(.message))]
    NotFound {
        /// The failed request.
        target: RequestTarget,
        /// The vendor's own message, if it sent one.
        message: Option<String>,
    },
    /// Any other 4xx: validation failure, conflict (409), unprocessable (422)…
    #[error("{target} was rejected (HTTP {status}){}: fix the data and try again", msg(.message))]
    Rejected {
        /// The failed request.
        target: RequestTarget,
        /// The HTTP status.
        status: u16,
        /// The vendor's own message, if it sent one.
        message: Option<String>,
    },
    /// Still throttled after every retry.
    #[error("{target} is still rate limited (HTTP {status}) after {attempts} attempts: wait and run again later, or lower the configured rate")]
    Throttled {
        /// The failed request.
        target: RequestTarget,
        /// The throttle status the vendor answered with.
        status: u16,
        /// How many attempts were made.
        attempts: u32,
    },
    /// 5xx after every retry.
    #[error("{target} failed on the vendor's side (HTTP {status}) after {attempts} attempts{}: the vendor is having trouble, try again later", msg(.message))]
    Server {
        /// The failed request.
        target: RequestTarget,
        /// The HTTP status.
        status: u16,
        /// How many attempts were made.
        attempts: u32,
        /// The vendor's own message, if it sent one.
        message: Option<String>,
    },
    /// No answer within the configured request timeout, after every retry.
    #[error("{target} timed out after {attempts} attempts: the vendor is slow or unreachable, try again later")]
    Timeout {
        /// The failed request.
        target: RequestTarget,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The host could not be reached (DNS, TCP, TLS).
    #[error("{target} could not reach {host}: {detail}; check the base URL / subdomain and the network")]
    Network {
        /// The failed request.
        target: RequestTarget,
        /// The host that was called.
        host: String,
        /// The transport error, without URL or headers.
        detail: String,
    },
    /// A 2xx that is not the JSON we expected (HTML login page, malformed JSON, wrong shape).
    #[error("{vendor} answered {method} {path} with {detail}{}", hint_text(.hint), vendor = .target.vendor, method = .target.method, path = .target.path)]
    NotJson {
        /// The request.
        target: RequestTarget,
        /// What came back instead, e.g. "an HTML page instead of JSON".
        detail: String,
        /// What to check, e.g. the Namely company subdomain.
        hint: Option<String>,
    },
    /// A create request hit a 5xx, a timeout or a dropped connection: it may or may not have been applied.
    #[error("{target}: outcome unknown ({cause}); the record may or may not have been created, so the next attempt will look it up before trying again: run again later, or let the next scheduled run or retry do it")]
    OutcomeUnknown {
        /// The request.
        target: RequestTarget,
        /// What happened, e.g. "HTTP 502" or "timed out".
        cause: String,
    },
}

fn msg(message: &Option<String>) -> String {
    match message {
        Some(m) if !m.trim().is_empty() => format!(": \"{}\"", m.trim()),
        _ => String::new(),
    }
}

fn hint_text(hint: &Option<String>) -> String {
    match hint {
        Some(h) => format!(" — {h}"),
        None => String::new(),
    }
}

impl Error {
    /// Whether to retry, wait, give up, or look the record up first.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Throttled { .. } => ErrorKind::RateLimited,
            Error::Server { .. } | Error::Timeout { .. } | Error::Network { .. } => ErrorKind::Transient,
            Error::OutcomeUnknown { .. } => ErrorKind::OutcomeUnknown,
            _ => ErrorKind::Permanent,
        }
    }

    /// True for errors worth retrying as is (transient or rate limited).
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), ErrorKind::Transient | ErrorKind::RateLimited)
    }

    /// The HTTP status the vendor answered with, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::Rejected { status, .. } | Error::Throttled { status, .. } | Error::Server { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// True for a 409 conflict (e.g. Litmos "UserName already exists").
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Rejected { status: 409, .. })
    }

    /// The vendor's own error message, when it sent one.
    pub fn vendor_message(&self) -> Option<&str> {
        match self {
            Error::Unauthorized { message, .. }
            | Error::Forbidden { message, .. }
            | Error::NotFound { message, .. }
            | Error::Rejected { message, .. }
            | Error::Server { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// The vendor this error is about.
    pub fn vendor(&self) -> Vendor {
        match self {
            Error::Config { vendor, .. } => *vendor,
            Error::Unauthorized { target, .. }
            | Error::Forbidden { target, .. }
            | Error::NotFound { target, .. }
            | Error::Rejected { target, .. }
            | Error::Throttled { target, .. }
            | Error::Server { target, .. }
            | Error::Timeout { target, .. }
            | Error::Network { target, .. }
            | Error::NotJson { target, .. }
            | Error::OutcomeUnknown { target, .. } => target.vendor,
        }
    }
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
