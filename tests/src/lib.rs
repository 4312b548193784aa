//! Helpers shared by the end-to-end tests: sandbox-backed environments for the functions.

use sandbox::Sandbox;

/// The environment that points a function at the sandbox (URLs and inline `*_SECRET_JSON`
/// secrets), with the embedded run log at `store_path`.
pub fn sandbox_env(sb: &Sandbox, store_path: &std::path::Path) -> Vec<(String, String)> {
    let mut env = sb.env_vars();
    env.push(("LOCAL_STORE_PATH".into(), store_path.display().to_string()));
    env
}
