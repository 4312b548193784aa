//! Lever webhook deliveries: reading the Function URL request (a `lambda_http::Request`), checking
//! the signature exactly as Lever documents it (lever.md §2.3), and deciding whether the event is a hire.

use crate::function_url::json_response;
use crate::settings::TriggerMode;
use hmac::{Hmac, Mac};
use lambda_http::{Body, Request, Response};
use platform::Secret;
use serde_json::{json, Value};
use sha2::Sha256;

/// A delivery whose signature checked out.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub event: String,
    pub triggered_at: u64,
    pub data: Value,
}

/// Why a request was refused, as the HTTP answer Lever (or whoever sent it) gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("only POST is accepted; Lever delivers webhooks with POST")]
    MethodNotAllowed,
    #[error("the body is {size} bytes, over the {limit}-byte limit for a Lever delivery")]
    TooLarge { size: usize, limit: usize },
    #[error("the body is not a JSON object: {0}")]
    NotJson(String),
    #[error("the delivery has no valid `{0}` field")]
    MissingField(&'static str),
    #[error("the signature does not match any configured Lever webhook signature token")]
    BadSignature,
    #[error("no Lever webhook signature token is configured, so no delivery can be trusted: add `webhook_signature_tokens` to the Lever secret")]
    NoTokens,
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::MethodNotAllowed => 405,
            Refusal::TooLarge { .. } => 413,
            Refusal::NotJson(_) | Refusal::MissingField(_) => 400,
            Refusal::BadSignature | Refusal::NoTokens => 401,
        }
    }

    /// The Function URL response for this refusal.
    pub fn response(&self) -> Response<Body> {
        json_response(self.status(), &json!({"error": self.to_string()}))
    }
}

/// Checks size, JSON shape and signature. Nothing else happens for a refused request.
pub fn read_delivery(request: &Request, max_body: usize, tokens: &[Secret]) -> Result<Delivery, Refusal> {
    if !request.method().as_str().eq_ignore_ascii_case("POST") {
        return Err(Refusal::MethodNotAllowed);
    }
    let body: &[u8] = request.body().as_ref();
    if body.len() > max_body {
        return Err(Refusal::TooLarge { size: body.len(), limit: max_body });
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| Refusal::NotJson(e.to_string()))?;
    let Value::Object(body) = value else { return Err(Refusal::NotJson("a JSON value that is not an object".into())) };
    let text = |key: &'static str| body.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or(key);
    let event = text("event").map_err(Refusal::MissingField)?;
    let token = text("token").map_err(Refusal::MissingField)?;
    // An integer, so that its decimal digits are exactly the ones Lever signed.
    let triggered_at = body.get("triggeredAt").and_then(Value::as_u64).ok_or(Refusal::MissingField("triggeredAt"))?;
    let signature = body.get("signature").and_then(Value::as_str).unwrap_or("");
    if tokens.is_empty() {
        return Err(Refusal::NoTokens);
    }
    if signature.is_empty() || !signature_matches(token, triggered_at, signature, tokens) {
        return Err(Refusal::BadSignature);
    }
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    Ok(Delivery { event: event.to_string(), triggered_at, data })
}

/// Lever's algorithm: lowercase hex HMAC-SHA256 of `token` followed by the digits of `triggeredAt`,
/// keyed with a webhook's signature token; compared in constant time against every token.
pub fn signature_matches(token: &str, triggered_at: u64, signature: &str, tokens: &[Secret]) -> bool {
    let Ok(given) = hex::decode(signature.trim()) else { return false };
    let message = format!("{token}{triggered_at}");
    tokens.iter().any(|key| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()) else { return false };
        mac.update(message.as_bytes());
        mac.verify_slice(&given).is_ok()
    })
}

/// What a verified delivery asks for, before any Lever lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// The "test" button in Lever's settings: empty `data`.
    Test,
    /// Not a hire under the configured trigger; acknowledged and ignored.
    Ignore(String),
    /// A hire of this opportunity.
    Hire { opportunity_id: String },
    /// A hire if this archive reason has type `hired` (needs Lever's archive reasons).
    HireIfHiredReason { opportunity_id: String, reason_id: String },
    /// A hire if this stage is the configured one (needs Lever's stages to match a stage name).
    HireIfStage { opportunity_id: String, stage_id: String },
}

/// Sorts a delivery by event and trigger mode. Keys on `opportunityId`, never the deprecated
/// `candidateId` (lever.md §2.2).
pub fn classify(delivery: &Delivery, mode: &TriggerMode) -> Classified {
    let data = &delivery.data;
    if data.is_null() || data.as_object().is_some_and(|m| m.is_empty()) {
        return Classified::Test;
    }
    let field = |key: &str| data.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let Some(opportunity_id) = field("opportunityId") else {
        return Classified::Ignore(format!("{} delivery without an opportunityId", delivery.event));
    };
    match (mode, delivery.event.as_str()) {
        (TriggerMode::OnHire, "candidateHired") => Classified::Hire { opportunity_id },
        (TriggerMode::OnHire, "candidateArchiveChange") => {
            match data.pointer("/toArchived/reason").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                Some(reason) => Classified::HireIfHiredReason { opportunity_id, reason_id: reason.to_string() },
                None => Classified::Ignore("candidateArchiveChange that does not archive the candidate".into()),
            }
        }
        (TriggerMode::OnStage(stage), "candidateStageChange") => match field("toStageId") {
            Some(to) if to == *stage => Classified::Hire { opportunity_id },
            Some(to) => Classified::HireIfStage { opportunity_id, stage_id: to },
            None => Classified::Ignore("candidateStageChange without a toStageId".into()),
        },
        (TriggerMode::OnHire, other) => {
            Classified::Ignore(format!("{other} does not start a transfer (the trigger is: archived as Hired)"))
        }
        (TriggerMode::OnStage(stage), other) => {
            Classified::Ignore(format!("{other} does not start a transfer (the trigger is: moved to stage '{stage}')"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(key: &str, token: &str, at: u64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(format!("{token}{at}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn request(method: &str, body: &[u8]) -> Request {
        let mut request = Request::new(Body::from(body.to_vec()));
        *request.method_mut() = method.parse().unwrap();
        request
    }

    fn post(body: Value) -> Request {
        request("POST", body.to_string().as_bytes())
    }

    fn tokens() -> Vec<Secret> {
        vec![Secret::new("first-webhook-token"), Secret::new("second-webhook-token")]
    }

    #[test]
    fn lever_documented_example_verifies() {
        // The DOC example: token + triggeredAt digits, HMAC-SHA256, lowercase hex.
        let token = "be58f711f349c7780e4579cd7c63341ac6f881e4dccc3154";
        let sig = sign("second-webhook-token", token, 1431454330072);
        assert!(signature_matches(token, 1431454330072, &sig, &tokens()));
        assert!(!signature_matches(token, 1431454330073, &sig, &tokens()), "other digits");
        assert!(!signature_matches(token, 1431454330072, &sig, &[Secret::new("someone-else")]));
        assert!(!signature_matches(token, 1431454330072, "not-hex", &tokens()));
    }

    #[test]
    fn each_refusal_has_its_status() {
        let token = "t".repeat(48);
        let good = json!({"event": "candidateHired", "triggeredAt": 1, "token": token,
                          "signature": sign("first-webhook-token", &token, 1), "data": {"opportunityId": "o"}});
        let ok = read_delivery(&post(good.clone()), 4096, &tokens()).unwrap();
        assert_eq!(ok.event, "candidateHired");
        let get = request("GET", b"");
        assert_eq!(read_delivery(&get, 4096, &tokens()).unwrap_err().status(), 405);
        assert_eq!(read_delivery(&post(good.clone()), 10, &tokens()).unwrap_err().status(), 413);
        let lowercase = request("post", good.to_string().as_bytes());
        assert_eq!(read_delivery(&lowercase, 4096, &tokens()).unwrap().event, "candidateHired");
        assert_eq!(Refusal::MethodNotAllowed.response().status().as_u16(), 405);
        let html = request("POST", b"<html>");
        assert_eq!(read_delivery(&html, 4096, &tokens()).unwrap_err().status(), 400);
        let mut no_token = good.clone();
        no_token.as_object_mut().unwrap().remove("token");
        assert_eq!(read_delivery(&post(no_token), 4096, &tokens()).unwrap_err(), Refusal::MissingField("token"));
        let mut float_time = good.clone();
        float_time["triggeredAt"] = json!(1.5);
        assert_eq!(
            read_delivery(&post(float_time), 4096, &tokens()).unwrap_err(),
            Refusal::MissingField("triggeredAt")
        );
        let mut unsigned = good.clone();
        unsigned.as_object_mut().unwrap().remove("signature");
        assert_eq!(read_delivery(&post(unsigned), 4096, &tokens()).unwrap_err().status(), 401);
        assert_eq!(read_delivery(&post(good), 4096, &[]).unwrap_err(), Refusal::NoTokens);
    }

    fn delivery(event: &str, data: Value) -> Delivery {
        Delivery { event: event.into(), triggered_at: 1, data }
    }

    #[test]
    fn hire_mode_takes_hired_and_archive_changes() {
        let on_hire = TriggerMode::OnHire;
        assert_eq!(classify(&delivery("candidateHired", json!({})), &on_hire), Classified::Test);
        assert_eq!(
            classify(&delivery("candidateHired", json!({"opportunityId": "o1", "candidateId": "c"})), &on_hire),
            Classified::Hire { opportunity_id: "o1".into() }
        );
        let archived =
            json!({"opportunityId": "o1", "toArchived": {"archivedAt": 5, "reason": "r1"}, "fromArchived": null});
        assert_eq!(
            classify(&delivery("candidateArchiveChange", archived), &on_hire),
            Classified::HireIfHiredReason { opportunity_id: "o1".into(), reason_id: "r1".into() }
        );
        let unarchived = json!({"opportunityId": "o1", "toArchived": null});
        assert!(matches!(classify(&delivery("candidateArchiveChange", unarchived), &on_hire), Classified::Ignore(_)));
        let stage = json!({"opportunityId": "o1", "toStageId": "offer"});
        assert!(matches!(classify(&delivery("candidateStageChange", stage), &on_hire), Classified::Ignore(_)));
    }

    #[test]
    fn stage_mode_matches_ids_now_and_names_later() {
        let mode = TriggerMode::OnStage("offer".into());
        let to = |id: &str| delivery("candidateStageChange", json!({"opportunityId": "o1", "toStageId": id}));
        assert_eq!(classify(&to("offer"), &mode), Classified::Hire { opportunity_id: "o1".into() });
        assert_eq!(
            classify(&to("7c26"), &mode),
            Classified::HireIfStage { opportunity_id: "o1".into(), stage_id: "7c26".into() }
        );
        assert!(matches!(
            classify(&delivery("candidateHired", json!({"opportunityId": "o1"})), &mode),
            Classified::Ignore(_)
        ));
    }
}
