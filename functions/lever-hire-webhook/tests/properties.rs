//! Property tests: whatever reaches the hire function (a Function URL request, a Lever delivery, an
//! SQS batch, its settings) is read or refused with a reason, never a panic; a correctly signed
//! delivery is always accepted and a tampered one never is.

use base64::Engine;
use hmac::{Hmac, Mac};
use lambda_http::{Body, Request};
use lever_hire_webhook::delivery::{classify, read_delivery, signature_matches, Classified, Delivery, Freshness};
use lever_hire_webhook::function_url::{is_function_url, json_response, serve};
use lever_hire_webhook::queue::{is_sqs_event, read_batch, HireMessage};
use lever_hire_webhook::settings::{HireSettings, TriggerMode};
use lever_hire_webhook::transfer::new_profile;
use mapping::hire::{JobTitleOption, NamelyHire, Salary, StartDateSource};
use platform::Secret;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        3 => "[a-zA-Z0-9 _.,:;@'\"{}\\[\\]/=+-]{0,16}",
        1 => "[ \t\n\u{a0}]{0,4}",
        1 => ".{200,800}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vec![
            "event", "token", "signature", "triggeredAt", "data", "opportunityId", "toStageId", "toArchived", "reason",
            "Records", "eventSource", "body", "messageId", "attributes", "requestContext", "http", "method",
            "isBase64Encoded", "action",
        ])
        .prop_map(String::from),
        1 => text(),
    ]
}

/// Any JSON value, at most three levels deep, keys including the ones this function reads.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
        select(vec!["candidateHired", "candidateStageChange", "candidateArchiveChange", "aws:sqs", "POST", "3"])
            .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Any `triggeredAt` is within this window: these properties are about signatures.
const ANY_TIME: Freshness = Freshness { now_ms: u64::MAX, window_ms: u64::MAX };

fn tokens() -> impl Strategy<Value = Vec<Secret>> {
    prop::collection::vec(prop_oneof![Just("first-webhook-token".to_string()), text()].prop_map(Secret::new), 0..3)
}

/// Lever's signature: lowercase hex HMAC-SHA256 of the token followed by the digits of `triggeredAt`.
fn sign(key: &str, token: &str, at: u64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{token}{at}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn event() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vec!["candidateHired", "candidateStageChange", "candidateArchiveChange", "applicationCreated"])
            .prop_map(String::from),
        1 => text(),
    ]
}

/// Delivery `data` as Lever sends it, with any field replaced by any value.
fn data() -> impl Strategy<Value = Value> {
    let id =
        prop_oneof![Just(Value::from("3410c8b9-5c31-4bab-b7e9-9f710206d647")), Just(Value::from("")), json_value()];
    let archived = prop_oneof![Just(json!({"archivedAt": 1, "reason": "r1"})), Just(Value::Null), json_value()];
    prop_oneof![
        3 => (id, prop::option::of(json_value()), archived, prop_oneof![Just(Value::from("offer")), json_value()])
            .prop_map(|(opportunity_id, extra, to_archived, to_stage)| {
                json!({"opportunityId": opportunity_id, "candidateId": "c1", "toArchived": to_archived,
                       "toStageId": to_stage, "extra": extra})
            }),
        1 => Just(json!({})),
        1 => json_value(),
    ]
}

fn mode() -> impl Strategy<Value = TriggerMode> {
    prop_oneof![
        Just(TriggerMode::OnHire),
        prop_oneof![Just("offer".to_string()), text()].prop_map(TriggerMode::OnStage)
    ]
}

/// A request as `lambda_http` hands it to the webhook; `None` for a method `http` cannot hold.
fn request(method: &str, body: Vec<u8>) -> Option<Request> {
    let mut request = Request::new(Body::from(body));
    *request.method_mut() = method.parse().ok()?;
    Some(request)
}

/// Serves `payload` with a handler that answers 200 and the body it received, base64-encoded.
fn echo(payload: Value) -> Value {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    runtime.block_on(serve(payload, |request: Request| async move {
        let body = base64::engine::general_purpose::STANDARD.encode(request.body().as_ref());
        json_response(200, &json!({"method": request.method().as_str(), "body": body}))
    }))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_function_url_event_is_answered_in_the_function_url_shape(payload in prop_oneof![
        json_value(),
        (prop_oneof![Just(Value::from("post")), json_value()], prop_oneof![text().prop_map(Value::from), json_value()], prop::option::of(json_value()))
            .prop_map(|(method, body, base64)| json!({"requestContext": {"http": {"method": method}}, "body": body, "isBase64Encoded": base64})),
    ]) {
        if is_function_url(&payload) {
            let answer = echo(payload);
            let status = answer["statusCode"].as_u64();
            prop_assert!(status == Some(200) || status == Some(400), "{}", answer);
            prop_assert!(answer["cookies"].is_array() && answer["body"].is_string(), "{}", answer);
        }
    }

    #[test]
    fn a_base64_body_is_decoded_to_its_bytes(bytes in any::<Vec<u8>>(), encoded in any::<bool>()) {
        let body = if encoded { base64::engine::general_purpose::STANDARD.encode(&bytes) } else { String::from_utf8_lossy(&bytes).into_owned() };
        let payload = json!({"requestContext": {"http": {"method": "POST"}}, "isBase64Encoded": encoded, "body": body});
        let answer = echo(payload);
        let echoed: Value = serde_json::from_str(answer["body"].as_str().unwrap_or("")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let received = base64::engine::general_purpose::STANDARD.decode(echoed["body"].as_str().unwrap_or("")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(received, if encoded { bytes } else { body.into_bytes() });
    }

    #[test]
    fn any_request_is_accepted_only_with_a_valid_signature(
        method in prop_oneof![3 => Just("POST".to_string()), 1 => text()],
        body in prop_oneof![
            any::<Vec<u8>>(),
            text().prop_map(String::into_bytes),
            json_value().prop_map(|v| v.to_string().into_bytes()),
            (event(), json_value(), json_value(), json_value(), data())
                .prop_map(|(e, token, at, signature, data)| json!({"event": e, "token": token, "triggeredAt": at, "signature": signature, "data": data}).to_string().into_bytes()),
        ],
        max_body in prop_oneof![Just(65_536usize), 0usize..200],
        tokens in tokens(),
    ) {
        let Some(request) = request(&method, body.clone()) else { return Ok(()) };
        match read_delivery(&request, max_body, &tokens, ANY_TIME) {
            Ok(delivery) => {
                let sent: Value = serde_json::from_slice(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let token = sent["token"].as_str().unwrap_or_default();
                let signature = sent["signature"].as_str().unwrap_or_default();
                prop_assert!(signature_matches(token, delivery.triggered_at, signature, &tokens));
                prop_assert_eq!(delivery.event.as_str(), sent["event"].as_str().unwrap_or_default());
            }
            Err(refusal) => {
                prop_assert!([400, 401, 405, 413].contains(&refusal.status()));
                prop_assert!(!refusal.to_string().is_empty());
                prop_assert_eq!(refusal.response().status().as_u16(), refusal.status());
                if !method.eq_ignore_ascii_case("POST") {
                    prop_assert_eq!(refusal.status(), 405);
                } else if body.len() > max_body {
                    prop_assert_eq!(refusal.status(), 413);
                }
            }
        }
    }

    #[test]
    fn a_signed_delivery_is_accepted_and_a_tampered_one_is_not(
        e in event(),
        token in "[a-f0-9]{48}|.{1,60}",
        at in any::<u64>(),
        data in data(),
        tokens in tokens().prop_filter("a signing token", |t| t.iter().any(|k| !k.expose().trim().is_empty())),
        which in any::<prop::sample::Index>(),
        other_at in any::<u64>(),
    ) {
        // Blank tokens are never keys; sign with one of the others.
        let keys: Vec<&Secret> = tokens.iter().filter(|k| !k.expose().trim().is_empty()).collect();
        let key = keys[which.index(keys.len())].expose().to_string();
        let body = |at: u64, signature: &str| json!({"event": e, "token": token, "triggeredAt": at, "signature": signature, "data": data});
        let post = |v: Value| request("POST", v.to_string().into_bytes()).expect("POST");
        let signature = sign(&key, &token, at);
        let accepted = read_delivery(&post(body(at, &signature)), usize::MAX, &tokens, ANY_TIME);
        // The same JSON `data` comes out as went in (an empty `e` is a missing field); compared after the
        // same trip through text, since serde_json may read a float back one unit in the last place off.
        if !e.is_empty() {
            let data: Value = serde_json::from_str(&data.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let accepted = accepted.map(|d| (d.event, d.triggered_at, d.data, d.token));
            prop_assert_eq!(accepted, Ok((e.clone(), at, data, token.clone())));
        }
        // Another time, or the signature of another key, is refused.
        if other_at != at {
            let err = read_delivery(&post(body(other_at, &signature)), usize::MAX, &tokens, ANY_TIME).map(|_| ());
            prop_assert!(err.is_err());
        }
        let stranger = sign("someone-else", &token, at);
        if !tokens.iter().any(|t| t.expose() == "someone-else") {
            prop_assert!(read_delivery(&post(body(at, &stranger)), usize::MAX, &tokens, ANY_TIME).is_err());
        }
        prop_assert!(!signature_matches(&token, at, &signature, &[]));
    }

    #[test]
    fn any_delivery_is_classified(e in event(), data in data(), mode in mode()) {
        let delivery = Delivery { event: e, triggered_at: 1, data: data.clone(), token: "t".into(), body_sha256: String::new() };
        let opportunity = data.get("opportunityId").and_then(Value::as_str).unwrap_or_default().to_string();
        match classify(&delivery, &mode) {
            Classified::Test => prop_assert!(data.is_null() || data.as_object().is_some_and(|m| m.is_empty())),
            Classified::Ignore(reason) => prop_assert!(!reason.is_empty()),
            Classified::Hire { opportunity_id } => prop_assert_eq!(opportunity_id, opportunity),
            Classified::HireIfHiredReason { opportunity_id, reason_id } => {
                prop_assert_eq!(opportunity_id, opportunity);
                prop_assert!(!reason_id.is_empty());
            }
            Classified::HireIfStage { opportunity_id, stage_id } => {
                prop_assert_eq!(opportunity_id, opportunity);
                prop_assert!(!stage_id.is_empty());
            }
        }
    }

    #[test]
    fn any_sqs_batch_gives_one_record_per_message(payload in prop_oneof![
        json_value(),
        prop::collection::vec(
            (json_value(), prop_oneof![Just(Value::from("aws:sqs")), json_value()], prop_oneof![
                (text(), event(), any::<u64>()).prop_map(|(opportunity_id, event, triggered_at)| {
                    Value::from(serde_json::to_string(&HireMessage { opportunity_id, event, triggered_at }).unwrap_or_default())
                }),
                json_value(),
            ], prop_oneof![Just(Value::from("3")), json_value()]),
            0..4,
        )
        .prop_map(|records| {
            let records: Vec<Value> = records.into_iter().map(|(id, source, body, count)| json!({
                "messageId": id, "eventSource": source, "body": body, "attributes": {"ApproximateReceiveCount": count},
            })).collect();
            json!({"Records": records})
        }),
    ]) {
        let _ = is_sqs_event(&payload);
        // A batch is read whole or refused whole (it then stays on the queue): never half-read.
        let Ok(records) = read_batch(payload.clone()) else {
            let well_typed = |r: &Value| ["messageId", "body", "eventSource"].iter().all(|k| r.get(*k).is_none_or(|v| v.is_string() || v.is_null()))
                && r.get("attributes").is_none_or(|a| a.is_null() || a.as_object().is_some_and(|m| m.values().all(Value::is_string)));
            let records = payload.get("Records").and_then(Value::as_array);
            prop_assert!(records.is_none_or(|r| !r.iter().all(|r| r.is_object() && well_typed(r))), "a well-formed batch was refused: {}", payload);
            return Ok(());
        };
        prop_assert_eq!(records.len(), payload.get("Records").and_then(Value::as_array).map_or(0, Vec::len));
        for (record, raw) in records.iter().zip(payload["Records"].as_array().into_iter().flatten()) {
            let body = raw.get("body").and_then(Value::as_str).unwrap_or("");
            match &record.message {
                Ok(message) => prop_assert_eq!(Some(message.clone()), serde_json::from_str::<HireMessage>(body).ok()),
                Err(reason) => prop_assert!(!reason.is_empty()),
            }
        }
    }

    #[test]
    fn any_hire_settings_are_read_or_name_the_bad_variable(vars in prop::collection::hash_map(
        select(VARIABLES.to_vec()),
        prop_oneof![
            select(vec!["stage", "hired", "Onboarding", "HRIS", "America/Los_Angeles", "Mars/Olympus", "0", "1024", "18446744073709551616", "{\"form:Team\": \"custom:team\"}", "[1]"]).prop_map(String::from),
            text(),
        ],
        0..8,
    )) {
        let vars: HashMap<&str, String> = vars;
        match HireSettings::from_lookup(|name| vars.get(name).cloned()) {
            Ok(settings) => {
                prop_assert!(settings.max_attempts >= 1 && settings.max_body_bytes >= 1024);
                prop_assert!(!settings.new_hire_form.is_empty());
                if let TriggerMode::OnStage(stage) = &settings.trigger {
                    prop_assert!(!stage.is_empty() && stage.trim() == stage);
                }
            }
            Err(e) => {
                prop_assert!(VARIABLES.contains(&e.name), "{}", e.name);
                prop_assert!(!e.reason.is_empty());
            }
        }
    }

    #[test]
    fn a_namely_create_request_keeps_every_mapped_value(
        names in (text(), text(), prop::option::of(text()), prop::option::of(text())),
        emails in (text(), prop::option::of(text())),
        phones in (prop::option::of(text()), prop::option::of(text()), prop::option::of(text())),
        custom in prop::collection::btree_map("[a-z_]{1,10}", json_value(), 0..4),
        salary in prop::option::of((0.0f64..1.0e9, "[A-Z]{3}")),
        days in 0i32..3_000_000,
    ) {
        let start_date = chrono::NaiveDate::from_num_days_from_ce_opt(days).unwrap_or_default();
        let hire = NamelyHire {
            first_name: names.0,
            middle_name: names.2,
            last_name: names.1,
            preferred_name: names.3,
            email: emails.0,
            personal_email: emails.1,
            home_phone: phones.0,
            mobile_phone: phones.1,
            office_phone: phones.2,
            user_status: "pending",
            start_date,
            start_date_source: StartDateSource::SignedOffer,
            job_title: Some(JobTitleOption { id: "t1".into(), title: "Engineer".into() }),
            employee_type: None,
            salary: salary.map(|(yearly_amount, currency)| Salary { yearly_amount, currency }),
            custom: custom.clone(),
            notes: vec![],
        };
        let profile = new_profile(&hire);
        prop_assert_eq!(profile.first_name.as_deref(), Some(hire.first_name.as_str()));
        prop_assert_eq!(profile.last_name.as_deref(), Some(hire.last_name.as_str()));
        prop_assert_eq!(profile.email.as_deref(), Some(hire.email.as_str()));
        prop_assert_eq!(&profile.middle_name, &hire.middle_name);
        prop_assert_eq!(&profile.preferred_name, &hire.preferred_name);
        prop_assert_eq!(&profile.personal_email, &hire.personal_email);
        // Custom fields go as they are; the office phone travels as a plain key beside them.
        for (key, value) in &custom {
            let sent = if key == "office_phone" { hire.office_phone.clone().map(Value::from) } else { None };
            prop_assert_eq!(profile.custom.get(key), Some(sent.as_ref().unwrap_or(value)));
        }
        prop_assert_eq!(profile.custom.get("office_phone").and_then(Value::as_str), hire.office_phone.as_deref().or(custom.get("office_phone").and_then(Value::as_str)));
        let body = serde_json::to_value(&profile).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(body["first_name"].as_str(), Some(hire.first_name.as_str()));
    }
}

/// Every variable the hire settings read.
const VARIABLES: &[&str] = &[
    "HIRE_TRIGGER",
    "HIRE_TRIGGER_STAGE",
    "NAMELY_RECORD_TYPE",
    "HIRE_TIME_ZONE",
    "NAMELY_FIELD_MAP",
    "NAMELY_NEW_HIRE_FORM",
    "HIRE_MAX_ATTEMPTS",
    "LEVER_PERFORM_AS",
    "WEBHOOK_MAX_BODY_BYTES",
];
