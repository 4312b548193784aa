//! End-to-end checks of the sandbox servers over real HTTP.

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use reqwest::Client;
use sandbox::{lever_signed_delivery, Fault, FaultRule, Sandbox, Tenant, TenantSpec};
use serde_json::{json, Value};
use sha2::Sha256;

async fn start() -> Sandbox {
    Sandbox::start(Tenant::small()).await.expect("sandbox starts")
}

struct Api {
    sb: Sandbox,
    http: Client,
}

impl Api {
    async fn new() -> Api {
        Api { sb: start().await, http: Client::new() }
    }
    fn lever(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.sb.lever.base_url()))
            .basic_auth(&self.sb.credentials.lever_api_key, Some(""))
    }
    fn namely(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.sb.namely_url()))
            .bearer_auth(&self.sb.credentials.namely_token)
    }
    fn lessonly(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.sb.lessonly.base_url()))
            .basic_auth(&self.sb.credentials.lessonly_subdomain, Some(&self.sb.credentials.lessonly_api_key))
    }
    fn litmos(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.http
            .request(
                method,
                format!(
                    "{}{path}{sep}source={}&format=json",
                    self.sb.litmos.base_url(),
                    self.sb.credentials.litmos_source
                ),
            )
            .header("apikey", &self.sb.credentials.litmos_api_key)
    }
    fn theorg(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.sb.theorg.base_url()))
            .header("X-Api-Key", &self.sb.credentials.theorg_api_key)
    }
}

use reqwest::Method as M;

async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let s = r.status().as_u16();
    let v = r.json::<Value>().await.unwrap_or(Value::Null);
    (s, v)
}

#[tokio::test]
async fn auth_is_enforced_per_vendor() {
    let a = Api::new().await;
    let h = &a.http;
    // Lever: wrong key, and a key with a non-blank password.
    let r = h.get(format!("{}/postings", a.sb.lever.base_url())).basic_auth("nope", Some("")).send().await.unwrap();
    let (s, v) = json_of(r).await;
    assert_eq!((s, v["code"].as_str()), (401, Some("Unauthorized")));
    assert_eq!(a.lever(M::GET, "/postings").send().await.unwrap().status(), 200);
    // Namely.
    let url = format!("{}/profiles", a.sb.namely_url());
    let (s, v) = json_of(h.get(&url).bearer_auth("bad").send().await.unwrap()).await;
    assert_eq!((s, v), (401, json!({"error": ""})));
    assert_eq!(a.namely(M::GET, "/profiles").send().await.unwrap().status(), 200);
    // Lessonly.
    let r = h
        .get(format!("{}/v1/users", a.sb.lessonly.base_url()))
        .basic_auth(&a.sb.credentials.lessonly_subdomain, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(a.lessonly(M::GET, "/v1/users").send().await.unwrap().status(), 200);
    // Litmos: bad key → 401, missing source → 400.
    let base = a.sb.litmos.base_url();
    let r = h.get(format!("{base}/users?source=x&format=json")).header("apikey", "bad").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = h
        .get(format!("{base}/users?format=json"))
        .header("apikey", &a.sb.credentials.litmos_api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(a.litmos(M::GET, "/users").send().await.unwrap().status(), 200);
    // The Org.
    let (s, v) = json_of(h.get(format!("{}/v1/usage", a.sb.theorg.base_url())).send().await.unwrap()).await;
    assert_eq!((s, v), (401, json!({"error": {"code": 401, "reason": "Unauthorized"}})));
    let (s, v) = json_of(a.theorg(M::GET, "/v1/usage").send().await.unwrap()).await;
    assert_eq!((s, v["data"]["creditsLimit"].as_u64()), (200, Some(100)));
}

#[tokio::test]
async fn lever_paginates_with_opaque_tokens() {
    let a = Api::new().await;
    let all = a.sb.with_lever(|d| d.archive_reasons.len());
    let mut seen = Vec::new();
    let mut offset: Option<String> = None;
    loop {
        let mut req = a.lever(M::GET, "/archive_reasons").query(&[("limit", "2")]);
        if let Some(o) = &offset {
            req = req.query(&[("offset", o)]);
        }
        let (s, v) = json_of(req.send().await.unwrap()).await;
        assert_eq!(s, 200);
        for x in v["data"].as_array().unwrap() {
            seen.push(x["id"].as_str().unwrap().to_string());
        }
        if v["hasNext"] == true {
            offset = Some(v["next"].as_str().unwrap().to_string());
        } else {
            assert!(v.get("next").is_none());
            break;
        }
    }
    assert_eq!(seen.len(), all);
    assert!(all > 2, "needs more than one page");
    let (s, v) = json_of(a.lever(M::GET, "/archive_reasons?offset=42").send().await.unwrap()).await;
    assert_eq!(s, 400);
    assert_eq!(v["message"], "Invalid offset token: Offset token is invalid for sort");
}

#[tokio::test]
async fn lever_opportunity_expand_and_hired_data() {
    let a = Api::new().await;
    let (hired, reason) = a.sb.with_lever(|d| (d.hired_opportunity_ids(), d.hired_reason_id.clone()));
    assert!(!hired.is_empty());
    let id = &hired[0];
    let (s, v) = json_of(
        a.lever(M::GET, &format!("/opportunities/{id}?expand=applications&expand=contact")).send().await.unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["data"]["archived"]["reason"], reason.as_str());
    assert!(v["data"]["applications"][0]["posting"].is_string());
    assert!(v["data"]["contact"]["emails"].is_array());
    let (_, offers) = json_of(a.lever(M::GET, &format!("/opportunities/{id}/offers")).send().await.unwrap()).await;
    assert_eq!(offers["data"][0]["status"], "signed");
    let (_, r) = json_of(a.lever(M::GET, "/archive_reasons?type=hired").send().await.unwrap()).await;
    assert_eq!(r["data"].as_array().unwrap().len(), 1);
    // Notes and tags write back.
    let (s, n) = json_of(
        a.lever(M::POST, &format!("/opportunities/{id}/notes"))
            .json(&json!({"value": "Synced to Namely"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 201);
    assert!(n["data"]["noteId"].is_string());
    a.lever(M::POST, &format!("/opportunities/{id}/addTags"))
        .json(&json!({"tags": ["Synced to Namely"]}))
        .send()
        .await
        .unwrap();
    let tags = a.sb.with_lever(|d| d.opportunity_mut(id).map(|o| o["tags"].clone()));
    assert!(tags.unwrap().as_array().unwrap().contains(&json!("Synced to Namely")));
    // Unprocessed files answer 422.
    let (opp, file) = a.sb.with_lever(|d| {
        d.files
            .iter()
            .find(|(_, f)| f[0]["status"] == "processing")
            .map(|(o, f)| (o.clone(), f[0]["id"].as_str().unwrap().to_string()))
            .unwrap()
    });
    let r = a.lever(M::GET, &format!("/opportunities/{opp}/files/{file}/download")).send().await.unwrap();
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn lever_hides_internal_only_published_postings_unless_asked() {
    let a = Api::new().await;
    let internal_only: Vec<String> = a.sb.with_lever(|d| {
        d.postings
            .iter()
            .filter(|p| p["state"] == "published" && p["distributionChannels"] == json!(["internal"]))
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    });
    assert!(!internal_only.is_empty());
    let (_, v) = json_of(a.lever(M::GET, "/postings?state=published").send().await.unwrap()).await;
    let ids: Vec<&str> = v["data"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert!(!ids.contains(&internal_only[0].as_str()));
    let (_, v) = json_of(
        a.lever(M::GET, "/postings?state=published&distributionChannel=public&distributionChannel=internal")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ids: Vec<&str> = v["data"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&internal_only[0].as_str()));
    // Deleting moves a posting to /postings/deleted.
    let id = internal_only[0].clone();
    assert!(a.sb.with_lever(|d| d.delete_posting(&id, 1_800_000_000_000)));
    let (_, v) =
        json_of(a.lever(M::GET, "/postings/deleted?deleted_at_start=1700000000000").send().await.unwrap()).await;
    assert!(v["data"].as_array().unwrap().iter().any(|p| p["id"] == id.as_str()));
}

#[tokio::test]
async fn namely_paginates_and_clamps_per_page() {
    let a = Api::new().await;
    let mut ids = Vec::new();
    for page in 1..=4 {
        let (s, v) =
            json_of(a.namely(M::GET, &format!("/profiles?page={page}&per_page=5")).send().await.unwrap()).await;
        assert_eq!(s, 200);
        assert_eq!(v["meta"]["total_count"], 12);
        let n = v["profiles"].as_array().unwrap().len();
        assert_eq!(n, [5, 5, 2, 0][page - 1]);
        assert_eq!(v["meta"]["count"], n);
        ids.extend(v["profiles"].as_array().unwrap().iter().map(|p| p["id"].clone()));
    }
    ids.dedup();
    assert_eq!(ids.len(), 12);
    let big = Sandbox::start(Tenant::generate(&TenantSpec { seed: 1, employees: 120, opportunities: 1, postings: 1 }))
        .await
        .unwrap();
    let r = a
        .http
        .get(format!("{}/profiles?per_page=100", big.namely_url()))
        .bearer_auth(&big.credentials.namely_token)
        .send()
        .await
        .unwrap();
    let (_, v) = json_of(r).await;
    assert_eq!(v["profiles"].as_array().unwrap().len(), 50);
    assert!(v["linked"]["job_titles"].as_array().is_some_and(|j| !j.is_empty()));
}

#[tokio::test]
async fn namely_wrong_company_is_a_login_page() {
    let a = Api::new().await;
    let url = a.sb.namely.base_url().replace("{company}", "globex");
    let r = a.http.get(format!("{url}/profiles")).bearer_auth(&a.sb.credentials.namely_token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("<html"));
}

#[tokio::test]
async fn namely_create_validates_and_creates() {
    let a = Api::new().await;
    let (s, v) = json_of(
        a.namely(M::POST, "/profiles")
            .json(&json!({"profiles": [{"last_name": "Doe", "email": "x@acme.example.com",
                                         "user_status": "pending", "start_date": "2024-05-01"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(v["message"], "error creating profile");
    let errs = v["errors"].as_array().unwrap();
    assert!(errs.contains(&json!("first_name is a required field")));
    assert!(errs.contains(&json!("personal_email is a required field")));
    let (s, v) = json_of(
        a.namely(M::POST, "/profiles")
            .json(&json!({"profiles": [{"first_name": "Zoë", "last_name": "Doe", "email": "zoe.doe@acme.example.com",
                "user_status": "pending", "start_date": "2024-05-01", "personal_email": "zoe@mail.example.net",
                "job_title": {"title": "Accountant"}}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 201);
    let id = v["profiles"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(v["profiles"][0]["job_title"]["title"], "Accountant");
    assert!(a.sb.with_namely(|d| d.profile_by_email("zoe.doe@acme.example.com").is_some()));
    let (s, v) = json_of(a.namely(M::GET, &format!("/profiles/{id}")).send().await.unwrap()).await;
    assert_eq!((s, v["profiles"][0]["user_status"].as_str()), (200, Some("pending")));
    let (s, v) =
        json_of(a.namely(M::GET, "/profiles/00000000-0000-4000-8000-000000000000").send().await.unwrap()).await;
    assert_eq!((s, v), (404, json!({"message": "Profile not found", "errors": []})));
    // Filters see data mutated through the accessor.
    assert!(a.sb.with_namely(|d| d.set_status(&id, "inactive")));
    let (_, v) =
        json_of(a.namely(M::GET, "/profiles?filter[email]=zoe.doe@acme.example.com").send().await.unwrap()).await;
    assert_eq!(v["profiles"][0]["user_status"], "inactive");
}

#[tokio::test]
async fn lessonly_paginates_and_unknown_custom_field_creates_one() {
    let a = Api::new().await;
    let total = a.sb.with_lessonly(|d| d.users.len());
    let (_, v) = json_of(a.lessonly(M::GET, "/v1.1/users?per_page=2&page=2").send().await.unwrap()).await;
    assert_eq!(v["type"], "users");
    assert_eq!(v["total_users"], total);
    assert_eq!(v["total_pages"], total.div_ceil(2));
    assert_eq!(v["users"].as_array().unwrap().len(), 2);
    assert!(v["users"][0]["groups"]["member"].is_array());
    let before = a.sb.with_lessonly(|d| d.custom_field_names());
    assert!(before.contains(&"Employee ID".to_string()));
    let (s, v) = json_of(
        a.lessonly(M::POST, "/v1/users")
            .json(&json!({"name": "New Hire", "email": "new.hire@acme.example.com", "role": "learner",
                          "custom_user_fields": [{"name": "Employee ID", "value": "E1"},
                                                 {"name": "Cost Centre", "value": "CC-9"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, v["type"].as_str()), (201, Some("create_user")));
    let after = a.sb.with_lessonly(|d| d.custom_field_names());
    assert_eq!(after.len(), before.len() + 1);
    assert!(after.contains(&"Cost Centre".to_string()));
    assert_eq!(v["custom_user_field_data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn lessonly_refuses_a_taken_email_however_it_was_taken() {
    let a = Api::new().await;
    let create = |email: &str| {
        let body = json!({"name": "New Hire", "email": email, "role": "learner"});
        a.lessonly(M::POST, "/v1/users").json(&body).send()
    };
    let (s, first) = json_of(create("Taken@acme.example.com").await.unwrap()).await;
    assert_eq!(s, 201);
    let (s, v) = json_of(create("taken@ACME.example.com").await.unwrap()).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("Email has already been taken")));
    // An update that moves the user to another email frees the old one and takes the new one.
    let id = first["id"].as_i64().unwrap();
    let moved = a.lessonly(M::PUT, &format!("/v1/users/{id}")).json(&json!({"email": "moved@acme.example.com"}));
    assert_eq!(moved.send().await.unwrap().status(), 200);
    assert_eq!(create("taken@acme.example.com").await.unwrap().status(), 201);
    assert_eq!(create("moved@acme.example.com").await.unwrap().status(), 400);
    // An email a test sets directly counts too.
    a.sb.with_lessonly(|d| d.users[0]["email"] = json!("set.by.hand@acme.example.com"));
    assert_eq!(create("set.by.hand@acme.example.com").await.unwrap().status(), 400);
}

#[tokio::test]
async fn litmos_paginates_searches_and_rejects_duplicates() {
    let a = Api::new().await;
    let total = a.sb.with_litmos(|d| d.users.len());
    let (_, p1) = json_of(a.litmos(M::GET, "/users?start=0&limit=2").send().await.unwrap()).await;
    let (_, p2) = json_of(a.litmos(M::GET, &format!("/users?start=2&limit={total}")).send().await.unwrap()).await;
    let (_, p3) = json_of(a.litmos(M::GET, &format!("/users?start={total}&limit=2")).send().await.unwrap()).await;
    assert_eq!(p1.as_array().unwrap().len(), 2);
    assert_eq!(p2.as_array().unwrap().len(), total - 2);
    assert_eq!(p3, json!([]));
    let (_, s) = json_of(a.litmos(M::GET, "/users?search=quinn@pieshop").send().await.unwrap()).await;
    assert_eq!(s.as_array().unwrap().len(), 1);
    assert_eq!(s[0].as_object().unwrap().len(), 7);
    let user = json!({"Id": "", "UserName": "charlie.quinn@pieshop.example.net", "FirstName": "C",
                      "LastName": "Q", "Email": "charlie.quinn@pieshop.example.net", "AccessLevel": "Learner"});
    let (st, v) = json_of(a.litmos(M::POST, "/users").json(&user).send().await.unwrap()).await;
    assert_eq!((st, v), (409, json!({"Detail": "UserName already exists"})));
    let mut new = user.clone();
    new["UserName"] = json!("fresh@acme.example.com");
    let (st, created) = json_of(a.litmos(M::POST, "/users").json(&new).send().await.unwrap()).await;
    assert_eq!(st, 201);
    let id = created["Id"].as_str().unwrap();
    let mut put = created.clone();
    put["Active"] = json!(false);
    let r = a.litmos(M::PUT, &format!("/users/{id}")).json(&put).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().is_empty());
    let (_, got) = json_of(a.litmos(M::GET, &format!("/users/{id}")).send().await.unwrap()).await;
    assert_eq!(got["Active"], false);
    assert!(got["PhoneWork"].is_null());
    // Without format=json the answer is XML.
    let r = a
        .http
        .get(format!("{}/users?source=x", a.sb.litmos.base_url()))
        .header("apikey", &a.sb.credentials.litmos_api_key)
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().contains("xml"));
    assert!(r.text().await.unwrap().starts_with("<?xml"));
}

#[tokio::test]
async fn theorg_jobs_keep_manager_id_on_update() {
    let a = Api::new().await;
    let (s, v) = json_of(
        a.theorg(M::POST, "/v1/jobs")
            .json(
                &json!({"externalId": "lever-1", "title": "Accountant", "department": "Finance", "state": "published"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 201);
    let id = v["data"]["id"].as_str().unwrap().to_string();
    a.sb.with_theorg(|d| d.job_mut(&id).map(|j| j["managerId"] = json!("p-47185")));
    let (s, v) = json_of(
        a.theorg(M::PUT, &format!("/v1/jobs/{id}")).json(&json!({"title": "Senior Accountant"})).send().await.unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["data"]["managerId"], "p-47185");
    assert_eq!(v["data"]["department"], "Finance");
    assert_eq!(v["data"]["title"], "Senior Accountant");
    let (_, list) = json_of(a.theorg(M::GET, "/v1/jobs").send().await.unwrap()).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let r = a.theorg(M::DELETE, &format!("/v1/jobs/{id}")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(a.sb.theorg_data().jobs.is_empty());
}

#[tokio::test]
async fn every_fault_kind_is_served() {
    let a = Api::new().await;
    let get = || a.lever(M::GET, "/stages");
    a.sb.lever.inject(FaultRule::new(Fault::Throttle).times(1));
    let (s, v) = json_of(get().send().await.unwrap()).await;
    assert_eq!((s, v["code"].as_str()), (429, Some("TooManyRequests")));
    assert_eq!(get().send().await.unwrap().status(), 200, "times(1) stops after one");

    a.sb.lever.inject(FaultRule::new(Fault::ServerError(502)).times(1));
    let (s, v) = json_of(get().send().await.unwrap()).await;
    assert_eq!(s, 502);
    assert!(v["code"].is_string() && v["message"].is_string());

    a.sb.lever.inject(FaultRule::new(Fault::Slow(Duration::from_millis(300))).times(1));
    let t = Instant::now();
    assert_eq!(get().send().await.unwrap().status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(300));

    a.sb.lever.inject(FaultRule::new(Fault::HtmlBody).times(1));
    let r = get().send().await.unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));

    a.sb.lever.inject(FaultRule::new(Fault::MalformedJson).times(1));
    let r = get().send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());

    a.sb.lever.inject(FaultRule::new(Fault::Unauthorized).times(1));
    assert_eq!(get().send().await.unwrap().status(), 401);
    a.sb.lever.inject(FaultRule::new(Fault::Forbidden).times(1));
    assert_eq!(get().send().await.unwrap().status(), 403);
    assert_eq!(get().send().await.unwrap().status(), 200);

    // Lessonly: permission 403 and rate-limit 403 are distinguishable.
    a.sb.lessonly.inject(FaultRule::new(Fault::Forbidden).times(1));
    a.sb.lessonly.inject(FaultRule::new(Fault::Throttle).times(1));
    let forb = a.lessonly(M::GET, "/v1/groups").send().await.unwrap();
    assert_eq!(forb.status(), 403);
    let forb = forb.text().await.unwrap();
    let thr = a.lessonly(M::GET, "/v1/groups").send().await.unwrap();
    assert_eq!(thr.status(), 403);
    let thr = thr.text().await.unwrap();
    assert!(thr.contains("Rate Limit Exceeded"));
    assert!(!forb.contains("Rate Limit Exceeded"));
}

#[tokio::test]
async fn fault_rules_filter_by_method_path_and_share() {
    let a = Api::new().await;
    a.sb.namely.inject(FaultRule::new(Fault::ServerError(503)).method("GET").path("/job_titles").share(0.5));
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(a.namely(M::GET, "/job_titles").send().await.unwrap().status().as_u16());
    }
    assert_eq!(codes.iter().filter(|c| **c == 503).count(), 2);
    assert_eq!(a.namely(M::GET, "/groups").send().await.unwrap().status(), 200);
    a.sb.namely.clear_faults();
    assert_eq!(a.namely(M::GET, "/job_titles").send().await.unwrap().status(), 200);
    // Faults apply after auth: a bad token still gets 401.
    a.sb.namely.inject(FaultRule::new(Fault::ServerError(500)));
    let r = a.http.get(format!("{}/groups", a.sb.namely_url())).bearer_auth("bad").send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn rate_limiter_answers_each_vendors_throttle() {
    let a = Api::new().await;
    a.sb.namely.set_rate_limit(Some(2));
    for _ in 0..2 {
        assert_eq!(a.namely(M::GET, "/profiles").send().await.unwrap().status(), 200);
    }
    let r = a.namely(M::GET, "/profiles").send().await.unwrap();
    assert_eq!(r.status(), 406);
    assert!(r.headers().get("retry-after").is_none());
    // Only GET /profiles is throttled.
    assert_eq!(a.namely(M::GET, "/job_titles").send().await.unwrap().status(), 200);
    a.sb.namely.set_throttle_status(Some(429));
    a.sb.namely.set_retry_after(Some(60));
    let r = a.namely(M::GET, "/profiles").send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "60");

    a.sb.litmos.set_rate_limit(Some(1));
    assert_eq!(a.litmos(M::GET, "/users").send().await.unwrap().status(), 200);
    assert_eq!(a.litmos(M::GET, "/users").send().await.unwrap().status(), 503);

    a.sb.lever.set_rate_limit(Some(1));
    a.lever(M::GET, "/stages").send().await.unwrap();
    assert_eq!(a.lever(M::GET, "/stages").send().await.unwrap().status(), 429);

    a.sb.lessonly.set_rate_limit(Some(1));
    a.lessonly(M::GET, "/v1/users").send().await.unwrap();
    let r = a.lessonly(M::GET, "/v1/users").send().await.unwrap();
    assert_eq!(r.status(), 403);

    a.sb.theorg.set_rate_limit(Some(1));
    a.theorg(M::GET, "/v1/jobs").send().await.unwrap();
    assert_eq!(a.theorg(M::GET, "/v1/jobs").send().await.unwrap().status(), 429);
    // Per endpoint: another endpoint still answers.
    assert_eq!(a.theorg(M::GET, "/v1/usage").send().await.unwrap().status(), 200);
    a.sb.theorg.set_rate_limit(None);
    assert_eq!(a.theorg(M::GET, "/v1/jobs").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn requests_are_recorded_with_status() {
    let a = Api::new().await;
    a.lessonly(M::PUT, "/v1/groups/38780?x=1")
        .json(&json!({"members": [{"id": 1694, "remove": "true"}]}))
        .send()
        .await
        .unwrap();
    a.lessonly(M::GET, "/v1/groups/999").send().await.unwrap();
    let reqs = a.sb.lessonly.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "PUT");
    assert_eq!(reqs[0].path, "/api/v1/groups/38780");
    assert_eq!(reqs[0].query, "x=1");
    assert!(reqs[0].body.contains("\"remove\":\"true\""));
    assert!(reqs[0].headers.iter().any(|(k, v)| k == "content-type" && v == "application/json"));
    assert_eq!((reqs[0].status, reqs[1].status), (200, 404));
    assert!(a.sb.with_lessonly(|d| !d.groups[0].members.contains(&1694)));
    a.sb.lessonly.clear_requests();
    assert!(a.sb.lessonly.requests().is_empty());
}

#[test]
fn generator_is_deterministic_and_realistic() {
    let spec = TenantSpec { seed: 42, employees: 2000, opportunities: 40, postings: 30 };
    let a = Tenant::generate(&spec);
    let b = Tenant::generate(&spec);
    assert_eq!(format!("{:?}", a.namely.profiles), format!("{:?}", b.namely.profiles));
    assert_eq!(format!("{:?}", a.lever), format!("{:?}", b.lever));
    let c = Tenant::generate(&TenantSpec { seed: 43, ..spec.clone() });
    assert_ne!(format!("{:?}", a.namely.profiles), format!("{:?}", c.namely.profiles));
    let p = &a.namely.profiles;
    assert_eq!(p.len(), 2000);
    let count = |s: &str| p.iter().filter(|x| x["user_status"] == s).count();
    assert!(count("active") > 1400 && count("pending") > 50 && count("inactive") > 50);
    assert!(p.iter().any(|x| x["litmos_activated"].is_null()));
    assert!(p.iter().any(|x| x["litmos_activated"] == "No"));
    assert!(p.iter().any(|x| x["email"].as_str().is_none_or(str::is_empty)));
    assert!(p.iter().any(|x| x["first_name"].as_str().unwrap().contains(' ')));
    let emails: std::collections::HashSet<_> =
        p.iter().filter_map(|x| x["email"].as_str()).filter(|e| !e.is_empty()).collect();
    assert_eq!(emails.len(), p.iter().filter(|x| x["email"].as_str().is_some_and(|e| !e.is_empty())).count());
    let states: std::collections::HashSet<_> = a.lever.postings.iter().map(|x| x["state"].to_string()).collect();
    assert_eq!(states.len(), 6);
    assert!(a.lever.postings.iter().any(|x| x["state"] == "closed" && x["urls"].is_null()));
    assert!(a.lever.postings.iter().any(|x| x["distributionChannels"].is_null()));
    // The field key is configurable.
    let t = Tenant::generate_with_field_key(&spec, "lms_enabled");
    assert!(t.namely.fields.iter().any(|f| f["name"] == "lms_enabled" && f["label"] == "Litmos Activated"));
    assert!(t.namely.profiles[0].get("lms_enabled").is_some());
    // Some LMS users match Namely employees by email.
    assert!(a.lessonly.users.iter().any(|u| a.namely.profile_by_email(u["email"].as_str().unwrap()).is_some()));
    assert!(a.litmos.users.iter().any(|u| a.namely.profile_by_email(u["Email"].as_str().unwrap()).is_some()));
}

#[test]
fn signed_delivery_matches_lever_algorithm() {
    let body = lever_signed_delivery("candidateHired", json!({"opportunityId": "o1"}), "tok", 1431454330072);
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.len(), 48);
    let mut mac = Hmac::<Sha256>::new_from_slice(b"tok").unwrap();
    mac.update(format!("{token}1431454330072").as_bytes());
    assert_eq!(body["signature"], hex::encode(mac.finalize().into_bytes()));
    assert_eq!(body["triggeredAt"], 1431454330072u64);
    assert_eq!(body["data"]["opportunityId"], "o1");
}

#[tokio::test]
async fn a_configured_latency_delays_every_answer() {
    let a = Api::new().await;
    a.sb.lever.set_latency(Some(std::time::Duration::from_millis(150)));
    let started = std::time::Instant::now();
    assert_eq!(a.lever(M::GET, "/postings").send().await.unwrap().status(), 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(150), "no latency added");
    a.sb.lever.set_latency(None);
}
