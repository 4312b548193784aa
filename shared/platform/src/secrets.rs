//! Vendor credentials: one JSON secret per vendor, from AWS Secrets Manager or, for local runs, from
//! the environment (`LEVER_SECRET_JSON`, ...) or a file (`SECRETS_FILE`). Cached per container with
//! a short TTL so that a rotated secret is picked up without a redeploy.

use crate::config::Config;
use crate::secret::Secret;
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which vendor's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretName {
    Lever,
    Namely,
    Lessonly,
    Litmos,
    TheOrg,
}

impl SecretName {
    /// The key of this secret in a `SECRETS_FILE` and the prefix of its environment variables.
    pub fn key(self) -> &'static str {
        match self {
            SecretName::Lever => "lever",
            SecretName::Namely => "namely",
            SecretName::Lessonly => "lessonly",
            SecretName::Litmos => "litmos",
            SecretName::TheOrg => "theorg",
        }
    }

    fn env_prefix(self) -> &'static str {
        match self {
            SecretName::Lever => "LEVER",
            SecretName::Namely => "NAMELY",
            SecretName::Lessonly => "LESSONLY",
            SecretName::Litmos => "LITMOS",
            SecretName::TheOrg => "THEORG",
        }
    }

    /// `{"api_key": ...}`-style example shown when the secret is missing or malformed.
    fn shape(self) -> &'static str {
        match self {
            SecretName::Lever => r#"{"api_key": "...", "webhook_signature_tokens": ["..."]}"#,
            SecretName::Namely => r#"{"company": "acme", "token": "...", "expires_on": "2027-01-31"}"#,
            SecretName::Lessonly => r#"{"subdomain": "acme", "api_key": "..."}"#,
            SecretName::Litmos => r#"{"api_key": "...", "source": "acme-hr-bundle"}"#,
            SecretName::TheOrg => r#"{"api_key": "..."}"#,
        }
    }
}

/// `lever` secret.
#[derive(Debug, Clone, Deserialize)]
pub struct LeverSecret {
    pub api_key: Secret,
    /// One token per Lever webhook (hired, stage change...); a delivery signed by any of them is accepted.
    #[serde(default)]
    pub webhook_signature_tokens: Vec<Secret>,
}

/// `namely` secret.
#[derive(Debug, Clone, Deserialize)]
pub struct NamelySecret {
    /// The subdomain: `acme` for `acme.namely.com`.
    pub company: String,
    pub token: Secret,
    /// Namely personal access tokens expire; the admin can record when, to be warned in time.
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
}

/// How many days before a Namely token's `expires_on` the functions start warning.
pub const NAMELY_EXPIRY_WARNING_DAYS: i64 = 30;

impl NamelySecret {
    /// A warning for the admin when the token expires within [`NAMELY_EXPIRY_WARNING_DAYS`].
    pub fn expiry_warning(&self, today: NaiveDate) -> Option<String> {
        let expires = self.expires_on?;
        let days = (expires - today).num_days();
        if days < 0 {
            Some(format!(
                "the Namely token expired on {expires}; create a new one in Namely and update the namely secret"
            ))
        } else if days <= NAMELY_EXPIRY_WARNING_DAYS {
            Some(format!(
                "the Namely token expires on {expires} ({days} days); rotate it in the namely secret before then"
            ))
        } else {
            None
        }
    }
}

/// `lessonly` secret.
#[derive(Debug, Clone, Deserialize)]
pub struct LessonlySecret {
    pub subdomain: String,
    pub api_key: Secret,
}

/// `litmos` secret.
#[derive(Debug, Clone, Deserialize)]
pub struct LitmosSecret {
    pub api_key: Secret,
    /// Litmos requires a `source` query parameter naming the integration on every call.
    pub source: String,
}

/// `theorg` secret.
#[derive(Debug, Clone, Deserialize)]
pub struct TheOrgSecret {
    pub api_key: Secret,
}

/// Why a secret could not be read. Messages name the secret and what to fix, never its value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("no {name} secret is configured: set {prefix}_SECRET_ID (AWS Secrets Manager), or for a local run {prefix}_SECRET_JSON or SECRETS_FILE, holding {shape}")]
    NotConfigured { name: &'static str, prefix: &'static str, shape: &'static str },
    #[error("the {name} secret from {source_desc} is not usable: {reason}. Expected {shape}")]
    Malformed { name: &'static str, source_desc: String, reason: String, shape: &'static str },
    #[error("could not read the {name} secret '{id}' from AWS Secrets Manager: {reason}")]
    SecretsManager { name: &'static str, id: String, reason: String, retryable: bool },
    #[error("could not read the secrets file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("the secrets file {path} (SECRETS_FILE) has no \"{name}\" entry: add \"{name}\": {shape} to it, or set {prefix}_SECRET_JSON or {prefix}_SECRET_ID")]
    NotInFile { name: &'static str, prefix: &'static str, path: PathBuf, shape: &'static str },
}

impl SecretError {
    /// True when trying again later may succeed (throttling, network), false when a person must act.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SecretError::SecretsManager { retryable: true, .. })
    }
}

/// A secret's JSON and where it came from, as fetched at `Instant`.
type Cached = (Instant, serde_json::Value, String);

/// Reads and caches the vendor secrets.
pub struct SecretStore {
    config: Config,
    env: HashMap<SecretName, String>,
    client: Option<aws_sdk_secretsmanager::Client>,
    cache: Mutex<HashMap<SecretName, Cached>>,
    ttl: Duration,
}

impl SecretStore {
    /// A store reading the process environment for inline secrets and, when given, AWS Secrets Manager.
    pub fn new(config: &Config, sdk: Option<&aws_config::SdkConfig>) -> SecretStore {
        SecretStore::with_lookup(config, sdk, |k| std::env::var(k).ok())
    }

    /// As [`SecretStore::new`] with an explicit variable lookup (for tests).
    pub fn with_lookup(
        config: &Config,
        sdk: Option<&aws_config::SdkConfig>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> SecretStore {
        let names =
            [SecretName::Lever, SecretName::Namely, SecretName::Lessonly, SecretName::Litmos, SecretName::TheOrg];
        let env = names
            .into_iter()
            .filter_map(|n| {
                lookup(&format!("{}_SECRET_JSON", n.env_prefix())).filter(|v| !v.trim().is_empty()).map(|v| (n, v))
            })
            .collect();
        SecretStore {
            config: config.clone(),
            env,
            client: sdk.map(aws_sdk_secretsmanager::Client::new),
            cache: Mutex::new(HashMap::new()),
            ttl: config.secret_ttl,
        }
    }

    pub async fn lever(&self) -> Result<LeverSecret, SecretError> {
        self.get(SecretName::Lever).await
    }

    /// The Namely secret; logs a warning when its token is about to expire.
    pub async fn namely(&self) -> Result<NamelySecret, SecretError> {
        let secret: NamelySecret = self.get(SecretName::Namely).await?;
        if let Some(warning) = secret.expiry_warning(chrono::Utc::now().date_naive()) {
            tracing::warn!(secret = "namely", "{warning}");
        }
        Ok(secret)
    }

    pub async fn lessonly(&self) -> Result<LessonlySecret, SecretError> {
        self.get(SecretName::Lessonly).await
    }

    pub async fn litmos(&self) -> Result<LitmosSecret, SecretError> {
        self.get(SecretName::Litmos).await
    }

    pub async fn theorg(&self) -> Result<TheOrgSecret, SecretError> {
        self.get(SecretName::TheOrg).await
    }

    /// Forgets cached values, so the next read goes back to the source (after a 401, say).
    pub fn invalidate(&self) {
        self.lock_cache().clear();
    }

    async fn get<T: DeserializeOwned>(&self, name: SecretName) -> Result<T, SecretError> {
        let (value, source_desc) = self.raw(name).await?;
        parse_secret(name, value, &source_desc)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<SecretName, Cached>> {
        // A poisoned cache only means another thread panicked mid-insert; the map is still usable.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The secret's JSON and a description of where it came from, for messages.
    async fn raw(&self, name: SecretName) -> Result<(serde_json::Value, String), SecretError> {
        if let Some((at, value, source_desc)) = self.lock_cache().get(&name) {
            if at.elapsed() < self.ttl {
                return Ok((value.clone(), source_desc.clone()));
            }
        }
        let (value, source_desc) = self.fetch(name).await?;
        self.lock_cache().insert(name, (Instant::now(), value.clone(), source_desc.clone()));
        Ok((value, source_desc))
    }

    fn secret_id(&self, name: SecretName) -> Option<&String> {
        let ids = &self.config.secret_ids;
        match name {
            SecretName::Lever => ids.lever.as_ref(),
            SecretName::Namely => ids.namely.as_ref(),
            SecretName::Lessonly => ids.lessonly.as_ref(),
            SecretName::Litmos => ids.litmos.as_ref(),
            SecretName::TheOrg => ids.theorg.as_ref(),
        }
    }

    /// Reads the secret from the first source that has it: the inline variable, the secrets file,
    /// then Secrets Manager (a file without this vendor's key falls through to Secrets Manager).
    async fn fetch(&self, name: SecretName) -> Result<(serde_json::Value, String), SecretError> {
        if let Some(text) = self.env.get(&name) {
            let source_desc = format!("{}_SECRET_JSON", name.env_prefix());
            return parse_json(name, text, &source_desc).map(|value| (value, source_desc));
        }
        if let Some(path) = &self.config.secrets_file {
            if let Some(value) = file_entry(name, path)? {
                return Ok((value, format!("SECRETS_FILE {} (key \"{}\")", path.display(), name.key())));
            }
        }
        let (Some(id), Some(client)) = (self.secret_id(name), &self.client) else {
            if let Some(path) = &self.config.secrets_file {
                return Err(SecretError::NotInFile {
                    name: name.key(),
                    prefix: name.env_prefix(),
                    path: path.clone(),
                    shape: name.shape(),
                });
            }
            return Err(SecretError::NotConfigured {
                name: name.key(),
                prefix: name.env_prefix(),
                shape: name.shape(),
            });
        };
        let source_desc = format!("AWS Secrets Manager '{id}'");
        let answer = client.get_secret_value().secret_id(id).send().await.map_err(|e| {
            use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
            let service = e.as_service_error();
            // AWS's own message names the problem (never the value), e.g. "marked for deletion".
            let aws_message = service.and_then(|s| s.message()).unwrap_or("no details");
            let (reason, retryable) = match service.and_then(|s| s.code()) {
                Some("ResourceNotFoundException") => {
                    ("no such secret; check the secret id and region".to_string(), false)
                }
                Some("AccessDeniedException") => {
                    ("access denied; the function's role may not read this secret".to_string(), false)
                }
                Some("DecryptionFailure") => ("the secret cannot be decrypted with its KMS key".to_string(), false),
                Some("InvalidRequestException") => (
                    format!(
                        "the secret cannot be read in its current state ({aws_message}); \
                         a secret scheduled for deletion must be restored first"
                    ),
                    false,
                ),
                Some(
                    code @ ("ThrottlingException"
                    | "TooManyRequestsException"
                    | "RequestLimitExceeded"
                    | "InternalServiceError"
                    | "InternalFailure"
                    | "ServiceUnavailable"),
                ) => (format!("{code}; try again later"), true),
                // Anything else is a request AWS refuses as such; repeating it will not help.
                Some(code) => (format!("{code}: {aws_message}"), false),
                // No answer at all: a network failure or a timeout.
                None => (crate::aws::error_chain(&e), true),
            };
            SecretError::SecretsManager { name: name.key(), id: id.clone(), reason, retryable }
        })?;
        let Some(text) = answer.secret_string() else {
            return Err(SecretError::Malformed {
                name: name.key(),
                source_desc,
                reason: "it has no SecretString (binary secrets are not supported)".into(),
                shape: name.shape(),
            });
        };
        parse_json(name, text, &source_desc).map(|value| (value, source_desc))
    }
}

/// This vendor's entry in the secrets file, if it has one.
fn file_entry(name: SecretName, path: &Path) -> Result<Option<serde_json::Value>, SecretError> {
    let file_error = |reason: String| SecretError::File { path: path.to_path_buf(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let all: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| file_error(format!("not valid JSON (line {}, column {})", e.line(), e.column())))?;
    Ok(all.get(name.key()).cloned())
}

fn parse_json(name: SecretName, text: &str, source_desc: &str) -> Result<serde_json::Value, SecretError> {
    serde_json::from_str(text).map_err(|e| SecretError::Malformed {
        name: name.key(),
        source_desc: source_desc.to_string(),
        // Only the position: serde's message could quote the secret's text.
        reason: format!("not valid JSON (line {}, column {})", e.line(), e.column()),
        shape: name.shape(),
    })
}

fn parse_secret<T: DeserializeOwned>(
    name: SecretName,
    value: serde_json::Value,
    source_desc: &str,
) -> Result<T, SecretError> {
    serde_json::from_value(value).map_err(|e| {
        let message = e.to_string();
        // "missing field `token`" is safe to show; "invalid type: string \"...\"" would quote a value.
        let reason = if message.starts_with("missing field") {
            message
        } else {
            "a field has the wrong type (every value is text, except webhook_signature_tokens, a list of text)"
                .to_string()
        };
        SecretError::Malformed { name: name.key(), source_desc: source_desc.to_string(), reason, shape: name.shape() }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(vars: &[(&str, &str)]) -> SecretStore {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let config = Config::from_lookup(|k| map.get(k).cloned()).unwrap();
        SecretStore::with_lookup(&config, None, |k| map.get(k).cloned())
    }

    #[tokio::test]
    async fn inline_json_secrets_are_read_and_redacted() {
        let s = store(&[("NAMELY_SECRET_JSON", r#"{"company":"acme","token":"tok-very-secret"}"#)]);
        let namely = s.namely().await.unwrap();
        assert_eq!(namely.company, "acme");
        assert_eq!(namely.token.expose(), "tok-very-secret");
        assert!(!format!("{namely:?}").contains("tok-very-secret"));
    }

    #[tokio::test]
    async fn a_missing_secret_says_how_to_configure_it() {
        let err = store(&[]).litmos().await.unwrap_err().to_string();
        assert!(err.contains("LITMOS_SECRET_ID"), "{err}");
        assert!(err.contains("\"source\""), "{err}");
    }

    #[tokio::test]
    async fn malformed_secrets_never_echo_their_value() {
        let s = store(&[
            ("LESSONLY_SECRET_JSON", r#"{"subdomain": 12, "api_key": "key-very-secret"}"#),
            ("THEORG_SECRET_JSON", r#"{"api_key": "key-very-secret""#),
            ("LEVER_SECRET_JSON", r#"{"webhook_signature_tokens": []}"#),
        ]);
        let err = s.lessonly().await.unwrap_err().to_string();
        assert!(err.contains("wrong type") && !err.contains("very-secret"), "{err}");
        let err = s.theorg().await.unwrap_err().to_string();
        assert!(err.contains("not valid JSON") && !err.contains("very-secret"), "{err}");
        let err = s.lever().await.unwrap_err().to_string();
        assert!(err.contains("missing field `api_key`"), "{err}");
    }

    #[tokio::test]
    async fn secrets_file_holds_every_vendor_by_key() {
        let dir = std::env::temp_dir().join(format!("secrets-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secrets.json");
        std::fs::write(&path, r#"{"theorg": {"api_key": "k1"}, "litmos": {"api_key": "k2", "source": "src"}}"#)
            .unwrap();
        let s = store(&[("SECRETS_FILE", path.to_str().unwrap())]);
        assert_eq!(s.theorg().await.unwrap().api_key.expose(), "k1");
        assert_eq!(s.litmos().await.unwrap().source, "src");
        let missing = s.lever().await.unwrap_err();
        assert!(matches!(missing, SecretError::NotInFile { .. }), "{missing}");
        let message = missing.to_string();
        assert!(message.contains(&path.display().to_string()) && message.contains("no \"lever\" entry"), "{message}");
        assert!(message.contains("\"webhook_signature_tokens\""), "says what to add: {message}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn namely_expiry_warns_thirty_days_ahead() {
        let secret = |d: &str| NamelySecret {
            company: "acme".into(),
            token: Secret::new("t"),
            expires_on: Some(d.parse().unwrap()),
        };
        let today: NaiveDate = "2026-11-23".parse().unwrap();
        assert!(secret("2027-01-01").expiry_warning(today).is_none());
        assert!(secret("2026-12-01").expiry_warning(today).unwrap().contains("8 days"));
        assert!(secret("2026-12-20").expiry_warning(today).unwrap().contains("27 days"));
        assert!(secret("2026-11-01").expiry_warning(today).unwrap().contains("expired"));
    }
}
