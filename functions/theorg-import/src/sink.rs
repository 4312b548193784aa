//! Where open roles are published: a small trait, and the shipped sink that pushes to The Org's API
//! base (`THEORG_API_URL`). The resource paths and bodies are in the README ("The Org sink").

use async_trait::async_trait;
use connectors::theorg::{JobFields, TheOrgClient};
use mapping::theorg::OpenRole;

/// Publishes open roles. Each call is one role; errors say whether retrying may help.
#[async_trait]
pub trait RoleSink: Send + Sync {
    /// Publishes a new role; returns the id the sink gave it.
    async fn create(&self, role: &OpenRole) -> Result<String, connectors::Error>;
    /// Replaces the Lever-owned fields of a published role (org-chart fields are never sent).
    async fn update(&self, job_id: &str, role: &OpenRole) -> Result<(), connectors::Error>;
    /// Takes a role down; one already gone counts as done.
    async fn remove(&self, job_id: &str) -> Result<(), connectors::Error>;
}

/// `POST/PUT/DELETE /v1/jobs` on The Org's API base, with `X-Api-Key`.
pub struct TheOrgSink(pub TheOrgClient);

/// The job body: only fields Lever owns. `managerId` is not a field here, so the manager a job was
/// placed under in the org chart survives every update.
pub fn job_fields(role: &OpenRole) -> JobFields {
    JobFields {
        external_id: role.external_id.clone(),
        title: Some(role.title.clone()),
        description: role.description.clone(),
        description_html: role.description_html.clone(),
        department: role.department.clone(),
        team: role.team.clone(),
        location: role.location.clone(),
        all_locations: role.all_locations.clone(),
        state: Some(role.state.clone()),
        created_at: role.created_at,
        url: role.url.clone(),
        apply_url: role.apply_url.clone(),
    }
}

#[async_trait]
impl RoleSink for TheOrgSink {
    async fn create(&self, role: &OpenRole) -> Result<String, connectors::Error> {
        match self.0.create_job(&job_fields(role)).await {
            Ok(job) => Ok(job.id),
            // Created by an earlier attempt whose answer was lost: adopt it instead of failing.
            Err(e) if e.is_conflict() => {
                let jobs = self.0.list_jobs().await?;
                jobs.into_iter()
                    .find(|j| j.external_id.as_deref() == Some(role.external_id.as_str()))
                    .map(|j| j.id)
                    .ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    async fn update(&self, job_id: &str, role: &OpenRole) -> Result<(), connectors::Error> {
        self.0.update_job(job_id, &job_fields(role)).await
    }

    async fn remove(&self, job_id: &str) -> Result<(), connectors::Error> {
        match self.0.delete_job(job_id).await {
            Err(e) if e.status() == Some(404) => Ok(()),
            other => other,
        }
    }
}
