//! A daemon's worker threads: each waits in the connections' epoll set,
//! takes the connection whose request arrived, runs it through the shared
//! WSGI adapter, and re-arms the connection for its next request.

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use std::borrow::Cow;

use pyo3::Python;
use pyo3::types::PyTracebackMethods;
use wsgi::adapter::{self, Outcome};
use wsgi::channel::{EndFrame, Hello, HelloRefusal, Kind, RequestFrame, push_frame};
use wsgi::messages::{self, Level, LogContext};
use wsgi::python::{self, interpreters::Interpreter, loader};
use wsgi::request::ScriptReloading;
use wsgi::sync::lock;

use super::channel_transport::ChannelTransport;
use super::conn::Conn;
use super::shared::{STOP, Shared};
use crate::apache::log;
use crate::unix;

/// Logs a channel protocol error, once for the connection, which is then
/// dropped. The peer is named by the kernel's pid, not the one it claimed:
/// garbage may come from anything that can reach the socket.
fn protocol_error(shared: &Shared, conn: &Conn, text: &str) -> Option<Conn> {
    let pid = unix::peer_pid(&conn.stream).map_or_else(|_| "?".to_owned(), |p| p.to_string());
    log::process_sink(
        Level::Error,
        &messages::format_line(
            &shared.context,
            messages::DAEMON_PROTOCOL_ERROR,
            &format!("{text} (from process {pid}); closing the connection"),
        ),
    );
    None
}

/// A peer that did not prove it is one of Apache's children (see
/// `wsgi::channel::Secret`): logged as mod_wsgi logs a bad magic token, and
/// the connection dropped with nothing run. The pid is the kernel's, not
/// the one the peer claimed.
fn origin_unproven(shared: &Shared, conn: &Conn, missing: bool) -> Option<Conn> {
    let pid = unix::peer_pid(&conn.stream).map_or_else(|_| "?".to_owned(), |p| p.to_string());
    log::process_sink(
        Level::Error,
        &messages::format_line(
            &shared.context,
            messages::DAEMON_ORIGIN_UNPROVEN,
            &format!(
                "Request origin could not be validated; {}: process {pid} connected to the \
                 group's socket but is not one of Apache's children; closing the connection \
                 without running anything",
                if missing {
                    "missing magic token"
                } else {
                    "magic token mismatch"
                }
            ),
        ),
    );
    None
}

/// Writes `Retry` (the request was not and will not be run here) and closes.
pub(super) fn refuse(mut conn: Conn, mut out: Vec<u8>) {
    push_frame(&mut out, Kind::Retry, b"");
    let _ = conn.write_all(&out);
}

/// The most a worker keeps of its frame buffer between requests.
const KEPT_BUFFER: usize = 64 * 1024;

/// Serves one request of `conn`; `out` is the worker's buffer for the
/// frames it writes, kept from request to request so that it does not grow
/// again each time.
/// What a worker thread knows for its whole life.
struct Worker<'a> {
    shared: &'a Shared,
    index: usize,
    /// The group and this daemon's pid, for the adapter's log lines.
    context: LogContext,
}

fn serve_connection(worker: &Worker<'_>, mut conn: Conn, out: &mut Vec<u8>) -> Option<Conn> {
    let shared = worker.shared;
    out.clear();
    let RequestFrame {
        mut meta,
        queue_start,
        mut variables,
    } = loop {
        let greeted = conn.greeted;
        let (kind, payload) = match conn.read_frame() {
            Ok(frame) => frame,
            // Garbage, or a frame longer than the limit: said so, where
            // the peer's closing is not; a peer gone quiet mid-frame is
            // released after socket-timeout, and said so.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return protocol_error(shared, &conn, &e.to_string());
            }
            Err(e) => {
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) {
                    shared.read_timed_out(&conn, "sent no complete frame");
                }
                return None;
            }
        };
        match kind {
            // This daemon's Hello went out when the connection was accepted.
            Kind::Hello if !greeted => match Hello::check_proof(payload, shared.group.secret) {
                Ok(pid) => {
                    conn.peer_pid = pid;
                    conn.greeted = true;
                }
                Err(HelloRefusal::Protocol(e)) => return protocol_error(shared, &conn, &e),
                Err(HelloRefusal::Unproven { missing, .. }) => {
                    return origin_unproven(shared, &conn, missing);
                }
            },
            Kind::Request if greeted => match RequestFrame::decode(payload) {
                Ok(request) => break request,
                Err(e) => return protocol_error(shared, &conn, &e),
            },
            other => {
                return protocol_error(
                    shared,
                    &conn,
                    &format!("unexpected {other:?} frame from an Apache child"),
                );
            }
        }
    };
    // As mod_wsgi: when the daemon has read the request.
    meta.times.daemon_start = wsgi::request::wall_clock_micros();
    if shared.draining.load(Ordering::Acquire) {
        refuse(conn, std::mem::take(out));
        return None;
    }
    let settings = &shared.group.settings;
    if let Some(root) = &settings.chroot
        && let Err(text) = enter_root(root, &mut meta, &mut variables)
    {
        log::process_sink(
            Level::Error,
            &messages::format_line(
                worker.context.clone().with_script(&meta.script),
                messages::SCRIPT_OUTSIDE_CHROOT,
                &text,
            ),
        );
        EndFrame::encode(out, Outcome::ErrorOverride(500));
        return conn.write_all(out).ok().map(|()| conn);
    }
    // Measured from when the Apache child started handing the request
    // over, as mod_wsgi does: waits in the listen backlog count too.
    let waited = Duration::from_micros(
        u64::try_from((unix::monotonic_micros() as i64).saturating_sub(queue_start)).unwrap_or(0),
    );
    if settings.queue_timeout > 0
        && queue_start > 0
        && waited > Duration::from_secs(settings.queue_timeout)
    {
        log::process_sink(
            Level::Error,
            &messages::format_line(
                worker.context.clone().with_script(&meta.script),
                messages::QUEUE_TIMEOUT,
                &format!(
                    "the request waited {:.1} s for a free thread, more than queue-timeout ({} s); answering 504 without running the application",
                    waited.as_secs_f64(),
                    settings.queue_timeout
                ),
            ),
        );
        EndFrame::encode(out, Outcome::ErrorOverride(504));
        return conn.write_all(out).ok().map(|()| conn);
    }
    shared.request_started(worker.index);
    let mut transport = Some(ChannelTransport::new(
        conn,
        variables,
        meta.body_length,
        std::mem::take(out),
    ));
    let meta = wsgi::request::RequestMeta {
        process_group: Cow::Borrowed(settings.name.as_str()),
        ..meta
    };
    let log_context = worker.context.clone().with_script(&meta.script);
    let ran = python::attach_group(&meta.application_group, |py| {
        if !meta.application_group.is_empty() {
            shared.request_in(worker.index, Interpreter::current(py));
        }
        // Script reloading in daemon mode restarts the process, so that
        // the new code starts from a clean interpreter (mod_wsgi's
        // behaviour); the adapter never reloads a module for
        // ScriptReloading::Process.
        if meta.script_reloading == ScriptReloading::Process
            && script_changed(py, &worker.context, &meta.script, meta.script_mtime)
        {
            return None;
        }
        let transport = transport.take().expect("the transport is taken once");
        Some(adapter::handle_request(
            py,
            &shared.info,
            &meta,
            log_context,
            transport,
        ))
    })
    .unwrap_or_else(|e| {
        log::process_sink(
            Level::Error,
            &messages::format_line(&worker.context, messages::INTERPRETER_FAILED, &e),
        );
        let transport = transport
            .take()
            .expect("not run: the transport is still here");
        Some((Outcome::Failed, transport))
    });
    let Some((outcome, mut transport)) = ran else {
        shared.request_ended(worker.index, &meta.application_group);
        shared.begin_drain(&format!("the script '{}' changed", meta.script));
        let transport = transport.expect("not run: the transport is still here");
        refuse(transport.conn, transport.out);
        return None;
    };
    EndFrame::encode(&mut transport.out, outcome);
    let sent = transport.flush();
    *out = std::mem::take(&mut transport.out);
    if out.capacity() > KEPT_BUFFER {
        // A large response grew it: do not keep that much per thread.
        *out = Vec::with_capacity(KEPT_BUFFER);
    }
    shared.request_ended(worker.index, &meta.application_group);
    if !meta.ignore_activity {
        *lock(&shared.last_activity) = Instant::now();
    }
    let served = shared.served.fetch_add(1, Ordering::AcqRel) + 1;
    if served == 1 {
        // Tells the parent's restart back-off that this daemon ran.
        shared.heartbeat.served.store(1, Ordering::Relaxed);
    }
    if settings.maximum_requests > 0 && served >= settings.maximum_requests {
        shared.begin_drain(&format!(
            "maximum-requests ({}) reached",
            settings.maximum_requests
        ));
    }
    // A connection whose client went away mid-response may hold unread
    // frames; it is not reused.
    (sent.is_ok()
        && outcome != Outcome::ClientGone
        && !transport.read_failed
        && !transport.conn.has_buffered())
    .then_some(transport.conn)
}

/// A path under `root` as seen from inside it (`root` itself is "/").
fn inside_root<'p>(root: &str, path: &'p str) -> Option<&'p str> {
    let root = root.trim_end_matches('/');
    let rest = path.strip_prefix(root)?;
    (rest.starts_with('/') || rest.is_empty()).then_some(rest)
}

/// `chroot=`: the Apache child names the script by its path outside the
/// root; as mod_wsgi, the daemon takes it (and SCRIPT_FILENAME) relative to
/// the root, and DOCUMENT_ROOT too, dropped when it lies outside. A script
/// outside the root cannot be run.
fn enter_root(
    root: &str,
    meta: &mut wsgi::request::RequestMeta<'static>,
    variables: &mut wsgi::channel::CgiVariables,
) -> Result<(), String> {
    let script = match inside_root(root, &meta.script) {
        Some(inner) if !inner.is_empty() => inner.to_owned(),
        _ => {
            return Err(format!(
                "WSGI script '{}' is not located within chroot directory '{root}'; rejecting request.",
                meta.script
            ));
        }
    };
    variables.replace(b"SCRIPT_FILENAME", Some(script.as_bytes()));
    meta.script = Cow::Owned(script);
    let document_root = variables
        .get(b"DOCUMENT_ROOT")
        .map(|d| String::from_utf8_lossy(d).into_owned());
    if let Some(document_root) = document_root {
        match inside_root(root, &document_root) {
            Some(inner) => variables.replace(b"DOCUMENT_ROOT", Some(inner.as_bytes())),
            None => variables.replace(b"DOCUMENT_ROOT", None),
        }
    }
    Ok(())
}

/// Whether the loaded script needs reloading (loader::reload_required); a
/// `reload_required` hook that raised is logged with its traceback.
fn script_changed(py: Python<'_>, worker: &LogContext, script: &str, mtime: i64) -> bool {
    let check = loader::reload_required(py, script, mtime);
    if let Some(e) = check.hook_error {
        log::process_sink(
            Level::Error,
            &messages::format_line(
                worker.clone().with_script(script),
                messages::RELOAD_HOOK_FAILED,
                &format!("the script's reload_required() raised; the loaded script is kept: {e}"),
            ),
        );
        if let Some(traceback) = e.traceback(py).and_then(|t| t.format().ok()) {
            for line in traceback.lines() {
                log::process_sink(Level::Error, line);
            }
        }
    }
    check.required
}

/// Starts the group's worker threads, with `stack-size=` as their stack
/// when it is set (as mod_wsgi's `apr_threadattr_stacksize_set`; the system
/// rounds it up to its minimum and to whole pages), else the C library's
/// default as mod_wsgi's threads (and Apache's) get: Rust's own default,
/// 2 MiB, is a quarter of the usual 8 MiB, and deep recursion through C
/// extensions that runs under mod_wsgi overflowed it.
pub(super) fn spawn_workers(
    shared: &Arc<Shared>,
) -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
    let settings = &shared.group.settings;
    let stack = settings
        .stack_size
        .unwrap_or_else(unix::default_thread_stack_size);
    (0..settings.threads as usize)
        .map(|w| {
            let shared = shared.clone();
            std::thread::Builder::new()
                .stack_size(stack)
                .spawn(move || worker_loop(shared, w))
        })
        .collect()
}

fn worker_loop(shared: Arc<Shared>, index: usize) {
    let worker = Worker {
        shared: &shared,
        index,
        context: LogContext::group(&shared.group.settings.name)
            .with_daemon_pid(unix::getpid() as u32),
    };
    let mut out = Vec::with_capacity(KEPT_BUFFER);
    loop {
        let token = match shared.connections.wait_one() {
            Ok(Some(STOP)) | Err(_) => return,
            Ok(Some(token)) => token,
            Ok(None) => continue,
        };
        // Busy before the connection leaves the table: a draining accept
        // loop that sees no one busy finds every connection there.
        shared.busy.fetch_add(1, Ordering::SeqCst);
        let Some(conn) = shared.take(token) else {
            // The drain took it first.
            shared.worker_free();
            continue;
        };
        let fd = conn.stream.as_raw_fd();
        match serve_connection(&worker, conn, &mut out) {
            Some(conn) if !shared.draining.load(Ordering::Acquire) => {
                shared.table.put_back(token, conn);
                if shared.connections.rearm(fd, token).is_err() {
                    shared.discard(token);
                }
            }
            Some(conn) => {
                refuse(conn, Vec::new());
                shared.table.release(token);
            }
            None => shared.table.release(token),
        }
        shared.worker_free();
    }
}
