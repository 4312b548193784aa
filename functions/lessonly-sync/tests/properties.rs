//! Property test: any environment is read as Lessonly sync settings or refused naming the variable.

use lessonly_sync::settings::{LessonlySettings, ROLES};
use proptest::prelude::*;
use proptest::sample::select;
use std::collections::HashMap;

/// Every variable the Lessonly sync settings read.
const VARIABLES: &[&str] = &[
    "LESSONLY_SYNC_FIELDS",
    "LESSONLY_GROUPS_FROM",
    "LESSONLY_CUSTOM_FIELDS",
    "LESSONLY_NEW_USER_ROLE",
    "LESSONLY_SEND_INVITES",
];

fn setting() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => select(vec![
            "all", "none", "name, job title", "department,job_tier", "none,department", "employee_id, division:Division",
            ":x", "Admin", "boss", "yes", "0", "maybe", "",
        ])
        .prop_map(String::from),
        1 => any::<String>(),
        1 => "[a-z_:, ]{0,20}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_environment_is_read_or_names_the_bad_variable(vars in prop::collection::hash_map(select(VARIABLES.to_vec()), setting(), 0..6)) {
        let vars: HashMap<&str, String> = vars;
        match LessonlySettings::from_lookup(|name| vars.get(name).cloned()) {
            Ok(settings) => prop_assert!(ROLES.contains(&settings.new_user_role.as_str())),
            Err(e) => prop_assert!(VARIABLES.contains(&e.name) && !e.reason.is_empty(), "{}", e),
        }
    }
}
