//! A daemon's monitor: the limits that recycle the process gracefully, and
//! the heartbeat that proves its GIL can still be taken.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use wsgi::messages::{self, Level};
use wsgi::python;
use wsgi::python::interpreters::Interpreter;
use wsgi::python::request_timeout::PythonThread;
use wsgi::sync::lock;

use super::shared::Shared;
use crate::apache::log;
use crate::unix;

/// Watches the limits that recycle the process.
pub(super) fn monitor_loop(shared: Arc<Shared>) {
    let settings = &shared.group.settings;
    let started = Instant::now();
    let threshold = settings.request_fire_threshold();
    let mut heartbeats = 0;
    loop {
        std::thread::sleep(Duration::from_millis(250));
        // From here, which never waits for the GIL: the main heartbeat
        // may be waiting behind a request of the new interpreter already.
        if settings.deadlock_timeout > 0 {
            for group in python::interpreters::groups_after(heartbeats) {
                heartbeats += 1;
                let shared = shared.clone();
                std::thread::spawn(move || heartbeat_as(&shared, &group));
            }
        }
        // Before the drain check: a request interrupted while the process
        // drains (for any reason) may still unwind and let it end sooner.
        if let Some(threshold) = threshold
            && check_request_times(&shared, threshold)
        {
            continue;
        }
        if shared.draining.load(Ordering::Acquire) {
            let since = shared.drain_elapsed();
            // The accept loop gives up waiting after graceful-timeout; this
            // is the last resort if even finalisation hangs.
            if since > shared.drain_limit() + Duration::from_secs(settings.shutdown_timeout + 1) {
                unix::exit_now(1);
            }
            continue;
        }
        // mod_wsgi's startup-timeout: a daemon whose scripts have only ever
        // failed to load (a database down at start, say) is restarted.
        if settings.startup_timeout > 0
            && started.elapsed() > Duration::from_secs(settings.startup_timeout)
            && wsgi::python::loader::only_failed_loads()
        {
            shared.begin_drain(&format!(
                "no WSGI script loaded within startup-timeout ({} s)",
                settings.startup_timeout
            ));
            continue;
        }
        if settings.restart_interval > 0
            && started.elapsed() > Duration::from_secs(settings.restart_interval)
        {
            shared.begin_drain("restart-interval");
        } else if settings.inactivity_timeout > 0
            && shared.busy.load(Ordering::Acquire) == 0
            && lock(&shared.last_activity).elapsed()
                > Duration::from_secs(settings.inactivity_timeout)
        {
            shared.begin_drain("inactivity-timeout");
        } else if settings.memory_limit > 0 && unix::resident_bytes() > settings.memory_limit {
            shared.begin_drain("memory-limit");
        } else if settings.cpu_time_limit > 0 && unix::cpu_seconds() >= settings.cpu_time_limit {
            shared.begin_drain("cpu-time-limit");
        }
        if super::heartbeat_is_stale(
            shared.heartbeat.beat.load(Ordering::Relaxed),
            settings.deadlock_timeout,
        ) {
            log::process_sink(
                Level::Error,
                &messages::format_line(
                    &shared.context,
                    messages::DAEMON_UNRESPONSIVE,
                    &format!(
                        "Python has been blocked for more than deadlock-timeout ({} s); exiting so the process is replaced",
                        settings.deadlock_timeout
                    ),
                ),
            );
            unix::exit_now(1);
        }
    }
}

/// mod_wsgi 6's request-timeout: a request running past `threshold`
/// (request-timeout scaled by the threads) gets `RequestTimeout` raised in
/// its thread when interrupt-timeout is set, and the process recycles if
/// it is still running interrupt-timeout later; without interrupt-timeout
/// the process recycles at once. One interruption per pass, as mod_wsgi.
/// True if the process began to recycle.
fn check_request_times(shared: &Arc<Shared>, threshold: Duration) -> bool {
    let settings = &shared.group.settings;
    let interrupt_timeout = Duration::from_secs(settings.interrupt_timeout);
    let mut escalate = false;
    let mut to_interrupt = None;
    {
        let mut slots = lock(&shared.running);
        let now = Instant::now();
        for (index, slot) in slots.iter_mut().enumerate() {
            let (Some(started), Some(thread)) = (slot.started, slot.thread) else {
                continue;
            };
            if now.duration_since(started) <= threshold {
                continue;
            }
            if settings.interrupt_timeout == 0 {
                escalate = true;
                break;
            }
            match slot.interrupted {
                None => {
                    slot.interrupted = Some(now);
                    to_interrupt = Some((index, started, thread, slot.interpreter));
                    break;
                }
                Some(at) if now.duration_since(at) > interrupt_timeout => {
                    escalate = true;
                    break;
                }
                Some(_) => {}
            }
        }
    }
    if let Some((index, started, thread, interpreter)) = to_interrupt {
        // On a thread of its own: taking the GIL may block (a C extension
        // holding it is what deadlock-timeout is for), and the monitor must
        // keep watching meanwhile.
        let shared = shared.clone();
        std::thread::spawn(move || interrupt(&shared, index, started, thread, interpreter));
    }
    if !escalate || shared.draining.load(Ordering::Acquire) {
        return false;
    }
    let text = if settings.interrupt_timeout == 0 {
        format!(
            "Daemon process request time limit exceeded: a request has run longer than request-timeout ({} s, {:.1} s with {} threads); recycling the process",
            settings.request_timeout,
            threshold.as_secs_f64(),
            settings.threads
        )
    } else {
        format!(
            "Daemon process request time limit exceeded: a request interrupted with RequestTimeout did not end within interrupt-timeout ({} s); recycling the process",
            settings.interrupt_timeout
        )
    };
    log::process_sink(
        Level::Error,
        &messages::format_line(&shared.context, messages::REQUEST_TIMEOUT, &text),
    );
    shared.begin_drain("request-timeout");
    true
}

/// Raises `RequestTimeout` in worker `index`'s thread if it still runs the
/// request that started at `started`, after logging where it is stuck.
/// The GIL is taken as a thread of the request's interpreter, as mod_wsgi
/// 6's monitor acquires the worker's current one: in 3.11 only a waiter of
/// that interpreter makes the thread drop the GIL if it runs pure Python,
/// and `PyThreadState_SetAsyncExc` finds only that interpreter's threads.
fn interrupt(
    shared: &Shared,
    index: usize,
    started: Instant,
    thread: PythonThread,
    interpreter: Option<Interpreter>,
) {
    let still_running = |shared: &Shared| lock(&shared.running)[index].started == Some(started);
    let settings = &shared.group.settings;
    let info = |text: &str| {
        log::process_sink(
            Level::Info,
            &messages::format_line(&shared.context, messages::REQUEST_INTERRUPTED, text),
        );
    };
    let interrupted = python::interpreters::attach_once(interpreter, |py| {
        if !still_running(shared) {
            return false;
        }
        info(&format!(
            "Dumping stack trace for thread {index} of daemon process '{}' which has exceeded request-timeout of {} seconds, before injecting RequestTimeout to unwind it.",
            settings.name, settings.request_timeout
        ));
        for line in thread.stack(py) {
            info(&line);
        }
        // Checked again under the lock, with the GIL held: the worker
        // empties its slot before it withdraws an interruption, so one
        // made now is either withdrawn or fires in this request.
        let slots = lock(&shared.running);
        slots[index].started == Some(started) && thread.interrupt(py)
    });
    if interrupted == Some(true) {
        info(&format!(
            "Injected RequestTimeout into thread {index} of daemon process '{}'.",
            settings.name
        ));
    }
}

/// Proves the GIL can still be taken, for the deadlock check: as a thread
/// of the main interpreter here, and as one of each sub-interpreter on a
/// thread of its own ([`heartbeat_as`]), which the monitor starts once
/// the interpreter exists. In 3.11 a
/// thread running pure Python drops the GIL only for a waiter of its own
/// interpreter, so a request spinning in a sub-interpreter would hold off
/// a main-interpreter heartbeat and look like a deadlock; a beat of any of
/// them shows that the GIL still changes hands. They stop once Python
/// begins to stop (a thread state made during finalisation aborts it).
pub(super) fn heartbeat_loop(shared: Arc<Shared>) {
    loop {
        if python::interpreters::in_background(|| python::attach(|_| ())).is_none() {
            return;
        }
        beat(&shared);
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The heartbeat of application group `group`'s sub-interpreter.
fn heartbeat_as(shared: &Shared, group: &str) {
    loop {
        match python::interpreters::in_background(|| python::attach_group(group, |_| ())) {
            Some(Ok(())) => beat(shared),
            _ => return,
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn beat(shared: &Shared) {
    // The latest of all the heartbeat threads' beats.
    shared
        .heartbeat
        .beat
        .fetch_max(unix::monotonic_micros(), Ordering::Relaxed);
}
