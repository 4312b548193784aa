//! Namely REST API v1 (namely.md): `/{company}/api/v1`, Bearer token, page/per_page, 406 throttle.

use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};

use crate::server::{lock, login_page, Req, Resp, Vendor};
use crate::tenant::NamelyData;

pub(crate) struct Namely {
    pub data: Arc<Mutex<NamelyData>>,
    pub company: String,
    pub token: String,
}

fn msg(status: u16, message: &str, errors: Vec<String>) -> Resp {
    Resp::json(status, &json!({"message": message, "errors": errors}))
}

fn envelope(d: &NamelyData, profiles: Vec<Value>, total: usize) -> Value {
    let title_ids: Vec<&Value> = profiles.iter().map(|p| &p["job_title"]["id"]).collect();
    let group_ids: Vec<&Value> = profiles
        .iter()
        .flat_map(|p| {
            p["links"]["groups"].as_array().map(|g| g.iter().map(|x| &x["id"]).collect::<Vec<_>>()).unwrap_or_default()
        })
        .collect();
    let job_titles: Vec<&Value> = d.job_titles.iter().filter(|t| title_ids.contains(&&t["id"])).collect();
    let groups: Vec<&Value> = d.groups.iter().filter(|g| group_ids.contains(&&g["id"])).collect();
    json!({
        "profiles": profiles,
        "meta": {"count": profiles.len(), "total_count": total, "status": 200},
        "links": {"profiles.job_title": {"type": "job_titles"}, "profiles.image": {"type": "files"},
                  "profiles.groups": {"type": "groups"}, "profiles.teams": {"type": "teams"}},
        "linked": {"job_titles": job_titles, "files": [], "teams": [], "groups": groups,
                   "group_types": d.group_types},
    })
}

fn sort_key(p: &Value, field: &str) -> (i64, String) {
    match &p[field] {
        Value::Number(n) => (n.as_i64().unwrap_or(0), String::new()),
        Value::String(s) => (0, s.to_lowercase()),
        _ => (0, String::new()),
    }
}

impl Namely {
    fn list_profiles(&self, d: &NamelyData, req: &Req) -> Resp {
        let page_no = req.param("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
        // Documented max is 50; larger values are clamped.
        let per_page = req.param("per_page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(30).clamp(1, 50);
        // Parsed once, and profiles filtered and sorted by reference: only the page is copied, so a
        // large tenant's pages cost what the page costs.
        let params = req.params();
        let filters: Vec<(&str, &str)> = params
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("filter[")?.strip_suffix(']')?, v.as_str())))
            .collect();
        let mut items: Vec<&Value> = d
            .profiles
            .iter()
            .filter(|p| {
                filters.iter().all(|(field, v)| match *field {
                    "job_title" => p["job_title"]["title"] == *v,
                    "reports_to" => p["reports_to"].as_array().is_some_and(|r| r.iter().any(|m| m["id"] == *v)),
                    "email" | "personal_email" => p[*field].as_str().is_some_and(|e| e.eq_ignore_ascii_case(v)),
                    f => p[f] == *v,
                })
            })
            .collect();
        if let Some(sort) = req.param("sort") {
            let (desc, field) = match sort.strip_prefix('-') {
                Some(f) => (true, f.to_string()),
                None => (false, sort.clone()),
            };
            items.sort_by(|a, b| {
                let o = sort_key(a, &field).cmp(&sort_key(b, &field));
                if desc {
                    o.reverse()
                } else {
                    o
                }
            });
        }
        let total = items.len();
        let short = req.param("profile_format").as_deref() == Some("short");
        let start = (page_no - 1) * per_page;
        let mut pg: Vec<Value> = items.iter().skip(start).take(per_page).map(|p| (*p).clone()).collect();
        if short {
            pg = pg
                .into_iter()
                .map(|p| {
                    let mut m = Map::new();
                    for k in [
                        "id",
                        "email",
                        "first_name",
                        "last_name",
                        "user_status",
                        "updated_at",
                        "created_at",
                        "preferred_name",
                        "full_name",
                        "job_title",
                    ] {
                        m.insert(k.into(), p[k].clone());
                    }
                    Value::Object(m)
                })
                .collect();
        }
        Resp::json(200, &envelope(d, pg, total))
    }

    fn validate(&self, d: &NamelyData, p: &Value, creating: bool) -> Vec<String> {
        let mut errors = Vec::new();
        let present = |k: &str| p[k].as_str().is_some_and(|s| !s.trim().is_empty());
        if creating {
            for k in ["first_name", "last_name", "email", "user_status", "start_date"] {
                if !present(k) {
                    errors.push(format!("{k} is a required field"));
                }
            }
            if p["user_status"] == "pending" && !present("personal_email") {
                errors.push("personal_email is a required field".into());
            }
        }
        if let Some(s) = p["user_status"].as_str() {
            if !["active", "pending", "inactive"].contains(&s) {
                errors.push(format!("user_status {s} is not a valid value"));
            }
        }
        if let Some(s) = p["start_date"].as_str() {
            if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err() {
                errors.push("start_date must be a date in YYYY-MM-DD format".into());
            }
        }
        for k in ["email", "personal_email"] {
            if let Some(e) = p[k].as_str().filter(|e| !e.is_empty()) {
                // Namely's `email` fields are validated like any address.
                let valid = e.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
                if !valid {
                    errors.push(format!("{k} is not a valid email address"));
                }
            }
        }
        if let Some(e) = p["email"].as_str() {
            if d.unique_emails && !e.is_empty() && d.profiles.iter().any(|x| x["email"] == e && x["id"] != p["id"]) {
                errors.push("email has already been taken".into());
            }
        }
        if !p["job_title"].is_null() && self.resolve_title(d, &p["job_title"]).is_none() {
            errors.push("job_title is not a valid job title".into());
        }
        errors
    }

    /// Resolves `{id}` or `{title}` (case-sensitive) or a bare id/title string to `{id,title}`.
    fn resolve_title(&self, d: &NamelyData, jt: &Value) -> Option<Value> {
        let (id, title) = match jt {
            Value::String(s) => (Some(s.as_str()), Some(s.as_str())),
            Value::Object(_) => (jt["id"].as_str(), jt["title"].as_str()),
            _ => (None, None),
        };
        d.job_titles
            .iter()
            .find(|t| id.is_some_and(|i| t["id"] == i) || title.is_some_and(|x| t["title"] == x))
            .map(|t| json!({"id": t["id"], "title": t["title"]}))
    }

    /// Applies writable fields from a request profile onto a stored one.
    fn apply(&self, d: &NamelyData, target: &mut Value, src: &Value) {
        let Some(obj) = src.as_object() else { return };
        for (k, v) in obj {
            match k.as_str() {
                "id" | "created_at" | "updated_at" | "links" => {}
                "job_title" => {
                    if let Some(t) = self.resolve_title(d, v) {
                        target["job_title"] = t.clone();
                        target["links"]["job_title"] = t;
                    }
                }
                "reports_to" => {
                    let id = v.as_str().or_else(|| v["id"].as_str()).or_else(|| v[0]["id"].as_str());
                    if let Some(m) = id.and_then(|i| d.profiles.iter().find(|p| p["id"] == i)) {
                        target["reports_to"] = json!([{"id": m["id"], "first_name": m["first_name"],
                            "last_name": m["last_name"], "email": m["email"]}]);
                    }
                }
                "employee_type" => {
                    let t = v.as_str().map(|s| json!({"title": s})).unwrap_or(v.clone());
                    target["employee_type"] = t;
                }
                _ => target[k.as_str()] = v.clone(),
            }
        }
        let first = target["preferred_name"]
            .as_str()
            .filter(|s| !s.is_empty())
            .or(target["first_name"].as_str())
            .unwrap_or("")
            .to_string();
        target["full_name"] = json!(format!("{first} {}", target["last_name"].as_str().unwrap_or("")));
    }

    fn create(&self, d: &mut NamelyData, req: &Req) -> Resp {
        let Some(p) = req.json().and_then(|b| b["profiles"].get(0).cloned()) else {
            return msg(422, "error creating profile", vec!["profiles is a required field".into()]);
        };
        let errors = self.validate(d, &p, true);
        if !errors.is_empty() {
            return msg(422, "error creating profile", errors);
        }
        let now = chrono::Utc::now().timestamp();
        let unknown = d
            .job_titles
            .iter()
            .find(|t| t["title"] == "Unknown Job Title")
            .map(|t| json!({"id": t["id"], "title": t["title"]}))
            .unwrap_or(Value::Null);
        let mut profile = json!({
            "id": uuid::Uuid::new_v4().to_string(), "email": null, "first_name": null, "last_name": null,
            "middle_name": null, "preferred_name": null, "full_name": null, "user_status": null,
            "updated_at": now, "created_at": now, "image": null,
            "job_title": unknown, "reports_to": [{"id": "no_guid", "first_name": "Nobody", "last_name": "Nobody", "email": "None"}],
            "employee_type": null, "links": {"job_title": unknown, "groups": [], "teams": []},
            "start_date": null, "departure_date": null, "employee_id": null, "personal_email": null,
            "office_phone": null, "home_phone": null, "mobile_phone": null, "home": null,
            "office": {"address1": null, "address2": null, "city": null, "state_id": null, "country_id": null, "zip": null, "phone": null},
            "resume": null,
        });
        profile[d.litmos_field_key.as_str()] = Value::Null;
        self.apply(d, &mut profile, &p);
        d.profiles.push(profile.clone());
        let mut env = envelope(d, vec![profile], 1);
        env["meta"]["status"] = json!(201);
        Resp::json(201, &env)
    }

    fn update(&self, d: &mut NamelyData, req: &Req, id: &str) -> Resp {
        let Some(p) = req.json().and_then(|b| b["profiles"].get(0).cloned()) else {
            return msg(422, "error updating profile", vec!["profiles is a required field".into()]);
        };
        let Some(mut current) = d.profiles.iter().find(|x| x["id"] == id).cloned() else {
            return msg(404, "Profile not found", vec![]);
        };
        let mut check = p.clone();
        check["id"] = json!(id);
        let errors = self.validate(d, &check, false);
        if !errors.is_empty() {
            return msg(422, "error updating profile", errors);
        }
        self.apply(d, &mut current, &p);
        current["updated_at"] = json!(chrono::Utc::now().timestamp());
        if let Some(slot) = d.profile_mut(id) {
            *slot = current.clone();
        }
        Resp::json(200, &envelope(d, vec![current], 1))
    }
}

impl Vendor for Namely {
    fn name(&self) -> &'static str {
        "Namely"
    }
    fn route(&self, full_path: &str) -> Result<String, Resp> {
        let mut it = full_path.trim_start_matches('/').splitn(2, '/');
        let company = it.next().unwrap_or("");
        let rest = format!("/{}", it.next().unwrap_or(""));
        // A wrong subdomain lands on Namely's login page, not on the API.
        if company != self.company {
            return Err(login_page("Namely"));
        }
        match rest.strip_prefix("/api/v1") {
            Some(r) if r.is_empty() || r.starts_with('/') => Ok(r.strip_suffix(".json").unwrap_or(r).to_string()),
            _ => Err(login_page("Namely")),
        }
    }
    fn authenticate(&self, req: &Req) -> Option<Resp> {
        let ok =
            req.header("authorization").and_then(|h| h.strip_prefix("Bearer ")).is_some_and(|t| t.trim() == self.token);
        if ok {
            None
        } else {
            Some(self.error(401))
        }
    }
    fn rate_key(&self, req: &Req) -> Option<String> {
        // Namely throttles only GET /profiles.
        (req.method == "GET" && req.path == "/profiles").then(|| "profiles".to_string())
    }
    fn throttle(&self, status: Option<u16>) -> Resp {
        msg(status.unwrap_or(406), "Rate limit exceeded", vec![])
    }
    fn error(&self, status: u16) -> Resp {
        match status {
            401 => Resp::json(401, &json!({"error": ""})),
            403 => msg(403, "You do not have permission to access this resource", vec![]),
            s => msg(s, "Internal Server Error", vec![]),
        }
    }
    fn handle(&self, req: &Req) -> Resp {
        let mut d = lock(&self.data);
        let segs = req.segs();
        match (req.method.as_str(), segs.as_slice()) {
            ("GET", ["profiles"]) => self.list_profiles(&d, req),
            ("POST", ["profiles"]) => self.create(&mut d, req),
            ("GET", ["profiles", "me"]) => {
                let me = d.profiles.iter().find(|p| p["id"] == d.me_id.as_str()).cloned();
                match me {
                    Some(p) => Resp::json(200, &envelope(&d, vec![p], 1)),
                    None => msg(404, "Profile not found", vec![]),
                }
            }
            ("GET", ["profiles", "fields"]) => Resp::json(
                200,
                &json!({"fields": d.fields, "meta": {"count": d.fields.len(), "status": 200},
                        "links": {"fields.sections": {"type": "sections"}}, "linked": {"sections": []}}),
            ),
            ("GET", ["profiles", id]) => match d.profiles.iter().find(|p| p["id"] == *id) {
                Some(p) => Resp::json(200, &envelope(&d, vec![p.clone()], 1)),
                None => msg(404, "Profile not found", vec![]),
            },
            ("PUT", ["profiles", id]) => self.update(&mut d, req, id),
            ("GET", ["job_titles"]) => Resp::json(
                200,
                &json!({"job_titles": d.job_titles, "meta": {"count": d.job_titles.len(), "status": 200},
                        "links": {"job_titles.job_tier": {"type": "job_tiers"}}, "linked": {"job_tiers": d.job_tiers}}),
            ),
            ("GET", ["job_tiers"]) => Resp::json(
                200,
                &json!({"job_tiers": d.job_tiers, "meta": {"count": d.job_tiers.len(), "status": 200},
                        "links": {}, "linked": {}}),
            ),
            ("GET", ["groups"]) => Resp::json(
                200,
                &json!({"groups": d.groups, "meta": {"count": d.groups.len(), "total_count": d.groups.len(), "status": 200},
                        "links": {"groups.group_type": {"type": "group_types"}}, "linked": {"group_types": d.group_types}}),
            ),
            ("GET", ["group_types"]) => Resp::json(
                200,
                &json!({"group_types": d.group_types, "meta": {"count": d.group_types.len(), "status": 200},
                        "links": {}, "linked": {}}),
            ),
            ("GET", ["group_types", id, "groups"]) => {
                let gs: Vec<&Value> = d.groups.iter().filter(|g| g["links"]["group_type"] == *id).collect();
                Resp::json(
                    200,
                    &json!({"groups": gs, "meta": {"count": gs.len(), "status": 200}, "links": {}, "linked": {}}),
                )
            }
            ("POST", ["files"]) => {
                let ct = req.header("content-type").unwrap_or("");
                if !ct.starts_with("multipart/form-data") {
                    return msg(422, "error uploading file", vec!["file is a required field".into()]);
                }
                let name = String::from_utf8_lossy(&req.body)
                    .split("filename=\"")
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or("upload")
                    .to_string();
                let file = json!({"id": uuid::Uuid::new_v4().to_string(), "name": name, "size": req.body.len()});
                d.files.push(file.clone());
                Resp::json(201, &json!({"files": [file], "meta": {"count": 1, "status": 201}}))
            }
            _ => msg(404, "Not found", vec![]),
        }
    }
}
