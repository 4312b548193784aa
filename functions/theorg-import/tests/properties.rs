//! Property test: any environment is read as The Org import settings or refused naming the variable.

use proptest::prelude::*;
use proptest::sample::select;
use std::collections::HashMap;
use theorg_import::settings::TheOrgSettings;

/// Every variable The Org import settings read.
const VARIABLES: &[&str] = &["THEORG_OPEN_STATES", "THEORG_NOTIFY_TOPIC_ARN"];

fn setting() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => select(vec!["published,internal", "closed", "open", ",", "arn:aws:sns:us-east-1:1:t", "my-topic"])
            .prop_map(String::from),
        1 => any::<String>(),
        1 => "(published|internal|draft|x| )(,(closed|PENDING|y))*",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_environment_is_read_or_names_the_bad_variable(vars in prop::collection::hash_map(select(VARIABLES.to_vec()), setting(), 0..3)) {
        let vars: HashMap<&str, String> = vars;
        match TheOrgSettings::from_lookup(|name| vars.get(name).cloned()) {
            Ok(settings) => {
                prop_assert!(!settings.open_states.0.is_empty());
                prop_assert!(settings.notify_topic_arn.is_none_or(|arn| arn.starts_with("arn:")));
            }
            Err(e) => prop_assert!(VARIABLES.contains(&e.name) && !e.reason.is_empty(), "{}", e),
        }
    }
}
