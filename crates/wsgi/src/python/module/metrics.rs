//! `mod_wsgi.server_metrics()`, as mod_wsgi 6 (wsgi_metrics.c): Apache's
//! scoreboard as a dict, or `None` unless `WSGIServerMetrics On` (in an
//! Apache child) or `server-metrics=On` (in a daemon) was given, or when
//! the process has no scoreboard.
//!
//! This crate links without Apache: the host reads the scoreboard
//! (src/apache/scoreboard.rs) into the plain values below, through the
//! reader it hands over once at start-up. Nothing here runs per request.

use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

/// Apache's `global_score` and every process's and worker's entry.
#[derive(Clone, Debug, Default)]
pub struct Scoreboard {
    pub server_limit: i32,
    pub thread_limit: i32,
    pub running_generation: i32,
    /// Microseconds since the epoch (`apr_time_t`).
    pub restart_time: i64,
    pub processes: Vec<ScoreProcess>,
}

#[derive(Clone, Debug, Default)]
pub struct ScoreProcess {
    pub pid: i32,
    pub generation: i32,
    pub quiescing: bool,
    pub workers: Vec<ScoreWorker>,
}

#[derive(Clone, Debug, Default)]
pub struct ScoreWorker {
    pub thread_num: i32,
    pub generation: i32,
    /// Apache's `SERVER_*` status number.
    pub status: u8,
    pub access_count: u64,
    pub bytes_served: u64,
    /// Microseconds since the epoch, as the three below.
    pub start_time: i64,
    pub stop_time: i64,
    pub last_used: i64,
    /// Apache's fixed-size text fields, up to their NUL.
    pub client: Vec<u8>,
    pub request: Vec<u8>,
    pub vhost: Vec<u8>,
}

/// Reads the scoreboard, or `None` when this process has none.
pub type ScoreboardReader = fn() -> Option<Scoreboard>;

/// Set at start-up only where server metrics are on.
static READER: OnceLock<ScoreboardReader> = OnceLock::new();

/// Turns `server_metrics()` on in this process (once, at start-up).
pub fn enable_server_metrics(reader: ScoreboardReader) {
    let _ = READER.set(reader);
}

/// mod_wsgi's one-letter names of Apache's worker states (scoreboard.h's
/// `SERVER_DEAD` .. `SERVER_IDLE_KILL`), as mod-status shows them.
const STATUS_FLAGS: [&str; 11] = [".", "_", "S", "R", "W", "K", "L", "D", "C", "G", "I"];

fn seconds(apr_time: i64) -> f64 {
    apr_time as f64 / 1_000_000.0
}

/// Apache's text as mod_wsgi decodes it: Latin-1, never failing.
fn latin1<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    PyString::new(py, &text)
}

/// `mod_wsgi.server_metrics()`.
#[pyfunction]
pub(crate) fn server_metrics(py: Python<'_>) -> PyResult<Option<Bound<'_, PyDict>>> {
    let Some(reader) = READER.get() else {
        return Ok(None);
    };
    let Some(board) = reader() else {
        return Ok(None);
    };
    scoreboard_dict(py, &board, crate::request::wall_clock_micros()).map(Some)
}

fn scoreboard_dict<'py>(
    py: Python<'py>,
    board: &Scoreboard,
    now: i64,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("server_limit", board.server_limit)?;
    dict.set_item("thread_limit", board.thread_limit)?;
    dict.set_item("running_generation", board.running_generation)?;
    dict.set_item("restart_time", seconds(board.restart_time))?;
    dict.set_item("current_time", seconds(now))?;
    // mod_wsgi keeps whole seconds (an apr_interval_time_t).
    dict.set_item("running_time", (now - board.restart_time) / 1_000_000)?;
    let processes = PyList::empty(py);
    for (num, process) in board.processes.iter().enumerate() {
        let entry = PyDict::new(py);
        entry.set_item("process_num", num)?;
        entry.set_item("pid", process.pid)?;
        entry.set_item("generation", process.generation)?;
        entry.set_item("quiescing", process.quiescing)?;
        let workers = PyList::empty(py);
        for worker in &process.workers {
            workers.append(worker_dict(py, worker)?)?;
        }
        entry.set_item("workers", workers)?;
        processes.append(entry)?;
    }
    dict.set_item("processes", processes)?;
    Ok(dict)
}

fn worker_dict<'py>(py: Python<'py>, worker: &ScoreWorker) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("thread_num", worker.thread_num)?;
    dict.set_item("generation", worker.generation)?;
    let status = STATUS_FLAGS
        .get(usize::from(worker.status))
        .copied()
        .unwrap_or("?");
    dict.set_item("status", status)?;
    dict.set_item("access_count", worker.access_count)?;
    dict.set_item("bytes_served", worker.bytes_served)?;
    dict.set_item("start_time", seconds(worker.start_time))?;
    dict.set_item("stop_time", seconds(worker.stop_time))?;
    dict.set_item("last_used", seconds(worker.last_used))?;
    dict.set_item("client", latin1(py, &worker.client))?;
    dict.set_item("request", latin1(py, &worker.request))?;
    dict.set_item("vhost", latin1(py, &worker.vhost))?;
    Ok(dict)
}
