//! `bench`: measures every job against the sandbox vendor APIs on loopback, with a per-request
//! latency so wall times include network time, and prints what it measured:
//!
//! - `cold`: each function's release binary started against a local Lambda runtime API: time from
//!   process start to its first request for an invocation, and peak RSS after one invocation.
//! - `hire`: signed deliveries to the webhook handler, many at a time, queued and worked the way the
//!   template deploys it: acknowledgement latency and time from delivery to Namely profile.
//! - `lessonly`, `litmos`, `theorg`: the function binary's first sync and a no-change re-sync, with
//!   calls per vendor and kind next to the minimum the scenario needs, achieved request rate next to
//!   the configured limit, throttle answers, the function's peak RSS, wall time, and the wall time
//!   projected at the vendors' real published limits.
//!
//! `cargo run --release -p bench -- [--json] [--scenario all|cold|hire|lessonly|litmos|theorg]`

mod binaries;
mod figures;
mod hire;
mod runtime_api;
mod scenarios;

use clap::Parser;
use serde::Serialize;

#[derive(Parser, Debug, Clone)]
#[command(name = "bench", about = "Benchmark every job against the sandbox at the vendors' rate limits")]
pub struct Options {
    /// all, or one of cold, hire, lessonly, litmos, theorg (comma-separated for several).
    #[arg(long, default_value = "all")]
    pub scenario: String,
    /// Namely employees in the seeded tenant.
    #[arg(long, default_value_t = 10_000)]
    pub employees: usize,
    /// Lever postings in the seeded tenant.
    #[arg(long, default_value_t = 2_000)]
    pub postings: usize,
    /// Signed hire deliveries in the hire burst.
    #[arg(long, default_value_t = 500)]
    pub hires: usize,
    /// Hire deliveries in flight at once.
    #[arg(long, default_value_t = 50)]
    pub hire_concurrency: usize,
    /// Latency the sandbox adds to every answer, in milliseconds.
    #[arg(long, default_value_t = 10)]
    pub latency_ms: u64,
    /// The published per-minute limits are multiplied by this for the run (60 turns "per minute"
    /// into "per second"), and the sandbox enforces the same scaled limit; projections use the real
    /// ones.
    #[arg(long, default_value_t = 60)]
    pub rate_scale: u32,
    /// Directory holding the functions' binaries (default: next to this binary, built if missing).
    #[arg(long)]
    pub bin_dir: Option<std::path::PathBuf>,
    /// Also print, on stderr, each sync's calls by endpoint and the sandbox's answer times.
    #[arg(long)]
    pub breakdown: bool,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

const SCENARIOS: [&str; 5] = ["cold", "hire", "lessonly", "litmos", "theorg"];

/// Everything measured, in the order run.
#[derive(Debug, Default, Serialize)]
struct Report {
    cold_start: Vec<runtime_api::ColdStart>,
    hire_burst: Option<hire::HireBurst>,
    syncs: Vec<scenarios::Row>,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> std::process::ExitCode {
    let options = Options::parse();
    let wanted: Vec<&str> = if options.scenario == "all" {
        SCENARIOS.to_vec()
    } else {
        options.scenario.split(',').map(str::trim).collect()
    };
    if let Some(other) = wanted.iter().find(|w| !SCENARIOS.contains(w)) {
        eprintln!("bench: unknown scenario '{other}': use all, or one or more of {}", SCENARIOS.join(", "));
        return std::process::ExitCode::from(2);
    }
    let needs_binaries = wanted.iter().any(|w| *w != "hire");
    let bin_dir = if needs_binaries {
        match binaries::locate(options.bin_dir.as_deref()) {
            Ok(dir) => Some(dir),
            Err(e) => {
                eprintln!("bench: {e}");
                return std::process::ExitCode::from(1);
            }
        }
    } else {
        None
    };
    let mut report = Report::default();
    for name in wanted {
        eprintln!(
            "bench: running {name} ({} employees, {} postings, {} hires, {} ms latency)…",
            options.employees, options.postings, options.hires, options.latency_ms
        );
        let outcome = match (name, &bin_dir) {
            ("hire", _) => hire::run(&options).await.map(|b| report.hire_burst = Some(b)),
            ("cold", Some(dir)) => {
                runtime_api::cold_starts(dir).await.map(|mut rows| report.cold_start.append(&mut rows))
            }
            (sync, Some(dir)) => {
                scenarios::run(sync, &options, dir).await.map(|mut rows| report.syncs.append(&mut rows))
            }
            (_, None) => Err("no function binaries".to_string()),
        };
        if let Err(e) = outcome {
            eprintln!("bench: {name} failed: {e}");
            return std::process::ExitCode::from(1);
        }
    }
    if options.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print!("{}", runtime_api::table(&report.cold_start));
        if let Some(burst) = &report.hire_burst {
            print!("{}", hire::table(burst));
        }
        print!("{}", scenarios::table(&report.syncs));
    }
    std::process::ExitCode::SUCCESS
}
