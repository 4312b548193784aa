//! The Lessonly sync's settings, read from the environment (template parameters in AWS).

use mapping::lessonly::SyncSettings;
use platform::ConfigError;

/// Everything an admin chooses about the Namely → Lessonly sync.
#[derive(Debug, Clone)]
pub struct LessonlySettings {
    /// Standard fields, custom groups and custom user fields.
    pub sync: SyncSettings,
    /// The role new users get (`learner` unless configured otherwise).
    pub new_user_role: String,
    /// Whether Lessonly e-mails new users an invitation.
    pub send_invites: bool,
    /// How long one invocation works before it saves its place and leaves the rest to the next.
    pub time_budget: std::time::Duration,
}

pub const ROLES: &[&str] = &["learner", "creator", "manager", "admin"];

impl LessonlySettings {
    pub fn from_env() -> Result<LessonlySettings, ConfigError> {
        LessonlySettings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`; blank values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<LessonlySettings, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let fields = get("LESSONLY_SYNC_FIELDS").unwrap_or_else(|| "all".into());
        let groups = get("LESSONLY_GROUPS_FROM").unwrap_or_else(|| "department".into());
        let custom = get("LESSONLY_CUSTOM_FIELDS").unwrap_or_default();
        // Each text is parsed alone first, so the error names the variable that is wrong.
        SyncSettings::parse(&fields, "none", "")
            .map_err(|reason| ConfigError { name: "LESSONLY_SYNC_FIELDS", reason })?;
        SyncSettings::parse("none", &groups, "")
            .map_err(|reason| ConfigError { name: "LESSONLY_GROUPS_FROM", reason })?;
        let sync = SyncSettings::parse(&fields, &groups, &custom)
            .map_err(|reason| ConfigError { name: "LESSONLY_CUSTOM_FIELDS", reason })?;
        let new_user_role = get("LESSONLY_NEW_USER_ROLE").unwrap_or_else(|| "learner".into()).to_lowercase();
        if !ROLES.contains(&new_user_role.as_str()) {
            return Err(ConfigError {
                name: "LESSONLY_NEW_USER_ROLE",
                reason: format!("'{new_user_role}' is not a Lessonly role: use one of {}", ROLES.join(", ")),
            });
        }
        let send_invites = match get("LESSONLY_SEND_INVITES").map(|v| v.to_lowercase()).as_deref() {
            None | Some("false") | Some("no") | Some("0") => false,
            Some("true") | Some("yes") | Some("1") => true,
            Some(other) => {
                return Err(ConfigError {
                    name: "LESSONLY_SEND_INVITES",
                    reason: format!("'{other}' is not true or false"),
                })
            }
        };
        let time_budget =
            platform::config::time_budget("LESSONLY_TIME_BUDGET_SECONDS", get("LESSONLY_TIME_BUDGET_SECONDS"))?;
        Ok(LessonlySettings { sync, new_user_role, send_invites, time_budget })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mapping::lessonly::StandardField;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<LessonlySettings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        LessonlySettings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_sync_every_field_department_groups_and_learners_without_invites() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.sync.fields.len(), StandardField::ALL.len());
        assert!(s.sync.groups_from.department && !s.sync.groups_from.job_tier);
        assert!(s.sync.custom_fields.is_empty());
        assert_eq!((s.new_user_role.as_str(), s.send_invites), ("learner", false));
        assert_eq!(s.time_budget, platform::config::DEFAULT_TIME_BUDGET);
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        assert_eq!(settings(&[("LESSONLY_SYNC_FIELDS", "shoe_size")]).unwrap_err().name, "LESSONLY_SYNC_FIELDS");
        assert_eq!(settings(&[("LESSONLY_GROUPS_FROM", "team")]).unwrap_err().name, "LESSONLY_GROUPS_FROM");
        assert_eq!(settings(&[("LESSONLY_NEW_USER_ROLE", "boss")]).unwrap_err().name, "LESSONLY_NEW_USER_ROLE");
        assert_eq!(settings(&[("LESSONLY_SEND_INVITES", "maybe")]).unwrap_err().name, "LESSONLY_SEND_INVITES");
        let budget = settings(&[("LESSONLY_TIME_BUDGET_SECONDS", "900")]).unwrap_err();
        assert_eq!(budget.name, "LESSONLY_TIME_BUDGET_SECONDS");
        assert!(budget.reason.contains("between 1 and 880"), "{}", budget.reason);
    }

    #[test]
    fn chosen_fields_groups_and_custom_fields_are_read() {
        let s = settings(&[
            ("LESSONLY_SYNC_FIELDS", "name, job_title"),
            ("LESSONLY_GROUPS_FROM", "department,job_tier"),
            ("LESSONLY_CUSTOM_FIELDS", "employee_id, division:Division"),
            ("LESSONLY_SEND_INVITES", "yes"),
        ])
        .unwrap();
        assert_eq!(s.sync.fields, vec![StandardField::Name, StandardField::JobTitle]);
        assert!(s.sync.groups_from.department && s.sync.groups_from.job_tier);
        assert_eq!(s.sync.custom_fields.len(), 2);
        assert!(s.send_invites);
    }
}
