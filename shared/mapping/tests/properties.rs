//! Property tests: every mapping function takes arbitrary input (any Unicode, blank, very long,
//! any JSON where Lever allows a value) without panicking, keeps its stated invariants, and name
//! splitting and joining keep every character of a name.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use mapping::hire::{
    map_hire, FieldMap, HireInput, HireProblem, HireRules, JobTitleOption, OfferInput, PhoneInput, RecordType, Source,
    SourceField, Target,
};
use mapping::lessonly::{
    self, CustomFieldMapping, GroupsFrom, KnownField, Learner, LessonlyGroup, StandardField, SyncSettings, UserAction,
};
use mapping::litmos::{self, LearnerAction, LearnerFields, LearnerState, Link, Office};
use mapping::names::{join_name, person_label, split_full_name};
use mapping::theorg::{self, Imported, OpenStates, PostingInput, RoleAction};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Few cases for the planners (each case plans a whole population), no regression files.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Any text a vendor could send: any Unicode, the punctuation parsers split on, blanks, very long.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        4 => "[a-zA-Z0-9 _.,:;@'&#<>/()!=-]{0,16}",
        2 => "[ \t\n\u{a0}\u{2003}\u{3000}]{0,4}",
        1 => ".{200,800}",
    ]
}

/// Whitespace of every kind `split_whitespace` knows, in runs.
fn gap() -> impl Strategy<Value = String> {
    "[ \t\n\r\u{a0}\u{2003}\u{3000}]{1,3}"
}

/// A name-ish word: Latin with accents, apostrophes and hyphens, CJK, surname particles, or anything.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Z][a-zéñüø'-]{0,8}",
        2 => select(vec!["de", "la", "van", "von", "del", "der", "st.", "bin", "al", "De", "Van"]).prop_map(String::from),
        1 => "[李小龍王김민준]{1,3}",
        1 => "[^\\s]{1,6}",
        1 => "[!@#$%^&*+=()\\\\|\\[\\];]{1,2}",
    ]
}

/// A full name: words separated by whitespace runs, with optional whitespace around.
fn name_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (prop::collection::vec((word(), gap()), 0..5), "[ \t]{0,2}").prop_map(|(parts, lead)| {
            let mut s = lead;
            for (w, g) in parts {
                s.push_str(&w);
                s.push_str(&g);
            }
            s
        }),
        2 => text(),
        1 => ".{300,1200}",
    ]
}

/// Epoch milliseconds: ordinary dates, the edges of what chrono can hold, and any i64.
fn epoch_ms() -> impl Strategy<Value = i64> {
    let max = DateTime::<Utc>::MAX_UTC.timestamp_millis();
    let min = DateTime::<Utc>::MIN_UTC.timestamp_millis();
    let day = 86_400_000;
    prop_oneof![
        4 => -2_208_988_800_000i64..4_102_444_800_000,
        1 => (max - 2 * day)..=max.saturating_add(2 * day),
        1 => min.saturating_sub(2 * day)..=(min + 2 * day),
        1 => any::<i64>(),
    ]
}

/// A number as JSON: integers, epoch-ms dates, floats (non-finite ones become null).
fn json_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        epoch_ms().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (-1.0e7f64..1.0e7).prop_map(Value::from),
    ]
}

/// Any JSON value, at most three levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number(),
        text().prop_map(Value::String),
        // Strings that look like values the mapping reads: dates, numbers, yes/no, currencies.
        select(vec![
            "2026-12-01",
            "12/01/2026",
            "2026-12-01T09:00:00-08:00",
            "95,000",
            "1e400",
            "NaN",
            "yes",
            "No",
            "usd"
        ])
        .prop_map(|s| Value::String(s.into())),
        epoch_ms().prop_map(|ms| Value::String(ms.to_string())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn time_zone() -> impl Strategy<Value = Tz> {
    select(vec![
        chrono_tz::UTC,
        chrono_tz::America::Los_Angeles,
        chrono_tz::Pacific::Kiritimati,
        chrono_tz::Pacific::Pago_Pago,
        chrono_tz::Asia::Kathmandu,
    ])
}

/// The offer identifiers and form labels the hire mapping reads, and any other.
fn offer_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vec![
            "anticipated_start_date", "salary_amount", "compensation_currency", "salary_interval", "job_title",
            "employee_type", "custom_equity", "today_date",
        ])
        .prop_map(String::from),
        1 => text(),
    ]
}

fn form_label() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vec![
            "First name", "  legal FIRST name ", "Middle name", "Last name", "Legal last name", "Preferred name",
            "Personal email", "Work email", "Mobile phone", "Home phone", "Employee type", "Start date", "Compensation",
            "Pay currency", "Title",
        ])
        .prop_map(String::from),
        1 => text(),
    ]
}

fn form_kind() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        4 => select(vec!["date", "currency", "yes-no", "text", "dropdown", "multiple-select", " DATE "]).prop_map(String::from),
        1 => text(),
    ])
}

fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => json_value(),
        1 => name_text().prop_map(Value::String),
        1 => "[a-z.]{1,8}@[a-z]{1,6}\\.com".prop_map(Value::String),
    ]
}

fn offer() -> impl Strategy<Value = OfferInput> {
    let field =
        (offer_key(), field_value()).prop_map(|(key, value)| SourceField { key, kind: None, value, currency: None });
    (
        prop::option::of(prop_oneof![
            select(vec!["signed", " SIGNED ", "sent", "draft"]).prop_map(String::from),
            text()
        ]),
        prop::option::of(epoch_ms()),
        prop::collection::vec(field, 0..7),
    )
        .prop_map(|(status, created_at_ms, fields)| OfferInput { status, created_at_ms, fields })
}

fn form_field() -> impl Strategy<Value = SourceField> {
    (form_label(), form_kind(), field_value(), prop::option::of(prop_oneof![Just("EUR".to_string()), text()]))
        .prop_map(|(key, kind, value, currency)| SourceField { key, kind, value, currency })
}

fn email() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vec!["ann@x.com", " ANN@x.com ", "bo@x.com", "cy@y.org", "@x.com", "!!@x.com", "", "  "])
            .prop_map(String::from),
        2 => "[a-z.!#]{0,6}@[a-z]{1,4}\\.(com|org)",
        1 => text(),
    ]
}

fn hire_input() -> impl Strategy<Value = HireInput> {
    let phone =
        (prop::option::of(text()), prop::option::of(text())).prop_map(|(kind, value)| PhoneInput { kind, value });
    (
        prop::option::of(name_text()),
        prop::collection::vec(email(), 0..3),
        prop::collection::vec(phone, 0..3),
        prop::option::of(epoch_ms()),
        prop::option::of(prop_oneof![Just("Back End Software Engineer".to_string()), text()]),
        prop::collection::vec(offer(), 0..3),
        prop::collection::vec(form_field(), 0..6),
    )
        .prop_map(|(name, emails, phones, archived_at_ms, posting_title, offers, new_hire_form)| HireInput {
            name,
            emails,
            phones,
            archived_at_ms,
            posting_title,
            offers,
            new_hire_form,
        })
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        select(vec![
            Target::FirstName,
            Target::MiddleName,
            Target::LastName,
            Target::PreferredName,
            Target::Email,
            Target::PersonalEmail,
            Target::HomePhone,
            Target::MobilePhone,
            Target::OfficePhone,
            Target::StartDate,
            Target::EmployeeType,
            Target::SalaryYearlyAmount,
            Target::SalaryCurrency,
            Target::JobTitle,
        ]),
        select(vec!["equity", "languages", "orientation_date"]).prop_map(|k| Target::Custom(k.into())),
    ]
}

fn field_map() -> impl Strategy<Value = FieldMap> {
    let source = prop_oneof![offer_key().prop_map(Source::Offer), form_label().prop_map(Source::Form)];
    prop::collection::vec((source, target()), 0..6).prop_map(|entries| FieldMap::with(FieldMap { entries }))
}

fn hire_rules() -> impl Strategy<Value = HireRules> {
    (select(vec![RecordType::Hris, RecordType::Onboarding]), time_zone(), field_map())
        .prop_map(|(record_type, time_zone, field_map)| HireRules { record_type, time_zone, field_map })
}

fn job_titles() -> impl Strategy<Value = Vec<JobTitleOption>> {
    let title =
        prop_oneof![Just("Back End Software Engineer".to_string()), Just("Account Executive".to_string()), text()];
    prop::collection::vec((text(), title).prop_map(|(id, title)| JobTitleOption { id, title }), 0..4)
}

/// The characters of `s` that are not whitespace, in order.
fn non_space(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// `s` with every whitespace run made one space and no space around.
fn single_spaced(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_single_spaced(s: &str) -> bool {
    single_spaced(s) == s
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn splitting_a_name_keeps_every_character_in_order(full in name_text()) {
        let name = split_full_name(&full);
        // Nothing dropped, nothing reordered: the parts hold exactly the name's non-space characters.
        prop_assert_eq!(non_space(&name.first) + &non_space(&name.last), non_space(&full));
        // Joining the parts gives back the name with its whitespace normalized.
        prop_assert_eq!(join_name(&name.first, &name.last), single_spaced(&full));
        prop_assert!(is_single_spaced(&name.first) && is_single_spaced(&name.last), "{:?}", name);
        let words = full.split_whitespace().count();
        prop_assert_eq!(name.first.is_empty(), words == 0);
        prop_assert_eq!(name.last.is_empty(), words < 2);
    }

    #[test]
    fn joining_first_and_last_keeps_every_character(first in name_text(), last in name_text()) {
        let joined = join_name(&first, &last);
        prop_assert_eq!(non_space(&joined), non_space(&first) + &non_space(&last));
        prop_assert_eq!(joined.trim(), joined.as_str());
    }

    #[test]
    fn a_person_label_shows_the_name_and_the_email(name in prop::option::of(name_text()), email in prop::option::of(email())) {
        let label = person_label(name.as_deref(), email.as_deref());
        let name = name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        let email = email.as_deref().map(str::trim).filter(|e| !e.is_empty());
        prop_assert_eq!(label.is_none(), name.is_none() && email.is_none());
        let label = label.unwrap_or_default();
        prop_assert!(name.is_none_or(|n| label.contains(n)) && email.is_none_or(|e| label.contains(e)), "{}", label);
    }
}

// ---------------------------------------------------------------------------------------------
// Lever hire -> Namely profile
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn record_types_sources_and_targets_parse_any_text(s in text()) {
        match s.parse::<RecordType>() {
            Ok(t) => prop_assert!(["hris", "onboarding"].contains(&s.trim().to_ascii_lowercase().as_str()), "{}", t),
            Err(e) => prop_assert!(!e.is_empty()),
        }
        match s.parse::<Source>() {
            // A parsed source prints back to text that parses to the same source.
            Ok(source) => prop_assert_eq!(source.to_string().parse::<Source>(), Ok(source)),
            Err(e) => prop_assert!(!e.is_empty()),
        }
        for text in [s.clone(), format!("custom:{s}"), format!("offer:{s}"), format!("form:{s}")] {
            match text.parse::<Target>() {
                Ok(Target::Custom(key)) => prop_assert!(!key.is_empty() && key.trim() == key),
                Ok(target) => prop_assert_eq!(target.name().parse::<Target>(), Ok(target)),
                Err(e) => prop_assert!(!e.is_empty()),
            }
            let _ = text.parse::<Source>();
        }
    }

    #[test]
    fn a_field_map_parses_any_text_or_says_why_not(s in text()) {
        match FieldMap::parse(&s) {
            Ok(map) => prop_assert!(s.trim().is_empty() || serde_json::from_str::<Value>(&s).is_ok(), "{:?}", map),
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn a_field_map_parses_any_json_or_says_why_not(value in prop_oneof![
        json_value(),
        // Near-valid: real source keys and target names, with any value.
        prop::collection::btree_map(
            prop_oneof![offer_key().prop_map(|k| format!("offer:{k}")), form_label().prop_map(|l| format!("form:{l}")), text()],
            prop_oneof![target().prop_map(|t| Value::String(t.name())), json_value()],
            0..5,
        )
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
    ]) {
        match FieldMap::parse(&value.to_string()) {
            // One entry per key, in written order.
            Ok(map) => prop_assert_eq!(map.entries.len(), value.as_object().map_or(0, Map::len)),
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn any_hire_maps_or_every_problem_is_explained(
        input in hire_input(),
        rules in hire_rules(),
        titles in job_titles(),
    ) {
        match map_hire(&input, &rules, &titles) {
            Ok(hire) => {
                for required in [&hire.first_name, &hire.last_name, &hire.email] {
                    prop_assert!(!required.is_empty() && required.trim() == required.as_str(), "{:?}", hire);
                }
                prop_assert_eq!(hire.user_status, rules.record_type.user_status());
                if rules.record_type == RecordType::Onboarding {
                    prop_assert!(hire.personal_email.is_some());
                }
                if let Some(salary) = &hire.salary {
                    prop_assert!(salary.yearly_amount.is_finite() && salary.yearly_amount >= 0.0);
                    prop_assert!(salary.currency.len() == 3 && salary.currency.chars().all(|c| c.is_ascii_uppercase()));
                }
                if let Some(title) = &hire.job_title {
                    prop_assert!(titles.contains(title));
                }
                // Compensation is never echoed: the amount is shown as "(set)".
                let sent = hire.fields_sent();
                prop_assert!(sent.iter().all(|(k, v)| k != "salary.yearly_amount" || v == "(set)"));
                prop_assert!(sent.iter().all(|(k, _)| !k.is_empty()));
            }
            Err(problems) => {
                prop_assert!(!problems.is_empty());
                for p in &problems {
                    prop_assert!(!p.to_string().is_empty());
                }
            }
        }
    }

    #[test]
    fn a_lever_name_reaches_namely_with_every_character(
        name in name_text(),
        emails in prop::collection::vec(email(), 0..2),
        zone in time_zone(),
    ) {
        // Only the name speaks: built-in field map, no New Hire Form, a start date from the hire date.
        let input = HireInput { name: Some(name.clone()), emails, archived_at_ms: Some(1_732_449_793_171), ..HireInput::default() };
        let rules = HireRules { record_type: RecordType::Hris, time_zone: zone, field_map: FieldMap::builtin() };
        let words = name.split_whitespace().count();
        match map_hire(&input, &rules, &[]) {
            Ok(hire) => {
                prop_assert_eq!(non_space(&hire.first_name) + &non_space(&hire.last_name), non_space(&name));
                prop_assert_eq!(join_name(&hire.first_name, &hire.last_name), single_spaced(&name));
            }
            Err(problems) => {
                prop_assert_eq!(problems.contains(&HireProblem::MissingFirstName), words == 0);
                let one_word = HireProblem::MissingLastName { name: Some(name.trim().to_string()) };
                prop_assert_eq!(problems.contains(&one_word), words == 1, "{:?}", problems);
            }
        }
    }
}

/// Found by `any_hire_maps_or_every_problem_is_explained`: an archive time near chrono's last instant,
/// in a zone ahead of UTC, panicked ("Local time out of range") instead of being no date.
#[test]
fn a_lever_time_at_the_end_of_the_calendar_is_not_a_date() {
    let input = HireInput {
        name: Some("Maria de la Cruz".into()),
        emails: vec!["maria@example.com".into()],
        archived_at_ms: Some(8_210_266_826_400_000),
        ..HireInput::default()
    };
    let rules = HireRules {
        record_type: RecordType::Hris,
        time_zone: chrono_tz::Pacific::Kiritimati,
        field_map: FieldMap::builtin(),
    };
    assert_eq!(map_hire(&input, &rules, &[]), Err(vec![HireProblem::MissingStartDate]));

    let offer = OfferInput {
        status: Some("signed".into()),
        created_at_ms: Some(1),
        fields: vec![SourceField {
            key: "anticipated_start_date".into(),
            value: Value::from(8_210_266_826_400_000_i64),
            ..SourceField::default()
        }],
    };
    let problems = map_hire(&HireInput { offers: vec![offer], ..input }, &rules, &[]).unwrap_err();
    assert!(
        matches!(&problems[..], [HireProblem::InvalidValue { target, .. }] if target == "start_date"),
        "{problems:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Namely -> Lessonly
// ---------------------------------------------------------------------------------------------

/// Characters Lessonly rejects in a name (lessonly.md; `NAME_REJECTS` in the mapping).
const LESSONLY_REJECTS: &[char] =
    &['!', '@', '#', '$', '%', '^', '&', '*', '+', '=', '(', ')', '\\', '|', '[', ']', ';'];

const NAMELY_IDS: &[&str] = &["p1", "p2", " p3 ", "p4", ""];
const GROUP_NAMES: &[&str] = &["Sales", " sales ", "Engineering", "Senior", "Individual  Contributor"];
const FIELD_KEYS: &[&str] = &["employee_id", "Employee_ID", "division", "favorite_film"];
const FIELD_NAMES: &[&str] = &["Employee ID", "employee_id", "Division", "Namely ID"];

fn status() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        3 => select(vec!["active", "pending", "inactive", " INACTIVE "]).prop_map(String::from),
        1 => text(),
    ])
}

fn namely_id() -> impl Strategy<Value = String> {
    prop_oneof![3 => select(NAMELY_IDS).prop_map(String::from), 1 => text()]
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (-1_000_000i32..1_000_000).prop_map(|d| NaiveDate::from_num_days_from_ce_opt(730_000 + d).unwrap_or_default())
}

fn lessonly_employee() -> impl Strategy<Value = lessonly::Employee> {
    let names = (
        prop::option::of(email()),
        prop::option::of(name_text()),
        prop::option::of(name_text()),
        prop::option::of(name_text()),
    );
    let work = (
        status(),
        prop::option::of(text()),
        prop::option::of(select(GROUP_NAMES).prop_map(String::from)),
        prop::option::of(prop_oneof![select(GROUP_NAMES).prop_map(String::from), text()]),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(date()),
        prop::option::of(text()),
    );
    let fields =
        prop::collection::btree_map(prop_oneof![select(FIELD_KEYS).prop_map(String::from), text()], text(), 0..3);
    (namely_id(), names, work, fields).prop_map(
        |(namely_id, (email, first_name, last_name, preferred_name), work, fields)| {
            let (user_status, job_title, department, job_tier, location, manager_name, hire_date, mobile_phone) = work;
            lessonly::Employee {
                namely_id,
                email,
                first_name,
                last_name,
                preferred_name,
                user_status,
                job_title,
                department,
                job_tier,
                location,
                manager_name,
                hire_date,
                mobile_phone,
                fields,
            }
        },
    )
}

/// Lessonly users with distinct ids (as Lessonly gives them), values overlapping the employees'.
fn learners() -> impl Strategy<Value = Vec<Learner>> {
    let learner = (
        (prop::option::of(email()), prop::option::of(namely_id()), prop::option::of(name_text()), any::<bool>()),
        (
            prop::option::of(text()),
            prop::option::of(select(GROUP_NAMES).prop_map(String::from)),
            prop::option::of(prop_oneof![Just("2015-10-27T00:00:00-05:00".to_string()), text()]),
        ),
        prop::collection::vec((0i64..5, text(), prop::option::of(text())), 0..3),
        prop::collection::vec(0i64..6, 0..3),
    );
    prop::collection::vec(learner, 0..6).prop_map(|all| {
        all.into_iter()
            .enumerate()
            .map(|(i, ((email, ext_uid, name, archived), (job_title, department, hire_date), custom, groups))| {
                Learner {
                    id: 100 + i as i64,
                    email,
                    ext_uid,
                    name,
                    job_title,
                    department,
                    hire_date,
                    archived,
                    custom,
                    groups,
                    ..Learner::default()
                }
            })
            .collect()
    })
}

fn lessonly_groups() -> impl Strategy<Value = Vec<LessonlyGroup>> {
    let group = (0i64..6, prop_oneof![select(GROUP_NAMES).prop_map(String::from), text()], any::<bool>())
        .prop_map(|(id, name, archived)| LessonlyGroup { id, name, archived });
    prop::collection::vec(group, 0..5)
}

fn known_fields() -> impl Strategy<Value = Vec<KnownField>> {
    let field = (0i64..5, prop_oneof![select(FIELD_NAMES).prop_map(String::from), text()])
        .prop_map(|(id, name)| KnownField { id, name });
    prop::collection::vec(field, 0..4)
}

fn sync_settings() -> impl Strategy<Value = SyncSettings> {
    let mapping = (
        prop_oneof![select(FIELD_KEYS).prop_map(String::from), text()],
        prop::option::of(prop_oneof![select(FIELD_NAMES).prop_map(String::from), text()]),
    )
        .prop_map(|(namely_key, lessonly_name)| CustomFieldMapping { namely_key, lessonly_name });
    (
        prop::collection::vec(select(StandardField::ALL.to_vec()), 0..9),
        any::<(bool, bool)>(),
        prop::collection::vec(mapping, 0..3),
    )
        .prop_map(|(mut fields, (department, job_tier), custom_fields)| {
            fields.sort_unstable();
            fields.dedup();
            SyncSettings { fields, groups_from: GroupsFrom { department, job_tier }, custom_fields }
        })
}

/// The settings words, the separators and anything else.
fn settings_text() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        3 => select(vec![
            "all", "none", "name", "Email", "job title", "JOB-TITLE", "department", "job_tier", "manager_name",
            "hire_date", "mobile_phone", "employee_id", "division:Division", ":Division", "a b:c",
        ])
        .prop_map(String::from),
        1 => text(),
    ];
    prop::collection::vec((word, select(vec![",", " , ", ",,", ", "])), 0..4)
        .prop_map(|parts| parts.into_iter().map(|(w, sep)| w + sep).collect())
}

/// The Lessonly name of a profile as people read it: what `plan` must send on create.
fn lessonly_name_chars(e: &lessonly::Employee) -> String {
    let clean = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let preferred = clean(&e.preferred_name);
    let first = preferred.clone().or(clean(&e.first_name));
    let mut last = clean(&e.last_name);
    // Deliberate: a preferred name of several words that ends with the last name as a word is the
    // full name, so the last name is not repeated.
    if let (Some(p), Some(l)) = (&preferred, &last) {
        let ends =
            p.to_lowercase().strip_suffix(&l.to_lowercase()).is_some_and(|rest| rest.ends_with(char::is_whitespace));
        if p.split_whitespace().count() > 1 && ends {
            last = None;
        }
    }
    // Deliberate: Lessonly rejects some characters in names, so they are left out.
    let keep =
        |s: String| s.chars().filter(|c| !c.is_whitespace() && !LESSONLY_REJECTS.contains(c)).collect::<String>();
    let name = keep(first.unwrap_or_default()) + &keep(last.unwrap_or_default());
    if !name.is_empty() {
        return name;
    }
    // Deliberate: without a usable name, the email's local part stands in.
    keep(clean(&e.email).unwrap_or_default().split('@').next().unwrap_or_default().to_string())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn lessonly_settings_parse_any_text_or_name_the_bad_word(
        fields in settings_text(),
        groups in settings_text(),
        custom in settings_text(),
    ) {
        match SyncSettings::parse(&fields, &groups, &custom) {
            Ok(s) => {
                let unique: BTreeSet<_> = s.fields.iter().collect();
                prop_assert_eq!(unique.len(), s.fields.len());
                for m in &s.custom_fields {
                    prop_assert!(!m.namely_key.is_empty() && !m.namely_key.contains(char::is_whitespace));
                }
            }
            Err(e) => {
                // The error quotes the entry that is wrong.
                let entries: Vec<&str> = [&fields, &groups, &custom].into_iter().flat_map(|t| t.split(',')).map(str::trim).collect();
                prop_assert!(entries.iter().any(|w| !w.is_empty() && e.contains(&format!("'{w}'"))), "{}", e);
            }
        }
    }

    #[test]
    fn lessonly_names_keep_every_accepted_character(employee in lessonly_employee()) {
        let employee = lessonly::Employee { namely_id: "p1".into(), user_status: None, ..employee };
        let settings = SyncSettings::parse("all", "none", "").map_err(TestCaseError::fail)?;
        let plan = lessonly::plan(std::slice::from_ref(&employee), &[], &[], &[], &settings);
        prop_assert_eq!(plan.users.len(), 1);
        match &plan.users[0].action {
            UserAction::Create { fields } => {
                let name = fields.name.clone().unwrap_or_default();
                prop_assert_eq!(non_space(&name), lessonly_name_chars(&employee));
                prop_assert!(is_single_spaced(&name), "{:?}", name);
            }
            UserAction::Skip { reason } => prop_assert!(employee.email.as_deref().is_none_or(|m| m.trim().is_empty()), "{}", reason),
            other => prop_assert!(false, "a profile with no Lessonly user can only be created or skipped: {:?}", other),
        }
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn a_lessonly_plan_covers_every_profile_once(
        employees in prop::collection::vec(lessonly_employee(), 0..8),
        learners in learners(),
        groups in lessonly_groups(),
        known in known_fields(),
        settings in sync_settings(),
    ) {
        let plan = lessonly::plan(&employees, &learners, &groups, &known, &settings);
        prop_assert_eq!(plan.users.len(), employees.len());
        let learner_emails: HashSet<String> =
            learners.iter().filter_map(|l| l.email.as_deref()).map(|m| m.trim().to_lowercase()).filter(|m| !m.is_empty()).collect();
        let known_ids: HashSet<i64> = known.iter().map(|k| k.id).collect();
        let mut touched = HashSet::new();
        let mut created = HashSet::new();
        for (user, employee) in plan.users.iter().zip(&employees) {
            prop_assert_eq!(&user.namely_id, employee.namely_id.trim());
            prop_assert!(!user.label.is_empty() || employee.namely_id.trim().is_empty());
            let fields = match &user.action {
                UserAction::Create { fields } => {
                    let email = fields.email.as_deref().map(str::to_lowercase);
                    prop_assert!(email.is_some(), "Lessonly requires an email on create");
                    let email = email.unwrap_or_default();
                    prop_assert!(!learner_emails.contains(&email), "{} is already a Lessonly user's", email);
                    prop_assert!(created.insert(email.clone()), "{} created twice", email);
                    prop_assert_eq!(fields.ext_uid.as_deref(), Some(employee.namely_id.trim()));
                    Some(fields)
                }
                UserAction::Update { lessonly_id, fields, changes, restore } => {
                    prop_assert!(touched.insert(*lessonly_id), "user #{} planned twice", lessonly_id);
                    prop_assert!(!changes.is_empty() || *restore);
                    Some(fields)
                }
                UserAction::Archive { lessonly_id } | UserAction::Unchanged { lessonly_id } => {
                    prop_assert!(touched.insert(*lessonly_id), "user #{} planned twice", lessonly_id);
                    None
                }
                UserAction::Skip { reason } => {
                    prop_assert!(!reason.is_empty());
                    None
                }
            };
            if let Some(fields) = fields {
                if let Some(name) = fields.name.as_deref().filter(|n| !n.is_empty()) {
                    prop_assert!(!name.contains(LESSONLY_REJECTS) && is_single_spaced(name), "{:?}", name);
                }
                // Custom fields are written by id only, and only ids Lessonly already has.
                prop_assert!(fields.custom.iter().all(|(id, _)| known_ids.contains(id)));
            }
        }
        for group in &plan.groups {
            let work = group.lessonly_group_id.is_none() || group.restore || !group.add.is_empty() || !group.remove.is_empty();
            prop_assert!(work, "a group with nothing to do is not listed: {:?}", group);
        }
        let configured: Vec<String> = settings.custom_fields.iter().map(|m| m.lessonly_name.clone().unwrap_or_else(|| m.namely_key.clone())).collect();
        prop_assert!(plan.missing_custom_fields.iter().all(|m| configured.contains(m)));
        // Counts add up: at most two writes per user, three per group.
        prop_assert!(plan.write_count() <= 2 * plan.users.len() + 3 * plan.groups.len());
        prop_assert_eq!(plan.is_empty(), plan.write_count() == 0);
    }
}

#[test]
fn a_preferred_name_that_only_ends_in_the_last_names_letters_keeps_the_last_name() {
    // "Anna Kali" ends with the letters "li", not with the word: Anna Kali Li keeps her last name.
    let employee = lessonly::Employee {
        namely_id: "p1".into(),
        email: Some("anna@example.com".into()),
        first_name: Some("Anna".into()),
        last_name: Some("Li".into()),
        preferred_name: Some("Anna Kali".into()),
        ..lessonly::Employee::default()
    };
    let settings = SyncSettings::parse("all", "none", "").unwrap();
    let plan = lessonly::plan(&[employee], &[], &[], &[], &settings);
    let UserAction::Create { fields } = &plan.users[0].action else { panic!("{:?}", plan.users[0]) };
    assert_eq!(fields.name.as_deref(), Some("Anna Kali Li"));
}

// ---------------------------------------------------------------------------------------------
// Namely -> Litmos
// ---------------------------------------------------------------------------------------------

fn office() -> impl Strategy<Value = Office> {
    let country = prop_oneof![select(vec!["US", "gb", " uk ", "DE", "XX", ""]).prop_map(String::from), text()];
    (
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(country),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(|(address1, address2, city, state_id, country_id, zip, phone)| Office {
            address1,
            address2,
            city,
            state_id,
            country_id,
            zip,
            phone,
        })
}

fn litmos_employee(id: impl Strategy<Value = String>) -> impl Strategy<Value = litmos::Employee> {
    let activated = prop_oneof![3 => select(vec!["Yes", " yes ", "No", ""]).prop_map(String::from), 1 => text()];
    (
        id,
        status(),
        prop::option::of(activated),
        prop::option::of(email()),
        (prop::option::of(name_text()), prop::option::of(name_text())),
        prop::option::of(text()),
        prop::option::of(office()),
        (prop::option::of(text()), prop::option::of(text())),
    )
        .prop_map(
            |(namely_id, user_status, litmos_activated, email, (first_name, last_name), job_title, office, phones)| {
                litmos::Employee {
                    namely_id,
                    user_status,
                    litmos_activated,
                    email,
                    first_name,
                    last_name,
                    job_title,
                    office,
                    office_phone: phones.0,
                    mobile_phone: phones.1,
                }
            },
        )
}

/// Litmos users with distinct ids, user names and emails overlapping the employees'.
fn litmos_learners() -> impl Strategy<Value = Vec<LearnerState>> {
    let learner = (prop::option::of(email()), prop::option::of(email()), prop::option::of(any::<bool>()));
    prop::collection::vec(learner, 0..6).prop_map(|all| {
        all.into_iter()
            .enumerate()
            .map(|(i, (user_name, email, active))| LearnerState { id: format!("L{i}"), user_name, email, active })
            .collect()
    })
}

fn litmos_links() -> impl Strategy<Value = BTreeMap<String, Link>> {
    let link = (prop_oneof![(0..8usize).prop_map(|i| format!("L{i}")), text()], prop::option::of(text()))
        .prop_map(|(litmos_id, fingerprint)| Link { litmos_id, fingerprint });
    prop::collection::btree_map(namely_id(), link, 0..4)
}

fn learner_fields() -> impl Strategy<Value = LearnerFields> {
    prop::collection::vec(prop::option::of(text()), 12).prop_map(|v| {
        let mut v = v.into_iter();
        let mut next = || v.next().flatten();
        LearnerFields {
            first_name: next(),
            last_name: next(),
            user_name: next(),
            job_title: next(),
            email: next(),
            street1: next(),
            city: next(),
            state: next(),
            postal_code: next(),
            country: next(),
            phone_work: next(),
            phone_mobile: next(),
        }
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn litmos_fields_keep_every_character_of_the_names(employee in litmos_employee(namely_id())) {
        let fields = litmos::learner_fields(&employee);
        let trimmed = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        // First and last name go to Litmos as they are, only trimmed.
        prop_assert_eq!(&fields.first_name, &trimmed(&employee.first_name));
        prop_assert_eq!(&fields.last_name, &trimmed(&employee.last_name));
        prop_assert_eq!(&fields.user_name, &fields.email);
        for (name, _) in LearnerFields::FIELDS {
            if let Some(v) = fields.get(name) {
                prop_assert!(!v.is_empty() && v.trim() == v, "{} = {:?}", name, v);
            }
        }
    }

    #[test]
    fn litmos_fingerprints_follow_the_diff(a in learner_fields(), b in learner_fields()) {
        prop_assert!(a.diff(&a).is_empty());
        prop_assert_eq!(a.fingerprint(), a.clone().fingerprint());
        let diff = a.diff(&b);
        // No difference means the same fingerprint, so an unchanged learner is never rewritten.
        if diff.is_empty() {
            prop_assert_eq!(a.fingerprint(), b.fingerprint());
        }
        let names: Vec<&str> = LearnerFields::FIELDS.iter().map(|(n, _)| *n).collect();
        prop_assert!(diff.iter().all(|c| names.contains(&c.field.as_str()) && c.old != c.new), "{:?}", diff);
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn a_litmos_plan_covers_every_employee_once(
        employees in prop::collection::vec(litmos_employee(namely_id()), 0..8),
        learners in litmos_learners(),
        links in litmos_links(),
    ) {
        let plan = litmos::plan(&employees, &learners, &links);
        prop_assert_eq!(plan.len(), employees.len());
        let mut planned: Vec<&str> = plan.iter().map(|p| p.namely_id.as_str()).collect();
        prop_assert!(planned.windows(2).all(|w| w[0] <= w[1]), "sorted by Namely id");
        let mut given: Vec<&str> = employees.iter().map(|e| e.namely_id.trim()).collect();
        given.sort_unstable();
        planned.sort_unstable();
        prop_assert_eq!(planned, given);
        let mut created = HashSet::new();
        for p in &plan {
            match &p.action {
                LearnerAction::Create { fields } | LearnerAction::Update { fields, .. } => {
                    prop_assert!(fields.email.is_some() && fields.first_name.is_some() && fields.last_name.is_some());
                    if let LearnerAction::Create { .. } = &p.action {
                        let email = fields.email.as_deref().unwrap_or_default().to_lowercase();
                        prop_assert!(created.insert(email.clone()), "{} created twice", email);
                        let taken = learners.iter().any(|l| {
                            [&l.user_name, &l.email].iter().any(|v| v.as_deref().is_some_and(|v| v.trim().to_lowercase() == email))
                        });
                        prop_assert!(!taken, "{} is already a Litmos user's", email);
                    }
                }
                LearnerAction::Skip { reason } => prop_assert!(!reason.is_empty()),
                LearnerAction::Deactivate { .. } | LearnerAction::Unchanged { .. } => {}
            }
        }
    }

    #[test]
    fn a_litmos_learner_is_planned_for_one_employee_only(
        employees in prop::collection::vec(litmos_employee((0..12usize).prop_map(|i| format!("p{i}"))), 0..8),
        learners in litmos_learners(),
        links in litmos_links(),
        split in any::<Index>(),
    ) {
        // Namely ids are unique, as Namely gives them.
        let mut seen = HashSet::new();
        let employees: Vec<_> = employees.into_iter().filter(|e| seen.insert(e.namely_id.clone())).collect();
        let plan = litmos::plan(&employees, &learners, &links);
        let mut touched = HashSet::new();
        for p in &plan {
            let id = match &p.action {
                LearnerAction::Update { litmos_id, .. } | LearnerAction::Deactivate { litmos_id } | LearnerAction::Unchanged { litmos_id } => litmos_id,
                _ => continue,
            };
            prop_assert!(touched.insert(id.clone()), "Litmos user {} planned twice", id);
            prop_assert!(learners.iter().any(|l| &l.id == id));
        }
        // Planned a page at a time, every employee still gets one entry and no learner is taken twice.
        let mut planner = litmos::Planner::new(&learners, &links);
        let (first, rest) = employees.split_at(split.index(employees.len() + 1));
        let paged: Vec<_> = planner.page(first).into_iter().chain(planner.page(rest)).collect();
        prop_assert_eq!(paged.len(), employees.len());
        let mut touched = HashSet::new();
        for p in &paged {
            if let LearnerAction::Update { litmos_id, .. } | LearnerAction::Deactivate { litmos_id } | LearnerAction::Unchanged { litmos_id } = &p.action {
                prop_assert!(touched.insert(litmos_id.clone()), "Litmos user {} planned twice across pages", litmos_id);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lever postings -> The Org
// ---------------------------------------------------------------------------------------------

/// HTML as Lever's editor writes it, broken HTML, entities, and any text.
fn html() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        select(vec![
            "<li>",
            "</li>",
            "<b>",
            "</b>",
            "<br>",
            "<div>",
            "</div>",
            "<ul>",
            "<",
            ">",
            "</",
            "<!-- x -->",
            "&amp;",
            "&lt;",
            "&#39;",
            "&#x1F600;",
            "&#xD800;",
            "&#1114112;",
            "&nbsp;",
            "&",
            ";",
            "&unknown;",
        ])
        .prop_map(String::from),
        text(),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|parts| parts.concat())
}

fn posting() -> impl Strategy<Value = PostingInput> {
    let state = prop_oneof![
        3 => select(vec!["published", "internal", "closed", "draft", "PUBLISHED ", ""]).prop_map(String::from),
        1 => text(),
    ];
    (
        (namely_id(), prop::option::of(text()), prop::option::of(state), prop::option::of(epoch_ms())),
        (
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(text()),
            prop::collection::vec(text(), 0..3),
        ),
        (prop::option::of(text()), prop::option::of(html()), prop::collection::vec((html(), html()), 0..3)),
        (prop::option::of(text()), prop::option::of(html()), prop::option::of(text()), prop::option::of(text())),
    )
        .prop_map(
            |(
                (id, text, state, created_at_ms),
                (department, team, location, all_locations),
                (description, description_html, lists),
                (closing, closing_html, url_show, url_apply),
            )| PostingInput {
                id,
                text,
                state,
                created_at_ms,
                department,
                team,
                location,
                all_locations,
                description,
                description_html,
                lists,
                closing,
                closing_html,
                url_show,
                url_apply,
            },
        )
}

fn imported() -> impl Strategy<Value = BTreeMap<String, Imported>> {
    let entry =
        (text(), text(), text()).prop_map(|(job_id, fingerprint, title)| Imported { job_id, fingerprint, title });
    prop::collection::btree_map(namely_id(), entry, 0..4)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn open_states_parse_any_text_or_list_the_valid_ones(s in prop_oneof![settings_text(), text(), "(published|internal|closed|Draft| )(,(published|INTERNAL|x))*"]) {
        match OpenStates::parse(&s) {
            Ok(states) => {
                prop_assert!(!states.0.is_empty());
                let unique: BTreeSet<&String> = states.0.iter().collect();
                prop_assert_eq!(unique.len(), states.0.len());
                for word in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
                    prop_assert!(states.contains(word), "{} missing from {:?}", word, states);
                }
            }
            Err(e) => prop_assert!(e.contains("valid states"), "{}", e),
        }
    }

    #[test]
    fn any_posting_maps_to_a_role_that_keeps_its_title(posting in posting()) {
        match theorg::open_role(&posting) {
            None => prop_assert!(posting.text.as_deref().is_none_or(|t| t.trim().is_empty())),
            Some(role) => {
                prop_assert_eq!(Some(role.title.as_str()), posting.text.as_deref().map(str::trim));
                prop_assert_eq!(role.external_id.as_str(), posting.id.trim());
                prop_assert_eq!(role.state.clone(), role.state.to_lowercase());
                let unique: BTreeSet<&String> = role.all_locations.iter().collect();
                prop_assert_eq!(unique.len(), role.all_locations.len());
                prop_assert!(role.all_locations.iter().all(|l| !l.is_empty() && l.trim() == l.as_str()));
                prop_assert!(theorg::diff(&role, &role).is_empty());
                prop_assert_eq!(role.fingerprint(), role.clone().fingerprint());
            }
        }
    }

    #[test]
    fn plain_list_text_keeps_every_character(heading in text(), item in text()) {
        // Text without markup (`<`) or entities (`&`) is shown as written, whitespace collapsed.
        let (heading, item) = (heading.replace(['<', '&'], ""), item.replace(['<', '&'], ""));
        let posting = PostingInput {
            id: "p1".into(),
            text: Some("Engineer".into()),
            lists: vec![(heading.clone(), item.clone())],
            ..PostingInput::default()
        };
        let role = theorg::open_role(&posting).ok_or_else(|| TestCaseError::fail("a titled posting is a role"))?;
        let mut lines = Vec::new();
        lines.extend(Some(single_spaced(&heading)).filter(|h| !h.is_empty()));
        lines.extend(Some(single_spaced(&item)).filter(|i| !i.is_empty()).map(|i| format!("- {i}")));
        prop_assert_eq!(role.description, Some(lines.join("\n")).filter(|d| !d.is_empty()));
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn a_theorg_plan_has_one_sorted_entry_per_posting_that_matters(
        postings in prop::collection::vec(posting(), 0..8),
        states in prop_oneof![Just(OpenStates::default()), Just(OpenStates(vec!["closed".into()]))],
        imported in imported(),
    ) {
        let plan = theorg::plan(&postings, &states, &imported);
        let ids: Vec<&str> = plan.iter().map(|p| p.external_id.as_str()).collect();
        prop_assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted, one entry per posting: {:?}", ids);
        let posted: HashSet<&str> = postings.iter().map(|p| p.id.trim()).filter(|id| !id.is_empty()).collect();
        let before: HashSet<&str> = imported.keys().map(|id| id.trim()).filter(|id| !id.is_empty()).collect();
        for p in &plan {
            prop_assert!(!p.external_id.is_empty());
            match &p.action {
                RoleAction::Create { role } => {
                    prop_assert!(!before.contains(p.external_id.as_str()));
                    prop_assert!(states.contains(&role.state) && !role.title.is_empty());
                }
                RoleAction::Update { role, .. } => prop_assert!(states.contains(&role.state) && !role.title.is_empty()),
                RoleAction::Remove { reason, .. } => {
                    prop_assert!(before.contains(p.external_id.as_str()));
                    prop_assert_eq!(reason == "deleted in Lever", !posted.contains(p.external_id.as_str()));
                }
                RoleAction::Unchanged { .. } => prop_assert!(before.contains(p.external_id.as_str())),
            }
        }
        // Everything imported before is still planned: kept, updated or removed.
        for id in &before {
            prop_assert!(ids.contains(id), "{} vanished from the plan", id);
        }
    }
}

/// Found by `plain_list_text_keeps_every_character`: list text starting with a character of more than
/// one byte (a no-break space, "Über", "ௐ") panicked in the HTML scanner.
#[test]
fn list_text_may_start_with_any_character() {
    let posting = PostingInput {
        id: "p1".into(),
        text: Some("Engineer".into()),
        lists: vec![("\u{a0}Über uns".into(), "<li>Qualificações</li><li>ௐ <b>日本</b></li>".into())],
        ..PostingInput::default()
    };
    let role = theorg::open_role(&posting).unwrap();
    assert_eq!(role.description.as_deref(), Some("Über uns\n- Qualificações\n- ௐ 日本"));
}
