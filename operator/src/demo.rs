//! `hrctl demo`: the whole bundle on one machine, with no account and no AWS. Starts the sandbox
//! vendor APIs with a seeded tenant, points every function at them, and runs every job available
//! in this release, recording runs in the embedded run log.

use crate::{functions, print};
use platform::runlog::SqliteRunLog;
use platform::{Config, SecretStore};
use sandbox::{Sandbox, Tenant};
use std::collections::HashMap;
use std::sync::Arc;

/// Runs the demo; `Ok(false)` when a connection did not verify.
pub async fn run() -> Result<bool, String> {
    let sb = Sandbox::start(Tenant::small()).await.map_err(|e| format!("could not start the sandbox: {e}"))?;
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
    println!("Jobs: no sync job is available in this release yet; each arrives with its own issue.\n");

    let runs = deps.runlog.latest_runs(None, functions::ALL.len()).await.map_err(|e| e.to_string())?;
    println!("Recorded in the run log (see them again with `hrctl runs`):");
    print!("{}", print::runs_table(&runs));
    Ok(all_ok && vendors_ok.len() == 5)
}
