//! The Org: documented read API plus our partner jobs API (`/v1/jobs`), `X-Api-Key`, 429 throttle.

use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::server::{lock, Req, Resp, Vendor};
use crate::tenant::TheOrgData;

pub(crate) struct TheOrg {
    pub data: Arc<Mutex<TheOrgData>>,
    pub api_key: String,
}

fn reason(status: u16, text: &str) -> Resp {
    Resp::json(status, &json!({"error": {"code": status, "reason": text}}))
}

const JOB_FIELDS: &[&str] = &[
    "externalId",
    "title",
    "description",
    "descriptionHtml",
    "department",
    "team",
    "location",
    "allLocations",
    "state",
    "createdAt",
    "url",
    "applyUrl",
    "managerId",
];

impl Vendor for TheOrg {
    fn name(&self) -> &'static str {
        "The Org"
    }
    fn route(&self, full_path: &str) -> Result<String, Resp> {
        Ok(full_path.to_string())
    }
    fn authenticate(&self, req: &Req) -> Option<Resp> {
        if req.header("x-api-key") == Some(self.api_key.as_str()) {
            None
        } else {
            Some(self.error(401))
        }
    }
    fn rate_key(&self, req: &Req) -> Option<String> {
        // Limits are per endpoint: bucket on the version + resource, not the id.
        Some(req.segs().iter().take(3).filter(|s| !s.starts_with("p-")).cloned().collect::<Vec<_>>().join("/"))
    }
    fn throttle(&self, status: Option<u16>) -> Resp {
        reason(status.unwrap_or(429), "Too Many Requests")
    }
    fn error(&self, status: u16) -> Resp {
        let text = match status {
            401 => "Unauthorized",
            403 => "Forbidden",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            504 => "Gateway Timeout",
            _ => "Internal Server Error",
        };
        reason(status, text)
    }
    fn handle(&self, req: &Req) -> Resp {
        let mut d = lock(&self.data);
        let segs = req.segs();
        match (req.method.as_str(), segs.as_slice()) {
            ("GET", ["v1", "usage"]) => {
                Resp::json(200, &json!({"data": {"creditsUsed": d.credits_used, "creditsLimit": d.credits_limit}}))
            }
            ("GET", ["v1.2", "companies", "org-chart"]) => {
                if req.param("domain").is_none() && req.param("linkedInUrl").is_none() {
                    return reason(400, "domain or linkedInUrl is required");
                }
                let mut nodes = d.chart.clone();
                nodes.extend(d.jobs.iter().map(|j| {
                    json!({"id": format!("p-{}", j["id"].as_str().unwrap_or("")), "jobId": j["id"],
                           "jobTitle": j["title"], "managerId": j["managerId"], "nodeType": "job",
                           "section": "orgChart"})
                }));
                d.credits_used += 10;
                Resp::json(200, &json!({"data": nodes}))
            }
            ("GET", ["v1", "jobs"]) => Resp::json(200, &json!({"data": d.jobs})),
            ("POST", ["v1", "jobs"]) => {
                let Some(body) = req.json().filter(|b| b.is_object()) else {
                    return reason(400, "Invalid JSON body");
                };
                let Some(ext) = body["externalId"].as_str().filter(|s| !s.is_empty()) else {
                    return reason(400, "externalId is required");
                };
                if body["title"].as_str().unwrap_or("").is_empty() {
                    return reason(400, "title is required");
                }
                if d.job_by_external_id(ext).is_some() {
                    return reason(409, "A job with this externalId already exists");
                }
                let mut job = json!({"id": uuid::Uuid::new_v4().to_string(), "managerId": null});
                for k in JOB_FIELDS {
                    if let Some(v) = body.get(*k) {
                        job[*k] = v.clone();
                    }
                }
                job["updatedAt"] = json!(chrono::Utc::now().timestamp_millis());
                d.jobs.push(job.clone());
                Resp::json(201, &json!({"data": job}))
            }
            ("GET", ["v1", "jobs", id]) => match d.jobs.iter().find(|j| j["id"] == *id) {
                Some(j) => Resp::json(200, &json!({"data": j})),
                None => reason(404, "Not found"),
            },
            ("PUT", ["v1", "jobs", id]) => {
                let Some(body) = req.json().filter(|b| b.is_object()) else {
                    return reason(400, "Invalid JSON body");
                };
                let Some(job) = d.job_mut(id) else {
                    return reason(404, "Not found");
                };
                // Fields not sent are kept, so a managerId set in The Org survives our updates.
                for k in JOB_FIELDS {
                    if let Some(v) = body.get(*k) {
                        if *k == "managerId" && v.is_null() {
                            continue;
                        }
                        job[*k] = v.clone();
                    }
                }
                job["updatedAt"] = json!(chrono::Utc::now().timestamp_millis());
                let out = job.clone();
                Resp::json(200, &json!({"data": out}))
            }
            ("DELETE", ["v1", "jobs", id]) => {
                let before = d.jobs.len();
                d.jobs.retain(|j| j["id"] != *id);
                if d.jobs.len() == before {
                    reason(404, "Not found")
                } else {
                    Resp::empty(204)
                }
            }
            _ => reason(404, "Not found"),
        }
    }
}
