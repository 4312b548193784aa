//! The worker: one attempt to transfer one hire from Lever to Namely, and the write-back to Lever.
//!
//! Exactly once: an idempotency claim (`hire:<opportunity>`) keeps two attempts from running at
//! once and remembers a finished transfer; before creating, Namely is searched by email, so an
//! attempt that died after Namely created the profile links it instead of creating a second one.

use crate::lookups;
use crate::settings::{HireSettings, TriggerMode};
use app::Deps;
use chrono::Duration;
use connectors::lever::{LeverClient, NewNote, Opportunity};
use connectors::namely::{EmployeeType, JobTitleRef, NamelyClient, NewProfile, Profile, Salary};
use connectors::ErrorKind;
use mapping::hire::{map_hire, HireInput, JobTitleOption, NamelyHire, OfferInput, PhoneInput, RecordType, SourceField};
use platform::runlog::Entry;
use platform::{Action, Claim};
use serde_json::{json, Value};

pub const TAG_SUCCESS: &str = "Namely - Successfully Transferred";
pub const TAG_FAILED: &str = "Namely - Failed to Transfer";
pub const TAG_RETRY: &str = "Namely - Retry";
pub const TAG_SKIP: &str = "Namely - Skip";

/// The run-log entry kind of a received hire (its id is the opportunity id).
pub const ENTRY_KIND: &str = "hire";
/// Entry states.
pub const QUEUED: &str = "queued";
pub const TRANSFERRED: &str = "transferred";
pub const FAILED: &str = "failed";
pub const SKIPPED: &str = "skipped";

/// How long one attempt may hold a hire before another may take it over (its holder died, or its
/// create's outcome is unknown). Longer than the function timeout, shorter than the queue's
/// visibility timeout (checked against `template.yaml` by a test).
pub const LEASE_MINUTES: i64 = 10;

/// The idempotency key of a hire.
pub fn claim_key(opportunity_id: &str) -> String {
    format!("hire:{opportunity_id}")
}

/// One attempt at one hire.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub opportunity_id: String,
    /// 1 for the first attempt; SQS's receive count for queued hires.
    pub attempt_number: u32,
    /// Asked for with the `Namely - Retry` tag or by hand: runs even after an earlier transfer
    /// finished (it then links the existing profile and corrects the tags).
    pub forced: bool,
}

/// What an attempt ended with, for the run log and the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptOutcome {
    pub action: Action,
    /// The candidate, for people.
    pub label: Option<String>,
    pub detail: String,
    pub namely_id: Option<String>,
    /// The hire is still open and should be tried again (a vendor outage).
    pub retry_later: bool,
}

/// Why an attempt stopped short of a transfer.
enum Stop {
    /// Not to be transferred (Skip tag, no longer hired); nothing is written to Lever.
    Skip(String),
    /// Needs a person: written to Lever as the failure tag and a note.
    Fail(String),
    /// A vendor outage or throttling: try again later.
    Later(String),
    /// Namely's answer to the create was lost (a timeout, a 5xx, a broken connection): the profile
    /// may exist or may still land. Try again later, after looking it up, and hold the hire until then.
    Unknown(String),
}

impl From<connectors::Error> for Stop {
    fn from(e: connectors::Error) -> Stop {
        match e.kind() {
            // Wherever Namely refuses the token, the admin needs a new one before a retry can work.
            ErrorKind::Permanent
                if e.vendor() == connectors::Vendor::Namely && matches!(e.status(), Some(401 | 403)) =>
            {
                Stop::Fail(format!("{}; then add the tag '{TAG_RETRY}'", app::namely_read_error(&e)))
            }
            ErrorKind::Permanent => Stop::Fail(e.to_string()),
            ErrorKind::OutcomeUnknown => Stop::Unknown(e.to_string()),
            ErrorKind::Transient | ErrorKind::RateLimited => Stop::Later(e.to_string()),
        }
    }
}

impl From<app::Error> for Stop {
    fn from(e: app::Error) -> Stop {
        match e {
            app::Error::Vendor(v) => v.into(),
            // A secret that cannot be read today may be fixed by the next attempt.
            other => Stop::Later(other.to_string()),
        }
    }
}

/// A finished transfer.
struct Transferred {
    namely_id: String,
    /// An existing Namely profile with the hire's email was linked; nothing was created.
    linked: bool,
    fields: Vec<(String, String)>,
    notes: Vec<String>,
}

/// Runs one attempt and records nothing but the hire's entry and claim; the caller records the
/// outcome in its run.
pub async fn attempt(deps: &Deps, settings: &HireSettings, run_id: &str, attempt: &Attempt) -> AttemptOutcome {
    let id = attempt.opportunity_id.as_str();
    let key = claim_key(id);
    let lease = Duration::minutes(LEASE_MINUTES);
    let claimed = match deps.runlog.claim(&key, run_id, lease).await {
        Ok(Claim::Done { result, .. }) if attempt.forced => {
            tracing::info!(opportunity_id = id, namely_id = ?result, "re-running a finished transfer as asked");
            match deps.runlog.release(&key).await {
                Ok(()) => deps.runlog.claim(&key, run_id, lease).await,
                Err(e) => Err(e),
            }
        }
        other => other,
    };
    match claimed {
        Ok(Claim::Acquired) => {}
        Ok(Claim::Done { result, .. }) => {
            close_finished_entry(deps, id, result.as_deref()).await;
            return AttemptOutcome {
                action: Action::Unchanged,
                label: None,
                detail: format!(
                    "already transferred to Namely (profile {}); nothing done",
                    result.as_deref().unwrap_or("unknown")
                ),
                namely_id: result,
                retry_later: false,
            };
        }
        Ok(Claim::InProgress { owner, .. }) => {
            return AttemptOutcome {
                action: Action::Skipped,
                label: None,
                detail: format!("another attempt ({owner}) is transferring this hire right now; nothing done"),
                namely_id: None,
                retry_later: false,
            }
        }
        Err(e) => {
            return AttemptOutcome {
                action: Action::Failed,
                label: None,
                detail: format!("could not claim the hire in the run log, will retry: {e}"),
                namely_id: None,
                retry_later: true,
            }
        }
    }

    let mut entry = match deps.runlog.entry(crate::transfer::ENTRY_KIND, id).await {
        Ok(Some(entry)) => entry,
        _ => Entry::new(ENTRY_KIND, id, QUEUED, true, json!({})),
    };
    let mut label = None;
    let result = Box::pin(run(deps, settings, attempt, &mut entry, &mut label)).await;
    // A create whose outcome is unknown keeps the hire until the lease runs out, so no other
    // attempt (another Lever event of the same hire) creates before the first create can be seen.
    let hold_claim = matches!(&result, Err(Stop::Unknown(_))) && attempt.attempt_number < settings.max_attempts;
    let lever = deps.clients.lever(deps).await;
    let outcome = match result {
        Ok(done) => {
            let written = match &lever {
                Ok(lever) => write_success(lever, settings, id, &done).await,
                Err(e) => Err(e.to_string()),
            };
            match written {
                Ok(()) => {
                    let created = if done.linked { "linked to the existing" } else { "created" };
                    let mut detail = format!(
                        "{} profile {} {created} in Namely; fields sent: {}",
                        settings.record_type,
                        done.namely_id,
                        fields_text(&done.fields)
                    );
                    for note in &done.notes {
                        detail.push_str("; ");
                        detail.push_str(note);
                    }
                    AttemptOutcome {
                        action: if done.linked { Action::Updated } else { Action::Created },
                        label: label.clone(),
                        detail,
                        namely_id: Some(done.namely_id.clone()),
                        retry_later: false,
                    }
                }
                Err(e) => AttemptOutcome {
                    action: Action::Failed,
                    label: label.clone(),
                    detail: format!(
                        "Namely profile {} is in place but Lever could not be updated, will retry: {e}",
                        done.namely_id
                    ),
                    namely_id: Some(done.namely_id.clone()),
                    retry_later: true,
                },
            }
        }
        Err(Stop::Skip(reason)) => AttemptOutcome {
            action: Action::Skipped,
            label: label.clone(),
            detail: reason,
            namely_id: None,
            retry_later: false,
        },
        Err(Stop::Later(reason)) if attempt.attempt_number < settings.max_attempts => AttemptOutcome {
            action: Action::Failed,
            label: label.clone(),
            detail: format!(
                "attempt {} of {} failed, will retry: {reason}",
                attempt.attempt_number, settings.max_attempts
            ),
            namely_id: None,
            retry_later: true,
        },
        Err(Stop::Unknown(reason)) if attempt.attempt_number < settings.max_attempts => AttemptOutcome {
            action: Action::Failed,
            label: label.clone(),
            detail: format!(
                "attempt {} of {} failed, will retry: {reason}; Namely may have created the profile, so the hire is \
                 held for {LEASE_MINUTES} minutes, then looked up by e-mail before anything is sent again",
                attempt.attempt_number, settings.max_attempts
            ),
            namely_id: None,
            retry_later: true,
        },
        Err(Stop::Unknown(reason)) => {
            let reason = format!(
                "{reason}; Namely may have created the profile: look for it in Namely before adding '{TAG_RETRY}' \
                 (a retry links an existing profile rather than creating another)"
            );
            fail(settings, attempt, &lever, &mut entry, label.clone(), reason).await
        }
        Err(Stop::Later(reason)) | Err(Stop::Fail(reason)) => {
            fail(settings, attempt, &lever, &mut entry, label.clone(), reason).await
        }
    };
    settle(deps, &key, run_id, &mut entry, &outcome, hold_claim).await;
    outcome
}

/// The outcome of an attempt stopped at its time budget (a vendor call hung). Where it stood is not
/// known — a create may have been sent — so the hire stays held until its lease runs out and is then
/// tried again, looked up first. Its entry counts the attempt, so a hire that always hangs reaches
/// its last attempt and is failed visibly.
pub async fn cut_short(
    deps: &Deps,
    settings: &HireSettings,
    run_id: &str,
    attempt: &Attempt,
    allowed: std::time::Duration,
) -> AttemptOutcome {
    let id = attempt.opportunity_id.as_str();
    let detail = format!(
        "attempt {} of {} stopped after {} s (a vendor call did not answer in time), will retry once the hire's \
         {LEASE_MINUTES}-minute hold runs out, looking Namely up before anything is sent again",
        attempt.attempt_number,
        settings.max_attempts,
        allowed.as_secs_f64().round()
    );
    tracing::warn!(opportunity_id = id, run_id, "{detail}");
    // The attempt's own copy of the entry went with it: settle the one in the run log.
    let mut entry = match deps.runlog.entry(ENTRY_KIND, id).await {
        Ok(Some(entry)) => entry,
        _ => Entry::new(ENTRY_KIND, id, QUEUED, true, json!({})),
    };
    let outcome = AttemptOutcome { action: Action::Failed, label: None, detail, namely_id: None, retry_later: true };
    settle(deps, &claim_key(id), run_id, &mut entry, &outcome, true).await;
    outcome
}

/// The number of the next attempt at a hire, counted from its entry (attempts already made + 1).
pub fn next_attempt_number(entry: &Entry) -> Option<u32> {
    let tried = entry.body.get("attempts").and_then(Value::as_u64)?;
    Some(u32::try_from(tried + 1).unwrap_or(u32::MAX))
}

/// The end of an attempt that needs a person: Lever gets the failure tag and (unless it would
/// repeat the last one) a note saying what to fix.
async fn fail(
    settings: &HireSettings,
    attempt: &Attempt,
    lever: &Result<LeverClient, app::Error>,
    entry: &mut Entry,
    label: Option<String>,
    reason: String,
) -> AttemptOutcome {
    let id = attempt.opportunity_id.as_str();
    let reason = if attempt.attempt_number >= settings.max_attempts && !attempt.forced {
        format!("{reason} (gave up after {} attempts)", attempt.attempt_number)
    } else {
        reason
    };
    let last_note = entry.body.get(LAST_FAILURE_NOTE).and_then(Value::as_str).map(str::to_string);
    let written = match lever {
        Ok(lever) => write_failure(lever, settings, id, &reason, last_note.as_deref()).await,
        Err(e) => Err(e.to_string()),
    };
    match written {
        Ok(()) => {
            if let Value::Object(body) = &mut entry.body {
                body.insert(LAST_FAILURE_NOTE.into(), json!(reason));
            }
            AttemptOutcome { action: Action::Failed, label, detail: reason, namely_id: None, retry_later: false }
        }
        Err(e) => AttemptOutcome {
            action: Action::Failed,
            label,
            detail: format!("{reason}; Lever could not be told, will retry: {e}"),
            namely_id: None,
            retry_later: true,
        },
    }
}

/// A hire whose claim is done is transferred: its entry says so and is closed, whatever an entry
/// write that failed (or a redelivery that reopened it) left, so no sweep runs it again.
async fn close_finished_entry(deps: &Deps, id: &str, namely_id: Option<&str>) {
    let mut entry = match deps.runlog.entry(ENTRY_KIND, id).await {
        Ok(Some(entry)) if entry.open || entry.state != TRANSFERRED => entry,
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(opportunity_id = id, error = %e, "could not read the finished hire's entry");
            return;
        }
    };
    entry.state = TRANSFERRED.into();
    entry.open = false;
    entry.updated_at = platform::runlog::now_ms();
    if let (Value::Object(body), Some(namely_id)) = (&mut entry.body, namely_id) {
        body.insert("namely_id".into(), json!(namely_id));
    }
    if let Err(e) = deps.runlog.put_entry(&entry).await {
        tracing::warn!(opportunity_id = id, error = %e, "could not close the finished hire's entry");
    }
}

/// Records where the hire stands: the claim (done, held until its lease runs out, or free for the
/// next attempt) and its entry.
async fn settle(deps: &Deps, key: &str, run_id: &str, entry: &mut Entry, outcome: &AttemptOutcome, hold_claim: bool) {
    let state = match (outcome.retry_later, outcome.action) {
        (true, _) => QUEUED,
        (false, Action::Created | Action::Updated) => TRANSFERRED,
        (false, Action::Skipped) => SKIPPED,
        (false, _) => FAILED,
    };
    let claim = if state == TRANSFERRED {
        deps.runlog.complete(key, run_id, outcome.namely_id.as_deref()).await
    } else if hold_claim {
        Ok(())
    } else {
        deps.runlog.release(key).await
    };
    if let Err(e) = claim {
        tracing::warn!(key, error = %e, "could not update the hire's claim; its lease runs out on its own");
    }
    if state == TRANSFERRED {
        if let Value::Object(body) = &mut entry.body {
            body.remove(LAST_FAILURE_NOTE);
        }
    }
    entry.state = state.to_string();
    entry.open = state == QUEUED;
    entry.updated_at = platform::runlog::now_ms();
    if let Value::Object(body) = &mut entry.body {
        body.insert("last_detail".into(), json!(outcome.detail));
        body.insert("last_run_id".into(), json!(run_id));
        if let Some(namely_id) = &outcome.namely_id {
            body.insert("namely_id".into(), json!(namely_id));
        }
        let attempts = body.get("attempts").and_then(Value::as_u64).unwrap_or(0) + 1;
        body.insert("attempts".into(), json!(attempts));
    }
    if let Err(e) = deps.runlog.put_entry(entry).await {
        tracing::warn!(key, error = %e, "could not record the hire's state");
    }
}

async fn run(
    deps: &Deps,
    settings: &HireSettings,
    attempt: &Attempt,
    entry: &mut Entry,
    label: &mut Option<String>,
) -> Result<Transferred, Stop> {
    let lever = deps.clients.lever(deps).await?;
    let id = attempt.opportunity_id.as_str();
    let opportunity = match lever.get_opportunity(id).await {
        Ok(o) => o,
        Err(e) if e.status() == Some(404) => {
            return Err(Stop::Skip(format!("the opportunity {id} no longer exists in Lever (deleted or merged)")))
        }
        Err(e) => return Err(e.into()),
    };
    *label = person_label(&opportunity);
    if has_tag(&opportunity, TAG_SKIP) {
        return Err(Stop::Skip(format!("tagged '{TAG_SKIP}': not transferred")));
    }
    if settings.trigger == TriggerMode::OnHire {
        let hired = lookups::hired_reason_ids(&lever).await?;
        let is_hired = opportunity.archive_reason_id().is_some_and(|r| hired.iter().any(|h| h == r));
        if !is_hired {
            let why = "the opportunity is not archived as Hired in Lever";
            return Err(if attempt.forced {
                Stop::Fail(format!("{why}; archive it as Hired, or remove the tag '{TAG_RETRY}'"))
            } else {
                Stop::Skip(format!("{why} (any more); nothing transferred"))
            });
        }
    }
    // An earlier attempt of this hire that created (or linked) the profile but could not finish
    // writing back may have left the success tag without its note: that one is finished, not skipped.
    let known = entry.body.get("namely_id").and_then(Value::as_str).map(str::to_string);
    if has_tag(&opportunity, TAG_SUCCESS) && !attempt.forced && known.is_none() {
        return Err(Stop::Skip(format!(
            "already tagged '{TAG_SUCCESS}' (an earlier transfer); add '{TAG_RETRY}' to transfer again"
        )));
    }

    let namely = deps.clients.namely(deps).await?;
    let input = Box::pin(read_hire(&lever, &opportunity, settings)).await?;
    let job_titles: Vec<JobTitleOption> = namely
        .list_job_titles()
        .await?
        .into_iter()
        .filter_map(|t| Some(JobTitleOption { title: t.title.clone()?, id: t.id }))
        .collect();
    let rules = mapping::hire::HireRules {
        record_type: settings.record_type,
        time_zone: settings.time_zone,
        field_map: settings.field_map.clone(),
    };
    let hire = map_hire(&input, &rules, &job_titles).map_err(|problems| {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        Stop::Fail(format!("nothing was sent to Namely: {}", list.join("; ")))
    })?;

    // An earlier attempt that created the profile left its id; else look for the email.
    if let Some(existing) = find_existing(&namely, known.as_deref(), &hire, settings.record_type).await? {
        let mut notes = vec![if known.as_deref() == Some(existing.id.as_str()) {
            "the profile an earlier attempt of this transfer created was finished; no profile was created".to_string()
        } else {
            format!(
                "a Namely profile with the email {} already existed, so it was linked and no profile was created",
                existing.email.as_deref().or(existing.personal_email.as_deref()).unwrap_or(&hire.email)
            )
        }];
        // A profile created by an attempt that stopped before attaching the resume gets it now.
        if existing.custom("resume").is_none() {
            if let Some(problem) = attach_resume(&lever, &namely, &opportunity, &existing.id).await {
                if let Value::Object(body) = &mut entry.body {
                    body.insert("namely_id".into(), json!(existing.id));
                }
                resume_problem(problem, attempt, settings, &existing.id, &mut notes)?;
            }
        }
        return Ok(Transferred { namely_id: existing.id, linked: true, fields: hire.fields_sent(), notes });
    }
    let created = namely.create_profile(&new_profile(&hire)).await.map_err(|e| match namely_refusal(&e) {
        Some(refusal) => Stop::Fail(refusal),
        None => Stop::from(e),
    })?;
    if let Value::Object(body) = &mut entry.body {
        body.insert("namely_id".into(), json!(created.id));
    }
    // Saved at once: an attempt that dies from here on is finished by the next one, which links.
    if let Err(e) = deps.runlog.put_entry(entry).await {
        tracing::warn!(opportunity_id = id, error = %e, "could not save the new Namely id early");
    }
    let mut notes = hire.notes.clone();
    if let Some(problem) = attach_resume(&lever, &namely, &opportunity, &created.id).await {
        resume_problem(problem, attempt, settings, &created.id, &mut notes)?;
    }
    Ok(Transferred { namely_id: created.id, linked: false, fields: hire.fields_sent(), notes })
}

/// Reads everything the mapping needs from Lever, in parallel.
async fn read_hire(lever: &LeverClient, opportunity: &Opportunity, settings: &HireSettings) -> Result<HireInput, Stop> {
    let id = opportunity.id.as_str();
    // The application that was hired; else any with a posting.
    let posting_id = opportunity
        .applications
        .iter()
        .find(|a| a.posting.is_some() && a.archived.as_ref().is_some_and(|x| x.reason.is_some()))
        .or_else(|| opportunity.applications.iter().find(|a| a.posting.is_some()))
        .and_then(|a| a.posting.clone());
    let posting = async {
        match &posting_id {
            Some(p) => lever.get_posting(p).await.map(Some),
            None => Ok(None),
        }
    };
    let (posting, offers, forms) = tokio::join!(posting, lever.list_offers(id), lever.list_forms(id));
    let posting = match posting {
        Ok(p) => p,
        // A deleted posting leaves the job title blank; it does not stop the hire.
        Err(e) if e.status() == Some(404) => None,
        Err(e) => return Err(e.into()),
    };
    let form = forms?.into_iter().find(|f| {
        let wanted = settings.new_hire_form.trim();
        f.base_template_id.as_deref() == Some(wanted)
            || f.text.as_deref().is_some_and(|t| t.trim().eq_ignore_ascii_case(wanted))
    });
    let (name, emails, phones) = match &opportunity.contact {
        Some(connectors::lever::ContactField::Expanded(c)) if opportunity.emails.is_empty() => {
            (opportunity.name.clone().or(c.name.clone()), c.emails.clone(), c.phones.clone())
        }
        _ => (opportunity.name.clone(), opportunity.emails.clone(), opportunity.phones.clone()),
    };
    Ok(HireInput {
        name,
        emails,
        phones: phones.into_iter().map(|p| PhoneInput { kind: p.kind, value: p.value }).collect(),
        archived_at_ms: opportunity.archived_at_ms().or_else(|| {
            // Stage mode: the time the candidate reached the latest stage.
            opportunity.stage_changes.iter().filter_map(|s| s.updated_at).max()
        }),
        posting_title: posting.and_then(|p| p.text),
        offers: offers?
            .into_iter()
            .map(|o| OfferInput {
                status: o.status,
                created_at_ms: o.created_at,
                fields: o
                    .fields
                    .into_iter()
                    .filter_map(|f| {
                        Some(SourceField { key: f.identifier?, kind: None, value: f.value, currency: None })
                    })
                    .collect(),
            })
            .collect(),
        new_hire_form: form
            .map(|f| {
                f.fields
                    .into_iter()
                    .filter_map(|x| {
                        Some(SourceField { key: x.text?, kind: x.kind, value: x.value, currency: x.currency })
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// The profile this hire already has in Namely, if any.
async fn find_existing(
    namely: &NamelyClient,
    known_id: Option<&str>,
    hire: &NamelyHire,
    record_type: RecordType,
) -> Result<Option<Profile>, Stop> {
    if let Some(id) = known_id {
        match namely.get_profile(id).await {
            Ok(p) => return Ok(Some(p)),
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut found = namely.find_profiles_by_email(&hire.email).await?;
    if found.is_empty() && record_type == RecordType::Onboarding {
        if let Some(personal) = hire.personal_email.as_deref().filter(|p| !p.eq_ignore_ascii_case(&hire.email)) {
            found = namely.find_profiles_by_email(personal).await?;
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => {
            let ids: Vec<&str> = found.iter().map(|p| p.id.as_str()).collect();
            Err(Stop::Fail(format!(
                "{} Namely profiles already use the email {} ({}); merge or correct them in Namely, then add the tag '{TAG_RETRY}'",
                found.len(),
                hire.email,
                ids.join(", ")
            )))
        }
    }
}

/// The Namely create request for a mapped hire.
pub fn new_profile(hire: &NamelyHire) -> NewProfile {
    let mut profile = NewProfile {
        first_name: Some(hire.first_name.clone()),
        last_name: Some(hire.last_name.clone()),
        middle_name: hire.middle_name.clone(),
        preferred_name: hire.preferred_name.clone(),
        email: Some(hire.email.clone()),
        personal_email: hire.personal_email.clone(),
        user_status: Some(hire.user_status.to_string()),
        start_date: Some(hire.start_date),
        job_title: hire
            .job_title
            .as_ref()
            .map(|t| JobTitleRef { id: Some(t.id.clone()), title: Some(t.title.clone()) }),
        home_phone: hire.home_phone.clone(),
        mobile_phone: hire.mobile_phone.clone(),
        salary: hire.salary.as_ref().map(|s| Salary {
            currency_type: Some(s.currency.clone()),
            date: Some(hire.start_date),
            yearly_amount: Some(s.yearly_amount),
        }),
        employee_type: hire.employee_type.as_ref().map(|t| EmployeeType { title: Some(t.clone()) }),
        custom: hire.custom.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        ..Default::default()
    };
    // Not a modelled field of the request type; Namely takes it as a plain key.
    if let Some(phone) = &hire.office_phone {
        profile.custom.insert("office_phone".into(), json!(phone));
    }
    profile
}

/// Namely's refusal of the profile itself (a 4xx other than auth), quoted so the admin can act on it.
fn namely_refusal(e: &connectors::Error) -> Option<String> {
    match (e.kind(), e.status(), e.vendor_message()) {
        (ErrorKind::Permanent, Some(status), Some(message)) if !matches!(status, 401 | 403) => Some(format!(
            "Namely refused the profile (HTTP {status}): \"{message}\". Correct the field in Lever, then add the tag '{TAG_RETRY}'"
        )),
        _ => None,
    }
}

/// Why the resume is not attached.
struct ResumeProblem {
    /// A sentence for the note and the run log.
    note: String,
    /// A vendor outage or a lost answer: the next attempt may attach it.
    transient: bool,
}

impl ResumeProblem {
    fn new(note: String, e: &connectors::Error) -> ResumeProblem {
        ResumeProblem { note, transient: e.kind() != ErrorKind::Permanent }
    }
}

/// What to do about a resume that is not attached: a transient problem before the last attempt
/// stops the attempt (the profile stays linked through the hire's entry, so the next attempt attaches
/// the resume to it, never creating another); otherwise the transfer stands with a note.
fn resume_problem(
    problem: ResumeProblem,
    attempt: &Attempt,
    settings: &HireSettings,
    namely_id: &str,
    notes: &mut Vec<String>,
) -> Result<(), Stop> {
    if problem.transient && attempt.attempt_number < settings.max_attempts {
        return Err(Stop::Later(format!("Namely profile {namely_id} is in place, but {}", problem.note)));
    }
    notes.push(problem.note);
    Ok(())
}

/// Downloads the candidate's first file (else the first resume) and attaches it as the Namely
/// resume. Returns what went wrong when that did not work.
async fn attach_resume(
    lever: &LeverClient,
    namely: &NamelyClient,
    opportunity: &Opportunity,
    namely_id: &str,
) -> Option<ResumeProblem> {
    let id = opportunity.id.as_str();
    let source = match lever.list_files(id).await {
        Ok(files) if !files.is_empty() => files.into_iter().next().and_then(|f| {
            let name = f.name.clone().unwrap_or_else(|| format!("resume{}", f.ext.clone().unwrap_or_default()));
            Some((File::Upload(f.id?), name, f.ext))
        }),
        Ok(_) => match lever.list_resumes(id).await {
            Ok(resumes) => resumes.into_iter().find_map(|r| {
                let file = r.file?;
                let name =
                    file.name.clone().unwrap_or_else(|| format!("resume{}", file.ext.clone().unwrap_or_default()));
                Some((File::Resume(r.id), name, file.ext))
            }),
            Err(e) => {
                return Some(ResumeProblem::new(
                    format!("resume not attached: Lever's resumes could not be read: {e}"),
                    &e,
                ))
            }
        },
        Err(e) => {
            return Some(ResumeProblem::new(format!("resume not attached: Lever's files could not be read: {e}"), &e))
        }
    };
    let (file, name, ext) = source?;
    let bytes = match &file {
        File::Upload(file_id) => lever.download_file(id, file_id).await,
        File::Resume(resume_id) => lever.download_resume(id, resume_id).await,
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            return Some(ResumeProblem::new(
                format!("resume '{name}' not attached: Lever could not provide it: {e}"),
                &e,
            ))
        }
    };
    let uploaded = match namely.upload_file(&name, content_type(ext.as_deref()), &bytes).await {
        Ok(file_id) => file_id,
        Err(e) => {
            return Some(ResumeProblem::new(
                format!("resume '{name}' not attached: Namely did not take the file: {e}"),
                &e,
            ))
        }
    };
    let mut change = NewProfile::default();
    change.custom.insert("resume".into(), json!(uploaded));
    match namely.update_profile(namely_id, &change).await {
        Ok(_) => None,
        Err(e) => Some(ResumeProblem::new(format!("resume '{name}' uploaded but not linked to the profile: {e}"), &e)),
    }
}

enum File {
    Upload(String),
    Resume(String),
}

fn content_type(ext: Option<&str>) -> &'static str {
    match ext.map(|e| e.trim_start_matches('.').to_lowercase()).as_deref() {
        Some("pdf") => "application/pdf",
        Some("doc") => "application/msword",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("txt") => "text/plain",
        Some("rtf") => "application/rtf",
        _ => "application/octet-stream",
    }
}

fn has_tag(opportunity: &Opportunity, tag: &str) -> bool {
    opportunity.tags.iter().any(|t| t == tag)
}

fn person_label(opportunity: &Opportunity) -> Option<String> {
    mapping::names::person_label(opportunity.name.as_deref(), opportunity.emails.first().map(String::as_str))
}

fn fields_text(fields: &[(String, String)]) -> String {
    fields.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

/// Success tag on, retry and failure tags off, and a note with the Namely id.
async fn write_success(
    lever: &LeverClient,
    settings: &HireSettings,
    id: &str,
    done: &Transferred,
) -> Result<(), String> {
    let by = settings.perform_as.as_deref();
    let mut text = if done.linked {
        format!(
            "Namely: linked to the existing Namely profile {} ({}); no new profile was created.",
            done.namely_id, settings.record_type
        )
    } else {
        format!(
            "Namely: successfully transferred. Namely profile id: {} ({} record).",
            done.namely_id, settings.record_type
        )
    };
    text.push_str(&format!("\nFields sent: {}", fields_text(&done.fields)));
    for note in &done.notes {
        text.push_str(&format!("\nNote: {note}"));
    }
    lever.remove_tags(id, &[TAG_FAILED.to_string(), TAG_RETRY.to_string()], by).await.map_err(|e| e.to_string())?;
    lever.add_tags(id, &[TAG_SUCCESS.to_string()], by).await.map_err(|e| e.to_string())?;
    if done.linked && noted_already(lever, id, &done.namely_id).await {
        return Ok(());
    }
    lever.add_note(id, &NewNote { value: text, ..Default::default() }, by).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Whether Lever already has the success note for this profile: an earlier attempt may have
/// written it and then lost Lever's answer, or stopped before recording it. Notes that cannot be
/// read count as none (at worst the note is written twice, never lost).
async fn noted_already(lever: &LeverClient, id: &str, namely_id: &str) -> bool {
    let is_ours = |text: &str| {
        (text.starts_with("Namely: successfully transferred") || text.starts_with("Namely: linked to the existing"))
            && text.contains(namely_id)
    };
    match lever.list_notes(id).await {
        Ok(notes) => notes.iter().any(|n| n.texts().into_iter().any(is_ours)),
        Err(e) => {
            tracing::warn!(opportunity_id = id, error = %e, "could not read Lever's notes; writing the success note");
            false
        }
    }
}

/// The hire entry's memory of the failure reason last written to Lever as a note.
const LAST_FAILURE_NOTE: &str = "last_failure_note";

/// Failure tag on, retry tag off, and a note saying what to fix, unless the last failure note
/// written for this hire (`last_note`) said the same: the tags are set again, the note is not.
async fn write_failure(
    lever: &LeverClient,
    settings: &HireSettings,
    id: &str,
    reason: &str,
    last_note: Option<&str>,
) -> Result<(), String> {
    let by = settings.perform_as.as_deref();
    let text = format!(
        "Namely: failed to transfer. {reason}\nWhen it is fixed, add the tag '{TAG_RETRY}' to this opportunity to try again."
    );
    lever.remove_tags(id, &[TAG_RETRY.to_string()], by).await.map_err(|e| e.to_string())?;
    lever.add_tags(id, &[TAG_FAILED.to_string()], by).await.map_err(|e| e.to_string())?;
    if last_note == Some(reason) {
        tracing::info!(opportunity_id = id, "the failure note would repeat the last one; not written again");
        return Ok(());
    }
    lever.add_note(id, &NewNote { value: text, ..Default::default() }, by).await.map_err(|e| e.to_string())?;
    Ok(())
}
