//! mod_wsgi 6.1.1's telemetry (`WSGITelemetryService`): what each process
//! counts of its requests for the reporter thread, and the datagrams that
//! thread sends (the host owns the thread and the socket).
//!
//! The same counting serves `mod_wsgi.request_metrics()` once an
//! application called `start_recording_metrics()` (and no reporter runs):
//! the two consumers are exclusive, as in mod_wsgi 6.1.1, where they share
//! its aggregates.
//!
//! Off, a request pays one relaxed load of [`collecting`]. On, it pays two
//! clock reads, two atomic adds and one short lock at its end (two for the
//! Python accessor, which also tracks each thread's request in flight); a
//! slow one also copies a few environ strings.

pub mod encode;
pub mod interval;
pub mod usage;
pub mod wire;

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use interval::{Completed, Interval, SLOW_RING, SlowRecord};

use crate::sync::lock;

static ENABLED: AtomicBool = AtomicBool::new(false);
/// The reporter or `request_metrics()` counts requests.
static COLLECTING: AtomicBool = AtomicBool::new(false);
/// `request_metrics()` counts them (no reporter).
static FOR_PYTHON: AtomicBool = AtomicBool::new(false);

struct State {
    /// `WSGISlowRequests` in microseconds; 0: no slow records.
    slow_threshold_us: u64,
    capture_user_agent: bool,
    interval: Mutex<Interval>,
    /// When each request thread's request in flight began (0: none), by
    /// thread index; kept for `request_metrics()` only.
    in_flight: Mutex<Vec<i64>>,
}

impl State {
    fn new(slow_threshold: f64, options: u32) -> State {
        State {
            slow_threshold_us: (slow_threshold.max(0.0) * 1e6) as u64,
            capture_user_agent: options & crate::config::OPT_CAPTURE_USER_AGENT != 0,
            interval: Mutex::new(Interval::default()),
            in_flight: Mutex::new(Vec::new()),
        }
    }
}

static STATE: OnceLock<State> = OnceLock::new();
/// Requests in flight in this process.
static ACTIVE: AtomicU64 = AtomicU64::new(0);
/// Threads that have run a request since the reporter started.
static THREADS_STARTED: AtomicU32 = AtomicU32::new(0);
/// Bumped at each sample, so each thread counts once per interval as active.
static EPOCH: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The epoch this thread last counted itself active in (0: never ran one).
    static SEEN: Cell<u64> = const { Cell::new(0) };
}

/// Turns counting on in this process, before its first request.
pub fn enable(slow_threshold: f64, options: u32) {
    let _ = STATE.set(State::new(slow_threshold, options));
    ENABLED.store(true, Ordering::Relaxed);
    COLLECTING.store(true, Ordering::Relaxed);
}

/// Turns counting on for `mod_wsgi.request_metrics()` (no slow records),
/// from now on; the interval starts `now`.
pub fn collect_for_python(now: i64) {
    let state = STATE.get_or_init(|| State::new(0.0, 0));
    lock(&state.interval).since = now;
    FOR_PYTHON.store(true, Ordering::Relaxed);
    COLLECTING.store(true, Ordering::Relaxed);
}

/// Whether this process reports.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Whether requests are counted (for the reporter or `request_metrics()`).
#[inline]
pub fn collecting() -> bool {
    COLLECTING.load(Ordering::Relaxed)
}

/// Threads that ran a request so far.
pub fn threads_started() -> u32 {
    THREADS_STARTED.load(Ordering::Relaxed)
}

/// The totals since the last call, and a fresh interval from `now`.
pub fn take_interval(now: i64) -> Interval {
    let Some(state) = STATE.get() else {
        return Interval::default();
    };
    EPOCH.fetch_add(1, Ordering::Relaxed);
    std::mem::replace(
        &mut *lock(&state.interval),
        Interval {
            since: now,
            ..Interval::default()
        },
    )
}

/// When each thread's request in flight began (0: none), by thread index.
pub fn in_flight() -> Vec<i64> {
    STATE
        .get()
        .map(|s| lock(&s.in_flight).clone())
        .unwrap_or_default()
}

/// A request begins on thread `thread_id` at `start`: the requests in
/// flight, this one included.
pub(crate) fn begin(thread_id: u64, start: i64) -> u64 {
    if FOR_PYTHON.load(Ordering::Relaxed)
        && let Some(state) = STATE.get()
    {
        let index = interval::thread_index(thread_id);
        let mut in_flight = lock(&state.in_flight);
        if in_flight.len() <= index {
            in_flight.resize(index + 1, 0);
        }
        in_flight[index] = start;
    }
    ACTIVE.fetch_add(1, Ordering::Relaxed) + 1
}

/// Whether a request this long is a slow one.
pub(crate) fn is_slow(duration_us: u64) -> bool {
    STATE
        .get()
        .is_some_and(|s| s.slow_threshold_us > 0 && duration_us >= s.slow_threshold_us)
}

/// Whether slow records carry the User-Agent.
pub(crate) fn capture_user_agent() -> bool {
    STATE.get().is_some_and(|s| s.capture_user_agent)
}

/// A request ended; `slow` is its record if it was a slow one.
pub(crate) fn finish(mut completed: Completed, slow: Option<SlowRecord>) {
    completed.active_at_completion = ACTIVE.fetch_sub(1, Ordering::Relaxed);
    let Some(state) = STATE.get() else { return };
    if FOR_PYTHON.load(Ordering::Relaxed)
        && let Some(slot) =
            lock(&state.in_flight).get_mut(interval::thread_index(completed.thread_id))
    {
        *slot = 0;
    }
    let epoch = EPOCH.load(Ordering::Relaxed);
    let seen = SEEN.with(|s| s.replace(epoch));
    if seen == 0 {
        THREADS_STARTED.fetch_add(1, Ordering::Relaxed);
    }
    let mut interval = lock(&state.interval);
    interval.add(&completed);
    if seen != epoch {
        interval.threads_active += 1;
    }
    if let Some(mut record) = slow
        && interval.slow.len() < SLOW_RING
    {
        record.request = completed;
        interval.slow.push(record);
    }
}

/// This process's (user, system) CPU seconds and (current, peak) RSS bytes.
pub fn process_usage() -> ((f64, f64), (u64, u64)) {
    (usage::cpu_times(), usage::memory())
}
