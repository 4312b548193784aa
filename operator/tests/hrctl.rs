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

#[test]
fn demo_verifies_all_five_vendors_and_runs_lists_what_it_recorded() {
    let dir = temp_dir();
    // The demo ignores AWS settings in the shell: it must not try to reach this table.
    let demo = hrctl(&dir, &["demo"], &[("RUNS_TABLE", "no-such-table")]);
    let out = text(&demo);
    assert!(demo.status.success(), "demo failed:\n{out}");
    assert!(out.contains("Vendors verified: 5 of 5 (Lever, Namely, Lessonly, Litmos, The Org)"), "{out}");
    for function in ["lever-hire-webhook", "lessonly-sync", "litmos-sync", "theorg-import"] {
        assert!(out.contains(&format!("{function}: all connections verified")), "{function} missing:\n{out}");
    }
    assert!(!out.contains("SANDBOX-"), "the demo printed a sandbox credential:\n{out}");

    // The hire: a signed webhook in, a Namely profile out, Lever tagged and noted.
    assert!(out.contains("webhook answered HTTP 200 (created)"), "{out}");
    assert!(out.contains("Lever tags:") && out.contains("Namely - Successfully Transferred"), "{out}");
    let namely_id = out
        .split("Namely profile id: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no Namely id in the note:\n{out}"));
    assert!(out.contains(&format!("Namely profile {namely_id}:")), "{out}");
    let opportunity = out
        .split("--record ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no history hint:\n{out}"));
    let history = hrctl(&dir, &["history", "--job", "lever-hire-webhook", "--record", opportunity], &[]);
    assert!(text(&history).contains("created") && text(&history).contains(namely_id), "{}", text(&history));

    // A second demo on the same run log plays a new hire, not a duplicate of the first.
    let again = hrctl(&dir, &["demo"], &[]);
    assert!(again.status.success() && text(&again).contains("(created)"), "{}", text(&again));

    let runs = hrctl(&dir, &["runs", "--job", "litmos-sync.verify"], &[]);
    let out = text(&runs);
    assert!(runs.status.success(), "{out}");
    assert_eq!(out.matches("litmos-sync.verify").count(), 2, "one per demo: {out}");
    assert!(out.contains("succeeded") && out.contains("manual"), "{out}");
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
