//! One sync run, possibly across several invocations: read the Lessonly users and groups, then
//! Namely's profiles a page at a time, each page planned (pure, in the mapping crate) and written
//! while the next is read; groups last, once everyone is placed; every user's outcome recorded.
//! When the time budget runs out the run stops starting work, and the next invocation continues
//! the same run, skipping everyone it has an outcome for.

use crate::settings::LessonlySettings;
use crate::FUNCTION;
use app::resumable::{self, Ended, Progress};
use app::Deps;
use connectors::lessonly::{CustomFieldInput, GroupChange as MemberChanges, LessonlyClient, MemberChange, UserInput};
use connectors::namely::{Directory, Profile, ProfileFilter};
use futures::StreamExt;
use mapping::lessonly::{
    Employee, GroupChange, KnownField, Learner, LessonlyGroup, PlannedUser, Planner, SyncPlan, UserAction, UserFields,
};
use platform::{Action, Outcome, Run, Trigger};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

/// Requests in flight at once while applying a plan.
const IN_FLIGHT: usize = 16;
/// Planned users waiting for the writer: enough that a continued run reads the pages before its
/// resume page (done, but needed for the groups) while its last writes go out, not after them
/// (1,024 users take 2 minutes to write at 500 a minute; 130 pages take 80 s to read at 100 a minute).
const QUEUED: usize = 1024;
/// Outcomes are written in batches of this size as users are done, so a run that dies keeps what
/// it did.
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
pub async fn run(deps: &Deps, settings: &LessonlySettings, options: SyncOptions) -> Result<Value, app::Error> {
    let progress = resumable::load_progress(deps, FUNCTION).await?;
    if options.continue_only && progress.is_none() {
        return Ok(json!({"status": "idle", "message": "no unfinished run to continue"}));
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

/// What the run has done to each user so far (this invocation and earlier ones), for the groups.
#[derive(Default)]
struct Applied {
    /// Namely id -> the user's recorded outcome.
    actions: HashMap<String, Action>,
    /// Namely id -> Lessonly user id, for everyone placed.
    lessonly_ids: HashMap<String, i64>,
    /// Namely id -> label.
    labels: HashMap<String, String>,
    /// This invocation's changes, for its answer.
    changes: Vec<Value>,
}

async fn sync(
    deps: &Deps,
    settings: &LessonlySettings,
    options: SyncOptions,
    run: &mut Run,
    progress: Option<Progress>,
) -> Result<Ended, String> {
    let started = Instant::now();
    let mut warnings = Vec::new();
    let secret = deps.secrets.namely().await.map_err(|e| e.to_string())?;
    // In every run's log, so the admin sees it coming (30 days ahead).
    if let Some(warning) = secret.expiry_warning(chrono::Utc::now().date_naive()) {
        warnings.push(warning);
    }
    let namely = deps.clients.namely(deps).await.map_err(|e| e.to_string())?;
    let lessonly = deps.clients.lessonly(deps).await.map_err(|e| e.to_string())?;

    // Lessonly's users and groups first (a few large pages: matching needs all of them), with
    // Namely's directory. Namely's profiles then come a page at a time, each page planned and
    // written while the next is read.
    let every_user = Default::default();
    let (directory, users, groups) =
        tokio::join!(namely.directory(), lessonly.list_users(&every_user), lessonly.list_groups());
    let directory = directory.map_err(|e| app::namely_read_error(&e))?;
    let users = users.map_err(|e| format!("Lessonly users could not be read: {e}"))?;
    let groups = groups.map_err(|e| format!("Lessonly groups could not be read: {e}"))?;
    let learners: Vec<Learner> = users.iter().map(learner).collect();
    let known = known_fields(&users, settings);
    drop(users);
    let lessonly_groups: Vec<LessonlyGroup> = groups
        .iter()
        .map(|g| LessonlyGroup {
            id: g.id,
            name: g.name.clone().unwrap_or_default(),
            archived: g.archived_at.is_some(),
        })
        .collect();
    let mut planner = Planner::new(&learners, &lessonly_groups, &known, &settings.sync);
    let wanted: Vec<&str> = settings.sync.custom_fields.iter().map(|m| m.namely_key.as_str()).collect();
    let every_profile = ProfileFilter::default();
    let employees_of =
        |page: Vec<Profile>| -> Vec<Employee> { page.iter().map(|p| employee(p, &directory, &wanted)).collect() };

    if options.dry_run {
        let mut pager = namely.profile_pager(&every_profile);
        let mut users = Vec::new();
        while let Some(page) = pager.next().await.map_err(|e| app::namely_read_error(&e))? {
            users.extend(planner.page(&employees_of(page)));
        }
        let mut plan = planner.finish();
        users.append(&mut plan.users);
        plan.users = users;
        for user in &plan.users {
            run.counts.add(planned_action(&user.action));
        }
        plan_warnings(&plan, &mut warnings);
        return Ok(Ended::Done(json!({"warnings": warnings, "plan": describe(&plan), "writes": plan.write_count()})));
    }

    // A continued run skips everyone it already recorded an outcome for.
    let earlier: HashMap<String, Action> = match &progress {
        Some(_) => deps
            .runlog
            .run_outcomes(&run.run_id)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|o| (o.record_id, o.action))
            .collect(),
        None => HashMap::new(),
    };
    let invocations = progress.as_ref().map_or(1, |p| p.invocations + 1);
    let out_of_time = || started.elapsed() >= settings.time_budget;

    // Producer: pages of profiles, planned, into a short queue, each with its page; after the last
    // page, the users the planner held back, and the rest of the plan (groups, warnings) as its
    // result. It stops when the writer stops. A continued run reads from where the last invocation
    // stopped, so its writes start at once, and the pages before it at the same time: the groups
    // need everyone.
    let first_page = progress.as_ref().map_or(1, |p| p.resume_page.max(1));
    let passes = [(first_page, u32::MAX), (1, first_page)];
    let passes = &passes[..if first_page > 1 { 2 } else { 1 }];
    let (queue, planned) = tokio::sync::mpsc::channel::<(u32, PlannedUser)>(QUEUED);
    let earlier = &earlier;
    let produce = async {
        // Someone done in an earlier invocation is not queued behind the writes: the groups only
        // need their Lessonly id and label.
        let done: RefCell<Vec<(String, Option<i64>, String)>> = RefCell::default();
        // The second pass ends on the first pass's first page again, as a margin for profiles
        // removed meanwhile (which shift later ones to earlier pages): anyone read twice is planned
        // once.
        let read: RefCell<HashSet<String>> = RefCell::default();
        let planner = RefCell::new(planner);
        let (done_ref, read_ref, planner_ref, queue_ref) = (&done, &read, &planner, &queue);
        let (namely, every_profile, employees_of) = (&namely, &every_profile, &employees_of);
        // Queues a planned user unless an earlier invocation did them; false once the writer stopped.
        let enqueue = |page: u32, user: PlannedUser| async move {
            if earlier.contains_key(&user.namely_id) {
                done_ref.borrow_mut().push((user.namely_id.clone(), lessonly_id(&user.action), user.label));
                return true;
            }
            queue_ref.send((page, user)).await.is_ok()
        };
        // One pass over pages `from..=upto`; Ok(false) once the writer stopped.
        let read_pass = move |from: u32, upto: u32| async move {
            let mut pager = namely.profile_pager_from(every_profile, from);
            while !queue_ref.is_closed() {
                let Some(page) = pager.next().await.map_err(|e| app::namely_read_error(&e))? else { break };
                let mut employees = employees_of(page);
                employees.retain(|e| {
                    e.namely_id.trim().is_empty() || read_ref.borrow_mut().insert(e.namely_id.trim().to_string())
                });
                let users = planner_ref.borrow_mut().page(&employees);
                for user in users {
                    if !enqueue(pager.page(), user).await {
                        return Ok(false);
                    }
                }
                if pager.page() >= upto {
                    break;
                }
            }
            Ok::<bool, String>(!queue_ref.is_closed())
        };
        let (enqueue, read_pass) = (&enqueue, &read_pass);
        let read_everyone = async {
            // A continued run reads both passes at once: the pages from its resume page feed the
            // writer, and those before it (everyone done, needed only for the groups) are read
            // meanwhile, not after the last write.
            let read_all = futures::future::try_join_all(passes.iter().map(|&(from, upto)| read_pass(from, upto)));
            if !read_all.await?.into_iter().all(|went_on| went_on) {
                return Ok(None);
            }
            let mut rest = planner.borrow_mut().finish();
            // (Held back from any page: the next invocation, if any, reads from the start.)
            for user in std::mem::take(&mut rest.users) {
                if !enqueue(1, user).await {
                    return Ok(None);
                }
            }
            Ok::<Option<SyncPlan>, String>(Some(rest))
        }
        .await;
        // The writer's stream ends when the queue is closed, read error or not.
        drop(queue);
        read_everyone.map(|rest| rest.map(|rest| (rest, done.into_inner())))
    };

    // Writer: several users in flight at once, so the run goes at Lessonly's rate limit rather than
    // at the pace of one round trip. No new one starts after the budget; those under way finish.
    let lessonly = &lessonly;
    // The page of the first user not started, once the writer stops short.
    let resume: Cell<Option<u32>> = Cell::new(None);
    let run_id = run.run_id.clone();
    let (finished, to_record) = tokio::sync::mpsc::channel::<Outcome>(4 * OUTCOME_BATCH);
    let consume = async {
        // Owned here, so that however this ends, the producer's next send fails and it stops; and
        // when the sender goes, the recorder saves what is left.
        let mut planned = planned;
        let finished = finished;
        let mut applied = Applied { actions: earlier.clone(), ..Applied::default() };
        let (refused, mut fatal) = (Cell::new(false), None);
        let items = futures::stream::poll_fn(|cx| planned.poll_recv(cx));
        let mut results = items
            .take_while(|(page, _)| {
                // The user taken when time is up goes back to the next invocation.
                let go_on = !refused.get() && !out_of_time();
                if !go_on && !refused.get() {
                    resume.set(Some(*page));
                }
                std::future::ready(go_on)
            })
            .map(|(_, user)| async move {
                let result = apply_user(lessonly, settings, &user).await;
                (user, result)
            })
            .buffer_unordered(IN_FLIGHT);
        while let Some((user, result)) = results.next().await {
            let (action, detail, id) = match result {
                Ok(done) => done,
                Err(e) if e.status() == Some(401) => {
                    // Nothing new starts; what is under way still finishes and is recorded.
                    refused.set(true);
                    fatal.get_or_insert_with(|| {
                        format!(
                            "Lessonly refused the API key ({e}); check the subdomain and API key in the Lessonly \
                             secret"
                        )
                    });
                    (Action::Failed, vec![e.to_string()], None)
                }
                Err(e) => (Action::Failed, vec![e.to_string()], None),
            };
            if let Some(id) = id {
                applied.lessonly_ids.insert(user.namely_id.clone(), id);
            }
            applied.actions.insert(user.namely_id.clone(), action);
            applied.labels.insert(user.namely_id.clone(), user.label.clone());
            let outcome = Outcome {
                run_id: run_id.clone(),
                job: FUNCTION.to_string(),
                record_id: user.namely_id,
                label: Some(user.label),
                action,
                detail: Some(detail.join("; ")).filter(|d| !d.is_empty()),
                at: platform::runlog::now_ms(),
            };
            if action != Action::Unchanged {
                applied.changes.push(change_of(&outcome));
            }
            if finished.send(outcome).await.is_err() {
                fatal.get_or_insert_with(|| "the run log stopped taking outcomes".to_string());
                break;
            }
        }
        drop(results);
        planned.close();
        (applied, fatal)
    };
    // Recorder: outcomes saved in batches beside the writes, so the writes never wait for the run log.
    let recorder = async {
        // Owned here, so that a failed save stops the writer instead of leaving it waiting.
        let mut to_record = to_record;
        let mut pending: Vec<Outcome> = Vec::new();
        while let Some(outcome) = to_record.recv().await {
            pending.push(outcome);
            if pending.len() >= OUTCOME_BATCH {
                record(deps, run, &pending).await?;
                pending.clear();
                deps.runlog.save_run(run).await.map_err(|e| e.to_string())?;
            }
        }
        record(deps, run, &pending).await
    };
    let (produced, (mut applied, fatal), recorded) = tokio::join!(produce, consume, recorder);
    recorded?;

    let rest = match (fatal, produced) {
        (Some(error), _) | (None, Err(error)) => return Err(error),
        (None, Ok(rest)) => rest,
    };
    let rest = match (rest, resume.get()) {
        (Some((rest, done)), None) => {
            for (namely_id, id, label) in done {
                if let Some(id) = id {
                    applied.lessonly_ids.insert(namely_id.clone(), id);
                }
                applied.labels.insert(namely_id, label);
            }
            rest
        }
        (_, resume) => {
            let resume_page = resume.unwrap_or(1).saturating_sub(1).max(1);
            let progress = Progress { run_id: run.run_id.clone(), invocations, resume_page };
            return Ok(Ended::Paused { summary: json!({"warnings": warnings, "invocation": invocations}), progress });
        }
    };

    // Everyone is placed: the groups' writes go out together, each group one call (or a restore
    // and a call), and each member gets a second outcome saying what changed.
    let followups = apply_groups(lessonly, &rest.groups, &applied, &run.run_id).await;
    for (outcome, before) in &followups {
        run.counts.replace(*before, outcome.action);
    }
    let followups: Vec<Outcome> = followups.into_iter().map(|(o, _)| o).collect();
    if let Err(e) = deps.runlog.record_outcomes(&followups).await {
        warnings.push(format!("the group changes could not all be recorded: {e}"));
    }
    plan_warnings(&rest, &mut warnings);
    let mut changes = applied.changes;
    changes.extend(followups.iter().map(change_of));
    Ok(Ended::Done(json!({"warnings": warnings, "changes": changes, "invocations": invocations})))
}

/// One change, as the run's answer lists it.
fn change_of(o: &Outcome) -> Value {
    json!({"namely_id": o.record_id, "label": o.label, "action": o.action.as_str(), "detail": o.detail})
}

/// Records outcomes and counts them in the run.
async fn record(deps: &Deps, run: &mut Run, outcomes: &[Outcome]) -> Result<(), String> {
    for outcome in outcomes {
        run.counts.add(outcome.action);
    }
    if outcomes.is_empty() {
        return Ok(());
    }
    deps.runlog.record_outcomes(outcomes).await.map_err(|e| format!("the per-user outcomes could not be recorded: {e}"))
}

/// The plan's warnings and the custom fields Lessonly lacks, as sentences for the run log.
fn plan_warnings(plan: &SyncPlan, warnings: &mut Vec<String>) {
    warnings.extend(plan.warnings.iter().cloned());
    for missing in &plan.missing_custom_fields {
        warnings.push(format!(
            "the Lessonly custom user field '{missing}' does not exist, so it was skipped (this sync never creates \
             Lessonly fields: create it in Lessonly, or fix LESSONLY_CUSTOM_FIELDS)"
        ));
    }
}

/// The Lessonly id an action is about, when the user already exists.
fn lessonly_id(action: &UserAction) -> Option<i64> {
    match action {
        UserAction::Update { lessonly_id, .. }
        | UserAction::Archive { lessonly_id }
        | UserAction::Unchanged { lessonly_id } => Some(*lessonly_id),
        UserAction::Create { .. } | UserAction::Skip { .. } => None,
    }
}

/// A Namely profile as the plan sees it, with the values of the `wanted` keys (the mapped custom
/// fields, any case) among its fields.
fn employee(profile: &Profile, directory: &Directory, wanted: &[&str]) -> Employee {
    let is_wanted = |key: &str| wanted.iter().any(|w| w.eq_ignore_ascii_case(key));
    let mut fields = BTreeMap::new();
    for (k, v) in &profile.extra {
        if is_wanted(k) {
            if let Some(text) = text_of(v) {
                fields.insert(k.clone(), text);
            }
        }
    }
    for (k, v) in [
        ("employee_id", profile.employee_id.clone()),
        ("email", profile.email.clone()),
        ("personal_email", profile.personal_email.clone()),
        ("office_phone", profile.office_phone.clone()),
        ("home_phone", profile.home_phone.clone()),
        ("mobile_phone", profile.mobile_phone.clone()),
        ("job_title", profile.job_title.as_ref().and_then(|t| t.title.clone())),
        ("employee_type", profile.employee_type.as_ref().and_then(|t| t.title.clone())),
        ("start_date", profile.start_date.map(|d| d.to_string())),
    ] {
        if let Some(v) = v.filter(|v| is_wanted(k) && !v.trim().is_empty()) {
            fields.insert(k.to_string(), v);
        }
    }
    let manager = profile
        .reports_to
        .first()
        .map(|m| [m.first_name.as_deref(), m.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" "));
    Employee {
        namely_id: profile.id.clone(),
        email: profile.email.clone(),
        first_name: profile.first_name.clone(),
        last_name: profile.last_name.clone(),
        preferred_name: profile.preferred_name.clone(),
        user_status: profile.user_status.clone(),
        job_title: profile.job_title.as_ref().and_then(|t| t.title.clone()),
        department: directory.department(profile),
        job_tier: directory.job_tier(profile),
        location: directory.office(profile).or_else(|| profile.office.as_ref().and_then(|o| o.city.clone())),
        manager_name: manager.filter(|m| !m.trim().is_empty()),
        hire_date: profile.start_date,
        mobile_phone: profile.mobile_phone.clone(),
        fields,
    }
}

/// A profile value as text: strings, numbers, booleans; arrays joined; objects by their title.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "Yes".into() } else { "No".into() }),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(text_of).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        Value::Object(map) => map.get("title").or_else(|| map.get("name")).and_then(text_of),
        _ => None,
    }
}

fn learner(user: &connectors::lessonly::User) -> Learner {
    Learner {
        id: user.id,
        email: user.email.clone(),
        ext_uid: user.ext_uid.clone(),
        name: user.name.clone(),
        job_title: user.job_title.clone(),
        department: user.department.clone(),
        location: user.location.clone(),
        manager_name: user.manager_name.clone(),
        hire_date: user.hire_date.clone(),
        mobile_phone: user.mobile_phone_number.clone(),
        archived: user.is_archived(),
        custom: user
            .custom_user_field_data
            .iter()
            .filter_map(|c| Some((c.custom_user_field_id?, c.name.clone().unwrap_or_default(), c.value.clone())))
            .collect(),
        groups: user.groups.as_ref().map(|g| g.member.iter().filter_map(|m| m.id).collect()).unwrap_or_default(),
    }
}

/// The custom user fields Lessonly has: every field seen on a user, plus any configured by id
/// (`employee_id:#101`), since Lessonly has no endpoint that lists its fields.
fn known_fields(users: &[connectors::lessonly::User], settings: &LessonlySettings) -> Vec<KnownField> {
    let mut known: Vec<KnownField> = Vec::new();
    for c in users.iter().flat_map(|u| &u.custom_user_field_data) {
        if let (Some(id), Some(name)) = (c.custom_user_field_id, &c.name) {
            if !known.iter().any(|k| k.id == id) {
                known.push(KnownField { id, name: name.clone() });
            }
        }
    }
    for mapping in &settings.sync.custom_fields {
        let by_id = mapping.lessonly_name.as_deref().and_then(|n| n.trim().strip_prefix('#')?.parse::<i64>().ok());
        if let (Some(id), Some(name)) = (by_id, &mapping.lessonly_name) {
            known.retain(|k| k.id != id);
            known.push(KnownField { id, name: name.clone() });
        }
    }
    known
}

fn planned_action(action: &UserAction) -> Action {
    match action {
        UserAction::Create { .. } => Action::Created,
        UserAction::Update { .. } | UserAction::Archive { .. } => Action::Updated,
        UserAction::Unchanged { .. } => Action::Unchanged,
        UserAction::Skip { .. } => Action::Skipped,
    }
}

/// The plan in sentences, one per change, for the dry run and the operator.
fn describe(plan: &SyncPlan) -> Value {
    let label_of = |namely_id: &str| {
        plan.users.iter().find(|u| u.namely_id == namely_id).map(|u| u.label.clone()).unwrap_or(namely_id.into())
    };
    let lessonly_label = |id: i64| {
        plan.users
            .iter()
            .find(|u| match &u.action {
                UserAction::Update { lessonly_id, .. }
                | UserAction::Archive { lessonly_id }
                | UserAction::Unchanged { lessonly_id } => *lessonly_id == id,
                _ => false,
            })
            .map(|u| u.label.clone())
            .unwrap_or_else(|| format!("Lessonly user {id}"))
    };
    let mut lines = Vec::new();
    for user in &plan.users {
        match &user.action {
            UserAction::Create { .. } => lines.push(format!("create {}", user.label)),
            UserAction::Update { changes, restore, .. } => {
                let mut parts: Vec<String> = changes.iter().map(change_text).collect();
                if *restore {
                    parts.insert(0, "restore (archived in Lessonly)".into());
                }
                lines.push(format!("update {}: {}", user.label, parts.join("; ")));
            }
            UserAction::Archive { .. } => lines.push(format!("archive {} (inactive in Namely)", user.label)),
            UserAction::Unchanged { .. } => {}
            UserAction::Skip { reason } => lines.push(format!("skip {}: {reason}", user.label)),
        }
    }
    for group in &plan.groups {
        if group.lessonly_group_id.is_none() {
            lines.push(format!("create group '{}'", group.name));
        } else if group.restore {
            lines.push(format!("restore group '{}'", group.name));
        }
        let added: Vec<String> = group.add.iter().map(|id| label_of(id)).collect();
        let removed: Vec<String> = group.remove.iter().map(|id| lessonly_label(*id)).collect();
        if !added.is_empty() {
            lines.push(format!("group '{}': add {}", group.name, added.join(", ")));
        }
        if !removed.is_empty() {
            lines.push(format!("group '{}': remove {}", group.name, removed.join(", ")));
        }
    }
    json!(lines)
}

fn change_text(c: &mapping::lessonly::FieldChange) -> String {
    let show = |v: &Option<String>| v.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "(empty)".into());
    format!("{}: {} → {}", c.field, show(&c.old), show(&c.new))
}

fn user_input(fields: &UserFields) -> UserInput {
    UserInput {
        name: fields.name.clone(),
        email: fields.email.clone(),
        ext_uid: fields.ext_uid.clone(),
        job_title: fields.job_title.clone(),
        department: fields.department.clone(),
        location: fields.location.clone(),
        manager_name: fields.manager_name.clone(),
        hire_date: fields.hire_date.clone(),
        mobile_phone_number: fields.mobile_phone.clone(),
        custom_user_fields: fields
            .custom
            .iter()
            .map(|(id, value)| CustomFieldInput { custom_user_field_id: Some(*id), name: None, value: value.clone() })
            .collect(),
        ..Default::default()
    }
}

/// Applies the groups' changes; each member whose groups changed gets a follow-up outcome saying
/// so, returned with the outcome it had before.
async fn apply_groups(
    lessonly: &LessonlyClient,
    groups: &[GroupChange],
    applied: &Applied,
    run_id: &str,
) -> Vec<(Outcome, Action)> {
    let ids = &applied.lessonly_ids;
    let results: Vec<Result<(), connectors::Error>> = futures::stream::iter(groups)
        .map(|group| async move {
            let adds: Vec<i64> = group.add.iter().filter_map(|n| ids.get(n).copied()).collect();
            apply_group(lessonly, group, &adds).await
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    let by_lessonly_id: HashMap<i64, String> = ids.iter().map(|(n, id)| (*id, n.clone())).collect();
    let mut followups: BTreeMap<String, (Outcome, Action)> = BTreeMap::new();
    for (group, result) in groups.iter().zip(results) {
        let removed = group.remove.iter().filter_map(|id| by_lessonly_id.get(id));
        let notes: Vec<(&String, String, bool)> = match &result {
            Ok(()) => {
                let added = group.add.iter().filter(|n| applied.lessonly_ids.contains_key(*n));
                added
                    .map(|n| (n, format!("added to group '{}'", group.name), false))
                    .chain(removed.map(|n| (n, format!("removed from group '{}'", group.name), false)))
                    .collect()
            }
            Err(e) => group
                .add
                .iter()
                .map(|n| (n, format!("could not be added to group '{}': {e}", group.name), true))
                .chain(removed.map(|n| (n, format!("could not be removed from group '{}': {e}", group.name), true)))
                .collect(),
        };
        for (namely_id, text, failed) in notes {
            let Some(&before) = applied.actions.get(namely_id) else { continue };
            let followup = || Outcome {
                run_id: run_id.to_string(),
                job: FUNCTION.to_string(),
                record_id: namely_id.clone(),
                label: applied.labels.get(namely_id).cloned(),
                action: before,
                detail: None,
                at: platform::runlog::now_ms(),
            };
            let outcome = &mut followups.entry(namely_id.clone()).or_insert_with(|| (followup(), before)).0;
            if failed {
                outcome.action = Action::Failed;
            } else if outcome.action == Action::Unchanged {
                outcome.action = Action::Updated;
            }
            outcome.detail = Some(match outcome.detail.take() {
                Some(detail) => format!("{detail}; {text}"),
                None => text,
            });
        }
    }
    followups.into_values().collect()
}

/// Applies one user's action; returns the outcome, what changed, and the Lessonly id.
async fn apply_user(
    lessonly: &LessonlyClient,
    settings: &LessonlySettings,
    user: &PlannedUser,
) -> Result<(Action, Vec<String>, Option<i64>), connectors::Error> {
    match &user.action {
        UserAction::Create { fields } => {
            let mut input = user_input(fields);
            input.role = Some(settings.new_user_role.clone());
            input.notify = Some(settings.send_invites.to_string());
            let created = lessonly.create_user(&input).await?;
            Ok((Action::Created, vec![format!("created as Lessonly user {}", created.id)], Some(created.id)))
        }
        UserAction::Update { lessonly_id, fields, changes, restore } => {
            let mut detail = Vec::new();
            if *restore {
                lessonly.restore_user(*lessonly_id).await?;
                detail.push("restored (was archived)".to_string());
            }
            if !changes.is_empty() {
                lessonly.update_user(*lessonly_id, &user_input(fields)).await?;
                detail.extend(changes.iter().map(change_text));
            }
            Ok((Action::Updated, detail, Some(*lessonly_id)))
        }
        UserAction::Archive { lessonly_id } => {
            lessonly.archive_user(*lessonly_id).await?;
            Ok((Action::Updated, vec!["archived (inactive in Namely)".into()], Some(*lessonly_id)))
        }
        UserAction::Unchanged { lessonly_id } => Ok((Action::Unchanged, Vec::new(), Some(*lessonly_id))),
        UserAction::Skip { reason } => Ok((Action::Skipped, vec![reason.clone()], None)),
    }
}

async fn apply_group(lessonly: &LessonlyClient, group: &GroupChange, adds: &[i64]) -> Result<(), connectors::Error> {
    match group.lessonly_group_id {
        None => {
            lessonly.create_group(&group.name, adds, &[]).await?;
        }
        Some(id) => {
            if group.restore {
                lessonly.restore_group(id).await?;
            }
            let members: Vec<MemberChange> = adds
                .iter()
                .map(|id| MemberChange::add(*id))
                .chain(group.remove.iter().map(|id| MemberChange::remove(*id)))
                .collect();
            if !members.is_empty() {
                lessonly.update_group_members(id, &MemberChanges { members, ..Default::default() }).await?;
            }
        }
    }
    Ok(())
}
