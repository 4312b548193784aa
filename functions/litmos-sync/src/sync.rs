//! One sync run, possibly across several invocations: read the Litmos users, then Namely's
//! profiles a page at a time, each page planned (pure, in the mapping crate) and written while the
//! next is read, and every employee's outcome recorded. When the time budget runs out the run
//! stops starting work, and the next invocation continues the same run, skipping everyone it has
//! an outcome for.

use crate::settings::LitmosSettings;
use crate::FUNCTION;
use app::resumable::{self, Ended, Progress};
use app::Deps;
use connectors::litmos::{LitmosClient, User};
use connectors::namely::{field_key_by_label, Profile, ProfileFilter};
use futures::StreamExt;
use mapping::litmos::{Employee, LearnerAction, LearnerFields, LearnerState, Link, Office, PlannedLearner, Planner};
use platform::runlog::ShardedMap;
use platform::{Action, Outcome, Run, Trigger};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Instant;

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

/// Runs (or continues, or plans) a sync and answers with its summary.
pub async fn run(deps: &Deps, settings: &LitmosSettings, options: SyncOptions) -> Result<Value, app::Error> {
    let progress = resumable::load_progress(deps, FUNCTION).await?;
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
        return resumable::finish(deps, FUNCTION, run, result, true).await;
    }

    let (mut run, lease) =
        match resumable::begin(deps, FUNCTION, options.trigger, progress.as_ref(), settings.time_budget).await? {
            Ok(taken) => taken,
            Err(answer) => return Ok(answer),
        };
    let result = Box::pin(sync(deps, settings, options, &mut run, progress)).await;
    lease.release(deps).await;
    resumable::finish(deps, FUNCTION, run, result, false).await
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
    // The Litmos users first (a handful of pages): matching needs all of them. Namely's profiles
    // then come a page at a time, each page planned and written while the next is read.
    let learners = litmos.list_users().await.map_err(|e| format!("Litmos users could not be read: {e}"))?;
    let states: Vec<LearnerState> = learners
        .iter()
        .map(|u| LearnerState {
            id: u.id.clone(),
            user_name: u.user_name.clone(),
            email: u.email.clone(),
            active: u.active,
        })
        .collect();
    drop(learners);
    let mut links = Links::load(deps.runlog.as_ref(), LINKS).await.map_err(|e| e.to_string())?;
    let known_links = links.all();
    let mut planner = Planner::new(&states, &known_links);
    let every_profile = ProfileFilter::default();
    // (A dry run has no progress, so it reads from the first page.)
    let first_page = progress.as_ref().map_or(1, |p| p.resume_page.max(1));
    let mut pager = namely.profile_pager_from(&every_profile, first_page);

    if options.dry_run {
        let mut lines = Vec::new();
        while let Some(page) = pager.next().await.map_err(|e| app::namely_read_error(&e))? {
            let employees: Vec<Employee> = page.iter().map(|p| employee(p, &key)).collect();
            for p in planner.page(&employees) {
                run.counts.add(planned_action(&p.action));
                lines.extend(describe(&p));
            }
        }
        return Ok(Ended::Done(json!({"warnings": warnings, "plan": lines})));
    }

    // A continued run skips everyone it already recorded an outcome for.
    let done: HashSet<String> = match &progress {
        Some(_) => deps
            .runlog
            .run_outcomes(&run.run_id)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|o| o.record_id)
            .collect(),
        None => HashSet::new(),
    };
    let invocations = progress.as_ref().map_or(1, |p| p.invocations + 1);
    let budget = settings.time_budget;
    let out_of_time = || started.elapsed() >= budget;

    // Producer: pages of profiles, planned, into a short queue, each item with its page; it stops
    // when the writer stops.
    let (queue, planned) = tokio::sync::mpsc::channel::<(u32, PlannedLearner)>(2 * IN_FLIGHT);
    let reading = std::cell::Cell::new(first_page);
    let produce = async {
        let read_everyone = async {
            while let Some(page) = pager.next().await.map_err(|e| app::namely_read_error(&e))? {
                reading.set(pager.page());
                let employees: Vec<Employee> = page.iter().map(|p| employee(p, &key)).collect();
                for item in planner.page(&employees) {
                    if done.contains(&item.namely_id) {
                        continue;
                    }
                    if queue.send((pager.page(), item)).await.is_err() {
                        return Ok(false);
                    }
                }
            }
            Ok::<bool, String>(true)
        }
        .await;
        // The writer's stream ends when the queue is closed, read error or not.
        drop(queue);
        read_everyone
    };

    // Consumer: several learners in flight at once, so the run goes at Litmos's rate limit rather
    // than at the pace of one round trip. No new one starts after the budget; those under way are
    // finished. Outcomes are recorded in batches, with the links they made, as they finish.
    let litmos = &litmos;
    // The first page with someone not started, once the writer stops short.
    let resume = std::cell::Cell::new(u32::MAX);
    let run_id = run.run_id.clone();
    let (finished, to_record) = tokio::sync::mpsc::channel::<(Outcome, Option<Link>)>(4 * OUTCOME_BATCH);
    let consume = async {
        // Owned here, so that however this ends, the producer's next send fails and it stops;
        // and when the sender goes, the recorder saves what is left.
        let mut planned = planned;
        let finished = finished;
        let items = futures::stream::poll_fn(|cx| planned.poll_recv(cx));
        // Set when Litmos refuses the key: nothing new starts, and what is under way is still recorded.
        let refused = std::cell::Cell::new(false);
        let mut refusal = None;
        let mut results = items
            .take_while(|(page, _)| {
                // The item taken when time is up goes back to the next invocation.
                let go_on = !out_of_time() && !refused.get();
                if !go_on {
                    resume.set(resume.get().min(*page));
                }
                std::future::ready(go_on)
            })
            .map(|(_, item)| async move {
                let result = apply(litmos, &item.action).await;
                (item, result)
            })
            .buffer_unordered(IN_FLIGHT);
        while let Some((item, result)) = results.next().await {
            let (action, detail, link) = match result {
                Ok(done) => done,
                Err(e) if e.status() == Some(401) => {
                    refused.set(true);
                    refusal.get_or_insert_with(|| {
                        format!("Litmos refused the API key ({e}); check the api_key in the Litmos secret")
                    });
                    (Action::Failed, e.to_string(), None)
                }
                Err(e) => (Action::Failed, e.to_string(), None),
            };
            let outcome = Outcome {
                run_id: run_id.clone(),
                job: FUNCTION.to_string(),
                record_id: item.namely_id,
                label: Some(item.label),
                action,
                detail: Some(detail),
                at: platform::runlog::now_ms(),
            };
            if finished.send((outcome, link)).await.is_err() {
                return Err("the run log stopped taking outcomes".into());
            }
        }
        drop(results);
        // Whatever is still queued was planned but not started.
        planned.close();
        for (page, _) in std::iter::from_fn(|| planned.try_recv().ok()) {
            resume.set(resume.get().min(page));
        }
        match refusal {
            Some(refusal) => Err(refusal),
            None => Ok::<(), String>(()),
        }
    };
    // Recorder: outcomes and the links they made are saved in batches beside the writes, so the
    // writes never wait for the run log.
    let record = async {
        // Owned here, so that a failed save stops the writer instead of leaving it waiting.
        let mut to_record = to_record;
        let mut pending: Vec<Outcome> = Vec::new();
        while let Some((outcome, link)) = to_record.recv().await {
            if let Some(link) = link {
                links.set(&outcome.record_id, link);
            }
            run.counts.add(outcome.action);
            pending.push(outcome);
            if pending.len() >= OUTCOME_BATCH {
                save_batch(deps, &mut links, &mut pending).await?;
                deps.runlog.save_run(run).await.map_err(|e| e.to_string())?;
            }
        }
        save_batch(deps, &mut links, &mut pending).await
    };
    let (produced, consumed, recorded) = tokio::join!(produce, consume, record);
    recorded?;
    consumed?;
    if !produced? {
        resume.set(resume.get().min(reading.get()));
    }
    if resume.get() != u32::MAX {
        let resume_page = resume.get().saturating_sub(1).max(1);
        let progress = Progress { run_id: run.run_id.clone(), invocations, resume_page };
        return Ok(Ended::Paused { summary: json!({"warnings": warnings, "invocation": invocations}), progress });
    }
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
