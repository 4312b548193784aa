//! The sync scenarios: a seeded tenant, every vendor's client limiter set to the limit the sandbox
//! enforces, a first sync and a no-change re-sync, and the figures of each.

use crate::Options;
use app::Deps;
use platform::runlog::SqliteRunLog;
use platform::{Config, SecretStore};
use sandbox::{RecordedRequest, Sandbox, Tenant, TenantSpec, VendorHandle};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Read and write calls to one vendor.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Calls {
    pub reads: u64,
    pub writes: u64,
}

/// One measured run.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub scenario: String,
    pub wall_s: f64,
    /// Calls made, per vendor.
    pub calls: BTreeMap<String, Calls>,
    /// The fewest calls the scenario needs, per vendor.
    pub needed: BTreeMap<String, Calls>,
    /// The vendor whose limit bounds the run, its configured limit and the rate achieved against it.
    pub bound_by: String,
    pub limit_per_s: f64,
    pub achieved_per_s: f64,
    /// Throttle answers received from the sandbox (all vendors).
    pub throttles: u64,
    /// Peak resident memory of the bench process (the in-process sandbox included), MB.
    pub peak_rss_mb: f64,
    /// Wall time at the vendors' real published limits.
    pub projected_real_s: f64,
    pub counts: Value,
}

/// Published limits (requests per second) of the limited calls.
const NAMELY_PER_S: f64 = 100.0 / 60.0;
const LESSONLY_PER_S: f64 = 500.0 / 60.0;
const LITMOS_PER_S: f64 = 100.0 / 60.0;
const LEVER_PER_S: f64 = 10.0;
const THEORG_PER_S: f64 = 15.0;
/// The Litmos client's page size (`limit`).
const LITMOS_PAGE: usize = 500;

struct Setup {
    sb: Sandbox,
    deps: Deps,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scaled(per_minute: f64, scale: u32) -> u32 {
    (per_minute * f64::from(scale)).round() as u32
}

async fn setup(options: &Options) -> Result<Setup, String> {
    let spec = TenantSpec { seed: 42, employees: options.employees, opportunities: 2, postings: options.postings };
    let sb = Sandbox::start(Tenant::generate(&spec)).await.map_err(|e| e.to_string())?;
    let latency = (options.latency_ms > 0).then(|| Duration::from_millis(options.latency_ms));
    let scale = options.rate_scale;
    // Each vendor's sandbox enforces the (scaled) limit the client is configured with; burst 1,
    // so that no sliding minute ever holds more than the limit.
    let limits: [(&VendorHandle, &str, u32); 5] = [
        (&sb.namely, "NAMELY_RATE_LIMIT", scaled(100.0, scale)),
        (&sb.lessonly, "LESSONLY_RATE_LIMIT", scaled(500.0, scale)),
        (&sb.litmos, "LITMOS_RATE_LIMIT", scaled(100.0, scale)),
        (&sb.lever, "LEVER_RATE_LIMIT", 600),
        (&sb.theorg, "THEORG_RATE_LIMIT", 900),
    ];
    let dir = TempDir(std::env::temp_dir().join(format!("bench-{}", uuid::Uuid::new_v4())));
    let mut env: HashMap<String, String> = sb.env_vars().into_iter().collect();
    env.insert("LOCAL_STORE_PATH".into(), dir.0.join("runs.sqlite3").display().to_string());
    for (handle, var, per_minute) in limits {
        handle.set_latency(latency);
        handle.set_rate_limit(Some(per_minute));
        env.insert(var.into(), format!("{per_minute}/min,burst=1"));
    }
    let config = Config::from_lookup(|k| env.get(k).cloned()).map_err(|e| e.to_string())?;
    let secrets = SecretStore::with_lookup(&config, None, |k| env.get(k).cloned());
    let runlog = SqliteRunLog::open(&config.local_store_path).map_err(|e| e.to_string())?;
    let deps = Deps::new(config, secrets, Arc::new(runlog));
    Ok(Setup { sb, deps, _dir: dir })
}

fn calls(requests: &[RecordedRequest]) -> Calls {
    let reads = requests.iter().filter(|r| r.method == "GET").count() as u64;
    Calls { reads, writes: requests.len() as u64 - reads }
}

fn throttles(sb: &Sandbox) -> u64 {
    let count = |h: &VendorHandle, statuses: &[u16]| {
        h.requests().iter().filter(|r| statuses.contains(&r.status)).count() as u64
    };
    count(&sb.namely, &[406, 429])
        + count(&sb.lessonly, &[403])
        + count(&sb.litmos, &[503, 429])
        + count(&sb.lever, &[429])
        + count(&sb.theorg, &[429])
}

fn clear(sb: &Sandbox) {
    for h in [&sb.namely, &sb.lessonly, &sb.litmos, &sb.lever, &sb.theorg] {
        h.clear_requests();
    }
}

/// Peak resident set size of this process so far (VmHWM), in MB.
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn pages(items: usize, per_page: usize) -> u64 {
    items.div_ceil(per_page).max(1) as u64
}

/// Runs one scenario: the first sync and a re-sync with nothing changed.
pub async fn run(name: &str, options: &Options) -> Result<Vec<Row>, String> {
    let s = setup(options).await?;
    let mut rows = Vec::new();
    for pass in ["first", "no-change re-sync"] {
        clear(&s.sb);
        let before_groups = s.sb.lessonly_data().groups;
        // The lists read at the start of the run are as long as the vendor's data before it.
        let users_before = s.sb.lessonly_data().users.len();
        let learners_before = s.sb.litmos_data().users.len();
        let event = json!({"action": "sync", "trigger": "manual"});
        let started = Instant::now();
        let answer = match name {
            "lessonly" => {
                let settings =
                    lessonly_sync::settings::LessonlySettings::from_lookup(|_| None).map_err(|e| e.to_string())?;
                lessonly_sync::handle_with(&s.deps, &settings, event).await
            }
            "litmos" => {
                let settings =
                    litmos_sync::settings::LitmosSettings::from_lookup(|_| None).map_err(|e| e.to_string())?;
                let mut answer = litmos_sync::handle_with(&s.deps, &settings, event).await;
                // A run out of time continues in the next invocation, as the schedule would.
                while matches!(&answer, Ok(a) if a["status"] == "continuing") {
                    let next = json!({"action": "sync", "continue_only": true});
                    answer = litmos_sync::handle_with(&s.deps, &settings, next).await;
                }
                answer
            }
            _ => {
                let settings =
                    theorg_import::settings::TheOrgSettings::from_lookup(|_| None).map_err(|e| e.to_string())?;
                theorg_import::handle_with(&s.deps, &settings, event).await
            }
        }
        .map_err(|e| e.to_string())?;
        let wall = started.elapsed().as_secs_f64();
        if answer["status"] != "succeeded" {
            return Err(format!("{name} {pass}: {answer}"));
        }
        let counts = answer["counts"].clone();
        let n = |k: &str| counts[k].as_u64().unwrap_or(0);
        let mut made = BTreeMap::new();
        let mut needed = BTreeMap::new();
        let profiles = s.sb.namely_data().profiles.len();
        let (bound_by, limit_per_s, limited_calls, projected) = match name {
            "lessonly" => {
                made.insert("Namely".to_string(), calls(&s.sb.namely.requests()));
                made.insert("Lessonly".to_string(), calls(&s.sb.lessonly.requests()));
                let groups = s.sb.namely_data().groups.len();
                // Every group whose members changed needs one call (or its create).
                let after = s.sb.lessonly_data().groups;
                let changed_groups = after
                    .iter()
                    .filter(|g| before_groups.iter().find(|b| b.id == g.id).is_none_or(|b| b.members != g.members))
                    .count() as u64;
                needed.insert("Namely".into(), Calls { reads: pages(profiles, 50) + pages(groups, 50) + 2, writes: 0 });
                needed.insert(
                    "Lessonly".into(),
                    Calls {
                        reads: pages(users_before, 1000) + 1,
                        writes: n("created") + n("updated") + changed_groups,
                    },
                );
                let lessonly = made["Lessonly"];
                let projected = pages(profiles, 50) as f64 / NAMELY_PER_S
                    + (lessonly.reads + lessonly.writes) as f64 / LESSONLY_PER_S;
                (
                    "Lessonly",
                    f64::from(scaled(500.0, options.rate_scale)) / 60.0,
                    lessonly.reads + lessonly.writes,
                    projected,
                )
            }
            "litmos" => {
                made.insert("Namely".to_string(), calls(&s.sb.namely.requests()));
                made.insert("Litmos".to_string(), calls(&s.sb.litmos.requests()));
                needed.insert("Namely".into(), Calls { reads: pages(profiles, 50) + 1, writes: 0 });
                // An update is read-change-write: one GET and one PUT.
                // Litmos pages end with an empty page; an update is read-change-write (GET and PUT).
                needed.insert(
                    "Litmos".into(),
                    Calls {
                        reads: learners_before.div_ceil(LITMOS_PAGE) as u64 + 1 + n("updated"),
                        writes: n("created") + n("updated"),
                    },
                );
                let litmos = made["Litmos"];
                let projected =
                    pages(profiles, 50) as f64 / NAMELY_PER_S + (litmos.reads + litmos.writes) as f64 / LITMOS_PER_S;
                ("Litmos", f64::from(scaled(100.0, options.rate_scale)) / 60.0, litmos.reads + litmos.writes, projected)
            }
            _ => {
                made.insert("Lever".to_string(), calls(&s.sb.lever.requests()));
                made.insert("The Org".to_string(), calls(&s.sb.theorg.requests()));
                // Two listings: every posting Lever shows by default, and those on the internal channel
                // (published internal-only postings are hidden from the first).
                let lever = s.sb.lever_data();
                let channel =
                    |p: &Value, c: &str| p["distributionChannels"].as_array().is_some_and(|a| a.contains(&json!(c)));
                let hidden = |p: &Value| p["state"] == "published" && channel(p, "internal") && !channel(p, "public");
                let shown = lever.postings.iter().filter(|p| !hidden(p)).count();
                let internal = lever.postings.iter().filter(|p| channel(p, "internal")).count();
                needed.insert("Lever".into(), Calls { reads: pages(shown, 100) + pages(internal, 100), writes: 0 });
                let roles = &answer["roles"];
                let r = |k: &str| roles[k].as_u64().unwrap_or(0);
                let list = u64::from(r("updated") > 0);
                needed
                    .insert("The Org".into(), Calls { reads: list, writes: r("added") + r("updated") + r("removed") });
                let (lever, theorg) = (made["Lever"], made["The Org"]);
                let projected = lever.reads as f64 / LEVER_PER_S + (theorg.reads + theorg.writes) as f64 / THEORG_PER_S;
                ("The Org", 15.0, theorg.reads + theorg.writes, projected)
            }
        };
        let achieved = if wall > 0.0 { limited_calls as f64 / wall } else { 0.0 };
        let size =
            if name == "theorg" { format!("{} postings", options.postings) } else { format!("{profiles} employees") };
        rows.push(Row {
            scenario: format!("{name} {pass} ({size})"),
            wall_s: wall,
            calls: made,
            needed,
            bound_by: bound_by.into(),
            limit_per_s,
            achieved_per_s: achieved,
            throttles: throttles(&s.sb),
            peak_rss_mb: peak_rss_mb(),
            projected_real_s: projected,
            counts,
        });
    }
    Ok(rows)
}

fn calls_text(map: &BTreeMap<String, Calls>) -> String {
    map.iter().map(|(v, c)| format!("{v} {}r/{}w", c.reads, c.writes)).collect::<Vec<_>>().join(", ")
}

/// The rows as a table.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    for row in rows {
        let _ = writeln!(out, "{}", row.scenario);
        let _ = writeln!(out, "  wall time        {:.1} s", row.wall_s);
        let _ = writeln!(out, "  calls made       {}", calls_text(&row.calls));
        let _ = writeln!(out, "  calls needed     {}", calls_text(&row.needed));
        let _ = writeln!(
            out,
            "  rate vs limit    {:.1}/s of {:.1}/s on {} ({:.0}%)",
            row.achieved_per_s,
            row.limit_per_s,
            row.bound_by,
            if row.limit_per_s > 0.0 { 100.0 * row.achieved_per_s / row.limit_per_s } else { 0.0 }
        );
        let _ = writeln!(out, "  throttle answers {}", row.throttles);
        let _ = writeln!(out, "  peak RSS         {:.1} MB (bench process, sandbox included)", row.peak_rss_mb);
        let _ =
            writeln!(out, "  at real limits   {:.0} s ({:.1} min)", row.projected_real_s, row.projected_real_s / 60.0);
        let _ = writeln!(out, "  outcome          {}", row.counts);
    }
    out
}
