//! Lever Data API v1: opportunities, offers, forms, files, notes, tags, archive reasons, stages, postings.
//!
//! Quirks: API key as HTTP Basic user with an empty password; lists are `{data, hasNext, next}` and
//! the opaque `next` goes back as `offset`; 10 requests/s with bursts of 20; throttle is 429;
//! errors are `{code, message}`.

use crate::error::{Result, Vendor};
use crate::http::{seg, Core, Quirks, RateLimit, Request, RetryPolicy};
use crate::lenient;
use crate::Verification;
use platform::Secret;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Production base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.lever.co/v1";

/// How to reach Lever.
#[derive(Debug, Clone)]
pub struct LeverConfig {
    /// Base URL (`…/v1`).
    pub base_url: String,
    /// API key (HTTP Basic user, empty password).
    pub api_key: Secret,
    /// Client-side limit; `None` disables it.
    pub rate_limit: Option<RateLimit>,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Page size for lists (1–100).
    pub page_size: u32,
}

impl LeverConfig {
    /// Production defaults: 10 requests/s, bursts of 20, 100 per page.
    pub fn new(api_key: Secret) -> Self {
        LeverConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            api_key,
            rate_limit: Some(RateLimit::per_second(10, 20)),
            retry: RetryPolicy::default(),
            page_size: 100,
        }
    }
}

struct LeverQuirks {
    api_key: Secret,
}

impl Quirks for LeverQuirks {
    fn vendor(&self) -> Vendor {
        Vendor::Lever
    }
    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.basic_auth(self.api_key.expose(), Some(""))
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

/// Lever's error envelope `{code, message}` → `"message (code)"`.
pub fn error_message(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let message = value.get("message").and_then(Value::as_str).map(str::trim).filter(|m| !m.is_empty());
    let code = value.get("code").and_then(Value::as_str).map(str::trim).filter(|c| !c.is_empty());
    match (message, code) {
        (Some(m), Some(c)) => Some(format!("{m} ({c})")),
        (Some(m), None) => Some(m.to_string()),
        (None, Some(c)) => Some(c.to_string()),
        (None, None) => None,
    }
}

/// One page of a Lever list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page<T> {
    /// Items on this page.
    pub data: Vec<T>,
    /// Whether another page follows.
    pub has_next: bool,
    /// Token to pass back as `offset` for the next page.
    pub next: Option<String>,
}

/// `{type, value}` phone.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Phone {
    /// e.g. `mobile`.
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    /// The number.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub value: Option<String>,
}

/// `archived` block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Archived {
    /// Archive reason id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub reason: Option<String>,
    /// Epoch ms.
    #[serde(default, rename = "archivedAt", deserialize_with = "lenient::opt_i64")]
    pub archived_at: Option<i64>,
}

/// A stage change.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageChange {
    /// Stage id (opaque; built-ins are strings like `lead-new`).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub to_stage_id: Option<String>,
    /// Stage index.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub to_stage_index: Option<i64>,
    /// Who moved it.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_id: Option<String>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub updated_at: Option<i64>,
}

/// An expanded contact.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// Contact id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    /// Full name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// Headline.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub headline: Option<String>,
    /// Emails.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub emails: Vec<String>,
    /// Phones.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub phones: Vec<Phone>,
    /// Location (`{name}` or text).
    #[serde(default)]
    pub location: Option<Value>,
}

/// `contact`: an id, or the expanded contact.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ContactField {
    /// Not expanded.
    Id(String),
    /// Expanded with `expand=contact`.
    Expanded(Contact),
}

impl ContactField {
    /// The contact id either way.
    pub fn id(&self) -> Option<&str> {
        match self {
            ContactField::Id(id) => Some(id),
            ContactField::Expanded(c) => c.id.as_deref(),
        }
    }
}

/// `requisitionForHire` on an application.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequisitionForHire {
    /// Requisition id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    /// Requisition code.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub requisition_code: Option<String>,
    /// Hiring manager user id.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub hiring_manager_on_hire: Option<String>,
}

/// An application (expanded on an opportunity).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// Application id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    /// Opportunity id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub opportunity_id: Option<String>,
    /// `posting`, `user` or `referral`.
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    /// Posting id.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub posting: Option<String>,
    /// Posting owner user id.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub posting_owner: Option<String>,
    /// Posting hiring manager user id.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub posting_hiring_manager: Option<String>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub created_at: Option<i64>,
    /// Requisition hired against.
    #[serde(default)]
    pub requisition_for_hire: Option<RequisitionForHire>,
    /// Archive state of the application.
    #[serde(default)]
    pub archived: Option<Archived>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn applications<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<Application>, D::Error> {
    // Without `expand=applications` Lever sends ids; keep them as id-only applications.
    let items = Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default();
    Ok(items
        .into_iter()
        .filter_map(|v| match v {
            Value::String(id) => Some(Application { id: Some(id), ..Default::default() }),
            other => serde_json::from_value(other).ok(),
        })
        .collect())
}

/// `urls` block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Urls {
    /// List page.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub list: Option<String>,
    /// Show page.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub show: Option<String>,
    /// Apply page (postings).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub apply: Option<String>,
}

/// An opportunity (one candidacy).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Opportunity {
    /// Opportunity id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// Full name as one string.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// Headline.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub headline: Option<String>,
    /// Contact (id, or expanded).
    #[serde(default)]
    pub contact: Option<ContactField>,
    /// Location text.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub location: Option<String>,
    /// Emails.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub emails: Vec<String>,
    /// Phones.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub phones: Vec<Phone>,
    /// Links.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub links: Vec<String>,
    /// Current stage id (opaque string).
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub stage: Option<String>,
    /// Stage history.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub stage_changes: Vec<StageChange>,
    /// Archive state.
    #[serde(default)]
    pub archived: Option<Archived>,
    /// Legacy top-level archive timestamp (older examples).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub archived_at: Option<i64>,
    /// Legacy top-level archive reason id (older examples).
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub archive_reason: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub tags: Vec<String>,
    /// Sources.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub sources: Vec<String>,
    /// Origin (`applied`, `sourced`, …).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub origin: Option<String>,
    /// Owner user id.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub owner: Option<String>,
    /// Follower user ids.
    #[serde(default, deserialize_with = "lenient::ids")]
    pub followers: Vec<String>,
    /// Applications (id-only unless expanded).
    #[serde(default, deserialize_with = "applications")]
    pub applications: Vec<Application>,
    /// `confidential` or `non-confidential`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub confidentiality: Option<String>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub created_at: Option<i64>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub updated_at: Option<i64>,
    /// URLs in the Lever UI.
    #[serde(default)]
    pub urls: Option<Urls>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Opportunity {
    /// The archive reason id, from `archived.reason` or the legacy `archiveReason`.
    pub fn archive_reason_id(&self) -> Option<&str> {
        self.archived.as_ref().and_then(|a| a.reason.as_deref()).or(self.archive_reason.as_deref())
    }

    /// The archive time (ms), from `archived.archivedAt` or the legacy `archivedAt`.
    pub fn archived_at_ms(&self) -> Option<i64> {
        self.archived.as_ref().and_then(|a| a.archived_at).or(self.archived_at)
    }

    /// The contact id (person identity).
    pub fn contact_id(&self) -> Option<&str> {
        self.contact.as_ref().and_then(ContactField::id)
    }
}

/// One offer field `{text, identifier, value}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OfferField {
    /// Label.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub text: Option<String>,
    /// Identifier, e.g. `anticipated_start_date`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub identifier: Option<String>,
    /// String or number.
    #[serde(default)]
    pub value: Value,
}

/// An offer document.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferDocument {
    /// File name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub file_name: Option<String>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub uploaded_at: Option<i64>,
    /// Download URL.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub download_url: Option<String>,
}

/// An offer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    /// Offer id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// `draft`, …, `signed`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub created_at: Option<i64>,
    /// Creator user id.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub creator: Option<String>,
    /// Fields.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub fields: Vec<OfferField>,
    /// Sent document.
    #[serde(default)]
    pub sent_document: Option<OfferDocument>,
    /// Signed document.
    #[serde(default)]
    pub signed_document: Option<OfferDocument>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub approved_at: Option<i64>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub sent_at: Option<i64>,
}

impl Offer {
    /// A field's value by identifier.
    pub fn field(&self, identifier: &str) -> Option<&Value> {
        self.fields.iter().find(|f| f.identifier.as_deref() == Some(identifier)).map(|f| &f.value)
    }
}

/// A profile-form field.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct FormField {
    /// Field id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    /// `date`, `currency`, `text`, …
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    /// Label.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub text: Option<String>,
    /// Description.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
    /// Required.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub required: Option<bool>,
    /// Value (ms for dates, number for currency, `"yes"`/`"no"`…).
    #[serde(default)]
    pub value: Value,
    /// ISO 4217 for currency fields.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub currency: Option<String>,
}

/// A profile form (e.g. a "New Hire Form").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileForm {
    /// Form id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// Form title.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub text: Option<String>,
    /// Template it came from.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub base_template_id: Option<String>,
    /// Fields.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub fields: Vec<FormField>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub created_at: Option<i64>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub completed_at: Option<i64>,
}

/// A file on an opportunity (`uploadedAt`/`size` may be strings).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeverFile {
    /// File id (absent inside a resume).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    /// File name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// Extension, e.g. `.pdf`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub ext: Option<String>,
    /// UI URL (do not download with the API key).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub download_url: Option<String>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub uploaded_at: Option<i64>,
    /// `processed`, `processing`, `unsupported`, `error`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    /// Bytes.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub size: Option<i64>,
}

/// A resume.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resume {
    /// Resume id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub created_at: Option<i64>,
    /// The file (missing for e.g. LinkedIn-sourced resumes).
    #[serde(default)]
    pub file: Option<LeverFile>,
    /// Parsed positions and schools.
    #[serde(default)]
    pub parsed_data: Option<Value>,
}

/// An archive reason.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ArchiveReason {
    /// Id (per account).
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// Label, e.g. `Hired`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub text: Option<String>,
    /// `active` or `inactive`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    /// `hired` or `non-hired`.
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
}

impl ArchiveReason {
    /// True for reasons of type `hired`.
    pub fn is_hired(&self) -> bool {
        self.kind.as_deref() == Some("hired")
    }
}

/// A pipeline stage (ids are opaque strings).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Stage {
    /// Id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// Label.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub text: Option<String>,
}

/// Posting categories.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Categories {
    /// Team.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub team: Option<String>,
    /// Department.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub department: Option<String>,
    /// Primary location.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub location: Option<String>,
    /// Every location.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub all_locations: Vec<String>,
    /// Commitment, e.g. `Full-time`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub commitment: Option<String>,
    /// Level (deprecated).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub level: Option<String>,
}

/// A list block of a posting's content.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PostingList {
    /// Heading.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub text: Option<String>,
    /// `<li>` HTML.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub content: Option<String>,
}

/// Posting content.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostingContent {
    /// Plain description.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
    /// HTML description.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub description_html: Option<String>,
    /// Lists.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub lists: Vec<PostingList>,
    /// Closing text.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub closing: Option<String>,
    /// Closing HTML.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub closing_html: Option<String>,
}

/// Salary range.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SalaryRange {
    /// Minimum.
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub min: Option<f64>,
    /// Maximum.
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub max: Option<f64>,
    /// Currency.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub currency: Option<String>,
    /// Interval.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub interval: Option<String>,
}

/// A job posting.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Posting {
    /// Posting id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// Title.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub text: Option<String>,
    /// `published`, `internal`, `closed`, `draft`, `pending`, `rejected`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub state: Option<String>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub created_at: Option<i64>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub updated_at: Option<i64>,
    /// `public`/`internal`; may be null.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub distribution_channels: Vec<String>,
    /// Confidentiality.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub confidentiality: Option<String>,
    /// Creator user id.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub user: Option<String>,
    /// Owner user id.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub owner: Option<String>,
    /// Hiring manager user id.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub hiring_manager: Option<String>,
    /// Team, department, locations…
    #[serde(default)]
    pub categories: Option<Categories>,
    /// Tags.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub tags: Vec<String>,
    /// Description and lists.
    #[serde(default)]
    pub content: Option<PostingContent>,
    /// Country.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub country: Option<String>,
    /// Requisition codes.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub requisition_codes: Vec<String>,
    /// Salary range.
    #[serde(default)]
    pub salary_range: Option<SalaryRange>,
    /// URLs (null on closed postings).
    #[serde(default)]
    pub urls: Option<Urls>,
    /// `onsite`, `remote`, `hybrid`, `unspecified`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub workplace_type: Option<String>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A deleted posting (`/postings/deleted`, shape undocumented).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedPosting {
    /// Posting id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// Epoch ms.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub deleted_at: Option<i64>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Filters for `GET /opportunities`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpportunityFilter {
    /// `contact_id`.
    pub contact_id: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `tag`.
    pub tag: Option<String>,
    /// `stage_id`.
    pub stage_id: Option<String>,
    /// `posting_id`.
    pub posting_id: Option<String>,
    /// `archived`.
    pub archived: Option<bool>,
    /// `archive_reason_id`.
    pub archive_reason_id: Option<String>,
    /// `updated_at_start` (ms).
    pub updated_at_start: Option<i64>,
    /// `updated_at_end` (ms).
    pub updated_at_end: Option<i64>,
    /// `archived_at_start` (ms).
    pub archived_at_start: Option<i64>,
    /// `archived_at_end` (ms).
    pub archived_at_end: Option<i64>,
    /// `expand` values (repeated).
    pub expand: Vec<String>,
    /// `confidentiality=all` to include confidential records.
    pub include_confidential: bool,
}

/// Filters for `GET /postings`. Note: `updated_at_*` combine only with confidentiality.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostingFilter {
    /// `state`.
    pub state: Option<String>,
    /// `distributionChannel` (repeated; pass both `public` and `internal` for all published).
    pub distribution_channels: Vec<String>,
    /// `include=content`.
    pub include_content: bool,
    /// `confidentiality=all`.
    pub include_confidential: bool,
    /// `team`.
    pub team: Option<String>,
    /// `department`.
    pub department: Option<String>,
    /// `tag` (repeated).
    pub tags: Vec<String>,
    /// `updated_at_start` (ms).
    pub updated_at_start: Option<i64>,
    /// `updated_at_end` (ms).
    pub updated_at_end: Option<i64>,
}

/// A note on an opportunity (`GET /opportunities/:id/notes`). Lever lists the text in `fields`
/// (`{type, text, value}`); a bare `value` or `text` is read too.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// Note id.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub id: Option<String>,
    /// The note's title, or its text.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub text: Option<String>,
    /// The text as it was written.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub value: Option<String>,
    /// `{type, text, value}` entries; a plain note has one whose value is its text.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub fields: Vec<Value>,
}

impl Note {
    /// Every piece of text the note holds, to search it.
    pub fn texts(&self) -> Vec<&str> {
        let values = self.fields.iter().filter_map(|f| f.get("value").and_then(Value::as_str));
        self.value.as_deref().into_iter().chain(self.text.as_deref()).chain(values).collect()
    }
}

/// A note to add to an opportunity.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewNote {
    /// Text (required).
    pub value: String,
    /// Only visible to users with secret-note access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<bool>,
    /// Notify followers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_followers: Option<bool>,
}

/// A Lever client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct LeverClient {
    core: Core,
    page_size: u32,
}

fn opp_path(id: &str, rest: &str) -> String {
    format!("/opportunities/{}{rest}", seg(id))
}

impl LeverClient {
    /// Build the client.
    pub fn new(config: LeverConfig) -> Result<Self> {
        if config.api_key.is_empty() {
            return Err(crate::Error::Config { vendor: Vendor::Lever, detail: "the API key is empty".into() });
        }
        let core =
            Core::new(LeverQuirks { api_key: config.api_key }, &config.base_url, config.rate_limit, config.retry)?;
        Ok(LeverClient { core, page_size: config.page_size.clamp(1, 100) })
    }

    /// One page of any list; a bare array (files example) counts as a single last page.
    async fn page<T: DeserializeOwned>(&self, request: Request, offset: Option<&str>) -> Result<Page<T>> {
        let request = request.query("limit", self.page_size).query_opt("offset", offset);
        let raw = self.core.send(request).await?;
        let value = self.core.decode_value(&raw, None)?;
        match value {
            Value::Array(items) => {
                Ok(Page { data: self.core.shape(&raw, Value::Array(items))?, has_next: false, next: None })
            }
            Value::Object(mut map) if map.contains_key("data") => {
                let data = match map.remove("data") {
                    Some(Value::Null) | None => Vec::new(),
                    // A single object where a list was expected (archive reasons `?type=hired`).
                    Some(obj @ Value::Object(_)) => vec![self.core.shape(&raw, obj)?],
                    Some(list) => self.core.shape(&raw, list)?,
                };
                let has_next = map.get("hasNext").and_then(Value::as_bool).unwrap_or(false);
                let next = map.get("next").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
                Ok(Page { data, has_next: has_next && next.is_some(), next })
            }
            _ => Err(self.core.decode_value(&raw, Some("data")).err().unwrap_or_else(|| crate::Error::NotJson {
                target: raw.target.clone(),
                detail: "JSON without the expected `data` field".into(),
                hint: None,
            })),
        }
    }

    /// Follow `next` → `offset` until `hasNext` is false.
    async fn all<T: DeserializeOwned>(&self, request: Request) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut offset: Option<String> = None;
        loop {
            let page: Page<T> = self.page(request.clone(), offset.as_deref()).await?;
            out.extend(page.data);
            match (page.has_next, page.next) {
                (true, Some(next)) if Some(&next) != offset.as_ref() => offset = Some(next),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn one<T: DeserializeOwned>(&self, request: Request) -> Result<T> {
        #[derive(Deserialize)]
        struct Data<T> {
            data: T,
        }
        let data: Data<T> = self.core.json(request, Some("data")).await?;
        Ok(data.data)
    }

    /// The base URL this client calls.
    pub fn base_url(&self) -> &str {
        self.core.base_url()
    }

    /// Check the key with the cheapest read (`GET /archive_reasons`).
    pub async fn verify(&self) -> Verification {
        match self.list_archive_reasons().await {
            Ok(reasons) => {
                let hired = reasons.iter().filter(|r| r.is_hired()).count();
                Verification::ok(
                    Vendor::Lever,
                    format!(
                        "Lever API key accepted: {} archive reasons readable ({hired} of type hired)",
                        reasons.len()
                    ),
                )
            }
            Err(e) => Verification::failed(Vendor::Lever, &e),
        }
    }

    /// Check the key can read postings (`GET /postings?limit=1`).
    pub async fn verify_postings_access(&self) -> Verification {
        let request = Request::get("/postings").query("limit", 1);
        match self.core.json::<Value>(request, Some("data")).await {
            Ok(_) => Verification::ok(Vendor::Lever, "Lever API key can read postings"),
            Err(e) => Verification::failed(Vendor::Lever, &e),
        }
    }

    /// `GET /opportunities/{id}?expand=applications&expand=contact`.
    pub async fn get_opportunity(&self, id: &str) -> Result<Opportunity> {
        self.one(Request::get(opp_path(id, "")).query("expand", "applications").query("expand", "contact")).await
    }

    /// Every opportunity matching the filter.
    pub async fn list_opportunities(&self, filter: &OpportunityFilter) -> Result<Vec<Opportunity>> {
        self.all(Self::opportunities_request(filter)).await
    }

    /// One page of the opportunities matching the filter, from `offset` (a previous page's `next`):
    /// for callers that bound how many requests they make.
    pub async fn list_opportunities_page(
        &self,
        filter: &OpportunityFilter,
        offset: Option<&str>,
    ) -> Result<Page<Opportunity>> {
        self.page(Self::opportunities_request(filter), offset).await
    }

    fn opportunities_request(filter: &OpportunityFilter) -> Request {
        let f = filter;
        let mut r = Request::get("/opportunities")
            .query_opt("contact_id", f.contact_id.as_deref())
            .query_opt("email", f.email.as_deref())
            .query_opt("tag", f.tag.as_deref())
            .query_opt("stage_id", f.stage_id.as_deref())
            .query_opt("posting_id", f.posting_id.as_deref())
            .query_opt("archived", f.archived)
            .query_opt("archive_reason_id", f.archive_reason_id.as_deref())
            .query_opt("updated_at_start", f.updated_at_start)
            .query_opt("updated_at_end", f.updated_at_end)
            .query_opt("archived_at_start", f.archived_at_start)
            .query_opt("archived_at_end", f.archived_at_end);
        for e in &f.expand {
            r = r.query("expand", e);
        }
        if f.include_confidential {
            r = r.query("confidentiality", "all");
        }
        r
    }

    /// Offers of an opportunity.
    pub async fn list_offers(&self, opportunity_id: &str) -> Result<Vec<Offer>> {
        self.all(Request::get(opp_path(opportunity_id, "/offers"))).await
    }

    /// Profile forms of an opportunity.
    pub async fn list_forms(&self, opportunity_id: &str) -> Result<Vec<ProfileForm>> {
        self.all(Request::get(opp_path(opportunity_id, "/forms"))).await
    }

    /// Files of an opportunity.
    pub async fn list_files(&self, opportunity_id: &str) -> Result<Vec<LeverFile>> {
        self.all(Request::get(opp_path(opportunity_id, "/files"))).await
    }

    /// Resumes of an opportunity.
    pub async fn list_resumes(&self, opportunity_id: &str) -> Result<Vec<Resume>> {
        self.all(Request::get(opp_path(opportunity_id, "/resumes"))).await
    }

    /// Download a file's bytes (422 = Lever could not process it → [`crate::Error::Rejected`]).
    pub async fn download_file(&self, opportunity_id: &str, file_id: &str) -> Result<Vec<u8>> {
        self.core.bytes(Request::get(opp_path(opportunity_id, &format!("/files/{}/download", seg(file_id))))).await
    }

    /// Download a resume's bytes.
    pub async fn download_resume(&self, opportunity_id: &str, resume_id: &str) -> Result<Vec<u8>> {
        self.core.bytes(Request::get(opp_path(opportunity_id, &format!("/resumes/{}/download", seg(resume_id))))).await
    }

    /// Every note on an opportunity (to look for one whose creation had no clear answer).
    pub async fn list_notes(&self, opportunity_id: &str) -> Result<Vec<Note>> {
        self.all(Request::get(opp_path(opportunity_id, "/notes"))).await
    }

    /// Add a note; returns the new note id. Not retried after a 5xx/timeout (would duplicate).
    pub async fn add_note(&self, opportunity_id: &str, note: &NewNote, perform_as: Option<&str>) -> Result<String> {
        #[derive(Deserialize)]
        struct Created {
            #[serde(default, rename = "noteId", alias = "id", deserialize_with = "lenient::opt_string")]
            note_id: Option<String>,
        }
        let request = Request::create(opp_path(opportunity_id, "/notes"))
            .query_opt("perform_as", perform_as)
            .json_value(serde_json::to_value(note).unwrap_or(Value::Null));
        let created: Created = self.one(request).await?;
        Ok(created.note_id.unwrap_or_default())
    }

    /// Add tags (idempotent, so retried like a read).
    pub async fn add_tags(&self, opportunity_id: &str, tags: &[String], perform_as: Option<&str>) -> Result<()> {
        let request = Request::idempotent_post(opp_path(opportunity_id, "/addTags"))
            .query_opt("perform_as", perform_as)
            .json_value(serde_json::json!({ "tags": tags }));
        self.core.no_content(request).await
    }

    /// Remove tags (idempotent).
    pub async fn remove_tags(&self, opportunity_id: &str, tags: &[String], perform_as: Option<&str>) -> Result<()> {
        let request = Request::idempotent_post(opp_path(opportunity_id, "/removeTags"))
            .query_opt("perform_as", perform_as)
            .json_value(serde_json::json!({ "tags": tags }));
        self.core.no_content(request).await
    }

    /// Every archive reason (`data` may be an object or an array).
    pub async fn list_archive_reasons(&self) -> Result<Vec<ArchiveReason>> {
        self.all(Request::get("/archive_reasons")).await
    }

    /// Every stage.
    pub async fn list_stages(&self) -> Result<Vec<Stage>> {
        self.all(Request::get("/stages")).await
    }

    fn postings_request(filter: &PostingFilter) -> Request {
        let f = filter;
        let mut r = Request::get("/postings")
            .query_opt("state", f.state.as_deref())
            .query_opt("team", f.team.as_deref())
            .query_opt("department", f.department.as_deref())
            .query_opt("updated_at_start", f.updated_at_start)
            .query_opt("updated_at_end", f.updated_at_end);
        for c in &f.distribution_channels {
            r = r.query("distributionChannel", c);
        }
        for t in &f.tags {
            r = r.query("tag", t);
        }
        if f.include_content {
            r = r.query("include", "content");
        }
        if f.include_confidential {
            r = r.query("confidentiality", "all");
        }
        r
    }

    /// One page of postings; pass the previous page's `next` as `offset`.
    pub async fn list_postings_page(&self, filter: &PostingFilter, offset: Option<&str>) -> Result<Page<Posting>> {
        self.page(Self::postings_request(filter), offset).await
    }

    /// Every posting matching the filter.
    pub async fn list_postings(&self, filter: &PostingFilter) -> Result<Vec<Posting>> {
        self.all(Self::postings_request(filter)).await
    }

    /// One posting.
    pub async fn get_posting(&self, id: &str) -> Result<Posting> {
        self.one(Request::get(format!("/postings/{}", seg(id)))).await
    }

    /// Postings deleted since `deleted_at_start` (ms).
    pub async fn list_deleted_postings(&self, deleted_at_start: Option<i64>) -> Result<Vec<DeletedPosting>> {
        self.all(Request::get("/postings/deleted").query_opt("deleted_at_start", deleted_at_start)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_envelope() {
        assert_eq!(
            error_message(r#"{"code":"ResourceNotFound","message":"stages a80b was not found"}"#).as_deref(),
            Some("stages a80b was not found (ResourceNotFound)")
        );
        assert_eq!(error_message("nope"), None);
    }

    #[test]
    fn throttle_is_429_only() {
        let q = LeverQuirks { api_key: Secret::new("k") };
        assert!(q.is_throttle(&Method::GET, "/postings", 429, "", ""));
        assert!(!q.is_throttle(&Method::GET, "/postings", 503, "", ""));
    }

    #[test]
    fn opportunity_shapes() {
        let o: Opportunity = serde_json::from_str(
            r#"{"id":"o1","name":"","contact":"c1","stage":"lead-new","emails":[],"phones":[],
            "archived":{"reason":"r1","archivedAt":1732449793171},"tags":["a"],
            "stageChanges":[{"toStageId":"lead-new","toStageIndex":0,"updatedAt":1,"userId":"u"}],
            "applications":["a1"],"urls":null,"snoozedUntil":null}"#,
        )
        .unwrap();
        assert_eq!(o.name, None);
        assert_eq!(o.archive_reason_id(), Some("r1"));
        assert_eq!(o.contact_id(), Some("c1"));
        assert_eq!(o.applications[0].id.as_deref(), Some("a1"));
        let legacy: Opportunity = serde_json::from_str(
            r#"{"id":"o2","archivedAt":5,"archiveReason":"r2","contact":{"id":"c2","name":"Ann Lee","emails":["a@x"]},
            "applications":[{"id":"a2","posting":"p1","type":"posting"}]}"#,
        )
        .unwrap();
        assert_eq!(legacy.archive_reason_id(), Some("r2"));
        assert_eq!(legacy.archived_at_ms(), Some(5));
        assert_eq!(legacy.contact_id(), Some("c2"));
        assert_eq!(legacy.applications[0].posting.as_deref(), Some("p1"));
    }

    #[test]
    fn file_sizes_as_strings_and_postings_with_nulls() {
        let f: LeverFile =
            serde_json::from_str(r#"{"id":"f","uploadedAt":"1582910091572","size":"1024","ext":".pdf"}"#).unwrap();
        assert_eq!((f.uploaded_at, f.size), (Some(1582910091572), Some(1024)));
        let p: Posting = serde_json::from_str(
            r#"{"id":"p","text":"Eng","distributionChannels":null,"urls":null,"reqCode":"",
            "categories":{"level":null,"allLocations":["SF"]}}"#,
        )
        .unwrap();
        assert!(p.urls.is_none() && p.distribution_channels.is_empty());
        assert_eq!(p.categories.unwrap().all_locations, vec!["SF"]);
    }

    #[test]
    fn a_listed_note_gives_its_text_from_fields_or_value() {
        let listed: Note = serde_json::from_str(
            r#"{"id":"n1","text":"Note","fields":[{"type":"note","text":"Note","value":"Namely: done"}],
            "user":"u","secret":false,"createdAt":1,"deletedAt":null}"#,
        )
        .unwrap();
        assert!(listed.texts().contains(&"Namely: done"));
        let bare: Note = serde_json::from_str(r#"{"id":"n2","value":"Namely: done","fields":null}"#).unwrap();
        assert_eq!(bare.texts(), vec!["Namely: done"]);
    }
}
