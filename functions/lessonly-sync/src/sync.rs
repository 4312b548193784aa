//! One sync run: read Namely and Lessonly, plan (pure, in the mapping crate), apply the plan, and
//! record every user's outcome.

use crate::settings::LessonlySettings;
use crate::FUNCTION;
use app::{Deps, RunLease};
use connectors::lessonly::{CustomFieldInput, GroupChange as MemberChanges, LessonlyClient, MemberChange, UserInput};
use connectors::namely::{Directory, Profile, ProfileFilter};
use futures::StreamExt;
use mapping::lessonly::{
    plan, Employee, GroupChange, KnownField, Learner, LessonlyGroup, PlannedUser, SyncPlan, UserAction, UserFields,
};
use platform::{Action, Outcome, Run, Trigger};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// Requests in flight at once while applying a plan.
const IN_FLIGHT: usize = 16;
/// One sync at a time; a holder that dies frees the lease after this long.
const LEASE_MINUTES: i64 = 30;

/// What a run was asked to do.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    pub trigger: Trigger,
    pub dry_run: bool,
}

/// Runs one sync (or plans it, for a dry run) and answers with its summary.
pub async fn run(deps: &Deps, settings: &LessonlySettings, options: SyncOptions) -> Result<Value, app::Error> {
    let job = if options.dry_run { format!("{FUNCTION}.dry-run") } else { FUNCTION.to_string() };
    let mut run = Run::start(&job, options.trigger);
    let lease = if options.dry_run {
        None
    } else {
        match RunLease::acquire(deps, FUNCTION, &run.run_id, chrono::Duration::minutes(LEASE_MINUTES)).await? {
            Ok(lease) => Some(lease),
            Err(answer) => return Ok(answer),
        }
    };
    deps.runlog.save_run(&run).await?;
    let result = Box::pin(sync(deps, settings, options, &mut run)).await;
    if let Some(lease) = lease {
        lease.release(deps).await;
    }
    let (summary, error) = match result {
        Ok(summary) => (summary, None),
        Err(message) => (json!({}), Some(message)),
    };
    run.finish(error.clone());
    if error.is_none() {
        run.message = app::warnings_message(&summary);
    }
    deps.runlog.save_run(&run).await?;
    tracing::info!(run_id = %run.run_id, status = %run.status, counts = %run.counts, "lessonly sync finished");
    Ok(app::run_answer(summary, &run, options.dry_run, error.as_deref()))
}

async fn sync(deps: &Deps, settings: &LessonlySettings, options: SyncOptions, run: &mut Run) -> Result<Value, String> {
    let mut warnings = Vec::new();
    let secret = deps.secrets.namely().await.map_err(|e| e.to_string())?;
    // In every run's log, so the admin sees it coming (30 days ahead).
    if let Some(warning) = secret.expiry_warning(chrono::Utc::now().date_naive()) {
        warnings.push(warning);
    }
    let namely = deps.clients.namely(deps).await.map_err(|e| e.to_string())?;
    let lessonly = deps.clients.lessonly(deps).await.map_err(|e| e.to_string())?;

    let (every_profile, every_user) = (ProfileFilter::default(), Default::default());
    // Each page of profiles becomes the plan's employees as it arrives (the directory, a call or
    // two, comes first), so the company is never held as whole profiles.
    let wanted: Vec<&str> = settings.sync.custom_fields.iter().map(|m| m.namely_key.as_str()).collect();
    let employees = async {
        let directory = namely.directory().await?;
        namely.list_profiles_as(&every_profile, |p| employee(&p, &directory, &wanted)).await
    };
    let (employees, users, groups) = tokio::join!(employees, lessonly.list_users(&every_user), lessonly.list_groups());
    let employees: Vec<Employee> = employees.map_err(|e| app::namely_read_error(&e))?;
    let users = users.map_err(|e| format!("Lessonly users could not be read: {e}"))?;
    let groups = groups.map_err(|e| format!("Lessonly groups could not be read: {e}"))?;

    let learners: Vec<Learner> = users.iter().map(learner).collect();
    let lessonly_groups: Vec<LessonlyGroup> = groups
        .iter()
        .map(|g| LessonlyGroup {
            id: g.id,
            name: g.name.clone().unwrap_or_default(),
            archived: g.archived_at.is_some(),
        })
        .collect();
    let known = known_fields(&users, settings);
    let plan = plan(&employees, &learners, &lessonly_groups, &known, &settings.sync);
    warnings.extend(plan.warnings.iter().cloned());
    for missing in &plan.missing_custom_fields {
        warnings.push(format!(
            "the Lessonly custom user field '{missing}' does not exist, so it was skipped (this sync never creates \
             Lessonly fields: create it in Lessonly, or fix LESSONLY_CUSTOM_FIELDS)"
        ));
    }

    if options.dry_run {
        for user in &plan.users {
            run.counts.add(planned_action(&user.action));
        }
        return Ok(json!({"warnings": warnings, "plan": describe(&plan), "writes": plan.write_count()}));
    }

    let outcomes = apply(&lessonly, settings, &plan, &run.run_id).await?;
    for outcome in &outcomes {
        run.counts.add(outcome.action);
    }
    if let Err(e) = deps.runlog.record_outcomes(&outcomes).await {
        warnings.push(format!("the per-user outcomes could not all be recorded: {e}"));
    }
    let changed: Vec<Value> = outcomes
        .iter()
        .filter(|o| o.action != Action::Unchanged)
        .map(|o| json!({"namely_id": o.record_id, "label": o.label, "action": o.action.as_str(), "detail": o.detail}))
        .collect();
    Ok(json!({"warnings": warnings, "changes": changed}))
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

/// Per-user result while applying.
struct Applied {
    action: Action,
    detail: Vec<String>,
    failed: bool,
}

/// Applies the plan: users first (creates give the ids groups need), then groups. Each user's
/// outcome says what changed, group memberships included.
async fn apply(
    lessonly: &LessonlyClient,
    settings: &LessonlySettings,
    plan: &SyncPlan,
    run_id: &str,
) -> Result<Vec<Outcome>, String> {
    let mut applied: HashMap<&str, Applied> = HashMap::new();
    let mut lessonly_ids: HashMap<String, i64> = HashMap::new();
    let mut by_lessonly_id: HashMap<i64, &str> = HashMap::new();
    // Several users in flight at once, so the run goes at the rate limit rather than at the pace of
    // one round trip; the client's limiter keeps it under the limit.
    let mut results = futures::stream::iter(plan.users.iter())
        .map(|user| async move { (user, apply_user(lessonly, settings, user).await) })
        .buffer_unordered(IN_FLIGHT);
    while let Some((user, result)) = results.next().await {
        let (action, detail, failed) = match result {
            Ok((action, detail, id)) => {
                if let Some(id) = id {
                    lessonly_ids.insert(user.namely_id.clone(), id);
                    by_lessonly_id.insert(id, user.namely_id.as_str());
                }
                (action, detail, false)
            }
            Err(e) if e.status() == Some(401) => {
                return Err(format!(
                    "Lessonly refused the API key ({e}); check the subdomain and API key in the Lessonly secret"
                ))
            }
            Err(e) => (Action::Failed, vec![e.to_string()], true),
        };
        applied.insert(user.namely_id.as_str(), Applied { action, detail, failed });
    }
    // The groups' writes go out together too; each group is one call (or a restore and a call).
    let lessonly_ids = &lessonly_ids;
    let group_results: Vec<Result<(), connectors::Error>> = futures::stream::iter(plan.groups.iter())
        .map(|group| async move {
            let adds: Vec<i64> = group.add.iter().filter_map(|n| lessonly_ids.get(n).copied()).collect();
            apply_group(lessonly, group, &adds).await
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    for (group, result) in plan.groups.iter().zip(group_results) {
        let mut note = |namely_id: &str, text: String, failed: bool| {
            if let Some(a) = applied.get_mut(namely_id) {
                if failed {
                    a.failed = true;
                    a.action = Action::Failed;
                } else if a.action == Action::Unchanged {
                    a.action = Action::Updated;
                }
                a.detail.push(text);
            }
        };
        match &result {
            Ok(()) => {
                for n in &group.add {
                    if lessonly_ids.contains_key(n) {
                        note(n, format!("added to group '{}'", group.name), false);
                    }
                }
                for id in &group.remove {
                    if let Some(n) = by_lessonly_id.get(id) {
                        note(n, format!("removed from group '{}'", group.name), false);
                    }
                }
            }
            Err(e) => {
                for n in &group.add {
                    note(n, format!("could not be added to group '{}': {e}", group.name), true);
                }
                for id in &group.remove {
                    if let Some(n) = by_lessonly_id.get(id) {
                        note(n, format!("could not be removed from group '{}': {e}", group.name), true);
                    }
                }
            }
        }
    }
    let now = platform::runlog::now_ms();
    Ok(plan
        .users
        .iter()
        .map(|user| {
            let a = applied.remove(user.namely_id.as_str());
            let (action, detail) = match a {
                Some(a) => (if a.failed { Action::Failed } else { a.action }, a.detail),
                None => (Action::Failed, vec!["not applied".into()]),
            };
            Outcome {
                run_id: run_id.to_string(),
                job: FUNCTION.to_string(),
                record_id: user.namely_id.clone(),
                label: Some(user.label.clone()),
                action,
                detail: (!detail.is_empty()).then(|| detail.join("; ")),
                at: now,
            }
        })
        .collect())
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
