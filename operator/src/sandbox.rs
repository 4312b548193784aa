//! `hrctl sandbox`: the five sandbox vendor APIs, seeded with the demo tenant, running until Ctrl-C,
//! and the environment that points any function at them — for `cargo lambda watch --env-file`, for
//! `hrctl --env-file`, or for a shell.
//!
//! Beside the environment file it writes the secrets file the functions read (`SECRETS_FILE`), the
//! run log they share with `hrctl` (`LOCAL_STORE_PATH`, new at each start, since the sandbox's
//! vendors start afresh too), and a signed Lever `candidateHired` delivery ready to POST to the
//! webhook's Function URL.

use crate::demo;
use sandbox::Sandbox;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where the files go when no `--env-file` is given.
const DEFAULT_DIR: &str = ".hr-bundle";

/// The files `hrctl sandbox` writes, all in one directory.
pub struct SandboxFiles {
    pub env_file: Option<PathBuf>,
    pub secrets: PathBuf,
    pub run_log: PathBuf,
    pub hire_delivery: PathBuf,
}

impl SandboxFiles {
    /// The files beside `env_file` (or in `.hr-bundle/`), as absolute paths: the functions under
    /// `cargo lambda watch` run in other directories.
    fn new(env_file: Option<PathBuf>) -> Result<SandboxFiles, String> {
        let dir = match &env_file {
            Some(file) => file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf(),
            None => PathBuf::from(DEFAULT_DIR),
        };
        std::fs::create_dir_all(&dir).map_err(|e| format!("could not create {}: {e}", dir.display()))?;
        let dir = std::path::absolute(&dir).map_err(|e| format!("could not resolve {}: {e}", dir.display()))?;
        Ok(SandboxFiles {
            env_file,
            secrets: dir.join("sandbox-secrets.json"),
            run_log: dir.join("sandbox-runs.sqlite3"),
            hire_delivery: dir.join("hire-delivery.json"),
        })
    }
}

/// Serves the sandbox until Ctrl-C (or SIGTERM).
pub async fn run(env_file: Option<PathBuf>) -> Result<bool, String> {
    let files = SandboxFiles::new(env_file)?;
    let sb = Sandbox::start(demo::tenant()).await.map_err(|e| format!("could not start the sandbox: {e}"))?;
    let env = environment(&sb, &files)?;
    let delivery = demo::hire_delivery(&sb)?;
    write_private(&files.hire_delivery, &format!("{}\n", delivery.body))?;

    let dotenv: String = env.iter().map(|(k, v)| format!("{k}='{v}'\n")).collect();
    match &files.env_file {
        Some(path) => {
            std::fs::write(path, &dotenv).map_err(|e| format!("could not write {}: {e}", path.display()))?;
            println!(
                "Sandbox vendor APIs running on 127.0.0.1 (the demo tenant). Environment written to {}:",
                path.display()
            );
            print!("{}", indent(&dotenv));
        }
        None => print!("{dotenv}"),
    }
    let shown = files.env_file.as_ref().map_or_else(|| "<the lines above>".to_string(), |p| p.display().to_string());
    eprintln!(
        "\nNext, in other terminals:\n\
         \x20 cargo lambda watch --env-file {shown}\n\
         \x20 cargo lambda invoke lessonly-sync --data-ascii '{{\"action\":\"verify\"}}'\n\
         \x20 curl -sS -X POST -H 'content-type: application/json' --data @{delivery} \\\n\
         \x20      http://127.0.0.1:9000/lambda-url/lever-hire-receiver/\n\
         \x20 cargo run -p operator --bin hrctl -- --env-file {shown} runs\n\
         {who} is hired in Lever; {delivery} is the signed delivery Lever sends for it.\n\
         Runs are recorded in {run_log} (new at each start). Ctrl-C stops the sandbox.",
        delivery = files.hire_delivery.display(),
        who = delivery.candidate,
        run_log = files.run_log.display(),
    );
    wait_for_shutdown().await;
    eprintln!("sandbox stopped");
    Ok(true)
}

/// The environment that points a function at `sb`, with the secrets file and a fresh run log.
pub fn environment(sb: &Sandbox, files: &SandboxFiles) -> Result<Vec<(String, String)>, String> {
    let mut secrets = serde_json::Map::new();
    let mut env = Vec::new();
    for (key, value) in sb.env_vars() {
        match key.strip_suffix("_SECRET_JSON") {
            Some(vendor) => {
                let secret: Value = serde_json::from_str(&value).map_err(|e| format!("sandbox secret {key}: {e}"))?;
                secrets.insert(vendor.to_lowercase(), secret);
            }
            None => env.push((key, value)),
        }
    }
    write_private(&files.secrets, &format!("{:#}\n", Value::Object(secrets)))?;
    demo::remove_run_log(&files.run_log)?;
    env.push(("SECRETS_FILE".into(), files.secrets.display().to_string()));
    env.push(("LOCAL_STORE_PATH".into(), files.run_log.display().to_string()));
    if let Some((key, _)) = env.iter().find(|(_, v)| v.contains('\'') || v.contains('\n')) {
        return Err(format!("{key} cannot be written to a dotenv file (it holds a quote or a line break)"));
    }
    Ok(env)
}

/// Writes a file only its owner can read: it holds the sandbox's (throwaway) credentials.
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("could not write {}: {e}", path.display()))
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

async fn wait_for_shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_environment_points_at_the_sandbox_with_a_secrets_file_and_a_fresh_run_log() {
        let dir = std::env::temp_dir().join(format!("hrctl-sandbox-{}", uuid::Uuid::new_v4()));
        let files = SandboxFiles::new(Some(dir.join("sandbox.env"))).unwrap();
        assert!(files.secrets.is_absolute() && files.run_log.starts_with(&dir));
        std::fs::write(&files.run_log, "an earlier session").unwrap();
        let sb = Sandbox::start(demo::tenant()).await.unwrap();
        let env = environment(&sb, &files).unwrap();
        let get = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(get("LEVER_API_URL"), Some(sb.lever.base_url()));
        assert_eq!(get("NAMELY_API_URL"), Some(sb.namely.base_url()));
        assert_eq!(get("LOCAL_STORE_PATH"), Some(files.run_log.display().to_string()));
        assert!(!files.run_log.exists(), "the run log of an earlier session is gone");
        assert!(env.iter().all(|(k, _)| !k.ends_with("_SECRET_JSON")), "secrets go to the file only");
        let secrets: Value = serde_json::from_str(&std::fs::read_to_string(&files.secrets).unwrap()).unwrap();
        assert_eq!(secrets["namely"]["token"], sb.credentials.namely_token.as_str());
        assert_eq!(secrets["theorg"]["api_key"], sb.credentials.theorg_api_key.as_str());
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&files.secrets).unwrap().permissions());
        assert_eq!(mode & 0o077, 0, "only its owner may read the secrets file");
        std::fs::remove_dir_all(dir).ok();
    }
}
