//! Configuration from the environment. Every vendor base URL and the AWS endpoint can be pointed
//! anywhere, so a test harness or an operator can aim any function at a sandbox.

use std::path::PathBuf;
use std::time::Duration;

/// Production base URLs, used when the matching `*_API_URL` variable is unset or empty.
pub const LEVER_API_URL: &str = "https://api.lever.co/v1";
/// Namely's URL depends on the company subdomain held in the Namely secret.
pub const NAMELY_API_URL: &str = "https://{company}.namely.com/api/v1";
pub const LESSONLY_API_URL: &str = "https://api.lessonly.com/api";
pub const LITMOS_API_URL: &str = "https://api.litmos.com/v1.svc";
pub const THEORG_API_URL: &str = "https://api.theorg.com";

/// How long run records and outcomes are kept before DynamoDB's TTL removes them.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// How long a secret is cached in a warm container; short so that rotation takes effect quickly.
pub const DEFAULT_SECRET_TTL: Duration = Duration::from_secs(300);

/// A setting that is present but unusable.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("configuration variable {name} is invalid: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

/// 13 minutes: how long a sync invocation works by default, inside Lambda's 15-minute limit with
/// room to save its place.
pub const DEFAULT_TIME_BUDGET: std::time::Duration = std::time::Duration::from_secs(780);

/// A sync's time budget from the variable `name` (seconds, 1 to 880); unset is the default.
pub fn time_budget(name: &'static str, value: Option<String>) -> Result<std::time::Duration, ConfigError> {
    let Some(value) = value else { return Ok(DEFAULT_TIME_BUDGET) };
    match value.parse::<u64>() {
        Ok(secs) if (1..=880).contains(&secs) => Ok(std::time::Duration::from_secs(secs)),
        _ => Err(ConfigError {
            name,
            reason: format!("'{value}' is not a number of seconds between 1 and 880 (Lambda stops at 900)"),
        }),
    }
}

/// A vendor's base URL, or why the configured one cannot be used. Kept until a client for that
/// vendor is built, so that a bad URL stops only what calls that vendor.
pub type ApiUrl = Result<String, ConfigError>;

/// Where each vendor lives, where the secrets are, and where runs are recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub lever_api_url: ApiUrl,
    /// May contain `{company}`, replaced by the company from the Namely secret.
    pub namely_api_url: ApiUrl,
    pub lessonly_api_url: ApiUrl,
    pub litmos_api_url: ApiUrl,
    pub theorg_api_url: ApiUrl,
    pub secret_ids: SecretIds,
    /// A JSON file holding every vendor's secret by name, for local runs (`SECRETS_FILE`).
    pub secrets_file: Option<PathBuf>,
    pub secret_ttl: Duration,
    /// The DynamoDB table of the run log (`RUNS_TABLE`); when unset the embedded store is used.
    pub runs_table: Option<String>,
    /// The embedded store's file (`LOCAL_STORE_PATH`).
    pub local_store_path: PathBuf,
    pub retention_days: u32,
    /// Client-side rate limits that replace the vendors' published ones (`LEVER_RATE_LIMIT`, ...).
    pub rate_limits: RateLimits,
    /// The SQS queue the hire webhook hands hires to (`HIRE_QUEUE_URL`); when unset (local runs)
    /// the webhook transfers each hire itself before it answers.
    pub hire_queue_url: Option<String>,
    /// Time allowed for one vendor request, answer included (`VENDOR_TIMEOUT_SECONDS`); `None`
    /// keeps the connectors' default. A slower answer counts as a timeout and is retried like a 5xx.
    pub vendor_timeout: Option<Duration>,
}

/// Per-vendor rate-limit overrides; `None` keeps the vendor's published rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimits {
    pub lever: Option<RateSetting>,
    pub namely: Option<RateSetting>,
    pub lessonly: Option<RateSetting>,
    pub litmos: Option<RateSetting>,
    pub theorg: Option<RateSetting>,
    /// How many containers of this function may call a vendor at once (`RATE_LIMIT_SHARE`, 1 to
    /// 100, default 1): each keeps to its share of every limit, so together they stay within it.
    pub share: u32,
}

/// A rate written as `10/s`, `100/min`, optionally with a burst: `10/s,burst=20`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSetting {
    pub count: u32,
    pub per_minute: bool,
    /// Requests that may go out back to back; `None` keeps the vendor's default burst.
    pub burst: Option<u32>,
}

impl std::str::FromStr for RateSetting {
    type Err = String;

    fn from_str(text: &str) -> Result<RateSetting, String> {
        let wrong = || format!("'{text}' is not a rate: write e.g. 10/s, 100/min or 10/s,burst=20");
        let (rate, burst) = match text.split_once(',') {
            Some((rate, burst)) => (rate.trim(), Some(burst.trim())),
            None => (text.trim(), None),
        };
        let (count, period) = rate.split_once('/').ok_or_else(wrong)?;
        let count: u32 = count.trim().parse().map_err(|_| wrong())?;
        let per_minute = match period.trim() {
            "s" | "sec" | "second" => false,
            "m" | "min" | "minute" => true,
            _ => return Err(wrong()),
        };
        let burst = match burst {
            None => None,
            Some(b) => Some(b.strip_prefix("burst=").and_then(|n| n.trim().parse::<u32>().ok()).ok_or_else(wrong)?),
        };
        if count == 0 || burst == Some(0) {
            return Err(format!("'{text}' would stop every request; the rate and burst must be at least 1"));
        }
        Ok(RateSetting { count, per_minute, burst })
    }
}

/// The Secrets Manager id (name or ARN) of each vendor's secret.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretIds {
    pub lever: Option<String>,
    pub namely: Option<String>,
    pub lessonly: Option<String>,
    pub litmos: Option<String>,
    pub theorg: Option<String>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can supply a map instead of the environment.
    /// Empty values count as unset (SAM passes empty strings for blank parameters).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let url = |name: &'static str, default: &str| -> ApiUrl {
            let value = get(name).unwrap_or_else(|| default.to_string());
            if !(value.starts_with("http://") || value.starts_with("https://")) {
                return Err(ConfigError { name, reason: format!("'{value}' is not an http(s) URL") });
            }
            Ok(value.trim_end_matches('/').to_string())
        };
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => {
                    v.parse::<u64>().map_err(|_| ConfigError { name, reason: format!("'{v}' is not a whole number") })
                }
            }
        };
        let seconds = |name: &'static str| -> Result<Option<Duration>, ConfigError> {
            let Some(v) = get(name) else { return Ok(None) };
            match v.parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 && s <= 900.0 => Ok(Some(Duration::from_secs_f64(s))),
                _ => Err(ConfigError {
                    name,
                    reason: format!("'{v}' is not a number of seconds above 0 and at most 900"),
                }),
            }
        };
        let default_store = if get("AWS_LAMBDA_FUNCTION_NAME").is_some() {
            // The only writable place inside Lambda.
            PathBuf::from("/tmp/hr-bundle/runs.sqlite3")
        } else {
            PathBuf::from(".hr-bundle/runs.sqlite3")
        };
        let retention_days = number("RUN_LOG_RETENTION_DAYS", DEFAULT_RETENTION_DAYS.into())?;
        let rate = |name: &'static str| -> Result<Option<RateSetting>, ConfigError> {
            get(name).map(|v| v.parse::<RateSetting>().map_err(|reason| ConfigError { name, reason })).transpose()
        };
        Ok(Config {
            lever_api_url: url("LEVER_API_URL", LEVER_API_URL),
            namely_api_url: url("NAMELY_API_URL", NAMELY_API_URL),
            lessonly_api_url: url("LESSONLY_API_URL", LESSONLY_API_URL),
            litmos_api_url: url("LITMOS_API_URL", LITMOS_API_URL),
            theorg_api_url: url("THEORG_API_URL", THEORG_API_URL),
            secret_ids: SecretIds {
                lever: get("LEVER_SECRET_ID"),
                namely: get("NAMELY_SECRET_ID"),
                lessonly: get("LESSONLY_SECRET_ID"),
                litmos: get("LITMOS_SECRET_ID"),
                theorg: get("THEORG_SECRET_ID"),
            },
            secrets_file: get("SECRETS_FILE").map(PathBuf::from),
            secret_ttl: Duration::from_secs(number("SECRET_CACHE_SECONDS", DEFAULT_SECRET_TTL.as_secs())?),
            runs_table: get("RUNS_TABLE"),
            local_store_path: get("LOCAL_STORE_PATH").map(PathBuf::from).unwrap_or(default_store),
            retention_days: u32::try_from(retention_days)
                .map_err(|_| ConfigError { name: "RUN_LOG_RETENTION_DAYS", reason: "too large".into() })?,
            rate_limits: RateLimits {
                lever: rate("LEVER_RATE_LIMIT")?,
                namely: rate("NAMELY_RATE_LIMIT")?,
                lessonly: rate("LESSONLY_RATE_LIMIT")?,
                litmos: rate("LITMOS_RATE_LIMIT")?,
                theorg: rate("THEORG_RATE_LIMIT")?,
                share: match number("RATE_LIMIT_SHARE", 1)? {
                    share @ 1..=100 => share as u32,
                    other => {
                        return Err(ConfigError {
                            name: "RATE_LIMIT_SHARE",
                            reason: format!("{other} is not between 1 and 100"),
                        })
                    }
                },
            },
            hire_queue_url: get("HIRE_QUEUE_URL"),
            vendor_timeout: seconds("VENDOR_TIMEOUT_SECONDS")?,
        })
    }

    /// Namely's base URL for a company: `{company}` in the configured URL is replaced.
    pub fn namely_url_for(&self, company: &str) -> ApiUrl {
        self.namely_api_url.as_ref().map(|url| url.replace("{company}", company)).map_err(Clone::clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_production_urls_and_the_embedded_store() {
        let c = config(&[]).unwrap();
        assert_eq!(c.lever_api_url.as_deref(), Ok("https://api.lever.co/v1"));
        assert_eq!(c.namely_url_for("acme").as_deref(), Ok("https://acme.namely.com/api/v1"));
        assert_eq!(c.lessonly_api_url.as_deref(), Ok(LESSONLY_API_URL));
        assert_eq!(c.litmos_api_url.as_deref(), Ok(LITMOS_API_URL));
        assert_eq!(c.theorg_api_url.as_deref(), Ok(THEORG_API_URL));
        assert_eq!(c.runs_table, None);
        assert_eq!(c.retention_days, 90);
        assert_eq!(c.local_store_path, PathBuf::from(".hr-bundle/runs.sqlite3"));
        assert_eq!(c.hire_queue_url, None);
        assert_eq!(c.vendor_timeout, None);
    }

    #[test]
    fn the_vendor_timeout_is_seconds_fractions_allowed() {
        let c = config(&[("VENDOR_TIMEOUT_SECONDS", "0.5")]).unwrap();
        assert_eq!(c.vendor_timeout, Some(Duration::from_millis(500)));
        assert_eq!(config(&[("VENDOR_TIMEOUT_SECONDS", "10")]).unwrap().vendor_timeout, Some(Duration::from_secs(10)));
        for bad in ["0", "-1", "soon", "901"] {
            assert_eq!(config(&[("VENDOR_TIMEOUT_SECONDS", bad)]).unwrap_err().name, "VENDOR_TIMEOUT_SECONDS", "{bad}");
        }
    }

    #[test]
    fn every_url_and_id_can_be_overridden_and_blank_means_unset() {
        let c = config(&[
            ("LEVER_API_URL", "http://127.0.0.1:1/lever/"),
            ("NAMELY_API_URL", "http://127.0.0.1:2/namely"),
            ("LESSONLY_API_URL", "http://127.0.0.1:3"),
            ("LITMOS_API_URL", "http://127.0.0.1:4"),
            ("THEORG_API_URL", "http://127.0.0.1:5"),
            ("LEVER_SECRET_ID", "hr/lever"),
            ("NAMELY_SECRET_ID", " "),
            ("RUNS_TABLE", "runs"),
            ("RUN_LOG_RETENTION_DAYS", "30"),
            ("AWS_LAMBDA_FUNCTION_NAME", "f"),
        ])
        .unwrap();
        assert_eq!(c.lever_api_url.as_deref(), Ok("http://127.0.0.1:1/lever"));
        assert_eq!(c.namely_url_for("acme").as_deref(), Ok("http://127.0.0.1:2/namely"));
        assert_eq!(c.theorg_api_url.as_deref(), Ok("http://127.0.0.1:5"));
        assert_eq!(c.secret_ids.lever.as_deref(), Some("hr/lever"));
        assert_eq!(c.secret_ids.namely, None);
        assert_eq!(c.runs_table.as_deref(), Some("runs"));
        assert_eq!(c.retention_days, 30);
        assert_eq!(c.local_store_path, PathBuf::from("/tmp/hr-bundle/runs.sqlite3"));
    }

    #[test]
    fn a_rate_limit_share_is_a_small_whole_number() {
        assert_eq!(config(&[]).unwrap().rate_limits.share, 1);
        assert_eq!(config(&[("RATE_LIMIT_SHARE", "2")]).unwrap().rate_limits.share, 2);
        for bad in ["0", "101", "two"] {
            assert_eq!(config(&[("RATE_LIMIT_SHARE", bad)]).unwrap_err().name, "RATE_LIMIT_SHARE", "{bad}");
        }
    }

    #[test]
    fn rate_limits_are_read_per_vendor() {
        let c = config(&[("LEVER_RATE_LIMIT", "5/s,burst=8"), ("LITMOS_RATE_LIMIT", "60/min")]).unwrap();
        assert_eq!(c.rate_limits.lever, Some(RateSetting { count: 5, per_minute: false, burst: Some(8) }));
        assert_eq!(c.rate_limits.litmos, Some(RateSetting { count: 60, per_minute: true, burst: None }));
        assert_eq!(c.rate_limits.namely, None);
        for bad in ["fast", "10", "10/h", "0/s", "10/s,burst=0", "10/s,20"] {
            let err = config(&[("THEORG_RATE_LIMIT", bad)]).unwrap_err();
            assert_eq!(err.name, "THEORG_RATE_LIMIT", "{bad}");
        }
    }

    #[test]
    fn a_bad_vendor_url_is_kept_for_that_vendor_and_stops_nothing_else() {
        let c = config(&[("LITMOS_API_URL", "api.litmos.com"), ("NAMELY_API_URL", "namely")]).unwrap();
        let err = c.litmos_api_url.clone().unwrap_err();
        assert_eq!(err.name, "LITMOS_API_URL");
        assert!(err.to_string().contains("'api.litmos.com' is not an http(s) URL"), "{err}");
        assert_eq!(c.namely_url_for("acme").unwrap_err().name, "NAMELY_API_URL");
        assert_eq!(c.lessonly_api_url.as_deref(), Ok(LESSONLY_API_URL));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = config(&[("RUN_LOG_RETENTION_DAYS", "ninety")]).unwrap_err();
        assert!(err.to_string().contains("RUN_LOG_RETENTION_DAYS"), "{err}");
    }
}
