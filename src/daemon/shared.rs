//! The state a daemon's threads share: the accept loop, the workers, the
//! monitor and the signal thread (see server.rs for how they use it).

use std::os::fd::AsRawFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wsgi::adapter::ProcessInfo;
use wsgi::channel::TokenTable;
use wsgi::messages::{self, Level, LogContext};
use wsgi::python::{self, interpreters::Interpreter, request_timeout::PythonThread};
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
    /// How long the drain waits for requests in flight, in seconds:
    /// graceful-timeout, or eviction-timeout for an eviction.
    pub(super) drain_limit: AtomicU64,
    /// Workers holding a connection taken out of the table.
    pub(super) busy: AtomicUsize,
    /// Connections accepted whose first request no worker has taken yet.
    pub(super) fresh: AtomicUsize,
    pub(super) served: AtomicU64,
    /// Each worker's current request, for the monitor's request-timeout.
    pub(super) running: Mutex<Vec<RequestSlot>>,
    pub(super) last_activity: Mutex<Instant>,
    /// This daemon's page of the parent's heartbeats (the only one it maps).
    pub(super) heartbeat: &'static crate::unix::HeartbeatSlot,
    /// Why the drain began, in mod_wsgi's words (`process_stopping`'s
    /// `shutdown_reason`).
    pub(super) shutdown_reason: Mutex<&'static str>,
}

/// mod_wsgi's name (wsgi_daemon.c's `wsgi_shutdown_reason`) for the reason
/// `begin_drain` was given. Its callers say it for the log; this keeps the
/// mapping in one place rather than in each of them.
fn mod_wsgi_reason(reason: &str) -> &'static str {
    const NAMES: [(&str, &str); 10] = [
        ("maximum-requests", "maximum_requests"),
        ("request-timeout", "request_timeout"),
        ("restart-interval", "restart_interval"),
        ("inactivity-timeout", "inactivity_timeout"),
        ("memory-limit", "memory_limit"),
        ("cpu-time-limit", "cpu_time_limit"),
        ("no WSGI script loaded", "startup_timeout"),
        ("the script", "script_reload"),
        ("signal 10 ", "graceful_signal"),
        ("eviction", "eviction_signal"),
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

/// What the monitor knows of one worker's request.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct RequestSlot {
    /// When the current request started; None while the worker is idle.
    pub(super) started: Option<Instant>,
    /// The worker's thread, for `RequestTimeout`.
    pub(super) thread: Option<PythonThread>,
    /// The sub-interpreter the request runs in (None: the main one). The
    /// monitor takes the GIL as a thread of it: in 3.11 only a waiter of
    /// its own interpreter makes a thread running pure Python drop it, and
    /// `PyThreadState_SetAsyncExc` finds only the current interpreter's
    /// threads.
    pub(super) interpreter: Option<Interpreter>,
    /// When the monitor decided to interrupt this request (mod_wsgi's
    /// `injected_at`): interrupt-timeout counts from here.
    pub(super) interrupted: Option<Instant>,
}

impl Shared {
    /// Worker `index` starts running a request.
    pub(super) fn request_started(&self, index: usize) {
        let thread = PythonThread::current();
        lock(&self.running)[index] = RequestSlot {
            started: Some(Instant::now()),
            thread: Some(thread),
            interpreter: None,
            interrupted: None,
        };
    }

    /// Worker `index`'s request runs in sub-interpreter `interpreter`
    /// (called with the GIL held, for requests of groups other than
    /// `%{GLOBAL}` only, so that those cost nothing more).
    pub(super) fn request_in(&self, index: usize, interpreter: Interpreter) {
        lock(&self.running)[index].interpreter = Some(interpreter);
    }

    /// Worker `index` is done with its request of application group
    /// `group` (and holds no GIL). An interruption that came too late to
    /// fire is taken back, so that it cannot land in the worker's next
    /// request. Once the slot is empty the monitor interrupts nothing more
    /// here (it checks the slot with the GIL held), so nothing can arrive
    /// after the withdrawal. It is withdrawn in the group's interpreter,
    /// where it was made, waiting for the GIL as a thread of it (as a
    /// main-interpreter thread, it could wait for ever on a sibling
    /// request of the group running pure Python).
    pub(super) fn request_ended(&self, index: usize, group: &str) {
        let slot = std::mem::take(&mut lock(&self.running)[index]);
        if slot.interrupted.is_some()
            && let Some(thread) = slot.thread
        {
            // An interpreter that could not be made ran nothing to withdraw.
            let _ = python::attach_group(group, |py| thread.withdraw(py));
        }
    }

    /// Requests running longer than their limit (request-timeout scaled by
    /// the threads) plus interrupt-timeout: a request stuck that long will
    /// not end by itself, so a drain does not wait for it (mod_wsgi 6's
    /// stale-aware drain). mod_wsgi counts from the unscaled request-timeout,
    /// which cuts short a sibling request that is merely slow, within its
    /// limit.
    pub(super) fn stale_requests(&self) -> usize {
        let settings = &self.group.settings;
        let Some(threshold) = self.group.settings.request_fire_threshold() else {
            return 0;
        };
        let cutoff = threshold + Duration::from_secs(settings.interrupt_timeout);
        lock(&self.running)
            .iter()
            .filter(|slot| slot.started.is_some_and(|s| s.elapsed() > cutoff))
            .count()
    }

    /// Starts a graceful recycle: no new requests, in-flight ones finish
    /// within graceful-timeout.
    pub(super) fn begin_drain(&self, reason: &str) {
        self.begin_drain_within(reason, self.group.settings.graceful_timeout);
    }

    /// mod_wsgi's eviction (SIGUSR1 with `eviction-timeout=`): a graceful
    /// recycle whose requests in flight get eviction-timeout instead.
    /// Ignored while the process already drains, as in mod_wsgi.
    pub(super) fn begin_eviction(&self) {
        if self.draining.load(Ordering::Acquire) {
            return;
        }
        let settings = &self.group.settings;
        // mod_wsgi's two lines: it says whether anything is to be waited for.
        let text = if self.busy.load(Ordering::Acquire) > 0 {
            format!(
                "Process eviction requested; waiting up to {} s for in-flight requests to complete in daemon process '{}'.",
                settings.eviction_timeout, settings.name
            )
        } else {
            format!(
                "Process eviction requested; triggering immediate shutdown of daemon process '{}'.",
                settings.name
            )
        };
        log::process_sink(
            Level::Info,
            &messages::format_line(&self.context, messages::DAEMON_EVICTION, &text),
        );
        self.begin_drain_within("eviction requested", self.group.settings.eviction_timeout);
    }

    /// How long this drain waits for requests in flight.
    pub(super) fn drain_limit(&self) -> Duration {
        Duration::from_secs(self.drain_limit.load(Ordering::Acquire))
    }

    fn begin_drain_within(&self, reason: &str, limit_seconds: u64) {
        if self.draining.swap(true, Ordering::AcqRel) {
            return;
        }
        // Before the drain is seen: the accept loop and monitor read it.
        self.drain_limit.store(limit_seconds, Ordering::Release);
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

    /// Closes connection `token` if it has sent no request for
    /// `timeout` since it was accepted: it would count against the free
    /// threads for ever (mod_wsgi's thread would wait socket-timeout for
    /// the request, then give up). A worker that wakes for it meanwhile
    /// finds it gone, as with a drain.
    pub(super) fn expire_fresh(&self, token: u64, timeout: Duration) {
        let Some(conn) = self
            .table
            .take_fresh_if(token, |c| c.accepted.elapsed() >= timeout)
        else {
            return;
        };
        self.fresh.fetch_sub(1, Ordering::SeqCst);
        self.connections.remove(conn.stream.as_raw_fd());
        self.table.release(token);
        self.read_timed_out(&conn, "sent nothing");
        drop(conn);
    }

    /// Logs a connection closed for want of a complete frame within
    /// socket-timeout (mod_wsgi: "Unable to read incoming WSGI request
    /// from Apache child").
    pub(super) fn read_timed_out(&self, conn: &Conn, what: &str) {
        let pid =
            crate::unix::peer_pid(&conn.stream).map_or_else(|_| "?".to_owned(), |p| p.to_string());
        log::process_sink(
            Level::Error,
            &messages::format_line(
                &self.context,
                messages::CHANNEL_READ_TIMEOUT,
                &format!(
                    "Unable to read incoming WSGI request from Apache child: the connection \
                     from process {pid} {what} within socket-timeout ({} s); closing it",
                    self.group.read_timeout.as_secs()
                ),
            ),
        );
    }

    /// Closes a connection that sits in the table, and frees its token.
    pub(super) fn discard(&self, token: u64) {
        if let Some(conn) = self.take(token) {
            self.table.release(token);
            drop(conn);
        }
    }
}
