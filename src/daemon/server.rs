//! Inside a daemon process: the accept loop, the worker threads that run
//! the application, and the monitor that recycles the process gracefully
//! when one of its limits is reached.
//!
//! Connections from Apache children are kept open between requests. An idle
//! connection sits in the workers' epoll set (one-shot) and in a slot of the
//! token table; the worker that epoll wakes for it serves the request itself
//! and re-arms the connection, so no request passes between threads. The
//! accept loop only accepts, throttles and drains.

use std::collections::VecDeque;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wsgi::adapter::ProcessInfo;
use wsgi::channel::{Hello, TokenTable};
use wsgi::messages::{self, Level, LogContext};
use wsgi::python::{self, loader};

use super::Registry;
use super::conn::Conn;
use super::monitor::{heartbeat_loop, monitor_loop};
use super::shared::{RequestSlot, STOP, Shared};
use super::socket_buffers;
use super::worker::refuse;
use crate::apache::log;
use crate::unix::{self, Epoll, Waker};

const LISTENER: u64 = 0;
const WAKER: u64 = 1;

/// Answers `Retry` on every connection no worker holds: idle ones, and
/// ones whose request no worker has taken. Their children send the
/// request elsewhere.
fn refuse_waiting(shared: &Shared) {
    for (_, conn, fresh) in shared.table.take_all() {
        if fresh {
            shared.fresh.fetch_sub(1, Ordering::AcqRel);
        }
        shared.connections.remove(conn.stream.as_raw_fd());
        refuse(conn, Vec::new());
    }
}

fn preload(shared: &Shared) {
    loader::import_scripts(&shared.group.preload, &shared.context, log::process_sink);
}

/// Serves requests until the process is recycled or stopped; returns the exit code.
pub fn serve(
    registry: &'static Registry,
    group_index: usize,
    index: usize,
    info: ProcessInfo,
    context: LogContext,
) -> i32 {
    let group = &registry.groups[group_index];
    let signals = unix::block_control_signals();
    let settings = &group.settings;
    let (Ok(waker), Ok(stop), Ok(connections)) = (Waker::new(), Waker::new(), Epoll::new()) else {
        return 1;
    };
    if connections.add_level(stop.fd(), STOP).is_err() {
        return 1;
    }
    let shared = Arc::new(Shared {
        group,
        info,
        context,
        connections,
        table: TokenTable::default(),
        stop,
        waker,
        paused: AtomicBool::new(false),
        draining: AtomicBool::new(false),
        drain_started: Mutex::new(None),
        drain_limit: AtomicU64::new(settings.graceful_timeout),
        busy: AtomicUsize::new(0),
        fresh: AtomicUsize::new(0),
        served: AtomicU64::new(0),
        running: Mutex::new(vec![RequestSlot::default(); settings.threads as usize]),
        last_activity: Mutex::new(Instant::now()),
        heartbeat: registry.heartbeats.slot(group.first_slot + index),
        shutdown_reason: Mutex::new(""),
    });
    shared
        .heartbeat
        .beat
        .store(unix::monotonic_micros(), Ordering::Relaxed);
    preload(&shared);

    {
        let shared = shared.clone();
        std::thread::spawn(move || {
            loop {
                let signal = unix::wait_signal(&signals);
                // As mod_wsgi: Apache's graceful signal evicts when the
                // group has an eviction-timeout.
                if signal == libc::SIGUSR1 && shared.group.settings.eviction_timeout > 0 {
                    shared.begin_eviction();
                } else {
                    // Not always Apache's: mod_wsgi_rs-express's reloader
                    // (--reload-on-changes) sends its own process SIGINT.
                    shared.begin_drain(&format!("signal {signal} ({})", signal_name(signal)));
                }
            }
        });
    }
    {
        let shared = shared.clone();
        std::thread::spawn(move || monitor_loop(shared));
    }
    {
        let shared = shared.clone();
        std::thread::spawn(move || heartbeat_loop(shared));
    }
    let workers = match super::worker::spawn_workers(&shared) {
        Ok(workers) => workers,
        Err(e) => {
            // A stack-size the system cannot give, say.
            log::process_sink(
                Level::Error,
                &messages::format_line(
                    &shared.context,
                    messages::DAEMON_STARTUP_FAILED,
                    &format!("cannot start the worker threads: {e}"),
                ),
            );
            return 1;
        }
    };

    let exit_code = accept_loop(&shared);

    // Stop the idle workers; a worker still inside the application after
    // graceful-timeout means Python cannot be finalised safely. (One that
    // took a connection as the drain ended only answers Retry: a moment.)
    shared.stop.wake();
    let deadline = Instant::now() + Duration::from_millis(500);
    while shared.busy.load(Ordering::Acquire) > 0 {
        if Instant::now() > deadline {
            return exit_code;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    for worker in workers {
        let _ = worker.join();
    }
    let shutdown = Duration::from_secs(settings.shutdown_timeout.max(1));
    std::thread::spawn(move || {
        std::thread::sleep(shutdown);
        unix::exit_now(1);
    });
    // atexit handlers run here.
    let _ = python::finalize();
    exit_code
}

/// The name of a control signal, for the recycling line.
fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGXCPU => "SIGXCPU",
        _ => "a control signal",
    }
}

fn accept_loop(shared: &Arc<Shared>) -> i32 {
    let group = shared.group;
    let epoll = match Epoll::new() {
        Ok(e) => e,
        Err(_) => return 1,
    };
    let listener = group.listener_fd();
    let _ = unix::set_nonblocking(listener);
    if epoll.add_listener(listener, LISTENER).is_err()
        || epoll.add_oneshot(shared.waker.fd(), WAKER).is_err()
    {
        return 1;
    }
    let mut tokens = Vec::new();
    // Accepted connections in order, for expiring the ones that send no
    // request within socket-timeout.
    let mut admitted: VecDeque<(u64, Instant)> = VecDeque::new();
    let read_timeout = group.read_timeout;
    let mut draining_seen = false;
    // The listener is watched only while a thread is free, so that the
    // group's other processes take the connections this one cannot serve
    // at once.
    let mut listening = true;
    let buffers = socket_buffers::configured(&group.settings);
    let hello = {
        let mut out = Vec::new();
        Hello::encode(&mut out, unix::getpid() as u32);
        out
    };
    loop {
        if shared.draining.load(Ordering::Acquire) && !draining_seen {
            draining_seen = true;
            if listening {
                epoll.remove(listener);
                listening = false;
            }
            refuse_waiting(shared);
            // As mod_wsgi: subscribers hear of it before the requests in
            // flight are waited for.
            wsgi::python::publish_process_stopping(*wsgi::sync::lock(&shared.shutdown_reason));
        }
        if draining_seen {
            let since = shared.drain_elapsed();
            // A request stuck past request-timeout + interrupt-timeout is
            // not waited for (mod_wsgi 6's stale-aware drain).
            if shared.busy.load(Ordering::SeqCst) <= shared.stale_requests()
                || since > shared.drain_limit()
            {
                // No connection is closed without a word: a child that
                // pooled one (or sent a request on it) gets Retry, not a
                // reset, and sends the request elsewhere. So do requests
                // no worker took before graceful-timeout.
                refuse_waiting(shared);
                return 0;
            }
        } else {
            // Paused first, then counted: a worker that frees itself in
            // between sees the flag and wakes this loop.
            shared.paused.store(true, Ordering::SeqCst);
            if shared.free_threads() == 0 {
                if listening {
                    epoll.remove(listener);
                    listening = false;
                }
            } else {
                shared.paused.store(false, Ordering::SeqCst);
                if !listening && epoll.add_listener(listener, LISTENER).is_ok() {
                    listening = true;
                }
            }
        }
        while let Some(&(token, at)) = admitted.front() {
            if at.elapsed() < read_timeout {
                break;
            }
            admitted.pop_front();
            shared.expire_fresh(token, read_timeout);
        }
        if epoll.wait(Duration::from_millis(200), &mut tokens).is_err() {
            return 1;
        }
        for &token in &tokens {
            match token {
                LISTENER if listening => {
                    while shared.free_threads() > 0 {
                        let Ok(Some(stream)) = unix::accept(listener) else {
                            break;
                        };
                        match unix::peer_uid(&stream) {
                            Ok(uid) if uid == group.socket_uid => {
                                // The Hello goes out at once: the child waits
                                // for it (within connect-timeout) before it
                                // sends a request, and learns this pid.
                                if buffers {
                                    // Any failure was logged for the listener.
                                    let _ =
                                        socket_buffers::apply(stream.as_raw_fd(), &group.settings);
                                }
                                let mut conn = Conn::new(stream);
                                // As mod_wsgi: every read the daemon makes
                                // on it waits socket-timeout at most.
                                conn.set_read_timeout(read_timeout);
                                if conn.write_all(&hello).is_ok()
                                    && let Some(token) = admit(shared, conn)
                                    && !read_timeout.is_zero()
                                {
                                    admitted.push_back((token, Instant::now()));
                                }
                            }
                            Ok(uid) => log::process_sink(
                                Level::Error,
                                &messages::format_line(
                                    &shared.context,
                                    messages::PEER_REFUSED,
                                    &format!(
                                        "refused a connection from uid {uid}: only uid {} may use this daemon group",
                                        group.socket_uid
                                    ),
                                ),
                            ),
                            Err(_) => {}
                        }
                    }
                }
                WAKER => {
                    shared.waker.drain();
                    let _ = epoll.rearm(shared.waker.fd(), WAKER);
                }
                _ => {}
            }
        }
    }
}

/// Puts an accepted connection in the table and the workers' set; returns
/// its token.
fn admit(shared: &Shared, conn: Conn) -> Option<u64> {
    let fd = conn.stream.as_raw_fd();
    // Counted before a worker can see it (and uncount it).
    shared.fresh.fetch_add(1, Ordering::SeqCst);
    match shared.table.insert(conn) {
        Ok(token) => {
            if shared.connections.add_oneshot(fd, token).is_err() {
                shared.discard(token);
                return None;
            }
            Some(token)
        }
        Err(conn) => {
            shared.fresh.fetch_sub(1, Ordering::AcqRel);
            refuse(conn, Vec::new());
            None
        }
    }
}
