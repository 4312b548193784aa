//! Vendor clients built from the current secrets and kept for the container's life, so that each
//! vendor's rate limiter and connection pool span invocations. A rotated secret builds a new client.

use crate::{Connection, Deps, Error};
use connectors::lessonly::{LessonlyClient, LessonlyConfig};
use connectors::lever::{LeverClient, LeverConfig};
use connectors::litmos::{LitmosClient, LitmosConfig};
use connectors::namely::{NamelyClient, NamelyConfig};
use connectors::theorg::{TheOrgClient, TheOrgConfig};
use connectors::{RateLimit, Vendor};
use platform::{RateSetting, Secret};
use std::sync::Mutex;

/// One client per vendor, rebuilt only when the credentials it was built from change.
#[derive(Default)]
pub struct Clients {
    lever: Cached<LeverClient>,
    namely: Cached<NamelyClient>,
    lessonly: Cached<LessonlyClient>,
    litmos: Cached<LitmosClient>,
    theorg: Cached<TheOrgClient>,
}

/// A client and the credentials (kept as a [`Secret`], so never printed) it was built with.
struct Cached<C>(Mutex<Option<(Secret, C)>>);

impl<C> Default for Cached<C> {
    fn default() -> Self {
        Cached(Mutex::new(None))
    }
}

impl<C: Clone> Cached<C> {
    fn get_or_build(
        &self,
        credentials: Secret,
        build: impl FnOnce() -> Result<C, connectors::Error>,
    ) -> Result<C, Error> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((built_with, client)) = slot.as_ref() {
            if *built_with == credentials {
                return Ok(client.clone());
            }
        }
        let client = build()?;
        *slot = Some((credentials, client.clone()));
        Ok(client)
    }
}

/// The fields a client depends on, joined, so that any change rebuilds it.
fn fingerprint(parts: &[&str]) -> Secret {
    Secret::new(parts.join("\u{1f}"))
}

impl Clients {
    pub async fn lever(&self, deps: &Deps) -> Result<LeverClient, Error> {
        let secret = deps.secrets.lever().await?;
        let url = deps.config.lever_api_url.clone()?;
        self.lever.get_or_build(fingerprint(&[secret.api_key.expose(), &url]), || {
            let mut config = LeverConfig::new(secret.api_key.clone());
            config.rate_limit =
                with_override(config.rate_limit, deps.config.rate_limits.lever, deps.config.rate_limits.share);
            config.retry.request_timeout = deps.config.vendor_timeout.unwrap_or(config.retry.request_timeout);
            config.base_url = url.clone();
            LeverClient::new(config)
        })
    }

    pub async fn namely(&self, deps: &Deps) -> Result<NamelyClient, Error> {
        let secret = deps.secrets.namely().await?;
        // What admins paste varies (`acme`, `acme.namely.com`, `https://acme.namely.com/`).
        let company = connectors::namely::normalize_company(&secret.company)?;
        let url = deps.config.namely_url_for(&company)?;
        self.namely.get_or_build(fingerprint(&[secret.token.expose(), &url]), || {
            let mut config = NamelyConfig::new(company.clone(), secret.token.clone());
            config.rate_limit =
                with_override(config.rate_limit, deps.config.rate_limits.namely, deps.config.rate_limits.share);
            config.retry.request_timeout = deps.config.vendor_timeout.unwrap_or(config.retry.request_timeout);
            config.base_url = url.clone();
            NamelyClient::new(config)
        })
    }

    pub async fn lessonly(&self, deps: &Deps) -> Result<LessonlyClient, Error> {
        let secret = deps.secrets.lessonly().await?;
        let url = deps.config.lessonly_api_url.clone()?;
        self.lessonly.get_or_build(fingerprint(&[secret.api_key.expose(), &secret.subdomain, &url]), || {
            let mut config = LessonlyConfig::new(secret.subdomain.clone(), secret.api_key.clone());
            config.rate_limit =
                with_override(config.rate_limit, deps.config.rate_limits.lessonly, deps.config.rate_limits.share);
            config.retry.request_timeout = deps.config.vendor_timeout.unwrap_or(config.retry.request_timeout);
            config.base_url = url.clone();
            LessonlyClient::new(config)
        })
    }

    pub async fn litmos(&self, deps: &Deps) -> Result<LitmosClient, Error> {
        let secret = deps.secrets.litmos().await?;
        let url = deps.config.litmos_api_url.clone()?;
        self.litmos.get_or_build(fingerprint(&[secret.api_key.expose(), &secret.source, &url]), || {
            let mut config = LitmosConfig::new(secret.api_key.clone(), secret.source.clone());
            config.rate_limit =
                with_override(config.rate_limit, deps.config.rate_limits.litmos, deps.config.rate_limits.share);
            config.retry.request_timeout = deps.config.vendor_timeout.unwrap_or(config.retry.request_timeout);
            config.base_url = url.clone();
            LitmosClient::new(config)
        })
    }

    pub async fn theorg(&self, deps: &Deps) -> Result<TheOrgClient, Error> {
        let secret = deps.secrets.theorg().await?;
        let url = deps.config.theorg_api_url.clone()?;
        self.theorg.get_or_build(fingerprint(&[secret.api_key.expose(), &url]), || {
            let mut config = TheOrgConfig::new(secret.api_key.clone());
            config.rate_limit =
                with_override(config.rate_limit, deps.config.rate_limits.theorg, deps.config.rate_limits.share);
            config.retry.request_timeout = deps.config.vendor_timeout.unwrap_or(config.retry.request_timeout);
            config.base_url = url.clone();
            TheOrgClient::new(config)
        })
    }
}

/// The configured rate in place of the vendor's default, keeping the default burst when none is
/// given; then this container's `share` of it.
fn with_override(default: Option<RateLimit>, setting: Option<RateSetting>, share: u32) -> Option<RateLimit> {
    let Some(setting) = setting else { return default.map(|d| d.shared_by(share)) };
    let burst = setting.burst.or(default.map(|d| d.burst)).unwrap_or(1);
    let limit = if setting.per_minute {
        RateLimit::per_minute(setting.count, burst)
    } else {
        RateLimit::per_second(setting.count, burst)
    };
    Some(limit.shared_by(share))
}

/// The vendor behind a connection.
pub fn vendor_of(connection: Connection) -> Vendor {
    match connection {
        Connection::LeverHires | Connection::LeverPostings => Vendor::Lever,
        Connection::Namely => Vendor::Namely,
        Connection::Lessonly => Vendor::Lessonly,
        Connection::Litmos => Vendor::Litmos,
        Connection::TheOrg => Vendor::TheOrg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_rate_replaces_the_default_and_keeps_its_burst_unless_given() {
        let default = Some(RateLimit::per_second(10, 20));
        assert_eq!(with_override(default, None, 1), default);
        let slower = RateSetting { count: 2, per_minute: false, burst: None };
        assert_eq!(with_override(default, Some(slower), 1), Some(RateLimit::per_second(2, 20)));
        let per_minute = RateSetting { count: 30, per_minute: true, burst: Some(3) };
        assert_eq!(with_override(default, Some(per_minute), 1), Some(RateLimit::per_minute(30, 3)));
    }

    #[test]
    fn a_container_sharing_a_key_keeps_to_its_share_of_the_default_and_of_a_configured_rate() {
        let default = Some(RateLimit::per_second(10, 20));
        assert_eq!(with_override(default, None, 2), Some(RateLimit::per_minute(300, 10)));
        let per_minute = RateSetting { count: 100, per_minute: true, burst: Some(1) };
        assert_eq!(with_override(default, Some(per_minute), 2), Some(RateLimit::per_minute(50, 1)));
    }
}
