//! `hrctl demo`: the whole bundle on one machine, with no account and no AWS. Starts the sandbox
//! vendor APIs with a seeded tenant, points every function at them, and runs every job available
//! in this release, recording runs in the embedded run log.

use crate::{functions, print};
use platform::runlog::SqliteRunLog;
use platform::{Config, SecretStore};
use sandbox::{Sandbox, Tenant, TenantSpec};
use std::collections::HashMap;
use std::sync::Arc;

/// Runs the demo; `Ok(false)` when a connection did not verify.
pub async fn run() -> Result<bool, String> {
    // A fresh seed each time: the run log persists between demos, and a hire it has already
    // transferred would (rightly) be answered "already transferred".
    let seed = u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(7);
    let tenant = Tenant::generate(&TenantSpec { seed, employees: 12, opportunities: 6, postings: 10 });
    let sb = Sandbox::start(tenant).await.map_err(|e| format!("could not start the sandbox: {e}"))?;
    let mut env: HashMap<String, String> = sb.env_vars().into_iter().collect();
    // Only the embedded store's place is taken from the caller's environment: the demo never
    // touches AWS, even when the shell has RUNS_TABLE or secret ids set.
    if let Ok(path) = std::env::var("LOCAL_STORE_PATH") {
        env.insert("LOCAL_STORE_PATH".into(), path);
    }
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
    println!("Run log: embedded SQLite at {}\n", deps.config.local_store_path.display());

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
    println!("Recorded in the run log (see them again with `hrctl runs`):");
    print!("{}", print::runs_table(&runs));
    Ok(all_ok && vendors_ok.len() == 5 && hired && synced && learners && roles)
}

/// Imports Lever's open roles into The Org (the "Import" button).
async fn theorg(deps: &app::Deps) -> Result<bool, String> {
    use theorg_import::settings::TheOrgSettings;
    let settings = TheOrgSettings::from_lookup(|_| None).map_err(|e| e.to_string())?;
    println!("\nLever -> The Org: open roles (published and internal postings) imported:");
    let event = serde_json::json!({"action": "sync", "trigger": "manual"});
    let answer = theorg_import::handle_with(deps, &settings, event).await.map_err(|e| e.to_string())?;
    print!("{}", print::sync_summary(theorg_import::FUNCTION, &answer));
    Ok(answer["status"] == "succeeded")
}

/// Runs the Namely → Litmos sync ("Sync Namely Data Now") and points at its sync log.
async fn litmos(deps: &app::Deps) -> Result<bool, String> {
    use litmos_sync::settings::LitmosSettings;
    let settings = LitmosSettings::from_lookup(|_| None).map_err(|e| e.to_string())?;
    println!("\nNamely -> Litmos: employees with \"Litmos Activated\" = Yes become learners:");
    let event = serde_json::json!({"action": "sync", "trigger": "manual"});
    let answer = litmos_sync::handle_with(deps, &settings, event).await.map_err(|e| e.to_string())?;
    print!("{}", print::sync_summary(litmos_sync::FUNCTION, &answer));
    if let Some(run_id) = answer["run_id"].as_str() {
        println!("  Download its sync log: `hrctl export --run {run_id} --output sync-log.csv`");
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
    print!("{}", print::sync_summary(lessonly_sync::FUNCTION, &first));
    let second = lessonly_sync::handle_with(deps, &settings, event).await.map_err(|e| e.to_string())?;
    println!("Run again with nothing changed in Namely:");
    print!("{}", print::sync_summary(lessonly_sync::FUNCTION, &second));
    Ok(first["status"] == "succeeded" && second["status"] == "succeeded")
}

/// Plays a signed Lever `candidateHired` delivery into the webhook, as Lever would send it, and
/// shows what Namely and Lever hold afterwards. `Ok(false)` when the hire did not arrive.
async fn hire(sb: &Sandbox, deps: &app::Deps) -> Result<bool, String> {
    use lever_hire_webhook::settings::HireSettings;
    use serde_json::{json, Value};
    let lever = sb.lever_data();
    let Some(id) = lever.hired_opportunity_ids().into_iter().next() else {
        return Err("the sandbox tenant has no hired opportunity".into());
    };
    let opportunity = lever.opportunities.iter().find(|o| o["id"] == id.as_str()).cloned().unwrap_or_default();
    println!(
        "\nLever -> Namely: {} is archived as Hired; Lever sends a signed candidateHired webhook.",
        opportunity["name"]
    );
    let delivery = sandbox::lever_signed_delivery(
        "candidateHired",
        json!({"opportunityId": id, "candidateId": id, "contactId": opportunity["contact"]}),
        &sb.credentials.lever_signature_tokens[0],
        u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or_default(),
    );
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
    println!("  See it again with `hrctl history --job lever-hire-webhook --record {id}`.");
    Ok(true)
}
