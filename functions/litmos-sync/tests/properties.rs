//! Property test: any environment is read as Litmos sync settings or refused naming the variable.

use litmos_sync::settings::LitmosSettings;
use proptest::prelude::*;
use proptest::sample::select;
use std::collections::HashMap;
use std::time::Duration;

/// Every variable the Litmos sync settings read.
const VARIABLES: &[&str] = &["LITMOS_SYNC_ENABLED", "LITMOS_ACTIVATED_FIELD", "LITMOS_TIME_BUDGET_SECONDS"];

fn setting() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => select(vec!["true", "No", "perhaps", "0", "1", "880", "881", "18446744073709551616", "-5", " Litmos Activated "])
            .prop_map(String::from),
        1 => any::<String>(),
        1 => "[0-9]{1,4}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_environment_is_read_or_names_the_bad_variable(vars in prop::collection::hash_map(select(VARIABLES.to_vec()), setting(), 0..4)) {
        let vars: HashMap<&str, String> = vars;
        match LitmosSettings::from_lookup(|name| vars.get(name).cloned()) {
            Ok(settings) => {
                prop_assert!(settings.time_budget >= Duration::from_secs(1) && settings.time_budget <= Duration::from_secs(880));
                prop_assert!(!settings.activated_field.is_empty() && settings.activated_field.trim() == settings.activated_field);
            }
            Err(e) => prop_assert!(VARIABLES.contains(&e.name) && !e.reason.is_empty(), "{}", e),
        }
    }
}
