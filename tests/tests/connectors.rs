//! End-to-end tests of the five connectors against the sandbox vendor servers: auth failures,
//! multi-page listings, a throttle answer followed by success, HTML 2xx answers, and verify().

use connectors::lessonly::{LessonlyClient, LessonlyConfig};
use connectors::lever::{LeverClient, LeverConfig, PostingFilter};
use connectors::litmos::{LitmosClient, LitmosConfig};
use connectors::namely::{NamelyClient, NamelyConfig, ProfileFilter};
use connectors::theorg::{JobFields, TheOrgClient, TheOrgConfig};
use connectors::{Error, RetryPolicy};
use platform::Secret;
use sandbox::{Fault, FaultRule, Sandbox, Tenant, TenantSpec};

/// Big enough for several pages with the small page sizes below.
fn big_tenant() -> Tenant {
    Tenant::generate(&TenantSpec { seed: 42, employees: 120, opportunities: 12, postings: 45 })
}

fn lever(sb: &Sandbox, key: &str) -> LeverClient {
    let mut c = LeverConfig::new(Secret::new(key));
    c.base_url = sb.lever.base_url();
    c.retry = RetryPolicy::fast();
    c.page_size = 10;
    LeverClient::new(c).expect("lever client")
}

fn namely(sb: &Sandbox, company: &str, token: &str) -> NamelyClient {
    let mut c = NamelyConfig::new(company, Secret::new(token));
    c.base_url = sb.namely.base_url();
    c.retry = RetryPolicy::fast();
    NamelyClient::new(c).expect("namely client")
}

fn lessonly(sb: &Sandbox, key: &str) -> LessonlyClient {
    let mut c = LessonlyConfig::new(sb.credentials.lessonly_subdomain.clone(), Secret::new(key));
    c.base_url = sb.lessonly.base_url();
    c.retry = RetryPolicy::fast();
    c.per_page = 2;
    LessonlyClient::new(c).expect("lessonly client")
}

fn litmos(sb: &Sandbox, key: &str) -> LitmosClient {
    let mut c = LitmosConfig::new(Secret::new(key), sb.credentials.litmos_source.clone());
    c.base_url = sb.litmos.base_url();
    c.retry = RetryPolicy::fast();
    c.page_size = 25;
    LitmosClient::new(c).expect("litmos client")
}

fn theorg(sb: &Sandbox, key: &str) -> TheOrgClient {
    let mut c = TheOrgConfig::new(Secret::new(key));
    c.base_url = sb.theorg.base_url();
    c.retry = RetryPolicy::fast();
    TheOrgClient::new(c).expect("theorg client")
}

fn assert_unauthorized(err: Error, vendor: &str, wrong_key: &str) {
    let text = err.to_string();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert!(text.starts_with(vendor) && text.contains("401"), "{text}");
    // What to renew, and where, in words that read ("The Org's secret", never "the The Org").
    let credential = if vendor == "Namely" { "personal access token" } else { "API key" };
    assert!(text.contains(&format!("check the {credential} in {vendor}'s secret")), "{text}");
    assert!(!text.contains(wrong_key) && !format!("{err:?}").contains(wrong_key), "secret leaked: {text}");
}

fn assert_html_error(err: Error, vendor: &str) {
    let text = err.to_string();
    assert!(matches!(err, Error::NotJson { .. }), "{err:?}");
    assert!(text.contains(&format!("{vendor} answered GET")) && text.contains("HTML page instead of JSON"), "{text}");
}

fn statuses(requests: &[sandbox::RecordedRequest]) -> Vec<u16> {
    requests.iter().map(|r| r.status).collect()
}

// ---------------------------------------------------------------- Lever

#[tokio::test]
async fn lever_end_to_end() {
    let sb = Sandbox::start(big_tenant()).await.expect("sandbox");
    let key = sb.credentials.lever_api_key.clone();

    assert_unauthorized(lever(&sb, "wrong-lever-key").list_stages().await.unwrap_err(), "Lever", "wrong-lever-key");
    let failed = lever(&sb, "wrong-lever-key").verify().await;
    assert!(!failed.ok && failed.detail.contains("401"), "{failed:?}");

    let client = lever(&sb, &key);
    assert!(client.verify().await.ok);
    assert!(client.verify_postings_access().await.ok);

    // 45 postings at 10 per page: several pages, each offset taken from the previous `next`.
    sb.lever.clear_requests();
    let filter = PostingFilter { include_confidential: true, include_content: true, ..Default::default() };
    let postings = client.list_postings(&filter).await.expect("postings");
    assert!(sb.lever.requests().len() >= 3, "expected several pages");
    assert!(sb.lever.requests()[1].query.contains("offset="), "{:?}", sb.lever.requests()[1].query);
    // The same listing in one page must give exactly the same postings: nothing lost or duplicated.
    let mut one_page = LeverConfig::new(Secret::new(key.clone()));
    one_page.base_url = sb.lever.base_url();
    let single = LeverClient::new(one_page).expect("client").list_postings(&filter).await.expect("postings");
    let mut paged_ids: Vec<_> = postings.iter().map(|p| p.id.clone()).collect();
    let mut single_ids: Vec<_> = single.iter().map(|p| p.id.clone()).collect();
    paged_ids.sort();
    single_ids.sort();
    assert!(paged_ids.len() > 20);
    assert_eq!(paged_ids, single_ids);

    sb.lever.clear_requests();
    sb.lever.inject(FaultRule::new(Fault::Throttle).path("/stages").times(1));
    assert!(!client.list_stages().await.expect("stages after throttle").is_empty());
    assert_eq!(statuses(&sb.lever.requests()), vec![429, 200]);

    sb.lever.inject(FaultRule::new(Fault::HtmlBody).times(1));
    assert_html_error(client.list_stages().await.unwrap_err(), "Lever");
}

// ---------------------------------------------------------------- Namely

#[tokio::test]
async fn namely_end_to_end() {
    let sb = Sandbox::start(big_tenant()).await.expect("sandbox");
    let company = sb.credentials.namely_company.clone();
    let token = sb.credentials.namely_token.clone();

    assert_unauthorized(
        namely(&sb, &company, "wrong-namely-token").me().await.unwrap_err(),
        "Namely",
        "wrong-namely-token",
    );

    let client = namely(&sb, &format!("https://{company}.namely.com/"), &token);
    let ok = client.verify().await;
    assert!(ok.ok, "{ok:?}");
    assert!(ok.detail.contains(&company), "{ok:?}");

    // A wrong company answers 200 with an HTML login page.
    let wrong = namely(&sb, "not-our-company", &token).verify().await;
    assert!(!wrong.ok);
    assert!(wrong.detail.contains("HTML page") && wrong.detail.contains("'not-our-company'"), "{}", wrong.detail);

    // 120 employees at 50 per page.
    sb.namely.clear_requests();
    let profiles = client.list_profiles(&ProfileFilter::default()).await.expect("profiles");
    assert_eq!(profiles.len(), sb.namely_data().profiles.len());
    assert!(sb.namely.requests().len() >= 3);

    // The groups listing says how many there are, so one page that holds them all is one call.
    sb.namely.clear_requests();
    let listing = client.list_groups().await.expect("groups");
    assert_eq!(listing.groups.len(), sb.namely_data().groups.len());
    assert_eq!(sb.namely.requests().len(), 1, "{:?}", sb.namely.requests());

    sb.namely.clear_requests();
    // Fault paths are relative to the API root.
    sb.namely.inject(FaultRule::new(Fault::Throttle).path("/profiles").times(1));
    client.me().await.expect("me after throttle");
    assert_eq!(statuses(&sb.namely.requests()), vec![406, 200]);

    sb.namely.inject(FaultRule::new(Fault::HtmlBody).times(1));
    let err = client.me().await.unwrap_err();
    assert!(err.to_string().contains(&format!("check the company subdomain '{company}'")), "{err}");
    assert_html_error(err, "Namely");
}

// ---------------------------------------------------------------- Lessonly

#[tokio::test]
async fn lessonly_end_to_end() {
    let sb = Sandbox::start(big_tenant()).await.expect("sandbox");
    let key = sb.credentials.lessonly_api_key.clone();

    assert_unauthorized(
        lessonly(&sb, "wrong-lessonly-key").list_users(&Default::default()).await.unwrap_err(),
        "Lessonly",
        "wrong-lessonly-key",
    );
    assert!(!lessonly(&sb, "wrong-lessonly-key").verify().await.ok);

    let client = lessonly(&sb, &key);
    assert!(client.verify().await.ok);

    sb.lessonly.clear_requests();
    let users = client.list_users(&Default::default()).await.expect("users");
    assert_eq!(users.len(), sb.lessonly_data().users.len());
    assert!(users.len() > 2, "tenant too small for several pages: {}", users.len());
    assert!(sb.lessonly.requests().len() >= 2);

    // Lessonly's throttle is a 403 "Rate Limit Exceeded"; a permission 403 is not retried.
    sb.lessonly.clear_requests();
    sb.lessonly.inject(FaultRule::new(Fault::Throttle).times(1));
    client.list_groups().await.expect("groups after throttle");
    assert_eq!(statuses(&sb.lessonly.requests()), vec![403, 200]);

    sb.lessonly.clear_requests();
    sb.lessonly.inject(FaultRule::new(Fault::Forbidden).times(1));
    assert!(matches!(client.list_groups().await, Err(Error::Forbidden { .. })));
    assert_eq!(sb.lessonly.requests().len(), 1);

    sb.lessonly.inject(FaultRule::new(Fault::HtmlBody).times(1));
    assert_html_error(client.list_groups().await.unwrap_err(), "Lessonly");
}

#[tokio::test]
async fn lessonly_users_after_the_first_page_are_asked_for_several_at_a_time() {
    let sb = Sandbox::start(big_tenant()).await.expect("sandbox");
    let mut config =
        LessonlyConfig::new(sb.credentials.lessonly_subdomain.clone(), Secret::new(&sb.credentials.lessonly_api_key));
    config.base_url = sb.lessonly.base_url();
    config.per_page = 1;
    let client = LessonlyClient::new(config).expect("lessonly client");
    sb.lessonly.set_latency(Some(std::time::Duration::from_millis(30)));
    let users = client.list_users(&Default::default()).await.expect("users");
    let mut ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), sb.lessonly_data().users.len(), "every user once");

    let requests = sb.lessonly.requests();
    let mut pages: Vec<&str> = requests.iter().map(|r| r.query.as_str()).collect();
    pages.sort_unstable();
    pages.dedup();
    assert_eq!(pages.len(), requests.len(), "a page asked for twice: {pages:?}");
    assert!(requests.len() > 3, "tenant too small for several pages: {}", requests.len());
    // The first page alone (it gives the count), then the rest overlapping.
    let answered = |i: usize| requests[i].answered_at.expect("answered");
    assert!(requests[1].received_at >= answered(0), "page 2 asked for before page 1 told the count");
    let overlapping = requests.windows(2).skip(1).filter(|w| w[1].received_at < w[0].answered_at.unwrap()).count();
    assert!(overlapping > 0, "the pages after the first were asked for one at a time");
}

// ---------------------------------------------------------------- Litmos

#[tokio::test]
async fn litmos_end_to_end() {
    let sb = Sandbox::start(big_tenant()).await.expect("sandbox");
    let key = sb.credentials.litmos_api_key.clone();

    assert_unauthorized(litmos(&sb, "wrong-litmos-key").list_users().await.unwrap_err(), "Litmos", "wrong-litmos-key");
    assert!(!litmos(&sb, "wrong-litmos-key").verify().await.ok);

    let client = litmos(&sb, &key);
    assert!(client.verify().await.ok);

    sb.litmos.clear_requests();
    let users = client.list_users().await.expect("users");
    assert_eq!(users.len(), sb.litmos_data().users.len());
    assert!(sb.litmos.requests().len() >= 2);

    // Exact lookup despite substring search.
    if let Some(name) = users.iter().find_map(|u| u.user_name.clone()) {
        let found = client.find_user_exact(&name).await.expect("search").expect("exact match");
        assert_eq!(found.user_name.as_deref(), Some(name.as_str()));
    }

    sb.litmos.clear_requests();
    sb.litmos.inject(FaultRule::new(Fault::Throttle).times(1));
    assert!(client.verify().await.ok);
    assert_eq!(statuses(&sb.litmos.requests()), vec![503, 200]);

    sb.litmos.inject(FaultRule::new(Fault::HtmlBody).times(1));
    assert_html_error(client.list_users_page(0, None).await.unwrap_err(), "Litmos");
}

// ---------------------------------------------------------------- The Org

#[tokio::test]
async fn theorg_end_to_end() {
    let sb = Sandbox::start(Tenant::small()).await.expect("sandbox");
    let key = sb.credentials.theorg_api_key.clone();

    assert_unauthorized(theorg(&sb, "wrong-theorg-key").list_jobs().await.unwrap_err(), "The Org", "wrong-theorg-key");
    assert!(!theorg(&sb, "wrong-theorg-key").verify().await.ok);

    let client = theorg(&sb, &key);
    assert!(client.verify().await.ok);

    // Jobs are one unpaged list: create several, list them all, update and delete one.
    let before = client.list_jobs().await.expect("jobs").len();
    let mut created = Vec::new();
    for i in 0..3 {
        let job = JobFields {
            external_id: format!("posting-{i}"),
            title: Some(format!("Engineer {i}")),
            state: Some("published".into()),
            ..Default::default()
        };
        created.push(client.create_job(&job).await.expect("create job"));
    }
    assert_eq!(client.list_jobs().await.expect("jobs").len(), before + 3);
    let update =
        JobFields { external_id: "posting-0".into(), title: Some("Senior Engineer 0".into()), ..Default::default() };
    client.update_job(&created[0].id, &update).await.expect("update");
    client.delete_job(&created[1].id).await.expect("delete");
    assert_eq!(client.list_jobs().await.expect("jobs").len(), before + 2);

    sb.theorg.clear_requests();
    sb.theorg.inject(FaultRule::new(Fault::Throttle).times(1));
    client.list_jobs().await.expect("jobs after throttle");
    assert_eq!(statuses(&sb.theorg.requests()), vec![429, 200]);

    sb.theorg.inject(FaultRule::new(Fault::HtmlBody).times(1));
    assert_html_error(client.list_jobs().await.unwrap_err(), "The Org");
}
