//! `mod_wsgi.start_recording_metrics()` and `mod_wsgi.process_metrics()`,
//! as mod_wsgi 6 (wsgi_metrics.c): the process's request count, the time
//! its threads spent busy with requests (an integral of the number of
//! requests in flight), memory, CPU time and each request thread's count.
//!
//! mod_wsgi counts every request, takes a lock and reads clocks for each,
//! whether or not anyone asks. Here nothing is counted until an application
//! calls `start_recording_metrics()` (which `process_metrics()` needs
//! anyway to return anything but `None`): until then a request costs one
//! relaxed load of a flag at its start and one at its end. The counts are
//! therefore those since recording started, where mod_wsgi's include the
//! requests before it.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::request::wall_clock_micros;
use crate::sync::lock;
use crate::telemetry::usage::{cpu_times, memory};

/// Set once by `start_recording_metrics()`, never cleared.
static RECORDING: AtomicBool = AtomicBool::new(false);

/// When this process's `mod_wsgi` module was built (mod_wsgi: child_init).
static PROCESS_START: AtomicI64 = AtomicI64::new(0);

/// mod_wsgi's monitor: the busy-time integral and the counts.
#[derive(Default)]
struct Monitor {
    /// When recording started, microseconds since the epoch.
    start_time: i64,
    utilization_last: i64,
    thread_utilization: f64,
    active_requests: i64,
    total_requests: u64,
}

impl Monitor {
    /// mod_wsgi's `wsgi_utilization_time_locked`: brings the integral up
    /// to now, then applies `adjustment` to the requests in flight.
    fn utilization(&mut self, adjustment: i64) -> f64 {
        let now = wall_clock_micros();
        if self.utilization_last != 0 {
            let elapsed = ((now - self.utilization_last) as f64 / 1_000_000.0).max(0.0);
            self.thread_utilization += self.active_requests as f64 * elapsed;
        }
        self.utilization_last = now;
        self.active_requests += adjustment;
        if adjustment < 0 {
            self.total_requests += adjustment.unsigned_abs();
        }
        self.thread_utilization
    }
}

static MONITOR: Mutex<Monitor> = Mutex::new(Monitor {
    start_time: 0,
    utilization_last: 0,
    thread_utilization: 0.0,
    active_requests: 0,
    total_requests: 0,
});

/// One request thread's numbers.
struct ThreadStats {
    thread_id: u64,
    request_count: AtomicU64,
    /// The request under way was counted in (it began while recording).
    counted: AtomicBool,
}

/// The threads that ran a request while recording, for `threads`.
static THREADS: Mutex<Vec<Arc<ThreadStats>>> = Mutex::new(Vec::new());

thread_local! {
    static STATS: OnceLock<Arc<ThreadStats>> = const { OnceLock::new() };
}

/// This thread's numbers, registered on first use. `thread_id`:
/// `mod_wsgi.thread_id`, which the adapter numbers.
fn this_thread(thread_id: impl FnOnce() -> u64) -> Arc<ThreadStats> {
    STATS.with(|cell| {
        cell.get_or_init(|| {
            let stats = Arc::new(ThreadStats {
                thread_id: thread_id(),
                request_count: AtomicU64::new(0),
                counted: AtomicBool::new(false),
            });
            lock(&THREADS).push(stats.clone());
            stats
        })
        .clone()
    })
}

/// Notes when the process started (once, when the module is built).
pub(super) fn note_process_start() {
    PROCESS_START.store(wall_clock_micros(), Ordering::Relaxed);
}

/// A request begins on this thread (called by the adapter).
#[inline]
pub fn request_began(thread_id: impl FnOnce() -> u64) {
    if RECORDING.load(Ordering::Relaxed) {
        let stats = this_thread(thread_id);
        stats.counted.store(true, Ordering::Relaxed);
        lock(&MONITOR).utilization(1);
    }
}

/// This thread's request ended. A request that began before recording
/// started is not counted, as it was never added.
#[inline]
pub fn request_ended() {
    if RECORDING.load(Ordering::Relaxed) {
        let counted = STATS.with(|cell| {
            cell.get()
                .filter(|stats| stats.counted.swap(false, Ordering::Relaxed))
                .cloned()
        });
        if let Some(stats) = counted {
            stats.request_count.fetch_add(1, Ordering::Relaxed);
            lock(&MONITOR).utilization(-1);
        }
    }
}

/// The busy-time integral up to now and the requests completed, since
/// recording started.
pub(super) fn utilization_now() -> (f64, u64) {
    let mut monitor = lock(&MONITOR);
    let busy = monitor.utilization(0);
    (busy, monitor.total_requests)
}

/// Starts recording, once (`mod_wsgi.start_recording_metrics()`, in
/// request_metrics.rs): when, the busy-time integral and the requests
/// completed then; `None` if it had started already.
pub(super) fn start() -> Option<(i64, f64, u64)> {
    let mut monitor = lock(&MONITOR);
    if monitor.start_time != 0 {
        return None;
    }
    monitor.start_time = wall_clock_micros();
    let busy = monitor.utilization(0);
    RECORDING.store(true, Ordering::Relaxed);
    Some((monitor.start_time, busy, monitor.total_requests))
}

/// `mod_wsgi.process_metrics()`: None until recording started, and None
/// where `WSGITelemetryService` reports instead (as mod_wsgi 6.1.1: the
/// reporter is then the one consumer).
#[pyfunction]
pub(crate) fn process_metrics(py: Python<'_>) -> PyResult<Option<Bound<'_, PyDict>>> {
    if !RECORDING.load(Ordering::Relaxed) || crate::telemetry::enabled() {
        return Ok(None);
    }
    let (busy_time, request_count, active_requests) = {
        let mut monitor = lock(&MONITOR);
        let busy = monitor.utilization(0);
        (busy, monitor.total_requests, monitor.active_requests)
    };
    let (rss, max_rss) = memory();
    let (user, system) = cpu_times();
    let now = wall_clock_micros();
    let start = PROCESS_START.load(Ordering::Relaxed);
    let threads: Vec<Arc<ThreadStats>> = lock(&THREADS).clone();

    let dict = PyDict::new(py);
    dict.set_item("pid", std::process::id())?;
    dict.set_item("request_busy_time", busy_time)?;
    dict.set_item("request_count", request_count)?;
    dict.set_item("memory_max_rss", max_rss)?;
    dict.set_item("memory_rss", rss)?;
    dict.set_item("cpu_user_time", user)?;
    dict.set_item("cpu_system_time", system)?;
    dict.set_item("cpu_time", user + system)?;
    dict.set_item("restart_time", start as f64 / 1_000_000.0)?;
    dict.set_item("current_time", now as f64 / 1_000_000.0)?;
    // Whole seconds, as mod_wsgi's apr_interval_time_t.
    dict.set_item("running_time", (now - start) / 1_000_000)?;
    dict.set_item("request_threads", threads.len())?;
    dict.set_item("active_requests", active_requests)?;
    let list = PyList::empty(py);
    for stats in threads {
        let entry = PyDict::new(py);
        entry.set_item("thread_id", stats.thread_id)?;
        entry.set_item("request_count", stats.request_count.load(Ordering::Relaxed))?;
        list.append(entry)?;
    }
    dict.set_item("threads", list)?;
    Ok(Some(dict))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_time_integrates_the_requests_in_flight() {
        let mut monitor = Monitor::default();
        monitor.utilization(1);
        monitor.utilization(1);
        monitor.utilization_last -= 500_000;
        // Two requests for half a second: one second of busy time.
        let busy = monitor.utilization(-1);
        assert!((busy - 1.0).abs() < 0.01, "{busy}");
        assert_eq!(monitor.total_requests, 1);
        assert_eq!(monitor.active_requests, 1);
    }
}
