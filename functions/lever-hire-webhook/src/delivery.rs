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
    /// Lever's per-request random token (signed with `triggered_at`, so it names this delivery).
    pub token: String,
    /// SHA-256 of the raw body, lowercase hex: a retry of this delivery has the same one.
    pub body_sha256: String,
}

/// How old (or, for clock skew, how far ahead) a delivery's `triggeredAt` may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// Now, in epoch milliseconds.
    pub now_ms: u64,
    /// The oldest `triggeredAt` accepted is `now_ms - window_ms`: Lever retries for a while.
    pub window_ms: u64,
}

/// Clocks may disagree by this much: a `triggeredAt` up to this far ahead of ours is accepted.
pub const CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

/// The longest opportunity id taken (Lever's are 36-character UUIDs).
pub const MAX_OPPORTUNITY_ID: usize = 64;

/// True for a string that can be a Lever opportunity id: letters, digits, `-` and `_`, at most
/// [`MAX_OPPORTUNITY_ID`] long. Anything else (a `/`, `.` or `..`, a space) never reaches a URL path.
pub fn is_opportunity_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_OPPORTUNITY_ID
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
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
    #[error("no Lever webhook signature token is configured, so no delivery can be trusted: add `webhook_signature_tokens` (not blank) to the Lever secret")]
    NoTokens,
    #[error("the delivery was triggered at {triggered_at} (epoch ms), outside the accepted window of {window_hours} hours before now: a replay, or a clock far off")]
    Stale { triggered_at: u64, window_hours: u64 },
    #[error(
        "the delivery token was already used by a delivery with another body: a replayed signature with altered data"
    )]
    Replayed,
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::MethodNotAllowed => 405,
            Refusal::TooLarge { .. } => 413,
            Refusal::NotJson(_) | Refusal::MissingField(_) => 400,
            Refusal::BadSignature | Refusal::NoTokens | Refusal::Stale { .. } | Refusal::Replayed => 401,
        }
    }

    /// What the caller is told. The sender is not yet trusted, so a refusal that is about this
    /// deployment's configuration (no token) says only that the delivery was not trusted; the log
    /// line says what to fix.
    pub fn public_message(&self) -> String {
        match self {
            Refusal::NoTokens => Refusal::BadSignature.to_string(),
            other => other.to_string(),
        }
    }

    /// The Function URL response for this refusal.
    pub fn response(&self) -> Response<Body> {
        json_response(self.status(), &json!({"error": self.public_message()}))
    }
}

/// The checks that need nothing but the request: method and size. Run before any secret is read,
/// so that junk costs no Secrets Manager call.
pub fn precheck(request: &Request, max_body: usize) -> Result<(), Refusal> {
    if !request.method().as_str().eq_ignore_ascii_case("POST") {
        return Err(Refusal::MethodNotAllowed);
    }
    let size = request.body().as_ref().len();
    if size > max_body {
        return Err(Refusal::TooLarge { size, limit: max_body });
    }
    Ok(())
}

/// Checks method, size, JSON shape, signature and age. Nothing else happens for a refused request.
/// Blank signature tokens are never used as a key.
pub fn read_delivery(
    request: &Request,
    max_body: usize,
    tokens: &[Secret],
    freshness: Freshness,
) -> Result<Delivery, Refusal> {
    precheck(request, max_body)?;
    let raw: &[u8] = request.body().as_ref();
    let value: Value = serde_json::from_slice(raw).map_err(|e| Refusal::NotJson(e.to_string()))?;
    let Value::Object(body) = value else { return Err(Refusal::NotJson("a JSON value that is not an object".into())) };
    let text = |key: &'static str| body.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or(key);
    let event = text("event").map_err(Refusal::MissingField)?;
    let token = text("token").map_err(Refusal::MissingField)?;
    // An integer, so that its decimal digits are exactly the ones Lever signed.
    let triggered_at = body.get("triggeredAt").and_then(Value::as_u64).ok_or(Refusal::MissingField("triggeredAt"))?;
    let signature = body.get("signature").and_then(Value::as_str).unwrap_or("");
    let tokens: Vec<Secret> = tokens.iter().filter(|t| !t.expose().trim().is_empty()).cloned().collect();
    if tokens.is_empty() {
        return Err(Refusal::NoTokens);
    }
    if signature.is_empty() || !signature_matches(token, triggered_at, signature, &tokens) {
        return Err(Refusal::BadSignature);
    }
    let oldest = freshness.now_ms.saturating_sub(freshness.window_ms);
    if triggered_at < oldest || triggered_at > freshness.now_ms.saturating_add(CLOCK_SKEW_MS) {
        return Err(Refusal::Stale { triggered_at, window_hours: freshness.window_ms / 3_600_000 });
    }
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    Ok(Delivery {
        event: event.to_string(),
        triggered_at,
        data,
        token: token.to_string(),
        body_sha256: hex::encode(<Sha256 as sha2::Digest>::digest(raw)),
    })
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
    if !is_opportunity_id(&opportunity_id) {
        // Signed by Lever yet unusable: answered 2xx, since a retry cannot make it usable.
        return Classified::Ignore(format!(
            "{} delivery whose opportunityId is not a Lever id (letters, digits and '-', at most {MAX_OPPORTUNITY_ID})",
            delivery.event
        ));
    }
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

    /// Every `triggeredAt` of these tests is within the window.
    fn fresh() -> Freshness {
        Freshness { now_ms: 1, window_ms: 1 }
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
        let ok = read_delivery(&post(good.clone()), 4096, &tokens(), fresh()).unwrap();
        assert_eq!(ok.event, "candidateHired");
        let get = request("GET", b"");
        assert_eq!(read_delivery(&get, 4096, &tokens(), fresh()).unwrap_err().status(), 405);
        assert_eq!(read_delivery(&post(good.clone()), 10, &tokens(), fresh()).unwrap_err().status(), 413);
        let lowercase = request("post", good.to_string().as_bytes());
        assert_eq!(read_delivery(&lowercase, 4096, &tokens(), fresh()).unwrap().event, "candidateHired");
        assert_eq!(Refusal::MethodNotAllowed.response().status().as_u16(), 405);
        let html = request("POST", b"<html>");
        assert_eq!(read_delivery(&html, 4096, &tokens(), fresh()).unwrap_err().status(), 400);
        let mut no_token = good.clone();
        no_token.as_object_mut().unwrap().remove("token");
        assert_eq!(
            read_delivery(&post(no_token), 4096, &tokens(), fresh()).unwrap_err(),
            Refusal::MissingField("token")
        );
        let mut float_time = good.clone();
        float_time["triggeredAt"] = json!(1.5);
        assert_eq!(
            read_delivery(&post(float_time), 4096, &tokens(), fresh()).unwrap_err(),
            Refusal::MissingField("triggeredAt")
        );
        let mut unsigned = good.clone();
        unsigned.as_object_mut().unwrap().remove("signature");
        assert_eq!(read_delivery(&post(unsigned), 4096, &tokens(), fresh()).unwrap_err().status(), 401);
        assert_eq!(read_delivery(&post(good.clone()), 4096, &[], fresh()).unwrap_err(), Refusal::NoTokens);
        let blank = [Secret::new(""), Secret::new("  \t")];
        assert_eq!(read_delivery(&post(good.clone()), 4096, &blank, fresh()).unwrap_err(), Refusal::NoTokens);
        assert_eq!(Refusal::NoTokens.public_message(), Refusal::BadSignature.to_string(), "says nothing of settings");
        // A blank key next to a real one is skipped, never used: a body signed with "" is refused.
        let mut with_blank = blank.to_vec();
        with_blank.extend(tokens());
        assert!(read_delivery(&post(good.clone()), 4096, &with_blank, fresh()).is_ok());
        let signed_with_blank = json!({"event": "candidateHired", "triggeredAt": 1, "token": token,
                                        "signature": sign("", &token, 1), "data": {}});
        assert_eq!(
            read_delivery(&post(signed_with_blank), 4096, &with_blank, fresh()).unwrap_err(),
            Refusal::BadSignature
        );
    }

    #[test]
    fn deliveries_outside_the_window_are_refused_and_the_body_is_fingerprinted() {
        let token = "t".repeat(48);
        let at = |ms: u64| {
            json!({"event": "candidateHired", "triggeredAt": ms, "token": token,
                   "signature": sign("first-webhook-token", &token, ms), "data": {"opportunityId": "o"}})
        };
        let window = Freshness { now_ms: 10_000_000_000, window_ms: 3 * 3_600_000 };
        let oldest = window.now_ms - window.window_ms;
        assert!(read_delivery(&post(at(oldest)), 4096, &tokens(), window).is_ok());
        assert_eq!(
            read_delivery(&post(at(oldest - 1)), 4096, &tokens(), window).unwrap_err(),
            Refusal::Stale { triggered_at: oldest - 1, window_hours: 3 }
        );
        assert!(read_delivery(&post(at(window.now_ms + CLOCK_SKEW_MS)), 4096, &tokens(), window).is_ok());
        let ahead = read_delivery(&post(at(window.now_ms + CLOCK_SKEW_MS + 1)), 4096, &tokens(), window);
        assert_eq!(ahead.unwrap_err().status(), 401);
        let one = read_delivery(&post(at(oldest)), 4096, &tokens(), window).unwrap();
        let again = read_delivery(&post(at(oldest)), 4096, &tokens(), window).unwrap();
        assert_eq!(one.body_sha256, again.body_sha256);
        assert_eq!(one.token, token);
        let mut altered = at(oldest);
        altered["data"]["opportunityId"] = json!("someone-else");
        let altered = read_delivery(&post(altered), 4096, &tokens(), window).unwrap();
        assert_ne!(altered.body_sha256, one.body_sha256, "the signature does not cover data; the fingerprint does");
    }

    #[test]
    fn only_lever_shaped_opportunity_ids_are_taken() {
        for good in ["250d8f03-738a-4bba-a671-8a3d73477145", "o1", "A_b-9"] {
            assert!(is_opportunity_id(good), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "é", &"x".repeat(MAX_OPPORTUNITY_ID + 1), "o1?x=1", "%2e%2e"] {
            assert!(!is_opportunity_id(bad), "{bad}");
        }
        let d = delivery("candidateHired", json!({"opportunityId": ".."}));
        assert!(matches!(classify(&d, &TriggerMode::OnHire), Classified::Ignore(_)));
    }

    fn delivery(event: &str, data: Value) -> Delivery {
        Delivery { event: event.into(), triggered_at: 1, data, token: "t".into(), body_sha256: String::new() }
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
