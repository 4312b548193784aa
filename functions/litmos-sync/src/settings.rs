//! The Litmos sync's settings, read from the environment (template parameters in AWS).

use platform::ConfigError;
use std::time::Duration;

/// Everything an admin chooses about the Namely → Litmos sync.
#[derive(Debug, Clone)]
pub struct LitmosSettings {
    /// "Enable Employee Sync": when false, a run records that it was skipped and touches nothing.
    pub enabled: bool,
    /// The label of the Namely custom select field that opts an employee in.
    pub activated_field: String,
    /// How long one invocation works before it saves its place and leaves the rest to the next.
    pub time_budget: Duration,
}

pub const DEFAULT_ACTIVATED_FIELD: &str = "Litmos Activated";
pub use platform::config::DEFAULT_TIME_BUDGET;

impl LitmosSettings {
    pub fn from_env() -> Result<LitmosSettings, ConfigError> {
        LitmosSettings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`; blank values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<LitmosSettings, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let enabled = match get("LITMOS_SYNC_ENABLED").map(|v| v.to_lowercase()).as_deref() {
            None | Some("true") | Some("yes") | Some("1") => true,
            Some("false") | Some("no") | Some("0") => false,
            Some(other) => {
                return Err(ConfigError {
                    name: "LITMOS_SYNC_ENABLED",
                    reason: format!("'{other}' is not true or false"),
                })
            }
        };
        let time_budget =
            platform::config::time_budget("LITMOS_TIME_BUDGET_SECONDS", get("LITMOS_TIME_BUDGET_SECONDS"))?;
        Ok(LitmosSettings {
            enabled,
            activated_field: get("LITMOS_ACTIVATED_FIELD").unwrap_or_else(|| DEFAULT_ACTIVATED_FIELD.into()),
            time_budget,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<LitmosSettings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        LitmosSettings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_enable_the_sync_on_the_litmos_activated_field() {
        let s = settings(&[]).unwrap();
        assert!(s.enabled);
        assert_eq!(s.activated_field, "Litmos Activated");
        assert_eq!(s.time_budget, Duration::from_secs(780));
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert!(!settings(&[("LITMOS_SYNC_ENABLED", "false")]).unwrap().enabled);
        assert_eq!(settings(&[("LITMOS_SYNC_ENABLED", "perhaps")]).unwrap_err().name, "LITMOS_SYNC_ENABLED");
        assert_eq!(settings(&[("LITMOS_TIME_BUDGET_SECONDS", "0")]).unwrap_err().name, "LITMOS_TIME_BUDGET_SECONDS");
        assert_eq!(settings(&[("LITMOS_TIME_BUDGET_SECONDS", "901")]).unwrap_err().name, "LITMOS_TIME_BUDGET_SECONDS");
    }
}
