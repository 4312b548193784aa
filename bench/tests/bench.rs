//! The benchmark binary keeps working: a tiny run of every scenario prints JSON with each figure,
//! no throttling, calls made equal to the calls needed, one run and no duplicate per sync, no write
//! on a no-change re-sync, and every hire transferred once. (Its timings are read by people, not
//! asserted here: performance is measured by running the bench, not by tests.)

use serde_json::Value;
use std::process::Command;

#[test]
fn a_small_run_prints_every_scenario_as_json() {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--employees", "60", "--postings", "30", "--hires", "20", "--hire-concurrency", "5"])
        .args(["--latency-ms", "0", "--json"])
        .output()
        .expect("run bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");

    let cold = report["cold_start"].as_array().expect("cold starts");
    let functions: Vec<&str> = cold.iter().map(|c| c["function"].as_str().unwrap()).collect();
    assert_eq!(functions, ["lever-hire-webhook", "lessonly-sync", "litmos-sync", "theorg-import"]);
    for c in cold {
        assert!(c["ready_ms_median"].as_f64().unwrap() > 0.0, "{c}");
        assert!(c["peak_rss_mb"].as_f64().unwrap() > 1.0, "{c}");
    }

    let burst = &report["hire_burst"];
    assert_eq!(burst["hires"], 20, "{burst}");
    assert_eq!(burst["run_log_states"], serde_json::json!({"transferred": 20}), "every hire transferred once: {burst}");
    for key in ["ack_p50_ms", "ack_p99_ms", "profile_p50_s", "profile_p95_s", "projected_real_s"] {
        assert!(burst[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {burst}");
    }

    let syncs = report["syncs"].as_array().expect("syncs");
    assert_eq!(syncs.len(), 6, "a first sync and a re-sync for each of three jobs: {stdout}");
    for row in syncs {
        let name = row["scenario"].as_str().unwrap();
        assert_eq!(row["throttles"], 0, "{name} was throttled with the client limiter at the sandbox's limit");
        assert_eq!(row["runs"], 1, "{name}");
        assert_eq!(row["duplicates"], 0, "{name}");
        for (vendor, made) in row["calls"].as_object().unwrap() {
            // (A run split across invocations reads its lists again in each; this one is not.)
            assert_eq!(row["invocations"], 1, "{name}");
            assert_eq!(made, &row["needed"][vendor], "{name}: calls to {vendor} made vs needed");
            if name.contains("re-sync") {
                assert_eq!(made["writes"], 0, "{name}: {vendor} was written to");
            }
        }
        assert!(row["projected_real_s"].as_f64().is_some() && row["peak_rss_mb"].as_f64().unwrap() > 1.0);
    }
}
