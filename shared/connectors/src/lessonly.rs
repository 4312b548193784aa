//! Lessonly (Seismic Learning): users (v1 / v1.1) and groups.
//!
//! Quirks: HTTP Basic `subdomain:api_key`; `page`/`per_page` with `total_pages`; 500 requests/min,
//! signalled with **403 "Rate Limit Exceeded"** (a 403 without that text is a permission error);
//! error bodies are undocumented (`{error}` or text); `"remove":"true"` is a string.

use crate::error::{Result, Vendor};
use crate::http::{Core, Quirks, RateLimit, Request, RetryPolicy};
use crate::lenient;
use crate::Verification;
use futures::StreamExt;
use platform::Secret;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Pages of users asked for at once after the first page gives the count.
const PAGES_IN_FLIGHT: usize = 4;

/// Production base URL (the client appends `/v1/...` or `/v1.1/...`).
pub const DEFAULT_BASE_URL: &str = "https://api.lessonly.com/api";

/// How to reach one Lessonly company.
#[derive(Debug, Clone)]
pub struct LessonlyConfig {
    /// Base URL (`…/api`).
    pub base_url: String,
    /// Company subdomain (the Basic-auth user).
    pub subdomain: String,
    /// API key (the Basic-auth password).
    pub api_key: Secret,
    /// Client-side limit; `None` disables it.
    pub rate_limit: Option<RateLimit>,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Users per page (≤ 1000).
    pub per_page: u32,
}

impl LessonlyConfig {
    /// Production defaults: 500 requests/min, 1000 users per page.
    pub fn new(subdomain: impl Into<String>, api_key: Secret) -> Self {
        LessonlyConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            subdomain: subdomain.into(),
            api_key,
            rate_limit: Some(RateLimit::per_minute(500, 20)),
            retry: RetryPolicy::default(),
            per_page: 1000,
        }
    }
}

struct LessonlyQuirks {
    subdomain: String,
    api_key: Secret,
}

/// Lessonly signals its rate limit with a 403 whose reason or body says "Rate Limit Exceeded".
pub fn is_throttle(status: u16, reason: &str, body: &str) -> bool {
    let says_rate_limit = |t: &str| t.to_ascii_lowercase().contains("rate limit");
    status == 429 || (status == 403 && (says_rate_limit(reason) || says_rate_limit(body)))
}

/// Lessonly's (undocumented) error body: `{error}`, `{message}`, `{errors}`, or nothing usable.
pub fn error_message(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    for key in ["error", "message", "errors"] {
        match value.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => return Some(s.trim().to_string()),
            Some(v @ (Value::Array(_) | Value::Object(_))) => return Some(v.to_string()),
            _ => {}
        }
    }
    None
}

impl Quirks for LessonlyQuirks {
    fn vendor(&self) -> Vendor {
        Vendor::Lessonly
    }
    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.basic_auth(&self.subdomain, Some(self.api_key.expose()))
    }
    fn credential(&self) -> &str {
        self.api_key.expose()
    }
    fn is_throttle(&self, _method: &Method, _path: &str, status: u16, reason: &str, body: &str) -> bool {
        is_throttle(status, reason, body)
    }
    fn error_message(&self, body: &str) -> Option<String> {
        error_message(body)
    }
}

/// `{id, name}` group reference.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GroupRef {
    /// Group id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    /// Group name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
}

/// v1.1 `groups{member, manager}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UserGroupsSummary {
    /// Groups the user is a member of.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub member: Vec<GroupRef>,
    /// Groups the user manages.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub manager: Vec<GroupRef>,
}

/// A custom field value on a user.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CustomFieldValue {
    /// Value row id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    /// The custom field's id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub custom_user_field_id: Option<i64>,
    /// The field's name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// The value.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub value: Option<String>,
}

/// A Lessonly user (v1 or v1.1 shape).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct User {
    /// User id (a number; sometimes sent as a string).
    #[serde(deserialize_with = "lenient_i64_id")]
    pub id: i64,
    /// Email.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
    /// Name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// Id in another system.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub ext_uid: Option<String>,
    /// Role name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub role: Option<String>,
    /// Role id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub role_id: Option<i64>,
    /// Set when archived.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub archived_at: Option<String>,
    /// Job title.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub job_title: Option<String>,
    /// Business unit.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub business_unit: Option<String>,
    /// Department.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub department: Option<String>,
    /// Location.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub location: Option<String>,
    /// Locale.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub locale: Option<String>,
    /// Hire date `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub hire_date: Option<String>,
    /// Manager name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub manager_name: Option<String>,
    /// Mobile phone (v1.1).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub mobile_phone_number: Option<String>,
    /// Custom field values.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub custom_user_field_data: Vec<CustomFieldValue>,
    /// Groups (v1.1 list only).
    #[serde(default)]
    pub groups: Option<UserGroupsSummary>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl User {
    /// True when archived.
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}

fn lenient_i64_id<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    lenient::opt_i64(d)?.ok_or_else(|| serde::de::Error::custom("missing or non-numeric id"))
}

/// A custom field to write: by id, or by name (an unknown name creates a field — resolve first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomFieldInput {
    /// Field id (preferred).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_user_field_id: Option<i64>,
    /// Field name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Value.
    pub value: String,
}

/// Fields to create or update a user; unset fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserInput {
    /// Name (required on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email (required on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Role name (`learner`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Role id (preferred over `role`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_id: Option<i64>,
    /// Id in another system (e.g. the Namely profile id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_uid: Option<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// Business unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_unit: Option<String>,
    /// Department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Hire date `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hire_date: Option<String>,
    /// Manager name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager_name: Option<String>,
    /// Mobile phone (v1.1 reads it back; writing it is accepted but not in the published docs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile_phone_number: Option<String>,
    /// `"false"` to suppress the welcome email (create only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    /// Custom fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_user_fields: Vec<CustomFieldInput>,
}

/// A group.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Group {
    /// Id.
    #[serde(deserialize_with = "lenient_i64_id")]
    pub id: i64,
    /// Name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// Set when archived.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub archived_at: Option<String>,
    /// Anything else (members/managers on show).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A member/manager entry; `remove` is the string `"true"` as Lessonly expects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberChange {
    /// User id (or group id in user-group changes).
    pub id: i64,
    /// `"true"` to remove.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove: Option<&'static str>,
}

impl MemberChange {
    /// Add this id.
    pub fn add(id: i64) -> Self {
        MemberChange { id, remove: None }
    }
    /// Remove this id.
    pub fn remove(id: i64) -> Self {
        MemberChange { id, remove: Some("true") }
    }
}

/// A change to a group (`PUT /v1/groups/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GroupChange {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Members to add/remove.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberChange>,
    /// Managers to add/remove.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managers: Vec<MemberChange>,
}

/// A user's groups.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UserGroups {
    /// Member of.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub memberships: Vec<GroupRef>,
    /// Manages.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub managing: Vec<GroupRef>,
}

/// A change to a user's groups (`PUT /v1/users/{id}/groups`); ids are group ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserGroupsChange {
    /// Memberships to add/remove.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub memberships: Vec<MemberChange>,
    /// Managed groups to add/remove.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managing: Vec<MemberChange>,
}

/// Filters for listing users.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserFilter {
    /// `filter[email]`.
    pub email: Option<String>,
    /// `filter[ext_uid]`.
    pub ext_uid: Option<String>,
    /// `filter[active_only]=true`.
    pub active_only: bool,
    /// `filter[created_since]` (`YYYY-MM-DD`).
    pub created_since: Option<String>,
}

/// One page of users.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UsersPage {
    /// Users.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub users: Vec<User>,
    /// Page number.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub page: Option<i64>,
    /// Total pages.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub total_pages: Option<i64>,
    /// Total users.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub total_users: Option<i64>,
}

/// A Lessonly client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct LessonlyClient {
    core: Core,
    subdomain: String,
    per_page: u32,
}

impl LessonlyClient {
    /// Build the client.
    pub fn new(config: LessonlyConfig) -> Result<Self> {
        let subdomain = config.subdomain.trim().to_string();
        if subdomain.is_empty() || config.api_key.is_empty() {
            return Err(crate::Error::Config {
                vendor: Vendor::Lessonly,
                detail: "the subdomain and the API key are both required".into(),
            });
        }
        let quirks = LessonlyQuirks { subdomain: subdomain.clone(), api_key: config.api_key };
        let core = Core::new(quirks, &config.base_url, config.rate_limit, config.retry)?;
        Ok(LessonlyClient { core, subdomain, per_page: config.per_page.clamp(1, 1000) })
    }

    /// Check subdomain and key with `GET /v1/users?per_page=1`.
    pub async fn verify(&self) -> Verification {
        let request = Request::get("/v1/users").query("per_page", 1);
        match self.core.json::<UsersPage>(request, Some("users")).await {
            Ok(page) => Verification::ok(
                Vendor::Lessonly,
                format!(
                    "connected to Lessonly company '{}'{}",
                    self.subdomain,
                    page.total_users.map(|n| format!(" ({n} users)")).unwrap_or_default()
                ),
            ),
            Err(e) => Verification::failed(Vendor::Lessonly, &e),
        }
    }

    /// One page of users (v1.1, with custom field data and groups).
    pub async fn list_users_page(&self, filter: &UserFilter, page: u32) -> Result<UsersPage> {
        let mut request = Request::get("/v1.1/users")
            .query("page", page.max(1))
            .query("per_page", self.per_page)
            .query_opt("filter[email]", filter.email.as_deref())
            .query_opt("filter[ext_uid]", filter.ext_uid.as_deref())
            .query_opt("filter[created_since]", filter.created_since.as_deref());
        if filter.active_only {
            request = request.query("filter[active_only]", "true");
        }
        self.core.json(request, Some("users")).await
    }

    /// Every user matching the filter, following `total_pages` (or until an empty page). Once the
    /// first page tells how many there are, the rest are asked for a few at a time (the limiter
    /// paces them), so a large company's users take the first page's round trip and then
    /// Lessonly's rate, not a round trip a page.
    pub async fn list_users(&self, filter: &UserFilter) -> Result<Vec<User>> {
        let mut out: Vec<User> = Vec::new();
        let mut seen: HashSet<i64> = HashSet::new();
        // Adds a page's users; false when it brought none new (the server ignores `page`).
        let mut take = |users: Vec<User>| {
            let before = out.len();
            out.extend(users.into_iter().filter(|u| seen.insert(u.id)));
            out.len() > before
        };
        let first = self.list_users_page(filter, 1).await?;
        let total_pages = first.total_pages;
        if !take(first.users) {
            return Ok(out);
        }
        match total_pages {
            Some(total) => {
                let last = u32::try_from(total.max(1)).unwrap_or(u32::MAX);
                let mut pages = futures::stream::iter(2..=last)
                    .map(|page| self.list_users_page(filter, page))
                    .buffered(PAGES_IN_FLIGHT);
                while let Some(batch) = pages.next().await {
                    if !take(batch?.users) {
                        break;
                    }
                }
            }
            None => {
                for page in 2.. {
                    if !take(self.list_users_page(filter, page).await?.users) {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    /// The user with exactly this email (case-insensitive), if any.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let wanted = email.trim().to_lowercase();
        let users =
            self.list_users(&UserFilter { email: Some(email.trim().to_string()), ..Default::default() }).await?;
        Ok(users.into_iter().find(|u| u.email.as_deref().is_some_and(|e| e.trim().to_lowercase() == wanted)))
    }

    /// The user with exactly this `ext_uid`, if any.
    pub async fn find_user_by_ext_uid(&self, ext_uid: &str) -> Result<Option<User>> {
        let users = self.list_users(&UserFilter { ext_uid: Some(ext_uid.to_string()), ..Default::default() }).await?;
        Ok(users.into_iter().find(|u| u.ext_uid.as_deref() == Some(ext_uid)))
    }

    /// Create a user (not retried after a 5xx/timeout; look the email up first).
    pub async fn create_user(&self, user: &UserInput) -> Result<User> {
        let request = Request::create("/v1/users").json_value(serde_json::to_value(user).unwrap_or(Value::Null));
        self.core.json(request, Some("id")).await
    }

    /// Update some fields of a user.
    pub async fn update_user(&self, id: i64, changes: &UserInput) -> Result<User> {
        let request =
            Request::put(format!("/v1/users/{id}")).json_value(serde_json::to_value(changes).unwrap_or(Value::Null));
        self.core.json(request, Some("id")).await
    }

    /// Archive (deactivate) a user.
    pub async fn archive_user(&self, id: i64) -> Result<User> {
        self.core.json(Request::put(format!("/v1/users/{id}/archive")), Some("id")).await
    }

    /// Restore an archived user.
    pub async fn restore_user(&self, id: i64) -> Result<User> {
        self.core.json(Request::put(format!("/v1/users/{id}/restore")), Some("id")).await
    }

    /// Every group.
    pub async fn list_groups(&self) -> Result<Vec<Group>> {
        #[derive(Deserialize)]
        struct Groups {
            #[serde(default, deserialize_with = "lenient::vec_or_null")]
            groups: Vec<Group>,
        }
        let groups: Groups = self.core.json(Request::get("/v1/groups"), Some("groups")).await?;
        Ok(groups.groups)
    }

    /// Create a group (not retried after a 5xx/timeout).
    pub async fn create_group(&self, name: &str, members: &[i64], managers: &[i64]) -> Result<Group> {
        let body = serde_json::json!({
            "name": name,
            "members": members.iter().map(|id| serde_json::json!({"id": id})).collect::<Vec<_>>(),
            "managers": managers.iter().map(|id| serde_json::json!({"id": id})).collect::<Vec<_>>(),
        });
        self.core.json(Request::create("/v1/groups").json_value(body), Some("id")).await
    }

    /// Rename a group and/or add and remove members and managers.
    pub async fn update_group_members(&self, group_id: i64, change: &GroupChange) -> Result<()> {
        let request = Request::put(format!("/v1/groups/{group_id}"))
            .json_value(serde_json::to_value(change).unwrap_or(Value::Null));
        self.core.no_content(request).await
    }

    /// Restore an archived group.
    pub async fn restore_group(&self, group_id: i64) -> Result<()> {
        self.core.no_content(Request::put(format!("/v1/groups/{group_id}/restore"))).await
    }

    /// A user's groups.
    pub async fn get_user_groups(&self, user_id: i64) -> Result<UserGroups> {
        self.core.json(Request::get(format!("/v1/users/{user_id}/groups")), None).await
    }

    /// Add/remove a user's memberships and managed groups.
    pub async fn update_user_groups(&self, user_id: i64, change: &UserGroupsChange) -> Result<()> {
        let request = Request::put(format!("/v1/users/{user_id}/groups"))
            .json_value(serde_json::to_value(change).unwrap_or(Value::Null));
        self.core.no_content(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_403_vs_permission_403() {
        assert!(is_throttle(403, "Forbidden (Rate Limit Exceeded)", ""));
        assert!(is_throttle(403, "Forbidden", r#"{"error":"Rate Limit Exceeded"}"#));
        assert!(!is_throttle(403, "Forbidden", r#"{"error":"You do not have permission"}"#));
        assert!(!is_throttle(403, "Forbidden", ""));
        assert!(is_throttle(429, "", ""));
    }

    #[test]
    fn error_envelope() {
        assert_eq!(error_message(r#"{"error":"Invalid credentials"}"#).as_deref(), Some("Invalid credentials"));
        assert_eq!(error_message("Rate Limit Exceeded"), None);
    }

    #[test]
    fn member_changes_use_string_true() {
        let change = GroupChange { members: vec![MemberChange::add(1), MemberChange::remove(2)], ..Default::default() };
        assert_eq!(
            serde_json::to_value(change).unwrap(),
            serde_json::json!({"members":[{"id":1},{"id":2,"remove":"true"}]})
        );
    }

    #[test]
    fn user_parses_v11_and_string_ids() {
        let u: User = serde_json::from_str(
            r#"{"id":"1694","email":"a@x.com","name":"A","archived_at":null,"custom_user_field_data":[{"id":1,"custom_user_field_id":7,"name":"Namely ID","value":"p1"}],"groups":{"member":[{"id":38780,"name":"Test"}],"manager":[]}}"#,
        )
        .unwrap();
        assert_eq!(u.id, 1694);
        assert!(!u.is_archived());
        assert_eq!(u.custom_user_field_data[0].custom_user_field_id, Some(7));
        assert_eq!(u.groups.unwrap().member[0].id, Some(38780));
    }
}
