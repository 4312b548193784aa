//! Lever hire → Namely profile: which Lever value fills which Namely field, and why a hire can't be sent.
//!
//! The input is plain values read from Lever (the opportunity, its offers and the "Namely New Hire Form");
//! the output is the fields of one Namely profile plus notes for the admin. The time zone for dates comes
//! in with the rules, so nothing here reads a clock.

use crate::names::split_full_name;
use chrono::{DateTime, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;
use serde_json::{Number, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// HRIS (an active employee) or Onboarding (a pending profile = Namely draft onboarding session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    Hris,
    Onboarding,
}

impl RecordType {
    /// Namely's `user_status`: `pending` is what makes Namely open a draft onboarding session.
    pub fn user_status(self) -> &'static str {
        match self {
            RecordType::Hris => "active",
            RecordType::Onboarding => "pending",
        }
    }
}

impl FromStr for RecordType {
    type Err = String;

    /// `hris` or `onboarding`, in any case.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hris" => Ok(RecordType::Hris),
            "onboarding" => Ok(RecordType::Onboarding),
            _ => Err(format!(
                "'{}' is not a record type; valid values are 'hris' (an active employee) and 'onboarding' \
                 (a pending profile with a draft onboarding session)",
                s.trim()
            )),
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordType::Hris => "HRIS",
            RecordType::Onboarding => "Onboarding",
        })
    }
}

/// A field of a Lever offer (`{text, identifier, value}`) or of a profile form (`{text, type, value, currency}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceField {
    /// Offer: the identifier (e.g. `anticipated_start_date`); form: the field label (e.g. `Start date`).
    pub key: String,
    /// Form field type (`date`, `currency`, `yes-no`, `text`, `dropdown`, ...); None for offers.
    pub kind: Option<String>,
    /// String, number (dates are epoch ms), null, or for multiple-select an array.
    pub value: Value,
    /// ISO 4217 for currency form fields.
    pub currency: Option<String>,
}

/// One Lever offer: its status (`signed`, `sent`, ...), when it was created, and its fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OfferInput {
    pub status: Option<String>,
    pub created_at_ms: Option<i64>,
    pub fields: Vec<SourceField>,
}

/// One of the candidate's phones in Lever (`{type?, value}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhoneInput {
    pub kind: Option<String>,
    pub value: Option<String>,
}

/// Everything read from Lever about one hire, as plain values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HireInput {
    /// Lever's single full-name string.
    pub name: Option<String>,
    pub emails: Vec<String>,
    pub phones: Vec<PhoneInput>,
    /// When the candidate was archived as hired (or reached the trigger stage).
    pub archived_at_ms: Option<i64>,
    pub posting_title: Option<String>,
    pub offers: Vec<OfferInput>,
    /// Fields of the "Namely New Hire Form" profile form; empty when there is none.
    pub new_hire_form: Vec<SourceField>,
}

/// A job title that exists in Namely (profiles can only point at existing titles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobTitleOption {
    pub id: String,
    pub title: String,
}

/// Where a value comes from in a field mapping: `offer:<identifier>` or `form:<label>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Offer(String),
    Form(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Offer(id) => write!(f, "offer:{id}"),
            Source::Form(label) => write!(f, "form:{label}"),
        }
    }
}

impl FromStr for Source {
    type Err = String;

    /// `offer:<identifier>` or `form:<label>`.
    fn from_str(key: &str) -> Result<Self, String> {
        let key = key.trim();
        let (source, rest): (fn(String) -> Source, &str) = if let Some(rest) = key.strip_prefix("offer:") {
            (Source::Offer, rest)
        } else if let Some(rest) = key.strip_prefix("form:") {
            (Source::Form, rest)
        } else {
            return Err(format!("field map key '{key}' must be {VALID_SOURCES}"));
        };
        match rest.trim() {
            "" => Err(format!("field map key '{key}' names no field; it must be {VALID_SOURCES}")),
            name => Ok(source(name.to_string())),
        }
    }
}

const VALID_SOURCES: &str = "'offer:<offer field identifier>' (e.g. 'offer:custom_equity') or \
                             'form:<New Hire Form field label>' (e.g. 'form:Start date')";

/// The Namely profile field a mapped value goes to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    FirstName,
    MiddleName,
    LastName,
    PreferredName,
    Email,
    PersonalEmail,
    HomePhone,
    MobilePhone,
    OfficePhone,
    StartDate,
    EmployeeType,
    SalaryYearlyAmount,
    SalaryCurrency,
    JobTitle,
    /// A Namely profile field by its key, e.g. a custom field `equity`.
    Custom(String),
}

/// Every target except `Custom`, in the order fields are listed to people.
fn builtin_targets() -> [Target; 14] {
    use Target::*;
    [
        FirstName,
        MiddleName,
        LastName,
        PreferredName,
        Email,
        PersonalEmail,
        HomePhone,
        MobilePhone,
        OfficePhone,
        StartDate,
        EmployeeType,
        SalaryYearlyAmount,
        SalaryCurrency,
        JobTitle,
    ]
}

impl Target {
    /// The text form used in the field map: `first_name`, `salary.yearly_amount`, ...; `Custom(k)` is `k`.
    pub fn name(&self) -> String {
        match self {
            Target::FirstName => "first_name",
            Target::MiddleName => "middle_name",
            Target::LastName => "last_name",
            Target::PreferredName => "preferred_name",
            Target::Email => "email",
            Target::PersonalEmail => "personal_email",
            Target::HomePhone => "home_phone",
            Target::MobilePhone => "mobile_phone",
            Target::OfficePhone => "office_phone",
            Target::StartDate => "start_date",
            Target::EmployeeType => "employee_type",
            Target::SalaryYearlyAmount => "salary.yearly_amount",
            Target::SalaryCurrency => "salary.currency_type",
            Target::JobTitle => "job_title",
            Target::Custom(key) => return key.clone(),
        }
        .to_string()
    }
}

impl FromStr for Target {
    type Err = String;

    /// A built-in target name (any case) or `custom:<Namely field key>`.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some(key) = text.strip_prefix("custom:") {
            let key = key.trim();
            if key.is_empty() {
                return Err(format!("'{text}' names no Namely field; write 'custom:<Namely field key>'"));
            }
            // A custom key equal to a field this module sets would silently overwrite it in the profile.
            if builtin_targets().iter().any(|t| t.name() == key) || ["salary", "user_status"].contains(&key) {
                return Err(format!("'{text}' is a field the hire transfer already sets; map to '{key}' instead"));
            }
            return Ok(Target::Custom(key.to_string()));
        }
        builtin_targets().into_iter().find(|t| t.name().eq_ignore_ascii_case(text)).ok_or_else(|| {
            let names: Vec<String> = builtin_targets().iter().map(Target::name).collect();
            format!(
                "'{text}' is not a Namely field; valid targets are {}, or custom:<Namely field key>",
                names.join(", ")
            )
        })
    }
}

/// The configurable mapping from Lever offer / New Hire Form fields to Namely fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldMap {
    pub entries: Vec<(Source, Target)>,
}

impl FieldMap {
    /// Parses JSON text `{"form:Start date": "start_date", "offer:custom_equity": "custom:equity"}`.
    /// Errors (String) name the bad key or value and list the valid forms. Empty/whitespace text = empty map.
    /// Entries keep the order they are written in, so a later entry wins over an earlier one for the same target.
    pub fn parse(json: &str) -> Result<FieldMap, String> {
        if json.trim().is_empty() {
            return Ok(FieldMap::default());
        }
        let OrderedObject(pairs) = serde_json::from_str(json).map_err(|e| {
            format!(
                "the field map must be a JSON object such as \
                 {{\"form:Start date\": \"start_date\", \"offer:custom_equity\": \"custom:equity\"}}: {e}"
            )
        })?;
        let mut entries = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            let source: Source = key.parse()?;
            let Value::String(target) = value else {
                return Err(format!(
                    "the field map value for '{key}' must be a string naming a Namely field, \
                     e.g. \"start_date\" or \"custom:<Namely field key>\""
                ));
            };
            let target: Target = target.parse().map_err(|e| format!("field map key '{key}': {e}"))?;
            entries.push((source, target));
        }
        Ok(FieldMap { entries })
    }

    /// The built-in map: form "First name"/"Legal first name" -> first_name, "Middle name" -> middle_name,
    /// "Last name"/"Legal last name" -> last_name, "Preferred name" -> preferred_name, "Personal email" -> personal_email,
    /// "Work email" -> email, "Mobile phone" -> mobile_phone, "Home phone" -> home_phone, "Employee type" -> employee_type,
    /// offer "employee_type" -> employee_type.
    pub fn builtin() -> FieldMap {
        let form = |label: &str, target| (Source::Form(label.to_string()), target);
        FieldMap {
            entries: vec![
                form("First name", Target::FirstName),
                form("Legal first name", Target::FirstName),
                form("Middle name", Target::MiddleName),
                form("Last name", Target::LastName),
                form("Legal last name", Target::LastName),
                form("Preferred name", Target::PreferredName),
                form("Personal email", Target::PersonalEmail),
                form("Work email", Target::Email),
                form("Mobile phone", Target::MobilePhone),
                form("Home phone", Target::HomePhone),
                form("Employee type", Target::EmployeeType),
                (Source::Offer("employee_type".to_string()), Target::EmployeeType),
            ],
        }
    }

    /// builtin() followed by `extra` entries (later entries win for the same target).
    pub fn with(extra: FieldMap) -> FieldMap {
        let mut map = FieldMap::builtin();
        map.entries.extend(extra.entries);
        map
    }
}

/// A JSON object read as its entries in written order (serde_json's `Map` would sort them).
struct OrderedObject(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<OrderedObject, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(OrderedObject(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// What the admin chose for this transfer.
#[derive(Debug, Clone, PartialEq)]
pub struct HireRules {
    pub record_type: RecordType,
    /// Lever's epoch-ms dates become calendar dates in this zone.
    pub time_zone: Tz,
    pub field_map: FieldMap,
}

/// Where the start date came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartDateSource {
    SignedOffer,
    LatestOffer,
    Mapped,
    ArchivedAsHired,
}

impl fmt::Display for StartDateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StartDateSource::SignedOffer => "signed offer",
            StartDateSource::LatestOffer => "latest offer",
            StartDateSource::Mapped => "mapped field",
            StartDateSource::ArchivedAsHired => "hire date",
        })
    }
}

/// A yearly salary; Namely takes annual amounts only.
#[derive(Debug, Clone, PartialEq)]
pub struct Salary {
    pub yearly_amount: f64,
    pub currency: String,
}

/// What will be sent to Namely for one hire.
#[derive(Debug, Clone, PartialEq)]
pub struct NamelyHire {
    pub first_name: String,
    pub middle_name: Option<String>,
    pub last_name: String,
    pub preferred_name: Option<String>,
    pub email: String,
    pub personal_email: Option<String>,
    pub home_phone: Option<String>,
    pub mobile_phone: Option<String>,
    pub office_phone: Option<String>,
    pub user_status: &'static str,
    pub start_date: NaiveDate,
    pub start_date_source: StartDateSource,
    pub job_title: Option<JobTitleOption>,
    pub employee_type: Option<String>,
    pub salary: Option<Salary>,
    /// Extra Namely profile fields by key (`custom:<key>` targets).
    pub custom: BTreeMap<String, Value>,
    /// Things deliberately not sent, each a sentence for the admin (e.g. the posting title matched no Namely job title).
    pub notes: Vec<String>,
}

impl NamelyHire {
    /// (field name, value shown to people) for every field sent, in a stable order, for the run log and the Lever note.
    /// Salary amount is shown as "(set)" – compensation is not echoed into notes/logs.
    pub fn fields_sent(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut push = |name: &str, value: Option<&str>| {
            if let Some(value) = value {
                out.push((name.to_string(), value.to_string()));
            }
        };
        push("first_name", Some(&self.first_name));
        push("middle_name", self.middle_name.as_deref());
        push("last_name", Some(&self.last_name));
        push("preferred_name", self.preferred_name.as_deref());
        push("email", Some(&self.email));
        push("personal_email", self.personal_email.as_deref());
        push("home_phone", self.home_phone.as_deref());
        push("mobile_phone", self.mobile_phone.as_deref());
        push("office_phone", self.office_phone.as_deref());
        push("user_status", Some(self.user_status));
        push("start_date", Some(&format!("{} ({})", self.start_date.format("%Y-%m-%d"), self.start_date_source)));
        push("job_title", self.job_title.as_ref().map(|t| t.title.as_str()));
        push("employee_type", self.employee_type.as_deref());
        if let Some(salary) = &self.salary {
            push("salary.yearly_amount", Some("(set)"));
            push("salary.currency_type", Some(&salary.currency));
        }
        for (key, value) in &self.custom {
            push(key, Some(&show_json(value)));
        }
        out
    }
}

/// Why a hire cannot be sent; Display is a sentence an admin can act on (which field, where to fix it in Lever).
#[derive(Debug, Clone, PartialEq)]
pub enum HireProblem {
    MissingFirstName,
    /// `name` is Lever's full name when there is one (then it has a single word).
    MissingLastName {
        name: Option<String>,
    },
    MissingEmail,
    MissingPersonalEmail,
    MissingStartDate,
    /// `source` is `offer:<identifier>` or `form:<label>`; `target` the Namely field name.
    InvalidValue {
        source: String,
        target: String,
        reason: String,
    },
}

impl fmt::Display for HireProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HireProblem::MissingFirstName => f.write_str(
                "the candidate has no name in Lever, so there is no first name: add the candidate's full name to \
                 the candidate profile in Lever or fill in 'First name' in the Namely New Hire Form \
                 (Namely requires a first name)",
            ),
            HireProblem::MissingLastName { name: Some(name) } => write!(
                f,
                "the candidate's name '{name}' has one word, so there is no last name: add the last name to the \
                 candidate's name in Lever or fill in 'Last name' in the Namely New Hire Form \
                 (Namely requires a last name)"
            ),
            HireProblem::MissingLastName { name: None } => f.write_str(
                "the candidate has no name in Lever, so there is no last name: add the candidate's full name to \
                 the candidate profile in Lever or fill in 'Last name' in the Namely New Hire Form \
                 (Namely requires a last name)",
            ),
            HireProblem::MissingEmail => f.write_str(
                "the candidate has no email address in Lever; add one to the candidate profile: \
                 Namely requires an email to create a profile",
            ),
            HireProblem::MissingPersonalEmail => f.write_str(
                "the candidate has no personal email address for the Namely onboarding invitation; add an email to \
                 the candidate profile in Lever or fill in 'Personal email' in the Namely New Hire Form: \
                 Namely requires a personal email for onboarding (pending) profiles",
            ),
            HireProblem::MissingStartDate => f.write_str(
                "the hire has no offer start date and no hire date; set the anticipated start date on the offer \
                 in Lever: Namely requires a start date",
            ),
            HireProblem::InvalidValue { source, target, reason } => write!(
                f,
                "{} cannot be sent as Namely's {target}: {reason}; correct it in Lever or change the field map",
                describe_source(source)
            ),
        }
    }
}

/// `offer:x` / `form:x` in words an admin recognises.
fn describe_source(source: &str) -> String {
    if let Some(id) = source.strip_prefix("offer:") {
        format!("the offer field '{id}'")
    } else if let Some(label) = source.strip_prefix("form:") {
        format!("the New Hire Form field '{label}'")
    } else {
        format!("'{source}'")
    }
}

/// Maps a hire; every problem is reported at once (not just the first).
pub fn map_hire(
    input: &HireInput,
    rules: &HireRules,
    job_titles: &[JobTitleOption],
) -> Result<NamelyHire, Vec<HireProblem>> {
    let tz = rules.time_zone;
    let chosen = choose_offer(&input.offers);
    let mapped = Mapped::collect(&rules.field_map, input, chosen.map(|c| c.offer), tz);
    let mut problems = Vec::new();
    let mut notes = Vec::new();

    let full_name = input.name.as_deref().and_then(non_empty);
    let split = full_name.as_deref().map(split_full_name);
    let first_name =
        mapped.text(&Target::FirstName, &mut problems).or_fallback(|| split.as_ref().and_then(|n| non_empty(&n.first)));
    let first_name = required(first_name, &mut problems, HireProblem::MissingFirstName);
    let last_name =
        mapped.text(&Target::LastName, &mut problems).or_fallback(|| split.as_ref().and_then(|n| non_empty(&n.last)));
    let last_name = required(last_name, &mut problems, HireProblem::MissingLastName { name: full_name.clone() });
    let middle_name = mapped.text(&Target::MiddleName, &mut problems).value();
    let preferred_name = mapped.text(&Target::PreferredName, &mut problems).value();

    let candidate_email = input.emails.iter().map(|e| e.trim()).find(|e| e.contains('@')).map(str::to_string);
    let email = mapped.text(&Target::Email, &mut problems).or_fallback(|| candidate_email.clone());
    let email = required(email, &mut problems, HireProblem::MissingEmail);
    let personal_email = mapped.text(&Target::PersonalEmail, &mut problems);
    let personal_email = match rules.record_type {
        // The invitation goes to the address the candidate applied with.
        RecordType::Onboarding => required(
            personal_email.or_fallback(|| candidate_email.clone()),
            &mut problems,
            HireProblem::MissingPersonalEmail,
        ),
        RecordType::Hris => personal_email.value(),
    };

    let first_phone = input.phones.iter().find_map(|p| p.value.as_deref().and_then(non_empty));
    let home_phone = mapped.text(&Target::HomePhone, &mut problems).or_fallback(|| first_phone).value();
    let mobile_phone = mapped.text(&Target::MobilePhone, &mut problems).value();
    let office_phone = mapped.text(&Target::OfficePhone, &mut problems).value();

    let start = match mapped.date(&Target::StartDate, &mut problems) {
        Found::Value(date) => Found::Value((date, StartDateSource::Mapped)),
        Found::Invalid => Found::Invalid,
        Found::Absent => offer_start_date(chosen, tz, &mut problems).or_fallback(|| {
            input.archived_at_ms.and_then(|ms| date_from_ms(ms, tz)).map(|d| (d, StartDateSource::ArchivedAsHired))
        }),
    };
    let start = required(start, &mut problems, HireProblem::MissingStartDate);

    let job_title = job_title(&mapped, input.posting_title.as_deref(), job_titles, &mut problems, &mut notes);
    let employee_type = mapped.text(&Target::EmployeeType, &mut problems).value();
    let salary = salary(&mapped, chosen, tz, &mut problems, &mut notes);
    let custom = mapped.custom(&mut problems);

    let (Some(first_name), Some(last_name), Some(email), Some((start_date, start_date_source))) =
        (first_name, last_name, email, start)
    else {
        // Each missing required value pushed its problem above.
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(NamelyHire {
        first_name,
        middle_name,
        last_name,
        preferred_name,
        email,
        personal_email,
        home_phone,
        mobile_phone,
        office_phone,
        user_status: rules.record_type.user_status(),
        start_date,
        start_date_source,
        job_title,
        employee_type,
        salary,
        custom,
        notes,
    })
}

/// The offer the hire's terms come from.
#[derive(Clone, Copy)]
struct ChosenOffer<'a> {
    offer: &'a OfferInput,
    signed: bool,
}

/// The signed offer (the latest if several), else the latest offer; an offer without `createdAt` counts as oldest.
fn choose_offer(offers: &[OfferInput]) -> Option<ChosenOffer<'_>> {
    let is_signed = |o: &&OfferInput| o.status.as_deref().is_some_and(|s| s.trim().eq_ignore_ascii_case("signed"));
    if let Some(offer) = offers.iter().filter(is_signed).max_by_key(|o| o.created_at_ms) {
        return Some(ChosenOffer { offer, signed: true });
    }
    offers.iter().max_by_key(|o| o.created_at_ms).map(|offer| ChosenOffer { offer, signed: false })
}

fn offer_field<'a>(offer: &'a OfferInput, identifier: &str) -> Option<&'a SourceField> {
    offer.fields.iter().find(|f| f.key == identifier)
}

fn offer_start_date(
    chosen: Option<ChosenOffer<'_>>,
    tz: Tz,
    problems: &mut Vec<HireProblem>,
) -> Found<(NaiveDate, StartDateSource)> {
    const ID: &str = "anticipated_start_date";
    let Some(chosen) = chosen else { return Found::Absent };
    let Some(raw) = offer_field(chosen.offer, ID).and_then(|f| read(f, true, tz)) else { return Found::Absent };
    match raw.and_then(|raw| to_date(raw, tz)) {
        Ok(date) => {
            let source = if chosen.signed { StartDateSource::SignedOffer } else { StartDateSource::LatestOffer };
            Found::Value((date, source))
        }
        Err(reason) => {
            problems.push(invalid(&format!("offer:{ID}"), &Target::StartDate, reason));
            Found::Invalid
        }
    }
}

/// A mapped title that exists in Namely wins; else the posting title; Namely titles are never created here.
fn job_title(
    mapped: &Mapped,
    posting_title: Option<&str>,
    job_titles: &[JobTitleOption],
    problems: &mut Vec<HireProblem>,
    notes: &mut Vec<String>,
) -> Option<JobTitleOption> {
    if let Found::Value(title) = mapped.text(&Target::JobTitle, problems) {
        if let Some(found) = match_job_title(&title, job_titles) {
            return Some(found);
        }
        notes.push(format!(
            "the job title '{title}' from {} matches no Namely job title, so it is not used; \
             add it in Namely under job titles or correct it in Lever",
            describe_source(mapped.source(&Target::JobTitle))
        ));
    }
    let posting_title = posting_title.and_then(non_empty)?;
    let found = match_job_title(&posting_title, job_titles);
    if found.is_none() {
        notes.push(format!(
            "the posting title '{posting_title}' matches no Namely job title, so the job title is left blank; \
             add it in Namely under job titles (profiles can only use existing titles) or rename the posting in Lever"
        ));
    }
    found
}

fn match_job_title(title: &str, job_titles: &[JobTitleOption]) -> Option<JobTitleOption> {
    let wanted = fold(title);
    job_titles.iter().find(|t| fold(&t.title) == wanted).cloned()
}

/// Mapped amount wins; else the chosen offer's salary, but only when it is yearly.
fn salary(
    mapped: &Mapped,
    chosen: Option<ChosenOffer<'_>>,
    tz: Tz,
    problems: &mut Vec<HireProblem>,
    notes: &mut Vec<String>,
) -> Option<Salary> {
    let mapped_currency = mapped.text(&Target::SalaryCurrency, problems).value();
    let offer = chosen.map(|c| c.offer);
    let offer_currency = |problems: &mut Vec<HireProblem>| -> Option<String> {
        let raw = offer.and_then(|o| offer_field(o, "compensation_currency")).and_then(|f| read(f, false, tz))?;
        match raw.and_then(|raw| convert(&Target::SalaryCurrency, raw, None, tz)) {
            Ok(Conv::Text(currency)) => Some(currency),
            Ok(_) => None,
            Err(reason) => {
                problems.push(invalid("offer:compensation_currency", &Target::SalaryCurrency, reason));
                None
            }
        }
    };
    match mapped.get(&Target::SalaryYearlyAmount, problems) {
        Found::Value(Conv::Amount(amount, field_currency)) => {
            let currency = mapped_currency.or_else(|| field_currency.clone()).or_else(|| offer_currency(problems));
            return Some(Salary { yearly_amount: *amount, currency: currency.unwrap_or_else(|| "USD".into()) });
        }
        Found::Invalid => return None,
        Found::Value(_) | Found::Absent => {}
    }
    let offer = offer?;
    let raw = offer_field(offer, "salary_amount").and_then(|f| read(f, false, tz))?;
    let interval = offer_field(offer, "salary_interval").and_then(|f| f.value.as_str()).and_then(non_empty);
    if let Some(interval) = interval.filter(|i| !i.eq_ignore_ascii_case("per-year-salary")) {
        notes.push(format!(
            "the offer's salary is '{interval}', but Namely takes annual salaries only, so no salary is sent; \
             enter it in Namely or map a yearly amount to salary.yearly_amount"
        ));
        return None;
    }
    match raw.and_then(|raw| convert(&Target::SalaryYearlyAmount, raw, None, tz)) {
        Ok(Conv::Amount(amount, _)) => {
            let currency = mapped_currency.or_else(|| offer_currency(problems)).unwrap_or_else(|| "USD".into());
            Some(Salary { yearly_amount: amount, currency })
        }
        Ok(_) => None,
        Err(reason) => {
            problems.push(invalid("offer:salary_amount", &Target::SalaryYearlyAmount, reason));
            None
        }
    }
}

fn invalid(source: &str, target: &Target, reason: String) -> HireProblem {
    HireProblem::InvalidValue { source: source.to_string(), target: target.name(), reason }
}

/// The outcome of looking a value up: found, found but unusable (already reported), or not there.
enum Found<T> {
    Value(T),
    Invalid,
    Absent,
}

impl<T> Found<T> {
    fn or_fallback(self, fallback: impl FnOnce() -> Option<T>) -> Found<T> {
        match self {
            Found::Absent => fallback().map_or(Found::Absent, Found::Value),
            other => other,
        }
    }

    fn value(self) -> Option<T> {
        match self {
            Found::Value(v) => Some(v),
            Found::Invalid | Found::Absent => None,
        }
    }
}

/// A required value; reports `missing` when absent (an invalid value was reported already).
fn required<T>(found: Found<T>, problems: &mut Vec<HireProblem>, missing: HireProblem) -> Option<T> {
    match found {
        Found::Value(v) => Some(v),
        Found::Invalid => None,
        Found::Absent => {
            problems.push(missing);
            None
        }
    }
}

/// A value as read from Lever, before it is shaped for its Namely field.
enum Raw {
    Text(String),
    Number(Number),
    Date(NaiveDate),
    YesNo(bool),
    List(Vec<String>),
}

/// A value shaped for its target.
enum Conv {
    Text(String),
    Date(NaiveDate),
    /// Yearly amount and, for a form `currency` field, its currency.
    Amount(f64, Option<String>),
    Json(Value),
}

/// The field map's values for one hire: per target, the last entry that has a value, with its source.
struct Mapped {
    values: BTreeMap<Target, (String, Result<Conv, String>)>,
}

impl Mapped {
    fn collect(map: &FieldMap, input: &HireInput, offer: Option<&OfferInput>, tz: Tz) -> Mapped {
        let mut values = BTreeMap::new();
        for (source, target) in &map.entries {
            let found = match source {
                // Offers carry no field types; Lever's `*_date` identifiers hold epoch ms.
                Source::Offer(id) => offer.and_then(|o| offer_field(o, id)).map(|f| (f, id.ends_with("_date"))),
                Source::Form(label) => {
                    let label = fold(label);
                    input.new_hire_form.iter().find(|f| fold(&f.key) == label).map(|f| (f, has_kind(f, "date")))
                }
            };
            let Some((field, date_like)) = found else { continue };
            let Some(raw) = read(field, date_like, tz) else { continue };
            let conv = raw.and_then(|raw| convert(target, raw, field.currency.as_deref(), tz));
            values.insert(target.clone(), (source.to_string(), conv));
        }
        Mapped { values }
    }

    fn get(&self, target: &Target, problems: &mut Vec<HireProblem>) -> Found<&Conv> {
        match self.values.get(target) {
            None => Found::Absent,
            Some((_, Ok(conv))) => Found::Value(conv),
            Some((source, Err(reason))) => {
                problems.push(invalid(source, target, reason.clone()));
                Found::Invalid
            }
        }
    }

    fn source(&self, target: &Target) -> &str {
        self.values.get(target).map_or("", |(source, _)| source.as_str())
    }

    fn text(&self, target: &Target, problems: &mut Vec<HireProblem>) -> Found<String> {
        match self.get(target, problems) {
            Found::Value(Conv::Text(text)) => Found::Value(text.clone()),
            Found::Invalid => Found::Invalid,
            Found::Value(_) | Found::Absent => Found::Absent,
        }
    }

    fn date(&self, target: &Target, problems: &mut Vec<HireProblem>) -> Found<NaiveDate> {
        match self.get(target, problems) {
            Found::Value(Conv::Date(date)) => Found::Value(*date),
            Found::Invalid => Found::Invalid,
            Found::Value(_) | Found::Absent => Found::Absent,
        }
    }

    fn custom(&self, problems: &mut Vec<HireProblem>) -> BTreeMap<String, Value> {
        let mut custom = BTreeMap::new();
        for target in self.values.keys() {
            let Target::Custom(key) = target else { continue };
            if let Found::Value(Conv::Json(value)) = self.get(target, problems) {
                custom.insert(key.clone(), value.clone());
            }
        }
        custom
    }
}

fn has_kind(field: &SourceField, kind: &str) -> bool {
    field.kind.as_deref().is_some_and(|k| k.trim().eq_ignore_ascii_case(kind))
}

/// Reads a field's value; None when it is null or empty, so it never overrides anything.
fn read(field: &SourceField, date_like: bool, tz: Tz) -> Option<Result<Raw, String>> {
    match &field.value {
        Value::Null => None,
        Value::String(s) => {
            let s = non_empty(s)?;
            if date_like {
                return Some(parse_date_text(&s, tz).map(Raw::Date));
            }
            if has_kind(field, "yes-no") {
                match s.to_ascii_lowercase().as_str() {
                    "yes" => return Some(Ok(Raw::YesNo(true))),
                    "no" => return Some(Ok(Raw::YesNo(false))),
                    _ => {}
                }
            }
            Some(Ok(Raw::Text(s)))
        }
        Value::Number(n) if date_like => Some(date_from_number(n, tz).map(Raw::Date)),
        Value::Number(n) => Some(Ok(Raw::Number(n.clone()))),
        Value::Bool(b) => Some(Ok(Raw::YesNo(*b))),
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .filter_map(|item| match item {
                    Value::String(s) => non_empty(s),
                    Value::Number(n) => Some(render_number(n)),
                    Value::Bool(b) => Some(yes_no(*b).to_string()),
                    Value::Null | Value::Array(_) | Value::Object(_) => None,
                })
                .collect();
            (!items.is_empty()).then_some(Ok(Raw::List(items)))
        }
        Value::Object(_) => Some(Err("it is a structured value, not text, a number or a date".into())),
    }
}

/// Shapes a value for its target; Err is the reason, for the admin.
fn convert(target: &Target, raw: Raw, field_currency: Option<&str>, tz: Tz) -> Result<Conv, String> {
    match target {
        Target::StartDate => to_date(raw, tz).map(Conv::Date),
        Target::SalaryYearlyAmount => {
            let amount = match &raw {
                Raw::Number(n) => n.as_f64(),
                Raw::Text(s) => s.replace([',', ' '], "").parse::<f64>().ok(),
                Raw::Date(_) | Raw::YesNo(_) | Raw::List(_) => None,
            };
            // The value itself is left out of the reason: compensation is not echoed into logs.
            match amount {
                Some(a) if a.is_finite() && a >= 0.0 => Ok(Conv::Amount(a, field_currency.and_then(currency_code))),
                _ => Err("it is not a yearly amount (write it as a number, e.g. 85000)".into()),
            }
        }
        Target::Custom(_) => Ok(Conv::Json(match raw {
            Raw::Text(s) => Value::String(s),
            Raw::Number(n) => Value::Number(integral(n)),
            Raw::Date(d) => Value::String(d.format("%Y-%m-%d").to_string()),
            Raw::YesNo(b) => Value::String(yes_no(b).into()),
            Raw::List(items) => Value::Array(items.into_iter().map(Value::String).collect()),
        })),
        Target::Email | Target::PersonalEmail => {
            let text = raw_text(&raw);
            if text.contains('@') && !text.contains(char::is_whitespace) {
                Ok(Conv::Text(text))
            } else {
                Err(format!("'{text}' is not an email address"))
            }
        }
        Target::SalaryCurrency => {
            let text = raw_text(&raw);
            currency_code(&text)
                .map(Conv::Text)
                .ok_or_else(|| format!("'{text}' is not a three-letter ISO 4217 currency code such as USD"))
        }
        Target::FirstName
        | Target::MiddleName
        | Target::LastName
        | Target::PreferredName
        | Target::HomePhone
        | Target::MobilePhone
        | Target::OfficePhone
        | Target::EmployeeType
        | Target::JobTitle => Ok(Conv::Text(raw_text(&raw))),
    }
}

/// The value as text for a text field.
fn raw_text(raw: &Raw) -> String {
    match raw {
        Raw::Text(s) => s.clone(),
        Raw::Number(n) => render_number(n),
        Raw::Date(d) => d.format("%Y-%m-%d").to_string(),
        Raw::YesNo(b) => yes_no(*b).to_string(),
        Raw::List(items) => items.join(", "),
    }
}

fn to_date(raw: Raw, tz: Tz) -> Result<NaiveDate, String> {
    match raw {
        Raw::Date(date) => Ok(date),
        Raw::Number(n) => date_from_number(&n, tz),
        Raw::Text(s) => parse_date_text(&s, tz),
        Raw::YesNo(_) | Raw::List(_) => Err("it is not a date".into()),
    }
}

/// The calendar date of an instant in the account's zone (Lever's date-only values are local midnight).
fn date_from_ms(ms: i64, tz: Tz) -> Option<NaiveDate> {
    let utc = DateTime::from_timestamp_millis(ms)?.naive_utc();
    // Checked: near chrono's last instant the zone's offset can carry the local time past what it holds.
    utc.checked_add_offset(tz.offset_from_utc_datetime(&utc).fix()).map(|local| local.date())
}

fn date_from_number(n: &Number, tz: Tz) -> Result<NaiveDate, String> {
    let ms = n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite() && f.fract() == 0.0).map(|f| f as i64));
    ms.and_then(|ms| date_from_ms(ms, tz)).ok_or_else(|| format!("{n} is not a date (epoch milliseconds)"))
}

/// `YYYY-MM-DD`, epoch milliseconds as text, or an RFC 3339 timestamp.
fn parse_date_text(s: &str, tz: Tz) -> Result<NaiveDate, String> {
    if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(date);
    }
    if let Some(date) = s.parse::<i64>().ok().and_then(|ms| date_from_ms(ms, tz)) {
        return Ok(date);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&tz).date_naive());
    }
    Err(format!("'{s}' is not a date (write it as YYYY-MM-DD)"))
}

fn currency_code(text: &str) -> Option<String> {
    let code = text.trim();
    (code.len() == 3 && code.chars().all(|c| c.is_ascii_alphabetic())).then(|| code.to_ascii_uppercase())
}

/// Numbers as people write them: `12345`, not `12345.0`.
fn render_number(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() => f.to_string(),
        _ => n.to_string(),
    }
}

/// `12345.0` becomes `12345` so Namely number fields get an integer when the value is one.
fn integral(n: Number) -> Number {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => Number::from(f as i64),
        _ => n,
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "Yes"
    } else {
        "No"
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Labels and titles compare without case and extra whitespace.
fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn show_json(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => render_number(n),
        Value::Array(items) => items.iter().map(show_json).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::Los_Angeles;
    use serde_json::json;

    /// Offer fields as Lever sends them: `[{text, identifier, value}]`.
    fn offer_fields(fields: Value) -> Vec<SourceField> {
        let fields = fields.as_array().cloned().unwrap_or_default();
        fields
            .iter()
            .map(|f| SourceField {
                key: f["identifier"].as_str().unwrap().to_string(),
                kind: None,
                value: f["value"].clone(),
                currency: None,
            })
            .collect()
    }

    /// Profile form fields as Lever sends them: `[{type, text, value, currency?}]`.
    fn form_fields(fields: Value) -> Vec<SourceField> {
        let fields = fields.as_array().cloned().unwrap_or_default();
        fields
            .iter()
            .map(|f| SourceField {
                key: f["text"].as_str().unwrap().to_string(),
                kind: f["type"].as_str().map(str::to_string),
                value: f["value"].clone(),
                currency: f["currency"].as_str().map(str::to_string),
            })
            .collect()
    }

    /// The signed offer from Lever's offers example (§3.3), start date moved to 2026-12-01 09:00 Pacific.
    fn signed_offer() -> OfferInput {
        OfferInput {
            status: Some("signed".into()),
            created_at_ms: Some(1475540115263),
            fields: offer_fields(json!([
                {"text":"Job title","identifier":"job_title","value":"Back End Software Engineer"},
                {"text":"Offered compensation amount","identifier":"salary_amount","value":1319000},
                {"text":"Compensation currency","identifier":"compensation_currency","value":"USD"},
                {"text":"Type of earnings","identifier":"salary_interval","value":"per-year-salary"},
                {"text":"Anticipated start date","identifier":"anticipated_start_date","value":1796144400000_i64},
                {"text":"equity","identifier":"custom_equity","value":12345}
            ])),
        }
    }

    fn hire() -> HireInput {
        HireInput {
            name: Some("Maria de la Cruz".into()),
            emails: vec!["maria.cruz@example.com".into()],
            phones: vec![PhoneInput { kind: Some("mobile".into()), value: Some("+1 415 555 0100".into()) }],
            // 2024-11-24T12:03:13Z, from Lever's archived opportunity example.
            archived_at_ms: Some(1732449793171),
            posting_title: Some("Back End Software Engineer".into()),
            offers: vec![signed_offer()],
            new_hire_form: vec![],
        }
    }

    fn rules(record_type: RecordType) -> HireRules {
        HireRules { record_type, time_zone: Los_Angeles, field_map: FieldMap::builtin() }
    }

    fn rules_with(extra: &str) -> HireRules {
        HireRules { field_map: FieldMap::with(FieldMap::parse(extra).unwrap()), ..rules(RecordType::Hris) }
    }

    fn titles() -> Vec<JobTitleOption> {
        vec![
            JobTitleOption { id: "dc5f0968".into(), title: "Account Executive".into() },
            JobTitleOption { id: "0f2007f9".into(), title: "Back End Software Engineer".into() },
        ]
    }

    fn map(input: &HireInput, rules: &HireRules) -> NamelyHire {
        map_hire(input, rules, &titles()).unwrap()
    }

    fn problems(input: &HireInput, rules: &HireRules) -> Vec<HireProblem> {
        map_hire(input, rules, &titles()).unwrap_err()
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn record_type_parses_displays_and_sets_user_status() {
        assert_eq!(" HRIS ".parse::<RecordType>(), Ok(RecordType::Hris));
        assert_eq!("Onboarding".parse::<RecordType>(), Ok(RecordType::Onboarding));
        let err = "namely".parse::<RecordType>().unwrap_err();
        assert!(err.contains("'namely'") && err.contains("'hris'") && err.contains("'onboarding'"), "{err}");
        assert_eq!(RecordType::Hris.to_string(), "HRIS");
        assert_eq!(RecordType::Onboarding.to_string(), "Onboarding");
        assert_eq!(map(&hire(), &rules(RecordType::Hris)).user_status, "active");
        assert_eq!(map(&hire(), &rules(RecordType::Onboarding)).user_status, "pending");
    }

    #[test]
    fn lever_name_is_split_into_first_and_last() {
        let mapped = map(&hire(), &rules(RecordType::Hris));
        assert_eq!((mapped.first_name.as_str(), mapped.last_name.as_str()), ("Maria", "de la Cruz"));
        let input = HireInput { name: Some("  José   Núñez-O'Brien ".into()), ..hire() };
        let mapped = map(&input, &rules(RecordType::Hris));
        assert_eq!((mapped.first_name.as_str(), mapped.last_name.as_str()), ("José", "Núñez-O'Brien"));
        assert_eq!((mapped.middle_name, mapped.preferred_name), (None, None));
    }

    #[test]
    fn new_hire_form_names_win_over_the_split() {
        let input = HireInput {
            name: Some("Mary Ann Smith".into()),
            new_hire_form: form_fields(json!([
                {"type":"text","text":"Legal first name","value":" Mary "},
                {"type":"text","text":"Middle name","value":"Ann"},
                {"type":"text","text":"Last name","value":"Smith-Jones"},
                {"type":"text","text":"Preferred name","value":"Annie"},
                {"type":"text","text":"First name","value":""}
            ])),
            ..hire()
        };
        let mapped = map(&input, &rules(RecordType::Hris));
        assert_eq!(mapped.first_name, "Mary");
        assert_eq!(mapped.middle_name.as_deref(), Some("Ann"));
        assert_eq!(mapped.last_name, "Smith-Jones");
        assert_eq!(mapped.preferred_name.as_deref(), Some("Annie"));
    }

    #[test]
    fn one_word_name_needs_a_last_name() {
        let input = HireInput { name: Some(" Cher ".into()), ..hire() };
        let found = problems(&input, &rules(RecordType::Hris));
        assert_eq!(found, vec![HireProblem::MissingLastName { name: Some("Cher".into()) }]);
        let message = found[0].to_string();
        assert!(message.contains("'Cher' has one word"), "{message}");
        assert!(message.contains("Namely New Hire Form") && message.contains("Lever"), "{message}");

        let with_form = HireInput {
            new_hire_form: form_fields(json!([{"type":"text","text":"Legal last name","value":"Sarkisian"}])),
            ..input
        };
        let mapped = map(&with_form, &rules(RecordType::Hris));
        assert_eq!((mapped.first_name.as_str(), mapped.last_name.as_str()), ("Cher", "Sarkisian"));
    }

    #[test]
    fn no_name_reports_first_and_last_name() {
        // Lever's real archived example has `"name":""`.
        let input = HireInput { name: Some("".into()), ..hire() };
        assert_eq!(
            problems(&input, &rules(RecordType::Hris)),
            vec![HireProblem::MissingFirstName, HireProblem::MissingLastName { name: None }]
        );
        assert!(HireProblem::MissingFirstName.to_string().contains("no name in Lever"));
    }

    #[test]
    fn work_email_is_the_first_candidate_address() {
        let input =
            HireInput { emails: vec!["".into(), "maria at example".into(), " maria@example.com ".into()], ..hire() };
        assert_eq!(map(&input, &rules(RecordType::Hris)).email, "maria@example.com");
        let with_form = HireInput {
            new_hire_form: form_fields(json!([{"type":"text","text":"Work email","value":"maria@acme.com"}])),
            ..input
        };
        assert_eq!(map(&with_form, &rules(RecordType::Hris)).email, "maria@acme.com");
    }

    #[test]
    fn no_email_is_reported() {
        let input = HireInput { emails: vec![], ..hire() };
        let found = problems(&input, &rules(RecordType::Hris));
        assert_eq!(found, vec![HireProblem::MissingEmail]);
        assert_eq!(
            found[0].to_string(),
            "the candidate has no email address in Lever; add one to the candidate profile: \
             Namely requires an email to create a profile"
        );
    }

    #[test]
    fn personal_email_follows_the_record_type() {
        // HRIS: only a mapped value.
        assert_eq!(map(&hire(), &rules(RecordType::Hris)).personal_email, None);
        // Onboarding: the address the candidate applied with.
        let onboarding = map(&hire(), &rules(RecordType::Onboarding));
        assert_eq!(onboarding.personal_email.as_deref(), Some("maria.cruz@example.com"));
        // A mapped value wins for both.
        let input = HireInput {
            new_hire_form: form_fields(json!([{"type":"text","text":"Personal email","value":"maria@home.example"}])),
            ..hire()
        };
        for record_type in [RecordType::Hris, RecordType::Onboarding] {
            assert_eq!(map(&input, &rules(record_type)).personal_email.as_deref(), Some("maria@home.example"));
        }
        // Onboarding without any address reports both missing emails.
        let input = HireInput { emails: vec![], ..hire() };
        assert_eq!(
            problems(&input, &rules(RecordType::Onboarding)),
            vec![HireProblem::MissingEmail, HireProblem::MissingPersonalEmail]
        );
    }

    #[test]
    fn first_phone_is_the_home_phone_and_mapped_phones_win() {
        let input = HireInput {
            phones: vec![
                PhoneInput { kind: Some("other".into()), value: Some("  ".into()) },
                PhoneInput { kind: None, value: None },
                PhoneInput { kind: Some("mobile".into()), value: Some(" +1 415 555 0100 ".into()) },
            ],
            ..hire()
        };
        let mapped = map(&input, &rules(RecordType::Hris));
        assert_eq!(mapped.home_phone.as_deref(), Some("+1 415 555 0100"));
        assert_eq!((mapped.mobile_phone, mapped.office_phone), (None, None));

        let input = HireInput {
            new_hire_form: form_fields(json!([
                {"type":"text","text":"Home phone","value":"+1 415 555 0111"},
                {"type":"text","text":"Mobile phone","value":"+1 415 555 0122"},
                {"type":"text","text":"Desk phone","value":"+1 415 555 0133"}
            ])),
            ..input
        };
        let mapped = map(&input, &rules_with(r#"{"form:Desk phone": "office_phone"}"#));
        assert_eq!(mapped.home_phone.as_deref(), Some("+1 415 555 0111"));
        assert_eq!(mapped.mobile_phone.as_deref(), Some("+1 415 555 0122"));
        assert_eq!(mapped.office_phone.as_deref(), Some("+1 415 555 0133"));
    }

    fn offer(status: &str, created_at_ms: Option<i64>, start: Value, equity: i64) -> OfferInput {
        OfferInput {
            status: Some(status.into()),
            created_at_ms,
            fields: offer_fields(json!([
                {"text":"Anticipated start date","identifier":"anticipated_start_date","value":start},
                {"text":"equity","identifier":"custom_equity","value":equity}
            ])),
        }
    }

    #[test]
    fn signed_offer_wins_over_later_offers() {
        let rules = rules_with(r#"{"offer:custom_equity": "custom:equity"}"#);
        let input = HireInput {
            offers: vec![
                offer("signed", Some(1_000), json!("2026-11-01"), 1),
                offer("sent", Some(3_000), json!("2026-10-01"), 2),
                offer("signed", Some(2_000), json!("2026-12-01"), 3),
            ],
            ..hire()
        };
        let mapped = map(&input, &rules);
        assert_eq!((mapped.start_date, mapped.start_date_source), (date("2026-12-01"), StartDateSource::SignedOffer));
        // Offer-sourced values come from the chosen offer only.
        assert_eq!(mapped.custom["equity"], json!(3));
    }

    #[test]
    fn without_a_signed_offer_the_latest_offer_is_used() {
        let rules = rules_with(r#"{"offer:custom_equity": "custom:equity"}"#);
        let input = HireInput {
            offers: vec![
                offer("sent", None, json!("2026-09-01"), 1),
                offer("approved", Some(2_000), json!("2026-10-01"), 2),
                offer("draft", Some(1_000), json!("2026-11-01"), 3),
            ],
            ..hire()
        };
        let mapped = map(&input, &rules);
        assert_eq!((mapped.start_date, mapped.start_date_source), (date("2026-10-01"), StartDateSource::LatestOffer));
        assert_eq!(mapped.custom["equity"], json!(2));
        // An offer without createdAt counts as the oldest.
        let input = HireInput { offers: vec![offer("sent", None, json!("2026-09-01"), 1)], ..hire() };
        assert_eq!(map(&input, &rules).start_date, date("2026-09-01"));
    }

    #[test]
    fn offer_start_date_is_the_calendar_date_in_the_time_zone() {
        // 1418716800000 = 2014-12-16T08:00Z: midnight in Los Angeles.
        let input = HireInput { offers: vec![offer("signed", Some(1), json!(1418716800000_i64), 0)], ..hire() };
        assert_eq!(map(&input, &rules(RecordType::Hris)).start_date, date("2014-12-16"));
        // 2014-12-16T03:00Z is still the 15th in Los Angeles, but the 16th in UTC.
        let input = HireInput { offers: vec![offer("signed", Some(1), json!(1418698800000_i64), 0)], ..hire() };
        assert_eq!(map(&input, &rules(RecordType::Hris)).start_date, date("2014-12-15"));
        let utc = HireRules { time_zone: chrono_tz::UTC, ..rules(RecordType::Hris) };
        assert_eq!(map(&input, &utc).start_date, date("2014-12-16"));
        // Lever's DOC examples sometimes give numbers as strings.
        let input = HireInput { offers: vec![offer("signed", Some(1), json!("1418716800000"), 0)], ..hire() };
        assert_eq!(map(&input, &rules(RecordType::Hris)).start_date, date("2014-12-16"));
    }

    #[test]
    fn hire_date_is_the_fallback_start_date() {
        let input = HireInput { offers: vec![offer("signed", Some(1), Value::Null, 0)], ..hire() };
        let mapped = map(&input, &rules(RecordType::Hris));
        assert_eq!(
            (mapped.start_date, mapped.start_date_source),
            (date("2024-11-24"), StartDateSource::ArchivedAsHired)
        );
        let input = HireInput { offers: vec![], ..hire() };
        assert_eq!(map(&input, &rules(RecordType::Hris)).start_date_source, StartDateSource::ArchivedAsHired);
    }

    #[test]
    fn mapped_start_date_wins() {
        // Lever's profile form example (§3.5): a `date` field of epoch ms.
        let input = HireInput {
            new_hire_form: form_fields(json!([
                {"type":"date","text":"Start date","required":false,"id":"1ebc1934","value":1418716800000_i64}
            ])),
            ..hire()
        };
        let mapped = map(&input, &rules_with(r#"{"form:Start date": "start_date"}"#));
        assert_eq!((mapped.start_date, mapped.start_date_source), (date("2014-12-16"), StartDateSource::Mapped));
    }

    #[test]
    fn no_start_date_is_reported() {
        let input = HireInput { offers: vec![], archived_at_ms: None, ..hire() };
        let found = problems(&input, &rules(RecordType::Hris));
        assert_eq!(found, vec![HireProblem::MissingStartDate]);
        let message = found[0].to_string();
        assert!(message.contains("no offer start date and no hire date"), "{message}");
        assert!(message.contains("anticipated start date on the offer"), "{message}");
    }

    #[test]
    fn unreadable_offer_start_date_is_invalid() {
        let input = HireInput { offers: vec![offer("signed", Some(1), json!("next Monday"), 0)], ..hire() };
        let found = problems(&input, &rules(RecordType::Hris));
        assert_eq!(
            found,
            vec![HireProblem::InvalidValue {
                source: "offer:anticipated_start_date".into(),
                target: "start_date".into(),
                reason: "'next Monday' is not a date (write it as YYYY-MM-DD)".into(),
            }]
        );
        assert!(found[0].to_string().starts_with("the offer field 'anticipated_start_date' cannot be sent"));
    }

    #[test]
    fn posting_title_matches_a_namely_job_title() {
        let input = HireInput { posting_title: Some("  back end software ENGINEER ".into()), ..hire() };
        let mapped = map(&input, &rules(RecordType::Hris));
        assert_eq!(mapped.job_title, Some(titles()[1].clone()));
        assert!(mapped.notes.is_empty());

        let input = HireInput { posting_title: Some("Staff Wizard".into()), ..hire() };
        let mapped = map(&input, &rules(RecordType::Hris));
        assert_eq!(mapped.job_title, None);
        assert_eq!(mapped.notes.len(), 1);
        assert!(mapped.notes[0].starts_with("the posting title 'Staff Wizard' matches no Namely job title"));

        let input = HireInput { posting_title: None, ..hire() };
        let mapped = map(&input, &rules(RecordType::Hris));
        assert_eq!((mapped.job_title, mapped.notes), (None, vec![]));
    }

    #[test]
    fn mapped_job_title_wins_when_it_matches() {
        let rules = rules_with(r#"{"offer:job_title": "job_title"}"#);
        let mut input = HireInput { posting_title: Some("Engineer (Backend)".into()), ..hire() };
        // The signed offer's job_title is "Back End Software Engineer".
        assert_eq!(map(&input, &rules).job_title, Some(titles()[1].clone()));

        input.offers[0].fields[0].value = json!("Unknown Title");
        input.posting_title = Some("account executive".into());
        let mapped = map(&input, &rules);
        assert_eq!(mapped.job_title, Some(titles()[0].clone()));
        assert_eq!(mapped.notes.len(), 1);
        assert!(mapped.notes[0].contains("'Unknown Title' from the offer field 'job_title'"), "{}", mapped.notes[0]);
    }

    #[test]
    fn salary_comes_from_the_chosen_offer() {
        let mapped = map(&hire(), &rules(RecordType::Hris));
        assert_eq!(mapped.salary, Some(Salary { yearly_amount: 1319000.0, currency: "USD".into() }));

        // Currency defaults to USD; the amount may be a numeric string.
        let input = HireInput {
            offers: vec![OfferInput {
                status: Some("sent".into()),
                created_at_ms: Some(1),
                fields: offer_fields(json!([{"text":"Salary","identifier":"salary_amount","value":"95,000"}])),
            }],
            ..hire()
        };
        let mapped = map(&input, &rules(RecordType::Hris));
        assert_eq!(mapped.salary, Some(Salary { yearly_amount: 95000.0, currency: "USD".into() }));
    }

    #[test]
    fn hourly_offer_salary_is_not_sent() {
        let mut input = hire();
        input.offers[0].fields[3].value = json!("per-hour-wage");
        let mapped = map(&input, &rules(RecordType::Hris));
        assert_eq!(mapped.salary, None);
        assert_eq!(mapped.notes.len(), 1);
        assert!(mapped.notes[0].contains("'per-hour-wage'") && mapped.notes[0].contains("annual salaries only"));
        assert!(!mapped.notes[0].contains("1319000"), "compensation stays out of notes");
    }

    #[test]
    fn mapped_salary_wins() {
        let input = HireInput {
            new_hire_form: form_fields(json!([
                {"type":"currency","text":"Compensation","id":"65bb5ce8","value":50000,"currency":"EUR"}
            ])),
            ..hire()
        };
        let mapped = map(&input, &rules_with(r#"{"form:Compensation": "salary.yearly_amount"}"#));
        assert_eq!(mapped.salary, Some(Salary { yearly_amount: 50000.0, currency: "EUR".into() }));

        let input = HireInput {
            new_hire_form: form_fields(json!([{"type":"dropdown","text":"Pay currency","value":"gbp"}])),
            ..hire()
        };
        let mapped = map(&input, &rules_with(r#"{"form:Pay currency": "salary.currency_type"}"#));
        assert_eq!(mapped.salary, Some(Salary { yearly_amount: 1319000.0, currency: "GBP".into() }));
    }

    #[test]
    fn non_numeric_salary_is_invalid() {
        let mut input = hire();
        input.offers[0].fields[1].value = json!("about 120k");
        let found = problems(&input, &rules(RecordType::Hris));
        assert_eq!(found.len(), 1);
        let HireProblem::InvalidValue { source, target, reason } = &found[0] else { panic!("{found:?}") };
        assert_eq!((source.as_str(), target.as_str()), ("offer:salary_amount", "salary.yearly_amount"));
        assert!(!reason.contains("120k"), "compensation stays out of messages: {reason}");
    }

    #[test]
    fn employee_type_is_mapped_text() {
        assert_eq!(map(&hire(), &rules(RecordType::Hris)).employee_type, None);
        let input = HireInput {
            new_hire_form: form_fields(json!([{"type":"dropdown","text":"Employee type","value":" Full Time "}])),
            ..hire()
        };
        assert_eq!(map(&input, &rules(RecordType::Hris)).employee_type.as_deref(), Some("Full Time"));
        let mut input = hire();
        input.offers[0].fields.push(SourceField {
            key: "employee_type".into(),
            value: json!("Contractor"),
            ..Default::default()
        });
        assert_eq!(map(&input, &rules(RecordType::Hris)).employee_type.as_deref(), Some("Contractor"));
    }

    #[test]
    fn values_become_text_for_text_targets() {
        let input = HireInput {
            new_hire_form: form_fields(json!([
                {"type":"currency","text":"Badge","value":1024.0},
                {"type":"yes-no","text":"Remote?","value":"yes"},
                {"type":"multiple-select","text":"Teams","value":["Platform", " Data ", ""]},
                {"type":"date","text":"Orientation","value":1418716800000_i64}
            ])),
            ..hire()
        };
        let rules = rules_with(
            r#"{"form:Badge": "office_phone", "form:Remote?": "preferred_name",
                "form:Teams": "employee_type", "form:Orientation": "middle_name"}"#,
        );
        let mapped = map(&input, &rules);
        assert_eq!(mapped.office_phone.as_deref(), Some("1024"));
        assert_eq!(mapped.preferred_name.as_deref(), Some("Yes"));
        assert_eq!(mapped.employee_type.as_deref(), Some("Platform, Data"));
        assert_eq!(mapped.middle_name.as_deref(), Some("2014-12-16"));
    }

    #[test]
    fn values_keep_their_kind_for_custom_targets() {
        // Lever's profile form example (§3.5) plus a multiple-select.
        let input = HireInput {
            new_hire_form: form_fields(json!([
                {"type":"date","text":"Start date","value":1418716800000_i64},
                {"type":"currency","text":"Compensation","value":50000,"currency":"USD"},
                {"type":"yes-no","text":"Eligible for benefits?","value":"no"},
                {"type":"text","text":"Manager","value":"Jen"},
                {"type":"multiple-select","text":"Languages","value":["English","Tagalog"]}
            ])),
            ..hire()
        };
        let rules = rules_with(
            r#"{"form:Start date": "custom:orientation_date", "form:Compensation": "custom:signing_bonus",
                "form:Eligible for benefits?": "custom:benefits_eligible", "form:Manager": "custom:hiring_manager",
                "form:Languages": "custom:languages", "offer:custom_equity": "custom:equity"}"#,
        );
        let custom = map(&input, &rules).custom;
        assert_eq!(custom["orientation_date"], json!("2014-12-16"));
        assert_eq!(custom["signing_bonus"], json!(50000));
        assert_eq!(custom["benefits_eligible"], json!("No"));
        assert_eq!(custom["hiring_manager"], json!("Jen"));
        assert_eq!(custom["languages"], json!(["English", "Tagalog"]));
        assert_eq!(custom["equity"], json!(12345));
    }

    #[test]
    fn empty_values_never_override_and_labels_match_loosely() {
        let input = HireInput {
            new_hire_form: form_fields(json!([
                {"type":"text","text":"  first NAME ","value":"Mia"},
                {"type":"text","text":"Legal first name","value":null},
                {"type":"text","text":"Nickname","value":"  "}
            ])),
            ..hire()
        };
        let rules = rules_with(r#"{"form:Nickname": "first_name", "offer:Custom_Equity": "custom:equity"}"#);
        let mapped = map(&input, &rules);
        // Labels match without case or extra spaces; null/blank entries later in the map don't override.
        assert_eq!(mapped.first_name, "Mia");
        // Offer identifiers match exactly.
        assert!(mapped.custom.is_empty());
    }

    #[test]
    fn later_field_map_entries_win_for_the_same_target() {
        let input = HireInput {
            new_hire_form: form_fields(json!([
                {"type":"text","text":"First name","value":"Maria"},
                {"type":"text","text":"Legal first name","value":"María José"},
                {"type":"text","text":"Given name","value":"Majo"}
            ])),
            ..hire()
        };
        assert_eq!(map(&input, &rules(RecordType::Hris)).first_name, "María José");
        assert_eq!(map(&input, &rules_with(r#"{"form:Given name": "first_name"}"#)).first_name, "Majo");
    }

    #[test]
    fn field_map_parses_in_written_order() {
        let map = FieldMap::parse(
            r#"{"offer:custom_equity": "custom:equity", "form:Start date": "START_DATE", " form: Team ": "custom: team "}"#,
        )
        .unwrap();
        assert_eq!(
            map.entries,
            vec![
                (Source::Offer("custom_equity".into()), Target::Custom("equity".into())),
                (Source::Form("Start date".into()), Target::StartDate),
                (Source::Form("Team".into()), Target::Custom("team".into())),
            ]
        );
        assert_eq!(FieldMap::parse("  \n").unwrap(), FieldMap { entries: vec![] });
        let with = FieldMap::with(map.clone());
        assert_eq!(with.entries.len(), FieldMap::builtin().entries.len() + 3);
        assert_eq!(with.entries[FieldMap::builtin().entries.len()..], map.entries[..]);
        assert_eq!(Target::SalaryCurrency.name(), "salary.currency_type");
        assert_eq!(Target::Custom("equity".into()).name(), "equity");
    }

    #[test]
    fn field_map_errors_say_what_is_wrong() {
        let err = FieldMap::parse(r#"["form:Start date"]"#).unwrap_err();
        assert!(err.contains("must be a JSON object"), "{err}");

        let err = FieldMap::parse(r#"{"Start date": "start_date"}"#).unwrap_err();
        assert!(err.contains("'Start date'") && err.contains("'offer:") && err.contains("'form:"), "{err}");

        let err = FieldMap::parse(r#"{"form:Start date": "hire_date"}"#).unwrap_err();
        assert!(err.contains("'hire_date'") && err.contains("first_name") && err.contains("salary.currency_type"));
        assert!(err.contains("custom:<Namely field key>"), "{err}");

        let err = FieldMap::parse(r#"{"form:Team": "custom: "}"#).unwrap_err();
        assert!(err.contains("'form:Team'") && err.contains("names no Namely field"), "{err}");

        let err = FieldMap::parse(r#"{"form:Team": "custom:first_name"}"#).unwrap_err();
        assert!(err.contains("already sets"), "{err}");

        let err = FieldMap::parse(r#"{"form:Team": 3}"#).unwrap_err();
        assert!(err.contains("'form:Team'") && err.contains("must be a string"), "{err}");

        let err = FieldMap::parse(r#"{"offer:": "start_date"}"#).unwrap_err();
        assert!(err.contains("names no field"), "{err}");
    }

    #[test]
    fn fields_sent_lists_what_is_sent_without_compensation() {
        let input = HireInput {
            new_hire_form: form_fields(json!([{"type":"dropdown","text":"Employee type","value":"Full Time"}])),
            ..hire()
        };
        let mapped = map(&input, &rules_with(r#"{"offer:custom_equity": "custom:equity"}"#));
        let sent = mapped.fields_sent();
        let expected = [
            ("first_name", "Maria"),
            ("last_name", "de la Cruz"),
            ("email", "maria.cruz@example.com"),
            ("home_phone", "+1 415 555 0100"),
            ("user_status", "active"),
            ("start_date", "2026-12-01 (signed offer)"),
            ("job_title", "Back End Software Engineer"),
            ("employee_type", "Full Time"),
            ("salary.yearly_amount", "(set)"),
            ("salary.currency_type", "USD"),
            ("equity", "12345"),
        ];
        let expected: Vec<(String, String)> = expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(sent, expected);
        assert!(sent.iter().all(|(_, v)| !v.contains("1319000")));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut input = HireInput {
            name: Some("Prince".into()),
            emails: vec!["not an address".into()],
            archived_at_ms: None,
            new_hire_form: form_fields(json!([{"type":"text","text":"Work email","value":"prince at acme"}])),
            ..hire()
        };
        input.offers[0].fields.retain(|f| f.key != "anticipated_start_date");
        input.offers[0].fields[1].value = json!("lots");
        let found = problems(&input, &rules(RecordType::Onboarding));
        assert_eq!(
            found,
            vec![
                HireProblem::MissingLastName { name: Some("Prince".into()) },
                HireProblem::InvalidValue {
                    source: "form:Work email".into(),
                    target: "email".into(),
                    reason: "'prince at acme' is not an email address".into(),
                },
                HireProblem::MissingPersonalEmail,
                HireProblem::MissingStartDate,
                HireProblem::InvalidValue {
                    source: "offer:salary_amount".into(),
                    target: "salary.yearly_amount".into(),
                    reason: "it is not a yearly amount (write it as a number, e.g. 85000)".into(),
                },
            ]
        );
    }
}
