//! The embedded run log: one SQLite file, used whenever no DynamoDB table is configured.

use super::{Action, Claim, Counts, Entry, Outcome, RecordMatch, Run, RunLog, RunLogError, RunStatus, Trigger};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, job TEXT NOT NULL, trigger TEXT NOT NULL,
    started_at INTEGER NOT NULL, ended_at INTEGER, status TEXT NOT NULL,
    created INTEGER NOT NULL, updated INTEGER NOT NULL, unchanged INTEGER NOT NULL,
    skipped INTEGER NOT NULL, failed INTEGER NOT NULL, message TEXT);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at DESC);
CREATE TABLE IF NOT EXISTS outcomes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, job TEXT NOT NULL,
    record_id TEXT NOT NULL, label TEXT, action TEXT NOT NULL, detail TEXT, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS outcomes_by_run ON outcomes (run_id, seq);
CREATE INDEX IF NOT EXISTS outcomes_by_record ON outcomes (job, record_id, at DESC);
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY, owner TEXT NOT NULL, state TEXT NOT NULL,
    lease_until INTEGER NOT NULL, result TEXT);
CREATE TABLE IF NOT EXISTS checkpoints (job TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    kind TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL, open INTEGER NOT NULL,
    body TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, id));
CREATE INDEX IF NOT EXISTS entries_open ON entries (kind, open, updated_at);
";

/// A run log in a local SQLite file. Calls are short and local, so they run inline under a mutex.
pub struct SqliteRunLog {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl SqliteRunLog {
    /// Opens (creating if needed) the store at `path`, with its directory.
    pub fn open(path: &Path) -> Result<SqliteRunLog, RunLogError> {
        let err =
            |e: &dyn std::fmt::Display| RunLogError::Local { path: path.display().to_string(), reason: e.to_string() };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(&e))?;
        }
        let conn = Connection::open(path).map_err(|e| err(&e))?;
        // Two local processes (a watch and an operator command) may share the file.
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| err(&e))?;
        // A write-ahead log synced at checkpoints, not at every commit: a sync writing outcomes in
        // small batches beside its vendor calls would otherwise wait on the disk for each batch.
        // (An interrupted write is rolled back, never corrupts; the deployed run log is DynamoDB.)
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;").map_err(|e| err(&e))?;
        conn.execute_batch(SCHEMA).map_err(|e| err(&e))?;
        Ok(SqliteRunLog { path: path.to_path_buf(), conn: Mutex::new(conn) })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, RunLogError> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut conn).map_err(|e| RunLogError::Local { path: self.path.display().to_string(), reason: e.to_string() })
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v).ok_or(rusqlite::Error::IntegralValueOutOfRange(0, v))
}

fn parse<T: std::str::FromStr<Err = RunLogError>>(idx: usize, text: String) -> rusqlite::Result<T> {
    text.parse().map_err(|e: RunLogError| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

const RUN_COLUMNS: &str =
    "run_id, job, trigger, started_at, ended_at, status, created, updated, unchanged, skipped, failed, message";

fn run_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Run> {
    Ok(Run {
        run_id: row.get(0)?,
        job: row.get(1)?,
        trigger: parse::<Trigger>(2, row.get(2)?)?,
        started_at: from_ms(row.get(3)?)?,
        ended_at: row.get::<_, Option<i64>>(4)?.map(from_ms).transpose()?,
        status: parse::<RunStatus>(5, row.get(5)?)?,
        counts: Counts {
            created: row.get(6)?,
            updated: row.get(7)?,
            unchanged: row.get(8)?,
            skipped: row.get(9)?,
            failed: row.get(10)?,
        },
        message: row.get(11)?,
    })
}

const OUTCOME_COLUMNS: &str = "run_id, job, record_id, label, action, detail, at";

fn outcome_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Outcome> {
    Ok(Outcome {
        run_id: row.get(0)?,
        job: row.get(1)?,
        record_id: row.get(2)?,
        label: row.get(3)?,
        action: parse::<Action>(4, row.get(4)?)?,
        detail: row.get(5)?,
        at: from_ms(row.get(6)?)?,
    })
}

const ENTRY_COLUMNS: &str = "kind, id, state, open, body, created_at, updated_at";

fn entry_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let body: String = row.get(4)?;
    Ok(Entry {
        kind: row.get(0)?,
        id: row.get(1)?,
        state: row.get(2)?,
        open: row.get(3)?,
        body: serde_json::from_str(&body)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e)))?,
        created_at: from_ms(row.get(5)?)?,
        updated_at: from_ms(row.get(6)?)?,
    })
}

fn read_entry(c: &Connection, kind: &str, id: &str) -> rusqlite::Result<Option<Entry>> {
    c.query_row(&format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE kind = ?1 AND id = ?2"), [kind, id], entry_from_row)
        .optional()
}

#[async_trait]
impl RunLog for SqliteRunLog {
    async fn save_run(&self, run: &Run) -> Result<(), RunLogError> {
        self.with(|c| {
            c.execute(
                &format!("INSERT OR REPLACE INTO runs ({RUN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
                params![
                    run.run_id,
                    run.job,
                    run.trigger.as_str(),
                    ms(run.started_at),
                    run.ended_at.map(ms),
                    run.status.as_str(),
                    run.counts.created,
                    run.counts.updated,
                    run.counts.unchanged,
                    run.counts.skipped,
                    run.counts.failed,
                    run.message,
                ],
            )
            .map(|_| ())
        })
    }

    async fn record_outcomes(&self, outcomes: &[Outcome]) -> Result<(), RunLogError> {
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut insert = tx.prepare(&format!(
                    "INSERT INTO outcomes ({OUTCOME_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ))?;
                for o in outcomes {
                    insert.execute(params![
                        o.run_id,
                        o.job,
                        o.record_id,
                        o.label,
                        o.action.as_str(),
                        o.detail,
                        ms(o.at)
                    ])?;
                }
            }
            tx.commit()
        })
    }

    async fn latest_runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<Run>, RunLogError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE (?1 IS NULL OR job = ?1) ORDER BY started_at DESC, run_id DESC LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![job, limit], run_from_row)?;
            rows.collect()
        })
    }

    async fn run(&self, run_id: &str) -> Result<Option<Run>, RunLogError> {
        self.with(|c| {
            c.query_row(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?1"), [run_id], run_from_row).optional()
        })
    }

    async fn run_outcomes(&self, run_id: &str) -> Result<Vec<Outcome>, RunLogError> {
        self.with(|c| {
            let mut stmt =
                c.prepare(&format!("SELECT {OUTCOME_COLUMNS} FROM outcomes WHERE run_id = ?1 ORDER BY seq"))?;
            let rows = stmt.query_map([run_id], outcome_from_row)?;
            rows.collect()
        })
    }

    async fn record_history(&self, job: &str, record_id: &str, limit: usize) -> Result<Vec<Outcome>, RunLogError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {OUTCOME_COLUMNS} FROM outcomes WHERE job = ?1 AND record_id = ?2 ORDER BY at DESC, seq DESC LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![job, record_id, limit], outcome_from_row)?;
            rows.collect()
        })
    }

    async fn find_records(&self, job: Option<&str>, text: &str, limit: usize) -> Result<Vec<RecordMatch>, RunLogError> {
        // Every record's latest outcome (SQLite takes the bare columns from the row of max(at)),
        // then the same matching rule as DynamoDB, in Rust: case folding beyond ASCII included.
        let found = self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT job, record_id, label, max(at) FROM outcomes WHERE ?1 IS NULL OR job = ?1 GROUP BY job, record_id",
            )?;
            let rows = stmt.query_map(params![job], |row| {
                Ok(RecordMatch {
                    job: row.get(0)?,
                    record_id: row.get(1)?,
                    label: row.get(2)?,
                    last_at: from_ms(row.get(3)?)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<RecordMatch>>>()
        })?;
        let named = found.into_iter().filter(|m| super::names_record(text, &m.record_id, m.label.as_deref()));
        Ok(super::latest_per_record(named, limit))
    }

    async fn claim(&self, key: &str, owner: &str, lease: Duration) -> Result<Claim, RunLogError> {
        let now = super::now_ms();
        self.with(|c| {
            // IMMEDIATE takes the write lock first, so two processes cannot both see the key free.
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing = tx
                .query_row("SELECT owner, state, lease_until, result FROM claims WHERE key = ?1", [key], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<String>>(3)?))
                })
                .optional()?;
            let answer = match existing {
                Some((owner, state, _, result)) if state == "done" => Claim::Done { owner, result },
                Some((owner, _, lease_until, _)) if lease_until > ms(now) => {
                    Claim::InProgress { owner, lease_until: from_ms(lease_until)? }
                }
                _ => {
                    tx.execute(
                        "INSERT OR REPLACE INTO claims (key, owner, state, lease_until, result) VALUES (?1, ?2, 'in_progress', ?3, NULL)",
                        params![key, owner, ms(now + lease)],
                    )?;
                    Claim::Acquired
                }
            };
            tx.commit()?;
            Ok(answer)
        })
    }

    async fn complete(&self, key: &str, owner: &str, result: Option<&str>) -> Result<(), RunLogError> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO claims (key, owner, state, lease_until, result) VALUES (?1, ?2, 'done', 0, ?3)",
                params![key, owner, result],
            )
            .map(|_| ())
        })
    }

    async fn release(&self, key: &str) -> Result<(), RunLogError> {
        self.with(|c| c.execute("DELETE FROM claims WHERE key = ?1", [key]).map(|_| ()))
    }

    async fn checkpoint(&self, job: &str) -> Result<Option<String>, RunLogError> {
        self.with(|c| c.query_row("SELECT value FROM checkpoints WHERE job = ?1", [job], |r| r.get(0)).optional())
    }

    async fn save_checkpoint(&self, job: &str, value: &str) -> Result<(), RunLogError> {
        self.with(|c| {
            c.execute("INSERT OR REPLACE INTO checkpoints (job, value) VALUES (?1, ?2)", params![job, value])
                .map(|_| ())
        })
    }

    async fn insert_entry(&self, entry: &Entry) -> Result<Option<Entry>, RunLogError> {
        let body = entry.body.to_string();
        self.with(|c| {
            // IMMEDIATE so the entry read back is the one that beat this insert, as it stood then.
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let inserted = tx.execute(
                &format!(
                    "INSERT INTO entries ({ENTRY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING"
                ),
                params![
                    entry.kind,
                    entry.id,
                    entry.state,
                    entry.open,
                    body,
                    ms(entry.created_at),
                    ms(entry.updated_at)
                ],
            )?;
            let existing = if inserted == 0 { read_entry(&tx, &entry.kind, &entry.id)? } else { None };
            tx.commit()?;
            Ok(existing)
        })
    }

    async fn put_entry(&self, entry: &Entry) -> Result<(), RunLogError> {
        let body = entry.body.to_string();
        self.with(|c| {
            c.execute(
                &format!(
                    "INSERT INTO entries ({ENTRY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (kind, id) DO UPDATE SET state = excluded.state, open = excluded.open,
                         body = excluded.body, updated_at = excluded.updated_at"
                ),
                params![
                    entry.kind,
                    entry.id,
                    entry.state,
                    entry.open,
                    body,
                    ms(entry.created_at),
                    ms(entry.updated_at)
                ],
            )
            .map(|_| ())
        })
    }

    async fn entry(&self, kind: &str, id: &str) -> Result<Option<Entry>, RunLogError> {
        self.with(|c| read_entry(c, kind, id))
    }

    async fn open_entries(&self, kind: &str, limit: usize) -> Result<Vec<Entry>, RunLogError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries WHERE kind = ?1 AND open = 1 ORDER BY updated_at, id LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![kind, limit], entry_from_row)?;
            rows.collect()
        })
    }
}
