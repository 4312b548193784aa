//! The Org: connection check (`GET /v1/usage`) and the jobs endpoints our open-roles sink uses.
//!
//! Quirks: `X-Api-Key` header; 15 requests/s; throttle is 429; errors are `{error:{code, reason}}`.
//! The Org documents no job write API: `/v1/jobs` are partner-endpoint paths.

use crate::error::{Result, Vendor};
use crate::http::{seg, Core, Quirks, RateLimit, Request, RetryPolicy};
use crate::lenient;
use crate::Verification;
use platform::Secret;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Production base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.theorg.com";

/// How to reach The Org.
#[derive(Debug, Clone)]
pub struct TheOrgConfig {
    /// Base URL.
    pub base_url: String,
    /// API key (`X-Api-Key`).
    pub api_key: Secret,
    /// Client-side limit; `None` disables it.
    pub rate_limit: Option<RateLimit>,
    /// Retry policy.
    pub retry: RetryPolicy,
}

impl TheOrgConfig {
    /// Production defaults: 15 requests/s.
    pub fn new(api_key: Secret) -> Self {
        TheOrgConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            api_key,
            rate_limit: Some(RateLimit::per_second(15, 15)),
            retry: RetryPolicy::default(),
        }
    }
}

struct TheOrgQuirks {
    api_key: Secret,
}

/// The Org's error envelope `{"error":{"code":404,"reason":"Not found"}}` (or a plain `error`/`message`).
pub fn error_message(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let text = match value.get("error") {
        Some(Value::Object(e)) => {
            e.get("reason").or_else(|| e.get("message")).and_then(Value::as_str).map(str::to_string)
        }
        Some(Value::String(s)) => Some(s.clone()),
        _ => value.get("message").and_then(Value::as_str).map(str::to_string),
    };
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

impl Quirks for TheOrgQuirks {
    fn vendor(&self) -> Vendor {
        Vendor::TheOrg
    }
    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.header("X-Api-Key", self.api_key.expose())
    }
    fn credential(&self) -> &str {
        self.api_key.expose()
    }
    fn is_throttle(&self, _method: &Method, _path: &str, status: u16, _reason: &str, _body: &str) -> bool {
        status == 429
    }
    fn error_message(&self, body: &str) -> Option<String> {
        error_message(body)
    }
}

/// A job on The Org.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// The Org's job id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// The Lever posting id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub external_id: Option<String>,
    /// Title.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub title: Option<String>,
    /// Plain description.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
    /// HTML description.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub description_html: Option<String>,
    /// Department.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub department: Option<String>,
    /// Team.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub team: Option<String>,
    /// Primary location.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub location: Option<String>,
    /// Every location.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub all_locations: Vec<String>,
    /// State.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub state: Option<String>,
    /// Creation time as sent (ms number or text).
    #[serde(default)]
    pub created_at: Option<Value>,
    /// Posting URL.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub url: Option<String>,
    /// Apply URL.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub apply_url: Option<String>,
    /// Manager on The Org's chart (owned by The Org users, never written by us).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub manager_id: Option<String>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The Lever-owned fields of a job, for create and update (never includes `managerId`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobFields {
    /// Lever posting id.
    pub external_id: String,
    /// Title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Plain description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// HTML description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_html: Option<String>,
    /// Department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Primary location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Every location.
    pub all_locations: Vec<String>,
    /// State (`published`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Creation time (Lever epoch ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// Posting URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Apply URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_url: Option<String>,
}

/// A client for The Org. Cheap to clone.
#[derive(Clone, Debug)]
pub struct TheOrgClient {
    core: Core,
}

fn unwrap_data(value: Value) -> Value {
    // Accept `{"data": {...}}` as well as the bare object.
    match value {
        Value::Object(mut map) if map.get("data").is_some_and(Value::is_object) => {
            map.remove("data").unwrap_or(Value::Null)
        }
        other => other,
    }
}

impl TheOrgClient {
    /// Build the client.
    pub fn new(config: TheOrgConfig) -> Result<Self> {
        if config.api_key.is_empty() {
            return Err(crate::Error::Config { vendor: Vendor::TheOrg, detail: "the API key is empty".into() });
        }
        let core =
            Core::new(TheOrgQuirks { api_key: config.api_key }, &config.base_url, config.rate_limit, config.retry)?;
        Ok(TheOrgClient { core })
    }

    /// Credit usage (`GET /v1/usage`), as sent.
    pub async fn usage(&self) -> Result<Value> {
        self.core.json(Request::get("/v1/usage"), None).await
    }

    /// Check the key with `GET /v1/usage`.
    pub async fn verify(&self) -> Verification {
        match self.usage().await {
            Ok(_) => Verification::ok(Vendor::TheOrg, "The Org API key accepted (usage readable)"),
            Err(e) => Verification::failed(Vendor::TheOrg, &e),
        }
    }

    /// Every job (`{"data":[...]}`).
    pub async fn list_jobs(&self) -> Result<Vec<Job>> {
        #[derive(Deserialize)]
        struct Jobs {
            #[serde(default, deserialize_with = "lenient::vec_or_null")]
            data: Vec<Job>,
        }
        let jobs: Jobs = self.core.json(Request::get("/v1/jobs"), Some("data")).await?;
        Ok(jobs.data)
    }

    /// Create a job (201). Not retried after a 5xx/timeout: list jobs by `externalId` first.
    pub async fn create_job(&self, job: &JobFields) -> Result<Job> {
        let request = Request::create("/v1/jobs").json_value(serde_json::to_value(job).unwrap_or(Value::Null));
        let raw = self.core.send(request).await?;
        let value = unwrap_data(self.core.decode_value(&raw, None)?);
        self.core.shape(&raw, value)
    }

    /// Replace the Lever-owned fields of a job.
    pub async fn update_job(&self, id: &str, job: &JobFields) -> Result<()> {
        let request =
            Request::put(format!("/v1/jobs/{}", seg(id))).json_value(serde_json::to_value(job).unwrap_or(Value::Null));
        self.core.no_content(request).await
    }

    /// Delete a job (204).
    pub async fn delete_job(&self, id: &str) -> Result<()> {
        self.core.no_content(Request::delete(format!("/v1/jobs/{}", seg(id)))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_envelope() {
        assert_eq!(error_message(r#"{"error":{"code":404,"reason":"Not found"}}"#).as_deref(), Some("Not found"));
        assert_eq!(error_message(r#"{"error":"bad key"}"#).as_deref(), Some("bad key"));
        assert_eq!(error_message("x"), None);
    }

    #[test]
    fn job_fields_never_send_manager() {
        let v = serde_json::to_value(JobFields { external_id: "p1".into(), ..Default::default() }).unwrap();
        assert!(v.get("managerId").is_none());
        assert_eq!(v["externalId"], "p1");
    }

    #[test]
    fn created_job_is_read_wrapped_or_bare() {
        let a: Job = serde_json::from_value(unwrap_data(serde_json::json!({"data":{"id":"j1"}}))).unwrap();
        let b: Job = serde_json::from_value(unwrap_data(serde_json::json!({"id":"j2","title":"X"}))).unwrap();
        assert_eq!((a.id.as_str(), b.id.as_str()), ("j1", "j2"));
    }
}
