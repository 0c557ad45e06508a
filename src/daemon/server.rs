//! Inside a daemon process: the accept loop, the request queue, the worker
//! threads that run the application, and the monitor that recycles the
//! process gracefully when one of its limits is reached.
//!
//! Connections from Apache children are kept open between requests. An idle
//! connection sits in epoll (one-shot); when a request arrives it is queued,
//! a worker takes it, serves the request, and hands the connection back.

use std::collections::{HashMap, HashSet, VecDeque};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use pyo3::types::PyTracebackMethods;
use wsgi::adapter::ProcessInfo;
use wsgi::channel::Hello;
use wsgi::messages::{self, Level};
use wsgi::python::{self, loader};

use super::conn::Conn;
use super::monitor::{heartbeat_loop, monitor_loop};
use super::worker::{refuse, worker_loop};
use super::{GroupRuntime, Registry};
use crate::apache::log;
use crate::unix::{self, Epoll, Waker};

const LISTENER: u64 = 0;
const WAKER: u64 = 1;

pub(super) struct Job {
    pub(super) conn: Conn,
    pub(super) token: u64,
}

pub(super) struct Shared {
    pub(super) group: &'static GroupRuntime,
    pub(super) info: ProcessInfo,
    pub(super) context: String,
    pub(super) queue: Mutex<VecDeque<Job>>,
    pub(super) queue_ready: Condvar,
    /// Connections workers are done with, for the accept loop to re-arm.
    pub(super) returned: Mutex<Vec<(u64, Conn)>>,
    pub(super) waker: Waker,
    pub(super) draining: AtomicBool,
    pub(super) stopping: AtomicBool,
    pub(super) drain_started: Mutex<Option<Instant>>,
    pub(super) busy: AtomicUsize,
    pub(super) served: AtomicU64,
    /// When each worker's current request started (None when idle).
    pub(super) running: Mutex<Vec<Option<Instant>>>,
    pub(super) last_activity: Mutex<Instant>,
    pub(super) heartbeat: &'static std::sync::atomic::AtomicU64,
}

impl Shared {
    /// Starts a graceful recycle: no new requests, in-flight ones finish.
    pub(super) fn begin_drain(&self, reason: &str) {
        if self.draining.swap(true, Ordering::AcqRel) {
            return;
        }
        *self.drain_started.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
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
        self.drain_started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|t| t.elapsed())
            .unwrap_or_default()
    }

    pub(super) fn next_job(&self) -> Option<Job> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(job) = queue.pop_front() {
                // Busy before the queue lock is released: the accept loop
                // never sees a job in neither place.
                self.busy.fetch_add(1, Ordering::AcqRel);
                return Some(job);
            }
            if self.stopping.load(Ordering::Acquire) {
                return None;
            }
            queue = self
                .queue_ready
                .wait(queue)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Threads that would be free for one more connection: none busy, none
    /// claimed by a queued request or by `fresh` connections (accepted,
    /// their first request on its way).
    fn free_threads(&self, fresh: usize) -> usize {
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let busy = self.busy.load(Ordering::Acquire);
        (self.group.settings.threads as usize).saturating_sub(busy + queue.len() + fresh)
    }

    pub(super) fn give_back(&self, token: u64, conn: Conn) {
        self.returned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((token, conn));
        self.waker.wake();
    }
}

fn preload(shared: &Shared) {
    for script in &shared.group.preload {
        let mtime = loader::file_mtime(script).unwrap_or(0);
        let loaded = python::attach(|py| {
            loader::load_script(py, script, mtime, true)
                .map(|_| ())
                .map_err(|e| {
                    let traceback = e.to_string();
                    (
                        traceback,
                        e.traceback(py)
                            .and_then(|t| t.format().ok())
                            .unwrap_or_default(),
                    )
                })
        });
        if let Err((error, traceback)) = loaded {
            let line = messages::format_line(
                &format!("{}, script='{script}'", shared.context),
                messages::SCRIPT_LOAD_FAILED,
                &format!("failed to preload the WSGI script: {error}"),
            );
            log::process_sink(Level::Error, &line);
            for l in traceback.lines() {
                log::process_sink(Level::Error, l);
            }
        }
    }
}

/// Serves requests until the process is recycled or stopped; returns the exit code.
pub fn serve(
    registry: &'static Registry,
    group_index: usize,
    index: usize,
    info: ProcessInfo,
    context: &str,
) -> i32 {
    let group = &registry.groups[group_index];
    let signals = unix::block_control_signals();
    let settings = &group.settings;
    let waker = match Waker::new() {
        Ok(w) => w,
        Err(_) => return 1,
    };
    let shared = Arc::new(Shared {
        group,
        info,
        context: context.to_owned(),
        queue: Mutex::new(VecDeque::new()),
        queue_ready: Condvar::new(),
        returned: Mutex::new(Vec::new()),
        waker,
        draining: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        drain_started: Mutex::new(None),
        busy: AtomicUsize::new(0),
        served: AtomicU64::new(0),
        running: Mutex::new(vec![None; settings.threads as usize]),
        last_activity: Mutex::new(Instant::now()),
        heartbeat: registry.heartbeats.slot(group.first_slot + index),
    });
    shared
        .heartbeat
        .store(unix::now_seconds(), Ordering::Relaxed);
    preload(&shared);

    {
        let shared = shared.clone();
        std::thread::spawn(move || {
            loop {
                let signal = unix::wait_signal(&signals);
                shared.begin_drain(&format!("signal {signal} from Apache"));
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
    let workers: Vec<_> = (0..settings.threads as usize)
        .map(|w| {
            let shared = shared.clone();
            std::thread::spawn(move || worker_loop(shared, w))
        })
        .collect();

    let exit_code = accept_loop(&shared);

    // Stop the idle workers; a worker still inside the application after
    // graceful-timeout means Python cannot be finalised safely.
    shared.stopping.store(true, Ordering::Release);
    shared.queue_ready.notify_all();
    if shared.busy.load(Ordering::Acquire) > 0 {
        return exit_code;
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
    let mut idle: HashMap<u64, Conn> = HashMap::new();
    let mut next_token = 2u64;
    let mut tokens = Vec::new();
    let mut draining_seen = false;
    // Accepted connections whose first request has not arrived yet.
    let mut fresh: HashSet<u64> = HashSet::new();
    // The listener is watched only while a thread is free, so that the
    // group's other processes take the connections this one cannot serve
    // at once.
    let mut listening = true;
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
            // Idle connections get a Retry: a child that picks one up (or
            // already sent a request on it) sends the request elsewhere.
            for (_, conn) in idle.drain() {
                refuse(conn, Vec::new());
            }
        }
        if draining_seen {
            let queue_empty = shared
                .queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty();
            let since = shared.drain_elapsed();
            if (queue_empty && shared.busy.load(Ordering::Acquire) == 0)
                || since > Duration::from_secs(group.settings.graceful_timeout)
            {
                // No connection is closed without a word: a child that
                // pooled one (or sent a request on it) gets Retry, not a
                // reset, and sends the request elsewhere. Requests still
                // queued after graceful-timeout were not run either.
                let returned =
                    std::mem::take(&mut *shared.returned.lock().unwrap_or_else(|e| e.into_inner()));
                let queued =
                    std::mem::take(&mut *shared.queue.lock().unwrap_or_else(|e| e.into_inner()));
                for conn in returned
                    .into_iter()
                    .map(|(_, c)| c)
                    .chain(queued.into_iter().map(|j| j.conn))
                {
                    refuse(conn, Vec::new());
                }
                return 0;
            }
        }
        if !draining_seen {
            let free = shared.free_threads(fresh.len());
            if listening && free == 0 {
                epoll.remove(listener);
                listening = false;
            } else if !listening && free > 0 && epoll.add_listener(listener, LISTENER).is_ok() {
                listening = true;
            }
        }
        if epoll.wait(Duration::from_millis(200), &mut tokens).is_err() {
            return 1;
        }
        for &token in &tokens {
            match token {
                LISTENER if listening => {
                    while shared.free_threads(fresh.len()) > 0 {
                        let Ok(Some(stream)) = unix::accept(listener) else {
                            break;
                        };
                        match unix::peer_uid(&stream) {
                            Ok(uid) if uid == group.socket_uid => {
                                let token = next_token;
                                next_token += 1;
                                // The Hello goes out at once: the child waits
                                // for it (within connect-timeout) before it
                                // sends a request, and learns this pid.
                                let mut conn = Conn::new(stream);
                                if conn.write_all(&hello).is_ok()
                                    && epoll.add_oneshot(conn.stream.as_raw_fd(), token).is_ok()
                                {
                                    fresh.insert(token);
                                    idle.insert(token, conn);
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
                    let returned = std::mem::take(
                        &mut *shared.returned.lock().unwrap_or_else(|e| e.into_inner()),
                    );
                    for (token, conn) in returned {
                        if shared.draining.load(Ordering::Acquire) {
                            refuse(conn, Vec::new());
                        } else if epoll.rearm(conn.stream.as_raw_fd(), token).is_ok() {
                            idle.insert(token, conn);
                        }
                    }
                }
                LISTENER => {}
                token => {
                    fresh.remove(&token);
                    if let Some(conn) = idle.remove(&token) {
                        shared
                            .queue
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push_back(Job { conn, token });
                        shared.queue_ready.notify_one();
                    }
                }
            }
        }
    }
}
