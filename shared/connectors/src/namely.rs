//! Namely HRIS (REST API v1): profiles, job titles, groups and the profile field schema.
//!
//! Quirks: `Authorization: Bearer`; base URL per company subdomain; `page`/`per_page` (≤ 50) until an
//! empty page; 100 requests/min on `GET /profiles` only, signalled with 406 (or 429); a wrong subdomain
//! answers 200 with an HTML login page; errors are `{message, errors}` or `{"error": ""}`.

use crate::error::{Error, Result, Vendor};
use crate::http::{seg, Core, Quirks, RateLimit, Request, RetryPolicy};
use crate::lenient;
use crate::Verification;
use chrono::NaiveDate;
use platform::Secret;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Production base URL; `{company}` is replaced by the company subdomain.
pub const DEFAULT_BASE_URL: &str = "https://{company}.namely.com/api/v1";
/// Namely's documented maximum page size.
pub const MAX_PER_PAGE: u32 = 50;

/// How to reach one Namely company.
#[derive(Debug, Clone)]
pub struct NamelyConfig {
    /// Base URL template; `{company}` is substituted (a URL without it is used as is).
    pub base_url: String,
    /// Company subdomain as the admin pasted it (`acme`, `acme.namely.com`, `https://acme.namely.com/`).
    pub company: String,
    /// Personal access token (sent as `Authorization: Bearer`).
    pub token: Secret,
    /// Client-side limit for `GET /profiles*` (the only throttled endpoint); `None` disables it.
    pub rate_limit: Option<RateLimit>,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Profiles per page (capped at 50).
    pub per_page: u32,
}

impl NamelyConfig {
    /// Production defaults: 100 requests/min on `GET /profiles`, 50 per page.
    pub fn new(company: impl Into<String>, token: Secret) -> Self {
        NamelyConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            company: company.into(),
            token,
            rate_limit: Some(RateLimit::per_minute(100, 5)),
            retry: RetryPolicy::default(),
            per_page: MAX_PER_PAGE,
        }
    }
}

/// Normalise what an admin pasted into the bare subdomain: `https://Acme.namely.com/` → `acme`.
pub fn normalize_company(input: &str) -> Result<String> {
    let mut s = input.trim().to_ascii_lowercase();
    for prefix in ["https://", "http://"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_string();
        }
    }
    let host = s.split(['/', '?', '#']).next().unwrap_or_default();
    let company = host.strip_suffix(".namely.com").unwrap_or(host).trim_matches('.');
    let valid = !company.is_empty() && company.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        return Err(Error::Config {
            vendor: Vendor::Namely,
            detail: format!(
                "company '{}' is not a Namely subdomain; enter the part before .namely.com, e.g. 'acme'",
                input.trim()
            ),
        });
    }
    Ok(company.to_string())
}

struct NamelyQuirks {
    token: Secret,
    company: String,
}

impl Quirks for NamelyQuirks {
    fn vendor(&self) -> Vendor {
        Vendor::Namely
    }
    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(self.token.expose())
    }
    fn credential(&self) -> &str {
        self.token.expose()
    }
    fn is_throttle(&self, _method: &Method, _path: &str, status: u16, _reason: &str, _body: &str) -> bool {
        // 406 is Namely's documented throttle on GET /profiles; we always send Accept: JSON, so a 406
        // elsewhere cannot be a format complaint either.
        status == 406 || status == 429
    }
    fn error_message(&self, body: &str) -> Option<String> {
        error_message(body)
    }
    fn rate_limited(&self, method: &Method, path: &str) -> bool {
        method == Method::GET && (path == "/profiles" || path.starts_with("/profiles/"))
    }
    fn html_hint(&self) -> Option<String> {
        Some(format!("check the company subdomain '{}' (NAMELY_API_URL / the namely secret's company)", self.company))
    }
}

/// Namely's error envelopes: `{message, errors:[…]}` or `{"error": "…"}`.
pub fn error_message(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let message = value.get("message").and_then(Value::as_str).map(str::trim).filter(|m| !m.is_empty());
    let errors: Vec<String> = match value.get("errors") {
        Some(Value::Array(items)) => {
            items.iter().map(|e| e.as_str().map(str::to_string).unwrap_or_else(|| e.to_string())).collect()
        }
        Some(Value::Object(map)) => map.iter().map(|(k, v)| format!("{k} {v}")).collect(),
        _ => Vec::new(),
    };
    let joined = match (message, errors.is_empty()) {
        (Some(m), true) => m.to_string(),
        (Some(m), false) => format!("{m}: {}", errors.join("; ")),
        (None, false) => errors.join("; "),
        (None, true) => value.get("error").and_then(Value::as_str).unwrap_or_default().trim().to_string(),
    };
    (!joined.is_empty()).then_some(joined)
}

/// A Namely client for one company. Cheap to clone.
#[derive(Clone, Debug)]
pub struct NamelyClient {
    core: Core,
    company: String,
    per_page: u32,
}

/// `{id, title}` reference (job title on a profile).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct JobTitleRef {
    /// Job title id.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Job title text (case-sensitive on write).
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// A person reference in `reports_to`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PersonRef {
    /// Profile id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    /// First name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub last_name: Option<String>,
    /// Company email.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
}

/// `{id, name}` group or team reference in `profile.links`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GroupRef {
    /// Group id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    /// Group name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
}

/// `profile.links`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProfileLinks {
    /// Groups (departments, offices, custom).
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub groups: Vec<GroupRef>,
    /// Teams.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub teams: Vec<GroupRef>,
}

/// Home or office address.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Address {
    /// Street line 1.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    /// Street line 2.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    /// City.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State / subdivision id (2 letters in the US).
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub state_id: Option<String>,
    /// ISO alpha-2 country.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub country_id: Option<String>,
    /// Postal code.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    /// Office phone (office only).
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Salary block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Salary {
    /// Currency, e.g. `USD`.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub currency_type: Option<String>,
    /// Effective date.
    #[serde(default, deserialize_with = "lenient::opt_date", skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    /// Yearly amount (a number or a string on the wire).
    #[serde(default, deserialize_with = "lenient::opt_f64", skip_serializing_if = "Option::is_none")]
    pub yearly_amount: Option<f64>,
}

/// `{title}` employee type.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct EmployeeType {
    /// e.g. `Full Time`.
    #[serde(default, deserialize_with = "lenient::opt_string", skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

fn reports_to<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<PersonRef>, D::Error> {
    // An array, a single object or null; the `no_guid` "Nobody" placeholder means no manager.
    let value = Value::deserialize(d)?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(_) => vec![value],
        _ => Vec::new(),
    };
    Ok(items
        .into_iter()
        .filter_map(|v| serde_json::from_value::<PersonRef>(v).ok())
        .filter(|p| p.id.as_deref().is_some_and(|id| id != "no_guid"))
        .collect())
}

/// A Namely profile, parsed leniently. Custom fields stay in `extra`, keyed by their field `name`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Profile {
    /// Profile id (UUID).
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// Company email.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
    /// Personal email.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub personal_email: Option<String>,
    /// First name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub last_name: Option<String>,
    /// Middle name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub middle_name: Option<String>,
    /// Preferred name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub preferred_name: Option<String>,
    /// Full name as Namely shows it.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub full_name: Option<String>,
    /// `active`, `pending` or `inactive`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_status: Option<String>,
    /// Epoch seconds.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub created_at: Option<i64>,
    /// Epoch seconds.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub updated_at: Option<i64>,
    /// Job title.
    #[serde(default)]
    pub job_title: Option<JobTitleRef>,
    /// Managers, without the `no_guid` placeholder.
    #[serde(default, deserialize_with = "reports_to")]
    pub reports_to: Vec<PersonRef>,
    /// Employee type.
    #[serde(default)]
    pub employee_type: Option<EmployeeType>,
    /// Groups and teams.
    #[serde(default)]
    pub links: Option<ProfileLinks>,
    /// Start date (either format on the wire).
    #[serde(default, deserialize_with = "lenient::opt_date")]
    pub start_date: Option<NaiveDate>,
    /// Departure date.
    #[serde(default, deserialize_with = "lenient::opt_date")]
    pub departure_date: Option<NaiveDate>,
    /// Employee number.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub employee_id: Option<String>,
    /// Office phone.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub office_phone: Option<String>,
    /// Home phone.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub home_phone: Option<String>,
    /// Mobile phone.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub mobile_phone: Option<String>,
    /// Home address.
    #[serde(default)]
    pub home: Option<Address>,
    /// Office address (from the office location group).
    #[serde(default)]
    pub office: Option<Address>,
    /// Salary.
    #[serde(default)]
    pub salary: Option<Salary>,
    /// Every other key: custom fields (by field `name`) and fields added later.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Profile {
    /// A custom (or unmodelled) field's value by key; `""` and `null` count as absent.
    pub fn custom(&self, key: &str) -> Option<&Value> {
        self.extra.get(key).filter(|v| !v.is_null() && v.as_str() != Some(""))
    }

    /// A custom field as text (select/text fields); numbers are rendered.
    pub fn custom_str(&self, key: &str) -> Option<String> {
        match self.custom(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Group ids from `links.groups`.
    pub fn group_ids(&self) -> Vec<&str> {
        self.links.iter().flat_map(|l| l.groups.iter()).filter_map(|g| g.id.as_deref()).collect()
    }

    /// First manager id, if any.
    pub fn manager_id(&self) -> Option<&str> {
        self.reports_to.first().and_then(|p| p.id.as_deref())
    }
}

/// Fields to create or change a profile. Unset fields are not sent (PUT keeps them).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewProfile {
    /// First name (required on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name (required on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Middle name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Preferred name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_name: Option<String>,
    /// Company email (required on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Personal email (required when `pending`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_email: Option<String>,
    /// `active` or `pending` (onboarding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_status: Option<String>,
    /// Start date, sent as `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    /// Existing job title by id and/or title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<JobTitleRef>,
    /// Manager's profile id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reports_to: Option<String>,
    /// Home address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home: Option<Address>,
    /// Home phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_phone: Option<String>,
    /// Mobile phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    /// Salary (annual, USD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salary: Option<Salary>,
    /// Employee type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_type: Option<EmployeeType>,
    /// Custom fields by key (e.g. `lever_id`).
    #[serde(flatten)]
    pub custom: Map<String, Value>,
}

/// Filters for `GET /profiles` (all exact match).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileFilter {
    /// `active`, `pending` or `inactive`.
    pub user_status: Option<String>,
    /// Company email.
    pub email: Option<String>,
    /// Personal email.
    pub personal_email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Job title text.
    pub job_title: Option<String>,
    /// Manager profile id (direct reports).
    pub reports_to: Option<String>,
    /// e.g. `-updated_at`.
    pub sort: Option<String>,
}

impl ProfileFilter {
    fn apply(&self, mut request: Request) -> Request {
        let pairs = [
            ("filter[user_status]", &self.user_status),
            ("filter[email]", &self.email),
            ("filter[personal_email]", &self.personal_email),
            ("filter[first_name]", &self.first_name),
            ("filter[last_name]", &self.last_name),
            ("filter[job_title]", &self.job_title),
            ("filter[reports_to]", &self.reports_to),
            ("sort", &self.sort),
        ];
        for (key, value) in pairs {
            request = request.query_opt(key, value.as_deref());
        }
        request
    }
}

/// One page of profiles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfilesPage {
    /// Profiles on this page (empty past the end).
    pub profiles: Vec<Profile>,
    /// `meta.total_count` when sent.
    pub total_count: Option<u64>,
}

/// A job title.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct JobTitle {
    /// Id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// Title text.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub title: Option<String>,
    /// Parent job tier id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub parent_id: Option<String>,
    /// Whether it is active (absent in old tenants).
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub active: Option<bool>,
    /// Links (`job_tier`).
    #[serde(default)]
    pub links: Option<Value>,
}

/// A job tier.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct JobTier {
    /// Id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// Title.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub title: Option<String>,
    /// Links (`job_titles`).
    #[serde(default)]
    pub links: Option<Value>,
}

/// A group (department, office location, custom).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Group {
    /// Id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// Title, e.g. `Engineering`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub title: Option<String>,
    /// Group type name.
    #[serde(default, deserialize_with = "lenient::opt_string", rename = "type")]
    pub group_type: Option<String>,
    /// Whether the group is shown as a team.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub is_team: Option<bool>,
    /// Member count.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub count: Option<i64>,
    /// Address (office locations).
    #[serde(default)]
    pub address: Option<Address>,
    /// Links (`group_type` id).
    #[serde(default)]
    pub links: Option<GroupLinks>,
}

/// `group.links`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GroupLinks {
    /// The group type id.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub group_type: Option<String>,
}

/// A group type (`Department`, `Office Location`, custom).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GroupType {
    /// Id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// Tenant-defined title.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub title: Option<String>,
    /// Field name on profiles.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub field_name: Option<String>,
    /// Kind (office location, department, custom).
    #[serde(default, deserialize_with = "lenient::opt_string", rename = "type")]
    pub kind: Option<String>,
    /// Whether it can be deleted.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub deletable: Option<bool>,
}

/// Groups plus the group types linked in the same answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupsListing {
    /// Every group.
    pub groups: Vec<Group>,
    /// Group types from `linked.group_types`.
    pub group_types: Vec<GroupType>,
}

/// A profile field from the schema.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProfileField {
    /// Id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    /// The key used on profiles (fixed at creation).
    #[serde(deserialize_with = "lenient::id")]
    pub name: String,
    /// Current label shown in the UI.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub label: Option<String>,
    /// Field type (`text`, `select`, …).
    #[serde(default, deserialize_with = "lenient::opt_string", rename = "type")]
    pub field_type: Option<String>,
    /// Whether it is a built-in field.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub default: Option<bool>,
    /// Allowed values, in prose.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub valid_format_info: Option<String>,
}

/// The key (`name`) of the field whose label matches `label` (case-insensitive, trimmed).
pub fn field_key_by_label<'a>(fields: &'a [ProfileField], label: &str) -> Option<&'a str> {
    let wanted = label.trim().to_lowercase();
    fields
        .iter()
        .find(|f| f.label.as_deref().is_some_and(|l| l.trim().to_lowercase() == wanted))
        .or_else(|| fields.iter().find(|f| f.name.to_lowercase() == wanted))
        .map(|f| f.name.as_str())
}

/// The reference data that turns a profile's ids into names: groups with their types, job titles
/// and job tiers. Read once per sync with [`NamelyClient::directory`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    /// Every group (departments, office locations, custom) and the group types.
    pub groups: GroupsListing,
    /// Every job title, each under its tier (`parent_id`).
    pub job_titles: Vec<JobTitle>,
    /// Every job tier.
    pub job_tiers: Vec<JobTier>,
}

impl Directory {
    /// The title of the profile's group whose group type is `kind` (`department`, `office location`).
    /// Group-type titles vary by tenant ("Department", "Departments"), so the type's `type` decides,
    /// then its title, then the group's own `type` text.
    fn group_of_kind(&self, profile: &Profile, kind: &str) -> Option<String> {
        let wanted = |text: &str| {
            let text = text.to_lowercase();
            text == kind || text.trim_end_matches('s') == kind
        };
        let type_ids: Vec<&str> = self
            .groups
            .group_types
            .iter()
            .filter(|t| t.kind.as_deref().is_some_and(wanted) || t.title.as_deref().is_some_and(wanted))
            .map(|t| t.id.as_str())
            .collect();
        profile.group_ids().into_iter().find_map(|id| {
            let group = self.groups.groups.iter().find(|g| g.id == id)?;
            let by_type =
                group.links.as_ref().and_then(|l| l.group_type.as_deref()).is_some_and(|t| type_ids.contains(&t));
            let by_text = group.group_type.as_deref().is_some_and(wanted);
            (by_type || by_text).then(|| group.title.clone()).flatten()
        })
    }

    /// The profile's department (its group of the department type).
    pub fn department(&self, profile: &Profile) -> Option<String> {
        self.group_of_kind(profile, "department")
    }

    /// The profile's office location (its group of the office location type).
    pub fn office(&self, profile: &Profile) -> Option<String> {
        self.group_of_kind(profile, "office location")
    }

    /// The job tier of the profile's job title (the title's parent).
    pub fn job_tier(&self, profile: &Profile) -> Option<String> {
        let title_id = profile.job_title.as_ref()?.id.as_deref()?;
        let title = self.job_titles.iter().find(|t| t.id == title_id)?;
        let tier_id =
            title.parent_id.clone().or_else(|| title.links.as_ref()?.get("job_tier")?.as_str().map(str::to_string))?;
        self.job_tiers.iter().find(|t| t.id == tier_id)?.title.clone()
    }
}

#[derive(Deserialize)]
struct ProfilesEnvelope {
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    profiles: Vec<Profile>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    total_count: Option<i64>,
}

impl NamelyClient {
    /// Build the client; fails on an unusable company or base URL.
    pub fn new(config: NamelyConfig) -> Result<Self> {
        let company = normalize_company(&config.company)?;
        if config.token.is_empty() {
            return Err(Error::Config { vendor: Vendor::Namely, detail: "the access token is empty".into() });
        }
        let base_url = config.base_url.replace("{company}", &company);
        let quirks = NamelyQuirks { token: config.token, company: company.clone() };
        let core = Core::new(quirks, &base_url, config.rate_limit, config.retry)?;
        Ok(NamelyClient { core, company, per_page: config.per_page.clamp(1, MAX_PER_PAGE) })
    }

    /// The normalised company subdomain.
    pub fn company(&self) -> &str {
        &self.company
    }

    /// The resolved base URL.
    pub fn base_url(&self) -> &str {
        self.core.base_url()
    }

    /// The token owner's profile (`GET /profiles/me`).
    pub async fn me(&self) -> Result<Profile> {
        let envelope: ProfilesEnvelope = self.core.json(Request::get("/profiles/me"), Some("profiles")).await?;
        let raw_target = "/profiles/me";
        envelope.profiles.into_iter().next().ok_or_else(|| Error::NotJson {
            target: crate::error::RequestTarget {
                vendor: Vendor::Namely,
                method: "GET".into(),
                path: raw_target.into(),
            },
            detail: "an empty `profiles` list".into(),
            hint: None,
        })
    }

    /// Check token and subdomain; on success names the token owner.
    pub async fn verify(&self) -> Verification {
        match self.me().await {
            Ok(me) => {
                let name = me
                    .full_name
                    .clone()
                    .or_else(|| match (&me.first_name, &me.last_name) {
                        (Some(f), Some(l)) => Some(format!("{f} {l}")),
                        (f, l) => f.clone().or_else(|| l.clone()),
                    })
                    .unwrap_or_else(|| me.id.clone());
                let email = me.email.as_deref().map(|e| format!(" <{e}>")).unwrap_or_default();
                Verification::ok(
                    Vendor::Namely,
                    format!("connected to Namely company '{}' as {name}{email}", self.company),
                )
            }
            Err(e) => Verification::failed(Vendor::Namely, &e),
        }
    }

    /// One page of profiles (1-based).
    pub async fn list_profiles_page(&self, filter: &ProfileFilter, page: u32) -> Result<ProfilesPage> {
        let request =
            filter.apply(Request::get("/profiles").query("page", page.max(1)).query("per_page", self.per_page));
        let envelope: ProfilesEnvelope = self.core.json(request, Some("profiles")).await?;
        Ok(ProfilesPage {
            profiles: envelope.profiles,
            total_count: envelope.meta.and_then(|m| m.total_count).and_then(|c| u64::try_from(c).ok()),
        })
    }

    /// Every profile matching the filter, following pages until an empty page (or `total_count`).
    pub async fn list_profiles(&self, filter: &ProfileFilter) -> Result<Vec<Profile>> {
        self.list_profiles_as(filter, |profile| profile).await
    }

    /// Every profile matching the filter, each turned by `keep` into what the caller needs as its
    /// page arrives, so a large company is never held as whole profiles.
    pub async fn list_profiles_as<T>(
        &self,
        filter: &ProfileFilter,
        mut keep: impl FnMut(Profile) -> T,
    ) -> Result<Vec<T>> {
        let mut all: Vec<T> = Vec::new();
        let mut pager = self.profile_pager(filter);
        while let Some(page) = pager.next().await? {
            all.extend(page.into_iter().map(&mut keep));
        }
        Ok(all)
    }

    /// The profiles matching the filter a page at a time, for a caller that works on each page
    /// while the next is read.
    pub fn profile_pager<'a>(&'a self, filter: &'a ProfileFilter) -> ProfilePager<'a> {
        self.profile_pager_from(filter, 1)
    }

    /// [`Self::profile_pager`] starting at page `first` (1-based), for a run that continues where
    /// it was.
    pub fn profile_pager_from<'a>(&'a self, filter: &'a ProfileFilter, first: u32) -> ProfilePager<'a> {
        let first = first.max(1);
        ProfilePager {
            client: self,
            filter,
            page: first - 1,
            skipped: u64::from(first - 1) * u64::from(self.per_page),
            seen: std::collections::HashSet::new(),
            total: None,
            done: false,
        }
    }

    /// One profile by id.
    pub async fn get_profile(&self, id: &str) -> Result<Profile> {
        let path = format!("/profiles/{}", seg(id));
        let envelope: ProfilesEnvelope = self.core.json(Request::get(path.clone()), Some("profiles")).await?;
        envelope.profiles.into_iter().next().ok_or_else(|| Error::NotFound {
            target: crate::error::RequestTarget { vendor: Vendor::Namely, method: "GET".into(), path },
            message: Some("empty `profiles` list".into()),
        })
    }

    /// Profiles whose company **or** personal email equals `email` (to de-duplicate before creating).
    pub async fn find_profiles_by_email(&self, email: &str) -> Result<Vec<Profile>> {
        let wanted = email.trim().to_lowercase();
        let by_work =
            self.list_profiles(&ProfileFilter { email: Some(email.trim().to_string()), ..Default::default() }).await?;
        let by_personal = self
            .list_profiles(&ProfileFilter { personal_email: Some(email.trim().to_string()), ..Default::default() })
            .await?;
        let mut out: Vec<Profile> = Vec::new();
        for p in by_work.into_iter().chain(by_personal) {
            let matches = [&p.email, &p.personal_email]
                .iter()
                .any(|e| e.as_deref().is_some_and(|e| e.trim().to_lowercase() == wanted));
            // Filters are exact on Namely's side; re-check in case a server ignores them.
            if matches && !out.iter().any(|o| o.id == p.id) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Create a profile (`POST /profiles`, 200 or 201). Never retried after a 5xx or timeout: the
    /// error is [`Error::OutcomeUnknown`] so the caller can look the email up first.
    pub async fn create_profile(&self, profile: &NewProfile) -> Result<Profile> {
        let request = Request::create("/profiles").json_value(serde_json::json!({ "profiles": [profile] }));
        let envelope: ProfilesEnvelope = self.core.json(request, Some("profiles")).await?;
        envelope.profiles.into_iter().next().ok_or_else(|| Error::OutcomeUnknown {
            target: crate::error::RequestTarget {
                vendor: Vendor::Namely,
                method: "POST".into(),
                path: "/profiles".into(),
            },
            cause: "Namely answered 2xx without the created profile in `profiles[0]`".into(),
        })
    }

    /// Change some fields of a profile (`PUT /profiles/{id}`); omitted fields are kept.
    pub async fn update_profile(&self, id: &str, changes: &NewProfile) -> Result<Option<Profile>> {
        let request =
            Request::put(format!("/profiles/{}", seg(id))).json_value(serde_json::json!({ "profiles": [changes] }));
        let envelope: Option<ProfilesEnvelope> = self.core.json_or_empty(request).await?;
        Ok(envelope.and_then(|e| e.profiles.into_iter().next()))
    }

    /// Uploads a file (`POST /files`, multipart part `file`) and returns its id, for a `file`
    /// profile field such as `resume`. Namely does not publish this endpoint (see namely.md §3);
    /// callers treat a failure as "file not attached", never as a failed transfer.
    pub async fn upload_file(&self, file_name: &str, content_type: &str, bytes: &[u8]) -> Result<String> {
        let boundary = format!("hr-bundle-{}", rand::random::<u64>());
        // Quotes and line breaks would end the header early; the name is only a label.
        let safe_name: String =
            file_name.chars().map(|c| if c == '"' || c == '\r' || c == '\n' { '_' } else { c }).collect();
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{safe_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let request = Request::create("/files").raw(format!("multipart/form-data; boundary={boundary}"), body);
        let value: Value = self.core.json(request, Some("files")).await?;
        value.pointer("/files/0/id").and_then(Value::as_str).map(str::to_string).ok_or_else(|| Error::OutcomeUnknown {
            target: crate::error::RequestTarget {
                vendor: Vendor::Namely,
                method: "POST".into(),
                path: "/files".into(),
            },
            cause: "Namely answered 2xx without `files[0].id`".into(),
        })
    }

    /// Groups, group types, job titles and job tiers, read together.
    pub async fn directory(&self) -> Result<Directory> {
        let (groups, job_titles, job_tiers) =
            tokio::join!(self.list_groups(), self.list_job_titles(), self.list_job_tiers());
        Ok(Directory { groups: groups?, job_titles: job_titles?, job_tiers: job_tiers? })
    }

    /// Every job title.
    pub async fn list_job_titles(&self) -> Result<Vec<JobTitle>> {
        self.list_simple("/job_titles", "job_titles").await
    }

    /// Every job tier.
    pub async fn list_job_tiers(&self) -> Result<Vec<JobTier>> {
        self.list_simple("/job_tiers", "job_tiers").await
    }

    /// Every group type.
    pub async fn list_group_types(&self) -> Result<Vec<GroupType>> {
        self.list_simple("/group_types", "group_types").await
    }

    /// The profile field schema (to find a custom field's key by its label).
    pub async fn list_profile_fields(&self) -> Result<Vec<ProfileField>> {
        self.list_simple("/profiles/fields", "fields").await
    }

    /// Every group, with the group types linked in the answers.
    pub async fn list_groups(&self) -> Result<GroupsListing> {
        let mut listing = GroupsListing::default();
        for page in 1.. {
            let request = Request::get("/groups").query("page", page).query("per_page", MAX_PER_PAGE);
            let value: Value = self.core.json(request, Some("groups")).await?;
            let groups: Vec<Group> = decode_list(&value, "groups", "/groups")?;
            if let Some(types) = value.get("linked").and_then(|l| l.get("group_types")) {
                let types: Vec<GroupType> = decode_list(&serde_json::json!({ "t": types }), "t", "/groups")?;
                for t in types {
                    if !listing.group_types.iter().any(|x| x.id == t.id) {
                        listing.group_types.push(t);
                    }
                }
            }
            let before = listing.groups.len();
            for g in groups {
                if !listing.groups.iter().any(|x| x.id == g.id) {
                    listing.groups.push(g);
                }
            }
            // Stops once `meta.total_count` groups are in, on an empty page, and on a server that
            // ignores `page` (nothing new came back).
            let total = value.get("meta").and_then(|m| m.get("total_count")).and_then(Value::as_u64);
            if listing.groups.len() == before || total.is_some_and(|t| listing.groups.len() as u64 >= t) {
                break;
            }
        }
        Ok(listing)
    }

    async fn list_simple<T: serde::de::DeserializeOwned>(&self, path: &str, key: &str) -> Result<Vec<T>> {
        let value: Value = self.core.json(Request::get(path), Some(key)).await?;
        decode_list(&value, key, path)
    }
}

fn decode_list<T: serde::de::DeserializeOwned>(value: &Value, key: &str, path: &str) -> Result<Vec<T>> {
    let items = value.get(key).cloned().unwrap_or(Value::Null);
    let items = if items.is_null() { Value::Array(Vec::new()) } else { items };
    serde_json::from_value(items).map_err(|e| Error::NotJson {
        target: crate::error::RequestTarget { vendor: Vendor::Namely, method: "GET".into(), path: path.into() },
        detail: format!("JSON of an unexpected shape in `{key}` ({e})"),
        hint: None,
    })
}

/// Reads the profiles matching a filter page by page (see [`NamelyClient::profile_pager`]).
pub struct ProfilePager<'a> {
    client: &'a NamelyClient,
    filter: &'a ProfileFilter,
    /// The last page read.
    page: u32,
    /// Profiles on the pages before the first one read.
    skipped: u64,
    /// Ids already handed out: a server that ignores `page` repeats itself, and this shows it.
    seen: std::collections::HashSet<String>,
    total: Option<u64>,
    done: bool,
}

impl ProfilePager<'_> {
    /// The page the last [`Self::next`] read (0 before the first).
    pub fn page(&self) -> u32 {
        self.page
    }

    /// The next page's profiles not seen before; `None` after the last one. Stops on an empty page,
    /// once `meta.total_count` profiles have come, and on a page with nothing new.
    pub async fn next(&mut self) -> Result<Option<Vec<Profile>>> {
        if self.done {
            return Ok(None);
        }
        self.page += 1;
        let batch = self.client.list_profiles_page(self.filter, self.page).await?;
        self.total = batch.total_count.or(self.total);
        let fresh: Vec<Profile> = batch.profiles.into_iter().filter(|p| self.seen.insert(p.id.clone())).collect();
        let complete = self.total.is_some_and(|total| self.skipped + self.seen.len() as u64 >= total);
        self.done = fresh.is_empty() || complete;
        Ok((!fresh.is_empty()).then_some(fresh))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_is_normalised() {
        for input in
            ["acme", "Acme", "acme.namely.com", "https://acme.namely.com/", "http://acme.namely.com/people", " acme "]
        {
            assert_eq!(normalize_company(input).unwrap(), "acme", "{input}");
        }
        assert_eq!(normalize_company("acme-sandbox.namely.com").unwrap(), "acme-sandbox");
        assert!(normalize_company("").is_err());
        assert!(normalize_company("acme corp").is_err());
    }

    #[test]
    fn error_envelopes() {
        assert_eq!(
            error_message(r#"{"message":"error creating profile","errors":["first_name is a required field"]}"#)
                .as_deref(),
            Some("error creating profile: first_name is a required field")
        );
        assert_eq!(
            error_message(r#"{"message":"Profile not found","errors":[]}"#).as_deref(),
            Some("Profile not found")
        );
        assert_eq!(error_message(r#"{"error": ""}"#), None);
        assert_eq!(
            error_message(r#"{"error": "Invalid access token provided."}"#).as_deref(),
            Some("Invalid access token provided.")
        );
        assert_eq!(error_message("<html>"), None);
    }

    #[test]
    fn throttle_is_406_and_429() {
        let q = NamelyQuirks { token: Secret::new("t"), company: "acme".into() };
        assert!(q.is_throttle(&Method::GET, "/profiles", 406, "", ""));
        assert!(q.is_throttle(&Method::GET, "/groups", 429, "", ""));
        assert!(!q.is_throttle(&Method::GET, "/profiles", 403, "", ""));
        assert!(q.rate_limited(&Method::GET, "/profiles"));
        assert!(q.rate_limited(&Method::GET, "/profiles/me"));
        assert!(!q.rate_limited(&Method::POST, "/profiles"));
        assert!(!q.rate_limited(&Method::GET, "/job_titles"));
    }

    #[test]
    fn profile_is_parsed_leniently() {
        let json = r#"{
          "id":"8e8b","email":"p.e@x.com","first_name":"Paul","last_name":"East","middle_name":"",
          "preferred_name":null,"user_status":"active","updated_at":1450445929,"created_at":"1445973902",
          "job_title":{"id":"003","title":"Engineer"},
          "reports_to":[{"id":"no_guid","first_name":"Nobody","last_name":"Nobody","email":"None"}],
          "links":{"groups":[{"id":"g1","name":"Engineering"}],"teams":null},
          "start_date":"10/27/2015","departure_date":"",
          "home":{"address1":"20 Main St","city":"Arlington","state_id":"MA","country_id":"US","zip":"02474"},
          "salary":{"currency_type":"USD","yearly_amount":"115000.08"},
          "litmos_activated":"Yes","asset_management":["Laptop"],"resume":null
        }"#;
        let p: Profile = serde_json::from_str(json).unwrap();
        assert_eq!(p.middle_name, None);
        assert_eq!(p.preferred_name, None);
        assert_eq!(p.created_at, Some(1445973902));
        assert!(p.reports_to.is_empty());
        assert_eq!(p.manager_id(), None);
        assert_eq!(p.start_date, NaiveDate::from_ymd_opt(2015, 10, 27));
        assert_eq!(p.departure_date, None);
        assert_eq!(p.salary.as_ref().and_then(|s| s.yearly_amount), Some(115000.08));
        assert_eq!(p.custom_str("litmos_activated").as_deref(), Some("Yes"));
        assert_eq!(p.custom("resume"), None);
        assert_eq!(p.group_ids(), vec!["g1"]);

        let with_manager: Profile = serde_json::from_str(
            r#"{"id":"1","reports_to":[{"id":"m1","first_name":"Ann"}],"start_date":"2015-10-27"}"#,
        )
        .unwrap();
        assert_eq!(with_manager.manager_id(), Some("m1"));
        assert_eq!(with_manager.start_date, NaiveDate::from_ymd_opt(2015, 10, 27));
    }

    #[test]
    fn new_profile_sends_only_set_fields_and_custom_keys() {
        let mut p = NewProfile {
            first_name: Some("Ann".into()),
            start_date: NaiveDate::from_ymd_opt(2024, 3, 1),
            ..Default::default()
        };
        p.custom.insert("lever_id".into(), Value::String("opp-1".into()));
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v, serde_json::json!({"first_name":"Ann","start_date":"2024-03-01","lever_id":"opp-1"}));
    }

    #[test]
    fn field_key_is_found_by_label() {
        let fields: Vec<ProfileField> = serde_json::from_str(
            r#"[{"name":"litmos_activated","label":"Litmos Activated","type":"select"},{"name":"favorite_film","label":"Favourite movie"}]"#,
        )
        .unwrap();
        assert_eq!(field_key_by_label(&fields, "litmos activated"), Some("litmos_activated"));
        assert_eq!(field_key_by_label(&fields, "Favourite movie"), Some("favorite_film"));
        assert_eq!(field_key_by_label(&fields, "nope"), None);
    }

    #[test]
    fn debug_hides_the_token() {
        let client = NamelyClient::new(NamelyConfig::new("acme", Secret::new("tok-very-secret"))).unwrap();
        let config = NamelyConfig::new("acme", Secret::new("tok-very-secret"));
        assert!(!format!("{client:?}").contains("tok-very-secret"));
        assert!(!format!("{config:?}").contains("tok-very-secret"));
        assert_eq!(client.base_url(), "https://acme.namely.com/api/v1");
    }
}
