//! Property tests: every vendor payload type, error envelope and header parser takes arbitrary
//! input (any JSON, any text, any bytes, and real payloads with fields removed, nulled or replaced)
//! and either reads it or says why not, without panicking.

use chrono::{NaiveDate, TimeZone, Utc};
use connectors::http::parse_retry_after;
use connectors::namely::{
    field_key_by_label, normalize_company, Directory, Group, GroupLinks, GroupType, GroupsListing, JobTier, JobTitle,
    JobTitleRef, Profile, ProfileField, ProfileLinks,
};
use connectors::{lessonly, lever, litmos, namely, theorg};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Any text a vendor could send: any Unicode, JSON-ish punctuation, blanks, very long.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        3 => "[a-zA-Z0-9 _.,:;@'\"{}\\[\\]<>/-]{0,16}",
        1 => "[ \t\n\u{a0}]{0,4}",
        1 => ".{200,800}",
    ]
}

fn json_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (-1.0e4f64..1.0e4).prop_map(Value::from),
    ]
}

/// Any JSON value, at most three levels deep; object keys include the vendors' own field names.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number(),
        text().prop_map(Value::String),
        select(vec!["", "1582910091572", "1.5e3", "2015-10-27", "10/27/2015", "true", "yes", "no_guid", "nan"])
            .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vec![
            "id", "Id", "name", "data", "fields", "value", "emails", "phones", "archived", "contact", "applications",
            "createdAt", "profiles", "users", "groups", "links", "reports_to", "custom_user_field_data", "message",
            "error", "errors", "Detail", "Message", "code", "reason", "text", "identifier", "member",
        ])
        .prop_map(String::from),
        1 => text(),
    ]
}

// ---------------------------------------------------------------------------------------------
// Every payload type
// ---------------------------------------------------------------------------------------------

/// Reads `value` as `T` the way the connectors do (`serde_json::from_value`); an error must say something.
fn read<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|e| {
        let message = e.to_string();
        if message.is_empty() {
            "(an error without a message)".to_string()
        } else {
            message
        }
    })
}

/// Reads a payload and uses every accessor on what was read.
type Reader = fn(&Value) -> Result<(), String>;

fn plain<T: DeserializeOwned>(value: &Value) -> Result<(), String> {
    read::<T>(value).map(|_| ())
}

fn opportunity(value: &Value) -> Result<(), String> {
    let o: lever::Opportunity = read(value)?;
    let _ = (o.archive_reason_id(), o.archived_at_ms(), o.contact_id());
    Ok(())
}

fn offer(value: &Value) -> Result<(), String> {
    let o: lever::Offer = read(value)?;
    let _ = (o.field("anticipated_start_date"), o.field(""));
    Ok(())
}

fn archive_reason(value: &Value) -> Result<(), String> {
    read::<lever::ArchiveReason>(value).map(|r| {
        r.is_hired();
    })
}

fn note(value: &Value) -> Result<(), String> {
    let n: lever::Note = read(value)?;
    let _ = n.texts();
    Ok(())
}

fn profile(value: &Value) -> Result<(), String> {
    let p: Profile = read(value)?;
    let _ = (p.custom("litmos_activated"), p.custom_str("litmos_activated"), p.group_ids(), p.manager_id());
    for key in p.extra.keys() {
        let _ = p.custom_str(key);
    }
    Ok(())
}

fn lessonly_user(value: &Value) -> Result<(), String> {
    read::<lessonly::User>(value).map(|u| {
        u.is_archived();
    })
}

fn litmos_summary(value: &Value) -> Result<(), String> {
    let u: litmos::UserSummary = read(value)?;
    let _ = litmos::is_exact_match(&u, "charlie.smith@pieshop.net");
    Ok(())
}

/// Every payload type, its real-shaped example in `fixtures/payloads.json`, and where its required ids are
/// (`*` is any array index).
const PAYLOADS: &[(&str, &[&str], Reader)] = &[
    ("lever.opportunity", &["/id"], opportunity),
    ("lever.offer", &["/id"], offer),
    ("lever.form", &["/id"], plain::<lever::ProfileForm>),
    ("lever.file", &[], plain::<lever::LeverFile>),
    ("lever.resume", &["/id"], plain::<lever::Resume>),
    ("lever.archive_reason", &["/id"], archive_reason),
    ("lever.stage", &["/id"], plain::<lever::Stage>),
    ("lever.posting", &["/id"], plain::<lever::Posting>),
    ("lever.note", &[], note),
    ("lever.deleted_posting", &["/id"], plain::<lever::DeletedPosting>),
    ("namely.profile", &["/id"], profile),
    ("namely.job_title", &["/id"], plain::<JobTitle>),
    ("namely.job_tier", &["/id"], plain::<JobTier>),
    ("namely.group", &["/id"], plain::<Group>),
    ("namely.group_type", &["/id"], plain::<GroupType>),
    ("namely.profile_field", &["/name"], plain::<ProfileField>),
    ("lessonly.user", &["/id"], lessonly_user),
    ("lessonly.group", &["/id"], plain::<lessonly::Group>),
    ("lessonly.users_page", &["/users/*/id"], plain::<lessonly::UsersPage>),
    ("lessonly.user_groups", &[], plain::<lessonly::UserGroups>),
    ("litmos.user_summary", &["/Id"], litmos_summary),
    ("litmos.user", &[], plain::<litmos::User>),
    ("theorg.job", &["/id"], plain::<theorg::Job>),
];

/// Parts of vendor payloads that are read as their own types too.
const PARTS: &[Reader] = &[
    plain::<lever::Contact>,
    plain::<lever::Application>,
    plain::<lever::Phone>,
    plain::<lever::FormField>,
    plain::<lever::OfferField>,
    plain::<lever::Categories>,
    plain::<lever::PostingContent>,
    plain::<lever::SalaryRange>,
    plain::<namely::Address>,
    plain::<namely::Salary>,
    plain::<namely::PersonRef>,
    plain::<lessonly::CustomFieldValue>,
    plain::<Vec<litmos::UserSummary>>,
    plain::<Vec<Profile>>,
];

fn fixture(name: &str) -> Value {
    static ALL: OnceLock<Map<String, Value>> = OnceLock::new();
    let all = ALL.get_or_init(|| serde_json::from_str(include_str!("fixtures/payloads.json")).unwrap());
    all.get(name).cloned().unwrap_or_else(|| panic!("no fixture {name}"))
}

/// One step into a JSON value.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    At(usize),
}

/// A path as `/key/*/key`, any array index written `*`.
fn pattern(path: &[Step]) -> String {
    path.iter().map(|s| if let Step::Key(k) = s { format!("/{k}") } else { "/*".to_string() }).collect()
}

/// Every node of `value` (the root is the empty path).
fn paths(value: &Value) -> Vec<Vec<Step>> {
    let mut out = vec![vec![]];
    let children: Vec<(Step, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
        Value::Array(items) => items.iter().enumerate().map(|(i, v)| (Step::At(i), v)).collect(),
        _ => vec![],
    };
    for (step, child) in children {
        for mut rest in paths(child) {
            rest.insert(0, step.clone());
            out.push(rest);
        }
    }
    out
}

fn node_mut<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |node, step| match step {
        Step::Key(k) => node.get_mut(k.as_str()),
        Step::At(i) => node.get_mut(*i),
    })
}

/// Replaces the node at `path` with `replacement`, or removes it (an object member) when there is none.
fn mutate(value: &mut Value, path: &[Step], replacement: Option<Value>) {
    match (path.split_last(), replacement) {
        (Some((Step::Key(k), parent)), None) => {
            if let Some(Value::Object(map)) = node_mut(value, parent) {
                map.remove(k);
            }
        }
        (_, replacement) => {
            if let Some(node) = node_mut(value, path) {
                *node = replacement.unwrap_or(Value::Null);
            }
        }
    }
}

/// A real payload with one to four nodes replaced by any JSON (another type, null) or removed.
fn near_valid() -> impl Strategy<Value = (usize, Value)> {
    let edits = prop::collection::vec((any::<Index>(), prop::option::of(json_value())), 1..5);
    (0..PAYLOADS.len(), edits).prop_map(|(which, edits)| {
        let mut value = fixture(PAYLOADS[which].0);
        for (at, replacement) in edits {
            let all = paths(&value);
            mutate(&mut value, &all[at.index(all.len())], replacement);
        }
        (which, value)
    })
}

#[test]
fn every_real_payload_is_read() {
    for (name, _, reader) in PAYLOADS {
        assert_eq!(reader(&fixture(name)), Ok(()), "{name}");
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_json_is_read_or_refused_with_a_reason(value in json_value()) {
        for (name, _, reader) in PAYLOADS {
            if let Err(e) = reader(&value) {
                prop_assert!(!e.is_empty(), "{}", name);
            }
        }
        for reader in PARTS {
            let _ = reader(&value);
        }
    }

    #[test]
    fn any_body_is_read_or_refused_with_a_reason(body in prop_oneof![
        any::<Vec<u8>>(),
        text().prop_map(String::into_bytes),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        // Truncated JSON: a real payload cut anywhere.
        (0..PAYLOADS.len(), any::<Index>()).prop_map(|(which, at)| {
            let text = fixture(PAYLOADS[which].0).to_string().into_bytes();
            text[..at.index(text.len())].to_vec()
        }),
    ]) {
        // The connectors parse the body to a value first, then the value to the payload type.
        match serde_json::from_slice::<Value>(&body) {
            Ok(value) => {
                for (_, _, reader) in PAYLOADS {
                    let _ = reader(&value);
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn a_real_payload_with_any_field_changed_is_read_or_refused((which, value) in near_valid()) {
        let (name, _, reader) = PAYLOADS[which];
        if let Err(e) = reader(&value) {
            prop_assert!(!e.is_empty(), "{}", name);
        }
    }

    #[test]
    fn a_missing_or_null_field_never_stops_a_read(
        which in 0..PAYLOADS.len(),
        at in any::<Index>(),
        remove in any::<bool>(),
    ) {
        // Vendors send `null` or leave a field out for anything but the record's id.
        let (name, required, reader) = PAYLOADS[which];
        let mut value = fixture(name);
        let members: Vec<Vec<Step>> = paths(&value)
            .into_iter()
            .filter(|p| matches!(p.last(), Some(Step::Key(_))))
            .filter(|p| !required.contains(&pattern(p).as_str()))
            .collect();
        let path = &members[at.index(members.len())];
        mutate(&mut value, path, if remove { None } else { Some(Value::Null) });
        prop_assert_eq!(reader(&value), Ok(()), "{} without {:?}", name, path);
    }

    #[test]
    fn numbers_may_come_as_text(n in any::<i64>(), f in -1.0e9f64..1.0e9) {
        // Lever sends `uploadedAt`/`size` as strings in some examples; Lessonly sends ids as strings.
        let as_number: lever::LeverFile = read(&json!({"uploadedAt": n, "size": n})).map_err(TestCaseError::fail)?;
        let as_text: lever::LeverFile = read(&json!({"uploadedAt": n.to_string(), "size": format!(" {n} ")})).map_err(TestCaseError::fail)?;
        prop_assert_eq!((as_number.uploaded_at, as_number.size), (Some(n), Some(n)));
        prop_assert_eq!(as_text, as_number);
        let user: lessonly::User = read(&json!({"id": n.to_string()})).map_err(TestCaseError::fail)?;
        prop_assert_eq!(user.id, n);
        let salary: namely::Salary = read(&json!({"yearly_amount": f.to_string()})).map_err(TestCaseError::fail)?;
        prop_assert_eq!(salary.yearly_amount, Some(f));
    }

    #[test]
    fn namely_dates_read_the_same_in_both_formats(days in 0i32..3_000_000) {
        let date = NaiveDate::from_num_days_from_ce_opt(days).unwrap_or_default();
        let iso: Profile = read(&json!({"id": "p", "start_date": date.format("%Y-%m-%d").to_string()})).map_err(TestCaseError::fail)?;
        prop_assert_eq!(iso.start_date, Some(date));
        let us: Profile = read(&json!({"id": "p", "start_date": date.format("%m/%d/%Y").to_string()})).map_err(TestCaseError::fail)?;
        prop_assert_eq!(us.start_date, Some(date));
        let stamp: Profile = read(&json!({"id": "p", "start_date": format!("{}T00:00:00-05:00", date.format("%Y-%m-%d"))})).map_err(TestCaseError::fail)?;
        prop_assert_eq!(stamp.start_date, Some(date));
    }

    #[test]
    fn a_litmos_user_written_back_keeps_every_field_it_came_with(
        extra in prop::collection::btree_map("[A-Z][A-Za-z0-9]{0,12}", json_value(), 0..6),
        which in 0..2usize,
    ) {
        // Litmos replaces the whole user on PUT, so what we read and send back must lose nothing.
        let mut value = if which == 0 { fixture("litmos.user") } else { json!({"Id": "x"}) };
        let Some(object) = value.as_object_mut() else { return Err(TestCaseError::fail("an object")) };
        object.extend(extra);
        let user: litmos::User = read(&value).map_err(TestCaseError::fail)?;
        let back = serde_json::to_value(&user).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (key, original) in &user.extra {
            prop_assert_eq!(back.get(key), Some(original), "{}", key);
        }
        prop_assert_eq!(read::<litmos::User>(&back), Ok(user));
    }
}

// ---------------------------------------------------------------------------------------------
// Error envelopes, throttle signals, Retry-After, company subdomains
// ---------------------------------------------------------------------------------------------

/// A vendor's error-envelope reader.
type ErrorMessage = fn(&str) -> Option<String>;

const ERROR_MESSAGES: &[(&str, ErrorMessage)] = &[
    ("lever", lever::error_message),
    ("namely", namely::error_message),
    ("lessonly", lessonly::error_message),
    ("litmos", litmos::error_message),
    ("theorg", theorg::error_message),
];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_error_body_gives_a_message_or_none(body in prop_oneof![
        text(),
        json_value().prop_map(|v| v.to_string()),
        (select(vec!["message", "code", "error", "errors", "Detail", "Message", "detail"]), json_value(), json_value())
            .prop_map(|(k, v, e)| json!({k: v, "error": {"reason": e}, "errors": [e]}).to_string()),
    ]) {
        for (vendor, message) in ERROR_MESSAGES {
            if let Some(m) = message(&body) {
                prop_assert!(!m.is_empty(), "{}", vendor);
            }
        }
    }

    #[test]
    fn each_vendor_envelope_gives_its_message(message in text().prop_filter("a message", |m| !m.trim().is_empty())) {
        let m = message.trim();
        let envelopes = [
            json!({"code": "ResourceNotFound", "message": message}),
            json!({"message": message}),
            json!({"error": message}),
            json!({"Detail": message}),
            json!({"error": {"code": 404, "reason": message}}),
        ];
        for ((vendor, read_message), body) in ERROR_MESSAGES.iter().zip(envelopes) {
            let found = read_message(&body.to_string()).unwrap_or_default();
            prop_assert!(found.contains(m), "{}: {:?}", vendor, found);
        }
    }

    #[test]
    fn lessonly_throttles_only_on_429_and_rate_limit_403s(status in any::<u16>(), reason in text(), body in text()) {
        let throttle = lessonly::is_throttle(status, &reason, &body);
        let says = |t: &str| t.to_ascii_lowercase().contains("rate limit");
        prop_assert_eq!(throttle, status == 429 || (status == 403 && (says(&reason) || says(&body))));
    }

    #[test]
    fn any_retry_after_is_a_wait_or_nothing(value in prop_oneof![
        text(),
        any::<f64>().prop_map(|f| f.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        select(vec!["1e20", "1e400", "-0", "inf", "NaN", "18446744073709551616", "Mon, 01 Jan 2024 00:00:30 GMT"]).prop_map(String::from),
        (0i64..4_102_444_800).prop_map(|s| Utc.timestamp_opt(s, 0).single().unwrap_or_default().to_rfc2822()),
    ]) {
        let now = Utc.timestamp_opt(1_704_067_200, 0).single().unwrap_or_default();
        let wait = parse_retry_after(&value, now);
        if let Ok(seconds) = value.trim().parse::<f64>() {
            let expected = (seconds.is_finite() && seconds >= 0.0)
                .then(|| Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX));
            prop_assert_eq!(wait, expected);
        } else if wait.is_some() {
            // Otherwise only an HTTP date gives a wait.
            prop_assert!(chrono::DateTime::parse_from_rfc2822(value.trim()).is_ok(), "{}", value);
        }
    }

    #[test]
    fn a_namely_company_is_a_subdomain_or_refused(input in prop_oneof![
        text(),
        ("(https?://)?", "[A-Za-z0-9-]{0,10}", "(\\.namely\\.com)?", "[/?#]?[a-z]{0,4}").prop_map(|(a, b, c, d)| format!("{a}{b}{c}{d}")),
    ]) {
        match normalize_company(&input) {
            Ok(company) => {
                prop_assert!(!company.is_empty() && company.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{}", company);
                // The bare subdomain is already normal.
                prop_assert_eq!(normalize_company(&company).ok(), Some(company));
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Namely reference data: field keys by label, departments, offices, job tiers
// ---------------------------------------------------------------------------------------------

const IDS: &[&str] = &["g1", "g2", "t1", "tier1", "type1", "type2", ""];

fn id() -> impl Strategy<Value = String> {
    prop_oneof![3 => select(IDS).prop_map(String::from), 1 => text()]
}

fn kind_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        select(vec!["department", "Departments", "Office Location", "office locations", "custom"])
            .prop_map(String::from),
        text(),
    ])
}

fn directory() -> impl Strategy<Value = Directory> {
    let group = (id(), prop::option::of(text()), kind_text(), prop::option::of(id())).prop_map(
        |(id, title, group_type, link)| Group {
            id,
            title,
            group_type,
            links: Some(GroupLinks { group_type: link }),
            ..Group::default()
        },
    );
    let group_type = (id(), kind_text(), kind_text()).prop_map(|(id, title, kind)| GroupType {
        id,
        title,
        kind,
        ..GroupType::default()
    });
    let title = (id(), prop::option::of(text()), prop::option::of(id()), prop::option::of(json_value()))
        .prop_map(|(id, title, parent_id, links)| JobTitle { id, title, parent_id, links, ..JobTitle::default() });
    let tier = (id(), prop::option::of(text())).prop_map(|(id, title)| JobTier { id, title, links: None });
    (
        prop::collection::vec(group, 0..5),
        prop::collection::vec(group_type, 0..3),
        prop::collection::vec(title, 0..3),
        prop::collection::vec(tier, 0..3),
    )
        .prop_map(|(groups, group_types, job_titles, job_tiers)| Directory {
            groups: GroupsListing { groups, group_types },
            job_titles,
            job_tiers,
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn a_field_key_found_by_label_is_a_field_of_the_schema(
        fields in prop::collection::vec((text(), prop::option::of(text())).prop_map(|(name, label)| ProfileField { name, label, ..ProfileField::default() }), 0..5),
        label in text(),
        pick in any::<Index>(),
    ) {
        if let Some(key) = field_key_by_label(&fields, &label) {
            prop_assert!(fields.iter().any(|f| f.name == key));
        }
        // A field's own label (in any surrounding space) finds a field with that label.
        if let Some(field) = fields.get(pick.index(fields.len().max(1))).filter(|f| f.label.is_some()) {
            let label = field.label.clone().unwrap_or_default();
            let key = field_key_by_label(&fields, &format!("  {label} ")).unwrap_or_default();
            let wanted = label.trim().to_lowercase();
            prop_assert!(fields.iter().any(|f| f.name == key && (f.label.as_deref().map(|l| l.trim().to_lowercase()) == Some(wanted.clone()) || f.name.to_lowercase() == wanted)));
        }
    }

    #[test]
    fn a_directory_names_only_its_own_groups_and_tiers(
        directory in directory(),
        groups in prop::collection::vec(id(), 0..4),
        title_id in prop::option::of(id()),
    ) {
        let profile = Profile {
            id: "p".into(),
            links: Some(ProfileLinks { groups: groups.into_iter().map(|id| namely::GroupRef { id: Some(id), name: None }).collect(), teams: vec![] }),
            job_title: title_id.map(|id| JobTitleRef { id: Some(id), title: None }),
            ..Profile::default()
        };
        let group_titles: Vec<Option<String>> = directory.groups.groups.iter().map(|g| g.title.clone()).collect();
        for found in [directory.department(&profile), directory.office(&profile)].into_iter().flatten() {
            prop_assert!(group_titles.contains(&Some(found)));
        }
        if let Some(tier) = directory.job_tier(&profile) {
            prop_assert!(directory.job_tiers.iter().any(|t| t.title.as_deref() == Some(tier.as_str())));
        }
    }
}

/// Found by `any_retry_after_is_a_wait_or_nothing`: a Retry-After too large for a `Duration`
/// ("1e20" seconds) panicked; it is the longest wait, which the retry policy caps.
#[test]
fn a_retry_after_beyond_any_duration_is_the_longest_wait() {
    let now = Utc.timestamp_opt(1_704_067_200, 0).single().unwrap();
    assert_eq!(parse_retry_after("1e20", now), Some(Duration::MAX));
    assert_eq!(parse_retry_after("18446744073709551616", now), Some(Duration::MAX));
    assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
    let policy = connectors::RetryPolicy::default();
    assert_eq!(policy.throttle_wait(1, parse_retry_after("1e20", now)), policy.retry_after_cap);
}
