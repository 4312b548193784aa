//! The hire transfer's settings, read from the environment (template parameters in AWS).

use mapping::hire::{FieldMap, RecordType};
use platform::ConfigError;

/// What makes a hire: Lever's "archived as Hired", or reaching a chosen stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerMode {
    /// `candidateHired`, and `candidateArchiveChange` into an archive reason of type `hired`.
    OnHire,
    /// `candidateStageChange` into this stage, given by its name or its id.
    OnStage(String),
}

/// Everything an admin chooses about the hire transfer.
#[derive(Debug, Clone)]
pub struct HireSettings {
    pub trigger: TriggerMode,
    pub record_type: RecordType,
    /// Dates from Lever (epoch ms) become calendar dates in this zone.
    pub time_zone: chrono_tz::Tz,
    /// Offer and New Hire Form fields sent to Namely, on top of the built-in rules.
    pub field_map: FieldMap,
    /// The title (or template id) of the profile form that holds the new hire's details.
    pub new_hire_form: String,
    /// Attempts before a hire that keeps meeting a vendor outage is marked failed in Lever.
    pub max_attempts: u32,
    /// The Lever user the notes and tags are written as (`perform_as`); optional.
    pub perform_as: Option<String>,
    /// Webhook bodies above this size are refused with 413.
    pub max_body_bytes: usize,
    /// Deliveries triggered longer ago than this are refused (401): Lever's five retries fit well
    /// inside, a captured delivery replayed later does not.
    pub replay_window_hours: u64,
    /// The longest one hire's attempt may take, vendor calls included; well under the function
    /// timeout, so an attempt that hangs is cut short and recorded rather than killed with the
    /// invocation.
    pub attempt_budget: std::time::Duration,
}

pub const DEFAULT_NEW_HIRE_FORM: &str = "Namely New Hire Form";
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// Lever's deliveries are a few hundred bytes; anything near this is not Lever.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Lever's retry schedule is not documented; three days covers a weekend outage of this side.
pub const DEFAULT_REPLAY_WINDOW_HOURS: u64 = 72;
/// Half of the template's 120-second function timeout.
pub const DEFAULT_ATTEMPT_SECONDS: u64 = 60;

impl HireSettings {
    pub fn from_env() -> Result<HireSettings, ConfigError> {
        HireSettings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`; blank values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<HireSettings, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let trigger =
            match get("HIRE_TRIGGER").as_deref().map(str::to_lowercase).as_deref() {
                None | Some("hired") | Some("on-hire") => TriggerMode::OnHire,
                Some("stage") | Some("on-stage") => match get("HIRE_TRIGGER_STAGE") {
                    Some(stage) => TriggerMode::OnStage(stage),
                    None => return Err(ConfigError {
                        name: "HIRE_TRIGGER_STAGE",
                        reason:
                            "HIRE_TRIGGER is 'stage', so name the Lever stage (its name or id) that starts a transfer"
                                .into(),
                    }),
                },
                Some(other) => {
                    return Err(ConfigError {
                        name: "HIRE_TRIGGER",
                        reason: format!("'{other}' is not a trigger: use 'hired' or 'stage'"),
                    })
                }
            };
        let record_type = match get("NAMELY_RECORD_TYPE") {
            None => RecordType::Hris,
            Some(v) => v.parse().map_err(|reason| ConfigError { name: "NAMELY_RECORD_TYPE", reason })?,
        };
        let time_zone = match get("HIRE_TIME_ZONE") {
            None => chrono_tz::UTC,
            Some(v) => v.parse().map_err(|_| ConfigError {
                name: "HIRE_TIME_ZONE",
                reason: format!("'{v}' is not an IANA time zone such as America/New_York"),
            })?,
        };
        let field_map = match get("NAMELY_FIELD_MAP") {
            None => FieldMap::builtin(),
            Some(json) => FieldMap::with(
                FieldMap::parse(&json).map_err(|reason| ConfigError { name: "NAMELY_FIELD_MAP", reason })?,
            ),
        };
        let number = |name: &'static str, default: u64, min: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if n >= min => Ok(n),
                    _ => Err(ConfigError { name, reason: format!("'{v}' is not a whole number of at least {min}") }),
                },
            }
        };
        Ok(HireSettings {
            trigger,
            record_type,
            time_zone,
            field_map,
            new_hire_form: get("NAMELY_NEW_HIRE_FORM").unwrap_or_else(|| DEFAULT_NEW_HIRE_FORM.to_string()),
            max_attempts: u32::try_from(number("HIRE_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS.into(), 1)?)
                .unwrap_or(u32::MAX),
            perform_as: get("LEVER_PERFORM_AS"),
            max_body_bytes: usize::try_from(number("WEBHOOK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES as u64, 1024)?)
                .unwrap_or(usize::MAX),
            replay_window_hours: number("WEBHOOK_REPLAY_WINDOW_HOURS", DEFAULT_REPLAY_WINDOW_HOURS, 1)?,
            attempt_budget: std::time::Duration::from_secs(number("HIRE_ATTEMPT_SECONDS", DEFAULT_ATTEMPT_SECONDS, 1)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<HireSettings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        HireSettings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_transfer_hires_to_hris_in_utc() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.trigger, TriggerMode::OnHire);
        assert_eq!(s.record_type, RecordType::Hris);
        assert_eq!(s.time_zone, chrono_tz::UTC);
        assert_eq!(s.new_hire_form, "Namely New Hire Form");
        assert_eq!(s.field_map, FieldMap::builtin());
        assert_eq!(s.replay_window_hours, 72);
        assert_eq!(s.attempt_budget, std::time::Duration::from_secs(60));
        assert_eq!(settings(&[("HIRE_ATTEMPT_SECONDS", "0")]).unwrap_err().name, "HIRE_ATTEMPT_SECONDS");
        assert_eq!(settings(&[("WEBHOOK_REPLAY_WINDOW_HOURS", "6")]).unwrap().replay_window_hours, 6);
        assert_eq!(settings(&[("WEBHOOK_REPLAY_WINDOW_HOURS", "0")]).unwrap_err().name, "WEBHOOK_REPLAY_WINDOW_HOURS");
    }

    #[test]
    fn stage_mode_needs_a_stage_and_bad_values_name_the_variable() {
        let s = settings(&[("HIRE_TRIGGER", "stage"), ("HIRE_TRIGGER_STAGE", "Offer Accepted")]).unwrap();
        assert_eq!(s.trigger, TriggerMode::OnStage("Offer Accepted".into()));
        assert_eq!(settings(&[("HIRE_TRIGGER", "stage")]).unwrap_err().name, "HIRE_TRIGGER_STAGE");
        assert_eq!(settings(&[("HIRE_TRIGGER", "sometimes")]).unwrap_err().name, "HIRE_TRIGGER");
        assert_eq!(settings(&[("NAMELY_RECORD_TYPE", "payroll")]).unwrap_err().name, "NAMELY_RECORD_TYPE");
        assert_eq!(settings(&[("HIRE_TIME_ZONE", "Mars/Olympus")]).unwrap_err().name, "HIRE_TIME_ZONE");
        assert_eq!(settings(&[("NAMELY_FIELD_MAP", "[1]")]).unwrap_err().name, "NAMELY_FIELD_MAP");
        assert_eq!(settings(&[("HIRE_MAX_ATTEMPTS", "0")]).unwrap_err().name, "HIRE_MAX_ATTEMPTS");
    }

    #[test]
    fn onboarding_time_zone_and_extra_fields_are_read() {
        let s = settings(&[
            ("NAMELY_RECORD_TYPE", "Onboarding"),
            ("HIRE_TIME_ZONE", "America/Los_Angeles"),
            ("NAMELY_FIELD_MAP", r#"{"offer:custom_equity": "custom:equity"}"#),
        ])
        .unwrap();
        assert_eq!(s.record_type, RecordType::Onboarding);
        assert_eq!(s.time_zone, chrono_tz::America::Los_Angeles);
        assert_eq!(s.field_map.entries.len(), FieldMap::builtin().entries.len() + 1);
    }
}
