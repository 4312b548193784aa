//! The layer shared by all five vendor servers: record → auth → rate limit → faults → handler.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;

/// One request as the sandbox received it, with the status it answered.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// HTTP method, upper case.
    pub method: String,
    /// Full request path as sent (including the base path, e.g. `/v1/opportunities/…`).
    pub path: String,
    /// Raw query string, without the leading `?` (empty when none).
    pub query: String,
    /// Request headers, names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// Request body as (lossy) UTF-8.
    pub body: String,
    /// Status the sandbox answered (0 while the request is still being answered).
    pub status: u16,
    /// When the request arrived.
    pub received_at: std::time::Instant,
    /// When the sandbox finished answering it (`None` while it is still being answered).
    pub answered_at: Option<std::time::Instant>,
}

/// A failure the sandbox can be told to produce instead of the normal answer.
#[derive(Clone, Debug)]
pub enum Fault {
    /// The vendor's own throttle answer (Lever 429, Namely 406, Lessonly 403, Litmos 503, The Org 429).
    Throttle,
    /// This status (e.g. 500, 502, 503, 504) with a vendor-shaped error body.
    ServerError(u16),
    /// Answer normally, but only after this long. The work is done at once, as a slow vendor does
    /// it: a client that stops waiting never learns that its write went through.
    Slow(Duration),
    /// Do the work only after this long, then answer: a write that lands late, so a client that
    /// stops waiting and looks for it at once does not find it yet.
    Late(Duration),
    /// 200 `text/html` login page.
    HtmlBody,
    /// 200 `application/json` with a truncated JSON body.
    MalformedJson,
    /// 401 with the vendor's error body.
    Unauthorized,
    /// 403 with the vendor's permission error body (for Lessonly distinct from its rate-limit 403).
    Forbidden,
}

/// When and how often a [`Fault`] applies.
#[derive(Clone, Debug)]
pub struct FaultRule {
    /// The failure to produce.
    pub fault: Fault,
    /// Match only this method (None = any).
    pub method: Option<String>,
    /// Match only paths starting with this, relative to the base URL path (None = any).
    pub path_prefix: Option<String>,
    /// Apply to the next N matching requests, then stop (None = forever).
    pub times: Option<u32>,
    /// Apply to this fraction of matching requests, spread evenly and deterministically (None = all).
    pub share: Option<f64>,
}

impl FaultRule {
    /// A rule that applies `fault` to every request.
    pub fn new(fault: Fault) -> Self {
        FaultRule { fault, method: None, path_prefix: None, times: None, share: None }
    }
    /// Only requests with this method.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }
    /// Only paths (relative to the base URL path) starting with `prefix`.
    pub fn path(mut self, prefix: &str) -> Self {
        self.path_prefix = Some(prefix.to_string());
        self
    }
    /// Only the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }
    /// Only this fraction (0.0..=1.0) of matching requests.
    pub fn share(mut self, share: f64) -> Self {
        self.share = Some(share.clamp(0.0, 1.0));
        self
    }
}

struct ActiveRule {
    rule: FaultRule,
    matched: u64,
    applied: u32,
}

impl ActiveRule {
    /// Decides whether this matching request gets the fault; deterministic spreading for `share`.
    fn take(&mut self) -> bool {
        if let Some(t) = self.rule.times {
            if self.applied >= t {
                return false;
            }
        }
        let n = self.matched;
        self.matched += 1;
        let hit = match self.rule.share {
            None => true,
            // Evenly spaced: hit when floor((n+1)*s) passes floor(n*s), so 0.3 hits 3 of every 10.
            Some(s) => ((n + 1) as f64 * s).floor() > (n as f64 * s).floor(),
        };
        if hit {
            self.applied += 1;
        }
        hit
    }
}

/// Per-handle knobs that select between the variants the vendor notes leave open.
#[derive(Clone, Debug, Default)]
pub(crate) struct Settings {
    /// Added to every answer, so wall times include realistic network time.
    pub latency: Option<Duration>,
    pub rate_limit: Option<u32>,
    pub retry_after_secs: Option<u32>,
    pub throttle_status: Option<u16>,
    pub unauthorized_body: Option<String>,
}

#[derive(Default)]
pub(crate) struct Shared {
    requests: Mutex<Vec<(u64, RecordedRequest)>>,
    next_seq: Mutex<u64>,
    faults: Mutex<Vec<ActiveRule>>,
    pub settings: Mutex<Settings>,
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Locks a mutex, recovering the data if a panicking test thread poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Handle on one running vendor server: its URL, recorded traffic, faults and settings.
#[derive(Clone)]
pub struct VendorHandle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) base_url: String,
}

impl VendorHandle {
    /// Base URL to configure the product with (Namely's contains the literal `{company}`).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }
    /// Everything the server was sent since start (or the last clear), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).iter().map(|(_, r)| r.clone()).collect()
    }
    /// Forgets recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }
    /// Adds a fault rule; rules are checked in insertion order and the first that fires wins.
    pub fn inject(&self, rule: FaultRule) {
        lock(&self.shared.faults).push(ActiveRule { rule, matched: 0, applied: 0 });
    }
    /// How many requests the current fault rules answered with their fault (HTML and malformed JSON
    /// come back as 200, so the recorded statuses alone cannot show them).
    pub fn faults_applied(&self) -> u32 {
        lock(&self.shared.faults).iter().map(|r| r.applied).sum()
    }
    /// Removes all fault rules.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }
    /// Server-side rate limit in requests per minute (None = unlimited, the default).
    /// Over the limit the vendor's own throttle answer is returned.
    pub fn set_rate_limit(&self, per_minute: Option<u32>) {
        lock(&self.shared.settings).rate_limit = per_minute;
        lock(&self.shared.windows).clear();
    }
    /// Every answer is delayed by `latency` (None = answer at once), like a vendor across a network.
    pub fn set_latency(&self, latency: Option<Duration>) {
        lock(&self.shared.settings).latency = latency;
    }

    /// Sends `Retry-After: secs` on throttle answers (off by default: real vendors mostly don't).
    pub fn set_retry_after(&self, secs: Option<u32>) {
        lock(&self.shared.settings).retry_after_secs = secs;
    }
    /// Overrides the throttle status code, e.g. 429 instead of Namely's 406 or Litmos's 503.
    pub fn set_throttle_status(&self, status: Option<u16>) {
        lock(&self.shared.settings).throttle_status = status;
    }
    /// Overrides the body of 401 answers to failed auth (Namely's real body is uncertain).
    pub fn set_unauthorized_body(&self, body: Option<String>) {
        lock(&self.shared.settings).unauthorized_body = body;
    }
}

/// A request as a vendor handler sees it.
pub(crate) struct Req {
    pub method: String,
    /// Path relative to the base URL path, e.g. `/profiles/abc`.
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn segs(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    /// All decoded query pairs.
    pub fn params(&self) -> Vec<(String, String)> {
        parse_query(&self.query)
    }
    pub fn param(&self, name: &str) -> Option<String> {
        self.params().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    pub fn param_all(&self, name: &str) -> Vec<String> {
        self.params().into_iter().filter(|(k, _)| k == name).map(|(_, v)| v).collect()
    }
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Percent-decodes a query component (`+` is a space).
pub(crate) fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(kv), String::new()),
        })
        .collect()
}

/// A response before it becomes HTTP.
pub(crate) struct Resp {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl Resp {
    pub fn json(status: u16, v: &Value) -> Resp {
        Resp {
            status,
            content_type: "application/json; charset=utf-8",
            body: v.to_string().into_bytes(),
            headers: Vec::new(),
        }
    }
    pub fn text(status: u16, content_type: &'static str, body: impl Into<String>) -> Resp {
        Resp { status, content_type, body: body.into().into_bytes(), headers: Vec::new() }
    }
    pub fn empty(status: u16) -> Resp {
        Resp { status, content_type: "", body: Vec::new(), headers: Vec::new() }
    }
}

/// A login page, which is what vendors answer when a request lands outside the API.
pub(crate) fn login_page(vendor: &str) -> Resp {
    Resp::text(
        200,
        "text/html; charset=utf-8",
        format!(
            "<!DOCTYPE html><html><head><title>{vendor} | Log in</title></head><body>\
             <form action=\"/users/sign_in\" method=\"post\"><input name=\"email\"/>\
             <input type=\"password\" name=\"password\"/><button>Log in</button></form></body></html>"
        ),
    )
}

/// What a vendor plugs into the shared layer.
pub(crate) trait Vendor: Send + Sync + 'static {
    /// Display name, used in login pages.
    fn name(&self) -> &'static str;
    /// Maps the full request path to a path relative to the base URL path, or answers directly
    /// (Namely answers a wrong company with a login page).
    fn route(&self, full_path: &str) -> Result<String, Resp>;
    /// None when the caller is authorised; otherwise the vendor's auth failure.
    fn authenticate(&self, req: &Req) -> Option<Resp>;
    /// Rate-limit bucket for this request; None = not limited (Namely limits only GET /profiles).
    fn rate_key(&self, req: &Req) -> Option<String>;
    /// The vendor's throttle answer; `status` is the override from settings, if any.
    fn throttle(&self, status: Option<u16>) -> Resp;
    /// Vendor-shaped error body for this status (401, 403, 5xx).
    fn error(&self, status: u16) -> Resp;
    /// The normal answer.
    fn handle(&self, req: &Req) -> Resp;
}

pub(crate) struct Server {
    pub vendor: Box<dyn Vendor>,
    pub shared: Arc<Shared>,
}

impl Server {
    fn record(&self, r: RecordedRequest) -> u64 {
        let mut seq = lock(&self.shared.next_seq);
        *seq += 1;
        let id = *seq;
        lock(&self.shared.requests).push((id, r));
        id
    }

    fn set_status(&self, id: u64, status: u16) {
        if let Some((_, r)) = lock(&self.shared.requests).iter_mut().rev().find(|(i, _)| *i == id) {
            r.status = status;
            r.answered_at = Some(std::time::Instant::now());
        }
    }

    /// Sliding one-minute window per bucket; true when this request is over the limit.
    fn over_limit(&self, key: &str, per_minute: u32) -> bool {
        let now = Instant::now();
        let mut windows = lock(&self.shared.windows);
        let w = windows.entry(key.to_string()).or_default();
        while let Some(t) = w.front() {
            if now.duration_since(*t) >= Duration::from_secs(60) {
                w.pop_front();
            } else {
                break;
            }
        }
        if w.len() as u32 >= per_minute {
            return true;
        }
        w.push_back(now);
        false
    }

    fn pick_fault(&self, req: &Req) -> Option<Fault> {
        let mut rules = lock(&self.shared.faults);
        for r in rules.iter_mut() {
            if let Some(m) = &r.rule.method {
                if !m.eq_ignore_ascii_case(&req.method) {
                    continue;
                }
            }
            if let Some(p) = &r.rule.path_prefix {
                if !req.path.starts_with(p.as_str()) {
                    continue;
                }
            }
            if r.take() {
                return Some(r.rule.fault.clone());
            }
        }
        None
    }

    fn throttle(&self) -> Resp {
        let s = lock(&self.shared.settings).clone();
        let mut resp = self.vendor.throttle(s.throttle_status);
        if let Some(secs) = s.retry_after_secs {
            resp.headers.push(("retry-after".into(), secs.to_string()));
        }
        resp
    }

    async fn answer(self: &Arc<Self>, req: Req) -> Resp {
        let latency = lock(&self.shared.settings).latency;
        if let Some(latency) = latency {
            tokio::time::sleep(latency).await;
        }
        if let Some(mut resp) = self.vendor.authenticate(&req) {
            if resp.status == 401 {
                if let Some(b) = lock(&self.shared.settings).unauthorized_body.clone() {
                    resp.body = b.into_bytes();
                }
            }
            return resp;
        }
        let limit = lock(&self.shared.settings).rate_limit;
        if let (Some(per_minute), Some(key)) = (limit, self.vendor.rate_key(&req)) {
            if self.over_limit(&key, per_minute) {
                return self.throttle();
            }
        }
        match self.pick_fault(&req) {
            None => self.vendor.handle(&req),
            Some(Fault::Throttle) => self.throttle(),
            Some(Fault::ServerError(code)) => self.vendor.error(code),
            Some(Fault::Slow(d)) => {
                let resp = self.vendor.handle(&req);
                tokio::time::sleep(d).await;
                resp
            }
            Some(Fault::Late(d)) => {
                // On a task of its own, so the write lands even when the client hangs up first.
                let server = self.clone();
                let late = tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    server.vendor.handle(&req)
                });
                late.await.unwrap_or_else(|e| Resp::text(500, "text/plain", format!("sandbox handler failed: {e}")))
            }
            Some(Fault::HtmlBody) => login_page(self.vendor.name()),
            Some(Fault::MalformedJson) => {
                Resp::text(200, "application/json; charset=utf-8", "{\"data\":[{\"id\":\"5a1f0c2e-")
            }
            Some(Fault::Unauthorized) => self.vendor.error(401),
            Some(Fault::Forbidden) => self.vendor.error(403),
        }
    }
}

pub(crate) async fn entry(State(server): State<Arc<Server>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024).await.map(|b| b.to_vec()).unwrap_or_default();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let full_path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let method = parts.method.as_str().to_string();
    let id = server.record(RecordedRequest {
        method: method.clone(),
        path: full_path.clone(),
        query: query.clone(),
        headers: headers.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
        status: 0,
        received_at: std::time::Instant::now(),
        answered_at: None,
    });
    let resp = match server.vendor.route(&full_path) {
        Err(resp) => resp,
        Ok(path) => server.answer(Req { method, path, query, headers, body }).await,
    };
    server.set_status(id, resp.status);
    to_http(resp)
}

fn to_http(resp: Resp) -> Response {
    let mut out = Response::new(Body::from(resp.body));
    *out.status_mut() = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if !resp.content_type.is_empty() {
        out.headers_mut().insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static(resp.content_type));
    }
    for (k, v) in resp.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
            out.headers_mut().insert(k, v);
        }
    }
    out
}

/// Binds 127.0.0.1:0 and serves `vendor` in the background; returns the shared state and port.
pub(crate) async fn spawn(vendor: Box<dyn Vendor>) -> std::io::Result<(Arc<Shared>, u16)> {
    let shared = Arc::new(Shared::default());
    let server = Arc::new(Server { vendor, shared: shared.clone() });
    let app = axum::Router::new().fallback(entry).with_state(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "sandbox server stopped");
        }
    });
    Ok((shared, port))
}

/// Slices `items[start..start+len]` safely.
pub(crate) fn page<T: Clone>(items: &[T], start: usize, len: usize) -> Vec<T> {
    items.iter().skip(start).take(len).cloned().collect()
}
