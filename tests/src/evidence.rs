//! What a test reads back to prove what a function did and did not write: every log line (captured
//! in memory at the most verbose level the template allows) and every row of the embedded run log.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// The log lines of this test process, as JSON lines.
#[derive(Clone)]
pub struct Logs {
    buffer: Arc<Mutex<Vec<u8>>>,
}

/// Appends each formatted line to the shared buffer.
struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Captures every log line of the process from now on, at `trace` for every crate (the template's
    /// `LogLevel` allows `trace`, and `RUST_LOG=trace` lets every dependency log too), in the JSON
    /// shape of `platform::logging::init` plus the fields of every enclosing span. Installed once per
    /// test binary; later calls return the same capture.
    pub fn capture() -> Logs {
        static LOGS: OnceLock<Logs> = OnceLock::new();
        LOGS.get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let writer = buffer.clone();
            tracing_subscriber::fmt()
                .json()
                .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
                .with_current_span(true)
                .with_span_list(true)
                .flatten_event(true)
                .with_writer(move || BufferWriter(writer.clone()))
                .try_init()
                .expect("no other log subscriber may be installed in this test binary");
            Logs { buffer }
        })
        .clone()
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// The lines logged so far.
    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_string).collect()
    }
}

/// Every row of every table of an embedded (SQLite) run log, one line per row with each column as
/// text: runs, outcomes, claims, checkpoints and entries alike, whatever the schema grows into.
pub fn run_log_rows(path: &std::path::Path) -> Vec<String> {
    let db = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("open the run log {}: {e}", path.display()));
    let mut tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").expect("list tables");
    let names: Vec<String> =
        tables.query_map([], |row| row.get(0)).expect("list tables").collect::<Result<_, _>>().expect("table names");
    let mut rows = Vec::new();
    for table in names {
        let mut select = db.prepare(&format!("SELECT * FROM \"{table}\"")).expect("select");
        let columns = select.column_count();
        let mut cursor = select.query([]).expect("query");
        while let Some(row) = cursor.next().expect("row") {
            let mut line = format!("{table}:");
            for i in 0..columns {
                let text = match row.get_ref(i).expect("column") {
                    rusqlite::types::ValueRef::Null => "NULL".to_string(),
                    rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                    rusqlite::types::ValueRef::Real(x) => x.to_string(),
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                };
                line.push_str(" | ");
                line.push_str(&text);
            }
            rows.push(line);
        }
    }
    rows
}
