//! The state a daemon's threads share: the accept loop, the workers, the
//! monitor and the signal thread (see server.rs for how they use it).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wsgi::adapter::ProcessInfo;
use wsgi::channel::TokenTable;
use wsgi::messages::{self, Level, LogContext};
use wsgi::sync::lock;

use super::GroupRuntime;
use super::conn::Conn;
use crate::apache::log;
use crate::unix::{Epoll, Waker};

/// In the workers' set: readable once the process stops, for every worker.
pub(super) const STOP: u64 = 2;

pub(super) struct Shared {
    pub(super) group: &'static GroupRuntime,
    pub(super) info: ProcessInfo,
    pub(super) context: LogContext,
    /// The workers' epoll set: idle connections (one-shot) and `stop`.
    pub(super) connections: Epoll,
    pub(super) table: TokenTable<Conn>,
    pub(super) stop: Waker,
    /// Wakes the accept loop: a drain began, or a thread became free while
    /// it was not listening.
    pub(super) waker: Waker,
    /// The accept loop stopped listening for want of a free thread.
    pub(super) paused: AtomicBool,
    pub(super) draining: AtomicBool,
    pub(super) drain_started: Mutex<Option<Instant>>,
    /// Workers holding a connection taken out of the table.
    pub(super) busy: AtomicUsize,
    /// Connections accepted whose first request no worker has taken yet.
    pub(super) fresh: AtomicUsize,
    pub(super) served: AtomicU64,
    /// When each worker's current request started (None when idle).
    pub(super) running: Mutex<Vec<Option<Instant>>>,
    pub(super) last_activity: Mutex<Instant>,
    pub(super) heartbeat: &'static std::sync::atomic::AtomicU64,
    /// Why the drain began, in mod_wsgi's words (`process_stopping`'s
    /// `shutdown_reason`).
    pub(super) shutdown_reason: Mutex<&'static str>,
}

/// mod_wsgi's name (wsgi_daemon.c's `wsgi_shutdown_reason`) for the reason
/// `begin_drain` was given. Its callers say it for the log; this keeps the
/// mapping in one place rather than in each of them.
fn mod_wsgi_reason(reason: &str) -> &'static str {
    const NAMES: [(&str, &str); 9] = [
        ("maximum-requests", "maximum_requests"),
        ("request-timeout", "request_timeout"),
        ("restart-interval", "restart_interval"),
        ("inactivity-timeout", "inactivity_timeout"),
        ("memory-limit", "memory_limit"),
        ("cpu-time-limit", "cpu_time_limit"),
        ("no WSGI script loaded", "startup_timeout"),
        ("the script", "script_reload"),
        ("signal 10 ", "graceful_signal"),
    ];
    for (prefix, name) in NAMES {
        if reason.starts_with(prefix) {
            return name;
        }
    }
    if reason.starts_with("signal") {
        "shutdown_signal"
    } else {
        ""
    }
}

impl Shared {
    /// Starts a graceful recycle: no new requests, in-flight ones finish.
    pub(super) fn begin_drain(&self, reason: &str) {
        if self.draining.swap(true, Ordering::AcqRel) {
            return;
        }
        *lock(&self.drain_started) = Some(Instant::now());
        *lock(&self.shutdown_reason) = mod_wsgi_reason(reason);
        log::process_sink(
            Level::Info,
            &messages::format_line(
                &self.context,
                messages::DAEMON_RECYCLING,
                &format!("recycling the daemon process gracefully: {reason}"),
            ),
        );
        self.waker.wake();
    }

    /// How long the process has been draining (zero when it is not).
    pub(super) fn drain_elapsed(&self) -> Duration {
        lock(&self.drain_started)
            .map(|t| t.elapsed())
            .unwrap_or_default()
    }

    /// Threads that would be free for one more connection: none busy, none
    /// claimed by connections accepted whose first request is on its way.
    pub(super) fn free_threads(&self) -> usize {
        let busy = self.busy.load(Ordering::SeqCst);
        let fresh = self.fresh.load(Ordering::SeqCst);
        (self.group.settings.threads as usize).saturating_sub(busy + fresh)
    }

    /// A worker is done with a connection: the accept loop may be waiting
    /// for a free thread, or for the last request of a drain.
    pub(super) fn worker_free(&self) {
        self.busy.fetch_sub(1, Ordering::SeqCst);
        if self.paused.load(Ordering::SeqCst) || self.draining.load(Ordering::Acquire) {
            self.waker.wake();
        }
    }

    /// Takes a connection out of the table (None if another thread did),
    /// and no longer counts it as waiting for its first request.
    pub(super) fn take(&self, token: u64) -> Option<Conn> {
        let (conn, fresh) = self.table.take(token)?;
        if fresh {
            self.fresh.fetch_sub(1, Ordering::SeqCst);
        }
        Some(conn)
    }

    /// Closes a connection that sits in the table, and frees its token.
    pub(super) fn discard(&self, token: u64) {
        if let Some(conn) = self.take(token) {
            self.table.release(token);
            drop(conn);
        }
    }
}
