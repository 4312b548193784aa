//! Lever Data API v1 (lever.md): Basic auth with a blank password, opaque offset tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::server::{lock, Req, Resp, Vendor};
use crate::tenant::LeverData;

pub(crate) struct Lever {
    pub data: Arc<Mutex<LeverData>>,
    pub api_key: String,
    /// Offset tokens handed out, so only tokens the server issued are accepted.
    tokens: Mutex<HashMap<String, usize>>,
}

impl Lever {
    pub fn new(data: Arc<Mutex<LeverData>>, api_key: String) -> Self {
        Lever { data, api_key, tokens: Mutex::new(HashMap::new()) }
    }
}

fn err(status: u16, code: &str, message: &str) -> Resp {
    Resp::json(status, &json!({"code": code, "message": message}))
}

fn not_found(what: &str, id: &str) -> Resp {
    err(404, "ResourceNotFound", &format!("{what} {id} was not found"))
}

impl Lever {
    /// Pages `items` with `limit` (1–100) and an opaque `offset` token.
    fn list(&self, req: &Req, items: Vec<Value>) -> Resp {
        let limit = match req.param("limit").map(|l| l.parse::<usize>()) {
            None => 100,
            Some(Ok(l)) if (1..=100).contains(&l) => l,
            Some(_) => return err(400, "BadRequest", "Invalid limit: must be between 1 and 100"),
        };
        let start = match req.param("offset") {
            None => 0,
            Some(t) => match lock(&self.tokens).get(&t) {
                Some(s) => *s,
                None => return err(400, "BadRequest", "Invalid offset token: Offset token is invalid for sort"),
            },
        };
        let page: Vec<Value> = items.iter().skip(start).take(limit).cloned().collect();
        let has_next = start + limit < items.len();
        let mut body = json!({"data": page, "hasNext": has_next});
        if has_next {
            let last = page.last().and_then(|v| v["id"].as_str()).unwrap_or("0").to_string();
            let token = format!("0.{}.{}", 1_400_000_000_000u64 + start as u64 + limit as u64, last);
            lock(&self.tokens).insert(token.clone(), start + limit);
            body["next"] = json!(token);
        }
        Resp::json(200, &body)
    }

    fn opportunity(&self, d: &LeverData, req: &Req, id: &str) -> Resp {
        let Some(o) = d.opportunities.iter().find(|o| o["id"] == id) else {
            return not_found("opportunities", id);
        };
        let mut o = o.clone();
        for e in req.param_all("expand") {
            match e.as_str() {
                "applications" => {
                    let apps: Vec<Value> = o["applications"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|a| d.applications.iter().find(|x| x["id"] == *a).cloned())
                        .collect();
                    o["applications"] = json!(apps);
                }
                "contact" => {
                    if let Some(c) = d.contacts.iter().find(|c| c["id"] == o["contact"]) {
                        o["contact"] = c.clone();
                    }
                }
                "stage" => {
                    if let Some(s) = d.stages.iter().find(|s| s["id"] == o["stage"]) {
                        o["stage"] = s.clone();
                    }
                }
                "owner" | "sourcedBy" => {
                    if let Some(u) = d.users.iter().find(|u| u["id"] == o[e.as_str()]) {
                        o[e.as_str()] = u.clone();
                    }
                }
                "followers" => {
                    let f: Vec<Value> = d
                        .users
                        .iter()
                        .filter(|u| o["followers"].as_array().is_some_and(|f| f.contains(&u["id"])))
                        .cloned()
                        .collect();
                    o["followers"] = json!(f);
                }
                _ => {}
            }
        }
        Resp::json(200, &json!({"data": o}))
    }

    fn postings(&self, d: &LeverData, req: &Req) -> Resp {
        let states = req.param_all("state");
        let channels = req.param_all("distributionChannel");
        let conf = req.param("confidentiality").unwrap_or_else(|| "non-confidential".into());
        let updated_start = req.param("updated_at_start").and_then(|v| v.parse::<i64>().ok());
        let filters: Vec<(&str, String)> = ["team", "department", "location", "commitment"]
            .iter()
            .filter_map(|k| req.param(k).map(|v| (*k, v)))
            .collect();
        let items: Vec<Value> = d
            .postings
            .iter()
            .filter(|p| states.is_empty() || states.iter().any(|s| p["state"] == s.as_str()))
            .filter(|p| conf == "all" || p["confidentiality"] == conf.as_str())
            .filter(|p| updated_start.is_none_or(|u| p["updatedAt"].as_i64().unwrap_or(0) >= u))
            .filter(|p| filters.iter().all(|(k, v)| p["categories"][*k] == v.as_str()))
            .filter(|p| {
                let ch: Vec<&str> = p["distributionChannels"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|c| c.as_str()).collect())
                    .unwrap_or_default();
                if !channels.is_empty() {
                    return channels.iter().any(|c| ch.contains(&c.as_str()));
                }
                // Published postings only on the internal channel stay hidden unless asked for.
                !(p["state"] == "published" && !ch.is_empty() && !ch.contains(&"public"))
            })
            // Real list responses carry `content` whether or not include=content is sent.
            .cloned()
            .collect();
        self.list(req, items)
    }

    fn download(&self, items: Option<&Vec<Value>>, id: &str, what: &str) -> Resp {
        let Some(f) = items.and_then(|v| v.iter().find(|f| f["id"] == id)) else {
            return not_found(what, id);
        };
        let status = if f["status"].is_null() && f.get("file").is_some() { &f["file"]["status"] } else { &f["status"] };
        if f.get("file").is_some_and(|x| x.is_null()) || (what == "resumes" && f.get("file").is_none()) {
            return err(422, "UnprocessableEntity", "This resume has no file");
        }
        if status != "processed" {
            return err(422, "UnprocessableEntity", "File could not be processed");
        }
        Resp {
            status: 200,
            content_type: "application/pdf",
            body: format!("%PDF-1.4\n% sandbox {what} {id}\n%%EOF\n").into_bytes(),
            headers: Vec::new(),
        }
    }
}

impl Vendor for Lever {
    fn name(&self) -> &'static str {
        "Lever"
    }
    fn route(&self, full_path: &str) -> Result<String, Resp> {
        match full_path.strip_prefix("/v1") {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => Ok(rest.to_string()),
            _ => Err(err(404, "ResourceNotFound", "Not found")),
        }
    }
    fn authenticate(&self, req: &Req) -> Option<Resp> {
        let ok = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
            .is_some_and(|raw| raw == format!("{}:", self.api_key).as_bytes());
        if ok {
            None
        } else {
            Some(self.error(401))
        }
    }
    fn rate_key(&self, _req: &Req) -> Option<String> {
        // One token bucket per API key, no per-endpoint limits.
        Some("key".into())
    }
    fn throttle(&self, status: Option<u16>) -> Resp {
        err(status.unwrap_or(429), "TooManyRequests", "Too many requests, please slow down")
    }
    fn error(&self, status: u16) -> Resp {
        match status {
            401 => err(401, "Unauthorized", "Invalid API key or missing authentication"),
            403 => err(403, "Forbidden", "This API key does not have permission for this endpoint"),
            503 => err(503, "ServiceUnavailable", "Lever is undergoing maintenance"),
            504 => err(504, "GatewayTimeout", "The request timed out"),
            s => err(s, "InternalServerError", "An unexpected error occurred"),
        }
    }
    fn handle(&self, req: &Req) -> Resp {
        let segs = req.segs();
        let mut d = lock(&self.data);
        let m = req.method.as_str();
        match (m, segs.as_slice()) {
            ("GET", ["opportunities"]) => {
                let email = req.param("email");
                let tag = req.param("tag");
                let archived = req.param("archived");
                let contact = req.param("contact_id");
                let reason = req.param("archive_reason_id");
                let stage = req.param("stage_id");
                let number = |name: &str| req.param(name).and_then(|v| v.parse::<i64>().ok());
                let (archived_start, updated_start) = (number("archived_at_start"), number("updated_at_start"));
                let items: Vec<Value> = d
                    .opportunities
                    .iter()
                    .filter(|o| {
                        email.as_ref().is_none_or(|e| {
                            o["emails"].as_array().is_some_and(|a| {
                                a.iter().any(|x| x.as_str().is_some_and(|x| x.eq_ignore_ascii_case(e)))
                            })
                        })
                    })
                    .filter(|o| {
                        tag.as_ref().is_none_or(|t| o["tags"].as_array().is_some_and(|a| a.contains(&json!(t))))
                    })
                    .filter(|o| archived.as_ref().is_none_or(|a| (a == "true") != o["archived"].is_null()))
                    .filter(|o| contact.as_ref().is_none_or(|c| o["contact"] == c.as_str()))
                    .filter(|o| reason.as_ref().is_none_or(|r| o["archived"]["reason"] == r.as_str()))
                    .filter(|o| stage.as_ref().is_none_or(|s| o["stage"] == s.as_str()))
                    .filter(|o| {
                        archived_start.is_none_or(|t| o["archived"]["archivedAt"].as_i64().is_some_and(|at| at >= t))
                    })
                    .filter(|o| updated_start.is_none_or(|t| o["updatedAt"].as_i64().is_some_and(|at| at >= t)))
                    .cloned()
                    .collect();
                drop(d);
                self.list(req, items)
            }
            ("GET", ["opportunities", id]) => self.opportunity(&d, req, id),
            ("GET", ["opportunities", id, kind @ ("offers" | "forms" | "files" | "resumes")]) => {
                if !d.opportunities.iter().any(|o| o["id"] == *id) {
                    return not_found("opportunities", id);
                }
                let map = match *kind {
                    "offers" => &d.offers,
                    "forms" => &d.forms,
                    "files" => &d.files,
                    _ => &d.resumes,
                };
                let items = map.get(*id).cloned().unwrap_or_default();
                drop(d);
                self.list(req, items)
            }
            ("GET", ["opportunities", id, kind @ ("forms" | "files" | "resumes" | "offers"), item]) => {
                let map = match *kind {
                    "offers" => &d.offers,
                    "forms" => &d.forms,
                    "files" => &d.files,
                    _ => &d.resumes,
                };
                match map.get(*id).and_then(|v| v.iter().find(|f| f["id"] == *item)) {
                    Some(f) => Resp::json(200, &json!({"data": f})),
                    None => not_found(kind, item),
                }
            }
            ("GET", ["opportunities", id, kind @ ("files" | "resumes"), item, "download"]) => {
                let map = if *kind == "files" { &d.files } else { &d.resumes };
                self.download(map.get(*id), item, kind)
            }
            ("GET", ["opportunities", id, "offers", item, "download"]) => {
                match d.offers.get(*id).and_then(|v| v.iter().find(|f| f["id"] == *item)) {
                    Some(_) => Resp {
                        status: 200,
                        content_type: "application/pdf",
                        body: b"%PDF-1.4\n% sandbox offer\n%%EOF\n".to_vec(),
                        headers: Vec::new(),
                    },
                    None => not_found("offers", item),
                }
            }
            ("GET", ["opportunities", id, "notes"]) => {
                if !d.opportunities.iter().any(|o| o["id"] == *id) {
                    return not_found("opportunities", id);
                }
                // Lever lists a note's text as a field, not as the `value` it was written with.
                let notes: Vec<Value> = d
                    .notes
                    .iter()
                    .filter(|n| n["opportunityId"] == *id)
                    .map(|n| {
                        json!({"id": n["id"], "text": "Note", "user": n["performAs"], "secret": n["secret"],
                               "fields": [{"type": "note", "text": "Note", "value": n["value"]}],
                               "completedAt": n["createdAt"], "createdAt": n["createdAt"], "deletedAt": null})
                    })
                    .collect();
                self.list(req, notes)
            }
            ("POST", ["opportunities", id, "notes"]) => {
                if !d.opportunities.iter().any(|o| o["id"] == *id) {
                    return not_found("opportunities", id);
                }
                let body = req.json().unwrap_or(Value::Null);
                let Some(value) = body["value"].as_str() else {
                    return err(400, "BadRequest", "Missing required field: value");
                };
                let note_id = uuid::Uuid::new_v4().to_string();
                let note = json!({"id": note_id, "opportunityId": id, "value": value,
                    "secret": body["secret"].as_bool().unwrap_or(false), "score": body["score"],
                    "performAs": req.param("perform_as"),
                    "createdAt": chrono::Utc::now().timestamp_millis()});
                d.notes.push(note);
                Resp::json(201, &json!({"data": {"noteId": note_id}}))
            }
            ("POST", ["opportunities", id, op @ ("addTags" | "removeTags")]) => {
                let body = req.json().unwrap_or(Value::Null);
                let Some(tags) = body["tags"].as_array().cloned() else {
                    return err(400, "BadRequest", "Missing required field: tags");
                };
                let Some(o) = d.opportunity_mut(id) else {
                    return not_found("opportunities", id);
                };
                let mut cur = o["tags"].as_array().cloned().unwrap_or_default();
                for t in tags {
                    if *op == "addTags" {
                        if !cur.contains(&t) {
                            cur.push(t);
                        }
                    } else {
                        cur.retain(|c| *c != t);
                    }
                }
                o["tags"] = json!(cur);
                o["updatedAt"] = json!(chrono::Utc::now().timestamp_millis());
                Resp::json(200, &json!({"data": o.clone()}))
            }
            ("GET", ["contacts", id]) => match d.contacts.iter().find(|c| c["id"] == *id) {
                Some(c) => Resp::json(200, &json!({"data": c})),
                None => not_found("contacts", id),
            },
            ("GET", ["archive_reasons"]) => {
                let ty = req.param("type");
                let items: Vec<Value> = d
                    .archive_reasons
                    .iter()
                    .filter(|r| ty.as_ref().is_none_or(|t| r["type"] == t.as_str()))
                    .cloned()
                    .collect();
                drop(d);
                self.list(req, items)
            }
            ("GET", ["archive_reasons", id]) => match d.archive_reasons.iter().find(|r| r["id"] == *id) {
                Some(r) => Resp::json(200, &json!({"data": r})),
                None => not_found("archive_reasons", id),
            },
            ("GET", ["stages"]) => {
                let items = d.stages.clone();
                drop(d);
                self.list(req, items)
            }
            ("GET", ["stages", id]) => match d.stages.iter().find(|r| r["id"] == *id) {
                Some(r) => Resp::json(200, &json!({"data": r})),
                None => not_found("stages", id),
            },
            ("GET", ["users"]) => {
                let email = req.param("email");
                let items: Vec<Value> = d
                    .users
                    .iter()
                    .filter(|u| email.as_ref().is_none_or(|e| u["email"] == e.as_str()))
                    .cloned()
                    .collect();
                drop(d);
                self.list(req, items)
            }
            ("GET", ["postings"]) => self.postings(&d, req),
            ("GET", ["postings", "deleted"]) => {
                let since = req.param("deleted_at_start").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
                let items: Vec<Value> = d
                    .deleted_postings
                    .iter()
                    .filter(|p| p["deletedAt"].as_i64().unwrap_or(0) >= since)
                    .cloned()
                    .collect();
                drop(d);
                self.list(req, items)
            }
            ("GET", ["postings", id]) => match d.postings.iter().find(|p| p["id"] == *id) {
                Some(p) => Resp::json(200, &json!({"data": p})),
                None => not_found("postings", id),
            },
            _ => err(404, "ResourceNotFound", &format!("{} {} was not found", m, req.path)),
        }
    }
}

/// Builds a Lever webhook delivery signed as lever.md §2.3 documents: `signature` is the lowercase
/// hex HMAC-SHA256 of `token + triggeredAt` (decimal digits), keyed by the webhook's signature token.
/// Now in epoch milliseconds, as Lever puts it in `triggeredAt`.
pub fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

pub fn lever_signed_delivery(event: &str, data: Value, signature_token: &str, triggered_at_ms: u64) -> Value {
    // 48 hex characters, like Lever's per-request token.
    let token = format!("{}{}", uuid::Uuid::new_v4().simple(), &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let signature = match Hmac::<Sha256>::new_from_slice(signature_token.as_bytes()) {
        Ok(mut mac) => {
            mac.update(format!("{token}{triggered_at_ms}").as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC accepts keys of any length, so this arm is unreachable in practice.
        Err(_) => String::new(),
    };
    json!({"triggeredAt": triggered_at_ms, "event": event, "data": data,
           "signature": signature, "token": token})
}
