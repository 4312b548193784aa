//! Seeded, deterministic tenant data for all five vendors.
//!
//! Vendor objects are stored as `serde_json::Value` in exactly the wire shape the sandbox serves,
//! so a test can assert on (or mutate) precisely what the product will read.

use std::collections::{BTreeMap, HashSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// Fake credentials for every vendor; values are distinctive so tests can grep logs for leaks.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// Lever API key (HTTP Basic user, blank password).
    pub lever_api_key: String,
    /// Webhook signature tokens, one per Lever webhook.
    pub lever_signature_tokens: Vec<String>,
    /// Namely company subdomain, e.g. `acme`.
    pub namely_company: String,
    /// Namely personal access token (Bearer).
    pub namely_token: String,
    /// Lessonly subdomain (HTTP Basic user).
    pub lessonly_subdomain: String,
    /// Lessonly API key (HTTP Basic password).
    pub lessonly_api_key: String,
    /// Litmos `apikey` header value.
    pub litmos_api_key: String,
    /// Litmos `source` query value the product is configured with.
    pub litmos_source: String,
    /// The Org `X-Api-Key` value.
    pub theorg_api_key: String,
}

/// Size and seed of a generated tenant.
#[derive(Clone, Debug)]
pub struct TenantSpec {
    /// RNG seed; the same seed always yields the same tenant.
    pub seed: u64,
    /// Number of Namely employees.
    pub employees: usize,
    /// Number of Lever opportunities.
    pub opportunities: usize,
    /// Number of Lever postings.
    pub postings: usize,
}

/// Lever account data, in Lever's wire shapes.
#[derive(Clone, Debug, Default)]
pub struct LeverData {
    /// Opportunities with ids only (`contact`, `stage`, `applications`, `owner`).
    pub opportunities: Vec<Value>,
    /// Contacts (`GET /contacts/:id` shape), used by `expand=contact`.
    pub contacts: Vec<Value>,
    /// Applications, used by `expand=applications`.
    pub applications: Vec<Value>,
    /// Offers by opportunity id.
    pub offers: BTreeMap<String, Vec<Value>>,
    /// Profile forms by opportunity id.
    pub forms: BTreeMap<String, Vec<Value>>,
    /// Files by opportunity id; `status` other than `processed` downloads as 422.
    pub files: BTreeMap<String, Vec<Value>>,
    /// Resumes by opportunity id.
    pub resumes: BTreeMap<String, Vec<Value>>,
    /// Notes the product created: `{id, opportunityId, value, secret, createdAt}`.
    pub notes: Vec<Value>,
    /// `{id, text}`; includes built-in non-UUID ids `lead-new`, `applicant-new`, `offer`.
    pub stages: Vec<Value>,
    /// `{id, text, status, type}`.
    pub archive_reasons: Vec<Value>,
    /// Lever users.
    pub users: Vec<Value>,
    /// Postings in every state.
    pub postings: Vec<Value>,
    /// Deleted postings: `{id, text, deletedAt}`.
    pub deleted_postings: Vec<Value>,
    /// Id of this account's "Hired" archive reason (a per-account UUID).
    pub hired_reason_id: String,
}

impl LeverData {
    /// Mutable access to one opportunity by id.
    pub fn opportunity_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.opportunities.iter_mut().find(|o| o["id"] == id)
    }
    /// Ids of opportunities archived with the hired reason.
    pub fn hired_opportunity_ids(&self) -> Vec<String> {
        self.opportunities
            .iter()
            .filter(|o| o["archived"]["reason"] == self.hired_reason_id.as_str())
            .filter_map(|o| o["id"].as_str().map(str::to_string))
            .collect()
    }
    /// Mutable access to one posting by id.
    pub fn posting_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.postings.iter_mut().find(|p| p["id"] == id)
    }
    /// Deletes a posting: it disappears from `/postings` and shows in `/postings/deleted`.
    pub fn delete_posting(&mut self, id: &str, deleted_at_ms: u64) -> bool {
        let Some(pos) = self.postings.iter().position(|p| p["id"] == id) else {
            return false;
        };
        let p = self.postings.remove(pos);
        self.deleted_postings.push(json!({"id": p["id"], "text": p["text"], "deletedAt": deleted_at_ms}));
        true
    }
}

/// Namely tenant data, in Namely's wire shapes.
#[derive(Clone, Debug, Default)]
pub struct NamelyData {
    /// The company subdomain this tenant answers on.
    pub company: String,
    /// Id of the token owner's profile (`GET /profiles/me`).
    pub me_id: String,
    /// Profiles, custom fields as top-level keys.
    pub profiles: Vec<Value>,
    /// `{id, title, parent_id, active, links:{job_tier}}`.
    pub job_titles: Vec<Value>,
    /// `{id, title, links:{job_titles:[ids]}}`.
    pub job_tiers: Vec<Value>,
    /// Departments and offices: `{id, title, type, is_team, address, count, links:{group_type}}`.
    pub groups: Vec<Value>,
    /// `{id, title, field_name, deletable, type, x_groups_as_teams}`.
    pub group_types: Vec<Value>,
    /// `GET /profiles/fields` schema, including custom fields.
    pub fields: Vec<Value>,
    /// Key of the "Litmos Activated" custom select field (default `litmos_activated`).
    pub litmos_field_key: String,
    /// Files uploaded with `POST /files`: `{id, name, size}`.
    pub files: Vec<Value>,
    /// Namely refuses a profile whose `email` another profile has ("email has already been
    /// taken"), as the accounts seen do; false models one that does not.
    pub unique_emails: bool,
}

impl NamelyData {
    /// Mutable access to one profile by id.
    pub fn profile_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.profiles.iter_mut().find(|p| p["id"] == id)
    }
    /// The profile with this company email (case-insensitive).
    pub fn profile_by_email(&self, email: &str) -> Option<&Value> {
        self.profiles.iter().find(|p| p["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email)))
    }
    /// Sets `user_status` (active/pending/inactive) and bumps `updated_at`; false if unknown id.
    pub fn set_status(&mut self, id: &str, status: &str) -> bool {
        match self.profile_mut(id) {
            Some(p) => {
                p["user_status"] = json!(status);
                let now = p["updated_at"].as_i64().unwrap_or(0) + 60;
                p["updated_at"] = json!(now);
                true
            }
            None => false,
        }
    }
}

/// One Lessonly custom user field (Lessonly has no endpoint listing them; tests read this).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LessonlyCustomField {
    /// Field id (`custom_user_field_id`).
    pub id: i64,
    /// Field name.
    pub name: String,
}

/// One Lessonly group with member and manager user ids.
#[derive(Clone, Debug)]
pub struct LessonlyGroup {
    /// Group id.
    pub id: i64,
    /// Group name.
    pub name: String,
    /// Archive timestamp, if archived.
    pub archived_at: Option<String>,
    /// Member user ids.
    pub members: Vec<i64>,
    /// Manager user ids.
    pub managers: Vec<i64>,
}

/// Lessonly company data.
#[derive(Clone, Debug, Default)]
pub struct LessonlyData {
    /// Users in the v1.1 wire shape minus `groups` (computed from [`LessonlyGroup`]s when served).
    pub users: Vec<Value>,
    /// Groups.
    pub groups: Vec<LessonlyGroup>,
    /// Every custom user field that exists; writing an unknown name appends here.
    pub custom_fields: Vec<LessonlyCustomField>,
    /// Lower-cased email -> user id, built when first needed and dropped whenever the data is
    /// changed from outside the server (see [`crate::Sandbox::with_lessonly`]).
    pub(crate) email_index: Option<std::collections::HashMap<String, i64>>,
}

impl LessonlyData {
    /// The id of the user holding this email (case-insensitive), through the index.
    pub(crate) fn email_owner(&mut self, email: &str) -> Option<i64> {
        let users = &self.users;
        let index = self.email_index.get_or_insert_with(|| {
            users.iter().filter_map(|u| Some((u["email"].as_str()?.to_lowercase(), u["id"].as_i64()?))).collect()
        });
        index.get(&email.to_lowercase()).copied()
    }

    /// The user with this email (case-insensitive).
    pub fn user_by_email(&self, email: &str) -> Option<&Value> {
        self.users.iter().find(|u| u["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email)))
    }
    /// Names of all custom user fields.
    pub fn custom_field_names(&self) -> Vec<String> {
        self.custom_fields.iter().map(|f| f.name.clone()).collect()
    }
}

/// Litmos account data.
#[derive(Clone, Debug, Default)]
pub struct LitmosData {
    /// Full user objects (PascalCase, unset fields null).
    pub users: Vec<Value>,
}

impl LitmosData {
    /// The user with this UserName (case-insensitive).
    pub fn user_by_username(&self, username: &str) -> Option<&Value> {
        self.users.iter().find(|u| u["UserName"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(username)))
    }
}

/// The Org data: the read-side org chart and the partner jobs API.
#[derive(Clone, Debug, Default)]
pub struct TheOrgData {
    /// Org chart nodes (`nodeType` `position` or `job`).
    pub chart: Vec<Value>,
    /// Jobs published through `/v1/jobs`: `{id, externalId, title, …, managerId}`.
    pub jobs: Vec<Value>,
    /// Credits used (reported by `/v1/usage`).
    pub credits_used: u32,
    /// Credits limit (reported by `/v1/usage`).
    pub credits_limit: u32,
}

impl TheOrgData {
    /// Mutable access to a job by The Org id.
    pub fn job_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.jobs.iter_mut().find(|j| j["id"] == id)
    }
    /// The job published for this Lever posting id.
    pub fn job_by_external_id(&self, external_id: &str) -> Option<&Value> {
        self.jobs.iter().find(|j| j["externalId"] == external_id)
    }
}

/// Seeded tenant data for all five vendors.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Credentials the servers accept.
    pub credentials: Credentials,
    /// Lever account.
    pub lever: LeverData,
    /// Namely company.
    pub namely: NamelyData,
    /// Lessonly company.
    pub lessonly: LessonlyData,
    /// Litmos account.
    pub litmos: LitmosData,
    /// The Org account.
    pub theorg: TheOrgData,
}

/// 2024-03-01T00:00:00Z: a fixed "now" so generated data does not depend on the clock.
const BASE_SECS: i64 = 1_709_251_200;

const FIRST: &[&str] = &[
    "James",
    "Maria",
    "José",
    "Zoë",
    "Anaïs",
    "Björn",
    "Mary Ann",
    "Li",
    "Priya",
    "Oluwaseun",
    "Siobhán",
    "François",
    "Chloé",
    "Kenji",
    "Aisha",
    "Lukas",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Sofía",
    "Mateo",
    "Hannah",
    "Ethan",
    "Isabella",
    "Diego",
    "Fatima",
    "Wei",
    "Jean-Luc",
    "Ana Lucía",
];
const LAST: &[&str] = &[
    "Smith",
    "García Márquez",
    "Nguyễn",
    "O'Brien",
    "van der Berg",
    "Müller",
    "Johnson",
    "Kowalski",
    "Okafor",
    "Dubois",
    "Rossi",
    "Tanaka",
    "Patel",
    "Brown",
    "Lindqvist",
    "Fernández",
    "Ó Súilleabháin",
    "De la Cruz",
    "Williams",
    "Chen",
    "Kim",
    "Haddad",
    "Novak",
    "Silva",
    "Jones",
];
const DEPARTMENTS: &[(&str, &[(&str, usize)])] = &[
    ("Engineering", &[("Software Engineer", 0), ("Senior Software Engineer", 0), ("Engineering Manager", 1)]),
    ("Sales", &[("Account Executive", 0), ("Sales Manager", 1)]),
    ("Customer Success", &[("Customer Success Manager", 0), ("Support Specialist", 0)]),
    ("People Operations", &[("HR Generalist", 0), ("Director of People", 2)]),
    ("Finance", &[("Accountant", 0), ("Controller", 2)]),
    ("Marketing", &[("Marketing Specialist", 0), ("Content Strategist", 0)]),
];
const TIERS: &[&str] = &["Individual Contributor", "Manager", "Director", "Executive"];
/// (city, address1, state_id, country_id, zip, phone)
const OFFICES: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("New York", "20 W 34th St", "NY", "US", "10001", "212-555-0100"),
    ("San Francisco", "1 Market St", "CA", "US", "94105", "415-555-0199"),
    ("Austin", "500 W 2nd St", "TX", "US", "78701", "512-555-0142"),
    ("Toronto", "100 King St W", "ON", "CA", "M5X 1A9", "416-555-0123"),
];
const STREETS: &[&str] = &["Main St", "Oak Ave", "Maple Dr", "Broadway", "Elm St", "Cedar Ln"];

fn uuid(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.gen()).into_uuid().to_string()
}

/// Lower-case ASCII fold of a name, for email local parts.
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let m = match c {
            'á' | 'à' | 'ä' | 'â' | 'Á' => 'a',
            'é' | 'è' | 'ë' | 'ê' | 'É' => 'e',
            'í' | 'ï' | 'î' | 'Í' => 'i',
            'ó' | 'ö' | 'ô' | 'Ó' => 'o',
            'ú' | 'ü' | 'û' | 'Ú' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            'ễ' => 'e',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => continue,
        };
        out.push(m);
    }
    out
}

fn date(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "2024-01-01".into())
}

/// Empty values come back as `""` or `null` inconsistently in Namely; mimic both.
fn empty(rng: &mut StdRng) -> Value {
    if rng.gen_bool(0.5) {
        json!("")
    } else {
        Value::Null
    }
}

fn phone(rng: &mut StdRng) -> String {
    format!("{}-555-{:04}", rng.gen_range(201..990), rng.gen_range(100..9999))
}

impl Tenant {
    /// Seed 7, 12 employees, 6 opportunities, 10 postings.
    pub fn small() -> Tenant {
        Tenant::generate(&TenantSpec { seed: 7, employees: 12, opportunities: 6, postings: 10 })
    }

    /// Builds a realistic tenant; deterministic for a given spec.
    pub fn generate(spec: &TenantSpec) -> Tenant {
        Tenant::generate_with_field_key(spec, "litmos_activated")
    }

    /// Like [`Tenant::generate`], with the "Litmos Activated" custom field stored under `key`
    /// (a Namely field key is fixed at creation and may differ from its label).
    pub fn generate_with_field_key(spec: &TenantSpec, key: &str) -> Tenant {
        let mut rng = StdRng::seed_from_u64(spec.seed);
        let tag = format!("{:08x}", spec.seed as u32 ^ 0x5a17_c0de);
        let credentials = Credentials {
            lever_api_key: format!("lever-key-SANDBOX-{tag}"),
            lever_signature_tokens: vec![
                format!("lever-sigtoken-SANDBOX-hired-{tag}"),
                format!("lever-sigtoken-SANDBOX-stage-{tag}"),
            ],
            namely_company: "acme".into(),
            namely_token: format!("namely-token-SANDBOX-{tag}"),
            lessonly_subdomain: "acme-sandbox".into(),
            lessonly_api_key: format!("lessonly-key-SANDBOX-{tag}"),
            litmos_api_key: format!("litmos-key-SANDBOX-{tag}"),
            litmos_source: "hr-integration-bundle".into(),
            theorg_api_key: format!("theorg-key-SANDBOX-{tag}"),
        };
        let namely = gen_namely(&mut rng, spec, key);
        let lever = gen_lever(&mut rng, spec);
        let lessonly = gen_lessonly(&mut rng, &namely);
        let litmos = gen_litmos(&mut rng, &namely);
        let theorg = gen_theorg(&namely);
        Tenant { credentials, lever, namely, lessonly, litmos, theorg }
    }
}

fn gen_namely(rng: &mut StdRng, spec: &TenantSpec, key: &str) -> NamelyData {
    let dept_type = uuid(rng);
    let office_type = uuid(rng);
    let group_types = vec![
        json!({"id": dept_type, "title": "Departments", "field_name": "departments", "deletable": false,
               "type": "department", "x_groups_as_teams": false}),
        json!({"id": office_type, "title": "Office Locations", "field_name": "office_locations",
               "deletable": false, "type": "office location", "x_groups_as_teams": false}),
    ];
    let mut groups = Vec::new();
    let mut dept_ids = Vec::new();
    for (name, _) in DEPARTMENTS {
        let id = uuid(rng);
        dept_ids.push(id.clone());
        groups.push(json!({"id": id, "title": name, "type": "Departments", "is_team": false,
            "address": null, "count": 0, "links": {"group_type": dept_type}}));
    }
    let mut office_ids = Vec::new();
    for (city, a1, st, c, zip, ph) in OFFICES {
        let id = uuid(rng);
        office_ids.push(id.clone());
        groups.push(json!({"id": id, "title": city, "type": "Office Locations", "is_team": false,
            "address": {"address1": a1, "address2": null, "city": city, "state_id": st,
                        "country_id": c, "zip": zip, "phone": ph},
            "count": 0, "links": {"group_type": office_type}}));
    }
    let tier_ids: Vec<String> = TIERS.iter().map(|_| uuid(rng)).collect();
    let mut job_titles = Vec::new();
    // (department index, title id, title) per department, plus the CEO and the default title.
    let mut dept_titles: Vec<Vec<(String, String)>> = Vec::new();
    for (_, titles) in DEPARTMENTS {
        let mut v = Vec::new();
        for (t, tier) in *titles {
            let id = uuid(rng);
            job_titles.push(json!({"id": id, "title": t, "parent_id": tier_ids[*tier], "active": true,
                                   "links": {"job_tier": tier_ids[*tier]}}));
            v.push((id, t.to_string()));
        }
        dept_titles.push(v);
    }
    let ceo_title = uuid(rng);
    job_titles.push(json!({"id": ceo_title, "title": "Chief Executive Officer", "parent_id": tier_ids[3],
                           "active": true, "links": {"job_tier": tier_ids[3]}}));
    let unknown_title = uuid(rng);
    job_titles.push(json!({"id": unknown_title, "title": "Unknown Job Title", "parent_id": tier_ids[0],
                           "active": true, "links": {"job_tier": tier_ids[0]}}));
    let job_tiers: Vec<Value> = TIERS
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let ids: Vec<&Value> = job_titles
                .iter()
                .filter(|j| j["links"]["job_tier"] == tier_ids[i].as_str())
                .map(|j| &j["id"])
                .collect();
            json!({"id": tier_ids[i], "title": t, "links": {"job_titles": ids}})
        })
        .collect();

    let mut profiles: Vec<Value> = Vec::with_capacity(spec.employees);
    let mut seen = HashSet::new();
    for i in 0..spec.employees {
        let first = FIRST[rng.gen_range(0..FIRST.len())];
        let last = LAST[rng.gen_range(0..LAST.len())];
        let mut local = format!("{}.{}", slug(first), slug(last));
        if !seen.insert(local.clone()) {
            local = format!("{local}{i}");
            seen.insert(local.clone());
        }
        let dept = if i == 0 { 0 } else { rng.gen_range(0..DEPARTMENTS.len()) };
        let office = rng.gen_range(0..OFFICES.len());
        let (title_id, title) = if i == 0 {
            (ceo_title.clone(), "Chief Executive Officer".to_string())
        } else if rng.gen_bool(0.03) {
            (unknown_title.clone(), "Unknown Job Title".to_string())
        } else {
            let t = &dept_titles[dept];
            t[rng.gen_range(0..t.len())].clone()
        };
        let status = if i == 0 {
            "active"
        } else {
            match rng.gen_range(0..100) {
                0..=79 => "active",
                80..=89 => "pending",
                _ => "inactive",
            }
        };
        let start_secs = if status == "pending" {
            BASE_SECS + rng.gen_range(3..60) * 86_400
        } else {
            BASE_SECS - rng.gen_range(30..3000) * 86_400
        };
        let created = start_secs.min(BASE_SECS) - rng.gen_range(1..30) * 86_400;
        let updated = if rng.gen_bool(0.3) { created } else { created + rng.gen_range(1..5_000_000) };
        let email = if i != 0 && rng.gen_bool(0.04) { empty(rng) } else { json!(format!("{local}@acme.example.com")) };
        let reports_to = if i == 0 {
            json!([{"id": "no_guid", "first_name": "Nobody", "last_name": "Nobody", "email": "None"}])
        } else {
            let m = &profiles[rng.gen_range(0..i.div_ceil(4).max(1))];
            json!([{"id": m["id"], "first_name": m["first_name"], "last_name": m["last_name"],
                    "email": m["email"]}])
        };
        let (city, a1, st, c, zip, ph) = OFFICES[office];
        let litmos = match rng.gen_range(0..10) {
            0..=4 => json!("Yes"),
            5..=7 => json!("No"),
            _ => Value::Null,
        };
        let etype = match rng.gen_range(0..20) {
            0..=15 => "Full Time",
            16 | 17 => "Part Time",
            18 => "Intern",
            _ => "Contractor",
        };
        let middle = if rng.gen_bool(0.2) { json!(["A", "J", "M", "R"][rng.gen_range(0..4)]) } else { empty(rng) };
        let preferred = if rng.gen_bool(0.1) { json!(first.split(' ').next().unwrap_or(first)) } else { empty(rng) };
        let shown_first = preferred.as_str().filter(|s| !s.is_empty()).unwrap_or(first);
        let mobile = if rng.gen_bool(0.8) { json!(phone(rng)) } else { empty(rng) };
        let home_phone = if rng.gen_bool(0.3) { json!(phone(rng)) } else { empty(rng) };
        let home_a2 = if rng.gen_bool(0.3) { json!(format!("Apt {}", rng.gen_range(1..40))) } else { empty(rng) };
        let mut p = json!({
            "id": uuid(rng),
            "email": email,
            "first_name": first,
            "last_name": last,
            "middle_name": middle,
            "preferred_name": preferred,
            "full_name": format!("{shown_first} {last}"),
            "user_status": status,
            "updated_at": updated,
            "created_at": created,
            "image": null,
            "job_title": {"id": title_id, "title": title},
            "reports_to": reports_to,
            "employee_type": {"title": etype},
            "links": {
                "job_title": {"id": title_id, "title": title},
                "groups": [{"id": dept_ids[dept], "name": DEPARTMENTS[dept].0},
                           {"id": office_ids[office], "name": city}],
                "teams": []
            },
            "start_date": date(start_secs),
            "departure_date": if status == "inactive" { json!(date(BASE_SECS - rng.gen_range(1..300) * 86_400)) } else { Value::Null },
            "employee_id": format!("E{:05}", 1000 + i),
            "personal_email": format!("{}.{}{}@mail.example.net", slug(first), slug(last), i),
            "office_phone": if rng.gen_bool(0.5) { json!(ph) } else { empty(rng) },
            "home_phone": home_phone,
            "mobile_phone": mobile,
            "home": {"address1": format!("{} {}", rng.gen_range(1..999), STREETS[rng.gen_range(0..STREETS.len())]),
                     "address2": home_a2, "city": city, "state_id": st, "country_id": c, "zip": zip},
            "office": {"address1": a1, "address2": null, "city": city, "state_id": st, "country_id": c,
                       "zip": zip, "phone": ph},
        });
        p[key] = litmos;
        profiles.push(p);
    }
    for g in groups.iter_mut() {
        let gid = g["id"].clone();
        let n = profiles
            .iter()
            .filter(|p| p["links"]["groups"].as_array().is_some_and(|gs| gs.iter().any(|x| x["id"] == gid)))
            .count();
        g["count"] = json!(n);
    }
    let mut fields = Vec::new();
    for (name, label, ty, info) in [
        ("first_name", "First name", "text", "text"),
        ("last_name", "Last name", "text", "text"),
        ("email", "Company email", "email", "a valid email address"),
        ("personal_email", "Personal email", "email", "a valid email address"),
        ("user_status", "User status", "referenceselect", "'active' OR 'inactive' ONLY"),
        ("start_date", "Start date", "date", "YYYY-MM-DD"),
        (
            "job_title",
            "Job title",
            "referencehistory",
            "a valid job title GUID.  You can get a list of job titles via the /job_titles API endpoint",
        ),
        ("home_phone", "Home phone", "text", "generic text"),
        ("mobile_phone", "Mobile phone", "text", "generic text"),
        ("resume", "Resume", "file", "file id (UUID v4)"),
    ] {
        fields.push(json!({"id": uuid(rng), "name": name, "label": label, "type": ty, "default": true,
                           "deletable": false, "valid_format_info": info}));
    }
    fields.push(json!({"id": uuid(rng), "name": "employee_id", "label": "Employee ID", "type": "text",
                       "default": true, "deletable": false, "valid_format_info": "generic text"}));
    fields.push(json!({"id": uuid(rng), "name": key, "label": "Litmos Activated", "type": "select",
                       "default": false, "deletable": true, "valid_format_info": "One of 'Yes', 'No'"}));
    let me_id = profiles.first().and_then(|p| p["id"].as_str()).unwrap_or_default().to_string();
    NamelyData {
        company: "acme".into(),
        me_id,
        profiles,
        job_titles,
        job_tiers,
        groups,
        group_types,
        fields,
        litmos_field_key: key.into(),
        files: Vec::new(),
        unique_emails: true,
    }
}

fn gen_lever(rng: &mut StdRng, spec: &TenantSpec) -> LeverData {
    let base_ms = BASE_SECS * 1000;
    let users: Vec<Value> = [
        ("Riley Recruiter", "riley"),
        ("Harper Hiring", "harper"),
        ("Sam Coordinator", "sam"),
        ("Integration Bot", "integrations"),
    ]
    .iter()
    .map(|(n, u)| {
        json!({"id": uuid(rng), "name": n, "username": u, "email": format!("{u}@acme.example.com"),
               "accessRole": "admin", "createdAt": base_ms - 400 * 86_400_000, "deactivatedAt": null})
    })
    .collect();
    let uid = |i: usize| users[i]["id"].clone();
    let mut stages =
        vec![json!({"id": "lead-new", "text": "New lead"}), json!({"id": "applicant-new", "text": "New applicant"})];
    for t in ["Phone Screen", "On-site Interview", "Reference Check"] {
        stages.push(json!({"id": uuid(rng), "text": t}));
    }
    stages.push(json!({"id": "offer", "text": "Offer"}));
    let hired_reason_id = uuid(rng);
    let mut archive_reasons =
        vec![json!({"id": hired_reason_id, "text": "Hired", "status": "active", "type": "hired"})];
    for (t, s) in
        [("Underqualified", "active"), ("Withdrew", "active"), ("Position filled", "active"), ("Timing", "inactive")]
    {
        archive_reasons.push(json!({"id": uuid(rng), "text": t, "status": s, "type": "non-hired"}));
    }
    let non_hired = archive_reasons[1]["id"].clone();

    const STATES: &[&str] = &[
        "published",
        "published",
        "internal",
        "closed",
        "published",
        "draft",
        "pending",
        "rejected",
        "published",
        "closed",
    ];
    let mut postings = Vec::new();
    for i in 0..spec.postings {
        let id = uuid(rng);
        let state = STATES[i % STATES.len()];
        let (dept, titles) = DEPARTMENTS[rng.gen_range(0..DEPARTMENTS.len())];
        let title = titles[rng.gen_range(0..titles.len())].0;
        let loc = OFFICES[rng.gen_range(0..OFFICES.len())].0;
        let other = OFFICES[rng.gen_range(0..OFFICES.len())].0;
        let all: Vec<&str> = if other == loc { vec![loc] } else { vec![loc, other] };
        // Published postings alternate between the public site and internal-only.
        let channels = match (state, i % 4) {
            (_, 3) => Value::Null,
            ("published", 1) => json!(["internal"]),
            _ => json!(["public", "internal"]),
        };
        let urls = if state == "closed" {
            Value::Null
        } else {
            json!({"list": "https://jobs.lever.co/acme",
                   "show": format!("https://jobs.lever.co/acme/{id}"),
                   "apply": format!("https://jobs.lever.co/acme/{id}/apply")})
        };
        let created = base_ms - rng.gen_range(1..200) * 86_400_000;
        let desc = format!("Join the {dept} team at Acme as a {title}.");
        postings.push(json!({
            "id": id, "text": title, "state": state,
            "createdAt": created, "updatedAt": created + rng.gen_range(0..5) * 86_400_000,
            "distributionChannels": channels,
            "confidentiality": if i % 11 == 10 { "confidential" } else { "non-confidential" },
            "user": uid(0), "owner": uid(0), "hiringManager": uid(1), "followers": [uid(0)],
            "categories": {"team": format!("{dept} Core"), "department": dept, "location": loc,
                           "allLocations": all, "commitment": if i % 5 == 4 { "Part-time" } else { "Full-time" },
                           "level": null},
            "tags": if i % 2 == 0 { json!(["hiring-2024"]) } else { json!([]) },
            "content": {"description": desc, "descriptionHtml": format!("<div>{desc}</div>"),
                        "lists": [{"text": "Requirements", "content": "<li>Curiosity</li><li>Kindness</li>"}],
                        "closing": "Acme is an equal opportunity employer.",
                        "closingHtml": "<div>Acme is an equal opportunity employer.</div>"},
            "country": "US", "reqCode": "", "requisitionCodes": [format!("REQ-{}", 100 + i)],
            "salaryRange": {"min": 80000 + 1000 * i as u64, "max": 120000 + 1000 * i as u64,
                            "currency": "USD", "interval": "per-year-salary"},
            "salaryDescription": "", "salaryDescriptionHtml": "",
            "urls": urls,
            "workplaceType": (["onsite", "remote", "hybrid", "unspecified"][i % 4]),
        }));
    }
    let deleted_postings = vec![json!({"id": uuid(rng), "text": "Office Manager",
                                        "deletedAt": base_ms - 86_400_000})];
    let open: Vec<Value> = postings
        .iter()
        .filter(|p| p["state"] == "published" || p["state"] == "internal")
        .map(|p| p["id"].clone())
        .collect();

    let mut data = LeverData {
        users,
        stages,
        archive_reasons,
        postings,
        deleted_postings,
        hired_reason_id: hired_reason_id.clone(),
        ..Default::default()
    };
    for i in 0..spec.opportunities {
        let id = uuid(rng);
        let contact = uuid(rng);
        let app_id = uuid(rng);
        let first = FIRST[rng.gen_range(0..FIRST.len())];
        let last = LAST[rng.gen_range(0..LAST.len())];
        let name = format!("{first} {last}");
        let email = format!("{}.{}.{i}@candidates.example.org", slug(first), slug(last));
        let phones = if i % 3 == 2 { json!([]) } else { json!([{"type": "mobile", "value": phone(rng)}]) };
        let created = base_ms - rng.gen_range(20..90) * 86_400_000;
        // Pattern: hired+signed, hired+sent (unsigned), at offer stage, archived non-hired, …
        let kind = i % 4;
        let archived = match kind {
            0 | 1 => {
                json!({"reason": hired_reason_id, "archivedAt": base_ms - i as i64 * 3_600_000})
            }
            3 => json!({"reason": non_hired, "archivedAt": base_ms - 86_400_000}),
            _ => Value::Null,
        };
        let stage = if kind == 3 { data.stages[2]["id"].clone() } else { json!("offer") };
        let posting = if open.is_empty() { Value::Null } else { open[i % open.len()].clone() };
        let posting_title =
            data.postings.iter().find(|p| p["id"] == posting).map(|p| p["text"].clone()).unwrap_or(Value::Null);
        data.opportunities.push(json!({
            "id": id, "name": name, "headline": "", "contact": contact, "location": OFFICES[i % OFFICES.len()].0,
            "emails": [email], "phones": phones, "links": [],
            "stage": stage,
            "stageChanges": [{"toStageId": "applicant-new", "toStageIndex": 1, "userId": data.users[0]["id"], "updatedAt": created},
                             {"toStageId": "offer", "toStageIndex": 5, "userId": data.users[0]["id"], "updatedAt": created + 86_400_000}],
            "archived": archived,
            "tags": if i % 2 == 0 { json!(["Engineering"]) } else { json!([]) },
            "sources": ["LinkedIn"], "origin": (["applied", "sourced", "referred"][i % 3]),
            "sourcedBy": null, "owner": data.users[0]["id"], "followers": [data.users[0]["id"]],
            "applications": [app_id],
            "createdAt": created, "updatedAt": created + 2 * 86_400_000,
            "lastInteractionAt": created + 2 * 86_400_000, "lastAdvancedAt": created + 86_400_000,
            "snoozedUntil": null, "confidentiality": "non-confidential", "dataProtection": null,
            "isAnonymized": false,
            "urls": {"list": "https://hire.lever.co/candidates", "show": format!("https://hire.lever.co/candidates/{id}")},
        }));
        data.contacts.push(json!({"id": contact, "name": name, "headline": "", "isAnonymized": false,
            "location": {"name": OFFICES[i % OFFICES.len()].0}, "emails": [email], "phones": phones}));
        data.applications.push(json!({"id": app_id, "opportunityId": id, "candidateId": id, "createdAt": created,
            "type": "posting", "posting": posting, "postingOwner": data.users[0]["id"],
            "postingHiringManager": data.users[1]["id"], "user": null, "name": name, "email": email,
            "phone": phones.get(0).cloned().unwrap_or(Value::Null), "company": null, "links": [], "comments": null,
            "customQuestions": [], "archived": archived, "requisitionForHire": null}));
        let start_ms = (BASE_SECS + rng.gen_range(7..45) * 86_400) * 1000;
        let salary = 60_000 + 5_000 * rng.gen_range(0..20);
        let mut fields = vec![
            json!({"text": "Job title", "identifier": "job_title", "value": posting_title}),
            json!({"text": "Job posting", "identifier": "job_posting", "value": posting}),
            json!({"text": "Candidate name", "identifier": "candidate_name", "value": name}),
            json!({"text": "Offered compensation amount", "identifier": "salary_amount", "value": salary}),
            json!({"text": "Compensation currency", "identifier": "compensation_currency", "value": "USD"}),
            json!({"text": "Type of earnings", "identifier": "salary_interval", "value": "per-year-salary"}),
            json!({"text": "Hiring manager", "identifier": "hiring_manager", "value": data.users[1]["id"]}),
            json!({"text": "Today's date", "identifier": "today_date", "value": created + 3 * 86_400_000}),
        ];
        // Every fifth offer lacks a start date: the product must tolerate it.
        if i % 5 != 4 {
            fields.push(
                json!({"text": "Anticipated start date", "identifier": "anticipated_start_date", "value": start_ms}),
            );
        }
        let offer_id = uuid(rng);
        let signed = kind == 0 || (kind == 2 && i % 8 == 2);
        let status = if signed { "signed" } else { "sent" };
        let doc = |s: &str| {
            json!({"fileName": "employment-offer-letter.pdf", "uploadedAt": created + 3 * 86_400_000,
            "downloadUrl": format!("https://api.lever.co/v1/opportunities/{id}/offers/{offer_id}/download?status={s}")})
        };
        data.offers.insert(id.clone(), vec![json!({
            "id": offer_id, "createdAt": created + 3 * 86_400_000, "status": status, "creator": data.users[0]["id"],
            "fields": fields, "signatures": {}, "approvedAt": created + 3 * 86_400_000, "sentAt": created + 3 * 86_400_000,
            "sentDocument": doc("sent"), "signedDocument": if signed { doc("signed") } else { Value::Null },
        })]);
        let mut forms = vec![json!({
            "id": uuid(rng), "type": "form", "text": "Namely New Hire Form", "instructions": "Filled in by the recruiter",
            "baseTemplateId": "7f1c5d0e-8f3b-4c55-9d1e-namelyhire01", "user": data.users[0]["id"], "stage": "offer",
            "createdAt": created + 4 * 86_400_000, "completedAt": created + 4 * 86_400_000, "deletedAt": null,
            "fields": [
                {"id": uuid(rng), "type": "text", "text": "Legal first name", "description": "", "required": true, "value": first},
                {"id": uuid(rng), "type": "text", "text": "Legal last name", "description": "", "required": true, "value": last},
                {"id": uuid(rng), "type": "date", "text": "Start date", "description": "", "required": false,
                 "value": if i % 5 == 4 { json!(start_ms) } else { Value::Null }},
                {"id": uuid(rng), "type": "dropdown", "text": "Employee type", "description": "", "required": false,
                 "value": "Full Time", "options": [{"text": "Full Time"}, {"text": "Part Time"}, {"text": "Intern"}, {"text": "Contractor"}]},
                {"id": uuid(rng), "type": "yes-no", "text": "Eligible for benefits?", "description": "", "required": false, "value": "yes"},
                {"id": uuid(rng), "type": "currency", "text": "Compensation", "description": "", "required": false,
                 "value": salary, "currency": "USD"},
            ],
        })];
        if i % 2 == 1 {
            forms.push(json!({"id": uuid(rng), "type": "form", "text": "Phone screen notes", "baseTemplateId": uuid(rng),
                "user": data.users[2]["id"], "stage": data.stages[2]["id"], "createdAt": created, "completedAt": created,
                "deletedAt": null, "instructions": "", "fields": [{"id": uuid(rng), "type": "textarea", "text": "Notes",
                "description": "", "required": false, "value": "Strong communicator."}]}));
        }
        data.forms.insert(id.clone(), forms);
        let file_status = if i % 3 == 1 { "processing" } else { "processed" };
        data.files.insert(
            id.clone(),
            vec![json!({"id": uuid(rng), "downloadUrl": format!("https://hire.lever.co/candidates/{id}/files"),
            "ext": ".pdf", "name": "portfolio.pdf", "uploadedAt": created, "status": file_status, "size": 48213})],
        );
        let resume_file = if i % 4 == 3 {
            Value::Null
        } else {
            json!({"name": format!("{}-resume.pdf", slug(last)), "ext": ".pdf",
                   "downloadUrl": format!("https://hire.lever.co/candidates/{id}/resumes"), "uploadedAt": created,
                   "status": if i % 3 == 1 { "processing" } else { "processed" }, "size": 91234})
        };
        let mut resume = json!({"id": uuid(rng), "createdAt": created,
            "parsedData": {"positions": [{"org": "Globex", "title": "Engineer"}], "schools": [{"org": "State University"}]}});
        if !resume_file.is_null() {
            resume["file"] = resume_file;
        }
        data.resumes.insert(id.clone(), vec![resume]);
    }
    data
}

fn employees_with_email(namely: &NamelyData) -> Vec<&Value> {
    namely
        .profiles
        .iter()
        .filter(|p| p["user_status"] == "active")
        .filter(|p| p["email"].as_str().is_some_and(|e| !e.is_empty()))
        .collect()
}

fn gen_lessonly(rng: &mut StdRng, namely: &NamelyData) -> LessonlyData {
    let custom_fields = vec![
        LessonlyCustomField { id: 101, name: "Employee ID".into() },
        LessonlyCustomField { id: 102, name: "Division".into() },
    ];
    let mut users = Vec::new();
    let mut next_id = 1694;
    let mut cud_id = 5000;
    let mut push =
        |name: String, email: String, role: &str, ext: Value, archived: bool, cf: Vec<(i64, &str, String)>| {
            let data: Vec<Value> = cf
                .into_iter()
                .map(|(fid, fname, v)| {
                    cud_id += 1;
                    json!({"id": cud_id, "custom_user_field_id": fid, "name": fname, "value": v})
                })
                .collect();
            users.push(json!({"id": next_id, "resource_type": "user", "ext_uid": ext, "email": email, "name": name,
            "role": role, "role_id": if role == "admin" { 42 } else { 45 },
            "archived_at": if archived { json!("2024-02-01T02:51:40.436-05:00") } else { Value::Null },
            "archived_by_user_id": if archived { json!(1694) } else { Value::Null },
            "job_title": null, "business_unit": null, "department": null, "location": null, "locale": "en",
            "hire_date": null, "manager_name": null, "mobile_phone_number": null, "custom_user_field_data": data}));
            next_id += 1;
        };
    push("Lessonly Admin".into(), "learning-admin@acme.example.com".into(), "admin", Value::Null, false, vec![]);
    for (k, p) in employees_with_email(namely).into_iter().skip(1).take(3).enumerate() {
        let name = format!("{} {}", p["first_name"].as_str().unwrap_or(""), p["last_name"].as_str().unwrap_or(""));
        let email = p["email"].as_str().unwrap_or("").to_string();
        // One match is archived so restore paths can be tested.
        push(
            name,
            email,
            "learner",
            Value::Null,
            k == 2,
            vec![
                (101, "Employee ID", p["employee_id"].as_str().unwrap_or("").to_string()),
                (102, "Division", "Americas".to_string()),
            ],
        );
    }
    push(
        "Former Contractor".into(),
        format!("contractor{}@vendor.example.org", rng.gen_range(10..99)),
        "learner",
        json!("EXT-9"),
        false,
        vec![],
    );
    let ids: Vec<i64> = users.iter().filter_map(|u| u["id"].as_i64()).collect();
    let groups = vec![
        LessonlyGroup {
            id: 38780,
            name: "All Employees".into(),
            archived_at: None,
            members: ids.clone(),
            managers: vec![ids[0]],
        },
        LessonlyGroup {
            id: 38781,
            name: "Engineering".into(),
            archived_at: None,
            members: ids.iter().skip(1).take(1).copied().collect(),
            managers: vec![],
        },
        LessonlyGroup {
            id: 38782,
            name: "New Hires 2023".into(),
            archived_at: Some("2024-01-05T10:00:00.000-05:00".into()),
            members: vec![],
            managers: vec![],
        },
    ];
    LessonlyData { users, groups, custom_fields, email_index: None }
}

fn litmos_user(id: String, first: &str, last: &str, email: &str, active: bool, level: &str) -> Value {
    json!({"Id": id, "UserName": email, "FirstName": first, "LastName": last, "FullName": format!("{first} {last}"),
        "Email": email, "AccessLevel": level, "DisableMessages": true, "Active": active, "Skype": null,
        "PhoneWork": null, "PhoneMobile": null, "LastLogin": null,
        "LoginKey": format!("https://acme.litmos.com//login.aspx?loginkey={id}"), "IsCustomUsername": false,
        "SkipFirstLogin": true, "TimeZone": "UTC", "SalesforceId": null, "OriginalId": 5_091_912,
        "Street1": null, "Street2": null, "City": null, "State": null, "PostalCode": null, "Country": null,
        "CompanyName": "Acme", "JobTitle": null, "CustomField1": null, "CustomField2": null, "Culture": "en-US",
        "ManagerId": null, "ManagerName": null, "ExternalEmployeeId": null, "CreatedDate": "2023-06-20T15:24:16Z",
        "Points": 0, "Brand": "Acme"})
}

/// Litmos-style opaque ids, e.g. `-yJ1NfrpHz41`.
pub(crate) fn litmos_id(rng: &mut impl Rng) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-";
    (0..12).map(|_| A[rng.gen_range(0..A.len())] as char).collect()
}

fn gen_litmos(rng: &mut StdRng, namely: &NamelyData) -> LitmosData {
    let mut users =
        vec![litmos_user(litmos_id(rng), "Account", "Owner", "lms-owner@acme.example.com", true, "Account_Owner")];
    for (k, p) in employees_with_email(namely).into_iter().skip(2).take(3).enumerate() {
        users.push(litmos_user(
            litmos_id(rng),
            p["first_name"].as_str().unwrap_or(""),
            p["last_name"].as_str().unwrap_or(""),
            p["email"].as_str().unwrap_or(""),
            k != 2, // one matched learner starts deactivated
            "Learner",
        ));
    }
    users.push(litmos_user(litmos_id(rng), "Charlie", "Quinn", "charlie.quinn@pieshop.example.net", true, "Learner"));
    LitmosData { users }
}

fn gen_theorg(namely: &NamelyData) -> TheOrgData {
    let chart = namely
        .profiles
        .iter()
        .filter(|p| p["user_status"] == "active")
        .take(50)
        .enumerate()
        .map(|(i, p)| {
            let manager = p["reports_to"][0]["id"]
                .as_str()
                .filter(|m| *m != "no_guid")
                .map(|m| namely.profiles.iter().position(|q| q["id"] == m).map(|k| format!("p-{}", 47185 + k)));
            let idx = namely.profiles.iter().position(|q| q["id"] == p["id"]).unwrap_or(i);
            json!({"id": format!("p-{}", 47185 + idx), "positionId": 47185 + idx,
                   "fullName": p["full_name"], "title": p["job_title"]["title"],
                   "managerId": manager.flatten(), "nodeType": "position", "section": "orgChart"})
        })
        .collect();
    TheOrgData { chart, jobs: Vec::new(), credits_used: 0, credits_limit: 100 }
}
