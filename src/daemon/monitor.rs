//! A daemon's monitor: the limits that recycle the process gracefully, and
//! the heartbeat that proves its GIL can still be taken.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use wsgi::messages::{self, Level};
use wsgi::python;
use wsgi::sync::lock;

use super::shared::Shared;
use crate::apache::log;
use crate::unix;

/// Watches the limits that recycle the process.
pub(super) fn monitor_loop(shared: Arc<Shared>) {
    let settings = &shared.group.settings;
    let started = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(250));
        if shared.draining.load(Ordering::Acquire) {
            let since = shared.drain_elapsed();
            // The accept loop gives up waiting after graceful-timeout; this
            // is the last resort if even finalisation hangs.
            if since
                > Duration::from_secs(settings.graceful_timeout + settings.shutdown_timeout + 1)
            {
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
        if settings.request_timeout > 0 {
            let limit = Duration::from_secs(settings.request_timeout);
            let overdue = lock(&shared.running)
                .iter()
                .flatten()
                .any(|s| s.elapsed() > limit);
            if overdue {
                log::process_sink(
                    Level::Error,
                    &messages::format_line(
                        &shared.context,
                        messages::REQUEST_TIMEOUT,
                        &format!(
                            "a request has run longer than request-timeout ({} s); recycling the process",
                            settings.request_timeout
                        ),
                    ),
                );
                shared.begin_drain("request-timeout");
                continue;
            }
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
            shared.heartbeat.load(Ordering::Relaxed),
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

/// Proves the GIL can still be taken, for the deadlock check.
pub(super) fn heartbeat_loop(shared: Arc<Shared>) {
    loop {
        python::attach(|_| ());
        shared
            .heartbeat
            .store(unix::monotonic_micros(), Ordering::Relaxed);
        std::thread::sleep(Duration::from_secs(1));
    }
}
