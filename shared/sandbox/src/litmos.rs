//! SAP Litmos API `/v1.svc` (lessonly-litmos-theorg.md §2): `apikey` header + `source` query,
//! XML unless `format=json`, 503 throttle.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::server::{lock, page, Req, Resp, Vendor};
use crate::tenant::{litmos_id, LitmosData};

pub(crate) struct Litmos {
    pub data: Arc<Mutex<LitmosData>>,
    pub api_key: String,
}

fn detail(status: u16, text: &str) -> Resp {
    Resp::json(status, &json!({"Detail": text}))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Minimal XML rendering of a JSON value (objects → elements, nulls → `i:nil`).
fn to_xml(name: &str, v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str(&format!("<{name} i:nil=\"true\"/>")),
        Value::Object(m) => {
            out.push_str(&format!("<{name}>"));
            for (k, x) in m {
                to_xml(k, x, out);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Array(a) => {
            out.push_str(&format!("<{name}s>"));
            for x in a {
                to_xml(name, x, out);
            }
            out.push_str(&format!("</{name}s>"));
        }
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", xml_escape(s))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

fn summary(u: &Value) -> Value {
    json!({"Id": u["Id"], "UserName": u["UserName"], "FirstName": u["FirstName"],
           "LastName": u["LastName"], "Active": u["Active"], "Email": u["Email"],
           "AccessLevel": u["AccessLevel"]})
}

const FIELDS: &[&str] = &[
    "UserName",
    "FirstName",
    "LastName",
    "Email",
    "AccessLevel",
    "DisableMessages",
    "Active",
    "Skype",
    "PhoneWork",
    "PhoneMobile",
    "IsCustomUsername",
    "SkipFirstLogin",
    "TimeZone",
    "Street1",
    "Street2",
    "City",
    "State",
    "PostalCode",
    "Country",
    "CompanyName",
    "JobTitle",
    "CustomField1",
    "CustomField2",
    "CustomField3",
    "CustomField4",
    "CustomField5",
    "Culture",
    "ManagerId",
    "ManagerName",
    "ExternalEmployeeId",
];

impl Litmos {
    /// Copies writable fields; a PUT replaces the whole object, so absent fields become null.
    fn fill(target: &mut Value, body: &Value, replace: bool) {
        for k in FIELDS {
            match body.get(*k) {
                Some(v) => target[*k] = v.clone(),
                None if replace => target[*k] = Value::Null,
                None => {}
            }
        }
        target["FullName"] = json!(format!(
            "{} {}",
            target["FirstName"].as_str().unwrap_or(""),
            target["LastName"].as_str().unwrap_or("")
        ));
    }

    fn json_handle(&self, req: &Req) -> Resp {
        let mut d = lock(&self.data);
        let segs = req.segs();
        match (req.method.as_str(), segs.as_slice()) {
            ("GET", ["users"]) => {
                let start = req.param("start").and_then(|s| s.parse().ok()).unwrap_or(0);
                let limit = req.param("limit").and_then(|s| s.parse().ok()).unwrap_or(100);
                let search = req.param("search").map(|s| s.to_lowercase());
                let show_inactive = req.param("showInactive").as_deref() != Some("false");
                let items: Vec<Value> = d
                    .users
                    .iter()
                    .filter(|u| show_inactive || u["Active"] == true)
                    .filter(|u| {
                        // Search matches substrings of names, username and email (fixture-observed).
                        search.as_ref().is_none_or(|s| {
                            ["FirstName", "LastName", "UserName", "Email"]
                                .iter()
                                .any(|k| u[*k].as_str().is_some_and(|v| v.to_lowercase().contains(s)))
                        })
                    })
                    .map(summary)
                    .collect();
                Resp::json(200, &json!(page(&items, start, limit)))
            }
            ("GET", ["users", id]) => match d.users.iter().find(|u| u["Id"] == *id || u["UserName"] == *id) {
                Some(u) => Resp::json(200, u),
                None => detail(404, "User not found"),
            },
            ("POST", ["users"]) => {
                let Some(body) = req.json().filter(|b| b.is_object()) else {
                    return detail(400, "Invalid request body");
                };
                let Some(username) = body["UserName"].as_str().filter(|s| !s.is_empty()) else {
                    return detail(400, "UserName is required");
                };
                if d.user_by_username(username).is_some() {
                    return detail(409, "UserName already exists");
                }
                if !username.contains('@') && body["IsCustomUsername"] != true {
                    return detail(400, "UserName must be an email address unless IsCustomUsername is true");
                }
                let id = litmos_id(&mut rand::thread_rng());
                let mut u = json!({"Id": id, "FullName": null, "LastLogin": "",
                    "LoginKey": format!("https://acme.litmos.com//login.aspx?loginkey={}", uuid::Uuid::new_v4()),
                    "SalesforceId": null, "OriginalId": 5_091_913, "Points": 0, "Brand": "Acme",
                    "CreatedDate": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()});
                Self::fill(&mut u, &body, true);
                if u["Active"].is_null() {
                    u["Active"] = json!(true);
                }
                d.users.push(u.clone());
                Resp::json(201, &u)
            }
            ("PUT", ["users", id]) => {
                let Some(body) = req.json().filter(|b| b.is_object()) else {
                    return detail(400, "Invalid request body");
                };
                let Some(u) = d.users.iter_mut().find(|u| u["Id"] == *id) else {
                    return detail(404, "User not found");
                };
                Self::fill(u, &body, true);
                // Litmos answers a successful update with 200 and an empty body.
                Resp::empty(200)
            }
            ("DELETE", ["users", id]) => {
                let before = d.users.len();
                d.users.retain(|u| u["Id"] != *id);
                if d.users.len() == before {
                    detail(404, "User not found")
                } else {
                    Resp::empty(200)
                }
            }
            _ => detail(404, "Resource not found"),
        }
    }
}

impl Vendor for Litmos {
    fn name(&self) -> &'static str {
        "Litmos"
    }
    fn route(&self, full_path: &str) -> Result<String, Resp> {
        match full_path.strip_prefix("/v1.svc") {
            Some(r) if r.starts_with('/') => Ok(r.to_string()),
            _ => Err(detail(404, "Resource not found")),
        }
    }
    fn authenticate(&self, req: &Req) -> Option<Resp> {
        // The header is current; the older docs passed apikey in the query.
        let key =
            req.header("apikey").map(str::to_string).or_else(|| req.param("apikey")).or_else(|| req.param("apiKey"));
        if !key.is_some_and(|k| k.len() <= 50 && k == self.api_key) {
            return Some(self.error(401));
        }
        match req.param("source") {
            Some(s) if !s.is_empty() && s.len() <= 50 => None,
            _ => Some(detail(400, "source is a required parameter")),
        }
    }
    fn rate_key(&self, _req: &Req) -> Option<String> {
        Some("key".into())
    }
    fn throttle(&self, status: Option<u16>) -> Resp {
        detail(status.unwrap_or(503), "Request rate limit exceeded")
    }
    fn error(&self, status: u16) -> Resp {
        match status {
            401 => detail(401, "Unauthorized: invalid API key"),
            403 => detail(403, "Forbidden"),
            503 => detail(503, "Service Unavailable"),
            s => Resp::json(s, &json!({"Message": "An error has occurred."})),
        }
    }
    fn handle(&self, req: &Req) -> Resp {
        let mut resp = self.json_handle(req);
        let wants_json = req.param("format").is_some_and(|f| f.eq_ignore_ascii_case("json"));
        if wants_json || resp.body.is_empty() {
            return resp;
        }
        // Default format is XML.
        if let Ok(v) = serde_json::from_slice::<Value>(&resp.body) {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            let name = if v.is_array() {
                "User"
            } else if v.get("Detail").is_some() {
                "Error"
            } else {
                "User"
            };
            let mut body = String::new();
            to_xml(name, &v, &mut body);
            out.push_str(&body.replacen(
                &format!("<{name}"),
                &format!("<{name} xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\""),
                1,
            ));
            resp.body = out.into_bytes();
            resp.content_type = "application/xml; charset=utf-8";
        }
        resp
    }
}
