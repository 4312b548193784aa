//! One sync run, possibly across several invocations: read Namely and Litmos, plan (pure, in the
//! mapping crate), apply in Namely-id order, and record every employee's outcome. When the time
//! budget runs out the run saves its place (the last Namely id it finished) and the next invocation
//! continues the same run.

use crate::settings::LitmosSettings;
use crate::FUNCTION;
use app::{Deps, RunLease};
use connectors::litmos::{LitmosClient, User};
use connectors::namely::{field_key_by_label, Profile, ProfileFilter};
use futures::StreamExt;
use mapping::litmos::{plan, Employee, LearnerAction, LearnerFields, LearnerState, Link, Office};
use platform::runlog::ShardedMap;
use platform::{Action, Outcome, Run, Trigger};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Instant;

/// The checkpoint that holds an unfinished run's place.
const PROGRESS: &str = "litmos-sync.progress";
/// Which learner belongs to which Namely id, and the fingerprint of the fields last sent to it.
type Links = ShardedMap<Link>;
const LINKS: &str = "litmos-sync.links";
/// Requests in flight at once while applying the plan.
const IN_FLIGHT: usize = 16;
/// Outcomes are written in batches of this size, so a run that stops keeps what it did.
const OUTCOME_BATCH: usize = 25;

/// What a run was asked to do.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    pub trigger: Trigger,
    pub dry_run: bool,
    /// Only continue an unfinished run; start nothing new (the frequent continuation schedule).
    pub continue_only: bool,
}

/// Where an unfinished run stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Progress {
    run_id: String,
    /// Every employee up to and including this Namely id is done.
    cursor: Option<String>,
    invocations: u32,
}

async fn load_progress(deps: &Deps) -> Result<Option<Progress>, app::Error> {
    Ok(deps.runlog.checkpoint(PROGRESS).await?.filter(|t| !t.is_empty()).and_then(|t| serde_json::from_str(&t).ok()))
}

/// Runs (or continues, or plans) a sync and answers with its summary.
pub async fn run(deps: &Deps, settings: &LitmosSettings, options: SyncOptions) -> Result<Value, app::Error> {
    let progress = load_progress(deps).await?;
    if options.continue_only && progress.is_none() {
        return Ok(json!({"status": "idle", "message": "no unfinished run to continue"}));
    }
    if !settings.enabled {
        if options.continue_only {
            return Ok(json!({"status": "idle", "message": "the employee sync is disabled"}));
        }
        let mut run = Run::start(FUNCTION, options.trigger);
        run.finish(None);
        run.message = Some(
            "skipped: the employee sync is disabled (LITMOS_SYNC_ENABLED=false); nothing was read or written".into(),
        );
        deps.runlog.save_run(&run).await?;
        return Ok(json!({"status": "skipped", "run_id": run.run_id, "message": run.message}));
    }
    if options.dry_run {
        let mut run = Run::start(&format!("{FUNCTION}.dry-run"), options.trigger);
        let result = Box::pin(sync(deps, settings, options, &mut run, None)).await;
        return finish(deps, run, result, true).await;
    }

    let mut run = match &progress {
        Some(p) => match deps.runlog.run(&p.run_id).await? {
            Some(run) => run,
            None => Run::start(FUNCTION, options.trigger),
        },
        None => Run::start(FUNCTION, options.trigger),
    };
    // The lease outlives one invocation's budget by a minute, so a dead holder frees it soon.
    let lease = chrono::Duration::seconds(settings.time_budget.as_secs() as i64 + 60);
    let lease = match RunLease::acquire(deps, FUNCTION, &run.run_id, lease).await? {
        Ok(lease) => lease,
        Err(answer) => return Ok(answer),
    };
    deps.runlog.save_run(&run).await?;
    let result = Box::pin(sync(deps, settings, options, &mut run, progress)).await;
    lease.release(deps).await;
    finish(deps, run, result, false).await
}

/// What `sync` hands back.
enum Ended {
    /// Every employee was handled.
    Done(Value),
    /// The budget ran out; the run continues in the next invocation.
    Paused(Value),
}

async fn finish(deps: &Deps, mut run: Run, result: Result<Ended, String>, dry_run: bool) -> Result<Value, app::Error> {
    let (summary, error) = match result {
        Ok(Ended::Paused(summary)) => {
            deps.runlog.save_run(&run).await?;
            let mut answer = app::run_answer(summary, &run, dry_run, None);
            answer["status"] = json!("continuing");
            return Ok(answer);
        }
        Ok(Ended::Done(summary)) => (summary, None),
        Err(message) => (json!({}), Some(message)),
    };
    run.finish(error.clone());
    if error.is_none() {
        run.message = app::warnings_message(&summary);
    }
    if !dry_run {
        // The run is over, finished or failed: the next sync starts from the beginning.
        deps.runlog.save_checkpoint(PROGRESS, "").await?;
    }
    deps.runlog.save_run(&run).await?;
    tracing::info!(run_id = %run.run_id, status = %run.status, counts = %run.counts, "litmos sync finished");
    Ok(app::run_answer(summary, &run, dry_run, error.as_deref()))
}

async fn sync(
    deps: &Deps,
    settings: &LitmosSettings,
    options: SyncOptions,
    run: &mut Run,
    progress: Option<Progress>,
) -> Result<Ended, String> {
    let started = Instant::now();
    let mut warnings = Vec::new();
    let secret = deps.secrets.namely().await.map_err(|e| e.to_string())?;
    if let Some(warning) = secret.expiry_warning(chrono::Utc::now().date_naive()) {
        warnings.push(warning);
    }
    let namely = deps.clients.namely(deps).await.map_err(|e| e.to_string())?;
    let litmos = deps.clients.litmos(deps).await.map_err(|e| e.to_string())?;

    let fields = namely.list_profile_fields().await.map_err(|e| app::namely_read_error(&e))?;
    let Some(key) = field_key_by_label(&fields, &settings.activated_field).map(str::to_string) else {
        return Err(format!(
            "Namely has no profile field labelled '{label}'. Create it in Namely: Company > Settings > Profile \
             Fields, in the \"Other\" section click \"Add New Field\", label it '{label}', type Select, with the \
             choices Yes and No; then set it to Yes for every employee who should be a Litmos learner",
            label = settings.activated_field
        ));
    };
    let every_profile = ProfileFilter::default();
    let (profiles, learners) = tokio::join!(namely.list_profiles(&every_profile), litmos.list_users());
    let profiles = profiles.map_err(|e| app::namely_read_error(&e))?;
    let learners = learners.map_err(|e| format!("Litmos users could not be read: {e}"))?;
    let employees: Vec<Employee> = profiles.iter().map(|p| employee(p, &key)).collect();
    let states: Vec<LearnerState> = learners
        .iter()
        .map(|u| LearnerState {
            id: u.id.clone(),
            user_name: u.user_name.clone(),
            email: u.email.clone(),
            active: u.active,
        })
        .collect();
    let mut links = Links::load(deps.runlog.as_ref(), LINKS).await.map_err(|e| e.to_string())?;
    let planned = plan(&employees, &states, &links.all());

    if options.dry_run {
        let lines: Vec<String> = planned.iter().filter_map(describe).collect();
        for p in &planned {
            run.counts.add(planned_action(&p.action));
        }
        return Ok(Ended::Done(json!({"warnings": warnings, "plan": lines})));
    }

    let cursor = progress.as_ref().and_then(|p| p.cursor.clone());
    let invocations = progress.as_ref().map_or(1, |p| p.invocations + 1);
    let mut pending: Vec<Outcome> = Vec::new();
    let mut last_done = cursor.clone();
    let remaining: Vec<_> =
        planned.iter().filter(|p| cursor.as_ref().is_none_or(|c| p.namely_id.as_str() > c.as_str())).collect();
    // Several learners in flight at once, so the run goes at Litmos's rate limit rather than at the
    // pace of one round trip. No new one starts after the budget; those under way are finished.
    let budget = settings.time_budget;
    let litmos = &litmos;
    let mut results = futures::stream::iter(remaining.iter().enumerate())
        .take_while(|_| std::future::ready(started.elapsed() < budget))
        .map(|(i, item)| async move { (i, apply(litmos, &item.action).await) })
        .buffer_unordered(IN_FLIGHT);
    // Outcomes are recorded in Namely-id order, so the saved place never skips an unfinished one.
    let mut finished: Vec<Option<Outcome>> = vec![None; remaining.len()];
    let mut next = 0usize;
    while let Some((i, result)) = results.next().await {
        let (action, detail) = match result {
            Ok((action, detail, link)) => {
                if let Some(link) = link {
                    links.set(&remaining[i].namely_id, link);
                }
                (action, detail)
            }
            Err(e) if e.status() == Some(401) => {
                drop(results);
                save_batch(deps, &mut links, &mut pending).await?;
                return Err(format!("Litmos refused the API key ({e}); check the api_key in the Litmos secret"));
            }
            Err(e) => (Action::Failed, e.to_string()),
        };
        run.counts.add(action);
        finished[i] = Some(Outcome {
            run_id: run.run_id.clone(),
            job: FUNCTION.to_string(),
            record_id: remaining[i].namely_id.clone(),
            label: Some(remaining[i].label.clone()),
            action,
            detail: Some(detail),
            at: platform::runlog::now_ms(),
        });
        while let Some(outcome) = finished.get_mut(next).and_then(Option::take) {
            last_done = Some(outcome.record_id.clone());
            pending.push(outcome);
            next += 1;
        }
        if pending.len() >= OUTCOME_BATCH {
            save_batch(deps, &mut links, &mut pending).await?;
            // The place is saved with the outcomes, so a killed invocation repeats no finished employee.
            let progress = Progress { run_id: run.run_id.clone(), cursor: last_done.clone(), invocations };
            let text = serde_json::to_string(&progress).unwrap_or_default();
            deps.runlog.save_checkpoint(PROGRESS, &text).await.map_err(|e| e.to_string())?;
            deps.runlog.save_run(run).await.map_err(|e| e.to_string())?;
        }
    }
    if next < remaining.len() {
        save_batch(deps, &mut links, &mut pending).await?;
        let progress = Progress { run_id: run.run_id.clone(), cursor: last_done.clone(), invocations };
        let text = serde_json::to_string(&progress).unwrap_or_default();
        deps.runlog.save_checkpoint(PROGRESS, &text).await.map_err(|e| e.to_string())?;
        return Ok(Ended::Paused(json!({"warnings": warnings, "done_this_invocation": next,
            "remaining": remaining.len() - next, "invocation": invocations})));
    }
    save_batch(deps, &mut links, &mut pending).await?;
    Ok(Ended::Done(json!({"warnings": warnings, "invocations": invocations})))
}

/// Records the outcomes gathered so far and the links they created.
async fn save_batch(deps: &Deps, links: &mut Links, pending: &mut Vec<Outcome>) -> Result<(), String> {
    links.flush(deps.runlog.as_ref()).await.map_err(|e| e.to_string())?;
    if !pending.is_empty() {
        deps.runlog.record_outcomes(pending).await.map_err(|e| e.to_string())?;
        pending.clear();
    }
    Ok(())
}

/// A Namely profile as the plan sees it; `key` is the "Litmos Activated" field's key.
fn employee(profile: &Profile, key: &str) -> Employee {
    Employee {
        namely_id: profile.id.clone(),
        user_status: profile.user_status.clone(),
        litmos_activated: profile.custom_str(key),
        email: profile.email.clone(),
        first_name: profile.first_name.clone(),
        last_name: profile.last_name.clone(),
        job_title: profile.job_title.as_ref().and_then(|t| t.title.clone()),
        office: profile.office.as_ref().map(|o| Office {
            address1: o.address1.clone(),
            address2: o.address2.clone(),
            city: o.city.clone(),
            state_id: o.state_id.clone(),
            country_id: o.country_id.clone(),
            zip: o.zip.clone(),
            phone: o.phone.clone(),
        }),
        office_phone: profile.office_phone.clone(),
        mobile_phone: profile.mobile_phone.clone(),
    }
}

/// The 12 fields as Litmos holds them.
fn fields_of(user: &User) -> LearnerFields {
    LearnerFields {
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        user_name: user.user_name.clone(),
        job_title: user.job_title.clone(),
        email: user.email.clone(),
        street1: user.street1.clone(),
        city: user.city.clone(),
        state: user.state.clone(),
        postal_code: user.postal_code.clone(),
        country: user.country.clone(),
        phone_work: user.phone_work.clone(),
        phone_mobile: user.phone_mobile.clone(),
    }
}

/// Puts the 12 fields on a Litmos user; an absent value is written as empty, clearing it.
fn set_fields(user: &mut User, fields: &LearnerFields) {
    let v = |f: &Option<String>| Some(f.clone().unwrap_or_default());
    user.first_name = v(&fields.first_name);
    user.last_name = v(&fields.last_name);
    user.user_name = v(&fields.user_name);
    user.job_title = v(&fields.job_title);
    user.email = v(&fields.email);
    user.street1 = v(&fields.street1);
    user.city = v(&fields.city);
    user.state = v(&fields.state);
    user.postal_code = v(&fields.postal_code);
    user.country = v(&fields.country);
    user.phone_work = v(&fields.phone_work);
    user.phone_mobile = v(&fields.phone_mobile);
}

fn changes_text(changes: &[mapping::litmos::FieldChange]) -> String {
    let show = |v: &Option<String>| v.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "(empty)".into());
    changes
        .iter()
        .map(|c| format!("{} ({}): {} → {}", c.field, c.label, show(&c.old), show(&c.new)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Applies one planned action; returns the outcome, its sync-log detail, and the learner link to keep.
async fn apply(
    litmos: &LitmosClient,
    action: &LearnerAction,
) -> Result<(Action, String, Option<Link>), connectors::Error> {
    match action {
        LearnerAction::Create { fields } => {
            let mut user = User {
                access_level: Some("Learner".into()),
                active: Some(true),
                is_custom_username: Some(false),
                disable_messages: Some(false),
                ..Default::default()
            };
            set_fields(&mut user, fields);
            let created = match litmos.create_user(&user).await {
                Ok(created) => created,
                // Someone made the learner since we read the list: take it over, do not duplicate.
                Err(e) if e.is_conflict() => {
                    let name = fields.user_name.clone().unwrap_or_default();
                    let Some(existing) = litmos.find_user_exact(&name).await? else { return Err(e) };
                    let id = existing.id.clone();
                    return update(litmos, &id, fields, false).await;
                }
                Err(e) => return Err(e),
            };
            let id = created.id.clone().unwrap_or_default();
            let link = Link { litmos_id: id.clone(), fingerprint: Some(fields.fingerprint()) };
            let sent: Vec<String> = LearnerFields::FIELDS
                .iter()
                .filter_map(|(name, _)| fields.get(name).map(|v| format!("{name}={v}")))
                .collect();
            Ok((Action::Created, format!("created learner {id}: {}", sent.join(", ")), Some(link)))
        }
        LearnerAction::Update { litmos_id, fields, reactivate } => update(litmos, litmos_id, fields, *reactivate).await,
        LearnerAction::Deactivate { litmos_id } => {
            let mut user = litmos.get_user(litmos_id).await?;
            user.active = Some(false);
            litmos.update_user(&user).await?;
            Ok((
                Action::Updated,
                "deactivated (inactive in Namely); the learner and their history are kept".into(),
                None,
            ))
        }
        LearnerAction::Unchanged { .. } => Ok((Action::Unchanged, "up to date".into(), None)),
        LearnerAction::Skip { reason } => Ok((Action::Skipped, reason.clone(), None)),
    }
}

/// Read the whole learner, change what differs, write it back — Litmos PUT replaces the user.
async fn update(
    litmos: &LitmosClient,
    litmos_id: &str,
    fields: &LearnerFields,
    reactivate: bool,
) -> Result<(Action, String, Option<Link>), connectors::Error> {
    let mut user = litmos.get_user(litmos_id).await?;
    let changes = fields.diff(&fields_of(&user));
    let link = Link { litmos_id: litmos_id.to_string(), fingerprint: Some(fields.fingerprint()) };
    if changes.is_empty() && !reactivate {
        return Ok((Action::Unchanged, "up to date (linked to this learner)".into(), Some(link)));
    }
    set_fields(&mut user, fields);
    if reactivate {
        user.active = Some(true);
    }
    user.id = Some(litmos_id.to_string());
    litmos.update_user(&user).await?;
    let mut detail = Vec::new();
    if reactivate {
        detail.push("reactivated (active in Namely again)".to_string());
    }
    if !changes.is_empty() {
        detail.push(changes_text(&changes));
    }
    Ok((Action::Updated, detail.join("; "), Some(link)))
}

fn planned_action(action: &LearnerAction) -> Action {
    match action {
        LearnerAction::Create { .. } => Action::Created,
        LearnerAction::Update { .. } | LearnerAction::Deactivate { .. } => Action::Updated,
        LearnerAction::Unchanged { .. } => Action::Unchanged,
        LearnerAction::Skip { .. } => Action::Skipped,
    }
}

/// The plan in sentences, for the dry run.
fn describe(p: &mapping::litmos::PlannedLearner) -> Option<String> {
    Some(match &p.action {
        LearnerAction::Create { .. } => format!("create learner {}", p.label),
        LearnerAction::Update { reactivate: true, .. } => format!("reactivate and update {}", p.label),
        LearnerAction::Update { .. } => {
            format!("update {} (changed fields are read from Litmos when applied)", p.label)
        }
        LearnerAction::Deactivate { .. } => format!("deactivate {} (inactive in Namely)", p.label),
        LearnerAction::Unchanged { .. } => return None,
        LearnerAction::Skip { reason } => format!("skip {}: {reason}", p.label),
    })
}
