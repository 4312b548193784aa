//! `bench`: runs each sync against the sandbox vendor APIs on loopback, with a per-request latency
//! so wall times include network time, and prints what it measured: calls per vendor and kind next
//! to the minimum the scenario needs, achieved request rate next to the configured limit, throttle
//! answers, peak RSS, wall time, and the wall time projected at the vendors' real published limits.
//!
//! `cargo run --release -p bench -- [--json] [--scenario all|lessonly|litmos|theorg]`

mod scenarios;

use clap::Parser;

#[derive(Parser, Debug, Clone)]
#[command(name = "bench", about = "Benchmark every job against the sandbox at the vendors' rate limits")]
pub struct Options {
    /// all, lessonly, litmos or theorg.
    #[arg(long, default_value = "all")]
    pub scenario: String,
    /// Namely employees in the seeded tenant.
    #[arg(long, default_value_t = 10_000)]
    pub employees: usize,
    /// Lever postings in the seeded tenant.
    #[arg(long, default_value_t = 2_000)]
    pub postings: usize,
    /// Latency the sandbox adds to every answer, in milliseconds.
    #[arg(long, default_value_t = 10)]
    pub latency_ms: u64,
    /// The published limits are multiplied by this for the run (60 turns "per minute" into "per
    /// second"), and the sandbox enforces the same scaled limit; projections use the real ones.
    #[arg(long, default_value_t = 60)]
    pub rate_scale: u32,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> std::process::ExitCode {
    let options = Options::parse();
    let wanted: Vec<&str> = match options.scenario.as_str() {
        "all" => vec!["lessonly", "litmos", "theorg"],
        one @ ("lessonly" | "litmos" | "theorg") => vec![one],
        other => {
            eprintln!("bench: unknown scenario '{other}': use all, lessonly, litmos or theorg");
            return std::process::ExitCode::from(2);
        }
    };
    let mut results = Vec::new();
    for name in wanted {
        eprintln!(
            "bench: running {name} ({} employees, {} postings, {} ms latency)…",
            options.employees, options.postings, options.latency_ms
        );
        match scenarios::run(name, &options).await {
            Ok(mut rows) => results.append(&mut rows),
            Err(e) => {
                eprintln!("bench: {name} failed: {e}");
                return std::process::ExitCode::from(1);
            }
        }
    }
    if options.json {
        println!("{}", serde_json::to_string_pretty(&results).unwrap_or_default());
    } else {
        print!("{}", scenarios::table(&results));
    }
    std::process::ExitCode::SUCCESS
}
