//! `hrctl`: the operator's command. Verifies connections, runs syncs, lists runs and record
//! histories, exports sync logs, invokes any function locally with any event, runs the whole bundle
//! against the built-in sandbox, and serves the sandbox for the functions under the Lambda emulator.

mod demo;
mod functions;
mod print;
mod sandbox;

use clap::{Parser, Subcommand};
use platform::RunStatus;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hrctl",
    version,
    about = "Operate the HR integration bundle: verify, sync, status, runs, history, export, invoke, demo, sandbox",
    long_about = "Operate the HR integration bundle.\n\nhrctl reads the same environment as the functions: with \
                  RUNS_TABLE and AWS credentials it reads the deployed run log (DynamoDB), without them the \
                  embedded one (.hr-bundle/runs.sqlite3). Exit status: 0 when everything checked out, 1 when \
                  a verification failed or a sync failed or left records failed, 2 when the command could \
                  not run."
)]
struct Cli {
    /// Read settings from this dotenv file first (KEY=value lines; its values win over the shell's),
    /// e.g. the `.hr-bundle/sandbox.env` that `hrctl sandbox` writes. Goes before the command.
    #[arg(long, value_name = "PATH")]
    env_file: Option<PathBuf>,
    /// The embedded run log's file (the same as LOCAL_STORE_PATH), e.g. `.hr-bundle/demo/runs.sqlite3`.
    /// Goes before the command.
    #[arg(long, value_name = "PATH")]
    local_store: Option<PathBuf>,
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
        /// How many runs to list.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// What happened to a record across runs, newest first ("what happened to Jane's record?").
    History {
        /// Only this job (lessonly-sync, litmos-sync, theorg-import, lever-hire-webhook); every job when omitted.
        #[arg(long)]
        job: Option<String>,
        /// The record: its id (Namely profile id, Lever opportunity or posting id), or part of the
        /// person's name or e-mail (any case); every matching record is listed with its history.
        #[arg(long)]
        record: String,
        /// How many outcomes to show per record.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Invokes a function's handler locally with an event, as Lambda would, and prints its answer.
    Invoke {
        /// lever-hire-webhook, lessonly-sync, litmos-sync or theorg-import.
        function: String,
        /// The event JSON.
        #[arg(long, default_value = r#"{"action": "verify"}"#)]
        event: String,
    },
    /// Runs a function's job now (`--dry-run` plans it and writes nothing) and prints what it did.
    /// Exits 1 when the run failed or some records failed.
    Sync {
        /// lessonly-sync, litmos-sync, theorg-import, or lever-hire-webhook (its retry sweep).
        function: String,
        /// Plan the sync and print the plan; write nothing to the vendor.
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
        /// The job whose latest run is exported when `--run` is not given.
        #[arg(long, default_value = "litmos-sync")]
        job: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Starts the sandbox vendor APIs with the demo tenant and runs every job against them, in a
    /// run log of its own (.hr-bundle/demo/runs.sqlite3, new each time). Needs no account and no AWS.
    Demo,
    /// Serves the five sandbox vendor APIs (the demo tenant) until Ctrl-C, and writes the environment
    /// that points any function at them, for `cargo lambda watch --env-file`.
    Sandbox {
        /// Write the environment to this dotenv file (beside it: the secrets file, the run log and a
        /// signed Lever hire delivery); print it on standard output when omitted.
        #[arg(long, value_name = "PATH")]
        env_file: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    platform::logging::init_terminal();
    // Before the runtime starts its threads: the environment is set while only this thread runs.
    if let Err(message) = apply_settings(&cli) {
        eprintln!("hrctl: {message}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hrctl: could not start: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Demo => demo::run().await,
            Command::Sandbox { env_file } => sandbox::run(env_file).await,
            command => match app::Deps::from_env().await {
                Ok(deps) => run(command, &deps).await,
                Err(e) => Err(e.to_string()),
            },
        }
    });
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("hrctl: {message}");
            ExitCode::from(2)
        }
    }
}

/// Puts `--env-file`'s settings and `--local-store` into the environment the functions read.
fn apply_settings(cli: &Cli) -> Result<(), String> {
    if let Some(path) = &cli.env_file {
        let items =
            dotenvy::from_path_iter(path).map_err(|e| format!("could not read --env-file {}: {e}", path.display()))?;
        for item in items {
            let (key, value) =
                item.map_err(|e| format!("--env-file {} has a line that is not KEY=value: {e}", path.display()))?;
            // SAFETY: no other thread exists yet (the runtime starts after this).
            std::env::set_var(key, value);
        }
    }
    if let Some(path) = &cli.local_store {
        std::env::set_var("LOCAL_STORE_PATH", path);
    }
    Ok(())
}

/// Runs one command; `Ok(false)` when it worked but found a problem (a failed verification or sync).
async fn run(command: Command, deps: &app::Deps) -> Result<bool, String> {
    let says_run_log = matches!(
        command,
        Command::Runs { .. }
            | Command::History { .. }
            | Command::Status
            | Command::Export { .. }
            | Command::Sync { .. }
    );
    if says_run_log {
        eprintln!("run log: {}", platform::runlog::describe(&deps.config));
    }
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
            let found = deps.runlog.find_records(job.as_deref(), &record, 20).await.map_err(|e| e.to_string())?;
            let mut histories = Vec::with_capacity(found.len());
            for m in &found {
                let outcomes =
                    deps.runlog.record_history(&m.job, &m.record_id, limit).await.map_err(|e| e.to_string())?;
                histories.push((m, outcomes));
            }
            print!("{}", print::histories(job.as_deref(), &record, &histories));
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
            // A cron job or a script must notice records that failed, not only a failed run.
            let status = answer["status"].as_str().unwrap_or("");
            Ok(status != RunStatus::Failed.as_str() && status != RunStatus::Partial.as_str())
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
        Command::Demo | Command::Sandbox { .. } => Err("this command does not use the configured run log".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_help_names_every_subcommand_and_explains_every_option() {
        let cli = Cli::command();
        cli.clone().debug_assert();
        let about = cli.get_about().map(ToString::to_string).unwrap_or_default();
        for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
            assert!(about.contains(sub.get_name()), "the about line does not name `{}`: {about}", sub.get_name());
            assert!(sub.get_about().is_some(), "`{}` has no help text", sub.get_name());
            for arg in sub.get_arguments().filter(|a| !["help", "version"].contains(&a.get_id().as_str())) {
                assert!(arg.get_help().is_some(), "`hrctl {} --{}` has no help text", sub.get_name(), arg.get_id());
            }
        }
        for arg in cli.get_arguments().filter(|a| !["help", "version"].contains(&a.get_id().as_str())) {
            assert!(arg.get_help().is_some(), "`hrctl --{}` has no help text", arg.get_id());
        }
    }
}
