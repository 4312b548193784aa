//! The benchmark binary keeps working: a tiny run prints one JSON row per pass, with calls made and
//! needed, no throttling, and no write on a no-change re-sync. (Its figures are read by people, not
//! asserted here: performance is measured by running the bench, not by tests.)

use serde_json::Value;
use std::process::Command;

#[test]
fn a_small_run_prints_every_scenario_as_json() {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--employees", "60", "--postings", "30", "--latency-ms", "0", "--json"])
        .output()
        .expect("run bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let rows: Vec<Value> = serde_json::from_str(&stdout).expect("JSON rows");
    assert_eq!(rows.len(), 6, "a first sync and a re-sync for each of three jobs: {stdout}");
    for row in &rows {
        let name = row["scenario"].as_str().unwrap();
        assert_eq!(row["throttles"], 0, "{name} was throttled with the client limiter at the sandbox's limit");
        for (vendor, made) in row["calls"].as_object().unwrap() {
            let needed = &row["needed"][vendor];
            assert!(needed.is_object(), "{name}: no minimum for {vendor}");
            if name.contains("re-sync") {
                assert_eq!(made["writes"], 0, "{name}: {vendor} was written to");
            }
        }
        assert!(row["projected_real_s"].as_f64().is_some() && row["peak_rss_mb"].as_f64().unwrap() > 0.0);
    }
}
