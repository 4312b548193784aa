//! The `RunLog` contract, checked against both stores: `platform_aws.rs` runs it on DynamoDB (moto),
//! `runlog_sqlite.rs` on the embedded SQLite file. Each check wants a store of its own (or, where
//! the DynamoDB table is shared, ids of its own).

use chrono::Duration;
use platform::runlog::now_ms;
use platform::{Action, Claim, Entry, Outcome, Run, RunLog, RunStatus, Trigger};
use serde_json::json;
use std::sync::Arc;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn outcome(run: &Run, record_id: &str, action: Action, at: chrono::DateTime<chrono::Utc>) -> Outcome {
    Outcome {
        run_id: run.run_id.clone(),
        job: run.job.clone(),
        record_id: record_id.to_string(),
        label: Some(format!("Person {record_id}")),
        action,
        detail: (action == Action::Updated).then(|| "title changed".to_string()),
        at,
    }
}

fn ids(runs: &[Run]) -> Vec<&str> {
    runs.iter().map(|r| r.run_id.as_str()).collect()
}

/// Runs read back as saved, newest first, filtered by job and cut at the limit.
pub async fn runs(log: &dyn RunLog) {
    let (job_a, job_b) = (unique("lessonly-sync"), unique("litmos-sync"));
    let now = now_ms();
    let mut first = Run::start(&job_a, Trigger::Schedule);
    first.started_at = now - Duration::minutes(3);
    let mut second = Run::start(&job_b, Trigger::Manual);
    second.started_at = now - Duration::minutes(2);
    let mut third = Run::start(&job_a, Trigger::Webhook);
    third.started_at = now - Duration::minutes(1);
    for run in [&first, &second, &third] {
        log.save_run(run).await.expect("save a started run");
    }
    assert_eq!(log.run(&first.run_id).await.expect("read run").as_ref(), Some(&first));
    assert_eq!(first.status, RunStatus::Running);

    // Saving again at the finish replaces the run everywhere, without a second listing entry.
    first.counts.add(Action::Created);
    first.counts.add(Action::Failed);
    first.finish(None);
    first.message = Some("1 created, 1 failed".into());
    log.save_run(&first).await.expect("save a finished run");
    third.finish(Some("the Namely token was rejected (401)".into()));
    log.save_run(&third).await.expect("save a failed run");

    let read = log.run(&first.run_id).await.expect("read run").expect("the run exists");
    assert_eq!(read, first);
    assert_eq!(read.status, RunStatus::Partial);
    assert!(read.ended_at.is_some());
    assert_eq!(log.run(&third.run_id).await.expect("read run").map(|r| r.status), Some(RunStatus::Failed));
    assert_eq!(log.run("no-such-run").await.expect("read a missing run"), None);

    let all = log.latest_runs(None, 10).await.expect("latest runs");
    assert_eq!(ids(&all), ids(&[third.clone(), second.clone(), first.clone()]), "newest first, each once");
    assert_eq!(all, vec![third.clone(), second.clone(), first.clone()]);
    let of_a = log.latest_runs(Some(&job_a), 10).await.expect("latest runs of a job");
    assert_eq!(of_a, vec![third.clone(), first.clone()]);
    assert_eq!(ids(&log.latest_runs(None, 2).await.expect("limited")), [&third.run_id, &second.run_id]);
    assert_eq!(ids(&log.latest_runs(Some(&job_a), 1).await.expect("limited by job")), [&third.run_id]);
    assert_eq!(ids(&log.latest_runs(Some(&job_b), 5).await.expect("other job")), [&second.run_id]);
    assert!(log.latest_runs(Some("no-such-job"), 5).await.expect("unknown job").is_empty());
    assert!(log.latest_runs(None, 0).await.expect("limit 0").is_empty());

    // Runs started in the same millisecond come back in one agreed order: larger run id first.
    let job_c = unique("theorg-import");
    let mut tied: Vec<Run> = (0..3).map(|_| Run::start(&job_c, Trigger::Schedule)).collect();
    for run in &mut tied {
        run.started_at = now;
        log.save_run(run).await.expect("save run");
    }
    tied.sort_by(|a, b| b.run_id.cmp(&a.run_id));
    assert_eq!(log.latest_runs(Some(&job_c), 10).await.expect("tied runs"), tied);
}

/// Outcomes read back in the order they were recorded (more than one write batch, several pages
/// stamped in the same millisecond), and a record's history runs newest first across runs.
pub async fn outcomes_and_history(log: &dyn RunLog) {
    let job = unique("lessonly-sync");
    let t0 = now_ms() - Duration::minutes(10);
    let earlier = Run::start(&job, Trigger::Schedule);
    let later = Run::start(&job, Trigger::Manual);

    // One page of 60 (more than DynamoDB's 25 writes per batch), then three more pages; every
    // outcome carries the same time, so only the order of recording tells them apart.
    let actions = [Action::Created, Action::Updated, Action::Unchanged, Action::Skipped, Action::Failed];
    let mut recorded: Vec<Outcome> = Vec::new();
    let pages: Vec<std::ops::Range<usize>> = vec![0..60, 60..65, 65..70, 70..75];
    for page in pages {
        let batch: Vec<Outcome> =
            page.map(|i| outcome(&earlier, &format!("rec-{i:03}"), actions[i % actions.len()], t0)).collect();
        log.record_outcomes(&batch).await.expect("record outcomes");
        recorded.extend(batch);
    }
    log.record_outcomes(&[]).await.expect("recording nothing is fine");
    let read = log.run_outcomes(&earlier.run_id).await.expect("run outcomes");
    let record_ids = |outcomes: &[Outcome]| outcomes.iter().map(|o| o.record_id.clone()).collect::<Vec<_>>();
    assert_eq!(record_ids(&read), record_ids(&recorded), "every outcome, in the order recorded");
    assert_eq!(read, recorded);

    // The later run touches rec-007 twice in one millisecond (two separate writes): neither is lost.
    let t1 = t0 + Duration::seconds(30);
    let updated = outcome(&later, "rec-007", Action::Updated, t1);
    let failed =
        Outcome { detail: Some("Lessonly answered 422".into()), ..outcome(&later, "rec-007", Action::Failed, t1) };
    log.record_outcomes(std::slice::from_ref(&updated)).await.expect("record");
    log.record_outcomes(std::slice::from_ref(&failed)).await.expect("record");
    // The same record id in another job is another record.
    let other_job = Run::start(&unique("litmos-sync"), Trigger::Schedule);
    log.record_outcomes(&[outcome(&other_job, "rec-007", Action::Created, t1)]).await.expect("record");

    let history = log.record_history(&job, "rec-007", 10).await.expect("history");
    let first_time = recorded[7].clone();
    assert_eq!(history, vec![failed.clone(), updated.clone(), first_time], "newest first across two runs");
    assert_eq!(log.record_history(&job, "rec-007", 2).await.expect("history"), vec![failed.clone(), updated.clone()]);
    assert!(log.record_history(&job, "rec-007", 0).await.expect("limit 0").is_empty());
    assert!(log.record_history(&job, "rec-999", 10).await.expect("unknown record").is_empty());
    assert_eq!(log.run_outcomes(&later.run_id).await.expect("run outcomes"), vec![updated, failed]);
    assert!(log.run_outcomes("no-such-run").await.expect("unknown run").is_empty());
}

/// A record is found by its id, or by part of its name or e-mail in any case, once per job with its
/// latest label, most recently touched first; another job's records only when no job is given.
pub async fn find_records(log: &dyn RunLog) {
    let (sync, hires) = (unique("lessonly-sync"), unique("lever-hire-webhook"));
    let t0 = now_ms() - Duration::minutes(10);
    let run = Run::start(&sync, Trigger::Schedule);
    let later = Run::start(&sync, Trigger::Manual);
    let hire_run = Run::start(&hires, Trigger::Webhook);
    let with_label = |run: &Run, id: &str, label: &str, at| Outcome {
        label: Some(label.into()),
        ..outcome(run, id, Action::Updated, at)
    };
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let jane = format!("Jane Émile Doe <jane.{tag}@acme.example>");
    log.record_outcomes(&[
        with_label(&run, "p-1", &format!("Jane Doe <jane.{tag}@acme.example>"), t0),
        with_label(&run, "p-2", &format!("John Roe <john.{tag}@acme.example>"), t0),
        with_label(&hire_run, "opp-9", &format!("Jane Doe <jane.{tag}@acme.example>"), t0 + Duration::seconds(5)),
    ])
    .await
    .expect("record");
    // Jane's name changed since: her latest label is the one shown.
    log.record_outcomes(&[with_label(&later, "p-1", &jane, t0 + Duration::seconds(10))]).await.expect("record");

    let found = log.find_records(Some(&sync), &format!("JANE.{tag}"), 10).await.expect("by e-mail, any case");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].job.as_str(), found[0].record_id.as_str()), (sync.as_str(), "p-1"));
    assert_eq!(found[0].label.as_deref(), Some(jane.as_str()));
    assert_eq!(found[0].last_at, t0 + Duration::seconds(10));
    let by_name = log.find_records(Some(&sync), "émile doe", 10).await.expect("by name, folded beyond ASCII");
    assert_eq!(by_name, found);
    let by_id = log.find_records(Some(&sync), "p-2", 10).await.expect("by id");
    assert_eq!(by_id.iter().map(|m| m.record_id.as_str()).collect::<Vec<_>>(), ["p-2"]);
    assert!(log.find_records(Some(&sync), "p-", 10).await.expect("part of an id").is_empty(), "ids match whole");

    let everywhere = log.find_records(None, &format!("jane.{tag}"), 10).await.expect("all jobs");
    let keys: Vec<(&str, &str)> = everywhere.iter().map(|m| (m.job.as_str(), m.record_id.as_str())).collect();
    assert_eq!(keys, [(sync.as_str(), "p-1"), (hires.as_str(), "opp-9")], "newest first");
    assert_eq!(log.find_records(None, &format!("jane.{tag}"), 1).await.expect("limit").len(), 1);
    assert!(log.find_records(None, "  ", 10).await.expect("blank").is_empty());
    assert!(log.find_records(None, &format!("nobody.{tag}"), 10).await.expect("no match").is_empty());
}

/// An idempotency key is held by one caller at a time, stays done once completed, can be given up,
/// and can be taken over once its lease runs out.
pub async fn claims(log: &dyn RunLog) {
    let key = unique("lever-hire");
    let lease = Duration::minutes(5);
    let before = now_ms();
    assert_eq!(log.claim(&key, "container-a", lease).await.expect("claim"), Claim::Acquired);
    match log.claim(&key, "container-b", lease).await.expect("second claim") {
        Claim::InProgress { owner, lease_until } => {
            assert_eq!(owner, "container-a");
            assert!(lease_until >= before + lease && lease_until <= now_ms() + lease, "lease until {lease_until}");
        }
        other => panic!("a held key must not be handed out again: {other:?}"),
    }
    // Not re-entrant: the holder asking again is told it is in progress, like anyone else.
    assert!(matches!(log.claim(&key, "container-a", lease).await.expect("claim"), Claim::InProgress { .. }));

    log.complete(&key, "container-a", Some("profile 7 created")).await.expect("complete");
    let done = Claim::Done { owner: "container-a".into(), result: Some("profile 7 created".into()) };
    assert_eq!(log.claim(&key, "container-b", lease).await.expect("claim a done key"), done);
    assert_eq!(log.claim(&key, "container-b", Duration::zero()).await.expect("claim a done key"), done);

    log.release(&key).await.expect("release");
    assert_eq!(log.claim(&key, "container-b", lease).await.expect("claim a released key"), Claim::Acquired);
    log.release(&unique("never-claimed")).await.expect("releasing an unknown key is fine");

    // A crashed holder's lease runs out; the next caller takes the key over.
    let expired = unique("lever-hire");
    assert_eq!(log.claim(&expired, "crashed", Duration::seconds(-1)).await.expect("claim"), Claim::Acquired);
    assert_eq!(log.claim(&expired, "container-c", lease).await.expect("take over"), Claim::Acquired);
    assert!(matches!(
        log.claim(&expired, "container-d", lease).await.expect("claim"),
        Claim::InProgress { owner, .. } if owner == "container-c"
    ));
    let zero = unique("lever-hire");
    assert_eq!(log.claim(&zero, "a", Duration::zero()).await.expect("claim"), Claim::Acquired);
    assert_eq!(log.claim(&zero, "b", lease).await.expect("a zero lease is over at once"), Claim::Acquired);

    let no_result = unique("lever-hire");
    assert_eq!(log.claim(&no_result, "a", lease).await.expect("claim"), Claim::Acquired);
    log.complete(&no_result, "a", None).await.expect("complete");
    assert_eq!(
        log.claim(&no_result, "b", lease).await.expect("claim"),
        Claim::Done { owner: "a".into(), result: None }
    );
}

/// Many callers claim one key at the same moment, through several handles: exactly one gets it.
pub async fn concurrent_claims(handles: Vec<Arc<dyn RunLog>>) {
    const CALLERS: usize = 8;
    let key = unique("lever-hire");
    let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let tasks: Vec<_> = (0..CALLERS)
        .map(|i| {
            let log = Arc::clone(&handles[i % handles.len()]);
            let (key, barrier) = (key.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                let owner = format!("caller-{i}");
                barrier.wait().await;
                let claim = log.claim(&key, &owner, Duration::minutes(5)).await.expect("claim");
                (owner, claim)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("claim task"));
    }
    let winners: Vec<&String> = answers.iter().filter(|(_, c)| *c == Claim::Acquired).map(|(owner, _)| owner).collect();
    assert_eq!(winners.len(), 1, "exactly one caller gets the key: {answers:?}");
    for (owner, claim) in &answers {
        match claim {
            Claim::Acquired => {}
            Claim::InProgress { owner: holder, .. } => assert_eq!(holder, winners[0], "{owner} saw {claim:?}"),
            other => panic!("{owner} saw {other:?}"),
        }
    }
}

/// A job's checkpoint is saved, replaced and read back; other jobs have none.
pub async fn checkpoints(log: &dyn RunLog) {
    let job = unique("theorg-import");
    assert_eq!(log.checkpoint(&job).await.expect("checkpoint"), None);
    log.save_checkpoint(&job, "2026-01-01T00:00:00Z").await.expect("save checkpoint");
    assert_eq!(log.checkpoint(&job).await.expect("checkpoint").as_deref(), Some("2026-01-01T00:00:00Z"));
    log.save_checkpoint(&job, r#"{"cursor":"opaque#next"}"#).await.expect("replace checkpoint");
    assert_eq!(log.checkpoint(&job).await.expect("checkpoint").as_deref(), Some(r#"{"cursor":"opaque#next"}"#));
    assert_eq!(log.checkpoint(&unique("other-job")).await.expect("checkpoint"), None);
}

fn entry_ids(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

/// An entry of `kind` last updated at `updated_at`, created a minute before.
fn entry_at(kind: &str, id: &str, open: bool, updated_at: chrono::DateTime<chrono::Utc>) -> Entry {
    Entry {
        created_at: updated_at - Duration::minutes(1),
        updated_at,
        ..Entry::new(kind, id, if open { "queued" } else { "transferred" }, open, json!({ "opportunity": id }))
    }
}

/// Entries: an insert never overwrites, a put replaces all but `created_at`, and the open ones of a
/// kind list oldest first, cut at the limit, without the closed ones or other kinds'.
pub async fn entries(log: &dyn RunLog) {
    let (kind, other_kind) = (unique("hire"), unique("hire"));
    let id = unique("opp");
    assert_eq!(log.entry(&kind, &id).await.expect("read a missing entry"), None);

    let body = json!({ "name": "Jane Doe", "tags": ["eng", "#1 hire"], "offer": { "salary": 120000, "remote": true } });
    let first = Entry::new(&kind, &id, "queued", true, body);
    assert_eq!(first.created_at, first.updated_at);
    assert_eq!(log.insert_entry(&first).await.expect("insert"), None, "a new key is stored");
    assert_eq!(log.entry(&kind, &id).await.expect("read").as_ref(), Some(&first));

    // A second insert (a redelivered webhook) gets the stored entry back and changes nothing.
    let again =
        Entry { state: "failed".into(), open: false, ..Entry::new(&kind, &id, "x", true, json!({ "name": "X" })) };
    assert_eq!(log.insert_entry(&again).await.expect("insert again"), Some(first.clone()));
    assert_eq!(log.entry(&kind, &id).await.expect("read").as_ref(), Some(&first), "unchanged");

    // A put replaces state, body and updated_at, but the entry keeps the time it was first stored.
    let moved = Entry {
        state: "transferred".into(),
        body: json!({ "name": "Jane Doe", "profile": "namely-7" }),
        created_at: first.created_at + Duration::hours(1),
        updated_at: first.updated_at + Duration::seconds(5),
        ..first.clone()
    };
    log.put_entry(&moved).await.expect("put");
    let read = log.entry(&kind, &id).await.expect("read").expect("the entry exists");
    assert_eq!(read, Entry { created_at: first.created_at, ..moved.clone() });
    // A put of a new key stores it as given.
    let fresh = Entry::new(&kind, &unique("opp"), "queued", false, json!({}));
    log.put_entry(&fresh).await.expect("put a new key");
    assert_eq!(log.entry(&kind, &fresh.id).await.expect("read").as_ref(), Some(&fresh));

    // The same id in another kind is another entry.
    assert_eq!(log.entry(&other_kind, &id).await.expect("read"), None);
    let elsewhere = Entry::new(&other_kind, &id, "queued", true, json!({ "kind": "other" }));
    assert_eq!(log.insert_entry(&elsewhere).await.expect("insert in another kind"), None);
    assert_eq!(log.entry(&kind, &id).await.expect("read").map(|e| e.state), Some("transferred".into()));
    assert_eq!(log.entry(&other_kind, &id).await.expect("read").as_ref(), Some(&elsewhere));

    // The open entries of a kind, oldest updated first; closed ones and other kinds' stay out.
    let (sweep, noise) = (unique("hire"), unique("hire"));
    let t = now_ms() - Duration::hours(1);
    let oldest = entry_at(&sweep, &unique("opp"), true, t - Duration::minutes(30));
    let middle = entry_at(&sweep, &unique("opp"), true, t - Duration::minutes(20));
    let newest = entry_at(&sweep, &unique("opp"), true, t - Duration::minutes(10));
    let closed = entry_at(&sweep, &unique("opp"), false, t - Duration::minutes(40));
    let other = entry_at(&noise, &unique("opp"), true, t - Duration::minutes(50));
    for entry in [&newest, &closed, &oldest, &other] {
        assert_eq!(log.insert_entry(entry).await.expect("insert"), None);
    }
    log.put_entry(&middle).await.expect("put an open entry");
    let open = log.open_entries(&sweep, 10).await.expect("open entries");
    assert_eq!(entry_ids(&open), entry_ids(&[oldest.clone(), middle.clone(), newest.clone()]));
    assert_eq!(open, vec![oldest.clone(), middle.clone(), newest.clone()]);
    assert_eq!(entry_ids(&log.open_entries(&sweep, 2).await.expect("limited")), [&oldest.id, &middle.id]);
    assert!(log.open_entries(&sweep, 0).await.expect("limit 0").is_empty());
    assert_eq!(log.open_entries(&noise, 10).await.expect("other kind"), vec![other.clone()]);
    assert!(log.open_entries(&unique("hire"), 10).await.expect("unknown kind").is_empty());

    // Work that finishes leaves the listing; work that is retried later moves to its end.
    let done = Entry { state: "transferred".into(), open: false, updated_at: t, ..oldest.clone() };
    log.put_entry(&done).await.expect("close");
    assert_eq!(log.entry(&sweep, &oldest.id).await.expect("read").as_ref(), Some(&done));
    let retried = Entry { state: "retrying".into(), updated_at: t + Duration::minutes(1), ..middle.clone() };
    log.put_entry(&retried).await.expect("touch");
    assert_eq!(log.open_entries(&sweep, 10).await.expect("open entries"), vec![newest.clone(), retried.clone()]);
    // A closed entry that opens again is listed again.
    let reopened = Entry { state: "queued".into(), open: true, updated_at: t + Duration::minutes(2), ..done };
    log.put_entry(&reopened).await.expect("reopen");
    assert_eq!(
        entry_ids(&log.open_entries(&sweep, 10).await.expect("open entries")),
        [&newest.id, &retried.id, &reopened.id]
    );
    // Entries updated in the same millisecond come back in one agreed order: smaller id first.
    let (mut a, mut b) = (entry_at(&noise, &unique("opp"), true, t), entry_at(&noise, &unique("opp"), true, t));
    log.put_entry(&a).await.expect("put");
    log.put_entry(&b).await.expect("put");
    if b.id < a.id {
        std::mem::swap(&mut a, &mut b);
    }
    assert_eq!(log.open_entries(&noise, 10).await.expect("tied entries"), vec![other, a, b]);
}

/// Many callers insert one entry at the same moment, through several handles: exactly one stores
/// it, and every other caller gets the stored entry back.
pub async fn concurrent_entry_inserts(handles: Vec<Arc<dyn RunLog>>) {
    const CALLERS: usize = 20;
    let (kind, id) = (unique("hire"), unique("opp"));
    let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let tasks: Vec<_> = (0..CALLERS)
        .map(|i| {
            let log = Arc::clone(&handles[i % handles.len()]);
            let entry = Entry::new(&kind, &id, "queued", true, json!({ "caller": i }));
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                let answer = log.insert_entry(&entry).await.expect("insert");
                (entry, answer)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("insert task"));
    }
    let winners: Vec<&Entry> = answers.iter().filter(|(_, a)| a.is_none()).map(|(e, _)| e).collect();
    assert_eq!(winners.len(), 1, "exactly one insert stores the entry: {answers:?}");
    let stored = log_entry(&handles[0], &kind, &id).await;
    assert_eq!(&stored, winners[0], "the winner's entry is the one stored");
    for (entry, answer) in &answers {
        if let Some(existing) = answer {
            assert_eq!(existing, &stored, "caller {} was given the stored entry", entry.body["caller"]);
        }
    }
    assert_eq!(handles[0].open_entries(&kind, 10).await.expect("open entries"), vec![stored]);
}

async fn log_entry(log: &Arc<dyn RunLog>, kind: &str, id: &str) -> Entry {
    log.entry(kind, id).await.expect("read entry").expect("the entry exists")
}
