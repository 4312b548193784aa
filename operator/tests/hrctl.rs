//! `hrctl` as an operator runs it: the demo on a fresh directory, then `runs` and `verify` reading
//! what the demo left behind and what the environment says.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hrctl(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hrctl"));
    command.args(args).current_dir(dir).env("LOCAL_STORE_PATH", dir.join("runs.sqlite3"));
    // The operator's shell must not leak into the test.
    for var in ["RUNS_TABLE", "SECRETS_FILE", "NAMELY_SECRET_JSON", "NAMELY_SECRET_ID", "LESSONLY_SECRET_JSON"] {
        command.env_remove(var);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run hrctl")
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hrctl-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The demo's output with what legitimately differs between two demos replaced: the sandbox's
/// ports, the ids the sandbox hands out (Namely profiles, Lessonly users, Litmos learners, The Org
/// jobs), run ids and times.
fn story(out: &str) -> String {
    let mut text = String::with_capacity(out.len());
    for line in out.lines() {
        let mut words: Vec<String> = Vec::new();
        for word in line.split(' ') {
            let bare = word.trim_matches(|c: char| "`():,.;'\"".contains(c));
            let is_uuid = bare.len() == 36 && bare.chars().filter(|c| *c == '-').count() == 4;
            let is_port = bare.starts_with("http://127.0.0.1:");
            let is_time = bare.len() == 8
                && bare.matches(':').count() == 2
                && bare.chars().all(|c| c.is_ascii_digit() || c == ':');
            let after = words.last().map(String::as_str).unwrap_or("");
            let is_vendor_id = matches!(after, "user" | "learner") && !bare.is_empty();
            words.push(if is_uuid || is_port || is_time || is_vendor_id {
                word.replace(bare, "<id>")
            } else {
                word.to_string()
            });
        }
        text.push_str(&words.join(" "));
        text.push('\n');
    }
    text
}

/// For each sync summary ("job: status (run …): N created, N updated, N unchanged, N skipped, N
/// failed"), the record lines under it, counted by action, agree with its counts.
fn assert_counts_agree_with_lines(out: &str) {
    let lines: Vec<&str> = out.lines().collect();
    let mut summaries = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some((_, counts)) = line.split_once("): ") else { continue };
        if !counts.ends_with(" failed") {
            continue;
        }
        summaries += 1;
        let record_lines: Vec<&str> = lines[i + 1..].iter().take_while(|l| l.starts_with("  ")).copied().collect();
        for part in counts.split(", ") {
            let (n, action) = part.split_once(' ').unwrap_or_else(|| panic!("{line}"));
            let n: usize = n.parse().unwrap_or_else(|_| panic!("{line}"));
            let listed = record_lines.iter().filter(|l| l.starts_with(&format!("  {action:<9} "))).count();
            if action != "unchanged" {
                assert_eq!(listed, n, "{line}: {n} {action} but {listed} lines:\n{}", record_lines.join("\n"));
            }
        }
    }
    assert!(summaries >= 4, "every sync run's summary is there:\n{out}");
}

#[test]
fn the_demo_tells_the_same_story_twice_in_its_own_run_log() {
    let dir = temp_dir();
    // The demo ignores AWS settings and LOCAL_STORE_PATH in the shell: it must not touch either.
    let shell_store = dir.join("operators-own.sqlite3");
    let noisy = [("RUNS_TABLE", "no-such-table"), ("LOCAL_STORE_PATH", shell_store.to_str().unwrap())];
    let demo = hrctl(&dir, &["demo"], &noisy);
    let first = text(&demo);
    assert!(demo.status.success(), "demo failed:\n{first}");
    assert!(!shell_store.exists(), "the demo wrote to the shell's LOCAL_STORE_PATH");
    assert!(first.contains("Vendors verified: 5 of 5 (Lever, Namely, Lessonly, Litmos, The Org)"), "{first}");
    for function in ["lever-hire-webhook", "lessonly-sync", "litmos-sync", "theorg-import"] {
        assert!(first.contains(&format!("{function}: all connections verified")), "{function} missing:\n{first}");
    }
    assert!(!first.contains("SANDBOX-"), "the demo printed a sandbox credential:\n{first}");
    assert_counts_agree_with_lines(&first);

    // The hire: a signed webhook in, a Namely profile out, Lever tagged and noted.
    assert!(first.contains("webhook answered HTTP 200 (created)"), "{first}");
    assert!(first.contains("Lever tags:") && first.contains("Namely - Successfully Transferred"), "{first}");
    let namely_id = first
        .split("Namely profile id: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no Namely id in the note:\n{first}"));
    assert!(first.contains(&format!("Namely profile {namely_id}:")), "{first}");

    // Again: the same tenant, a fresh run log, so the same story (not "already transferred", no
    // role "removed" because the first demo's roles are unknown to this one's The Org).
    let again = hrctl(&dir, &["demo"], &noisy);
    let second = text(&again);
    assert!(again.status.success(), "{second}");
    assert_eq!(story(&first), story(&second), "two demos told different stories");
    assert!(!second.contains("deleted in Lever") && !second.contains("already transferred"), "{second}");

    // Its runs are in its own run log, which `--local-store` reads: one demo's worth.
    let store = ".hr-bundle/demo/runs.sqlite3";
    assert!(second.contains(&format!("hrctl --local-store {store} runs")), "{second}");
    let runs = hrctl(&dir, &["--local-store", store, "runs", "--job", "litmos-sync.verify"], &[]);
    let out = text(&runs);
    assert!(runs.status.success(), "{out}");
    assert_eq!(out.matches("litmos-sync.verify").count(), 1, "the second demo replaced the first's run log: {out}");
    assert!(out.contains("succeeded") && out.contains("manual"), "{out}");
    let absolute = std::fs::canonicalize(dir.join(store)).expect("the demo's run log");
    assert!(out.contains(&format!("run log: embedded SQLite at {}", absolute.display())), "says which: {out}");

    // "What happened to Noah?" by name, with no job: his hire and his syncs.
    let hired = second.split("Lever -> Namely: \"").nth(1).and_then(|r| r.split('"').next()).expect("who was hired");
    let history = hrctl(&dir, &["--local-store", store, "history", "--record", &hired.to_uppercase()], &[]);
    let out = text(&history);
    assert!(history.status.success(), "{out}");
    assert!(out.contains("lever-hire-webhook  record") && out.contains("lessonly-sync  record"), "{out}");
    assert!(out.contains("created") && out.contains("HRIS profile"), "{out}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn verify_without_secrets_fails_with_exit_1_and_says_what_to_set() {
    let dir = temp_dir();
    let verify = hrctl(&dir, &["verify", "--function", "lessonly-sync"], &[]);
    let out = text(&verify);
    assert_eq!(verify.status.code(), Some(1), "{out}");
    assert!(out.contains("NAMELY_SECRET_ID") && out.contains("LESSONLY_SECRET_ID"), "{out}");

    let unknown = hrctl(&dir, &["verify", "--function", "workday-sync"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown).contains("lessonly-sync"), "should list the valid names: {}", text(&unknown));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_expiring_namely_token_is_a_warning_on_the_terminal_and_never_shows_the_token() {
    let dir = temp_dir();
    let soon = (chrono::Utc::now().date_naive() + chrono::Duration::days(3)).to_string();
    let secret = format!(r#"{{"company": "acme", "token": "tok-SECRET-4711", "expires_on": "{soon}"}}"#);
    // Nothing listens on port 1: the check fails fast, after reading the secret.
    let env = [("NAMELY_SECRET_JSON", secret.as_str()), ("NAMELY_API_URL", "http://127.0.0.1:1/{company}/api/v1")];
    let verify = hrctl(&dir, &["verify", "--function", "lessonly-sync"], &env);
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert!(stderr.contains(&format!("the Namely token expires on {soon}")), "{stderr}");
    assert!(!text(&verify).contains("tok-SECRET-4711"), "the token was printed: {}", text(&verify));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("could not reach"), "{}", text(&verify));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_plans_with_dry_run_then_syncs_and_status_shows_the_last_completed_sync() {
    let sb = sandbox::Sandbox::start(sandbox::Tenant::small()).await.expect("sandbox");
    let dir = temp_dir();
    let env: Vec<(String, String)> = sb.env_vars();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    let plan = hrctl(&dir, &["sync", "lessonly-sync", "--dry-run"], &env);
    let out = text(&plan);
    assert!(plan.status.success(), "{out}");
    assert!(out.contains("Dry run: nothing was written") && out.contains("  create "), "{out}");
    assert!(sb.lessonly.requests().iter().all(|r| r.method == "GET"), "the dry run wrote to Lessonly");

    let status = hrctl(&dir, &["status"], &env);
    assert!(text(&status).contains("no completed run yet"), "{}", text(&status));

    let sync = hrctl(&dir, &["sync", "lessonly-sync"], &env);
    let out = text(&sync);
    assert!(sync.status.success(), "{out}");
    assert!(out.contains("lessonly-sync: succeeded") && out.contains("created"), "{out}");

    let status = hrctl(&dir, &["status"], &env);
    let out = text(&status);
    let row = out.lines().find(|l| l.starts_with("lessonly-sync")).unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains("UTC") && row.contains("succeeded") && row.contains("created"), "{row}");
    assert!(!out.contains(&sb.credentials.lessonly_api_key), "a key was printed");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_litmos_run_exports_as_a_csv_sync_log_of_every_employee() {
    let sb = sandbox::Sandbox::start(sandbox::Tenant::small()).await.expect("sandbox");
    let dir = temp_dir();
    let env: Vec<(String, String)> = sb.env_vars();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let sync = hrctl(&dir, &["sync", "litmos-sync"], &env);
    assert!(sync.status.success(), "{}", text(&sync));
    // One employee moves office: the next run's log names the field, old and new.
    let key = sb.namely_data().litmos_field_key;
    let mover = sb
        .namely_data()
        .profiles
        .into_iter()
        .find(|p| p[key.as_str()] == "Yes" && p["user_status"] == "active" && p["email"] != "")
        .expect("an opted-in employee");
    let id = mover["id"].as_str().unwrap().to_string();
    sb.with_namely(|d| d.profile_mut(&id).unwrap()["office"]["city"] = serde_json::json!("Springfield, IL"));
    assert!(hrctl(&dir, &["sync", "litmos-sync"], &env).status.success());

    let file = dir.join("sync-log.csv");
    let export = hrctl(&dir, &["export", "--job", "litmos-sync", "--output", file.to_str().unwrap()], &env);
    assert!(export.status.success(), "{}", text(&export));
    let csv = std::fs::read_to_string(&file).expect("the CSV file");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "time,job,run_id,record_id,record,action,detail");
    assert_eq!(lines.len() - 1, sb.namely_data().profiles.len(), "one line per employee:\n{csv}");
    let moved = lines.iter().find(|l| l.contains(&id)).expect("the mover's line");
    assert!(moved.contains(",updated,") && moved.contains("City") && moved.contains("\""), "{moved}");
    assert!(moved.contains("Springfield, IL"), "{moved}");
    assert!(!csv.contains(&sb.credentials.litmos_api_key) && !csv.contains(&sb.credentials.namely_token));

    let unknown = hrctl(&dir, &["export", "--run", "no-such-run"], &env);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_whose_records_partly_failed_exits_1_so_a_script_notices() {
    let sb = sandbox::Sandbox::start(sandbox::Tenant::small()).await.expect("sandbox");
    let dir = temp_dir();
    let env: Vec<(String, String)> = sb.env_vars();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // Litmos refuses one learner's creation: that record fails, the others go through.
    sb.litmos.inject(sandbox::FaultRule::new(sandbox::Fault::Forbidden).method("POST").times(1));
    let sync = hrctl(&dir, &["sync", "litmos-sync"], &env);
    let out = text(&sync);
    assert!(out.contains("litmos-sync: partial") && out.contains(", 1 failed"), "{out}");
    assert_eq!(sync.status.code(), Some(1), "a partial run is not a success: {out}");
    // The next run creates the one that failed, and ends clean.
    let again = hrctl(&dir, &["sync", "litmos-sync"], &env);
    assert!(text(&again).contains("litmos-sync: succeeded"), "{}", text(&again));
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_problems_name_what_to_fix_and_stop_only_what_they_touch() {
    let sb = sandbox::Sandbox::start(sandbox::Tenant::small()).await.expect("sandbox");
    let dir = temp_dir();
    let mut env: Vec<(String, String)> = sb.env_vars();
    env.push(("THEORG_API_URL".into(), "api.theorg.com".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    // The Org's URL is wrong: the Lessonly sync does not use it and verifies.
    let lessonly = hrctl(&dir, &["verify", "--function", "lessonly-sync"], &env);
    assert_eq!(lessonly.status.code(), Some(0), "{}", text(&lessonly));
    // The Org import does, and is told which variable to fix.
    let theorg = hrctl(&dir, &["verify", "--function", "theorg-import"], &env);
    let out = text(&theorg);
    assert_eq!(theorg.status.code(), Some(1), "{out}");
    assert!(out.contains("THEORG_API_URL") && out.contains("'api.theorg.com' is not an http(s) URL"), "{out}");

    // A secrets file without The Org's entry says so, and what the entry holds.
    let file = dir.join("secrets.json");
    std::fs::write(&file, r#"{"lever": {"api_key": "k"}}"#).expect("secrets file");
    let verify = hrctl(&dir, &["verify", "--function", "theorg-import"], &[("SECRETS_FILE", file.to_str().unwrap())]);
    let out = text(&verify);
    assert_eq!(verify.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!("the secrets file {} (SECRETS_FILE) has no \"theorg\" entry", file.display())),
        "{out}"
    );
    assert!(out.contains(r#"{"api_key": "..."}"#) && !out.contains("no theorg secret is configured"), "{out}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_unreachable_aws_run_log_is_one_line_that_says_what_to_set() {
    let dir = temp_dir();
    let mut command = Command::new(env!("CARGO_BIN_EXE_hrctl"));
    command.args(["runs"]).current_dir(&dir).env("HOME", &dir).env("RUNS_TABLE", "hr-runs");
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "RUST_LOG",
    ] {
        command.env_remove(var);
    }
    // No instance metadata to ask either: the SDK finds no credentials anywhere.
    command.env("AWS_EC2_METADATA_DISABLED", "true").env("AWS_REGION", "us-east-1");
    let output = command.output().expect("run hrctl");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "the run log's name, then one error line; no SDK dump before it:\n{stderr}");
    assert_eq!(lines[0], "run log: DynamoDB table hr-runs");
    assert!(lines[1].starts_with("hrctl: the DynamoDB run log table 'hr-runs' failed"), "{stderr}");
    assert!(lines[1].contains("AWS_PROFILE"), "says how to give credentials: {stderr}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn every_command_is_in_the_help_and_an_env_file_is_read_before_the_command() {
    let dir = temp_dir();
    let help = hrctl(&dir, &["--help"], &[]);
    let out = text(&help);
    for command in ["verify", "runs", "history", "invoke", "sync", "status", "export", "demo", "sandbox"] {
        assert!(out.lines().any(|l| l.trim_start().starts_with(command)), "`{command}` not in the help:\n{out}");
    }
    let store = dir.join("from-env-file.sqlite3");
    let env_file = dir.join("settings.env");
    std::fs::write(&env_file, format!("# a comment\nLOCAL_STORE_PATH='{}'\n", store.display())).expect("env file");
    let status = hrctl(&dir, &["--env-file", env_file.to_str().unwrap(), "status"], &[]);
    assert!(status.status.success(), "{}", text(&status));
    assert!(text(&status).contains(&format!("run log: embedded SQLite at {}", store.display())), "{}", text(&status));
    let missing = hrctl(&dir, &["--env-file", "no-such.env", "status"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("could not read --env-file no-such.env"), "{}", text(&missing));
    std::fs::remove_dir_all(dir).ok();
}
