//! Lessonly API (lessonly-litmos-theorg.md §1): Basic `subdomain:api_key`, 403 "Rate Limit Exceeded".

use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::{json, Value};

use crate::server::{lock, Req, Resp, Vendor};
use crate::tenant::{LessonlyCustomField, LessonlyData, LessonlyGroup};

pub(crate) struct Lessonly {
    pub data: Arc<Mutex<LessonlyData>>,
    pub subdomain: String,
    pub api_key: String,
    /// The last custom field datum id given out (0 until the first is needed).
    pub last_datum_id: std::sync::atomic::AtomicI64,
}

fn error(status: u16, text: &str) -> Resp {
    Resp::json(status, &json!({"error": text}))
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f-05:00").to_string()
}

fn user_groups(d: &LessonlyData, uid: i64) -> Value {
    let refs = |f: fn(&LessonlyGroup) -> &Vec<i64>| -> Vec<Value> {
        d.groups.iter().filter(|g| f(g).contains(&uid)).map(|g| json!({"id": g.id, "name": g.name})).collect()
    };
    json!({"member": refs(|g| &g.members), "manager": refs(|g| &g.managers)})
}

/// The v1 list shape drops v1.1-only fields.
fn v1(u: &Value) -> Value {
    let mut u = u.clone();
    if let Some(m) = u.as_object_mut() {
        m.remove("mobile_phone_number");
        m.remove("custom_user_field_data");
    }
    u
}

const WRITABLE: &[&str] = &[
    "name",
    "email",
    "role",
    "role_id",
    "ext_uid",
    "job_title",
    "business_unit",
    "department",
    "location",
    "locale",
    "hire_date",
    "manager_name",
    "mobile_phone_number",
];

impl Lessonly {
    /// Writes `custom_user_fields` onto a user; an unknown `name` creates a new field, as Lessonly does.
    /// A new custom field datum id: one past the largest in the data, found once.
    fn next_datum_id(&self, d: &LessonlyData) -> i64 {
        use std::sync::atomic::Ordering;
        if self.last_datum_id.load(Ordering::SeqCst) == 0 {
            let max = d
                .users
                .iter()
                .filter_map(|u| u["custom_user_field_data"].as_array())
                .flatten()
                .filter_map(|x| x["id"].as_i64())
                .max()
                .unwrap_or(5000);
            let _ = self.last_datum_id.compare_exchange(0, max, Ordering::SeqCst, Ordering::SeqCst);
        }
        self.last_datum_id.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn write_custom(&self, d: &mut LessonlyData, user: &mut Value, fields: &[Value]) -> Result<(), Resp> {
        let mut data = user["custom_user_field_data"].as_array().cloned().unwrap_or_default();
        for f in fields {
            let field = if let Some(id) = f["custom_user_field_id"].as_i64() {
                match d.custom_fields.iter().find(|c| c.id == id) {
                    Some(c) => c.clone(),
                    None => return Err(error(404, "Custom user field not found")),
                }
            } else if let Some(name) = f["name"].as_str() {
                match d.custom_fields.iter().find(|c| c.name == name) {
                    Some(c) => c.clone(),
                    None => {
                        let id = d.custom_fields.iter().map(|c| c.id).max().unwrap_or(100) + 1;
                        let c = LessonlyCustomField { id, name: name.to_string() };
                        d.custom_fields.push(c.clone());
                        c
                    }
                }
            } else {
                return Err(error(400, "custom_user_fields entries need custom_user_field_id or name"));
            };
            let value = f["value"].clone();
            match data.iter_mut().find(|x| x["custom_user_field_id"] == field.id) {
                Some(x) => x["value"] = value,
                None => {
                    let next = self.next_datum_id(d);
                    data.push(
                        json!({"id": next, "custom_user_field_id": field.id, "name": field.name, "value": value}),
                    );
                }
            }
        }
        user["custom_user_field_data"] = json!(data);
        Ok(())
    }

    fn list_users(&self, d: &LessonlyData, req: &Req, v11: bool) -> Resp {
        let page_no = req.param("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
        let per_page = req.param("per_page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(50).clamp(1, 1000);
        let email = req.param("filter[email]");
        let ext = req.param("filter[ext_uid]");
        let active_only = req.param("filter[active_only]").as_deref() == Some("true");
        // Filtered by reference; only the requested page is shaped (groups looked up), so a large
        // company's pages cost what the page costs.
        let items: Vec<&Value> = d
            .users
            .iter()
            .filter(|u| email.as_ref().is_none_or(|e| u["email"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(e))))
            .filter(|u| ext.as_ref().is_none_or(|e| u["ext_uid"] == e.as_str()))
            .filter(|u| !active_only || u["archived_at"].is_null())
            .collect();
        let total = items.len();
        let pages = total.div_ceil(per_page);
        let users: Vec<Value> = items
            .iter()
            .skip((page_no - 1) * per_page)
            .take(per_page)
            .map(|u| {
                if v11 {
                    let mut u = (*u).clone();
                    u["groups"] = user_groups(d, u["id"].as_i64().unwrap_or(0));
                    u
                } else {
                    v1(u)
                }
            })
            .collect();
        Resp::json(
            200,
            &json!({"type": "users", "total_users": total, "total_pages": pages, "page": page_no,
                    "per_page": per_page, "users": users}),
        )
    }

    fn write_user(&self, d: &mut LessonlyData, req: &Req, id: Option<i64>) -> Resp {
        let Some(body) = req.json().filter(|b| b.is_object()) else {
            return error(400, "Malformed request body");
        };
        let mut user = match id {
            Some(id) => match d.users.iter().find(|u| u["id"] == id) {
                Some(u) => u.clone(),
                None => return error(404, "User not found"),
            },
            None => {
                let name = body["name"].as_str().unwrap_or("");
                if name.is_empty() || name.starts_with(' ') {
                    return error(400, "name is required");
                }
                if name.chars().any(|c| "!@#$%^&*+=()|[];".contains(c)) {
                    return error(400, "name contains invalid characters");
                }
                if body["email"].as_str().unwrap_or("").is_empty() {
                    return error(400, "email is required");
                }
                if body["role"].is_null() && body["role_id"].is_null() {
                    return error(400, "role or role_id is required");
                }
                // Ids ascend in creation order, so the newest user holds the largest.
                let next = d.users.last().and_then(|u| u["id"].as_i64()).unwrap_or(1000) + 1;
                json!({"id": next, "resource_type": "user", "ext_uid": null, "email": null, "name": null,
                    "role": "learner", "role_id": 45, "archived_at": null, "archived_by_user_id": null,
                    "job_title": null, "business_unit": null, "department": null, "location": null,
                    "locale": "en", "hire_date": null, "manager_name": null, "mobile_phone_number": null,
                    "custom_user_field_data": []})
            }
        };
        if let Some(e) = body["email"].as_str() {
            let taken = d.email_owner(e).is_some_and(|owner| Some(owner) != user["id"].as_i64());
            if taken {
                return error(400, "Email has already been taken");
            }
        }
        let old_email = user["email"].as_str().map(str::to_lowercase);
        for k in WRITABLE {
            if let Some(v) = body.get(*k) {
                user[*k] = v.clone();
            }
        }
        if let Some(fields) = body["custom_user_fields"].as_array() {
            if let Err(r) = self.write_custom(d, &mut user, fields) {
                return r;
            }
        }
        let uid = user["id"].clone();
        match id.and_then(|_| d.users.iter_mut().find(|u| u["id"] == uid)) {
            Some(slot) => *slot = user.clone(),
            None => d.users.push(user.clone()),
        }
        let new_email = user["email"].as_str().map(str::to_lowercase);
        if let (Some(index), Some(id)) = (d.email_index.as_mut(), uid.as_i64()) {
            if old_email != new_email {
                if let Some(old) = &old_email {
                    index.remove(old);
                }
                if let Some(new) = new_email {
                    index.insert(new, id);
                }
            }
        }
        let mut out = user;
        out["type"] = json!(if id.is_some() { "update_user" } else { "create_user" });
        Resp::json(if id.is_some() { 200 } else { 201 }, &out)
    }

    /// Applies `[{id}, {id, remove:"true"}]` to a member list.
    fn apply_refs(list: &mut Vec<i64>, refs: &Value) {
        let mut present: std::collections::HashSet<i64> = list.iter().copied().collect();
        for r in refs.as_array().map(Vec::as_slice).unwrap_or_default() {
            let Some(id) = r["id"].as_i64().or_else(|| r["id"].as_str().and_then(|s| s.parse().ok())) else {
                continue;
            };
            // The API takes remove as the string "true".
            if r["remove"] == "true" || r["remove"] == true {
                if present.remove(&id) {
                    list.retain(|x| *x != id);
                }
            } else if present.insert(id) {
                list.push(id);
            }
        }
    }

    fn group_json(d: &LessonlyData, g: &LessonlyGroup, ty: &str) -> Value {
        let users = |ids: &Vec<i64>| -> Vec<Value> {
            let ids: std::collections::HashSet<&i64> = ids.iter().collect();
            d.users.iter().filter(|u| u["id"].as_i64().is_some_and(|i| ids.contains(&i))).map(v1).collect()
        };
        json!({"type": ty, "id": g.id, "name": g.name, "archived_at": g.archived_at,
               "archived_by_user_id": null, "members": users(&g.members), "managers": users(&g.managers)})
    }
}

impl Vendor for Lessonly {
    fn name(&self) -> &'static str {
        "Lessonly"
    }
    fn route(&self, full_path: &str) -> Result<String, Resp> {
        match full_path.strip_prefix("/api") {
            Some(r) if r.starts_with('/') => Ok(r.to_string()),
            _ => Err(error(404, "Not Found")),
        }
    }
    fn authenticate(&self, req: &Req) -> Option<Resp> {
        let expected = format!("{}:{}", self.subdomain, self.api_key);
        let ok = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
            .is_some_and(|raw| raw == expected.as_bytes());
        if ok {
            None
        } else {
            Some(self.error(401))
        }
    }
    fn rate_key(&self, _req: &Req) -> Option<String> {
        Some("company".into())
    }
    fn throttle(&self, status: Option<u16>) -> Resp {
        // Lessonly signals its 500/min limit with 403 "Rate Limit Exceeded".
        error(status.unwrap_or(403), "Rate Limit Exceeded")
    }
    fn error(&self, status: u16) -> Resp {
        match status {
            401 => error(401, "Unauthorized: bad subdomain or API key"),
            403 => error(403, "Forbidden"),
            503 => error(503, "Service Unavailable: down for maintenance"),
            s => error(s, "Internal Server Error"),
        }
    }
    fn handle(&self, req: &Req) -> Resp {
        let mut d = lock(&self.data);
        let segs = req.segs();
        let id_of = |s: &str| s.parse::<i64>().ok();
        match (req.method.as_str(), segs.as_slice()) {
            ("GET", ["v1", "users"]) => self.list_users(&d, req, false),
            ("GET", ["v1.1", "users"]) => self.list_users(&d, req, true),
            ("POST", ["v1", "users"]) => self.write_user(&mut d, req, None),
            ("GET", ["v1", "users", id]) => {
                match d.users.iter().find(|u| Some(u["id"].as_i64().unwrap_or(-1)) == id_of(id)) {
                    Some(u) => {
                        let mut u = u.clone();
                        u.as_object_mut().map(|m| m.remove("mobile_phone_number"));
                        u["type"] = json!("user");
                        Resp::json(200, &u)
                    }
                    None => error(404, "User not found"),
                }
            }
            ("PUT", ["v1", "users", id]) => match id_of(id) {
                Some(i) => self.write_user(&mut d, req, Some(i)),
                None => error(404, "User not found"),
            },
            ("PUT", ["v1", "users", id, op @ ("archive" | "restore")]) => {
                let Some(u) = d.users.iter_mut().find(|u| Some(u["id"].as_i64().unwrap_or(-1)) == id_of(id)) else {
                    return error(404, "User not found");
                };
                if *op == "archive" {
                    u["archived_at"] = json!(now());
                    u["archived_by_user_id"] = json!(1694);
                } else {
                    u["archived_at"] = Value::Null;
                    u["archived_by_user_id"] = Value::Null;
                }
                let mut out = u.clone();
                out["type"] = json!(if *op == "archive" { "archive_user" } else { "restore_user" });
                Resp::json(200, &out)
            }
            ("DELETE", ["v1", "users", id]) => {
                let before = d.users.len();
                d.users.retain(|u| Some(u["id"].as_i64().unwrap_or(-1)) != id_of(id));
                if d.users.len() == before {
                    return error(404, "User not found");
                }
                Resp::json(200, &json!({"type": "delete_user", "id": id}))
            }
            ("GET", ["v1", "users", id, "groups"]) => {
                let Some(uid) = id_of(id).filter(|i| d.users.iter().any(|u| u["id"] == *i)) else {
                    return error(404, "User not found");
                };
                let g = user_groups(&d, uid);
                Resp::json(200, &json!({"type": "user_groups", "memberships": g["member"], "managing": g["manager"]}))
            }
            ("PUT", ["v1", "users", id, "groups"]) => {
                let Some(uid) = id_of(id).filter(|i| d.users.iter().any(|u| u["id"] == *i)) else {
                    return error(404, "User not found");
                };
                let body = req.json().unwrap_or(Value::Null);
                for (key, managers) in [("memberships", false), ("managing", true)] {
                    for r in body[key].as_array().cloned().unwrap_or_default() {
                        let Some(gid) = r["id"].as_i64() else {
                            continue;
                        };
                        let Some(g) = d.groups.iter_mut().find(|g| g.id == gid) else {
                            return error(404, "Group not found");
                        };
                        let list = if managers { &mut g.managers } else { &mut g.members };
                        Self::apply_refs(list, &json!([{"id": uid, "remove": r["remove"]}]));
                    }
                }
                let g = user_groups(&d, uid);
                Resp::json(
                    200,
                    &json!({"type": "update_user_groups", "memberships": g["member"], "managing": g["manager"]}),
                )
            }
            ("GET", ["v1", "groups"]) => {
                let gs: Vec<Value> = d
                    .groups
                    .iter()
                    .map(|g| {
                        json!({"id": g.id, "name": g.name,
                    "archived_at": g.archived_at, "archived_by_user_id": null})
                    })
                    .collect();
                Resp::json(200, &json!({"type": "groups", "groups": gs}))
            }
            ("POST", ["v1", "groups"]) => {
                let body = req.json().unwrap_or(Value::Null);
                let Some(name) = body["name"].as_str().filter(|n| !n.is_empty()) else {
                    return error(400, "name is required");
                };
                let id = d.groups.iter().map(|g| g.id).max().unwrap_or(38779) + 1;
                let mut g =
                    LessonlyGroup { id, name: name.into(), archived_at: None, members: vec![], managers: vec![] };
                Self::apply_refs(&mut g.members, &body["members"]);
                Self::apply_refs(&mut g.managers, &body["managers"]);
                let out = Self::group_json(&d, &g, "create_group");
                d.groups.push(g);
                Resp::json(201, &out)
            }
            ("GET", ["v1", "groups", id]) => match d.groups.iter().find(|g| Some(g.id) == id_of(id)) {
                Some(g) => Resp::json(200, &Self::group_json(&d, g, "group")),
                None => error(404, "Group not found"),
            },
            ("PUT", ["v1", "groups", id]) => {
                let body = req.json().unwrap_or(Value::Null);
                let Some(g) = d.groups.iter_mut().find(|g| Some(g.id) == id_of(id)) else {
                    return error(404, "Group not found");
                };
                if let Some(n) = body["name"].as_str() {
                    g.name = n.into();
                }
                Self::apply_refs(&mut g.members, &body["members"]);
                Self::apply_refs(&mut g.managers, &body["managers"]);
                let g = g.clone();
                Resp::json(200, &Self::group_json(&d, &g, "update_group"))
            }
            ("PUT", ["v1", "groups", id, op @ ("archive" | "restore")]) => {
                let Some(g) = d.groups.iter_mut().find(|g| Some(g.id) == id_of(id)) else {
                    return error(404, "Group not found");
                };
                g.archived_at = (*op == "archive").then(|| chrono::Utc::now().to_rfc3339());
                let g = g.clone();
                Resp::json(200, &Self::group_json(&d, &g, &format!("{op}_group")))
            }
            _ => error(404, "Not Found"),
        }
    }
}
