//! Namely employees → Litmos learners: which learners to create, update, deactivate or leave alone.
//!
//! Litmos' own Namely connector syncs every employee whose "Litmos Activated" field is "Yes" and keeps 12
//! learner fields current. The caller reads Namely profiles, the Litmos user summary list and the links
//! recorded by the last run into plain values; `plan` decides every write without calling anything, so a run
//! can be previewed, logged and replayed in a test.

use crate::names::person_label;
use crate::text::{clean, fingerprint, is_inactive};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A Namely employee reduced to what the Litmos sync uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Employee {
    pub namely_id: String,
    /// `active`, `pending`, `inactive` (None = active).
    pub user_status: Option<String>,
    /// The "Litmos Activated" custom select field is "Yes" (case-insensitive, trimmed; the caller passes the raw value).
    pub litmos_activated: Option<String>,
    /// Namely's `email` (the work email).
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The job title's `title`.
    pub job_title: Option<String>,
    /// The profile's `office` (inherited from its Office Location group).
    pub office: Option<Office>,
    pub office_phone: Option<String>,
    pub mobile_phone: Option<String>,
}

/// Namely's `office` object on a profile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Office {
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    /// Two letters in the US ("NY"), a region code elsewhere ("ON").
    pub state_id: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_id: Option<String>,
    pub zip: Option<String>,
    pub phone: Option<String>,
}

/// The 12 Litmos learner fields kept current from Namely, by their Litmos names (None = empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LearnerFields {
    /// `FirstName` ← First Name
    pub first_name: Option<String>,
    /// `LastName` ← Last Name
    pub last_name: Option<String>,
    /// `UserName` ← Username (the Namely work email)
    pub user_name: Option<String>,
    /// `JobTitle` ← Title
    pub job_title: Option<String>,
    /// `Email` ← Work Email
    pub email: Option<String>,
    /// `Street1` ← Work Address (office address1, then ", " and address2 when present)
    pub street1: Option<String>,
    /// `City` ← Work City
    pub city: Option<String>,
    /// `State` ← Work State (office state_id as given)
    pub state: Option<String>,
    /// `PostalCode` ← Work Zip
    pub postal_code: Option<String>,
    /// `Country` ← Work Country (the English name for common ISO codes, else the code as given)
    pub country: Option<String>,
    /// `PhoneWork` ← Work Phone (Namely office_phone, else the office's phone)
    pub phone_work: Option<String>,
    /// `PhoneMobile` ← Mobile Phone
    pub phone_mobile: Option<String>,
}

impl LearnerFields {
    /// (Litmos field name, the source document's label) for each of the 12, in the order above.
    pub const FIELDS: [(&'static str, &'static str); 12] = [
        ("FirstName", "First Name"),
        ("LastName", "Last Name"),
        ("UserName", "Username"),
        ("JobTitle", "Title"),
        ("Email", "Work Email"),
        ("Street1", "Work Address"),
        ("City", "Work City"),
        ("State", "Work State"),
        ("PostalCode", "Work Zip"),
        ("Country", "Work Country"),
        ("PhoneWork", "Work Phone"),
        ("PhoneMobile", "Mobile Phone"),
    ];

    /// The value of a field by its Litmos name (exact, e.g. "PostalCode"); None for an empty or unknown field.
    pub fn get(&self, litmos_name: &str) -> Option<&str> {
        let value = match litmos_name {
            "FirstName" => &self.first_name,
            "LastName" => &self.last_name,
            "UserName" => &self.user_name,
            "JobTitle" => &self.job_title,
            "Email" => &self.email,
            "Street1" => &self.street1,
            "City" => &self.city,
            "State" => &self.state,
            "PostalCode" => &self.postal_code,
            "Country" => &self.country,
            "PhoneWork" => &self.phone_work,
            "PhoneMobile" => &self.phone_mobile,
            _ => return None,
        };
        value.as_deref()
    }

    /// A stable fingerprint (hex of a 64-bit FNV-1a over the normalized values, fields in FIELDS order, separated by
    /// \u{1f}); equal values -> equal fingerprint. Values are normalized as `diff` compares them.
    pub fn fingerprint(&self) -> String {
        let mut text = String::new();
        for (i, (name, _)) in Self::FIELDS.iter().enumerate() {
            if i > 0 {
                text.push('\u{1f}');
            }
            text.push_str(&normalized(name, self.get(name)).unwrap_or_default());
        }
        fingerprint(text.as_bytes())
    }

    /// Field-by-field differences from `current` (what Litmos holds), normalized (trim; "" == None; UserName/Email
    /// compared case-insensitively). `old` and `new` are the trimmed values, in FIELDS order.
    pub fn diff(&self, current: &LearnerFields) -> Vec<FieldChange> {
        Self::FIELDS
            .iter()
            .filter(|(name, _)| normalized(name, self.get(name)) != normalized(name, current.get(name)))
            .map(|(name, label)| FieldChange {
                field: name.to_string(),
                label: label.to_string(),
                old: clean(current.get(name)).map(str::to_string),
                new: clean(self.get(name)).map(str::to_string),
            })
            .collect()
    }
}

/// One field that differs between Namely and Litmos (None = empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The Litmos name, e.g. "City".
    pub field: String,
    /// The source document's label, e.g. "Work City".
    pub label: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// Maps an employee to the learner fields (trimmed, empty -> None).
pub fn learner_fields(employee: &Employee) -> LearnerFields {
    let text = |v: &Option<String>| clean(v.as_deref()).map(str::to_string);
    let office = employee.office.clone().unwrap_or_default();
    let email = text(&employee.email);
    let street1 = match (clean(office.address1.as_deref()), clean(office.address2.as_deref())) {
        (Some(a1), Some(a2)) => Some(format!("{a1}, {a2}")),
        (a1, a2) => a1.or(a2).map(str::to_string),
    };
    LearnerFields {
        first_name: text(&employee.first_name),
        last_name: text(&employee.last_name),
        user_name: email.clone(),
        job_title: text(&employee.job_title),
        email,
        street1,
        city: text(&office.city),
        state: text(&office.state_id),
        postal_code: text(&office.zip),
        country: clean(office.country_id.as_deref()).map(country_name),
        phone_work: text(&employee.office_phone).or_else(|| text(&office.phone)),
        phone_mobile: text(&employee.mobile_phone),
    }
}

/// ISO alpha-2 code -> the English name Litmos shows; "UK" is not ISO but people type it.
const COUNTRIES: &[(&str, &str)] = &[
    ("AE", "United Arab Emirates"),
    ("AR", "Argentina"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("BE", "Belgium"),
    ("BR", "Brazil"),
    ("CA", "Canada"),
    ("CH", "Switzerland"),
    ("CL", "Chile"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CZ", "Czech Republic"),
    ("DE", "Germany"),
    ("DK", "Denmark"),
    ("EG", "Egypt"),
    ("ES", "Spain"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("GB", "United Kingdom"),
    ("GR", "Greece"),
    ("HK", "Hong Kong"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IN", "India"),
    ("IT", "Italy"),
    ("JP", "Japan"),
    ("KE", "Kenya"),
    ("KR", "South Korea"),
    ("LU", "Luxembourg"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("NG", "Nigeria"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("NZ", "New Zealand"),
    ("PE", "Peru"),
    ("PH", "Philippines"),
    ("PL", "Poland"),
    ("PR", "Puerto Rico"),
    ("PT", "Portugal"),
    ("RO", "Romania"),
    ("SA", "Saudi Arabia"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("TH", "Thailand"),
    ("TR", "Turkey"),
    ("TW", "Taiwan"),
    ("UA", "Ukraine"),
    ("UK", "United Kingdom"),
    ("US", "United States"),
    ("VN", "Vietnam"),
    ("ZA", "South Africa"),
];

/// The English country name for a common ISO alpha-2 code (any case), else the value as given.
fn country_name(code: &str) -> String {
    COUNTRIES
        .iter()
        .find(|(iso, _)| iso.eq_ignore_ascii_case(code))
        .map_or_else(|| code.to_string(), |(_, name)| name.to_string())
}

/// A Litmos user as the summary list gives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LearnerState {
    pub id: String,
    pub user_name: Option<String>,
    pub email: Option<String>,
    pub active: Option<bool>,
}

/// What the last run wrote for a Namely employee: the Litmos id and the fingerprint of the fields sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub litmos_id: String,
    pub fingerprint: Option<String>,
}

/// What the sync does to the Litmos learner of one Namely employee.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LearnerAction {
    Create {
        fields: LearnerFields,
    },
    /// The caller reads the whole Litmos user, applies `fields`, writes it back (Litmos PUT replaces the user).
    /// `reactivate` = the user is inactive in Litmos and must be set `Active` again.
    Update {
        litmos_id: String,
        fields: LearnerFields,
        reactivate: bool,
    },
    /// The caller reads the whole Litmos user and writes it back with `Active: false`.
    Deactivate {
        litmos_id: String,
    },
    Unchanged {
        litmos_id: String,
    },
    Skip {
        reason: String,
    },
}

/// The action planned for one Namely employee.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedLearner {
    pub namely_id: String,
    /// "First Last <email>" for people.
    pub label: String,
    pub action: LearnerAction,
}

/// One entry per employee, sorted by namely_id (a run that continues in another invocation resumes after the last id
/// it finished).
///
/// `employees` are all Namely profiles (every status), `learners` the whole Litmos user summary list (inactive
/// included) and `links` what earlier runs recorded, by Namely id. See the module tests for every rule: matching by
/// link then exact UserName then exact Email, syncing only "Litmos Activated" = "Yes", deactivating inactive people,
/// and updating only when the fields sent last differ from Namely's.
pub fn plan(employees: &[Employee], learners: &[LearnerState], links: &BTreeMap<String, Link>) -> Vec<PlannedLearner> {
    Planner::new(learners, links).page(employees)
}

/// [`plan`] a page at a time, for a run that starts writing while Namely is still being read.
///
/// The planner keeps, from one page to the next, which learner each employee took and the work
/// emails on matched learners, so no learner is taken twice. Each page's entries are sorted by
/// Namely id. One difference from planning everyone at once: a work email first seen on a learner
/// matched in a later page is not known when an earlier page plans a create with it, so Litmos
/// refuses that create (the outcome says so) instead of the plan explaining it.
pub struct Planner<'a> {
    learners: &'a [LearnerState],
    links: &'a BTreeMap<String, Link>,
    /// Learner index by Litmos id; the first of any duplicate id wins.
    by_id: HashMap<&'a str, usize>,
    /// Which Namely id took each learner.
    owner: HashMap<usize, String>,
    /// Labels of the employees planned so far, by Namely id.
    labels: HashMap<String, String>,
    /// Work emails on matched learners (lower case) -> who holds them.
    emails: HashMap<String, String>,
}

impl<'a> Planner<'a> {
    pub fn new(learners: &'a [LearnerState], links: &'a BTreeMap<String, Link>) -> Planner<'a> {
        let by_id: HashMap<&str, usize> = learners.iter().enumerate().rev().map(|(i, l)| (l.id.trim(), i)).collect();
        // Links claim first, so an already-linked learner is never taken by another employee's email.
        let mut owner: HashMap<usize, String> = HashMap::new();
        for (namely_id, link) in links {
            if let Some(&li) = by_id.get(link.litmos_id.trim()) {
                owner.entry(li).or_insert_with(|| namely_id.trim().to_string());
            }
        }
        Planner { learners, links, by_id, owner, labels: HashMap::new(), emails: HashMap::new() }
    }

    fn who(&self, namely_id: &str) -> String {
        self.labels.get(namely_id).cloned().unwrap_or_else(|| format!("Namely profile {namely_id}"))
    }

    /// Plans one page of employees.
    pub fn page(&mut self, employees: &[Employee]) -> Vec<PlannedLearner> {
        let learners = self.learners;
        let mut order: Vec<&Employee> = employees.iter().collect();
        order.sort_by(|a, b| a.namely_id.trim().cmp(b.namely_id.trim()));
        for e in &order {
            // The first of any duplicate Namely id keeps its label.
            self.labels.entry(e.namely_id.trim().to_string()).or_insert_with(|| label(e));
        }

        let mut found: Vec<Found> = Vec::with_capacity(order.len());
        for e in &order {
            let id = e.namely_id.trim();
            let f = if id.is_empty() || !is_activated(e) {
                Found::Nobody
            } else if let Some(&li) = self.links.get(id).and_then(|link| self.by_id.get(link.litmos_id.trim())) {
                match self.owner.get(&li) {
                    Some(other) if other != id => Found::Conflict(conflict(&learners[li], &self.who(other))),
                    _ => Found::Learner(li),
                }
            } else if let Some(email) = clean(e.email.as_deref()) {
                let candidates = email_candidates(email, learners);
                // Prefer an active user when Litmos holds several with the same Email.
                let free = candidates.iter().copied().filter(|li| !self.owner.contains_key(li));
                let pick = free.clone().find(|&li| learners[li].active != Some(false)).or_else(|| free.clone().next());
                match (pick, candidates.first()) {
                    (Some(li), _) => {
                        self.owner.insert(li, id.to_string());
                        Found::Learner(li)
                    }
                    (None, Some(&li)) => Found::Conflict(conflict(&learners[li], &self.who(&self.owner[&li]))),
                    (None, None) => Found::Nobody,
                }
            } else {
                Found::Nobody
            };
            found.push(f);
        }

        // Work emails already on a matched learner: a second user with one would be refused by Litmos.
        for (e, f) in order.iter().zip(&found) {
            if let (Found::Learner(_), Some(email)) = (f, clean(e.email.as_deref())) {
                self.emails.entry(email.to_lowercase()).or_insert_with(|| label(e));
            }
        }

        order
            .iter()
            .zip(found)
            .map(|(e, f)| {
                let namely_id = e.namely_id.trim().to_string();
                let link = self.links.get(namely_id.as_str());
                let action = action(e, f, learners, link, &mut self.emails);
                PlannedLearner { namely_id, label: label(e), action }
            })
            .collect()
    }
}

/// The learner an employee was matched to, or why it could not be.
enum Found {
    Learner(usize),
    Conflict(String),
    Nobody,
}

fn conflict(learner: &LearnerState, other: &str) -> String {
    let name = clean(learner.user_name.as_deref()).or(clean(learner.email.as_deref())).unwrap_or("no username");
    format!("Litmos user {} ({name}) is already matched to {other}", learner.id.trim())
}

/// Learners whose UserName is exactly the email, else those whose Email is (Litmos search matches substrings).
fn email_candidates(email: &str, learners: &[LearnerState]) -> Vec<usize> {
    let matching = |value: fn(&LearnerState) -> Option<&str>| -> Vec<usize> {
        let hits = learners.iter().enumerate().filter(|(_, l)| clean(value(l)).is_some_and(|v| same_email(v, email)));
        hits.map(|(i, _)| i).collect()
    };
    let by_user_name = matching(|l| l.user_name.as_deref());
    if by_user_name.is_empty() {
        matching(|l| l.email.as_deref())
    } else {
        by_user_name
    }
}

fn action(
    e: &Employee,
    found: Found,
    learners: &[LearnerState],
    link: Option<&Link>,
    emails: &mut HashMap<String, String>,
) -> LearnerAction {
    let skip = |reason: String| LearnerAction::Skip { reason };
    if e.namely_id.trim().is_empty() {
        return skip("no Namely id".to_string());
    }
    if !is_activated(e) {
        return skip("Litmos Activated is not Yes".to_string());
    }
    let learner = match found {
        Found::Conflict(reason) => return skip(reason),
        Found::Learner(li) => Some(&learners[li]),
        Found::Nobody => None,
    };
    if is_inactive(e.user_status.as_deref()) {
        return match learner {
            Some(l) if l.active == Some(false) => LearnerAction::Unchanged { litmos_id: l.id.trim().to_string() },
            Some(l) => LearnerAction::Deactivate { litmos_id: l.id.trim().to_string() },
            None => skip("inactive in Namely and never a learner".to_string()),
        };
    }
    let fields = learner_fields(e);
    // Litmos requires these on every user; writing without them would clear them.
    let missing: Vec<&str> =
        [("work email", &fields.email), ("first name", &fields.first_name), ("last name", &fields.last_name)]
            .into_iter()
            .filter(|(_, v)| v.is_none())
            .map(|(what, _)| what)
            .collect();
    if !missing.is_empty() {
        return skip(format!("missing {} in Namely", missing.join(", ")));
    }
    let Some(learner) = learner else {
        let email = fields.email.clone().unwrap_or_default();
        if let Some(other) = emails.get(&email.to_lowercase()) {
            return skip(format!("work email {email} is also on {other}"));
        }
        emails.insert(email.to_lowercase(), label(e));
        return LearnerAction::Create { fields };
    };
    let litmos_id = learner.id.trim().to_string();
    let reactivate = learner.active == Some(false);
    let sent = link.filter(|l| l.litmos_id.trim() == litmos_id).and_then(|l| l.fingerprint.as_deref());
    if reactivate || sent != Some(fields.fingerprint().as_str()) {
        return LearnerAction::Update { litmos_id, fields, reactivate };
    }
    LearnerAction::Unchanged { litmos_id }
}

fn same_email(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// A value as compared: trimmed, blank = missing, UserName and Email in lower case.
fn normalized(field: &str, value: Option<&str>) -> Option<String> {
    clean(value).map(|v| if matches!(field, "UserName" | "Email") { v.to_lowercase() } else { v.to_string() })
}

fn is_activated(e: &Employee) -> bool {
    clean(e.litmos_activated.as_deref()).is_some_and(|v| v.eq_ignore_ascii_case("yes"))
}

fn label(e: &Employee) -> String {
    let name = [clean(e.first_name.as_deref()), clean(e.last_name.as_deref())].into_iter().flatten();
    let name = name.collect::<Vec<_>>().join(" ");
    person_label(Some(&name), e.email.as_deref()).unwrap_or_else(|| e.namely_id.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::fnv1a64;
    use serde_json::json;

    const PAUL: &str = "8e8befc7-d637-4ff9-97a1-d99c5cb1ff7f";
    const MARIA: &str = "3be1f0a4-5c2e-4b8e-9d51-2f6a7c1e0b93";
    const OMAR: &str = "c41d9e2a-7b3f-4e8a-a0d2-5f1e9c3b7a66";
    const PAUL_LITMOS: &str = "-yJ1NfrpHz41";

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    /// Paul East from Namely's recorded profile, opted in to Litmos, with a New York office.
    fn paul() -> Employee {
        Employee {
            namely_id: PAUL.into(),
            user_status: some("active"),
            litmos_activated: some("Yes"),
            email: some("p.east@example.com"),
            first_name: some("Paul"),
            last_name: some("East"),
            job_title: some("Account Executive"),
            office: Some(Office {
                address1: some("350 Fifth Avenue"),
                address2: some("Floor 21"),
                city: some("New York"),
                state_id: some("NY"),
                country_id: some("US"),
                zip: some("10118"),
                phone: some("212-555-0100"),
            }),
            office_phone: some("123-456-78-99"),
            mobile_phone: some("555-555-11-11"),
        }
    }

    /// An opted-in profile with only the fields Namely always returns.
    fn person(id: &str, first: &str, last: &str, email: &str) -> Employee {
        Employee {
            namely_id: id.into(),
            user_status: some("active"),
            litmos_activated: some("Yes"),
            email: some(email),
            first_name: some(first),
            last_name: some(last),
            ..Employee::default()
        }
    }

    /// A summary-list user whose UserName and Email are both `email`.
    fn learner(id: &str, email: &str, active: Option<bool>) -> LearnerState {
        LearnerState { id: id.into(), user_name: some(email), email: some(email), active }
    }

    fn paul_learner() -> LearnerState {
        learner(PAUL_LITMOS, "p.east@example.com", Some(true))
    }

    fn link(litmos_id: &str, fingerprint: Option<String>) -> Link {
        Link { litmos_id: litmos_id.into(), fingerprint }
    }

    fn links(entries: &[(&str, Link)]) -> BTreeMap<String, Link> {
        entries.iter().map(|(id, l)| (id.to_string(), l.clone())).collect()
    }

    /// Paul's link as the last run left it, in step with Namely.
    fn paul_link() -> BTreeMap<String, Link> {
        links(&[(PAUL, link(PAUL_LITMOS, Some(learner_fields(&paul()).fingerprint())))])
    }

    fn only(employee: Employee, learners: &[LearnerState], links: &BTreeMap<String, Link>) -> LearnerAction {
        let planned = plan(&[employee], learners, links);
        assert_eq!(planned.len(), 1);
        planned.into_iter().next().unwrap().action
    }

    fn skip_reason(action: &LearnerAction) -> &str {
        match action {
            LearnerAction::Skip { reason } => reason,
            other => panic!("expected a skip, got {other:?}"),
        }
    }

    fn update(litmos_id: &str, employee: &Employee, reactivate: bool) -> LearnerAction {
        LearnerAction::Update { litmos_id: litmos_id.into(), fields: learner_fields(employee), reactivate }
    }

    fn unchanged(litmos_id: &str) -> LearnerAction {
        LearnerAction::Unchanged { litmos_id: litmos_id.into() }
    }

    #[test]
    fn names_title_username_email_and_mobile_come_from_the_profile() {
        let f = learner_fields(&paul());
        assert_eq!(f.first_name.as_deref(), Some("Paul"));
        assert_eq!(f.last_name.as_deref(), Some("East"));
        assert_eq!(f.user_name.as_deref(), Some("p.east@example.com"));
        assert_eq!(f.email.as_deref(), Some("p.east@example.com"));
        assert_eq!(f.job_title.as_deref(), Some("Account Executive"));
        assert_eq!(f.phone_mobile.as_deref(), Some("555-555-11-11"));
    }

    #[test]
    fn work_address_joins_address2_after_a_comma() {
        assert_eq!(learner_fields(&paul()).street1.as_deref(), Some("350 Fifth Avenue, Floor 21"));
        let with = |a1: Option<&str>, a2: Option<&str>| {
            let office =
                Office { address1: a1.map(str::to_string), address2: a2.map(str::to_string), ..Office::default() };
            learner_fields(&Employee { office: Some(office), ..paul() }).street1
        };
        assert_eq!(with(Some("1 Main St"), None), some("1 Main St"));
        assert_eq!(with(Some(" 1 Main St "), Some("  ")), some("1 Main St"));
        assert_eq!(with(None, Some("Suite 4")), some("Suite 4"));
        assert_eq!(with(None, None), None);
    }

    #[test]
    fn city_state_and_zip_are_taken_as_given() {
        let f = learner_fields(&paul());
        assert_eq!(
            (f.city.as_deref(), f.state.as_deref(), f.postal_code.as_deref()),
            (Some("New York"), Some("NY"), Some("10118"))
        );
        let toronto = Office { city: some("Toronto"), state_id: some("ON"), zip: some("M5V 2T6"), ..Office::default() };
        let f = learner_fields(&Employee { office: Some(toronto), ..paul() });
        assert_eq!(
            (f.city.as_deref(), f.state.as_deref(), f.postal_code.as_deref()),
            (Some("Toronto"), Some("ON"), Some("M5V 2T6"))
        );
    }

    #[test]
    fn country_codes_become_english_names_and_unknown_codes_stay() {
        let country = |code: Option<&str>| {
            let office = Office { country_id: code.map(str::to_string), ..Office::default() };
            learner_fields(&Employee { office: Some(office), ..paul() }).country
        };
        for (code, name) in [
            ("US", "United States"),
            ("GB", "United Kingdom"),
            ("CA", "Canada"),
            ("DE", "Germany"),
            ("FR", "France"),
            ("ES", "Spain"),
            ("IT", "Italy"),
            ("NL", "Netherlands"),
            ("IE", "Ireland"),
            ("AU", "Australia"),
            ("NZ", "New Zealand"),
            ("IN", "India"),
            ("JP", "Japan"),
            ("CN", "China"),
            ("SG", "Singapore"),
            ("BR", "Brazil"),
            ("MX", "Mexico"),
        ] {
            assert_eq!(country(Some(code)).as_deref(), Some(name), "{code}");
        }
        assert!(COUNTRIES.len() >= 40);
        assert_eq!(country(Some(" us ")), some("United States"));
        assert_eq!(country(Some("uk")), some("United Kingdom"));
        assert_eq!(country(Some("XK")), some("XK"));
        assert_eq!(country(Some("United States")), some("United States"));
        assert_eq!(country(Some("")), None);
        assert_eq!(country(None), None);
    }

    #[test]
    fn work_phone_is_office_phone_else_the_offices_phone() {
        assert_eq!(learner_fields(&paul()).phone_work, some("123-456-78-99"));
        assert_eq!(learner_fields(&Employee { office_phone: some(" "), ..paul() }).phone_work, some("212-555-0100"));
        assert_eq!(learner_fields(&Employee { office_phone: None, office: None, ..paul() }).phone_work, None);
    }

    #[test]
    fn values_are_trimmed_and_blanks_are_none() {
        let e = Employee {
            first_name: some("  Paul "),
            email: some(" p.east@example.com\t"),
            job_title: some(""),
            mobile_phone: some("   "),
            office: Some(Office::default()),
            ..paul()
        };
        let f = learner_fields(&e);
        assert_eq!(f.first_name, some("Paul"));
        assert_eq!(f.user_name, some("p.east@example.com"));
        assert_eq!(f.email, some("p.east@example.com"));
        assert_eq!((f.job_title, f.phone_mobile, f.street1, f.city, f.country), (None, None, None, None, None));
        assert_eq!(learner_fields(&Employee::default()), LearnerFields::default());
    }

    #[test]
    fn fields_lists_the_twelve_in_order_and_get_reads_each() {
        let names: Vec<&str> = LearnerFields::FIELDS.iter().map(|(name, _)| *name).collect();
        let expected = [
            "FirstName",
            "LastName",
            "UserName",
            "JobTitle",
            "Email",
            "Street1",
            "City",
            "State",
            "PostalCode",
            "Country",
            "PhoneWork",
            "PhoneMobile",
        ];
        assert_eq!(names, expected);
        assert_eq!(LearnerFields::FIELDS[2], ("UserName", "Username"));
        assert_eq!(LearnerFields::FIELDS[9], ("Country", "Work Country"));
        let f = learner_fields(&paul());
        let values: Vec<Option<&str>> = names.iter().map(|n| f.get(n)).collect();
        assert_eq!(
            values,
            [
                Some("Paul"),
                Some("East"),
                Some("p.east@example.com"),
                Some("Account Executive"),
                Some("p.east@example.com"),
                Some("350 Fifth Avenue, Floor 21"),
                Some("New York"),
                Some("NY"),
                Some("10118"),
                Some("United States"),
                Some("123-456-78-99"),
                Some("555-555-11-11"),
            ]
        );
        assert_eq!(f.get("Street2"), None);
        assert_eq!(f.get("firstname"), None);
    }

    #[test]
    fn fingerprint_is_fnv1a_and_stable_across_releases() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
        let empty = LearnerFields::default().fingerprint();
        assert_eq!(empty, format!("{:016x}", fnv1a64("\u{1f}".repeat(11).as_bytes())));
        assert_eq!(empty.len(), 16);
        // Stored in links: a change here would update every learner once.
        assert_eq!(learner_fields(&paul()).fingerprint(), "18c017e78d60fc1e");
    }

    #[test]
    fn fingerprint_ignores_what_diff_ignores() {
        let f = learner_fields(&paul());
        let mut g = f.clone();
        g.first_name = some(" Paul ");
        g.user_name = some("P.East@Example.com");
        g.email = some("P.EAST@EXAMPLE.COM ");
        assert_eq!(f.fingerprint(), g.fingerprint());
        g.job_title = None;
        let mut h = g.clone();
        h.job_title = some("  ");
        assert_eq!(g.fingerprint(), h.fingerprint());
    }

    #[test]
    fn fingerprint_changes_with_every_field_and_position() {
        let base = learner_fields(&paul());
        let mut seen = vec![base.fingerprint()];
        for (name, _) in LearnerFields::FIELDS {
            let mut f = base.clone();
            let slot = match name {
                "FirstName" => &mut f.first_name,
                "LastName" => &mut f.last_name,
                "UserName" => &mut f.user_name,
                "JobTitle" => &mut f.job_title,
                "Email" => &mut f.email,
                "Street1" => &mut f.street1,
                "City" => &mut f.city,
                "State" => &mut f.state,
                "PostalCode" => &mut f.postal_code,
                "Country" => &mut f.country,
                "PhoneWork" => &mut f.phone_work,
                _ => &mut f.phone_mobile,
            };
            *slot = some("changed");
            assert!(!seen.contains(&f.fingerprint()), "{name} does not change the fingerprint");
            seen.push(f.fingerprint());
        }
        // The separator keeps a value from counting the same in a neighbouring field.
        let city = LearnerFields { city: some("NY"), ..LearnerFields::default() };
        let state = LearnerFields { state: some("NY"), ..LearnerFields::default() };
        assert_ne!(city.fingerprint(), state.fingerprint());
        // Case matters outside UserName and Email.
        let lower = LearnerFields { city: some("new york"), ..LearnerFields::default() };
        assert_ne!(
            lower.fingerprint(),
            LearnerFields { city: some("New York"), ..LearnerFields::default() }.fingerprint()
        );
    }

    #[test]
    fn diff_normalizes_blanks_spaces_and_email_case() {
        let wanted = learner_fields(&paul());
        let mut held = wanted.clone();
        held.first_name = some("Paul  ");
        held.user_name = some("P.East@Example.COM");
        held.email = some(" p.east@EXAMPLE.com");
        assert_eq!(wanted.diff(&held), vec![]);
        let wanted = LearnerFields { job_title: None, phone_mobile: some(""), ..LearnerFields::default() };
        let held = LearnerFields { job_title: some("  "), phone_mobile: None, ..LearnerFields::default() };
        assert_eq!(wanted.diff(&held), vec![]);
        // Names are not emails: a case change is a change.
        let wanted = LearnerFields { last_name: some("McDonald"), ..LearnerFields::default() };
        let held = LearnerFields { last_name: some("Mcdonald"), ..LearnerFields::default() };
        assert_eq!(wanted.diff(&held).len(), 1);
    }

    #[test]
    fn diff_lists_changes_in_field_order_with_labels() {
        let wanted = learner_fields(&paul());
        let mut held = wanted.clone();
        held.phone_mobile = None;
        held.city = some(" Boston ");
        held.email = some("paul@old.example.com");
        let change = |field: &str, label: &str, old: Option<&str>, new: Option<&str>| FieldChange {
            field: field.into(),
            label: label.into(),
            old: old.map(str::to_string),
            new: new.map(str::to_string),
        };
        assert_eq!(
            wanted.diff(&held),
            vec![
                change("Email", "Work Email", Some("paul@old.example.com"), Some("p.east@example.com")),
                change("City", "Work City", Some("Boston"), Some("New York")),
                change("PhoneMobile", "Mobile Phone", None, Some("555-555-11-11")),
            ]
        );
        let cleared = LearnerFields { job_title: None, ..wanted.clone() };
        assert_eq!(cleared.diff(&wanted), vec![change("JobTitle", "Title", Some("Account Executive"), None)]);
    }

    #[test]
    fn only_employees_with_litmos_activated_yes_are_synced() {
        for value in ["Yes", "yes", " YES "] {
            let e = Employee { litmos_activated: some(value), ..paul() };
            assert!(matches!(only(e, &[], &BTreeMap::new()), LearnerAction::Create { .. }), "{value}");
        }
        for value in [Some("No"), Some("Y"), Some(""), Some("Yes please"), None] {
            let e = Employee { litmos_activated: value.map(str::to_string), ..paul() };
            assert_eq!(skip_reason(&only(e, &[], &BTreeMap::new())), "Litmos Activated is not Yes", "{value:?}");
        }
    }

    #[test]
    fn opting_out_leaves_an_existing_learner_alone() {
        let no = |status: &str| Employee { litmos_activated: some("No"), user_status: some(status), ..paul() };
        for status in ["active", "inactive"] {
            assert_eq!(skip_reason(&only(no(status), &[paul_learner()], &paul_link())), "Litmos Activated is not Yes");
            assert_eq!(
                skip_reason(&only(no(status), &[paul_learner()], &BTreeMap::new())),
                "Litmos Activated is not Yes"
            );
        }
    }

    #[test]
    fn inactive_people_are_deactivated_once_and_never_created() {
        let gone = || Employee { user_status: some("Inactive"), ..paul() };
        let deactivate = LearnerAction::Deactivate { litmos_id: PAUL_LITMOS.into() };
        assert_eq!(only(gone(), &[paul_learner()], &paul_link()), deactivate);
        assert_eq!(only(gone(), &[learner(PAUL_LITMOS, "p.east@example.com", None)], &BTreeMap::new()), deactivate);
        assert_eq!(
            only(gone(), &[learner(PAUL_LITMOS, "p.east@example.com", Some(false))], &paul_link()),
            unchanged(PAUL_LITMOS)
        );
        assert_eq!(skip_reason(&only(gone(), &[], &BTreeMap::new())), "inactive in Namely and never a learner");
    }

    #[test]
    fn unmatched_active_and_pending_people_are_created_with_all_fields() {
        for status in [Some("active"), Some("pending"), None] {
            let e = Employee { user_status: status.map(str::to_string), ..paul() };
            assert_eq!(only(e, &[], &BTreeMap::new()), LearnerAction::Create { fields: learner_fields(&paul()) });
        }
    }

    #[test]
    fn a_write_without_email_or_name_is_skipped_naming_what_is_missing() {
        let e = Employee { email: None, first_name: some(" "), ..paul() };
        assert_eq!(skip_reason(&only(e, &[], &BTreeMap::new())), "missing work email, first name in Namely");
        let e = Employee { last_name: None, ..paul() };
        assert_eq!(skip_reason(&only(e.clone(), &[], &BTreeMap::new())), "missing last name in Namely");
        // Litmos PUT replaces the user, so an update without a name would clear it.
        assert_eq!(skip_reason(&only(e, &[paul_learner()], &paul_link())), "missing last name in Namely");
    }

    #[test]
    fn matches_username_exactly_ignoring_case_never_a_substring() {
        let e = Employee { email: some(" P.East@Example.com "), ..paul() };
        let found =
            LearnerState { id: "u1".into(), user_name: some("p.east@example.com"), email: None, active: Some(true) };
        assert_eq!(only(e.clone(), &[found], &BTreeMap::new()), update("u1", &e, false));
        // Litmos search would return these for "p.east@example.com"; they are other people.
        let lookalikes =
            [learner("u2", "ap.east@example.com", Some(true)), learner("u3", "p.east@example.com.au", Some(true))];
        assert!(matches!(only(paul(), &lookalikes, &BTreeMap::new()), LearnerAction::Create { .. }));
    }

    #[test]
    fn username_match_wins_over_email_match_and_email_is_the_fallback() {
        let by_email = LearnerState {
            id: "e1".into(),
            user_name: some("paul"),
            email: some("P.EAST@example.com"),
            active: Some(true),
        };
        let by_user_name =
            LearnerState { id: "u1".into(), user_name: some("p.east@example.com"), email: None, active: Some(true) };
        assert_eq!(only(paul(), &[by_email.clone(), by_user_name], &BTreeMap::new()), update("u1", &paul(), false));
        assert_eq!(only(paul(), &[by_email], &BTreeMap::new()), update("e1", &paul(), false));
    }

    #[test]
    fn a_linked_learner_is_updated_only_when_the_fields_sent_differ() {
        assert_eq!(only(paul(), &[paul_learner()], &paul_link()), unchanged(PAUL_LITMOS));
        let stale = links(&[(PAUL, link(PAUL_LITMOS, some("0123456789abcdef")))]);
        assert_eq!(only(paul(), &[paul_learner()], &stale), update(PAUL_LITMOS, &paul(), false));
        let unknown = links(&[(PAUL, link(PAUL_LITMOS, None))]);
        assert_eq!(only(paul(), &[paul_learner()], &unknown), update(PAUL_LITMOS, &paul(), false));
        // Found by email but never linked: the first run writes every field once.
        assert_eq!(only(paul(), &[paul_learner()], &BTreeMap::new()), update(PAUL_LITMOS, &paul(), false));
        let moved = Employee { job_title: some("Sales Director"), ..paul() };
        assert_eq!(only(moved.clone(), &[paul_learner()], &paul_link()), update(PAUL_LITMOS, &moved, false));
    }

    #[test]
    fn an_inactive_learner_of_an_active_employee_is_reactivated() {
        let off = learner(PAUL_LITMOS, "p.east@example.com", Some(false));
        assert_eq!(only(paul(), std::slice::from_ref(&off), &paul_link()), update(PAUL_LITMOS, &paul(), true));
        assert_eq!(only(paul(), &[off], &BTreeMap::new()), update(PAUL_LITMOS, &paul(), true));
        let unknown = learner(PAUL_LITMOS, "p.east@example.com", None);
        assert_eq!(only(paul(), &[unknown], &paul_link()), unchanged(PAUL_LITMOS));
    }

    #[test]
    fn a_changed_email_updates_the_linked_learner_never_creates() {
        let renamed = Employee { email: some("paul.east@newco.example"), ..paul() };
        assert_eq!(only(renamed.clone(), &[paul_learner()], &paul_link()), update(PAUL_LITMOS, &renamed, false));
    }

    #[test]
    fn a_link_to_a_deleted_learner_falls_back_to_email() {
        let deleted = links(&[(PAUL, link("deleted-id", Some(learner_fields(&paul()).fingerprint())))]);
        assert!(matches!(only(paul(), &[], &deleted), LearnerAction::Create { .. }));
        let recreated = learner("new-id", "p.east@example.com", Some(true));
        assert_eq!(only(paul(), &[recreated], &deleted), update("new-id", &paul(), false));
    }

    #[test]
    fn a_linked_learner_cannot_be_taken_by_another_employees_email() {
        // Paul moved to a new email; Omar now has Paul's old one, which is still Paul's learner's username.
        let paul_now = Employee { email: some("paul.east@newco.example"), ..paul() };
        let omar = person(OMAR, "Omar", "Haddad", "p.east@example.com");
        let planned = plan(&[omar, paul_now.clone()], &[paul_learner()], &paul_link());
        assert_eq!(planned[0].namely_id, PAUL);
        assert_eq!(planned[0].action, update(PAUL_LITMOS, &paul_now, false));
        assert_eq!(
            skip_reason(&planned[1].action),
            "Litmos user -yJ1NfrpHz41 (p.east@example.com) is already matched to Paul East <paul.east@newco.example>"
        );
        // Opting out does not free the learner for someone else.
        let paul_out = Employee { litmos_activated: some("No"), ..paul() };
        let omar = person(OMAR, "Omar", "Haddad", "p.east@example.com");
        let planned = plan(&[paul_out, omar], &[paul_learner()], &paul_link());
        assert!(skip_reason(&planned[1].action).contains("already matched to Paul East <p.east@example.com>"));
    }

    #[test]
    fn pages_planned_one_after_another_take_each_learner_once() {
        // Page 1 takes Paul's learner by email; page 2's profile with the same email finds it taken.
        let twin = person(OMAR, "P.", "East", "p.east@example.com");
        let learners = [paul_learner()];
        let none = BTreeMap::new();
        let mut planner = Planner::new(&learners, &none);
        let first = planner.page(&[paul()]);
        assert_eq!(first[0].action, update(PAUL_LITMOS, &paul(), false));
        let second = planner.page(std::slice::from_ref(&twin));
        assert!(skip_reason(&second[0].action).contains("already matched to Paul East"), "{second:?}");
        // A fresh planner (a new run) would have given the twin the learner.
        assert!(matches!(Planner::new(&learners, &none).page(&[twin])[0].action, LearnerAction::Update { .. }));
    }

    #[test]
    fn pages_give_the_same_plan_as_everyone_at_once() {
        let people = [
            paul(),
            person(OMAR, "Omar", "Haddad", "omar@example.com"),
            person("3", "Ana", "Lima", "ana@example.com"),
            person("4", "Bo", "Chen", "bo@example.com"),
        ];
        let learners = [paul_learner(), learner("L-bo", "bo@example.com", Some(false))];
        let links = paul_link();
        let mut whole = plan(&people, &learners, &links);
        let mut planner = Planner::new(&learners, &links);
        let mut paged: Vec<PlannedLearner> = people.chunks(2).flat_map(|page| planner.page(page)).collect();
        whole.sort_by(|a, b| a.namely_id.cmp(&b.namely_id));
        paged.sort_by(|a, b| a.namely_id.cmp(&b.namely_id));
        assert_eq!(paged, whole);
    }

    #[test]
    fn a_learner_is_matched_to_one_employee_only() {
        // Two Namely profiles with the same work email: the lower id gets the learner.
        let twin = person(OMAR, "P.", "East", "p.east@example.com");
        let planned = plan(&[twin, paul()], &[paul_learner()], &BTreeMap::new());
        assert_eq!(planned[0].action, update(PAUL_LITMOS, &paul(), false));
        assert!(skip_reason(&planned[1].action).ends_with("is already matched to Paul East <p.east@example.com>"));
        // Two links to one learner: the first (by Namely id) keeps it.
        let both = links(&[(PAUL, link(PAUL_LITMOS, None)), (OMAR, link(PAUL_LITMOS, None))]);
        let planned = plan(&[paul(), person(OMAR, "Omar", "Haddad", "omar@example.com")], &[paul_learner()], &both);
        assert_eq!(planned[0].action, update(PAUL_LITMOS, &paul(), false));
        assert!(skip_reason(&planned[1].action).contains("already matched to Paul East"));
    }

    #[test]
    fn two_new_people_with_one_email_create_one_learner() {
        let twin = person(OMAR, "Omar", "Haddad", "P.East@example.com");
        let planned = plan(&[twin, paul()], &[], &BTreeMap::new());
        assert!(matches!(planned[0].action, LearnerAction::Create { .. }));
        assert_eq!(
            skip_reason(&planned[1].action),
            "work email P.East@example.com is also on Paul East <p.east@example.com>"
        );
    }

    #[test]
    fn the_plan_is_sorted_by_namely_id_with_labels() {
        let maria = person(MARIA, "Maria", "de la Cruz", "maria.cruz@example.com");
        let nameless = Employee { namely_id: " ".into(), litmos_activated: some("Yes"), ..Employee::default() };
        let no_name = Employee { first_name: None, last_name: None, ..person(OMAR, "", "", "omar@example.com") };
        let planned = plan(&[paul(), no_name, maria, nameless], &[], &BTreeMap::new());
        let ids: Vec<&str> = planned.iter().map(|p| p.namely_id.as_str()).collect();
        assert_eq!(ids, ["", MARIA, PAUL, OMAR]);
        assert_eq!(skip_reason(&planned[0].action), "no Namely id");
        let labels: Vec<&str> = planned.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(
            labels,
            ["", "Maria de la Cruz <maria.cruz@example.com>", "Paul East <p.east@example.com>", "omar@example.com"]
        );
    }

    #[test]
    fn actions_and_links_serialize_for_the_run_log_and_the_store() {
        let planned = plan(&[paul()], &[paul_learner()], &paul_link());
        assert_eq!(
            serde_json::to_value(&planned[0]).unwrap(),
            json!({"namely_id": PAUL, "label": "Paul East <p.east@example.com>",
                   "action": {"kind": "unchanged", "litmos_id": PAUL_LITMOS}})
        );
        let action = update(PAUL_LITMOS, &paul(), true);
        let value = serde_json::to_value(&action).unwrap();
        assert_eq!((value["kind"].as_str(), value["reactivate"].as_bool()), (Some("update"), Some(true)));
        assert_eq!(value["fields"]["street1"], json!("350 Fifth Avenue, Floor 21"));
        let stored = link(PAUL_LITMOS, some("00ff"));
        let back: Link = serde_json::from_value(serde_json::to_value(&stored).unwrap()).unwrap();
        assert_eq!(back, stored);
    }
}
