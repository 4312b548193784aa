//! The sync scenarios: a seeded tenant, every vendor's client limiter set to the limit the sandbox
//! enforces, the function's release binary running as a Lambda container in its own process, a
//! first sync and a no-change re-sync, and the figures of each.

use crate::binaries::TempDir;
use crate::figures::{
    calls, percentile, throttles, Calls, LESSONLY_THROTTLES, LEVER_THROTTLES, LITMOS_THROTTLES, NAMELY_THROTTLES,
    THEORG_THROTTLES,
};
use crate::runtime_api::Container;
use crate::Options;
use sandbox::{RecordedRequest, Sandbox, Tenant, TenantSpec, VendorHandle};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::time::{Duration, Instant};

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
    /// How long the writes to that vendor went on, and their rate meanwhile.
    pub write_phase_s: f64,
    pub write_rate_per_s: f64,
    /// Throttle answers received from the sandbox (all vendors).
    pub throttles: u64,
    /// Peak resident memory of the function's process during the pass, MB.
    pub peak_rss_mb: f64,
    /// Invocations the pass took (a Litmos sync out of time continues in the next one).
    pub invocations: u32,
    /// Runs the pass recorded (one, however many invocations it took).
    pub runs: usize,
    /// Records in the target vendor that share a key with another (email, username, external id).
    pub duplicates: usize,
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
    /// The function's environment.
    env: HashMap<String, String>,
    dir: TempDir,
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
    let dir = TempDir::new("sync")?;
    let mut env: HashMap<String, String> = sb.env_vars().into_iter().collect();
    env.insert("LOCAL_STORE_PATH".into(), dir.path().join("runs.sqlite3").display().to_string());
    for (handle, var, per_minute) in limits {
        handle.set_latency(latency);
        handle.set_rate_limit(Some(per_minute));
        env.insert(var.into(), format!("{per_minute}/min,burst=1"));
    }
    // The syncs' budget per invocation shrinks with the rates, so a first sync needs as many
    // follow-up invocations as it would at the real limits.
    let budget = (platform::config::DEFAULT_TIME_BUDGET.as_secs() / u64::from(scale.max(1))).max(1);
    env.insert("LITMOS_TIME_BUDGET_SECONDS".into(), budget.to_string());
    env.insert("LESSONLY_TIME_BUDGET_SECONDS".into(), budget.to_string());
    Ok(Setup { sb, env, dir })
}

/// The rate of the writes while they went on: from the first write sent to the last answered.
fn write_phase(requests: &[RecordedRequest]) -> (f64, f64) {
    let writes: Vec<&RecordedRequest> = requests.iter().filter(|r| r.method != "GET").collect();
    let first = writes.iter().map(|r| r.received_at).min();
    let last = writes.iter().filter_map(|r| r.answered_at).max();
    match (first, last) {
        (Some(first), Some(last)) if last > first => {
            let span = last.duration_since(first).as_secs_f64();
            (span, writes.len() as f64 / span)
        }
        _ => (0.0, 0.0),
    }
}

/// Throttle answers from every vendor.
fn all_throttles(sb: &Sandbox) -> u64 {
    throttles(&sb.namely.requests(), NAMELY_THROTTLES)
        + throttles(&sb.lessonly.requests(), LESSONLY_THROTTLES)
        + throttles(&sb.litmos.requests(), LITMOS_THROTTLES)
        + throttles(&sb.lever.requests(), LEVER_THROTTLES)
        + throttles(&sb.theorg.requests(), THEORG_THROTTLES)
}

fn clear(sb: &Sandbox) {
    for h in [&sb.namely, &sb.lessonly, &sb.litmos, &sb.lever, &sb.theorg] {
        h.clear_requests();
    }
}

fn pages(items: usize, per_page: usize) -> u64 {
    items.div_ceil(per_page).max(1) as u64
}

/// Runs one scenario: the first sync and a re-sync with nothing changed, each in a new container.
pub async fn run(name: &str, options: &Options, bin_dir: &std::path::Path) -> Result<Vec<Row>, String> {
    let s = setup(options).await?;
    let binary = bin_dir.join(match name {
        "lessonly" => "lessonly-sync",
        "litmos" => "litmos-sync",
        _ => "theorg-import",
    });
    let mut rows = Vec::new();
    for pass in ["first", "no-change re-sync"] {
        clear(&s.sb);
        let lessonly_before = s.sb.lessonly_data();
        // The lists read at the start of the run are as long as the vendor's data before it.
        let users_before = lessonly_before.users.len();
        let learners_before = s.sb.litmos_data().users.len();
        let container = Container::start(&binary, &s.env, s.dir.path()).await?;
        let started = Instant::now();
        let mut answer = container.invoke(json!({"action": "sync", "trigger": "manual"})).await?;
        let mut invocations = 1;
        let mut run_ids = vec![answer["run_id"].clone()];
        // A run out of time continues in the next invocation, as the schedule would start it.
        while answer["status"] == "continuing" {
            answer = container.invoke(json!({"action": "sync", "continue_only": true})).await?;
            invocations += 1;
            run_ids.push(answer["run_id"].clone());
        }
        run_ids.dedup();
        let wall = started.elapsed().as_secs_f64();
        if answer["status"] != "succeeded" {
            return Err(format!("{name} {pass}: {answer}"));
        }
        let counts = answer["counts"].clone();
        let n = |k: &str| counts[k].as_u64().unwrap_or(0);
        let mut made = BTreeMap::new();
        let mut needed = BTreeMap::new();
        let profiles = s.sb.namely_data().profiles.len();
        let limited = match name {
            "lessonly" => s.sb.lessonly.requests(),
            "litmos" => s.sb.litmos.requests(),
            _ => s.sb.theorg.requests(),
        };
        let (write_phase_s, write_rate_per_s) = write_phase(&limited);
        if options.breakdown {
            eprint!("{}", breakdown(&format!("{name} {pass}"), &s.sb));
        }
        let (bound_by, limit_per_s, limited_calls, projected) = match name {
            "lessonly" => {
                made.insert("Namely".to_string(), calls(&s.sb.namely.requests()));
                made.insert("Lessonly".to_string(), calls(&s.sb.lessonly.requests()));
                let groups = s.sb.namely_data().groups.len();
                let lessonly_after = s.sb.lessonly_data();
                needed.insert("Namely".into(), Calls { reads: pages(profiles, 50) + pages(groups, 50) + 2, writes: 0 });
                needed.insert(
                    "Lessonly".into(),
                    Calls {
                        reads: pages(users_before, 1000) + 1,
                        writes: lessonly_writes_needed(&lessonly_before, &lessonly_after),
                    },
                );
                let lessonly = made["Lessonly"];
                // As for Litmos: each invocation waits for the directory and a first page, then the
                // slower of Namely's reads and Lessonly's calls sets the pace.
                let namely = made["Namely"].reads as f64 / NAMELY_PER_S;
                let lessonly_s = (lessonly.reads + lessonly.writes) as f64 / LESSONLY_PER_S;
                let projected = f64::from(invocations) * 3.0 / NAMELY_PER_S + namely.max(lessonly_s);
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
                // Namely's pages are read while Litmos is written: each invocation waits only for
                // the field list and its first page, then the slower of the two sets the pace.
                let namely = made["Namely"].reads as f64 / NAMELY_PER_S;
                let litmos_s = (litmos.reads + litmos.writes) as f64 / LITMOS_PER_S;
                let projected = f64::from(invocations) * 2.0 / NAMELY_PER_S + namely.max(litmos_s);
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
            write_phase_s,
            write_rate_per_s,
            throttles: all_throttles(&s.sb),
            peak_rss_mb: container.peak_rss_mb(),
            invocations,
            runs: run_ids.len(),
            duplicates: duplicates(name, &s.sb),
            projected_real_s: projected,
            counts,
        });
    }
    Ok(rows)
}

/// Calls per vendor, method and path (ids folded), and the sandbox's answer times, for finding where
/// a run's calls and time go.
fn breakdown(label: &str, sb: &Sandbox) -> String {
    let mut out = format!("{label}: calls by endpoint\n");
    for (vendor, h) in [
        ("Namely", &sb.namely),
        ("Lessonly", &sb.lessonly),
        ("Litmos", &sb.litmos),
        ("Lever", &sb.lever),
        ("The Org", &sb.theorg),
    ] {
        let requests = h.requests();
        if requests.is_empty() {
            continue;
        }
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for r in &requests {
            let path: Vec<&str> =
                r.path.split('/').map(|p| if p.len() > 12 || p.parse::<u64>().is_ok() { ":id" } else { p }).collect();
            *kinds.entry(format!("{} {}", r.method, path.join("/"))).or_default() += 1;
        }
        let mut answer_ms: Vec<f64> = requests
            .iter()
            .filter_map(|r| r.answered_at.map(|a| a.duration_since(r.received_at).as_secs_f64() * 1000.0))
            .collect();
        let (p50, p99) = (percentile(&mut answer_ms, 0.50), percentile(&mut answer_ms, 0.99));
        let _ = writeln!(out, "  {vendor}: answered in p50 {p50:.1} ms, p99 {p99:.1} ms (latency included)");
        for (kind, count) in kinds {
            let _ = writeln!(out, "    {count:>6}  {kind}");
        }
        // Where the writes stalled: the longest pauses between one write and the next.
        let mut writes: Vec<std::time::Instant> =
            requests.iter().filter(|r| r.method != "GET").map(|r| r.received_at).collect();
        writes.sort();
        if let Some(&first) = writes.first() {
            let mut gaps: Vec<(f64, f64)> = writes
                .windows(2)
                .map(|w| (w[1].duration_since(w[0]).as_secs_f64(), w[0].duration_since(first).as_secs_f64()))
                .collect();
            gaps.sort_by(|a, b| b.0.total_cmp(&a.0));
            let longest: Vec<String> =
                gaps.iter().take(3).map(|(gap, at)| format!("{gap:.2} s at {at:.1} s")).collect();
            let _ = writeln!(out, "    longest pauses between writes: {}", longest.join(", "));
        }
    }
    out
}

/// The fewest Lessonly writes that turn `before` into `after`: one per new user or group; for an
/// existing one, a restore or an archive (each its own call) and one call for any other change.
fn lessonly_writes_needed(before: &sandbox::LessonlyData, after: &sandbox::LessonlyData) -> u64 {
    let old_users: HashMap<i64, &Value> = before.users.iter().filter_map(|u| Some((u["id"].as_i64()?, u))).collect();
    let state_keys = ["archived_at", "archived_by_user_id", "groups"];
    let mut writes = 0u64;
    for user in &after.users {
        let Some(old) = user["id"].as_i64().and_then(|id| old_users.get(&id)) else {
            writes += 1;
            continue;
        };
        writes += u64::from(old["archived_at"].is_null() != user["archived_at"].is_null());
        let changed = user
            .as_object()
            .into_iter()
            .flatten()
            .any(|(k, v)| !state_keys.contains(&k.as_str()) && old.get(k) != Some(v));
        writes += u64::from(changed);
    }
    for group in &after.groups {
        match before.groups.iter().find(|g| g.id == group.id) {
            None => writes += 1,
            Some(old) => {
                writes += u64::from(old.archived_at.is_some() != group.archived_at.is_some());
                writes += u64::from(old.members != group.members || old.managers != group.managers);
            }
        }
    }
    writes
}

/// Records of the job's target vendor that share their key with another one.
fn duplicates(name: &str, sb: &Sandbox) -> usize {
    let (records, key) = match name {
        "lessonly" => (sb.lessonly_data().users, "email"),
        "litmos" => (sb.litmos_data().users, "UserName"),
        _ => (sb.theorg_data().jobs, "externalId"),
    };
    let keys: Vec<String> = records.iter().map(|r| r[key].to_string().to_lowercase()).collect();
    let unique: std::collections::HashSet<&String> = keys.iter().collect();
    keys.len() - unique.len()
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
        if row.write_phase_s > 0.0 {
            let _ = writeln!(
                out,
                "  writes           {:.1}/s over {:.1} s ({:.0}% of the limit)",
                row.write_rate_per_s,
                row.write_phase_s,
                if row.limit_per_s > 0.0 { 100.0 * row.write_rate_per_s / row.limit_per_s } else { 0.0 }
            );
        }
        let _ = writeln!(out, "  throttle answers {}", row.throttles);
        let _ = writeln!(out, "  peak RSS         {:.1} MB (the function's process)", row.peak_rss_mb);
        let _ =
            writeln!(out, "  invocations      {} ({} run, {} duplicates)", row.invocations, row.runs, row.duplicates);
        let _ =
            writeln!(out, "  at real limits   {:.0} s ({:.1} min)", row.projected_real_s, row.projected_real_s / 60.0);
        let _ = writeln!(out, "  outcome          {}", row.counts);
    }
    out
}
