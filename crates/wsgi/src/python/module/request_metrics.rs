//! `mod_wsgi.request_metrics()`, as mod_wsgi 6.1.1's `wsgi_request_metrics`
//! (wsgi_metrics.c): what this process's requests added up to since the
//! previous call (the first: since `start_recording_metrics()`), and the
//! process's CPU, memory and capacity over that period. Each call starts a
//! new period. None until recording started, and None where
//! `WSGITelemetryService` reports (the reporter is then the one consumer of
//! the same totals, as in mod_wsgi).
//!
//! The totals are the telemetry's (`crate::telemetry`), which recording
//! turns on. Not measured here, as in the telemetry samples: the GIL wait
//! (its mean 0.0, its min/max None, its buckets zeros) and each thread's
//! CPU time (zeros).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::request::wall_clock_micros;
use crate::sync::lock;
use crate::telemetry::interval::{
    APPLICATION, DAEMON, GIL_WAIT, INPUT_READ, Interval, OUTPUT_WRITE, QUEUE, REQUEST, SERVER,
};
use crate::telemetry::{self, usage};

/// Where the previous period ended (mod_wsgi's per-reader `start_*`).
struct Baseline {
    time: i64,
    busy: f64,
    count: u64,
    cpu: (f64, f64),
}

static BASELINE: Mutex<Option<Baseline>> = Mutex::new(None);
/// mod_wsgi's `request_threads_maximum`: the daemon group's threads or
/// the MPM's threads per child (at least 1).
static THREADS_MAXIMUM: AtomicU32 = AtomicU32::new(1);
/// Queue and daemon times exist only in a daemon process.
static IN_DAEMON: AtomicBool = AtomicBool::new(false);

/// Notes the process's facts, when the module is built.
pub(super) fn note_process(threads_per_process: u32, in_daemon: bool) {
    THREADS_MAXIMUM.store(threads_per_process.max(1), Ordering::Relaxed);
    IN_DAEMON.store(in_daemon, Ordering::Relaxed);
}

/// `mod_wsgi.start_recording_metrics()`: starts recording for
/// `process_metrics()` and the first period of `request_metrics()`, once;
/// later calls do nothing. Returns None.
#[pyfunction]
pub(crate) fn start_recording_metrics() {
    let Some((now, busy, count)) = super::recording::start() else {
        return;
    };
    *lock(&BASELINE) = Some(Baseline {
        time: now,
        busy,
        count,
        cpu: usage::cpu_times(),
    });
    // A reporter already counts, and is then the one consumer.
    if !telemetry::enabled() {
        telemetry::collect_for_python(now);
    }
}

/// One period, read under the lock and turned into Python objects after it.
struct Sample {
    start: i64,
    stop: i64,
    period: f64,
    cpu: (f64, f64),
    busy: f64,
    count: u64,
    totals: Interval,
    /// Per request thread: (completed, busy, current elapsed, max duration), µs.
    threads: Vec<(u64, u64, u64, u64)>,
}

fn take_sample() -> Option<Sample> {
    let mut baseline = lock(&BASELINE);
    let base = baseline.as_mut()?;
    let stop = wall_clock_micros();
    let cpu = usage::cpu_times();
    let (busy, count) = super::recording::utilization_now();
    let totals = telemetry::take_interval(stop);
    let in_flight = telemetry::in_flight();
    let maximum = THREADS_MAXIMUM.load(Ordering::Relaxed) as usize;
    let threads = (0..maximum)
        .map(|i| {
            let tick = totals.threads.get(i).cloned().unwrap_or_default();
            let started = in_flight.get(i).copied().unwrap_or(0);
            // A request still running counts towards every period it spans.
            let (tail, elapsed) = if started > 0 {
                (
                    (stop - started.max(base.time)).max(0) as u64,
                    (stop - started).max(0) as u64,
                )
            } else {
                (0, 0)
            };
            (
                tick.completed,
                tick.busy_us + tail,
                elapsed,
                tick.max_duration_us,
            )
        })
        .collect();
    let sample = Sample {
        start: base.time,
        stop,
        // mod_wsgi's floor for a period of no length.
        period: match (stop - base.time) as f64 / 1e6 {
            p if p <= 0.0 => 1e-6,
            p => p,
        },
        cpu: ((cpu.0 - base.cpu.0).max(0.0), (cpu.1 - base.cpu.1).max(0.0)),
        busy: busy - base.busy,
        count: count - base.count,
        totals,
        threads,
    };
    *base = Baseline {
        time: stop,
        busy,
        count,
        cpu,
    };
    Some(sample)
}

/// `mod_wsgi.request_metrics()`.
#[pyfunction]
pub(crate) fn request_metrics(py: Python<'_>) -> PyResult<Option<Bound<'_, PyDict>>> {
    if telemetry::enabled() {
        return Ok(None);
    }
    let Some(s) = take_sample() else {
        return Ok(None);
    };
    let t = &s.totals;
    let maximum = THREADS_MAXIMUM.load(Ordering::Relaxed);
    let in_daemon = IN_DAEMON.load(Ordering::Relaxed);
    let (rss, max_rss) = usage::memory();
    let seconds = |us: i64| us as f64 / 1e6;
    let d = PyDict::new(py);
    d.set_item("pid", std::process::id())?;
    d.set_item("start_time", seconds(s.start))?;
    d.set_item("stop_time", seconds(s.stop))?;
    d.set_item("sample_period", s.period)?;
    let (user, system) = (s.cpu.0 / s.period, s.cpu.1 / s.period);
    for (key, value) in [
        ("cpu_user_utilization", user),
        ("cpu_user_time", user),
        ("cpu_system_utilization", system),
        ("cpu_system_time", system),
        ("cpu_utilization", user + system),
        ("cpu_time", user + system),
    ] {
        d.set_item(key, value)?;
    }
    d.set_item("memory_max_rss", max_rss)?;
    d.set_item("memory_rss", rss)?;
    d.set_item("request_threads_maximum", maximum)?;
    d.set_item("request_threads_started", telemetry::threads_started())?;
    let active = s
        .threads
        .iter()
        .filter(|(completed, _, elapsed, _)| *completed > 0 || *elapsed > 0)
        .count();
    d.set_item("request_threads_active", active)?;
    d.set_item(
        "capacity_utilization",
        s.busy / s.period / f64::from(maximum),
    )?;
    d.set_item("request_count", s.count)?;
    d.set_item("request_throughput", s.count as f64 / s.period)?;
    for (i, key) in [
        "status_1xx",
        "status_2xx",
        "status_3xx",
        "status_4xx",
        "status_5xx",
    ]
    .into_iter()
    .enumerate()
    {
        d.set_item(key, t.status[i])?;
    }
    d.set_item("input_bytes", t.input_bytes)?;
    d.set_item("input_reads", t.input_reads)?;
    d.set_item("output_bytes", t.output_bytes)?;
    d.set_item("output_writes", t.output_writes)?;
    const PHASES: [(&str, usize); 8] = [
        ("server_time", SERVER),
        ("queue_time", QUEUE),
        ("daemon_time", DAEMON),
        ("application_time", APPLICATION),
        ("request_time", REQUEST),
        ("gil_wait_time", GIL_WAIT),
        ("input_read_time", INPUT_READ),
        ("output_write_time", OUTPUT_WRITE),
    ];
    for (name, phase) in PHASES {
        d.set_item(format!("{name}_buckets"), t.buckets[phase].to_vec())?;
    }
    let column =
        |f: fn(&(u64, u64, u64, u64)) -> u64| -> Vec<u64> { s.threads.iter().map(f).collect() };
    let in_seconds =
        |us: Vec<u64>| -> Vec<f64> { us.into_iter().map(|u| u as f64 / 1e6).collect() };
    d.set_item("request_threads_completed", column(|t| t.0))?;
    d.set_item("request_threads_buckets", column(|t| t.0))?;
    d.set_item("request_threads_busy_time", in_seconds(column(|t| t.1)))?;
    d.set_item("request_threads_cpu_time", vec![0.0; s.threads.len()])?;
    d.set_item(
        "request_threads_current_elapsed",
        in_seconds(column(|t| t.2)),
    )?;
    d.set_item("request_threads_max_duration", in_seconds(column(|t| t.3)))?;
    for (name, phase) in PHASES {
        let daemon_only = phase == QUEUE || phase == DAEMON;
        let measured = !daemon_only || in_daemon;
        if measured {
            d.set_item(name, t.mean(phase))?;
        } else {
            d.set_item(name, py.None())?;
        }
        let (min, max) = (t.min_us[phase], t.max_us[phase]);
        if measured && min != u64::MAX {
            d.set_item(format!("{name}_min_us"), min)?;
            d.set_item(format!("{name}_max_us"), max)?;
        } else {
            d.set_item(format!("{name}_min_us"), py.None())?;
            d.set_item(format!("{name}_max_us"), py.None())?;
        }
    }
    d.set_item("gil_wait_count", 0)?;
    Ok(Some(d))
}
