//! The Org import's settings, read from the environment (template parameters in AWS).

use mapping::theorg::OpenStates;
use platform::ConfigError;

#[derive(Debug, Clone)]
pub struct TheOrgSettings {
    /// Posting states that make an open role (default: published and internal).
    pub open_states: OpenStates,
    /// The SNS topic told how an import went; none = no notification.
    pub notify_topic_arn: Option<String>,
}

impl TheOrgSettings {
    pub fn from_env() -> Result<TheOrgSettings, ConfigError> {
        TheOrgSettings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`; blank values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<TheOrgSettings, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let open_states = match get("THEORG_OPEN_STATES") {
            None => OpenStates::default(),
            Some(text) => {
                OpenStates::parse(&text).map_err(|reason| ConfigError { name: "THEORG_OPEN_STATES", reason })?
            }
        };
        let notify_topic_arn = get("THEORG_NOTIFY_TOPIC_ARN");
        if let Some(arn) = &notify_topic_arn {
            if !arn.starts_with("arn:") {
                return Err(ConfigError {
                    name: "THEORG_NOTIFY_TOPIC_ARN",
                    reason: format!("'{arn}' is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)"),
                });
            }
        }
        Ok(TheOrgSettings { open_states, notify_topic_arn })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<TheOrgSettings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        TheOrgSettings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_import_published_and_internal_postings_without_notification() {
        let s = settings(&[]).unwrap();
        assert!(s.open_states.contains("published") && s.open_states.contains("internal"));
        assert!(!s.open_states.contains("closed"));
        assert_eq!(s.notify_topic_arn, None);
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert_eq!(settings(&[("THEORG_OPEN_STATES", "open")]).unwrap_err().name, "THEORG_OPEN_STATES");
        assert_eq!(settings(&[("THEORG_NOTIFY_TOPIC_ARN", "my-topic")]).unwrap_err().name, "THEORG_NOTIFY_TOPIC_ARN");
        let s =
            settings(&[("THEORG_OPEN_STATES", "published"), ("THEORG_NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:1:t")])
                .unwrap();
        assert!(!s.open_states.contains("internal"));
    }
}
