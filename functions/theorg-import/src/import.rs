//! One import: read every Lever posting, plan (pure, in the mapping crate) against what was
//! imported before, publish only the differences, remember the new set, record each role's outcome
//! and tell the notification topic how it went.

use crate::settings::TheOrgSettings;
use crate::sink::{RoleSink, TheOrgSink};
use crate::FUNCTION;
use app::{Deps, RunLease};
use connectors::lever::{Posting, PostingFilter};
use futures::StreamExt;
use mapping::theorg::{diff, plan, Imported, OpenRole, PlannedRole, PostingInput, RoleAction};
use platform::runlog::ShardedMap;
use platform::{Action, Outcome, Run, Trigger};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Requests in flight at once while publishing.
const IN_FLIGHT: usize = 16;
/// The imported set: Lever posting id → The Org job id and the fingerprint last published.
const IMPORTED: &str = "theorg-import.roles";

#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    pub trigger: Trigger,
    pub dry_run: bool,
}

/// How many roles an import added, updated and removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    pub added: u64,
    pub updated: u64,
    pub removed: u64,
    pub unchanged: u64,
    pub failed: u64,
}

/// Runs (or plans) one import and answers with its summary.
pub async fn run(deps: &Deps, settings: &TheOrgSettings, options: ImportOptions) -> Result<Value, app::Error> {
    let job = if options.dry_run { format!("{FUNCTION}.dry-run") } else { FUNCTION.to_string() };
    let mut run = Run::start(&job, options.trigger);
    let lease = if options.dry_run {
        None
    } else {
        match RunLease::acquire(deps, FUNCTION, &run.run_id, chrono::Duration::minutes(20)).await? {
            Ok(lease) => Some(lease),
            Err(answer) => return Ok(answer),
        }
    };
    deps.runlog.save_run(&run).await?;
    let result = Box::pin(import(deps, settings, options, &mut run)).await;
    if let Some(lease) = lease {
        lease.release(deps).await;
    }
    let (summary, tally, error) = match result {
        Ok((summary, tally)) => (summary, tally, None),
        Err(message) => (json!({}), Tally::default(), Some(message)),
    };
    run.finish(error.clone());
    if error.is_none() {
        let mut message = format!("{} added, {} updated, {} removed", tally.added, tally.updated, tally.removed);
        if tally.failed > 0 {
            message.push_str(&format!(", {} failed (each role's outcome says why)", tally.failed));
        }
        run.message = Some(message);
    }
    deps.runlog.save_run(&run).await?;
    tracing::info!(run_id = %run.run_id, status = %run.status, added = tally.added, updated = tally.updated,
                   removed = tally.removed, "the org import finished");
    if !options.dry_run {
        notify(deps, settings, &run, &tally, error.as_deref(), options.trigger).await;
    }
    let mut answer = app::run_answer(summary, &run, options.dry_run, error.as_deref());
    answer["roles"] = json!(tally);
    Ok(answer)
}

/// The posting as the mapping sees it.
fn posting_input(p: &Posting) -> PostingInput {
    let categories = p.categories.clone().unwrap_or_default();
    let content = p.content.clone().unwrap_or_default();
    PostingInput {
        id: p.id.clone(),
        text: p.text.clone(),
        state: p.state.clone(),
        created_at_ms: p.created_at,
        department: categories.department,
        team: categories.team,
        location: categories.location,
        all_locations: categories.all_locations,
        description: content.description,
        description_html: content.description_html,
        lists: content.lists.into_iter().map(|l| (l.text.unwrap_or_default(), l.content.unwrap_or_default())).collect(),
        closing: content.closing,
        closing_html: content.closing_html,
        url_show: p.urls.as_ref().and_then(|u| u.show.clone()),
        url_apply: p.urls.as_ref().and_then(|u| u.apply.clone()),
    }
}

async fn import(
    deps: &Deps,
    settings: &TheOrgSettings,
    options: ImportOptions,
    run: &mut Run,
) -> Result<(Value, Tally), String> {
    let lever = deps.clients.lever(deps).await.map_err(|e| e.to_string())?;
    // Every state; published postings on the internal channel only come when asked for by channel.
    let all = PostingFilter { include_content: true, include_confidential: true, ..Default::default() };
    let internal = PostingFilter { distribution_channels: vec!["internal".into()], ..all.clone() };
    let (everything, internal_only) = tokio::join!(lever.list_postings(&all), lever.list_postings(&internal));
    let read_error = |e: connectors::Error| match e.status() {
        Some(403) => format!("Lever refused to list postings ({e}): the API key needs the read-postings permission"),
        _ => format!("Lever postings could not be read: {e}"),
    };
    let mut postings = everything.map_err(read_error)?;
    postings.extend(internal_only.map_err(read_error)?);
    let inputs: Vec<PostingInput> = postings.iter().map(posting_input).collect();
    let mut imported: ShardedMap<Imported> =
        ShardedMap::load(deps.runlog.as_ref(), IMPORTED).await.map_err(|e| e.to_string())?;
    let planned = plan(&inputs, &settings.open_states, &imported.all());

    if options.dry_run {
        let mut tally = Tally::default();
        let lines: Vec<String> = planned
            .iter()
            .filter_map(|p| {
                let (action, line) = match &p.action {
                    RoleAction::Create { .. } => (Action::Created, format!("add '{}'", p.label)),
                    RoleAction::Update { .. } => (Action::Updated, format!("update '{}'", p.label)),
                    RoleAction::Remove { reason, .. } => (Action::Updated, format!("remove '{}': {reason}", p.label)),
                    RoleAction::Unchanged { .. } => (Action::Unchanged, String::new()),
                };
                count(&mut tally, &p.action, true);
                run.counts.add(action);
                (!line.is_empty()).then_some(line)
            })
            .collect();
        return Ok((json!({"plan": lines}), tally));
    }

    let theorg = deps.clients.theorg(deps).await.map_err(|e| e.to_string())?;
    // What The Org holds now, read only when something is to be updated: the sync log shows old → new.
    let current: HashMap<String, OpenRole> = if planned.iter().any(|p| matches!(p.action, RoleAction::Update { .. })) {
        theorg
            .list_jobs()
            .await
            .map_err(|e| format!("The Org's jobs could not be read: {e}"))?
            .into_iter()
            .map(|j| (j.id.clone(), role_of(&j)))
            .collect()
    } else {
        HashMap::new()
    };
    let sink = TheOrgSink(theorg);
    let mut tally = Tally::default();
    let mut outcomes = Vec::with_capacity(planned.len());
    // Several roles in flight at once: the run goes at The Org's rate limit, not one round trip at a time.
    let (sink, current) = (&sink, &current);
    // Set when The Org refuses the key: nothing new starts, and what is under way is still recorded.
    let refused = std::cell::Cell::new(false);
    let mut refusal = None;
    let mut results = futures::stream::iter(planned.iter())
        .take_while(|_| std::future::ready(!refused.get()))
        .map(|item| async move { (item, publish(sink, item, current).await) })
        .buffer_unordered(IN_FLIGHT);
    while let Some((item, result)) = results.next().await {
        let (action, detail) = match result {
            Ok((action, detail, change)) => {
                match change {
                    Remember::Set(value) => imported.set(&item.external_id, value),
                    Remember::Forget => imported.remove(&item.external_id),
                    Remember::Keep => {}
                }
                count(&mut tally, &item.action, true);
                (action, detail)
            }
            Err(e) if e.status() == Some(401) => {
                refused.set(true);
                refusal.get_or_insert_with(|| {
                    format!("The Org refused the API key ({e}); check the api_key in The Org secret")
                });
                count(&mut tally, &item.action, false);
                (Action::Failed, e.to_string())
            }
            Err(e) => {
                count(&mut tally, &item.action, false);
                (Action::Failed, e.to_string())
            }
        };
        run.counts.add(action);
        outcomes.push(Outcome {
            run_id: run.run_id.clone(),
            job: FUNCTION.to_string(),
            record_id: item.external_id.clone(),
            label: Some(item.label.clone()),
            action,
            detail: Some(detail),
            at: platform::runlog::now_ms(),
        });
    }
    drop(results);
    imported.flush(deps.runlog.as_ref()).await.map_err(|e| e.to_string())?;
    deps.runlog.record_outcomes(&outcomes).await.map_err(|e| e.to_string())?;
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    let changes: Vec<Value> = outcomes
        .iter()
        .filter(|o| o.action != Action::Unchanged)
        .map(|o| json!({"posting_id": o.record_id, "label": o.label, "action": o.action.as_str(), "detail": o.detail}))
        .collect();
    Ok((json!({"changes": changes}), tally))
}

fn count(tally: &mut Tally, action: &RoleAction, ok: bool) {
    if !ok {
        tally.failed += 1;
        return;
    }
    match action {
        RoleAction::Create { .. } => tally.added += 1,
        RoleAction::Update { .. } => tally.updated += 1,
        RoleAction::Remove { .. } => tally.removed += 1,
        RoleAction::Unchanged { .. } => tally.unchanged += 1,
    }
}

/// A published job read back as a role, to show what an update changes.
fn role_of(job: &connectors::theorg::Job) -> OpenRole {
    OpenRole {
        external_id: job.external_id.clone().unwrap_or_default(),
        title: job.title.clone().unwrap_or_default(),
        description: job.description.clone(),
        description_html: job.description_html.clone(),
        department: job.department.clone(),
        team: job.team.clone(),
        location: job.location.clone(),
        all_locations: job.all_locations.clone(),
        state: job.state.clone().unwrap_or_default(),
        created_at: job.created_at.as_ref().and_then(Value::as_i64),
        url: job.url.clone(),
        apply_url: job.apply_url.clone(),
    }
}

/// What the imported set should remember after a published change.
enum Remember {
    Set(Imported),
    Forget,
    Keep,
}

/// Publishes one planned change; returns the outcome, its sync-log detail and what to remember.
async fn publish(
    sink: &dyn RoleSink,
    item: &PlannedRole,
    current: &HashMap<String, OpenRole>,
) -> Result<(Action, String, Remember), connectors::Error> {
    match &item.action {
        RoleAction::Create { role } => {
            let job_id = sink.create(role).await?;
            let detail = format!("added to The Org as job {job_id} ({})", role.state);
            Ok((Action::Created, detail, Remember::Set(remember(&job_id, role))))
        }
        RoleAction::Update { job_id, role } => {
            sink.update(job_id, role).await?;
            let changed = match current.get(job_id) {
                Some(old) => {
                    let fields: Vec<String> = diff(old, role)
                        .iter()
                        .map(|c| match c.field.as_str() {
                            "description" | "descriptionHtml" => format!("{} changed", c.field),
                            _ => format!(
                                "{}: {} → {}",
                                c.field,
                                c.old.as_deref().unwrap_or("(empty)"),
                                c.new.as_deref().unwrap_or("(empty)")
                            ),
                        })
                        .collect();
                    if fields.is_empty() {
                        "republished (The Org's copy differed from the last import)".to_string()
                    } else {
                        fields.join("; ")
                    }
                }
                None => "republished".to_string(),
            };
            let detail = format!("updated job {job_id}: {changed}; its place in the org chart is kept");
            Ok((Action::Updated, detail, Remember::Set(remember(job_id, role))))
        }
        RoleAction::Remove { job_id, reason, .. } => {
            sink.remove(job_id).await?;
            Ok((Action::Updated, format!("removed job {job_id} from The Org: {reason}"), Remember::Forget))
        }
        RoleAction::Unchanged { .. } => Ok((Action::Unchanged, "up to date".into(), Remember::Keep)),
    }
}

fn remember(job_id: &str, role: &OpenRole) -> Imported {
    Imported { job_id: job_id.to_string(), fingerprint: role.fingerprint(), title: role.title.clone() }
}

/// Tells the notification topic how the import went: always for an import asked for by hand (the
/// "we'll send you an email when the import is done"), otherwise only when roles changed or it failed,
/// so a quiet six-hourly import sends no mail.
async fn notify(
    deps: &Deps,
    settings: &TheOrgSettings,
    run: &Run,
    tally: &Tally,
    error: Option<&str>,
    trigger: Trigger,
) {
    let Some(topic) = &settings.notify_topic_arn else { return };
    let changed = tally.added + tally.updated + tally.removed > 0;
    if trigger == Trigger::Schedule && !changed && error.is_none() {
        return;
    }
    let Some(aws) = &deps.aws else {
        tracing::warn!(topic, "THEORG_NOTIFY_TOPIC_ARN is set but no AWS configuration was loaded; not notified");
        return;
    };
    let (subject, body) = match error {
        None => (
            format!("The Org import done: {} added, {} updated, {} removed", tally.added, tally.updated, tally.removed),
            format!(
                "The import of open roles from Lever into The Org finished at {}.\n\n\
                 Roles added: {}\nRoles updated: {}\nRoles removed: {}\nUnchanged: {}\nFailed: {}\n\nRun: {}\n",
                run.ended_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                tally.added,
                tally.updated,
                tally.removed,
                tally.unchanged,
                tally.failed,
                run.run_id
            ),
        ),
        Some(e) => (
            "The Org import failed".to_string(),
            format!("The import of open roles from Lever into The Org failed:\n\n{e}\n\nRun: {}\n", run.run_id),
        ),
    };
    let sns = aws_sdk_sns::Client::new(aws);
    let result = sns.publish().topic_arn(topic).subject(subject).message(body).send().await;
    match result {
        Ok(_) => tracing::info!(
            topic,
            added = tally.added,
            updated = tally.updated,
            removed = tally.removed,
            "import notification published"
        ),
        Err(e) => {
            tracing::warn!(topic, error = %platform::aws::error_chain(&e), "could not publish the import notification")
        }
    }
}
