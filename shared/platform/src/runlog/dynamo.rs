//! The run log in one DynamoDB table (`pk`, `sk` strings; TTL attribute `expires_at`).
//!
//! | item             | pk                      | sk                                |
//! |------------------|-------------------------|-----------------------------------|
//! | run (by id)      | `RUN#<run_id>`          | `RUN`                             |
//! | run (listing)    | `RUNS`                  | `<started ms>#<run_id>`           |
//! | run (job listing)| `RUNS#<job>`            | `<started ms>#<run_id>`           |
//! | outcome (run)    | `OUTCOMES#<run_id>`     | `<at ms>#<write>#<n>#<record_id>` |
//! | outcome (record) | `RECORD#<job>#<record>` | `<at ms>#<write>#<n>#<run_id>`    |
//! | idempotency key  | `CLAIM#<key>`           | `CLAIM`                           |
//! | checkpoint       | `CHECKPOINT#<job>`      | `CHECKPOINT`                      |
//! | entry            | `ENTRY#<kind>#<id>`     | `ENTRY`                           |
//! | open entry index | `OPEN#<kind>`           | `<id>`                            |
//!
//! `<write>` orders the `record_outcomes` calls (`write_stamp`) and `<n>` the outcomes within
//! one call, so outcomes stamped in the same millisecond keep the order they were recorded in.
//! Every item but a checkpoint, an open entry and its index item carries `expires_at`: unfinished
//! work must not vanish, and a closed entry expires `retention` after its `updated_at`.
//!
//! An open entry has an index item (holding its `updated_at`), so the sweep reads one small
//! partition. The policy allows no transactions, so the two are written in an order that can only
//! leave an index item too many, never one too few: the index item before an open entry, after a
//! closed one. `open_entries` reads each entry back and skips index items whose entry is not open
//! (and removes them once they are old enough not to belong to a write still under way). Writers
//! of one entry are expected to take turns (a claim), as two `put_entry` calls racing may disagree.

use super::{Action, Claim, Counts, Entry, Outcome, RecordMatch, Run, RunLog, RunLogError, RunStatus, Trigger};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

type Item = HashMap<String, AttributeValue>;

/// DynamoDB allows at most 25 writes per BatchWriteItem.
const BATCH_LIMIT: usize = 25;

/// An open-index item whose entry is not open is only removed once this old: a younger one may
/// belong to an insert or put that has written the index item but not yet the entry.
const STALE_INDEX_AFTER: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// A run log in a DynamoDB table.
#[derive(Clone)]
pub struct DynamoRunLog {
    client: Client,
    table: String,
    retention: Duration,
}

impl DynamoRunLog {
    pub fn new(sdk: &aws_config::SdkConfig, table: &str, retention_days: u32) -> DynamoRunLog {
        DynamoRunLog {
            client: Client::new(sdk),
            table: table.to_string(),
            retention: Duration::days(retention_days.into()),
        }
    }

    /// The table name, for messages.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
        &self,
        action: &str,
        e: SdkError<E, R>,
    ) -> RunLogError {
        let (reason, retryable) = match &e {
            SdkError::ServiceError(s) => {
                let code = s.err().code().unwrap_or("unknown error");
                let retryable = matches!(
                    code,
                    "ProvisionedThroughputExceededException"
                        | "ThrottlingException"
                        | "RequestLimitExceeded"
                        | "InternalServerError"
                );
                let hint = match code {
                    "ResourceNotFoundException" => "; check RUNS_TABLE and the region",
                    "AccessDeniedException" => "; the function's role may not use this table",
                    _ => "",
                };
                (format!("{action}: {code}{hint}"), retryable)
            }
            other => (format!("{action}: {}", crate::aws::error_chain(other)), true),
        };
        RunLogError::Dynamo { table: self.table.clone(), reason, retryable }
    }

    fn expires_at(&self) -> AttributeValue {
        n((Utc::now() + self.retention).timestamp())
    }

    async fn put(&self, item: Item) -> Result<(), RunLogError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| self.error("PutItem", e))?;
        Ok(())
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, RunLogError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error("GetItem", e))?;
        Ok(answer.item)
    }

    /// Up to `limit` items of a partition, newest (highest sort key) first when `newest_first`.
    async fn query(&self, pk: String, newest_first: bool, limit: usize) -> Result<Vec<Item>, RunLogError> {
        // DynamoDB refuses a Limit of 0.
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            // Ask only for what is still wanted, so a short listing reads a short page.
            let remaining = i32::try_from(limit - items.len()).ok();
            let answer = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk.clone()))
                .scan_index_forward(!newest_first)
                // Read what this container has just written (a run's outcomes right after the run).
                .consistent_read(true)
                .set_limit(remaining)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.error("Query", e))?;
            items.extend(answer.items.unwrap_or_default());
            if items.len() >= limit {
                items.truncate(limit);
                return Ok(items);
            }
            match answer.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// Writes items in batches of 25, resending whatever DynamoDB leaves unprocessed.
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), RunLogError> {
        for chunk in items.chunks(BATCH_LIMIT) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    let put = PutRequest::builder().set_item(Some(item.clone())).build();
                    put.map(|p| WriteRequest::builder().put_request(p).build())
                })
                .collect::<Result<_, _>>()
                .map_err(|e| RunLogError::Corrupt(e.to_string()))?;
            let mut attempt: u32 = 0;
            while !requests.is_empty() {
                let answer = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| self.error("BatchWriteItem", e))?;
                requests = answer.unprocessed_items.and_then(|mut m| m.remove(&self.table)).unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                attempt += 1;
                if attempt > 8 {
                    return Err(RunLogError::Dynamo {
                        table: self.table.clone(),
                        reason: format!(
                            "BatchWriteItem left {} items unprocessed after {attempt} tries",
                            requests.len()
                        ),
                        retryable: true,
                    });
                }
                // Unprocessed items mean throttling: back off before resending them.
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt.min(6))).await;
            }
        }
        Ok(())
    }

    fn run_item(&self, run: &Run, pk: String, sk: String) -> Item {
        let mut item: Item = HashMap::from([
            ("pk".into(), s(pk)),
            ("sk".into(), s(sk)),
            ("run_id".into(), s(&run.run_id)),
            ("job".into(), s(&run.job)),
            ("trigger".into(), s(run.trigger.as_str())),
            ("started_at".into(), n(run.started_at.timestamp_millis())),
            ("status".into(), s(run.status.as_str())),
            ("created".into(), n(run.counts.created)),
            ("updated".into(), n(run.counts.updated)),
            ("unchanged".into(), n(run.counts.unchanged)),
            ("skipped".into(), n(run.counts.skipped)),
            ("failed".into(), n(run.counts.failed)),
            ("expires_at".into(), self.expires_at()),
        ]);
        if let Some(ended) = run.ended_at {
            item.insert("ended_at".into(), n(ended.timestamp_millis()));
        }
        if let Some(message) = &run.message {
            item.insert("message".into(), s(message));
        }
        item
    }

    fn entry_item(&self, e: &Entry) -> Item {
        let mut item: Item = HashMap::from([
            ("pk".into(), s(entry_pk(&e.kind, &e.id))),
            ("sk".into(), s("ENTRY")),
            ("kind".into(), s(&e.kind)),
            ("id".into(), s(&e.id)),
            ("state".into(), s(&e.state)),
            ("open".into(), AttributeValue::Bool(e.open)),
            ("body".into(), s(e.body.to_string())),
            ("created_at".into(), n(e.created_at.timestamp_millis())),
            ("updated_at".into(), n(e.updated_at.timestamp_millis())),
        ]);
        if !e.open {
            item.insert("expires_at".into(), n((e.updated_at + self.retention).timestamp()));
        }
        item
    }

    /// Writes the open-index item of `e`; with `only_new`, only when there is none. Returns the
    /// item's `written` stamp, or `None` when `only_new` found one already there.
    async fn put_open_index(&self, e: &Entry, only_new: bool) -> Result<Option<String>, RunLogError> {
        let written = write_stamp();
        let attempt = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("OPEN#{}", e.kind)))
            .item("sk", s(&e.id))
            .item("updated_at", n(e.updated_at.timestamp_millis()))
            .item("written", s(&written))
            .set_condition_expression(only_new.then(|| "attribute_not_exists(pk)".to_string()))
            .send()
            .await;
        match attempt {
            Ok(_) => Ok(Some(written)),
            Err(SdkError::ServiceError(err)) if err.err().is_conditional_check_failed_exception() => Ok(None),
            Err(err) => Err(self.error("PutItem (open entry index)", err)),
        }
    }

    /// Deletes the open-index item of `kind`/`id` if its attribute `name` compares to `value` by
    /// `op` (`=`, `<=`...); a failed condition (or no item) leaves things as they are.
    async fn delete_open_index(
        &self,
        kind: &str,
        id: &str,
        name: &str,
        op: &str,
        value: AttributeValue,
    ) -> Result<(), RunLogError> {
        let attempt = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("OPEN#{kind}")))
            .key("sk", s(id))
            .condition_expression(format!("#a {op} :v"))
            .expression_attribute_names("#a", name)
            .expression_attribute_values(":v", value)
            .send()
            .await;
        match attempt {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(err)) if err.err().is_conditional_check_failed_exception() => Ok(()),
            Err(err) => Err(self.error("DeleteItem (open entry index)", err)),
        }
    }

    fn outcome_item(&self, o: &Outcome, pk: String, sk: String) -> Item {
        let mut item: Item = HashMap::from([
            ("pk".into(), s(pk)),
            ("sk".into(), s(sk)),
            ("run_id".into(), s(&o.run_id)),
            ("job".into(), s(&o.job)),
            ("record_id".into(), s(&o.record_id)),
            ("action".into(), s(o.action.as_str())),
            ("at".into(), n(o.at.timestamp_millis())),
            ("expires_at".into(), self.expires_at()),
        ]);
        if let Some(label) = &o.label {
            item.insert("label".into(), s(label));
        }
        if let Some(detail) = &o.detail {
            item.insert("detail".into(), s(detail));
        }
        item
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn entry_pk(kind: &str, id: &str) -> String {
    format!("ENTRY#{kind}#{id}")
}

/// Sort keys order as text, so times are zero-padded.
fn sortable_ms(t: DateTime<Utc>) -> String {
    format!("{:015}", t.timestamp_millis())
}

/// Nanoseconds since the epoch, strictly increasing within this process: orders one container's
/// writes even within a millisecond, and keeps two writes of one record from sharing a sort key.
fn write_stamp() -> String {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = Utc::now().timestamp_nanos_opt().and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    let next = |prev: u64| now.max(prev + 1);
    // fetch_update retries until no other thread wrote in between; the closure never refuses.
    let prev = LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |prev| Some(next(prev))).unwrap_or_else(|v| v);
    format!("{:020}", next(prev))
}

fn text(item: &Item, name: &str) -> Result<String, RunLogError> {
    opt_text(item, name).ok_or_else(|| RunLogError::Corrupt(format!("item without '{name}'")))
}

fn opt_text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn number(item: &Item, name: &str) -> Result<i64, RunLogError> {
    opt_number(item, name).ok_or_else(|| RunLogError::Corrupt(format!("item without number '{name}'")))
}

fn opt_number(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn time(ms: i64) -> Result<DateTime<Utc>, RunLogError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| RunLogError::Corrupt(format!("time {ms} out of range")))
}

fn count(item: &Item, name: &str) -> u64 {
    opt_number(item, name).and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

fn run_from(item: &Item) -> Result<Run, RunLogError> {
    Ok(Run {
        run_id: text(item, "run_id")?,
        job: text(item, "job")?,
        trigger: text(item, "trigger")?.parse::<Trigger>()?,
        started_at: time(number(item, "started_at")?)?,
        ended_at: opt_number(item, "ended_at").map(time).transpose()?,
        status: text(item, "status")?.parse::<RunStatus>()?,
        counts: Counts {
            created: count(item, "created"),
            updated: count(item, "updated"),
            unchanged: count(item, "unchanged"),
            skipped: count(item, "skipped"),
            failed: count(item, "failed"),
        },
        message: opt_text(item, "message"),
    })
}

fn outcome_from(item: &Item) -> Result<Outcome, RunLogError> {
    Ok(Outcome {
        run_id: text(item, "run_id")?,
        job: text(item, "job")?,
        record_id: text(item, "record_id")?,
        label: opt_text(item, "label"),
        action: text(item, "action")?.parse::<Action>()?,
        detail: opt_text(item, "detail"),
        at: time(number(item, "at")?)?,
    })
}

fn entry_from(item: &Item) -> Result<Entry, RunLogError> {
    let body = text(item, "body")?;
    Ok(Entry {
        kind: text(item, "kind")?,
        id: text(item, "id")?,
        state: text(item, "state")?,
        open: item.get("open").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
        body: serde_json::from_str(&body).map_err(|e| RunLogError::Corrupt(format!("entry body: {e}")))?,
        created_at: time(number(item, "created_at")?)?,
        updated_at: time(number(item, "updated_at")?)?,
    })
}

/// True when a `write_stamp` lies more than `age` in the past.
fn stamp_older_than(stamp: &str, age: std::time::Duration) -> bool {
    let now = Utc::now().timestamp_nanos_opt().and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    let age = u64::try_from(age.as_nanos()).unwrap_or(u64::MAX);
    stamp.parse::<u64>().is_ok_and(|written| written.saturating_add(age) < now)
}

#[async_trait]
impl RunLog for DynamoRunLog {
    async fn save_run(&self, run: &Run) -> Result<(), RunLogError> {
        let by_id = self.run_item(run, format!("RUN#{}", run.run_id), "RUN".into());
        let sk = format!("{}#{}", sortable_ms(run.started_at), run.run_id);
        let listing = self.run_item(run, "RUNS".into(), sk.clone());
        // A listing per job, so `latest_runs(Some(job))` reads only that job's runs.
        let job_listing = self.run_item(run, format!("RUNS#{}", run.job), sk);
        self.batch_put(vec![by_id, listing, job_listing]).await
    }

    async fn record_outcomes(&self, outcomes: &[Outcome]) -> Result<(), RunLogError> {
        let mut items = Vec::with_capacity(outcomes.len() * 2);
        let write = write_stamp();
        for (i, o) in outcomes.iter().enumerate() {
            let at = sortable_ms(o.at);
            let run_sk = format!("{at}#{write}#{i:06}#{}", o.record_id);
            items.push(self.outcome_item(o, format!("OUTCOMES#{}", o.run_id), run_sk));
            let record_sk = format!("{at}#{write}#{i:06}#{}", o.run_id);
            items.push(self.outcome_item(o, format!("RECORD#{}#{}", o.job, o.record_id), record_sk));
        }
        self.batch_put(items).await
    }

    async fn latest_runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<Run>, RunLogError> {
        let partition = job.map_or_else(|| "RUNS".to_string(), |j| format!("RUNS#{j}"));
        let items = self.query(partition, true, limit).await?;
        items.iter().map(run_from).collect()
    }

    async fn run(&self, run_id: &str) -> Result<Option<Run>, RunLogError> {
        self.get(format!("RUN#{run_id}"), "RUN").await?.as_ref().map(run_from).transpose()
    }

    async fn run_outcomes(&self, run_id: &str) -> Result<Vec<Outcome>, RunLogError> {
        let items = self.query(format!("OUTCOMES#{run_id}"), false, usize::MAX).await?;
        items.iter().map(outcome_from).collect()
    }

    async fn record_history(&self, job: &str, record_id: &str, limit: usize) -> Result<Vec<Outcome>, RunLogError> {
        let items = self.query(format!("RECORD#{job}#{record_id}"), true, limit).await?;
        items.iter().map(outcome_from).collect()
    }

    async fn find_records(
        &self,
        job: Option<&str>,
        wanted: &str,
        limit: usize,
    ) -> Result<Vec<RecordMatch>, RunLogError> {
        // Labels are free text and matched ignoring case, which no key or index can do: scan the
        // record-history items (only their names come back), match in Rust like SQLite does.
        let prefix = job.map_or_else(|| "RECORD#".to_string(), |j| format!("RECORD#{j}#"));
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let answer = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(pk, :prefix)")
                .projection_expression("job, record_id, label, #at")
                .expression_attribute_names("#at", "at")
                .expression_attribute_values(":prefix", s(prefix.clone()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.error("Scan", e))?;
            for item in answer.items.unwrap_or_default() {
                let (record_id, label) = (text(&item, "record_id")?, opt_text(&item, "label"));
                if super::names_record(wanted, &record_id, label.as_deref()) {
                    found.push(RecordMatch {
                        job: text(&item, "job")?,
                        record_id,
                        label,
                        last_at: time(number(&item, "at")?)?,
                    });
                }
            }
            match answer.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(super::latest_per_record(found, limit)),
            }
        }
    }

    async fn claim(&self, key: &str, owner: &str, lease: Duration) -> Result<Claim, RunLogError> {
        let now = super::now_ms();
        let attempt = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("CLAIM#{key}")))
            .item("sk", s("CLAIM"))
            .item("owner", s(owner))
            .item("state", s("in_progress"))
            .item("lease_until", n((now + lease).timestamp_millis()))
            .item("expires_at", self.expires_at())
            // Free, or held by someone whose lease ran out (a crashed container); a lease ending
            // now is over, as in the embedded store.
            .condition_expression("attribute_not_exists(pk) OR (#state = :in_progress AND lease_until <= :now)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":in_progress", s("in_progress"))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .send()
            .await;
        match attempt {
            Ok(_) => Ok(Claim::Acquired),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let Some(item) = self.get(format!("CLAIM#{key}"), "CLAIM").await? else {
                    // Released between our write and our read: the caller may simply try again.
                    return Ok(Claim::InProgress { owner: "unknown".into(), lease_until: now });
                };
                let holder = opt_text(&item, "owner").unwrap_or_else(|| "unknown".into());
                if opt_text(&item, "state").as_deref() == Some("done") {
                    Ok(Claim::Done { owner: holder, result: opt_text(&item, "result") })
                } else {
                    let lease_until = time(opt_number(&item, "lease_until").unwrap_or(0))?;
                    Ok(Claim::InProgress { owner: holder, lease_until })
                }
            }
            Err(e) => Err(self.error("PutItem (claim)", e)),
        }
    }

    async fn complete(&self, key: &str, owner: &str, result: Option<&str>) -> Result<(), RunLogError> {
        let mut item: Item = HashMap::from([
            ("pk".into(), s(format!("CLAIM#{key}"))),
            ("sk".into(), s("CLAIM")),
            ("owner".into(), s(owner)),
            ("state".into(), s("done")),
            ("lease_until".into(), n(0)),
            ("expires_at".into(), self.expires_at()),
        ]);
        if let Some(result) = result {
            item.insert("result".into(), s(result));
        }
        self.put(item).await
    }

    async fn release(&self, key: &str) -> Result<(), RunLogError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("CLAIM#{key}")))
            .key("sk", s("CLAIM"))
            .send()
            .await
            .map_err(|e| self.error("DeleteItem", e))?;
        Ok(())
    }

    async fn checkpoint(&self, job: &str) -> Result<Option<String>, RunLogError> {
        Ok(self.get(format!("CHECKPOINT#{job}"), "CHECKPOINT").await?.and_then(|item| opt_text(&item, "value")))
    }

    async fn save_checkpoint(&self, job: &str, value: &str) -> Result<(), RunLogError> {
        self.put(HashMap::from([
            ("pk".into(), s(format!("CHECKPOINT#{job}"))),
            ("sk".into(), s("CHECKPOINT")),
            ("value".into(), s(value)),
        ]))
        .await
    }

    async fn insert_entry(&self, entry: &Entry) -> Result<Option<Entry>, RunLogError> {
        // The index item first: a crash between the two writes must not hide open work.
        let index = if entry.open { self.put_open_index(entry, true).await? } else { None };
        let attempt = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.entry_item(entry)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match attempt {
            Ok(_) => Ok(None),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let item = self.get(entry_pk(&entry.kind, &entry.id), "ENTRY").await?;
                let Some(existing) = item.as_ref().map(entry_from).transpose()? else {
                    // Expired by TTL between the two calls (entries are never deleted otherwise).
                    return Err(RunLogError::Dynamo {
                        table: self.table.clone(),
                        reason: format!("entry {}/{} vanished while being inserted", entry.kind, entry.id),
                        retryable: true,
                    });
                };
                // The index item this call wrote belongs to no open entry: take it back.
                if let (Some(written), false) = (index, existing.open) {
                    self.delete_open_index(&entry.kind, &entry.id, "written", "=", s(written)).await?;
                }
                Ok(Some(existing))
            }
            Err(e) => Err(self.error("PutItem (entry)", e)),
        }
    }

    async fn put_entry(&self, entry: &Entry) -> Result<(), RunLogError> {
        // The policy has no UpdateItem, so the stored created_at is read and written back.
        let stored = self.get(entry_pk(&entry.kind, &entry.id), "ENTRY").await?;
        let created_at = stored.as_ref().and_then(|item| opt_number(item, "created_at")).map(time).transpose()?;
        let entry = Entry { created_at: created_at.unwrap_or(entry.created_at), ..entry.clone() };
        if entry.open {
            self.put_open_index(&entry, false).await?;
            self.put(self.entry_item(&entry)).await
        } else {
            self.put(self.entry_item(&entry)).await?;
            // Unless a later put has reopened the entry meanwhile.
            let updated = n(entry.updated_at.timestamp_millis());
            self.delete_open_index(&entry.kind, &entry.id, "updated_at", "<=", updated).await
        }
    }

    async fn entry(&self, kind: &str, id: &str) -> Result<Option<Entry>, RunLogError> {
        self.get(entry_pk(kind, id), "ENTRY").await?.as_ref().map(entry_from).transpose()
    }

    async fn open_entries(&self, kind: &str, limit: usize) -> Result<Vec<Entry>, RunLogError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Open entries are few: read the whole index, oldest first, and each entry it names.
        let mut index: Vec<(i64, String, Option<String>)> = self
            .query(format!("OPEN#{kind}"), false, usize::MAX)
            .await?
            .iter()
            .map(|item| Ok((opt_number(item, "updated_at").unwrap_or(0), text(item, "sk")?, opt_text(item, "written"))))
            .collect::<Result<_, RunLogError>>()?;
        index.sort();
        let mut open = Vec::new();
        for (_, id, written) in index {
            match self.entry(kind, &id).await? {
                Some(entry) if entry.open => open.push(entry),
                _ => {
                    if let Some(written) = written.filter(|w| stamp_older_than(w, STALE_INDEX_AFTER)) {
                        self.delete_open_index(kind, &id, "written", "=", s(written)).await?;
                    }
                }
            }
            if open.len() == limit {
                break;
            }
        }
        // The entries' own times decide (an index item may lag a racing put).
        open.sort_by(|a, b| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id)));
        Ok(open)
    }
}
