//! SAP Litmos (`/v1.svc`): users.
//!
//! Quirks: `apikey` header plus `source` and `format=json` query parameters on every request;
//! `start`/`limit` until `[]`; 100 requests/min, signalled with 503 (or 429); `search` matches
//! substrings; PUT answers 200 with an empty body; errors are `{Detail}`, `{Message}` or text.

use crate::error::{Result, Vendor};
use crate::http::{seg, Core, Quirks, RateLimit, Request, RetryPolicy};
use crate::lenient;
use crate::Verification;
use platform::Secret;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Production (US) base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.litmos.com/v1.svc";

/// How to reach Litmos.
#[derive(Debug, Clone)]
pub struct LitmosConfig {
    /// Base URL (`…/v1.svc`; EU and AU hosts differ).
    pub base_url: String,
    /// API key (sent in the `apikey` header).
    pub api_key: Secret,
    /// Free-text app name sent as `source` (≤ 50 characters).
    pub source: String,
    /// Client-side limit; `None` disables it.
    pub rate_limit: Option<RateLimit>,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Users per page.
    pub page_size: u32,
}

impl LitmosConfig {
    /// Production defaults: 100 requests/min, 500 users per page.
    pub fn new(api_key: Secret, source: impl Into<String>) -> Self {
        LitmosConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            api_key,
            source: source.into(),
            rate_limit: Some(RateLimit::per_minute(100, 5)),
            retry: RetryPolicy::default(),
            page_size: 500,
        }
    }
}

struct LitmosQuirks {
    api_key: Secret,
    source: String,
}

/// Litmos's error bodies: `{Detail}`, `{Message}` (any case), else `None` (the core falls back to text).
pub fn error_message(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let object = value.as_object()?;
    ["Detail", "Message", "detail", "message", "Error", "error"]
        .iter()
        .find_map(|k| object.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
}

impl Quirks for LitmosQuirks {
    fn vendor(&self) -> Vendor {
        Vendor::Litmos
    }
    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.header("apikey", self.api_key.expose())
    }
    fn credential(&self) -> &str {
        self.api_key.expose()
    }
    fn common_query(&self) -> Vec<(String, String)> {
        vec![("source".into(), self.source.clone()), ("format".into(), "json".into())]
    }
    fn is_throttle(&self, _method: &Method, _path: &str, status: u16, _reason: &str, _body: &str) -> bool {
        // Litmos clients see 503 when over 100 requests/min; some sources say 429.
        status == 503 || status == 429
    }
    fn error_message(&self, body: &str) -> Option<String> {
        error_message(body)
    }
}

/// A user as listed or searched (`GET /users`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserSummary {
    /// Opaque id, e.g. `-yJ1NfrpHz41`.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// Login name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_name: Option<String>,
    /// First name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub last_name: Option<String>,
    /// Active.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub active: Option<bool>,
    /// Email.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
    /// `Learner`, `Administrator`, `Account_Owner`, …
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub access_level: Option<String>,
}

/// A full Litmos user. Unknown fields are kept in `extra` so a GET → change → PUT round trip loses
/// nothing (Litmos expects the whole object on PUT).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    /// Id (`""` on create).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    /// Login name.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// First name.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Email.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Access level.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub access_level: Option<String>,
    /// Active.
    #[serde(default, deserialize_with = "lenient::opt_bool", skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Suppress messages.
    #[serde(default, deserialize_with = "lenient::opt_bool", skip_serializing_if = "Option::is_none")]
    pub disable_messages: Option<bool>,
    /// Required for non-email user names.
    #[serde(default, deserialize_with = "lenient::opt_bool", skip_serializing_if = "Option::is_none")]
    pub is_custom_username: Option<bool>,
    /// Skip the first-login password change (SSO).
    #[serde(default, deserialize_with = "lenient::opt_bool", skip_serializing_if = "Option::is_none")]
    pub skip_first_login: Option<bool>,
    /// Work phone.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub phone_work: Option<String>,
    /// Mobile phone.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub phone_mobile: Option<String>,
    /// Street line 1.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub street1: Option<String>,
    /// Street line 2.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub street2: Option<String>,
    /// City.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Company name.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Job title.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// Time zone, e.g. `UTC`.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// External employee id.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub external_employee_id: Option<String>,
    /// Everything else (CustomField1…10, ManagerId, LoginKey, …), sent back unchanged on PUT.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// True when `user` has exactly this user name or email (case-insensitive).
pub fn is_exact_match(user: &UserSummary, username_or_email: &str) -> bool {
    let wanted = username_or_email.trim().to_lowercase();
    [&user.user_name, &user.email].iter().any(|v| v.as_deref().is_some_and(|v| v.trim().to_lowercase() == wanted))
}

/// A Litmos client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct LitmosClient {
    core: Core,
    page_size: u32,
}

impl LitmosClient {
    /// Build the client.
    pub fn new(config: LitmosConfig) -> Result<Self> {
        if config.api_key.is_empty() || config.source.trim().is_empty() {
            return Err(crate::Error::Config {
                vendor: Vendor::Litmos,
                detail: "the API key and the source name are both required".into(),
            });
        }
        let source: String = config.source.trim().chars().take(50).collect();
        let core = Core::new(
            LitmosQuirks { api_key: config.api_key, source },
            &config.base_url,
            config.rate_limit,
            config.retry,
        )?;
        Ok(LitmosClient { core, page_size: config.page_size.max(1) })
    }

    /// Check the key with `GET /users?limit=1`.
    pub async fn verify(&self) -> Verification {
        match self.core.json::<Vec<UserSummary>>(Request::get("/users").query("limit", 1), None).await {
            Ok(_) => Verification::ok(Vendor::Litmos, "Litmos API key accepted; users are readable"),
            Err(e) => Verification::failed(Vendor::Litmos, &e),
        }
    }

    /// One page of users starting at `start` (0-based offset).
    pub async fn list_users_page(&self, start: u64, search: Option<&str>) -> Result<Vec<UserSummary>> {
        let request =
            Request::get("/users").query("start", start).query("limit", self.page_size).query_opt("search", search);
        self.core.json(request, None).await
    }

    async fn all_users(&self, search: Option<&str>) -> Result<Vec<UserSummary>> {
        let mut out: Vec<UserSummary> = Vec::new();
        let mut start = 0u64;
        loop {
            let batch = self.list_users_page(start, search).await?;
            if batch.is_empty() {
                break;
            }
            // Advance by what came back, not by `limit`: a server-side cap must not skip users.
            start += batch.len() as u64;
            let before = out.len();
            for user in batch {
                if !out.iter().any(|u| u.id == user.id) {
                    out.push(user);
                }
            }
            if out.len() == before {
                break;
            }
        }
        Ok(out)
    }

    /// Every user (summaries), following `start`/`limit` until `[]`.
    pub async fn list_users(&self) -> Result<Vec<UserSummary>> {
        self.all_users(None).await
    }

    /// Users whose names, user name or email contain `text` (substring match on Litmos's side).
    pub async fn search_users(&self, text: &str) -> Result<Vec<UserSummary>> {
        self.all_users(Some(text)).await
    }

    /// The user whose `UserName` or `Email` is exactly `username_or_email`.
    pub async fn find_user_exact(&self, username_or_email: &str) -> Result<Option<UserSummary>> {
        let found = self.search_users(username_or_email.trim()).await?;
        Ok(found.into_iter().find(|u| is_exact_match(u, username_or_email)))
    }

    /// The full user.
    pub async fn get_user(&self, id: &str) -> Result<User> {
        self.core.json(Request::get(format!("/users/{}", seg(id))), None).await
    }

    /// Create a user (201). A taken user name is a 409 [`crate::Error::Rejected`] carrying
    /// "UserName already exists"; a 5xx/timeout is [`crate::Error::OutcomeUnknown`].
    pub async fn create_user(&self, user: &User) -> Result<User> {
        let mut body = serde_json::to_value(user).unwrap_or(Value::Null);
        if let Some(obj) = body.as_object_mut() {
            // Litmos's own create example sends an empty Id.
            obj.insert("Id".into(), Value::String(String::new()));
        }
        self.core.json(Request::create("/users").json_value(body), None).await
    }

    /// Replace a user with this whole object (`PUT /users/{Id}`, 200 with an empty body).
    pub async fn update_user(&self, user: &User) -> Result<()> {
        let id = user.id.clone().ok_or_else(|| crate::Error::Config {
            vendor: Vendor::Litmos,
            detail: "update_user needs the user's Id (read it with get_user first)".into(),
        })?;
        let body = serde_json::to_value(user).unwrap_or(Value::Null);
        self.core.no_content(Request::put(format!("/users/{}", seg(&id))).json_value(body)).await
    }

    /// Deactivate: read the whole user, set `Active: false`, write it back.
    pub async fn deactivate_user(&self, id: &str) -> Result<()> {
        let mut user = self.get_user(id).await?;
        user.active = Some(false);
        self.update_user(&user).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_envelopes() {
        assert_eq!(
            error_message(r#"{"Detail":"UserName already exists"}"#).as_deref(),
            Some("UserName already exists")
        );
        assert_eq!(error_message(r#"{"Message":"Invalid key"}"#).as_deref(), Some("Invalid key"));
        assert_eq!(error_message("plain text"), None);
    }

    #[test]
    fn throttle_is_503_and_429() {
        let q = LitmosQuirks { api_key: Secret::new("k"), source: "s".into() };
        assert!(q.is_throttle(&Method::GET, "/users", 503, "", ""));
        assert!(q.is_throttle(&Method::POST, "/users", 429, "", ""));
        assert!(!q.is_throttle(&Method::GET, "/users", 500, "", ""));
    }

    #[test]
    fn exact_match_ignores_substrings() {
        let users: Vec<UserSummary> = serde_json::from_str(
            r#"[{"Id":"1","UserName":"charlie.quinn123@x.net","Email":"charlie.quinn123@x.net"},
                {"Id":"2","UserName":"charlie.quinn@x.net","Email":"charlie.quinn@x.net"}]"#,
        )
        .unwrap();
        let hits: Vec<_> = users.iter().filter(|u| is_exact_match(u, "Charlie.Quinn@x.net")).collect();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].id, "2");
    }

    #[test]
    fn user_round_trip_keeps_unknown_fields() {
        let json = r#"{"Id":"-yJ1","UserName":"a@x","Active":true,"CustomField1":"","ManagerId":0,"LoginKey":null,"SalesforceId":null}"#;
        let mut user: User = serde_json::from_str(json).unwrap();
        user.active = Some(false);
        let back = serde_json::to_value(&user).unwrap();
        assert_eq!(back["Active"], Value::Bool(false));
        assert_eq!(back["ManagerId"], serde_json::json!(0));
        assert_eq!(back["Id"], "-yJ1");
    }
}
