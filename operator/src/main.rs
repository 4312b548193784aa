//! `hrctl`: the operator's command. Verifies connections, lists runs and record histories, invokes
//! any function locally with any event, and runs the whole bundle against the built-in sandbox.

mod demo;
mod functions;
mod print;

use clap::{Parser, Subcommand};
use platform::RunStatus;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hrctl",
    about = "Operate the HR integration bundle: verify, sync, status, runs, history, invoke, demo"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check every vendor connection of one function (or all), like the "Verify Connection" button.
    Verify {
        /// lever-hire-webhook, lessonly-sync, litmos-sync or theorg-import; all when omitted.
        #[arg(long)]
        function: Option<String>,
    },
    /// The latest runs, newest first, with their start and end times, status and counts.
    Runs {
        /// Only this job (e.g. `lessonly-sync` or `lessonly-sync.verify`).
        #[arg(long)]
        job: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// What happened to one record across runs, newest first ("what happened to Jane's record?").
    History {
        #[arg(long)]
        job: String,
        /// The source record id (Namely profile id, Lever opportunity id, ...).
        #[arg(long)]
        record: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Invokes a function's handler locally with an event, as Lambda would, and prints its answer.
    Invoke {
        function: String,
        /// The event JSON.
        #[arg(long, default_value = r#"{"action": "verify"}"#)]
        event: String,
    },
    /// Runs a function's job now (`--dry-run` plans it and writes nothing) and prints what it did.
    Sync {
        /// lessonly-sync, litmos-sync, theorg-import, or lever-hire-webhook (its retry sweep).
        function: String,
        #[arg(long)]
        dry_run: bool,
    },
    /// Each job's last completed sync with its timestamp and counts, and its last failure if later.
    Status,
    /// A run's sync log as CSV: every record, what happened, which fields changed (old → new).
    Export {
        /// The run id (see `hrctl runs`); the latest run of `--job` when omitted.
        #[arg(long)]
        run: Option<String>,
        #[arg(long, default_value = "litmos-sync")]
        job: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Starts the sandbox vendor APIs with a seeded tenant and runs every job against them,
    /// recording runs in the embedded run log. Needs no account and no AWS.
    Demo,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    platform::logging::init_terminal();
    let outcome = match cli.command {
        Command::Demo => demo::run().await,
        command => match app::Deps::from_env().await {
            Ok(deps) => run(command, &deps).await,
            Err(e) => Err(e.to_string()),
        },
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("hrctl: {message}");
            ExitCode::from(2)
        }
    }
}

/// Runs one command; `Ok(false)` when it worked but found a problem (a failed verification).
async fn run(command: Command, deps: &app::Deps) -> Result<bool, String> {
    match command {
        Command::Verify { function } => {
            let names = functions::select(function.as_deref())?;
            let mut all_ok = true;
            for name in names {
                let report = functions::verify(name, deps).await;
                print!("{report}");
                all_ok &= report.ok;
            }
            Ok(all_ok)
        }
        Command::Runs { job, limit } => {
            let runs = deps.runlog.latest_runs(job.as_deref(), limit).await.map_err(|e| e.to_string())?;
            print!("{}", print::runs_table(&runs));
            Ok(true)
        }
        Command::History { job, record, limit } => {
            let outcomes = deps.runlog.record_history(&job, &record, limit).await.map_err(|e| e.to_string())?;
            print!("{}", print::history(&job, &record, &outcomes));
            Ok(true)
        }
        Command::Invoke { function, event } => {
            let name = functions::select(Some(&function))?[0];
            let payload: serde_json::Value =
                serde_json::from_str(&event).map_err(|e| format!("--event is not valid JSON: {e}"))?;
            let answer = functions::invoke(name, deps, payload).await.map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string_pretty(&answer).unwrap_or_default());
            Ok(true)
        }
        Command::Sync { function, dry_run } => {
            let name = functions::select(Some(&function))?[0];
            let event = serde_json::json!({"action": "sync", "trigger": "manual", "dry_run": dry_run});
            let answer = functions::invoke(name, deps, event).await.map_err(|e| e.to_string())?;
            print!("{}", print::sync_summary(name, &answer));
            Ok(answer["status"] != "failed")
        }
        Command::Status => {
            let mut rows = Vec::new();
            for job in functions::ALL {
                let runs = deps.runlog.latest_runs(Some(job), 50).await.map_err(|e| e.to_string())?;
                let completed = runs.iter().find(|r| matches!(r.status, RunStatus::Succeeded | RunStatus::Partial));
                let failed = runs
                    .iter()
                    .find(|r| r.status == RunStatus::Failed)
                    .filter(|f| completed.is_none_or(|c| f.started_at > c.started_at));
                rows.push((job, completed.cloned(), failed.cloned()));
            }
            print!("{}", print::status_table(&rows));
            Ok(true)
        }
        Command::Export { run, job, output } => {
            let run_id = match run {
                Some(id) => id,
                None => deps
                    .runlog
                    .latest_runs(Some(&job), 1)
                    .await
                    .map_err(|e| e.to_string())?
                    .first()
                    .map(|r| r.run_id.clone())
                    .ok_or_else(|| format!("no run of {job} is recorded yet"))?,
            };
            let outcomes = deps.runlog.run_outcomes(&run_id).await.map_err(|e| e.to_string())?;
            if outcomes.is_empty() && deps.runlog.run(&run_id).await.map_err(|e| e.to_string())?.is_none() {
                return Err(format!("no run {run_id} in the run log (see `hrctl runs`)"));
            }
            let csv = print::outcomes_csv(&outcomes);
            match output {
                Some(path) => {
                    std::fs::write(&path, csv).map_err(|e| format!("could not write {}: {e}", path.display()))?;
                    eprintln!("wrote {} records of run {run_id} to {}", outcomes.len(), path.display());
                }
                None => print!("{csv}"),
            }
            Ok(true)
        }
        Command::Demo => demo::run().await,
    }
}
