//! The shared HTTP core against tiny scripted axum servers: retries, throttles, create POSTs,
//! HTML answers, pagination, auth headers, and secrets kept out of errors.

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use connectors::lessonly::{LessonlyClient, LessonlyConfig};
use connectors::lever::{LeverClient, LeverConfig, PostingFilter};
use connectors::litmos::{LitmosClient, LitmosConfig};
use connectors::namely::{NamelyClient, NamelyConfig, NewProfile};
use connectors::theorg::{JobFields, TheOrgClient, TheOrgConfig};
use connectors::{Error, ErrorKind, RetryPolicy, Vendor};
use platform::Secret;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
struct Reply {
    status: u16,
    body: String,
    content_type: &'static str,
    delay: Duration,
    headers: Vec<(&'static str, String)>,
}

fn json(status: u16, body: &str) -> Reply {
    Reply { status, body: body.into(), content_type: "application/json", delay: Duration::ZERO, headers: vec![] }
}

fn html(status: u16, body: &str) -> Reply {
    Reply { content_type: "text/html", ..json(status, body) }
}

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
}

#[derive(Clone)]
struct Script {
    replies: Arc<Mutex<Vec<Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Script {
    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Serve `replies` in order (the last one repeats); returns the base URL and the recorder.
async fn serve(replies: Vec<Reply>) -> (String, Script) {
    let script = Script { replies: Arc::new(Mutex::new(replies)), seen: Arc::new(Mutex::new(Vec::new())) };
    let s = script.clone();
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap| {
        let s = s.clone();
        async move {
            s.seen.lock().unwrap().push(Seen {
                method: method.to_string(),
                path: uri.path().to_string(),
                query: uri.query().unwrap_or_default().to_string(),
                headers,
            });
            let reply = {
                let mut replies = s.replies.lock().unwrap();
                if replies.len() > 1 {
                    replies.remove(0)
                } else {
                    replies[0].clone()
                }
            };
            tokio::time::sleep(reply.delay).await;
            let mut builder = Response::builder()
                .status(StatusCode::from_u16(reply.status).unwrap())
                .header("content-type", reply.content_type);
            for (k, v) in &reply.headers {
                builder = builder.header(*k, v);
            }
            builder.body(Body::from(reply.body)).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), script)
}

const TOKEN: &str = "namely-token-SUPER-SECRET";

fn namely(base: &str) -> NamelyClient {
    let mut config = NamelyConfig::new("https://Acme.namely.com/", Secret::new(TOKEN));
    config.base_url = format!("{base}/{{company}}/api/v1");
    config.retry = RetryPolicy::fast();
    NamelyClient::new(config).unwrap()
}

const ME: &str = r#"{"profiles":[{"id":"p1","email":"jane@acme.com","first_name":"Jane","last_name":"Doe","full_name":"Jane Doe"}],"meta":{"count":1,"status":200}}"#;

#[tokio::test]
async fn namely_throttle_406_then_success() {
    let (base, script) = serve(vec![json(406, ""), json(429, ""), json(200, ME)]).await;
    let me = namely(&base).me().await.unwrap();
    assert_eq!(me.id, "p1");
    assert_eq!(script.count(), 3);
    let seen = script.seen();
    assert_eq!(seen[0].path, "/acme/api/v1/profiles/me");
    assert_eq!(seen[0].headers["authorization"], format!("Bearer {TOKEN}"));
}

#[tokio::test]
async fn still_throttled_after_retries_is_rate_limited() {
    let (base, script) = serve(vec![json(406, "")]).await;
    let err = namely(&base).me().await.unwrap_err();
    assert!(matches!(err, Error::Throttled { status: 406, attempts: 4, .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(script.count(), 4);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let mut throttle = json(429, "");
    throttle.headers.push(("retry-after", "0".into()));
    let (base, script) = serve(vec![throttle, json(200, r#"{"data":{}}"#)]).await;
    let mut config = TheOrgConfig::new(Secret::new("k"));
    config.base_url = base;
    config.retry = RetryPolicy {
        base_backoff: Duration::from_secs(30),
        max_backoff: Duration::from_secs(30),
        ..RetryPolicy::fast()
    };
    let client = TheOrgClient::new(config).unwrap();
    // Retry-After: 0 means no wait even though the backoff would be up to 30 s.
    let started = std::time::Instant::now();
    assert!(client.verify().await.ok);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(script.count(), 2);
}

#[tokio::test]
async fn server_error_on_get_is_retried() {
    let (base, script) = serve(vec![
        json(500, r#"{"code":"InternalError","message":"boom"}"#),
        json(503, ""),
        json(200, r#"{"data":[{"id":"r1","text":"Hired","type":"hired"}],"hasNext":false}"#),
    ])
    .await;
    let mut config = LeverConfig::new(Secret::new("lever-key"));
    config.base_url = format!("{base}/v1");
    config.retry = RetryPolicy::fast();
    let lever = LeverClient::new(config).unwrap();
    let reasons = lever.list_archive_reasons().await.unwrap();
    assert!(reasons[0].is_hired());
    assert_eq!(script.count(), 3);
}

#[tokio::test]
async fn server_error_after_retries_carries_the_vendor_message() {
    let (base, _script) = serve(vec![json(500, r#"{"code":"InternalError","message":"boom"}"#)]).await;
    let mut config = LeverConfig::new(Secret::new("lever-key"));
    config.base_url = format!("{base}/v1");
    config.retry = RetryPolicy::fast();
    let err = LeverClient::new(config).unwrap().list_stages().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Server { status: 500, attempts: 4, .. }));
    assert!(text.contains("Lever GET /stages") && text.contains("boom (InternalError)"), "{text}");
    assert_eq!(err.kind(), ErrorKind::Transient);
}

#[tokio::test]
async fn server_error_on_create_post_is_not_retried() {
    let (base, script) = serve(vec![json(502, ""), json(201, ME)]).await;
    let profile = NewProfile { first_name: Some("Ann".into()), ..Default::default() };
    let err = namely(&base).create_profile(&profile).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown);
    assert!(err.to_string().contains("look it up before trying again"), "{err}");
    assert_eq!(script.seen()[0].method, "POST");
    assert_eq!(script.count(), 1);
}

#[tokio::test]
async fn timeout_on_create_is_outcome_unknown_but_get_is_retried() {
    let slow = Reply { delay: Duration::from_millis(400), ..json(201, ME) };
    let (base, script) = serve(vec![slow.clone(), json(200, ME)]).await;
    let mut config = NamelyConfig::new("acme", Secret::new(TOKEN));
    config.base_url = format!("{base}/{{company}}/api/v1");
    config.retry = RetryPolicy { request_timeout: Duration::from_millis(100), ..RetryPolicy::fast() };
    let client = NamelyClient::new(config).unwrap();
    let err = client.create_profile(&NewProfile::default()).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(script.count(), 1);

    let (base, script) = serve(vec![slow, json(200, ME)]).await;
    let mut config = NamelyConfig::new("acme", Secret::new(TOKEN));
    config.base_url = format!("{base}/{{company}}/api/v1");
    config.retry = RetryPolicy { request_timeout: Duration::from_millis(100), ..RetryPolicy::fast() };
    assert_eq!(NamelyClient::new(config).unwrap().me().await.unwrap().id, "p1");
    assert_eq!(script.count(), 2);
}

#[tokio::test]
async fn html_2xx_is_not_json_with_the_company_hint() {
    let (base, _) = serve(vec![html(200, "<!DOCTYPE html><html><body>Log in</body></html>")]).await;
    let client = namely(&base);
    let err = client.me().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::NotJson { .. }));
    assert!(text.contains("Namely answered GET /profiles/me with an HTML page instead of JSON"), "{text}");
    assert!(text.contains("check the company subdomain 'acme'"), "{text}");
    let verification = client.verify().await;
    assert!(!verification.ok);
    assert!(verification.detail.contains("'acme'"));
}

#[tokio::test]
async fn malformed_json_and_missing_key_are_not_json() {
    let (base, _) = serve(vec![json(200, "{\"profiles\": [")]).await;
    let err = namely(&base).me().await.unwrap_err();
    assert!(err.to_string().contains("malformed JSON"), "{err}");
    let (base, _) = serve(vec![json(200, r#"{"something":"else"}"#)]).await;
    let err = namely(&base).me().await.unwrap_err();
    assert!(err.to_string().contains("expected `profiles`"), "{err}");
}

#[tokio::test]
async fn secrets_never_appear_in_errors() {
    let (base, _) = serve(vec![json(401, r#"{"error": ""}"#)]).await;
    let client = namely(&base);
    let err = client.me().await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }));
    for text in [err.to_string(), format!("{err:?}"), format!("{client:?}"), client.verify().await.detail] {
        assert!(!text.contains(TOKEN), "{text}");
    }
    assert!(err.to_string().contains("check the personal access token in Namely's secret"), "{err}");
    // Unreachable host: the message names the host, never the token.
    let mut config = NamelyConfig::new("acme", Secret::new(TOKEN));
    config.base_url = "http://127.0.0.1:9/{company}/api/v1".into();
    config.retry = RetryPolicy::fast();
    let err = NamelyClient::new(config).unwrap().me().await.unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
    assert!(err.to_string().contains("127.0.0.1:9") && !format!("{err:?}").contains(TOKEN));
    // The URL is left out with the words that announce it: no "for url ()".
    assert!(!err.to_string().contains("url ("), "{err}");
    assert!(err.to_string().contains("error sending request: "), "{err}");
}

#[tokio::test]
async fn a_vendor_that_echoes_the_key_it_refused_never_puts_it_in_an_error() {
    let echoed = format!(r#"{{"message": "Invalid access token {TOKEN}"}}"#);
    let (base, _) = serve(vec![json(401, &echoed)]).await;
    let err = namely(&base).me().await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(TOKEN), "{text}");
        assert!(text.contains("Invalid access token [redacted]"), "the vendor's words stay: {text}");
    }
    let (base, _) = serve(vec![Reply { content_type: "text/plain", ..json(500, &format!("bad key {TOKEN}")) }]).await;
    let err = namely(&base).me().await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains(TOKEN), "{err:?}");
    assert!(err.to_string().contains("bad key [redacted]"), "{err}");
}

#[tokio::test]
async fn namely_pages_until_an_empty_page() {
    let page = |ids: &[&str]| {
        let profiles: Vec<_> = ids.iter().map(|id| serde_json::json!({"id": id})).collect();
        json(200, &serde_json::json!({"profiles": profiles, "meta": {"count": ids.len()}}).to_string())
    };
    let (base, script) = serve(vec![page(&["a", "b"]), page(&["c", "d"]), page(&["e"]), page(&[])]).await;
    let mut config = NamelyConfig::new("acme", Secret::new(TOKEN));
    config.base_url = format!("{base}/{{company}}/api/v1");
    config.per_page = 2;
    let all = NamelyClient::new(config).unwrap().list_profiles(&Default::default()).await.unwrap();
    assert_eq!(all.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["a", "b", "c", "d", "e"]);
    let queries: Vec<_> = script.seen().into_iter().map(|s| s.query).collect();
    assert_eq!(queries, ["page=1&per_page=2", "page=2&per_page=2", "page=3&per_page=2", "page=4&per_page=2"]);
}

#[tokio::test]
async fn lever_follows_next_tokens_and_sends_basic_auth() {
    let (base, script) = serve(vec![
        json(200, r#"{"data":[{"id":"p1","urls":null}],"hasNext":true,"next":"0.14.abc"}"#),
        json(200, r#"{"data":[{"id":"p2"}],"hasNext":false}"#),
    ])
    .await;
    let mut config = LeverConfig::new(Secret::new("lever-key"));
    config.base_url = format!("{base}/v1");
    let lever = LeverClient::new(config).unwrap();
    let filter = PostingFilter {
        state: Some("published".into()),
        distribution_channels: vec!["public".into(), "internal".into()],
        include_content: true,
        include_confidential: true,
        ..Default::default()
    };
    let postings = lever.list_postings(&filter).await.unwrap();
    assert_eq!(postings.len(), 2);
    let seen = script.seen();
    assert!(seen[0].query.contains("distributionChannel=public&distributionChannel=internal"), "{}", seen[0].query);
    assert!(seen[0].query.contains("include=content") && seen[0].query.contains("confidentiality=all"));
    assert!(!seen[0].query.contains("offset"));
    assert!(seen[1].query.contains("offset=0.14.abc"), "{}", seen[1].query);
    // base64("lever-key:")
    assert_eq!(seen[0].headers["authorization"], "Basic bGV2ZXIta2V5Og==");
}

#[tokio::test]
async fn lever_add_tags_is_retried_but_add_note_is_not() {
    let (base, script) = serve(vec![json(500, ""), json(200, r#"{"data":{}}"#)]).await;
    let mut config = LeverConfig::new(Secret::new("k"));
    config.base_url = format!("{base}/v1");
    config.retry = RetryPolicy::fast();
    let lever = LeverClient::new(config).unwrap();
    lever.add_tags("o1", &["Synced to Namely".into()], None).await.unwrap();
    assert_eq!(script.count(), 2);
    assert_eq!(script.seen()[0].path, "/v1/opportunities/o1/addTags");

    let (base, script) = serve(vec![json(500, ""), json(201, r#"{"data":{"noteId":"n1"}}"#)]).await;
    let mut config = LeverConfig::new(Secret::new("k"));
    config.base_url = format!("{base}/v1");
    config.retry = RetryPolicy::fast();
    let lever = LeverClient::new(config).unwrap();
    let note = connectors::lever::NewNote { value: "Created in Namely".into(), ..Default::default() };
    assert!(matches!(lever.add_note("o1", &note, None).await, Err(Error::OutcomeUnknown { .. })));
    assert_eq!(script.count(), 1);
    let (base, _) = serve(vec![json(201, r#"{"data":{"noteId":"n1"}}"#)]).await;
    let mut config = LeverConfig::new(Secret::new("k"));
    config.base_url = format!("{base}/v1");
    assert_eq!(LeverClient::new(config).unwrap().add_note("o1", &note, None).await.unwrap(), "n1");
}

fn lessonly(base: &str) -> LessonlyClient {
    let mut config = LessonlyConfig::new("acme", Secret::new("lessonly-key"));
    config.base_url = format!("{base}/api");
    config.retry = RetryPolicy::fast();
    LessonlyClient::new(config).unwrap()
}

#[tokio::test]
async fn lessonly_403_rate_limit_is_retried_but_permission_403_is_not() {
    let users = r#"{"type":"users","total_users":1,"total_pages":1,"page":1,"users":[{"id":1,"email":"a@x"}]}"#;
    let (base, script) = serve(vec![json(403, r#"{"error":"Rate Limit Exceeded"}"#), json(200, users)]).await;
    assert_eq!(lessonly(&base).list_users(&Default::default()).await.unwrap().len(), 1);
    assert_eq!(script.count(), 2);
    assert_eq!(script.seen()[0].path, "/api/v1.1/users");
    assert_eq!(script.seen()[0].headers["authorization"], "Basic YWNtZTpsZXNzb25seS1rZXk=");

    let (base, script) = serve(vec![json(403, r#"{"error":"You are not allowed"}"#)]).await;
    let err = lessonly(&base).list_users(&Default::default()).await.unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert!(err.to_string().contains("You are not allowed"));
    assert_eq!(script.count(), 1);
}

#[tokio::test]
async fn lessonly_pages_by_total_pages() {
    let page = |n: u32, ids: &[i64]| {
        let users: Vec<_> = ids.iter().map(|id| serde_json::json!({"id": id})).collect();
        json(200, &serde_json::json!({"page": n, "total_pages": 2, "users": users}).to_string())
    };
    let (base, script) = serve(vec![page(1, &[1, 2]), page(2, &[3])]).await;
    let users = lessonly(&base).list_users(&Default::default()).await.unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!(script.count(), 2);
}

fn litmos(base: &str) -> LitmosClient {
    let mut config = LitmosConfig::new(Secret::new("litmos-key"), "hr-bundle");
    config.base_url = format!("{base}/v1.svc");
    config.retry = RetryPolicy::fast();
    config.page_size = 2;
    LitmosClient::new(config).unwrap()
}

#[tokio::test]
async fn litmos_auth_paging_conflict_and_empty_put() {
    let (base, script) = serve(vec![
        json(503, ""),
        json(200, r#"[{"Id":"1","UserName":"a"},{"Id":"2","UserName":"b"}]"#),
        json(200, r#"[{"Id":"3","UserName":"c"}]"#),
        json(200, "[]"),
    ])
    .await;
    let users = litmos(&base).list_users().await.unwrap();
    assert_eq!(users.len(), 3);
    let seen = script.seen();
    assert_eq!(seen[0].headers["apikey"], "litmos-key");
    assert!(seen[0].query.contains("source=hr-bundle") && seen[0].query.contains("format=json"));
    assert!(seen[2].query.contains("start=2"), "{}", seen[2].query);
    assert!(seen[3].query.contains("start=3"), "{}", seen[3].query);

    let (base, _) = serve(vec![json(409, r#"{"Detail":"UserName already exists"}"#)]).await;
    let err = litmos(&base).create_user(&Default::default()).await.unwrap_err();
    assert!(err.is_conflict() && err.vendor_message() == Some("UserName already exists"), "{err:?}");

    let (base, _) = serve(vec![json(200, "")]).await;
    let user = connectors::litmos::User { id: Some("u1".into()), ..Default::default() };
    litmos(&base).update_user(&user).await.unwrap();
}

#[tokio::test]
async fn theorg_jobs_and_error_envelope() {
    let (base, script) = serve(vec![
        json(201, r#"{"id":"j1","externalId":"p1"}"#),
        json(204, ""),
        json(404, r#"{"error":{"code":404,"reason":"Not found"}}"#),
    ])
    .await;
    let mut config = TheOrgConfig::new(Secret::new("org-key"));
    config.base_url = base;
    let org = TheOrgClient::new(config).unwrap();
    let job = org.create_job(&JobFields { external_id: "p1".into(), ..Default::default() }).await.unwrap();
    assert_eq!(job.id, "j1");
    org.delete_job("j1").await.unwrap();
    let err = org.delete_job("j1").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }) && err.to_string().contains("Not found"));
    assert_eq!(err.vendor(), Vendor::TheOrg);
    assert_eq!(script.seen()[0].headers["x-api-key"], "org-key");
}
