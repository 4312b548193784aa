//! Local HTTP sandbox servers that follow the Lever, Namely, Lessonly, Litmos and The Org API
//! contracts (see `/shared/api/*.md`), with seeded tenants, recorded requests, fault injection and
//! server-side rate limiting. Pointing the product at a real vendor is only a base-URL change.
//!
//! Every server runs the same layer: record the request → auth → rate limit → faults → handler.
//! Tenant data lives behind the [`Sandbox`]'s `with_*` accessors so tests can read and mutate it.

mod lessonly;
mod lever;
mod litmos;
mod namely;
mod server;
mod tenant;
mod theorg;

use std::sync::{Arc, Mutex};

pub use lever::{lever_signed_delivery, now_ms};
pub use server::{Fault, FaultRule, RecordedRequest, VendorHandle};
pub use tenant::{
    Credentials, LessonlyCustomField, LessonlyData, LessonlyGroup, LeverData, LitmosData, NamelyData, Tenant,
    TenantSpec, TheOrgData,
};

use server::{lock, spawn};

/// Five running vendor servers on 127.0.0.1, serving one [`Tenant`].
///
/// The servers run on the current tokio runtime and stop when it shuts down.
pub struct Sandbox {
    /// Lever; base URL `http://127.0.0.1:PORT/v1`.
    pub lever: VendorHandle,
    /// Namely; base URL `http://127.0.0.1:PORT/{company}/api/v1` (literal `{company}`).
    pub namely: VendorHandle,
    /// Lessonly; base URL `http://127.0.0.1:PORT/api`.
    pub lessonly: VendorHandle,
    /// Litmos; base URL `http://127.0.0.1:PORT/v1.svc`.
    pub litmos: VendorHandle,
    /// The Org; base URL `http://127.0.0.1:PORT`.
    pub theorg: VendorHandle,
    /// The credentials every server accepts.
    pub credentials: Credentials,
    lever_data: Arc<Mutex<LeverData>>,
    namely_data: Arc<Mutex<NamelyData>>,
    lessonly_data: Arc<Mutex<LessonlyData>>,
    litmos_data: Arc<Mutex<LitmosData>>,
    theorg_data: Arc<Mutex<TheOrgData>>,
}

impl Sandbox {
    /// Starts the five servers on 127.0.0.1 with OS-assigned ports, serving `tenant`.
    pub async fn start(tenant: Tenant) -> std::io::Result<Sandbox> {
        let c = tenant.credentials.clone();
        let lever_data = Arc::new(Mutex::new(tenant.lever));
        let mut namely = tenant.namely;
        namely.company = c.namely_company.clone();
        let namely_data = Arc::new(Mutex::new(namely));
        let lessonly_data = Arc::new(Mutex::new(tenant.lessonly));
        let litmos_data = Arc::new(Mutex::new(tenant.litmos));
        let theorg_data = Arc::new(Mutex::new(tenant.theorg));

        let (s, p) = spawn(Box::new(lever::Lever::new(lever_data.clone(), c.lever_api_key.clone()))).await?;
        let lever = VendorHandle { shared: s, base_url: format!("http://127.0.0.1:{p}/v1") };
        let (s, p) = spawn(Box::new(namely::Namely {
            data: namely_data.clone(),
            company: c.namely_company.clone(),
            token: c.namely_token.clone(),
        }))
        .await?;
        let namely = VendorHandle { shared: s, base_url: format!("http://127.0.0.1:{p}/{{company}}/api/v1") };
        let (s, p) = spawn(Box::new(lessonly::Lessonly {
            data: lessonly_data.clone(),
            subdomain: c.lessonly_subdomain.clone(),
            api_key: c.lessonly_api_key.clone(),
            last_datum_id: Default::default(),
        }))
        .await?;
        let lessonly = VendorHandle { shared: s, base_url: format!("http://127.0.0.1:{p}/api") };
        let (s, p) =
            spawn(Box::new(litmos::Litmos { data: litmos_data.clone(), api_key: c.litmos_api_key.clone() })).await?;
        let litmos = VendorHandle { shared: s, base_url: format!("http://127.0.0.1:{p}/v1.svc") };
        let (s, p) =
            spawn(Box::new(theorg::TheOrg { data: theorg_data.clone(), api_key: c.theorg_api_key.clone() })).await?;
        let theorg = VendorHandle { shared: s, base_url: format!("http://127.0.0.1:{p}") };
        Ok(Sandbox {
            lever,
            namely,
            lessonly,
            litmos,
            theorg,
            credentials: c,
            lever_data,
            namely_data,
            lessonly_data,
            litmos_data,
            theorg_data,
        })
    }

    /// The environment that points the functions at this sandbox: every `*_API_URL` and every
    /// vendor secret inline as `*_SECRET_JSON`, exactly as an operator configures a local run.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let c = &self.credentials;
        let secrets = [
            (
                "LEVER_SECRET_JSON",
                serde_json::json!({"api_key": c.lever_api_key, "webhook_signature_tokens": c.lever_signature_tokens}),
            ),
            ("NAMELY_SECRET_JSON", serde_json::json!({"company": c.namely_company, "token": c.namely_token})),
            (
                "LESSONLY_SECRET_JSON",
                serde_json::json!({"subdomain": c.lessonly_subdomain, "api_key": c.lessonly_api_key}),
            ),
            ("LITMOS_SECRET_JSON", serde_json::json!({"api_key": c.litmos_api_key, "source": c.litmos_source})),
            ("THEORG_SECRET_JSON", serde_json::json!({"api_key": c.theorg_api_key})),
        ];
        let urls = [
            ("LEVER_API_URL", self.lever.base_url()),
            ("NAMELY_API_URL", self.namely.base_url()),
            ("LESSONLY_API_URL", self.lessonly.base_url()),
            ("LITMOS_API_URL", self.litmos.base_url()),
            ("THEORG_API_URL", self.theorg.base_url()),
        ];
        urls.into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .chain(secrets.into_iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .collect()
    }

    /// Namely base URL with the tenant's company substituted (the template is on `namely.base_url()`).
    pub fn namely_url(&self) -> String {
        self.namely.base_url().replace("{company}", &self.credentials.namely_company)
    }

    /// Runs `f` with exclusive access to the Lever data the server holds (reads and mutations).
    /// Do not call other sandbox accessors or await inside `f`.
    pub fn with_lever<R>(&self, f: impl FnOnce(&mut LeverData) -> R) -> R {
        f(&mut lock(&self.lever_data))
    }
    /// Runs `f` with exclusive access to the Namely data, e.g. `d.set_status(id, "inactive")`.
    pub fn with_namely<R>(&self, f: impl FnOnce(&mut NamelyData) -> R) -> R {
        f(&mut lock(&self.namely_data))
    }
    /// Runs `f` with exclusive access to the Lessonly data (users, groups, custom fields).
    pub fn with_lessonly<R>(&self, f: impl FnOnce(&mut LessonlyData) -> R) -> R {
        let mut data = lock(&self.lessonly_data);
        let out = f(&mut data);
        // The caller may have changed emails; the server rebuilds its index when next needed.
        data.email_index = None;
        out
    }
    /// Runs `f` with exclusive access to the Litmos data.
    pub fn with_litmos<R>(&self, f: impl FnOnce(&mut LitmosData) -> R) -> R {
        f(&mut lock(&self.litmos_data))
    }
    /// Runs `f` with exclusive access to The Org data (chart, jobs, credits).
    pub fn with_theorg<R>(&self, f: impl FnOnce(&mut TheOrgData) -> R) -> R {
        f(&mut lock(&self.theorg_data))
    }
    /// Snapshot of the Lever data.
    pub fn lever_data(&self) -> LeverData {
        self.with_lever(|d| d.clone())
    }
    /// Snapshot of the Namely data.
    pub fn namely_data(&self) -> NamelyData {
        self.with_namely(|d| d.clone())
    }
    /// Snapshot of the Lessonly data.
    pub fn lessonly_data(&self) -> LessonlyData {
        self.with_lessonly(|d| d.clone())
    }
    /// Snapshot of the Litmos data.
    pub fn litmos_data(&self) -> LitmosData {
        self.with_litmos(|d| d.clone())
    }
    /// Snapshot of The Org data.
    pub fn theorg_data(&self) -> TheOrgData {
        self.with_theorg(|d| d.clone())
    }
}
