//! `hrctl demo`: the whole bundle on one machine, with no account and no AWS. Starts the sandbox
//! vendor APIs with the demo tenant, points every function at them, and runs every job available
//! in this release, recording runs in a run log of its own.
//!
//! Repeatable: the tenant comes from a fixed seed and the run log is new each time, so every demo
//! tells the same story (only the ids the sandbox hands out and the times differ).

use crate::{functions, print};
use platform::runlog::SqliteRunLog;
use platform::{Config, SecretStore};
use sandbox::{Sandbox, Tenant, TenantSpec};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// The demo's own run log, replaced by each demo (never `LOCAL_STORE_PATH`, which may be a real one).
pub const RUN_LOG: &str = ".hr-bundle/demo/runs.sqlite3";

/// The demo tenant, the same every time (`hrctl sandbox` serves it too).
pub fn tenant() -> Tenant {
    Tenant::generate(&TenantSpec { seed: 20_260_101, employees: 12, opportunities: 6, postings: 10 })
}

/// A signed Lever `candidateHired` delivery for the tenant's first hired candidate.
pub struct HireDelivery {
    pub opportunity_id: String,
    /// The candidate's name, as Lever has it.
    pub candidate: String,
    /// The delivery's JSON body, as Lever POSTs it.
    pub body: Value,
}

/// The delivery Lever sends when the tenant's first hired candidate is hired, signed now.
pub fn hire_delivery(sb: &Sandbox) -> Result<HireDelivery, String> {
    let lever = sb.lever_data();
    let Some(id) = lever.hired_opportunity_ids().into_iter().next() else {
        return Err("the sandbox tenant has no hired opportunity".into());
    };
    let opportunity = lever.opportunities.iter().find(|o| o["id"] == id.as_str()).cloned().unwrap_or_default();
    let body = sandbox::lever_signed_delivery(
        "candidateHired",
        json!({"opportunityId": id, "candidateId": id, "contactId": opportunity["contact"]}),
        &sb.credentials.lever_signature_tokens[0],
        sandbox::now_ms(),
    );
    let candidate = opportunity["name"].as_str().unwrap_or("a candidate").to_string();
    Ok(HireDelivery { opportunity_id: id, candidate, body })
}

/// Removes an embedded run log left by an earlier demo or sandbox (the file and SQLite's companions),
/// so the next one starts empty, like the sandbox's vendors.
pub fn remove_run_log(path: &Path) -> Result<(), String> {
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("could not replace the run log {}: {e}", file.display())),
        }
    }
    Ok(())
}

/// Runs the demo; `Ok(false)` when a connection did not verify.
pub async fn run() -> Result<bool, String> {
    let sb = Sandbox::start(tenant()).await.map_err(|e| format!("could not start the sandbox: {e}"))?;
    // Only the sandbox's settings: the demo never touches AWS, whatever the shell's environment says.
    let mut env: HashMap<String, String> = sb.env_vars().into_iter().collect();
    env.insert("LOCAL_STORE_PATH".into(), RUN_LOG.into());
    remove_run_log(Path::new(RUN_LOG))?;
    let config = Config::from_lookup(|k| env.get(k).cloned()).map_err(|e| e.to_string())?;
    let secrets = SecretStore::with_lookup(&config, None, |k| env.get(k).cloned());
    let runlog = SqliteRunLog::open(&config.local_store_path).map_err(|e| e.to_string())?;
    let deps = app::Deps::new(config, secrets, Arc::new(runlog));

    let (employees, opportunities, postings) = (
        sb.with_namely(|d| d.profiles.len()),
        sb.with_lever(|d| d.opportunities.len()),
        sb.with_lever(|d| d.postings.len()),
    );
    println!("Sandbox vendor APIs running on 127.0.0.1:");
    for (vendor, url) in [
        ("Lever", sb.lever.base_url()),
        ("Namely", sb.namely_url()),
        ("Lessonly", sb.lessonly.base_url()),
        ("Litmos", sb.litmos.base_url()),
        ("The Org", sb.theorg.base_url()),
    ] {
        println!("  {vendor:<9} {url}");
    }
    println!(
        "Seeded tenant: {employees} Namely profiles, {opportunities} Lever opportunities, {postings} Lever postings."
    );
    println!("Run log: embedded SQLite at {RUN_LOG} (the demo's own, new at each demo)\n");

    println!("Verifying every function's connections (the \"Verify Connection\" check):\n");
    let mut all_ok = true;
    let mut vendors_ok: Vec<String> = Vec::new();
    for function in functions::ALL {
        let report = functions::verify(function, &deps).await;
        print!("{report}");
        all_ok &= report.ok;
        for check in report.checks.iter().filter(|c| c.ok) {
            if !vendors_ok.contains(&check.vendor) {
                vendors_ok.push(check.vendor.clone());
            }
        }
    }
    println!("\nVendors verified: {} of 5 ({})", vendors_ok.len(), vendors_ok.join(", "));

    let hired = hire(&sb, &deps).await?;
    let synced = lessonly(&deps).await?;
    let learners = litmos(&deps).await?;
    let roles = theorg(&deps).await?;
    println!();

    let runs = deps.runlog.latest_runs(None, functions::ALL.len() + 5).await.map_err(|e| e.to_string())?;
    println!("Recorded in the demo's run log (see them again with `hrctl --local-store {RUN_LOG} runs`):");
    print!("{}", print::runs_table(&runs));
    Ok(all_ok && vendors_ok.len() == 5 && hired && synced && learners && roles)
}

/// A run's summary with one line per record, read back from the run log: the lines of each action
/// add up to the run's count of it.
async fn summary(deps: &app::Deps, function: &str, answer: &Value) -> Result<String, String> {
    let outcomes = match answer["run_id"].as_str() {
        Some(run_id) => deps.runlog.run_outcomes(run_id).await.map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    Ok(print::sync_summary_with(function, answer, Some(&outcomes)))
}

/// Imports Lever's open roles into The Org (the "Import" button).
async fn theorg(deps: &app::Deps) -> Result<bool, String> {
    use theorg_import::settings::TheOrgSettings;
    let settings = TheOrgSettings::from_lookup(|_| None).map_err(|e| e.to_string())?;
    println!("\nLever -> The Org: open roles (published and internal postings) imported:");
    let event = serde_json::json!({"action": "sync", "trigger": "manual"});
    let answer = theorg_import::handle_with(deps, &settings, event).await.map_err(|e| e.to_string())?;
    print!("{}", summary(deps, theorg_import::FUNCTION, &answer).await?);
    Ok(answer["status"] == "succeeded")
}

/// Runs the Namely → Litmos sync ("Sync Namely Data Now") and points at its sync log.
async fn litmos(deps: &app::Deps) -> Result<bool, String> {
    use litmos_sync::settings::LitmosSettings;
    let settings = LitmosSettings::from_lookup(|_| None).map_err(|e| e.to_string())?;
    println!("\nNamely -> Litmos: employees with \"Litmos Activated\" = Yes become learners:");
    let event = serde_json::json!({"action": "sync", "trigger": "manual"});
    let answer = litmos_sync::handle_with(deps, &settings, event).await.map_err(|e| e.to_string())?;
    print!("{}", summary(deps, litmos_sync::FUNCTION, &answer).await?);
    if let Some(run_id) = answer["run_id"].as_str() {
        println!(
            "  Download its sync log: `hrctl --local-store {RUN_LOG} export --run {run_id} --output sync-log.csv`"
        );
    }
    Ok(answer["status"] == "succeeded")
}

/// Runs the Namely → Lessonly sync with the default settings, then again to show it has nothing
/// left to do. `Ok(false)` when the sync did not succeed.
async fn lessonly(deps: &app::Deps) -> Result<bool, String> {
    use lessonly_sync::settings::LessonlySettings;
    let settings = LessonlySettings::from_lookup(|_| None).map_err(|e| e.to_string())?;
    println!("\nNamely -> Lessonly: the nightly user sync, run now (groups from Department):");
    let event = serde_json::json!({"action": "sync", "trigger": "manual"});
    let first = lessonly_sync::handle_with(deps, &settings, event.clone()).await.map_err(|e| e.to_string())?;
    print!("{}", summary(deps, lessonly_sync::FUNCTION, &first).await?);
    let second = lessonly_sync::handle_with(deps, &settings, event).await.map_err(|e| e.to_string())?;
    println!("Run again with nothing changed in Namely:");
    print!("{}", summary(deps, lessonly_sync::FUNCTION, &second).await?);
    Ok(first["status"] == "succeeded" && second["status"] == "succeeded")
}

/// Plays a signed Lever `candidateHired` delivery into the webhook, as Lever would send it, and
/// shows what Namely and Lever hold afterwards. `Ok(false)` when the hire did not arrive.
async fn hire(sb: &Sandbox, deps: &app::Deps) -> Result<bool, String> {
    use lever_hire_webhook::settings::HireSettings;
    let HireDelivery { opportunity_id: id, candidate, body: delivery } = hire_delivery(sb)?;
    println!("\nLever -> Namely: \"{candidate}\" is archived as Hired; Lever sends a signed candidateHired webhook.");
    let request = json!({"version": "2.0", "requestContext": {"http": {"method": "POST"}},
                         "isBase64Encoded": false, "body": delivery.to_string()});
    // The defaults (archived as Hired -> Namely HRIS), whatever the shell's environment says.
    let settings = HireSettings::from_lookup(|_| None).map_err(|e| e.to_string())?;
    let response = lever_hire_webhook::handle_with(deps, &settings, request).await.map_err(|e| e.to_string())?;
    let body: Value = response["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or_default();
    println!(
        "  webhook answered HTTP {} ({})",
        response["statusCode"],
        body["outcomes"][0]["action"].as_str().unwrap_or("?")
    );
    let Some(namely_id) = body["outcomes"][0]["namely_id"].as_str() else {
        println!("  no Namely profile: {}", body["outcomes"][0]["detail"]);
        return Ok(false);
    };
    let namely = sb.namely_data();
    let profile = namely.profiles.iter().find(|p| p["id"] == namely_id).cloned().unwrap_or_default();
    println!("  Namely profile {namely_id}:");
    for (label, value) in [
        (
            "name",
            format!("{} {}", profile["first_name"].as_str().unwrap_or(""), profile["last_name"].as_str().unwrap_or("")),
        ),
        ("email", profile["email"].as_str().unwrap_or("").to_string()),
        ("status", profile["user_status"].as_str().unwrap_or("").to_string()),
        ("start date", profile["start_date"].as_str().unwrap_or("").to_string()),
        ("job title", profile["job_title"]["title"].as_str().unwrap_or("(blank)").to_string()),
        ("resume", if profile["resume"].is_string() { "attached".into() } else { "none".into() }),
    ] {
        println!("    {label:<11} {value}");
    }
    let lever = sb.lever_data();
    let tags =
        lever.opportunities.iter().find(|o| o["id"] == id.as_str()).map(|o| o["tags"].clone()).unwrap_or_default();
    println!("  Lever tags: {tags}");
    for note in lever.notes.iter().filter(|n| n["opportunityId"] == id.as_str()) {
        println!("  Lever note:");
        for line in note["value"].as_str().unwrap_or("").lines() {
            println!("    {line}");
        }
    }
    println!("  See it again with `hrctl --local-store {RUN_LOG} history --record {id}`.");
    Ok(true)
}
