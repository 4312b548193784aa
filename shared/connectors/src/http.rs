//! The HTTP core every vendor client shares: request building, auth, rate limiting, retries with
//! backoff, answer classification and JSON decoding. Vendors plug in through [`Quirks`].

use crate::error::{Error, RequestTarget, Result, Vendor};
use crate::limiter::TokenBucket;
use rand::Rng;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// A client-side request rate: `rate` requests per period, with up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained rate.
    pub rate: Rate,
    /// How many requests may go out back to back before the rate applies.
    pub burst: u32,
}

/// A sustained request rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// Requests per second.
    PerSecond(u32),
    /// Requests per minute.
    PerMinute(u32),
}

impl RateLimit {
    /// `n` requests per second, bursts of `burst`.
    pub fn per_second(n: u32, burst: u32) -> Self {
        RateLimit { rate: Rate::PerSecond(n), burst }
    }

    /// `n` requests per minute, bursts of `burst`.
    pub fn per_minute(n: u32, burst: u32) -> Self {
        RateLimit { rate: Rate::PerMinute(n), burst }
    }

    /// One of `share` equal parts of this limit (at least one request a minute), for a client that
    /// shares a vendor key with `share - 1` others running at once.
    pub fn shared_by(self, share: u32) -> Self {
        if share <= 1 {
            return self;
        }
        let per_minute = match self.rate {
            Rate::PerSecond(n) => n.saturating_mul(60),
            Rate::PerMinute(n) => n,
        };
        RateLimit { rate: Rate::PerMinute((per_minute / share).max(1)), burst: (self.burst / share).max(1) }
    }

    /// The pace the client keeps: [`PACE`] of the rate, so that network jitter bunching two
    /// requests together never puts one more than the limit into the vendor's window.
    fn tokens_per_second(&self) -> f64 {
        let per_second = match self.rate {
            Rate::PerSecond(n) => f64::from(n),
            Rate::PerMinute(n) => f64::from(n) / 60.0,
        };
        per_second * PACE
    }
}

/// The share of a rate limit the client uses (see [`RateLimit::tokens_per_second`]).
pub const PACE: f64 = 0.99;

/// How failed requests are retried. Defaults suit production; tests shrink the durations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts per request, the first one included (at least 1).
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each attempt (full jitter applied).
    pub base_backoff: Duration,
    /// Upper bound of any backoff.
    pub max_backoff: Duration,
    /// Upper bound of a vendor's `Retry-After`.
    pub retry_after_cap: Duration,
    /// Time allowed for one attempt, answer body included.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            retry_after_cap: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Millisecond backoffs and a short timeout: for tests against local servers.
    pub fn fast() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            retry_after_cap: Duration::from_millis(50),
            request_timeout: Duration::from_secs(2),
        }
    }

    /// The exponential ceiling before attempt `attempt + 1` (attempt counts from 1).
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.base_backoff.saturating_mul(factor).min(self.max_backoff)
    }

    /// Full jitter: a uniform random wait between zero and the exponential ceiling.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.backoff_ceiling(attempt);
        if ceiling.is_zero() {
            return ceiling;
        }
        let millis = rand::thread_rng().gen_range(0..=ceiling.as_millis().min(u128::from(u64::MAX)) as u64);
        Duration::from_millis(millis)
    }

    /// Wait after a throttle answer: the vendor's `Retry-After` (capped) when it sent one, else backoff.
    pub fn throttle_wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(wait) => wait.min(self.retry_after_cap),
            None => self.backoff(attempt),
        }
    }
}

/// Parse a `Retry-After` value: delay-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        // Saturating: a wait too long for a Duration is still a long wait, and the caller caps it.
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = date.with_timezone(&chrono::Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// Whether a request may be sent again after an unclear failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Safety {
    /// GET, PUT, DELETE and POSTs that are idempotent by nature (Lever addTags).
    Repeatable,
    /// A POST that creates something: never blindly retried after a 5xx or timeout.
    Create,
}

/// One request, described independently of the vendor.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// A non-JSON body with its content type (a multipart file upload).
    pub raw_body: Option<(String, Vec<u8>)>,
    pub safety: Safety,
}

impl Request {
    fn new(method: Method, path: impl Into<String>, safety: Safety) -> Self {
        Request { method, path: path.into(), query: Vec::new(), body: None, raw_body: None, safety }
    }
    pub fn get(path: impl Into<String>) -> Self {
        Request::new(Method::GET, path, Safety::Repeatable)
    }
    pub fn put(path: impl Into<String>) -> Self {
        Request::new(Method::PUT, path, Safety::Repeatable)
    }
    pub fn delete(path: impl Into<String>) -> Self {
        Request::new(Method::DELETE, path, Safety::Repeatable)
    }
    /// A POST that creates a record.
    pub fn create(path: impl Into<String>) -> Self {
        Request::new(Method::POST, path, Safety::Create)
    }
    /// A POST that is safe to repeat (e.g. adding tags).
    pub fn idempotent_post(path: impl Into<String>) -> Self {
        Request::new(Method::POST, path, Safety::Repeatable)
    }
    pub fn query(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((key.into(), value.to_string()));
        self
    }
    pub fn query_opt(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }
    pub fn json_value(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    pub fn raw(mut self, content_type: impl Into<String>, body: Vec<u8>) -> Self {
        self.raw_body = Some((content_type.into(), body));
        self
    }
}

/// Percent-encode one path segment (ids come from vendors and may hold anything).
pub(crate) fn seg(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What makes a vendor different. Implemented once per vendor module; holds that vendor's secret.
pub(crate) trait Quirks: Send + Sync + 'static {
    fn vendor(&self) -> Vendor;
    /// Add the vendor's authentication to a request.
    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder;
    /// Query parameters every request carries (Litmos `source` and `format=json`).
    fn common_query(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Whether this answer means "slow down" (the request was not processed).
    fn is_throttle(&self, method: &Method, path: &str, status: u16, reason: &str, body: &str) -> bool;
    /// The vendor's own message out of an error body.
    fn error_message(&self, body: &str) -> Option<String>;
    /// Whether the client-side limiter covers this request.
    fn rate_limited(&self, _method: &Method, _path: &str) -> bool {
        true
    }
    /// What to check when a 2xx is an HTML page.
    fn html_hint(&self) -> Option<String> {
        None
    }
    /// The credential this client sends, kept out of every message a vendor answers with (some
    /// echo the key they refused).
    fn credential(&self) -> &str;
}

/// A successful (2xx) answer.
#[derive(Debug)]
pub(crate) struct Raw {
    pub target: RequestTarget,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// The shared HTTP core: cheap to clone, one per client.
#[derive(Clone)]
pub(crate) struct Core {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    host: String,
    quirks: Box<dyn Quirks>,
    limiter: Option<TokenBucket>,
    rate_limit: Option<RateLimit>,
    retry: RetryPolicy,
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Deliberately leaves out the quirks: they hold the credentials.
        f.debug_struct("Core")
            .field("vendor", &self.inner.quirks.vendor())
            .field("base_url", &self.inner.base_url)
            .field("rate_limit", &self.inner.rate_limit)
            .field("retry", &self.inner.retry)
            .finish()
    }
}

enum Failure {
    Throttle {
        status: u16,
        retry_after: Option<Duration>,
    },
    Server {
        status: u16,
        message: Option<String>,
    },
    Timeout,
    /// Nothing reached the server (connection refused, DNS, TLS): safe to retry any method.
    NotSent(String),
    /// The connection broke after the request may have been sent.
    Broken(String),
}

impl Core {
    pub fn new(quirks: impl Quirks, base_url: &str, rate_limit: Option<RateLimit>, retry: RetryPolicy) -> Result<Core> {
        let vendor = quirks.vendor();
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&base_url)
            .map_err(|e| Error::Config { vendor, detail: format!("base URL '{base_url}' is not a URL ({e})") })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Config { vendor, detail: format!("base URL '{base_url}' must be http(s)") });
        }
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => return Err(Error::Config { vendor, detail: format!("base URL '{base_url}' has no host") }),
        };
        let http = reqwest::Client::builder()
            .user_agent(concat!("hr-integration-bundle/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(retry.request_timeout)
            .build()
            .map_err(|e| Error::Config { vendor, detail: format!("cannot build the HTTP client: {e}") })?;
        let limiter = rate_limit.map(|r| TokenBucket::new(r.tokens_per_second(), r.burst));
        let retry = RetryPolicy { max_attempts: retry.max_attempts.max(1), ..retry };
        Ok(Core {
            inner: Arc::new(Inner { http, base_url, host, quirks: Box::new(quirks), limiter, rate_limit, retry }),
        })
    }

    pub fn vendor(&self) -> Vendor {
        self.inner.quirks.vendor()
    }

    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    fn target(&self, request: &Request) -> RequestTarget {
        RequestTarget { vendor: self.vendor(), method: request.method.to_string(), path: request.path.clone() }
    }

    /// Send with limiter and retries; a 2xx comes back as [`Raw`], anything else as an [`Error`].
    pub async fn send(&self, request: Request) -> Result<Raw> {
        let inner = &*self.inner;
        let target = self.target(&request);
        let policy = &inner.retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= policy.max_attempts;
            let failure = match self.attempt(&request, &target, attempt).await? {
                Ok(raw) => return Ok(raw),
                Err(failure) => failure,
            };
            let create = request.safety == Safety::Create;
            let wait = match failure {
                Failure::Throttle { status, retry_after } => {
                    if last {
                        return Err(Error::Throttled { target, status, attempts: attempt });
                    }
                    policy.throttle_wait(attempt, retry_after)
                }
                Failure::Server { status, message } => {
                    if create {
                        return Err(Error::OutcomeUnknown { target, cause: format!("HTTP {status}") });
                    }
                    if last {
                        return Err(Error::Server { target, status, attempts: attempt, message });
                    }
                    policy.backoff(attempt)
                }
                Failure::Timeout => {
                    if create {
                        return Err(Error::OutcomeUnknown {
                            target,
                            cause: format!("no answer within {:?}", policy.request_timeout),
                        });
                    }
                    if last {
                        return Err(Error::Timeout { target, attempts: attempt });
                    }
                    policy.backoff(attempt)
                }
                Failure::NotSent(detail) => {
                    if last {
                        return Err(Error::Network { target, host: inner.host.clone(), detail });
                    }
                    policy.backoff(attempt)
                }
                Failure::Broken(detail) => {
                    if create {
                        return Err(Error::OutcomeUnknown { target, cause: format!("connection broke: {detail}") });
                    }
                    if last {
                        return Err(Error::Network { target, host: inner.host.clone(), detail });
                    }
                    policy.backoff(attempt)
                }
            };
            tracing::debug!(vendor = %target.vendor, method = %target.method, path = %target.path, attempt, wait_ms = wait.as_millis() as u64, "retrying vendor request");
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt. Outer `Err` is final (4xx); inner `Err` may be retried.
    async fn attempt(&self, request: &Request, target: &RequestTarget, attempt: u32) -> Result<Result<Raw, Failure>> {
        let inner = &*self.inner;
        let quirks = &*inner.quirks;
        if let Some(limiter) = &inner.limiter {
            if quirks.rate_limited(&request.method, &request.path) {
                limiter.acquire().await;
            }
        }
        let url = format!("{}{}", inner.base_url, request.path);
        let mut builder = inner
            .http
            .request(request.method.clone(), &url)
            .timeout(inner.retry.request_timeout)
            .header(reqwest::header::ACCEPT, "application/json");
        let mut query = quirks.common_query();
        query.extend(request.query.iter().cloned());
        if !query.is_empty() {
            builder = builder.query(&query);
        }
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        if let Some((content_type, bytes)) = &request.raw_body {
            builder = builder.header(reqwest::header::CONTENT_TYPE, content_type).body(bytes.clone());
        }
        builder = quirks.authorize(builder);
        let started = Instant::now();
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => {
                let elapsed_ms = started.elapsed().as_millis() as u64;
                tracing::debug!(vendor = %target.vendor, method = %target.method, path = %target.path, attempt, elapsed_ms, error = %transport_detail(&e), "vendor request failed");
                return Ok(Err(classify_transport(&e)));
            }
        };
        let status = response.status().as_u16();
        let reason = response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .or_else(|| response.status().canonical_reason().map(str::to_string))
            .unwrap_or_default();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        let content_type =
            response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = match response.bytes().await {
            Ok(body) => body.to_vec(),
            Err(e) => {
                tracing::debug!(vendor = %target.vendor, method = %target.method, path = %target.path, status, attempt, error = %transport_detail(&e), "vendor answer body failed");
                return Ok(Err(if e.is_timeout() { Failure::Timeout } else { Failure::Broken(transport_detail(&e)) }));
            }
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        tracing::debug!(vendor = %target.vendor, method = %target.method, path = %target.path, status, attempt, elapsed_ms, "vendor request");
        if (200..300).contains(&status) {
            return Ok(Ok(Raw { target: target.clone(), content_type, body }));
        }
        let text = String::from_utf8_lossy(&body);
        if quirks.is_throttle(&request.method, &request.path, status, &reason, &text) {
            return Ok(Err(Failure::Throttle { status, retry_after }));
        }
        let message = self.message(&text, &reason, status);
        if status >= 500 {
            return Ok(Err(Failure::Server { status, message }));
        }
        let target = target.clone();
        Err(match status {
            401 => Error::Unauthorized { target, message },
            403 => Error::Forbidden { target, message },
            404 => Error::NotFound { target, message },
            // 408: the server gave up waiting for us; treat like a timeout.
            408 => return Ok(Err(Failure::Timeout)),
            _ => Error::Rejected { target, status, message },
        })
    }

    /// The vendor's message: its envelope, else short plain text, else a non-standard reason phrase.
    fn message(&self, body: &str, reason: &str, status: u16) -> Option<String> {
        let credential = self.inner.quirks.credential();
        let redact = |text: &str| match credential.len() {
            0..4 => text.to_string(),
            _ => text.replace(credential, "[redacted]"),
        };
        if let Some(m) = self.inner.quirks.error_message(body).filter(|m| !m.trim().is_empty()) {
            return Some(truncate(&redact(m.trim()), 500));
        }
        let trimmed = body.trim();
        if !trimmed.is_empty() && !looks_like_html(None, trimmed.as_bytes()) && !trimmed.starts_with(['{', '[']) {
            return Some(truncate(&redact(trimmed), 300));
        }
        let canonical = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason());
        (!reason.is_empty() && Some(reason) != canonical).then(|| redact(reason))
    }

    /// Send and decode JSON, checking for HTML and (when given) the expected top-level key.
    pub async fn json<T: DeserializeOwned>(&self, request: Request, key: Option<&str>) -> Result<T> {
        let raw = self.send(request).await?;
        self.decode(&raw, key)
    }

    /// Send and decode JSON, allowing an empty body (then `None`).
    pub async fn json_or_empty<T: DeserializeOwned>(&self, request: Request) -> Result<Option<T>> {
        let raw = self.send(request).await?;
        if raw.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        self.decode(&raw, None).map(Some)
    }

    /// Send and ignore the body, except that an HTML page is still an error.
    pub async fn no_content(&self, request: Request) -> Result<()> {
        let raw = self.send(request).await?;
        if looks_like_html(raw.content_type.as_deref(), &raw.body) {
            return Err(self.not_json(&raw, "an HTML page instead of JSON".to_string()));
        }
        Ok(())
    }

    /// Send and return the raw bytes (file downloads).
    pub async fn bytes(&self, request: Request) -> Result<Vec<u8>> {
        Ok(self.send(request).await?.body)
    }

    fn not_json(&self, raw: &Raw, detail: String) -> Error {
        let html = detail.starts_with("an HTML page");
        Error::NotJson {
            target: raw.target.clone(),
            detail,
            hint: if html { self.inner.quirks.html_hint() } else { None },
        }
    }

    pub fn decode_value(&self, raw: &Raw, key: Option<&str>) -> Result<Value> {
        if looks_like_html(raw.content_type.as_deref(), &raw.body) {
            return Err(self.not_json(raw, "an HTML page instead of JSON".to_string()));
        }
        if raw.body.iter().all(u8::is_ascii_whitespace) {
            return Err(self.not_json(raw, "an empty body instead of JSON".to_string()));
        }
        let value: Value =
            serde_json::from_slice(&raw.body).map_err(|e| self.not_json(raw, format!("malformed JSON ({e})")))?;
        if let Some(key) = key {
            if value.get(key).is_none() {
                return Err(self.not_json(raw, format!("JSON without the expected `{key}` field")));
            }
        }
        Ok(value)
    }

    pub fn decode<T: DeserializeOwned>(&self, raw: &Raw, key: Option<&str>) -> Result<T> {
        let value = self.decode_value(raw, key)?;
        self.shape(raw, value)
    }

    /// Turn an already parsed value into `T`, explaining a shape mismatch.
    pub fn shape<T: DeserializeOwned>(&self, raw: &Raw, value: Value) -> Result<T> {
        serde_json::from_value(value).map_err(|e| self.not_json(raw, format!("JSON of an unexpected shape ({e})")))
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

/// HTML by content type or by its first non-blank byte.
pub(crate) fn looks_like_html(content_type: Option<&str>, body: &[u8]) -> bool {
    if content_type.is_some_and(|c| c.to_ascii_lowercase().contains("html")) {
        return true;
    }
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

fn transport_detail(e: &reqwest::Error) -> String {
    // `without_url` keeps query strings out of messages; the chain explains "connection refused" etc.
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    match e.url() {
        // reqwest says "error sending request for url (<url>)": the phrase goes with the URL.
        Some(url) => detail.replace(&format!(" for url ({url})"), "").replace(url.as_str(), ""),
        None => detail,
    }
}

fn classify_transport(e: &reqwest::Error) -> Failure {
    if e.is_timeout() {
        Failure::Timeout
    } else if e.is_connect() {
        Failure::NotSent(transport_detail(e))
    } else {
        Failure::Broken(transport_detail(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_limit_is_split_evenly() {
        assert_eq!(RateLimit::per_second(10, 20).shared_by(2), RateLimit::per_minute(300, 10));
        assert_eq!(RateLimit::per_minute(100, 1).shared_by(2), RateLimit::per_minute(50, 1));
        assert_eq!(RateLimit::per_minute(1, 1).shared_by(3), RateLimit::per_minute(1, 1));
        assert_eq!(RateLimit::per_second(10, 20).shared_by(1), RateLimit::per_second(10, 20));
    }

    #[test]
    fn the_client_paces_just_under_the_limit() {
        let per_second = RateLimit { rate: Rate::PerMinute(600), burst: 1 }.tokens_per_second();
        assert!((per_second - 9.9).abs() < 1e-9, "{per_second}");
        // At burst 1 no sliding minute can hold more than the limit, with room for jitter.
        assert!(1.0 + 60.0 * per_second <= 600.0 - 5.0);
    }

    #[test]
    fn backoff_ceiling_doubles_and_is_capped() {
        let p = RetryPolicy {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(100));
        assert_eq!(p.backoff_ceiling(2), Duration::from_millis(200));
        assert_eq!(p.backoff_ceiling(3), Duration::from_millis(400));
        assert_eq!(p.backoff_ceiling(4), Duration::from_millis(500));
        assert_eq!(p.backoff_ceiling(40), Duration::from_millis(500));
        for attempt in 1..6 {
            assert!(p.backoff(attempt) <= p.backoff_ceiling(attempt));
        }
    }

    #[test]
    fn retry_after_is_parsed_and_capped() {
        let now = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").map(|d| d.to_utc()).unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Mon, 01 Jan 2024 00:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Sun, 31 Dec 2023 00:00:30 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        let p = RetryPolicy { retry_after_cap: Duration::from_secs(60), ..RetryPolicy::default() };
        assert_eq!(p.throttle_wait(1, Some(Duration::from_secs(3600))), Duration::from_secs(60));
        assert_eq!(p.throttle_wait(1, Some(Duration::from_secs(2))), Duration::from_secs(2));
        assert!(p.throttle_wait(1, None) <= p.base_backoff);
    }

    #[test]
    fn html_is_recognised_by_type_or_first_byte() {
        assert!(looks_like_html(Some("text/html; charset=utf-8"), b"{}"));
        assert!(looks_like_html(Some("application/json"), b"  \n<!DOCTYPE html>"));
        assert!(!looks_like_html(Some("application/json"), b"{\"a\":1}"));
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(seg("abc-123_~."), "abc-123_~.");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }
}
