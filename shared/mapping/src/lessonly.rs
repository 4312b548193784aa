//! Namely profiles → Lessonly users and groups: every write that makes Lessonly match Namely, as a `SyncPlan`.
//!
//! The caller reads Namely profiles and Lessonly users, groups and custom fields into plain values; `plan`
//! decides what to create, update, archive and regroup without calling anything, so a run can be previewed,
//! logged and replayed in a test. Lessonly's rules that shape the data (name and email are required, an
//! unknown custom field name creates a field, some characters are rejected in names) are applied here.

use crate::names::person_label;
use crate::text::{clean, is_inactive};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A Namely profile reduced to what the Lessonly sync uses (the caller resolves department, tier, manager).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Employee {
    pub namely_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub preferred_name: Option<String>,
    /// `active`, `pending` or `inactive` (None counts as active).
    pub user_status: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub job_tier: Option<String>,
    pub location: Option<String>,
    pub manager_name: Option<String>,
    pub hire_date: Option<NaiveDate>,
    pub mobile_phone: Option<String>,
    /// Every profile key -> value as text (standard and custom Namely fields), for custom field mapping.
    pub fields: BTreeMap<String, String>,
}

/// A Lessonly user as read (v1.1 list).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Learner {
    pub id: i64,
    pub email: Option<String>,
    pub ext_uid: Option<String>,
    pub name: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub location: Option<String>,
    pub manager_name: Option<String>,
    pub hire_date: Option<String>,
    pub mobile_phone: Option<String>,
    pub archived: bool,
    /// (custom_user_field_id, field name, value)
    pub custom: Vec<(i64, String, Option<String>)>,
    /// Ids of the groups the user is a member of.
    pub groups: Vec<i64>,
}

/// A Lessonly group as listed by `GET /groups` (`archived` = `archived_at` is set).
#[derive(Debug, Clone, PartialEq)]
pub struct LessonlyGroup {
    pub id: i64,
    pub name: String,
    pub archived: bool,
}

/// A custom user field known to exist in Lessonly (seen on some user's custom_user_field_data).
#[derive(Debug, Clone, PartialEq)]
pub struct KnownField {
    pub id: i64,
    pub name: String,
}

/// A standard Lessonly user field the sync can keep current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StandardField {
    Name,
    Email,
    JobTitle,
    Department,
    Location,
    ManagerName,
    HireDate,
    MobilePhone,
}

impl StandardField {
    /// Every standard field, in the order changes are listed.
    pub const ALL: [StandardField; 8] = [
        StandardField::Name,
        StandardField::Email,
        StandardField::JobTitle,
        StandardField::Department,
        StandardField::Location,
        StandardField::ManagerName,
        StandardField::HireDate,
        StandardField::MobilePhone,
    ];

    /// The settings word and `FieldChange::field` name: `name`, `email`, `job_title`, ..., `mobile_phone`.
    pub fn key(self) -> &'static str {
        match self {
            StandardField::Name => "name",
            StandardField::Email => "email",
            StandardField::JobTitle => "job_title",
            StandardField::Department => "department",
            StandardField::Location => "location",
            StandardField::ManagerName => "manager_name",
            StandardField::HireDate => "hire_date",
            StandardField::MobilePhone => "mobile_phone",
        }
    }

    /// Lessonly requires these on every user, so the sync never clears them.
    fn required(self) -> bool {
        matches!(self, StandardField::Name | StandardField::Email)
    }
}

/// `namely_key` or `namely_key:Lessonly Field Name` (the Lessonly name defaults to the key: matched
/// case-insensitively with `_` and ` ` treated alike, so `employee_id` finds "Employee ID").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomFieldMapping {
    pub namely_key: String,
    pub lessonly_name: Option<String>,
}

impl CustomFieldMapping {
    /// The Lessonly field name as configured (the Namely key when none is given).
    fn configured_name(&self) -> &str {
        self.lessonly_name.as_deref().unwrap_or(&self.namely_key)
    }
}

/// Which Namely values become Lessonly groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupsFrom {
    pub department: bool,
    pub job_tier: bool,
}

/// What the admin chose to sync.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncSettings {
    /// Standard fields to keep current (email is always used for matching and creating).
    pub fields: Vec<StandardField>,
    pub groups_from: GroupsFrom,
    pub custom_fields: Vec<CustomFieldMapping>,
}

impl SyncSettings {
    /// Parses the three settings texts: fields = "all" | "none" | "name,job_title,..." ; groups = "department",
    /// "job_tier", "department,job_tier", "none" ; custom = "employee_id, division:Division" (blank = none).
    /// Words are case-insensitive and `job title` reads as `job_title`. A blank fields text means "all" and a
    /// blank groups text means "none", so an unset setting keeps fields current without creating groups.
    /// Errors (String) name the bad word and list the valid ones.
    pub fn parse(fields: &str, groups: &str, custom: &str) -> Result<SyncSettings, String> {
        Ok(SyncSettings {
            fields: parse_fields(fields)?,
            groups_from: parse_groups(groups)?,
            custom_fields: parse_custom(custom)?,
        })
    }
}

/// Splits a comma list into (as written, normalized word) pairs, dropping empty entries.
fn words(text: &str) -> Vec<(&str, String)> {
    text.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| {
            let word = w.split(|c: char| c.is_whitespace() || c == '_' || c == '-').filter(|p| !p.is_empty());
            (w, word.collect::<Vec<_>>().join("_").to_lowercase())
        })
        .collect()
}

fn parse_fields(text: &str) -> Result<Vec<StandardField>, String> {
    let valid = || {
        let keys: Vec<&str> = StandardField::ALL.iter().map(|f| f.key()).collect();
        format!("valid fields are {}, or 'all' or 'none' alone", keys.join(", "))
    };
    let list = words(text);
    match list.as_slice() {
        [] => return Ok(StandardField::ALL.to_vec()),
        [(_, w)] if w == "all" => return Ok(StandardField::ALL.to_vec()),
        [(_, w)] if w == "none" => return Ok(Vec::new()),
        _ => {}
    }
    let mut fields = Vec::new();
    for (raw, word) in &list {
        if word == "all" || word == "none" {
            return Err(format!(
                "'{raw}' can't be combined with other fields in the Lessonly fields setting; {}",
                valid()
            ));
        }
        let field = StandardField::ALL
            .into_iter()
            .find(|f| f.key() == word)
            .ok_or_else(|| format!("'{raw}' is not a Lessonly user field; {}", valid()))?;
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    Ok(fields)
}

fn parse_groups(text: &str) -> Result<GroupsFrom, String> {
    const VALID: &str = "valid values are 'department', 'job_tier', 'department,job_tier' or 'none'";
    let list = words(text);
    if let [(_, w)] = list.as_slice() {
        if w == "none" {
            return Ok(GroupsFrom::default());
        }
    }
    let mut from = GroupsFrom::default();
    for (raw, word) in &list {
        match word.as_str() {
            "department" => from.department = true,
            "job_tier" => from.job_tier = true,
            "none" => return Err(format!("'{raw}' can't be combined with other group sources; {VALID}")),
            _ => return Err(format!("'{raw}' is not a Namely field Lessonly groups can come from; {VALID}")),
        }
    }
    Ok(from)
}

fn parse_custom(text: &str) -> Result<Vec<CustomFieldMapping>, String> {
    let mut mappings = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (key, name) = match entry.split_once(':') {
            Some((key, name)) => (key.trim(), Some(name.trim()).filter(|n| !n.is_empty())),
            None => (entry, None),
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!(
                "'{entry}' does not start with a Namely field key; write 'namely_key' or \
                 'namely_key:Lessonly Field Name', e.g. 'employee_id, division:Division'"
            ));
        }
        mappings.push(CustomFieldMapping { namely_key: key.to_string(), lessonly_name: name.map(str::to_string) });
    }
    Ok(mappings)
}

/// The values a Lessonly user should have (only the selected standard fields are Some(..)/compared).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserFields {
    pub name: Option<String>,
    pub email: Option<String>,
    pub ext_uid: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub location: Option<String>,
    pub manager_name: Option<String>,
    pub hire_date: Option<String>,
    pub mobile_phone: Option<String>,
    /// (custom_user_field_id, value) — always by id, so Lessonly never creates a field.
    pub custom: Vec<(i64, String)>,
}

impl UserFields {
    fn slot(&mut self, field: StandardField) -> &mut Option<String> {
        match field {
            StandardField::Name => &mut self.name,
            StandardField::Email => &mut self.email,
            StandardField::JobTitle => &mut self.job_title,
            StandardField::Department => &mut self.department,
            StandardField::Location => &mut self.location,
            StandardField::ManagerName => &mut self.manager_name,
            StandardField::HireDate => &mut self.hire_date,
            StandardField::MobilePhone => &mut self.mobile_phone,
        }
    }
}

/// One field's change on an existing user, for people (None = empty).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What the sync does to the Lessonly user of one Namely profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UserAction {
    Create {
        fields: UserFields,
    },
    /// Only the changed fields are Some in `fields`; `changes` lists them old -> new for people. `restore` = the
    /// user is archived in Lessonly and must be restored first.
    Update {
        lessonly_id: i64,
        fields: UserFields,
        changes: Vec<FieldChange>,
        restore: bool,
    },
    Archive {
        lessonly_id: i64,
    },
    Unchanged {
        lessonly_id: i64,
    },
    Skip {
        reason: String,
    },
}

/// The action planned for one Namely profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedUser {
    pub namely_id: String,
    /// "Jane Doe <jane@x>" for people
    pub label: String,
    pub action: UserAction,
}

/// One group's membership changes. `lessonly_group_id` None = the group must be created first (named `name`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupChange {
    pub name: String,
    pub lessonly_group_id: Option<i64>,
    /// Namely ids of employees to add (the caller turns them into Lessonly user ids after creates).
    pub add: Vec<String>,
    /// Lessonly user ids to remove.
    pub remove: Vec<i64>,
    /// True when the group is archived in Lessonly and must be restored to be used.
    pub restore: bool,
}

/// Everything one run writes to Lessonly, plus what it could not do.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncPlan {
    /// One per Namely profile, in input order.
    pub users: Vec<PlannedUser>,
    /// Only groups with something to do, sorted by name.
    pub groups: Vec<GroupChange>,
    /// Configured custom fields that exist in no Lessonly user's data: reported, never created.
    pub missing_custom_fields: Vec<String>,
    /// Sentences for the run log (e.g. two Namely profiles share one email).
    pub warnings: Vec<String>,
}

impl SyncPlan {
    /// How many Lessonly writes the plan needs: one per create, archive, restore and changed user; per group one
    /// to create it, one to restore it and one for its membership changes.
    pub fn write_count(&self) -> usize {
        let users = self.users.iter().map(|u| match &u.action {
            UserAction::Create { .. } | UserAction::Archive { .. } => 1,
            UserAction::Update { changes, restore, .. } => usize::from(!changes.is_empty()) + usize::from(*restore),
            UserAction::Unchanged { .. } | UserAction::Skip { .. } => 0,
        });
        let groups = self.groups.iter().map(|g| {
            usize::from(g.lessonly_group_id.is_none())
                + usize::from(g.restore)
                + usize::from(!g.add.is_empty() || !g.remove.is_empty())
        });
        users.sum::<usize>() + groups.sum::<usize>()
    }

    /// True when Lessonly already matches Namely.
    pub fn is_empty(&self) -> bool {
        self.write_count() == 0
    }
}

/// Characters Lessonly rejects in a user's name.
const NAME_REJECTS: &[char] = &['!', '@', '#', '$', '%', '^', '&', '*', '+', '=', '(', ')', '\\', '|', '[', ']', ';'];

fn single_spaces(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn fold_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Group names match case-insensitively, ignoring extra spaces.
fn fold_group(name: &str) -> String {
    single_spaces(name).to_lowercase()
}

/// Custom field names match case-insensitively with `_` and ` ` alike.
fn fold_field(name: &str) -> String {
    let parts = name.split(|c: char| c == '_' || c.is_whitespace()).filter(|p| !p.is_empty());
    parts.collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The person's name as people read it: preferred (or first) name and last name.
fn person_name(e: &Employee) -> Option<String> {
    let preferred = clean(e.preferred_name.as_deref());
    let first = preferred.or(clean(e.first_name.as_deref()));
    let mut last = clean(e.last_name.as_deref());
    // Namely's preferred name usually replaces only the first name, but some people enter it in full.
    if let (Some(p), Some(l)) = (preferred, last) {
        let (p_low, l_low) = (p.to_lowercase(), l.to_lowercase());
        let ends_with_last = p_low.strip_suffix(&l_low).is_some_and(|rest| rest.ends_with(char::is_whitespace));
        if p.split_whitespace().count() > 1 && ends_with_last {
            last = None;
        }
    }
    let name = single_spaces(&[first.unwrap_or(""), last.unwrap_or("")].join(" "));
    Some(name).filter(|n| !n.is_empty())
}

/// The name Lessonly gets: the person's name, else the email's local part, without the characters it rejects.
fn lessonly_name(e: &Employee) -> Option<String> {
    let strip = |s: &str| single_spaces(&s.replace(NAME_REJECTS, " "));
    let from_email = || clean(e.email.as_deref()).and_then(|m| m.split('@').next()).map(strip);
    person_name(e).map(|n| strip(&n)).filter(|n| !n.is_empty()).or_else(from_email).filter(|n| !n.is_empty())
}

fn label(e: &Employee) -> String {
    person_label(person_name(e).as_deref(), e.email.as_deref()).unwrap_or_else(|| e.namely_id.trim().to_string())
}

/// The value Namely says the Lessonly field should have.
fn wanted(e: &Employee, field: StandardField) -> Option<String> {
    let text = |v: &Option<String>| clean(v.as_deref()).map(str::to_string);
    match field {
        StandardField::Name => lessonly_name(e),
        StandardField::Email => text(&e.email),
        StandardField::JobTitle => text(&e.job_title),
        StandardField::Department => text(&e.department),
        StandardField::Location => text(&e.location),
        StandardField::ManagerName => text(&e.manager_name),
        StandardField::HireDate => e.hire_date.map(|d| d.format("%Y-%m-%d").to_string()),
        StandardField::MobilePhone => text(&e.mobile_phone),
    }
}

fn current(l: &Learner, field: StandardField) -> Option<&str> {
    let value = match field {
        StandardField::Name => &l.name,
        StandardField::Email => &l.email,
        StandardField::JobTitle => &l.job_title,
        StandardField::Department => &l.department,
        StandardField::Location => &l.location,
        StandardField::ManagerName => &l.manager_name,
        StandardField::HireDate => &l.hire_date,
        StandardField::MobilePhone => &l.mobile_phone,
    };
    clean(value.as_deref())
}

/// Whether two values are the same for Lessonly: trimmed, blank = missing, emails in any case, dates by day.
fn same(field: StandardField, a: Option<&str>, b: Option<&str>) -> bool {
    let norm = |v: Option<&str>| {
        clean(v).map(|v| match field {
            StandardField::Email => v.to_lowercase(),
            // Lessonly may echo a date with a time part; only the day is synced.
            StandardField::HireDate => {
                v.get(..10).filter(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()).unwrap_or(v).to_string()
            }
            _ => v.to_string(),
        })
    };
    norm(a) == norm(b)
}

/// Learner index to use among several candidates: the first one not archived, else the first.
fn best(candidates: &[usize], learners: &[Learner]) -> Option<usize> {
    candidates.iter().copied().find(|&i| !learners[i].archived).or_else(|| candidates.first().copied())
}

/// A configured custom field that exists in Lessonly.
struct Resolved<'a> {
    namely_key: &'a str,
    field: &'a KnownField,
}

/// Where one employee ended up: the learner it is linked to and whether it counts for group membership.
#[derive(Clone, Copy, Default)]
struct Placed {
    learner: Option<usize>,
    syncs: bool,
}

/// What the planner keeps of each employee it has planned: enough for warnings and for groups.
struct Member {
    namely_id: String,
    label: String,
    /// The group names the employee's department and tier give.
    groups: Vec<String>,
    place: Placed,
}

/// The learner an employee's email leads to, if the profiles seen so far can tell.
enum Found {
    Learner(usize),
    Nobody,
    /// A user with that email carries an ext_uid no profile seen so far has: whether it is another
    /// profile's user is only known once every profile has been seen.
    NotYet,
}

/// Plans Namely profiles a page at a time, so a sync can write each page while reading the next.
///
/// Matching needs every Lessonly user up front (the caller reads them first); it also needs to know
/// whether an ext_uid is some Namely profile's id. An employee whose email leads to a user with an
/// ext_uid not seen yet is held back until [`Planner::finish`]. Groups are planned at the end, with
/// every employee placed.
pub struct Planner<'a> {
    learners: &'a [Learner],
    groups: &'a [LessonlyGroup],
    settings: &'a SyncSettings,
    custom: Vec<Resolved<'a>>,
    by_ext_uid: HashMap<&'a str, Vec<usize>>,
    by_email: HashMap<String, Vec<usize>>,
    /// Namely ids of every profile seen so far.
    seen: HashSet<String>,
    /// True once every profile has been seen, so an ext_uid not among them is nobody's.
    complete: bool,
    members: Vec<Member>,
    held_back: Vec<Employee>,
    /// Learner index -> member index that claimed it.
    linked: HashMap<usize, usize>,
    /// Folded email -> member index whose Lessonly user holds (or will hold) it.
    emails: HashMap<String, usize>,
    warnings: Vec<String>,
    missing_custom_fields: Vec<String>,
}

/// Computes the SyncPlan that makes Lessonly match Namely.
///
/// `employees` are all Namely profiles (every status); `learners` all Lessonly users including archived ones;
/// `groups` all Lessonly groups; `known_fields` the custom user fields seen on users. See the module tests for
/// every rule: matching by ext_uid then email, archiving inactive people, partial updates of the selected fields,
/// custom fields by id only, and group membership for the department and job tier groups the sync manages.
pub fn plan(
    employees: &[Employee],
    learners: &[Learner],
    groups: &[LessonlyGroup],
    known_fields: &[KnownField],
    settings: &SyncSettings,
) -> SyncPlan {
    let mut planner = Planner::new(learners, groups, known_fields, settings);
    // Every profile is here, so nothing needs holding back.
    planner.complete = true;
    let mut users = planner.page(employees);
    let mut rest = planner.finish();
    users.append(&mut rest.users);
    SyncPlan { users, ..rest }
}

/// Resolves each configured custom field to a Lessonly field id; unresolved ones go to `missing`.
fn resolve_custom<'a>(
    settings: &'a SyncSettings,
    known: &'a [KnownField],
    missing: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Vec<Resolved<'a>> {
    let mut resolved: Vec<Resolved> = Vec::new();
    for mapping in &settings.custom_fields {
        let name = mapping.configured_name();
        let Some(field) = known.iter().find(|k| fold_field(&k.name) == fold_field(name)) else {
            if !missing.iter().any(|m| fold_field(m) == fold_field(name)) {
                missing.push(name.to_string());
            }
            continue;
        };
        // Two values for one field would overwrite each other on every run.
        if let Some(first) = resolved.iter().find(|r| r.field.id == field.id) {
            warnings.push(format!(
                "Namely fields '{}' and '{}' both map to the Lessonly field '{}'; only '{}' is synced.",
                first.namely_key, mapping.namely_key, field.name, first.namely_key
            ));
            continue;
        }
        resolved.push(Resolved { namely_key: &mapping.namely_key, field });
    }
    resolved
}

impl<'a> Planner<'a> {
    /// A planner over every Lessonly user (archived ones too), group and known custom field.
    pub fn new(
        learners: &'a [Learner],
        groups: &'a [LessonlyGroup],
        known_fields: &'a [KnownField],
        settings: &'a SyncSettings,
    ) -> Planner<'a> {
        let (mut missing_custom_fields, mut warnings) = (Vec::new(), Vec::new());
        let custom = resolve_custom(settings, known_fields, &mut missing_custom_fields, &mut warnings);
        let mut by_ext_uid: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_email: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, l) in learners.iter().enumerate() {
            if let Some(ext) = clean(l.ext_uid.as_deref()) {
                by_ext_uid.entry(ext).or_default().push(i);
            }
            if let Some(email) = clean(l.email.as_deref()) {
                by_email.entry(fold_email(email)).or_default().push(i);
            }
        }
        Planner {
            learners,
            groups,
            settings,
            custom,
            by_ext_uid,
            by_email,
            seen: HashSet::new(),
            complete: false,
            members: Vec::new(),
            held_back: Vec::new(),
            linked: HashMap::new(),
            emails: HashMap::new(),
            warnings,
            missing_custom_fields,
        }
    }

    /// Plans one page of profiles, in order; an employee that cannot be decided yet comes from
    /// [`Planner::finish`] instead.
    pub fn page(&mut self, employees: &[Employee]) -> Vec<PlannedUser> {
        let ids = employees.iter().map(|e| e.namely_id.trim()).filter(|id| !id.is_empty());
        self.seen.extend(ids.map(str::to_string));
        let mut users = Vec::with_capacity(employees.len());
        for e in employees {
            match self.user(e) {
                Some(action) => {
                    users.push(PlannedUser { namely_id: e.namely_id.trim().to_string(), label: label(e), action })
                }
                None => self.held_back.push(e.clone()),
            }
        }
        users
    }

    /// After the last page: the employees held back, the groups' changes, the warnings and the
    /// custom fields Lessonly lacks. Called once; what it gives is taken from the planner.
    pub fn finish(&mut self) -> SyncPlan {
        self.complete = true;
        let held_back = std::mem::take(&mut self.held_back);
        let users: Vec<PlannedUser> = held_back
            .iter()
            .filter_map(|e| {
                let action = self.user(e)?;
                Some(PlannedUser { namely_id: e.namely_id.trim().to_string(), label: label(e), action })
            })
            .collect();
        SyncPlan {
            users,
            groups: plan_groups(&self.members, self.learners, self.groups, self.settings.groups_from),
            missing_custom_fields: std::mem::take(&mut self.missing_custom_fields),
            warnings: std::mem::take(&mut self.warnings),
        }
    }

    fn selected(&self, field: StandardField) -> bool {
        self.settings.fields.contains(&field)
    }

    /// The learner this employee is: same ext_uid, else same email unless that user belongs to another profile.
    fn find(&self, e: &Employee) -> Found {
        if let Some(found) = self.by_ext_uid.get(e.namely_id.trim()) {
            return best(found, self.learners).map_or(Found::Nobody, Found::Learner);
        }
        let Some(email) = clean(e.email.as_deref()).map(fold_email) else { return Found::Nobody };
        let candidates = self.by_email.get(&email).into_iter().flatten().copied();
        let mut free = Vec::new();
        for i in candidates {
            match clean(self.learners[i].ext_uid.as_deref()) {
                None => free.push(i),
                Some(ext) if self.seen.contains(ext) => {}
                Some(_) if self.complete => free.push(i),
                Some(_) => return Found::NotYet,
            }
        }
        best(&free, self.learners).map_or(Found::Nobody, Found::Learner)
    }

    /// Plans one employee and remembers it; None = held back until every profile is seen.
    fn user(&mut self, e: &Employee) -> Option<UserAction> {
        let found = match self.find(e) {
            Found::NotYet => return None,
            Found::Learner(li) => Some(li),
            Found::Nobody => None,
        };
        let (action, place) = self.decide(e, found);
        let groups = group_names(e, self.settings.groups_from).into_iter().map(str::to_string).collect();
        self.members.push(Member { namely_id: e.namely_id.trim().to_string(), label: label(e), groups, place });
        Some(action)
    }

    /// The action for an employee about to become member `self.members.len()`, and where it lands.
    fn decide(&mut self, e: &Employee, found: Option<usize>) -> (UserAction, Placed) {
        let learners = self.learners;
        let me = self.members.len();
        let skip = |reason: String| (UserAction::Skip { reason }, Placed::default());
        if e.namely_id.trim().is_empty() {
            return skip("no Namely id".to_string());
        }
        let inactive = is_inactive(e.user_status.as_deref());
        let email = clean(e.email.as_deref());
        if let Some(li) = found {
            let learner = &learners[li];
            if let Some(&other) = self.linked.get(&li) {
                let other = self.members[other].label.clone();
                self.warnings.push(format!(
                    "Namely profiles {other} and {} both match Lessonly user #{}; only the first is synced.",
                    label(e),
                    learner.id
                ));
                return skip(format!("Lessonly user #{} is already linked to {other}", learner.id));
            }
            self.linked.insert(li, me);
            let place = Placed { learner: Some(li), syncs: !inactive };
            if inactive {
                let action = if learner.archived {
                    UserAction::Unchanged { lessonly_id: learner.id }
                } else {
                    UserAction::Archive { lessonly_id: learner.id }
                };
                return (action, place);
            }
            if let Some(email) = email {
                self.emails.entry(fold_email(email)).or_insert(me);
            }
            return (self.update(e, li, me), place);
        }
        if inactive {
            return skip("inactive in Namely and not in Lessonly".to_string());
        }
        let Some(email) = email else {
            return skip("no email in Namely".to_string());
        };
        let key = fold_email(email);
        if let Some(&other) = self.emails.get(&key) {
            let other = self.members[other].label.clone();
            self.warnings.push(format!(
                "Namely profiles {other} and {} share the email {email}; only the first is synced.",
                label(e)
            ));
            return skip(format!("email {email} is also on {other}"));
        }
        // Only reachable when that user's ext_uid is another profile's id: Lessonly would reject a second user.
        if let Some(&li) = self.by_email.get(&key).and_then(|found| found.first()) {
            let holder = &learners[li];
            let owner = clean(holder.ext_uid.as_deref()).unwrap_or_default();
            self.warnings.push(format!(
                "{} was not created: Lessonly user #{} already has the email {email} and belongs to Namely profile {owner}.",
                label(e),
                holder.id
            ));
            return skip(format!("email {email} belongs to Lessonly user #{} (Namely profile {owner})", holder.id));
        }
        self.emails.insert(key, me);
        (UserAction::Create { fields: self.create_fields(e) }, Placed { learner: None, syncs: true })
    }

    fn create_fields(&self, e: &Employee) -> UserFields {
        let mut fields = UserFields { ext_uid: Some(e.namely_id.trim().to_string()), ..UserFields::default() };
        for field in StandardField::ALL {
            // Lessonly requires name and email on create, whatever is selected.
            if field.required() || self.selected(field) {
                *fields.slot(field) = wanted(e, field);
            }
        }
        for r in &self.custom {
            if let Some(value) = custom_value(e, r.namely_key).filter(|v| !v.is_empty()) {
                fields.custom.push((r.field.id, value));
            }
        }
        fields
    }

    fn update(&mut self, e: &Employee, li: usize, me: usize) -> UserAction {
        let learners = self.learners;
        let l = &learners[li];
        let mut fields = UserFields::default();
        let mut changes = Vec::new();
        let id = e.namely_id.trim();
        let have_ext = clean(l.ext_uid.as_deref());
        if have_ext != Some(id) {
            fields.ext_uid = Some(id.to_string());
            changes.push(change("ext_uid", have_ext, Some(id)));
        }
        let selected: Vec<StandardField> = StandardField::ALL.into_iter().filter(|&f| self.selected(f)).collect();
        for field in selected {
            let (want, have) = (wanted(e, field), current(l, field));
            if same(field, want.as_deref(), have) {
                continue;
            }
            match want {
                Some(value) => {
                    if field == StandardField::Email && self.email_taken(&value, me, li) {
                        continue;
                    }
                    changes.push(change(field.key(), have, Some(&value)));
                    *fields.slot(field) = Some(value);
                }
                None if field.required() => {}
                None => {
                    // An empty string is how a partial update clears a Lessonly field.
                    changes.push(change(field.key(), have, None));
                    *fields.slot(field) = Some(String::new());
                }
            }
        }
        for r in &self.custom {
            let Some(value) = custom_value(e, r.namely_key) else { continue };
            let have = l.custom.iter().find(|(id, _, _)| *id == r.field.id).and_then(|(_, _, v)| clean(v.as_deref()));
            if clean(Some(&value)) != have {
                changes.push(change(&r.field.name, have, clean(Some(&value))));
                fields.custom.push((r.field.id, value));
            }
        }
        if changes.is_empty() && !l.archived {
            UserAction::Unchanged { lessonly_id: l.id }
        } else {
            UserAction::Update { lessonly_id: l.id, fields, changes, restore: l.archived }
        }
    }

    /// True (with a warning) when another Lessonly user or profile already has the email this user would get.
    fn email_taken(&mut self, email: &str, me: usize, li: usize) -> bool {
        let key = fold_email(email);
        let other_learner = self.by_email.get(&key).into_iter().flatten().find(|&&i| i != li);
        let holder = match (other_learner, self.emails.get(&key)) {
            (Some(&i), _) => format!("Lessonly user #{}", self.learners[i].id),
            (None, Some(&other)) if other != me => self.members[other].label.clone(),
            _ => return false,
        };
        self.warnings.push(format!(
            "The email of Lessonly user #{} was not changed to {email}: {holder} already has it.",
            self.learners[li].id
        ));
        true
    }
}

fn change(field: &str, old: Option<&str>, new: Option<&str>) -> FieldChange {
    FieldChange { field: field.to_string(), old: old.map(str::to_string), new: new.map(str::to_string) }
}

/// The employee's value for a Namely key, trimmed (Some("") = present but blank); exact key first, then any case.
fn custom_value(e: &Employee, key: &str) -> Option<String> {
    let value =
        e.fields.get(key).or_else(|| e.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v));
    value.map(|v| v.trim().to_string())
}

/// The group names an employee's values give, department first (empty values give none).
fn group_names(e: &Employee, from: GroupsFrom) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    let sources = [(from.department, &e.department), (from.job_tier, &e.job_tier)];
    for (on, value) in sources {
        if let Some(name) = clean(value.as_deref()).filter(|_| on) {
            if !names.iter().any(|n| fold_group(n) == fold_group(name)) {
                names.push(name);
            }
        }
    }
    names
}

/// A group the sync manages: its name and the members that belong in it.
struct Managed {
    name: String,
    wanted_by: Vec<usize>,
}

fn plan_groups(
    members: &[Member],
    learners: &[Learner],
    groups: &[LessonlyGroup],
    from: GroupsFrom,
) -> Vec<GroupChange> {
    let mut managed: BTreeMap<String, Managed> = BTreeMap::new();
    let mut wants: Vec<HashSet<String>> = vec![HashSet::new(); members.len()];
    for (mi, m) in members.iter().enumerate().filter(|(_, m)| m.place.syncs) {
        for name in &m.groups {
            let key = fold_group(name);
            let entry = managed.entry(key.clone()).or_insert_with(|| Managed { name: name.clone(), wanted_by: vec![] });
            entry.wanted_by.push(mi);
            wants[mi].insert(key);
        }
    }
    // A group named after anyone's department or tier is the sync's, even when nobody belongs in it any more;
    // the department Lessonly still shows is the one a person just left.
    let previous = members.iter().filter_map(|m| m.place.learner).filter(|_| from.department);
    let previous = previous.filter_map(|li| clean(learners[li].department.as_deref()));
    for name in members.iter().flat_map(|m| m.groups.iter().map(String::as_str)).chain(previous) {
        let key = fold_group(name);
        if groups.iter().any(|g| fold_group(&g.name) == key) {
            managed.entry(key).or_insert_with(|| Managed { name: name.to_string(), wanted_by: vec![] });
        }
    }
    let mut changes = Vec::new();
    for (key, group) in managed {
        let matching: Vec<&LessonlyGroup> = groups.iter().filter(|g| fold_group(&g.name) == key).collect();
        let existing = matching.iter().find(|g| !g.archived).or(matching.first()).copied();
        let wanted = !group.wanted_by.is_empty();
        let Some(existing) = existing else {
            let add = group.wanted_by.iter().map(|&mi| members[mi].namely_id.clone()).collect();
            changes.push(GroupChange {
                name: group.name,
                lessonly_group_id: None,
                add,
                remove: vec![],
                restore: false,
            });
            continue;
        };
        // An archived group nobody belongs in is left as it is.
        if existing.archived && !wanted {
            continue;
        }
        let member = |li: usize| learners[li].groups.contains(&existing.id);
        let add: Vec<String> = group
            .wanted_by
            .iter()
            .filter(|&&mi| members[mi].place.learner.is_none_or(|li| !member(li)))
            .map(|&mi| members[mi].namely_id.clone())
            .collect();
        let mut remove: Vec<i64> = members
            .iter()
            .enumerate()
            .filter_map(|(mi, m)| m.place.learner.filter(|&li| member(li) && !wants[mi].contains(&key)))
            .map(|li| learners[li].id)
            .collect();
        remove.sort_unstable();
        remove.dedup();
        let restore = existing.archived;
        if !add.is_empty() || !remove.is_empty() || restore {
            changes.push(GroupChange {
                name: existing.name.clone(),
                lessonly_group_id: Some(existing.id),
                add,
                remove,
                restore,
            });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PAUL: &str = "8e8befc7-d637-4ff9-97a1-d99c5cb1ff7f";
    const MARIA: &str = "3be1f0a4-5c2e-4b8e-9d51-2f6a7c1e0b93";
    const SALES: i64 = 38780;
    const ENGINEERING: i64 = 38781;
    const ONBOARDING: i64 = 38790;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    /// Paul East from Namely's recorded profile, with department, tier and manager resolved by the caller.
    fn paul() -> Employee {
        Employee {
            namely_id: PAUL.into(),
            email: some("p.east@example.com"),
            first_name: some("Paul"),
            last_name: some("East"),
            preferred_name: None,
            user_status: some("active"),
            job_title: some("Account Executive"),
            department: some("Sales"),
            job_tier: some("Individual Contributor"),
            location: some("New York"),
            manager_name: some("Mary Doe"),
            hire_date: Some(date("2015-10-27")),
            mobile_phone: some("555-555-11-11"),
            fields: BTreeMap::from([
                ("employee_id".into(), "emp_number_123".into()),
                ("division".into(), "East".into()),
                ("employee_type".into(), "Full Time".into()),
            ]),
        }
    }

    /// A new engineer who has no Lessonly user yet.
    fn maria() -> Employee {
        Employee {
            namely_id: MARIA.into(),
            email: some("maria.cruz@example.com"),
            first_name: some("Maria"),
            last_name: some("de la Cruz"),
            user_status: some("active"),
            job_title: some("Back End Software Engineer"),
            department: some("Engineering"),
            job_tier: some("Senior"),
            location: some("San Francisco"),
            manager_name: some("Paul East"),
            hire_date: Some(date("2021-03-01")),
            fields: BTreeMap::from([
                ("employee_id".into(), "emp_number_207".into()),
                ("division".into(), "West".into()),
            ]),
            ..Employee::default()
        }
    }

    /// A profile with only the fields Namely always returns.
    fn person(id: &str, first: &str, last: &str, email: &str) -> Employee {
        Employee {
            namely_id: id.into(),
            email: some(email),
            first_name: some(first),
            last_name: some(last),
            user_status: some("active"),
            ..Employee::default()
        }
    }

    /// Paul's Lessonly user, in step with Namely (v1.1 list shape).
    fn paul_learner() -> Learner {
        Learner {
            id: 544551,
            email: some("p.east@example.com"),
            ext_uid: some(PAUL),
            name: some("Paul East"),
            job_title: some("Account Executive"),
            department: some("Sales"),
            location: some("New York"),
            manager_name: some("Mary Doe"),
            hire_date: some("2015-10-27"),
            mobile_phone: some("555-555-11-11"),
            archived: false,
            custom: vec![(11, "Employee ID".into(), some("emp_number_123")), (12, "Division".into(), some("East"))],
            groups: vec![SALES, ONBOARDING],
        }
    }

    /// A Lessonly user with only what the minimal create fixture records.
    fn learner(id: i64, name: &str, email: &str, ext_uid: Option<&str>) -> Learner {
        Learner { id, name: some(name), email: some(email), ext_uid: ext_uid.map(str::to_string), ..Learner::default() }
    }

    fn known() -> Vec<KnownField> {
        vec![KnownField { id: 11, name: "Employee ID".into() }, KnownField { id: 12, name: "Division".into() }]
    }

    fn group(id: i64, name: &str, archived: bool) -> LessonlyGroup {
        LessonlyGroup { id, name: name.into(), archived }
    }

    fn lessonly_groups() -> Vec<LessonlyGroup> {
        vec![
            group(SALES, "Sales", false),
            group(ENGINEERING, "Engineering", false),
            group(ONBOARDING, "Onboarding Cohort", false),
        ]
    }

    fn settings() -> SyncSettings {
        SyncSettings::parse("all", "department", "employee_id, division:Division").unwrap()
    }

    fn run(employees: &[Employee], learners: &[Learner]) -> SyncPlan {
        plan(employees, learners, &lessonly_groups(), &known(), &settings())
    }

    fn run_with(employees: &[Employee], learners: &[Learner], settings: &SyncSettings) -> SyncPlan {
        plan(employees, learners, &lessonly_groups(), &known(), settings)
    }

    /// The (field, old, new) of an Update, or a panic naming the action.
    fn changes(action: &UserAction) -> Vec<(&str, Option<&str>, Option<&str>)> {
        match action {
            UserAction::Update { changes, .. } => {
                changes.iter().map(|c| (c.field.as_str(), c.old.as_deref(), c.new.as_deref())).collect()
            }
            other => panic!("expected an update, got {other:?}"),
        }
    }

    fn update_fields(action: &UserAction) -> &UserFields {
        match action {
            UserAction::Update { fields, .. } | UserAction::Create { fields } => fields,
            other => panic!("expected a create or update, got {other:?}"),
        }
    }

    fn skip_reason(action: &UserAction) -> &str {
        match action {
            UserAction::Skip { reason } => reason,
            other => panic!("expected a skip, got {other:?}"),
        }
    }

    #[test]
    fn fields_setting_reads_all_none_and_lists() {
        use StandardField::*;
        assert_eq!(SyncSettings::parse("all", "none", "").unwrap().fields, StandardField::ALL.to_vec());
        assert_eq!(SyncSettings::parse(" ALL ", "none", "").unwrap().fields, StandardField::ALL.to_vec());
        assert_eq!(SyncSettings::parse("none", "none", "").unwrap().fields, vec![]);
        let listed = SyncSettings::parse(" Name, job title ,JOB_TITLE, hire-date,", "none", "").unwrap();
        assert_eq!(listed.fields, vec![Name, JobTitle, HireDate]);
        // Unset settings: keep every field current, make no groups, map no custom fields.
        let unset = SyncSettings::parse("", " ", "").unwrap();
        assert_eq!(unset.fields, StandardField::ALL.to_vec());
        assert_eq!(unset.groups_from, GroupsFrom::default());
        assert_eq!(unset.custom_fields, vec![]);
    }

    #[test]
    fn groups_setting_reads_department_and_job_tier() {
        let from = |text: &str| SyncSettings::parse("all", text, "").unwrap().groups_from;
        assert_eq!(from("department"), GroupsFrom { department: true, job_tier: false });
        assert_eq!(from("Job Tier"), GroupsFrom { department: false, job_tier: true });
        assert_eq!(from("job_tier, department"), GroupsFrom { department: true, job_tier: true });
        assert_eq!(from("none"), GroupsFrom::default());
    }

    #[test]
    fn custom_setting_reads_namely_keys_and_lessonly_names() {
        let custom = SyncSettings::parse("all", "none", " employee_id, division:Division ,, cost_center: ").unwrap();
        let mapping = |key: &str, name: Option<&str>| CustomFieldMapping {
            namely_key: key.into(),
            lessonly_name: name.map(str::to_string),
        };
        assert_eq!(
            custom.custom_fields,
            vec![mapping("employee_id", None), mapping("division", Some("Division")), mapping("cost_center", None)]
        );
    }

    #[test]
    fn settings_errors_name_the_bad_word_and_the_valid_ones() {
        let err = SyncSettings::parse("name,title", "none", "").unwrap_err();
        assert!(err.contains("'title'") && err.contains("job_title") && err.contains("mobile_phone"), "{err}");
        let err = SyncSettings::parse("all,name", "none", "").unwrap_err();
        assert!(err.contains("'all'") && err.contains("alone"), "{err}");
        let err = SyncSettings::parse("all", "team", "").unwrap_err();
        assert!(err.contains("'team'") && err.contains("'department'") && err.contains("'job_tier'"), "{err}");
        let err = SyncSettings::parse("all", "none, department", "").unwrap_err();
        assert!(err.contains("'none'"), "{err}");
        let err = SyncSettings::parse("all", "none", "employee_id, :Division").unwrap_err();
        assert!(err.contains("':Division'") && err.contains("namely_key:Lessonly Field Name"), "{err}");
    }

    #[test]
    fn user_in_step_with_namely_is_unchanged() {
        let plan = run(&[paul()], &[paul_learner()]);
        assert_eq!(plan.users[0].action, UserAction::Unchanged { lessonly_id: 544551 });
        assert!(plan.groups.is_empty() && plan.warnings.is_empty() && plan.missing_custom_fields.is_empty());
        assert!(plan.is_empty());
    }

    #[test]
    fn learner_with_the_namely_id_is_matched_after_an_email_change() {
        let mut employee = paul();
        employee.email = some("paul.east@example.com");
        let plan = run(&[employee], &[paul_learner()]);
        let action = &plan.users[0].action;
        assert_eq!(changes(action), vec![("email", Some("p.east@example.com"), Some("paul.east@example.com"))]);
        assert_eq!(
            *update_fields(action),
            UserFields { email: some("paul.east@example.com"), ..UserFields::default() },
            "only the changed field is sent"
        );
    }

    #[test]
    fn learner_found_by_email_gets_the_namely_id() {
        let mut by_email = paul_learner();
        by_email.ext_uid = None;
        by_email.email = some("  P.East@Example.com ");
        let plan = run(&[paul()], &[by_email]);
        let action = &plan.users[0].action;
        assert_eq!(changes(action), vec![("ext_uid", None, Some(PAUL))]);
        assert_eq!(update_fields(action).ext_uid.as_deref(), Some(PAUL));

        // An ext_uid from some other system (not a Namely profile in this run) is replaced.
        let mut legacy = paul_learner();
        legacy.ext_uid = some("ADP-00042");
        let plan = run(&[paul()], &[legacy]);
        assert_eq!(changes(&plan.users[0].action), vec![("ext_uid", Some("ADP-00042"), Some(PAUL))]);
    }

    #[test]
    fn email_match_never_takes_another_profiles_learner() {
        // A rehire: the old profile is inactive, the new one has the same email, Lessonly has the old one's user.
        let old_id = "c9a2d4e1-7b3f-4e0a-8f61-5d2b9e7a1c04";
        let mut old = paul();
        old.namely_id = old_id.into();
        old.user_status = some("inactive");
        let mut user = paul_learner();
        user.ext_uid = some(old_id);
        let plan = run(&[paul(), old], &[user]);
        let reason = skip_reason(&plan.users[0].action);
        assert!(reason.contains("#544551") && reason.contains(old_id), "{reason}");
        assert_eq!(plan.users[1].action, UserAction::Archive { lessonly_id: 544551 });
        assert_eq!(plan.warnings.len(), 1);
        assert!(plan.warnings[0].contains("Paul East <p.east@example.com>"), "{}", plan.warnings[0]);
    }

    #[test]
    fn a_learner_is_linked_to_one_profile_only() {
        let mut contractor = paul();
        contractor.namely_id = "0d6f3b8a-2c41-4f7e-a935-8e1c7b2d6f50".into();
        contractor.first_name = some("Paul (contractor)");
        let mut user = paul_learner();
        user.ext_uid = None;
        let plan = run(&[paul(), contractor], &[user]);
        assert_eq!(changes(&plan.users[0].action), vec![("ext_uid", None, Some(PAUL))]);
        assert!(skip_reason(&plan.users[1].action).contains("already linked to Paul East <p.east@example.com>"));
        let warning = &plan.warnings[0];
        assert!(warning.contains("Paul East <") && warning.contains("Paul (contractor) East <"), "{warning}");
        assert!(warning.contains("#544551"), "{warning}");
    }

    #[test]
    fn two_profiles_with_one_email_create_one_user() {
        let first = person("6b1e0c7d-4a2f-4d39-b8e5-0f9c3a7d2e11", "Jon", "Smith", "jon.smith@example.com");
        let second = person("a47d2e9f-1b8c-4e63-9f20-7c5e8b3a1d62", "Jonathan", "Smith", " Jon.Smith@example.com");
        let plan = run(&[first, second], &[]);
        assert!(matches!(plan.users[0].action, UserAction::Create { .. }));
        assert_eq!(
            skip_reason(&plan.users[1].action),
            "email Jon.Smith@example.com is also on Jon Smith <jon.smith@example.com>"
        );
        assert_eq!(
            plan.warnings,
            vec![
                "Namely profiles Jon Smith <jon.smith@example.com> and Jonathan Smith <Jon.Smith@example.com> share \
                 the email Jon.Smith@example.com; only the first is synced."
            ]
        );
    }

    #[test]
    fn inactive_profiles_are_archived_or_left_alone() {
        let mut leaver = paul();
        leaver.user_status = some("Inactive");
        let plan = run(&[leaver.clone()], &[paul_learner()]);
        assert_eq!(plan.users[0].action, UserAction::Archive { lessonly_id: 544551 });

        let mut archived = paul_learner();
        archived.archived = true;
        archived.groups.clear();
        let plan = run(&[leaver.clone()], &[archived]);
        assert_eq!(plan.users[0].action, UserAction::Unchanged { lessonly_id: 544551 });

        let plan = run(&[leaver], &[]);
        assert_eq!(skip_reason(&plan.users[0].action), "inactive in Namely and not in Lessonly");
        assert!(plan.is_empty());
    }

    #[test]
    fn pending_and_unset_status_are_synced_like_active() {
        let mut pending = maria();
        pending.user_status = some("pending");
        let mut unset = person("e2b7c9d1-3f4a-4b6e-8d05-1a9f2c7e4b38", "Ana", "Lima", "ana.lima@example.com");
        unset.user_status = None;
        let plan = run(&[pending, unset], &[]);
        assert!(plan.users.iter().all(|u| matches!(u.action, UserAction::Create { .. })), "{:?}", plan.users);
    }

    #[test]
    fn profile_without_email_is_skipped_unless_already_linked() {
        let mut no_email = maria();
        no_email.email = None;
        let plan = run(&[no_email], &[]);
        assert_eq!(skip_reason(&plan.users[0].action), "no email in Namely");

        // Linked by ext_uid: the Lessonly email stays (it is required), the rest is synced.
        let mut linked = paul();
        linked.email = Some("  ".into());
        linked.job_title = some("Senior Account Executive");
        let plan = run(&[linked], &[paul_learner()]);
        assert_eq!(
            changes(&plan.users[0].action),
            vec![("job_title", Some("Account Executive"), Some("Senior Account Executive"))]
        );
    }

    #[test]
    fn new_user_gets_name_email_ext_uid_and_the_selected_fields() {
        let plan = run(&[maria()], &[]);
        assert_eq!(
            plan.users[0].action,
            UserAction::Create {
                fields: UserFields {
                    name: some("Maria de la Cruz"),
                    email: some("maria.cruz@example.com"),
                    ext_uid: some(MARIA),
                    job_title: some("Back End Software Engineer"),
                    department: some("Engineering"),
                    location: some("San Francisco"),
                    manager_name: some("Paul East"),
                    hire_date: some("2021-03-01"),
                    mobile_phone: None,
                    custom: vec![(11, "emp_number_207".into()), (12, "West".into())],
                }
            }
        );
    }

    #[test]
    fn name_prefers_the_preferred_name_and_falls_back_to_the_email() {
        let name = |first: Option<&str>, last: Option<&str>, preferred: Option<&str>| {
            let e = Employee {
                first_name: first.map(str::to_string),
                last_name: last.map(str::to_string),
                preferred_name: preferred.map(str::to_string),
                ..paul()
            };
            lessonly_name(&e)
        };
        assert_eq!(name(Some("Paul"), Some("East"), None), some("Paul East"));
        // Namely's own full_name for preferred "Boss" is "Boss East".
        assert_eq!(name(Some("Paul"), Some("East"), Some("Boss")), some("Boss East"));
        assert_eq!(name(Some("Paul"), Some("East"), Some("Boss East")), some("Boss East"));
        assert_eq!(name(Some("  Mary   Ann "), Some("Smith"), Some(" ")), some("Mary Ann Smith"));
        assert_eq!(name(Some("Paul"), None, None), some("Paul"));
        assert_eq!(name(None, Some(""), None), some("p.east"));
    }

    #[test]
    fn name_drops_characters_lessonly_rejects() {
        let mut e = person("5c8e1a3b-9d2f-4a7c-b6e0-3f1d8c5a9b27", "Jane (JJ)", "O'Neil; Jr.", "jj+lms@example.com");
        assert_eq!(lessonly_name(&e), some("Jane JJ O'Neil Jr."));
        assert_eq!(label(&e), "Jane (JJ) O'Neil; Jr. <jj+lms@example.com>", "people see the Namely spelling");
        e.first_name = None;
        e.last_name = None;
        assert_eq!(lessonly_name(&e), some("jj lms"));
    }

    #[test]
    fn unselected_fields_are_neither_sent_nor_compared() {
        let only_name = SyncSettings::parse("name", "none", "").unwrap();
        let mut promoted = paul();
        promoted.job_title = some("Sales Director");
        promoted.location = None;
        assert_eq!(
            run_with(&[promoted], &[paul_learner()], &only_name).users[0].action,
            UserAction::Unchanged { lessonly_id: 544551 }
        );

        let plan = run_with(&[maria()], &[], &only_name);
        assert_eq!(
            *update_fields(&plan.users[0].action),
            UserFields {
                name: some("Maria de la Cruz"),
                email: some("maria.cruz@example.com"),
                ext_uid: some(MARIA),
                ..UserFields::default()
            },
            "name and email are always sent on create"
        );
    }

    #[test]
    fn comparison_ignores_spaces_blanks_email_case_and_time_of_day() {
        let mut employee = paul();
        employee.location = None;
        let mut user = paul_learner();
        user.job_title = some(" Account Executive ");
        user.email = some("P.EAST@example.com");
        user.location = some("");
        user.hire_date = some("2015-10-27T00:00:00.000-04:00");
        let plan = run(&[employee], &[user]);
        assert_eq!(plan.users[0].action, UserAction::Unchanged { lessonly_id: 544551 });
    }

    #[test]
    fn value_removed_in_namely_is_cleared_in_lessonly() {
        let mut employee = paul();
        employee.manager_name = None;
        employee.mobile_phone = Some(" ".into());
        let plan = run(&[employee], &[paul_learner()]);
        let action = &plan.users[0].action;
        assert_eq!(
            changes(action),
            vec![("manager_name", Some("Mary Doe"), None), ("mobile_phone", Some("555-555-11-11"), None)]
        );
        let fields = update_fields(action);
        assert_eq!((fields.manager_name.as_deref(), fields.mobile_phone.as_deref()), (Some(""), Some("")));
        assert_eq!(fields.name, None);
    }

    #[test]
    fn archived_learner_of_an_active_profile_is_restored() {
        let mut archived = paul_learner();
        archived.archived = true;
        let plan = run(&[paul()], &[archived.clone()]);
        assert_eq!(
            plan.users[0].action,
            UserAction::Update { lessonly_id: 544551, fields: UserFields::default(), changes: vec![], restore: true }
        );
        assert_eq!(plan.write_count(), 1);

        let mut moved = paul();
        moved.location = some("Boston");
        let plan = run(&[moved], &[archived]);
        assert_eq!(changes(&plan.users[0].action), vec![("location", Some("New York"), Some("Boston"))]);
        assert_eq!(plan.write_count(), 2, "restore, then update");
    }

    #[test]
    fn email_change_to_an_address_in_use_is_held_back() {
        let mut employee = paul();
        employee.email = some("maria.cruz@example.com");
        employee.job_title = some("Sales Director");
        let other = learner(544602, "Maria de la Cruz", "Maria.Cruz@example.com", Some("someone-else"));
        let plan = run(&[employee], &[paul_learner(), other]);
        assert_eq!(
            changes(&plan.users[0].action),
            vec![("job_title", Some("Account Executive"), Some("Sales Director"))]
        );
        assert_eq!(
            plan.warnings,
            vec!["The email of Lessonly user #544551 was not changed to maria.cruz@example.com: Lessonly user #544602 already has it."]
        );
    }

    #[test]
    fn custom_fields_are_matched_by_name_and_written_by_id() {
        let mut employee = paul();
        employee.fields.insert("division".into(), " West ".into());
        let known =
            vec![KnownField { id: 11, name: " employee  ID".into() }, KnownField { id: 12, name: "DIVISION".into() }];
        let plan = plan(&[employee], &[paul_learner()], &lessonly_groups(), &known, &settings());
        let action = &plan.users[0].action;
        assert_eq!(changes(action), vec![("DIVISION", Some("East"), Some("West"))]);
        assert_eq!(update_fields(action).custom, vec![(12, "West".to_string())]);
        assert!(plan.missing_custom_fields.is_empty());
    }

    #[test]
    fn custom_fields_missing_in_lessonly_are_reported_once_and_never_sent() {
        let settings =
            SyncSettings::parse("all", "none", "cost_center, division:Division, cost_center:Cost Center").unwrap();
        let mut employee = maria();
        employee.fields.insert("cost_center".into(), "CC-4410".into());
        let plan = run_with(&[employee], &[], &settings);
        assert_eq!(plan.missing_custom_fields, vec!["cost_center"]);
        assert_eq!(update_fields(&plan.users[0].action).custom, vec![(12, "West".to_string())]);
    }

    #[test]
    fn custom_value_absent_in_namely_is_left_alone_but_a_blank_one_clears() {
        let mut employee = paul();
        employee.fields.remove("employee_id");
        assert_eq!(
            run(&[employee.clone()], &[paul_learner()]).users[0].action,
            UserAction::Unchanged { lessonly_id: 544551 }
        );

        employee.fields.insert("division".into(), String::new());
        let action = run(&[employee], &[paul_learner()]).users.remove(0).action;
        assert_eq!(changes(&action), vec![("Division", Some("East"), None)]);
        assert_eq!(update_fields(&action).custom, vec![(12, String::new())]);
    }

    #[test]
    fn new_department_gets_a_new_group_with_its_members() {
        let mut moved = paul();
        moved.department = some("Customer Success");
        let mut hire = maria();
        hire.department = some("customer success ");
        let plan = run(&[moved, hire], &[paul_learner()]);
        let created = plan.groups.iter().find(|g| g.lessonly_group_id.is_none()).unwrap();
        assert_eq!(
            created,
            &GroupChange {
                name: "Customer Success".into(),
                lessonly_group_id: None,
                add: vec![PAUL.into(), MARIA.into()],
                remove: vec![],
                restore: false,
            }
        );
    }

    #[test]
    fn department_change_moves_the_learner_between_groups() {
        // Paul is the last one out of Sales: the department Lessonly still shows keeps Sales managed.
        let mut moved = paul();
        moved.department = some("engineering");
        let plan = run(&[moved], &[paul_learner()]);
        assert_eq!(
            plan.groups,
            vec![
                GroupChange {
                    name: "Engineering".into(),
                    lessonly_group_id: Some(ENGINEERING),
                    add: vec![PAUL.into()],
                    remove: vec![],
                    restore: false
                },
                GroupChange {
                    name: "Sales".into(),
                    lessonly_group_id: Some(SALES),
                    add: vec![],
                    remove: vec![544551],
                    restore: false
                },
            ]
        );
    }

    #[test]
    fn inactive_profiles_leave_managed_groups_and_nothing_else_is_touched() {
        let mut leaver = paul();
        leaver.user_status = some("inactive");
        // Someone Lessonly has that Namely does not know: never removed.
        let mut trainer = learner(544700, "Outside Trainer", "trainer@vendor.example", None);
        trainer.groups = vec![SALES];
        let plan = run(&[leaver], &[paul_learner(), trainer]);
        assert_eq!(plan.users[0].action, UserAction::Archive { lessonly_id: 544551 });
        assert_eq!(
            plan.groups,
            vec![GroupChange {
                name: "Sales".into(),
                lessonly_group_id: Some(SALES),
                add: vec![],
                remove: vec![544551],
                restore: false
            }]
        );
    }

    #[test]
    fn archived_group_is_restored_when_someone_belongs_in_it() {
        let mut groups = lessonly_groups();
        groups.push(group(38795, "Support", true));
        // Of a live and an archived group with one name, the live one is used.
        groups.push(group(38701, "SALES", true));
        let mut support = maria();
        support.department = some("support");
        let plan = plan(&[paul(), support], &[paul_learner()], &groups, &known(), &settings());
        assert_eq!(
            plan.groups,
            vec![GroupChange {
                name: "Support".into(),
                lessonly_group_id: Some(38795),
                add: vec![MARIA.into()],
                remove: vec![],
                restore: true
            }]
        );
    }

    #[test]
    fn job_tier_groups_only_when_selected() {
        let both = SyncSettings::parse("all", "department,job_tier", "").unwrap();
        let plan = run_with(&[paul()], &[paul_learner()], &both);
        assert_eq!(
            plan.groups,
            vec![GroupChange {
                name: "Individual Contributor".into(),
                lessonly_group_id: None,
                add: vec![PAUL.into()],
                remove: vec![],
                restore: false
            }]
        );

        // With tiers only, the Sales group is not the sync's and Paul stays in it.
        let tiers = SyncSettings::parse("all", "job_tier", "").unwrap();
        let plan = run_with(&[paul()], &[paul_learner()], &tiers);
        assert_eq!(plan.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), vec!["Individual Contributor"]);

        let none = SyncSettings::parse("all", "none", "").unwrap();
        assert!(run_with(&[maria()], &[], &none).groups.is_empty());
    }

    #[test]
    fn write_count_counts_each_lessonly_write() {
        let user = |action| PlannedUser { namely_id: PAUL.into(), label: "Paul East".into(), action };
        let update = |changes: usize, restore| UserAction::Update {
            lessonly_id: 1,
            fields: UserFields::default(),
            changes: vec![change("location", None, Some("Boston")); changes],
            restore,
        };
        let group = |id: Option<i64>, add: &[&str], remove: &[i64], restore| GroupChange {
            name: "Sales".into(),
            lessonly_group_id: id,
            add: add.iter().map(|s| s.to_string()).collect(),
            remove: remove.to_vec(),
            restore,
        };
        let plan = SyncPlan {
            users: vec![
                user(UserAction::Create { fields: UserFields::default() }),
                user(update(2, true)),
                user(update(0, true)),
                user(update(1, false)),
                user(UserAction::Archive { lessonly_id: 2 }),
                user(UserAction::Unchanged { lessonly_id: 3 }),
                user(UserAction::Skip { reason: "no email in Namely".into() }),
            ],
            groups: vec![
                group(None, &[PAUL], &[], false),
                group(Some(4), &[], &[5], true),
                group(Some(6), &[MARIA], &[7], false),
            ],
            ..SyncPlan::default()
        };
        assert_eq!(plan.write_count(), 1 + 2 + 1 + 1 + 1 + 2 + 2 + 1);
        assert!(!plan.is_empty());
        assert!(SyncPlan::default().is_empty());
    }

    #[test]
    fn labels_show_name_and_email_or_the_namely_id() {
        assert_eq!(label(&paul()), "Paul East <p.east@example.com>");
        let mut e = paul();
        e.email = None;
        assert_eq!(label(&e), "Paul East");
        e.first_name = None;
        e.last_name = None;
        assert_eq!(label(&e), PAUL);
        e.email = some("p.east@example.com");
        assert_eq!(label(&e), "p.east@example.com");
        assert_eq!(run(&[paul()], &[]).users[0].label, "Paul East <p.east@example.com>");
    }

    #[test]
    fn plan_serializes_with_a_kind_tag() {
        assert_eq!(
            serde_json::to_value(UserAction::Archive { lessonly_id: 5 }).unwrap(),
            json!({"kind": "archive", "lessonly_id": 5})
        );
        assert_eq!(serde_json::to_value(StandardField::JobTitle).unwrap(), json!("job_title"));
        let skip = PlannedUser {
            namely_id: PAUL.into(),
            label: "Paul East".into(),
            action: UserAction::Skip { reason: "x".into() },
        };
        assert_eq!(serde_json::to_value(skip).unwrap()["action"], json!({"kind": "skip", "reason": "x"}));
    }

    /// Applies a plan to Lessonly's state the way the sync's writes would.
    fn apply(
        plan: &SyncPlan,
        learners: &[Learner],
        groups: &[LessonlyGroup],
        known: &[KnownField],
    ) -> (Vec<Learner>, Vec<LessonlyGroup>) {
        fn put(slot: &mut Option<String>, value: &Option<String>) {
            if let Some(v) = value {
                *slot = Some(v.clone()).filter(|v| !v.is_empty());
            }
        }
        fn set(l: &mut Learner, f: &UserFields, known: &[KnownField]) {
            for (slot, value) in [
                (&mut l.name, &f.name),
                (&mut l.email, &f.email),
                (&mut l.ext_uid, &f.ext_uid),
                (&mut l.job_title, &f.job_title),
                (&mut l.department, &f.department),
                (&mut l.location, &f.location),
                (&mut l.manager_name, &f.manager_name),
                (&mut l.hire_date, &f.hire_date),
                (&mut l.mobile_phone, &f.mobile_phone),
            ] {
                put(slot, value);
            }
            for (id, value) in &f.custom {
                match l.custom.iter_mut().find(|c| c.0 == *id) {
                    Some(c) => c.2 = Some(value.clone()),
                    None => {
                        let name = known.iter().find(|k| k.id == *id).unwrap().name.clone();
                        l.custom.push((*id, name, Some(value.clone())));
                    }
                }
            }
        }
        let (mut learners, mut groups) = (learners.to_vec(), groups.to_vec());
        let mut ids: HashMap<String, i64> = HashMap::new();
        let mut next = learners.iter().map(|l| l.id).max().unwrap_or(0) + 1;
        for user in &plan.users {
            let find = |learners: &mut Vec<Learner>, id: i64| learners.iter().position(|l| l.id == id).unwrap();
            match &user.action {
                UserAction::Create { fields } => {
                    let mut l = Learner { id: next, ..Learner::default() };
                    set(&mut l, fields, known);
                    learners.push(l);
                    ids.insert(user.namely_id.clone(), next);
                    next += 1;
                }
                UserAction::Update { lessonly_id, fields, restore, .. } => {
                    let i = find(&mut learners, *lessonly_id);
                    learners[i].archived &= !restore;
                    set(&mut learners[i], fields, known);
                    ids.insert(user.namely_id.clone(), *lessonly_id);
                }
                UserAction::Archive { lessonly_id } => {
                    let i = find(&mut learners, *lessonly_id);
                    learners[i].archived = true;
                }
                UserAction::Unchanged { lessonly_id } => {
                    ids.insert(user.namely_id.clone(), *lessonly_id);
                }
                UserAction::Skip { .. } => {}
            }
        }
        for change in &plan.groups {
            let id = change.lessonly_group_id.unwrap_or_else(|| {
                let id = 90000 + groups.len() as i64;
                groups.push(group(id, &change.name, false));
                id
            });
            if change.restore {
                groups.iter_mut().find(|g| g.id == id).unwrap().archived = false;
            }
            for namely_id in &change.add {
                let user = ids[namely_id];
                learners.iter_mut().find(|l| l.id == user).unwrap().groups.push(id);
            }
            for user in &change.remove {
                learners.iter_mut().find(|l| l.id == *user).unwrap().groups.retain(|g| *g != id);
            }
        }
        (learners, groups)
    }

    /// The plan a Planner makes from pages of `size`, the held-back users last.
    fn paged(employees: &[Employee], learners: &[Learner], size: usize) -> SyncPlan {
        let settings = settings();
        let groups = lessonly_groups();
        let known = known();
        let mut planner = Planner::new(learners, &groups, &known, &settings);
        let mut users: Vec<PlannedUser> = employees.chunks(size).flat_map(|page| planner.page(page)).collect();
        let mut rest = planner.finish();
        users.append(&mut rest.users);
        SyncPlan { users, ..rest }
    }

    #[test]
    fn an_email_match_waits_for_the_profile_its_ext_uid_may_name() {
        // The rehire again, in two pages: the new profile comes first, the old one (whose id the
        // Lessonly user carries) on the next page. Linking the new profile on page one would take
        // the old profile's user.
        let old_id = "c9a2d4e1-7b3f-4e0a-8f61-5d2b9e7a1c04";
        let mut old = paul();
        old.namely_id = old_id.into();
        old.user_status = some("inactive");
        let mut user = paul_learner();
        user.ext_uid = some(old_id);
        let employees = [paul(), old];
        let learners = [user];
        let settings = settings();
        let (groups, known) = (lessonly_groups(), known());
        let mut planner = Planner::new(&learners, &groups, &known, &settings);
        assert_eq!(planner.page(&employees[..1]), vec![], "Paul is held back");
        let second = planner.page(&employees[1..]);
        assert_eq!(second[0].action, UserAction::Archive { lessonly_id: 544551 });
        let rest = planner.finish();
        assert!(skip_reason(&rest.users[0].action).contains(old_id), "{rest:#?}");
        assert_eq!(rest.warnings.len(), 1, "{:?}", rest.warnings);
    }

    #[test]
    fn an_ext_uid_no_profile_has_frees_the_user_once_every_page_is_read() {
        // The user's ext_uid is a profile deleted from Namely: after the last page Paul takes it over.
        let mut user = paul_learner();
        user.ext_uid = some("0b7c2d9e-deleted-profile");
        let plan = paged(&[maria(), paul()], &[user.clone()], 1);
        assert!(matches!(plan.users[0].action, UserAction::Create { .. }));
        assert_eq!(plan.users[1].namely_id, PAUL, "held back to the end");
        assert_eq!(changes(&plan.users[1].action), vec![("ext_uid", Some("0b7c2d9e-deleted-profile"), Some(PAUL))]);
        assert_eq!(plan.users[1].action, run(&[maria(), paul()], &[user]).users[1].action);
    }

    #[test]
    fn pages_plan_what_one_plan_does_groups_included() {
        let mut sam = person("6b1e0c7d-4a2f-4d39-b8e5-0f9c3a7d2e11", "Sam", "Fox", "sam.fox@example.com");
        sam.department = some("Sales");
        let mut leaver = person("f1d3b5a7-9c2e-4e8b-a6d4-0b2c4e6f8a13", "Dana", "Lee", "dana.lee@example.com");
        leaver.user_status = some("inactive");
        let twin = person("a47d2e9f-1b8c-4e63-9f20-7c5e8b3a1d62", "Maria", "Cruz", "MARIA.CRUZ@example.com");
        let employees = vec![paul(), sam, maria(), leaver, twin];
        let mut dana =
            learner(544570, "Dana Lee", "dana.lee@example.com", Some("f1d3b5a7-9c2e-4e8b-a6d4-0b2c4e6f8a13"));
        dana.groups = vec![SALES];
        let learners = vec![paul_learner(), dana];
        let whole = run(&employees, &learners);
        for size in [1, 2, 3] {
            let pages = paged(&employees, &learners, size);
            assert_eq!(pages, whole, "pages of {size}");
        }
        assert!(whole.groups.iter().any(|g| g.lessonly_group_id == Some(SALES) && g.remove == vec![544570]));
    }

    #[test]
    fn plan_is_deterministic_and_a_second_run_changes_nothing() {
        let settings =
            SyncSettings::parse("all", "department,job_tier", "employee_id, division:Division, cost_center").unwrap();
        let mut paul_moved = paul();
        paul_moved.department = some("Engineering");
        paul_moved.job_title = some("Solutions Engineer");
        paul_moved.mobile_phone = None;
        let mut boss = person("6b1e0c7d-4a2f-4d39-b8e5-0f9c3a7d2e11", "Jonathan", "Smith", "jon.smith@example.com");
        boss.preferred_name = some("Jon");
        boss.user_status = some("pending");
        boss.department = some("Sales");
        let mut leaver = person("f1d3b5a7-9c2e-4e8b-a6d4-0b2c4e6f8a13", "Dana", "Lee", "dana.lee@example.com");
        leaver.user_status = some("inactive");
        leaver.department = some("Sales");
        let mut support = person("5c8e1a3b-9d2f-4a7c-b6e0-3f1d8c5a9b27", "Kim", "Park", "kim.park@example.com");
        support.department = some("Support");
        support.job_tier = some("Senior");
        let mut success = person("e2b7c9d1-3f4a-4b6e-8d05-1a9f2c7e4b38", "Ana", "Lima", "ana.lima@example.com");
        success.department = some("Customer Success");
        success.hire_date = Some(date("2024-11-25"));
        let duplicate = person("a47d2e9f-1b8c-4e63-9f20-7c5e8b3a1d62", "Maria", "Cruz", "MARIA.CRUZ@example.com");
        let mut no_email = person("0d6f3b8a-2c41-4f7e-a935-8e1c7b2d6f50", "Lee", "Wong", "");
        no_email.email = None;
        let employees = vec![paul_moved, maria(), boss, leaver, support, success, duplicate, no_email];

        let mut jon = learner(544560, "Jon Smith", "jon.smith@example.com", None);
        jon.archived = true;
        let mut dana =
            learner(544570, "Dana Lee", "dana.lee@example.com", Some("f1d3b5a7-9c2e-4e8b-a6d4-0b2c4e6f8a13"));
        dana.groups = vec![SALES, ONBOARDING];
        let kim = learner(544580, "Kim Park", "kim.park@example.com", Some("5c8e1a3b-9d2f-4a7c-b6e0-3f1d8c5a9b27"));
        let mut trainer = learner(544700, "Outside Trainer", "trainer@vendor.example", None);
        trainer.groups = vec![SALES];
        let learners = vec![paul_learner(), jon, dana, kim, trainer];
        let mut groups = lessonly_groups();
        groups.push(group(38795, "Support", true));

        let first = plan(&employees, &learners, &groups, &known(), &settings);
        assert_eq!(first, plan(&employees, &learners, &groups, &known(), &settings), "same input, same plan");
        assert_eq!(first.missing_custom_fields, vec!["cost_center"]);
        assert!(first.write_count() >= 15, "{first:#?}");
        let names: Vec<&str> = first.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["Customer Success", "Engineering", "Individual Contributor", "Sales", "Senior", "Support"]
        );

        let (learners, groups) = apply(&first, &learners, &groups, &known());
        let second = plan(&employees, &learners, &groups, &known(), &settings);
        assert_eq!(second.write_count(), 0, "{second:#?}");
        assert!(second.is_empty());
        assert!(second
            .users
            .iter()
            .all(|u| matches!(u.action, UserAction::Unchanged { .. } | UserAction::Skip { .. })));
        let trainer = learners.iter().find(|l| l.id == 544700).unwrap();
        assert_eq!(trainer.groups, vec![SALES], "users Namely doesn't know keep their groups");
    }
}
