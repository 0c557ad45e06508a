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
use wsgi::python::{self, loader};
use wsgi::request::ScriptReloading;
use wsgi::sync::lock;

use super::channel_transport::ChannelTransport;
use super::conn::Conn;
use super::shared::{STOP, Shared};
use crate::apache::log;
use crate::unix;

/// Logs a channel protocol error; the connection is then dropped.
fn protocol_error(shared: &Shared, text: &str) -> Option<Conn> {
    log::process_sink(
        Level::Error,
        &messages::format_line(&shared.context, messages::DAEMON_PROTOCOL_ERROR, text),
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
        variables,
    } = loop {
        let greeted = conn.greeted;
        let (kind, payload) = match conn.read_frame() {
            Ok(frame) => frame,
            Err(_) => return None,
        };
        match kind {
            // This daemon's Hello went out when the connection was accepted.
            Kind::Hello if !greeted => match Hello::check_proof(payload, shared.group.secret) {
                Ok(pid) => {
                    conn.peer_pid = pid;
                    conn.greeted = true;
                }
                Err(HelloRefusal::Protocol(e)) => return protocol_error(shared, &e),
                Err(HelloRefusal::Unproven { missing, .. }) => {
                    return origin_unproven(shared, &conn, missing);
                }
            },
            Kind::Request if greeted => match RequestFrame::decode(payload) {
                Ok(request) => break request,
                Err(e) => return protocol_error(shared, &e),
            },
            other => {
                return protocol_error(
                    shared,
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
    let ran = python::attach(|py| {
        // Script reloading in daemon mode restarts the process, so that the
        // new code starts from a clean interpreter (mod_wsgi's behaviour);
        // the adapter never reloads a module for ScriptReloading::Process.
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
    });
    let Some((outcome, mut transport)) = ran else {
        shared.request_ended(worker.index);
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
    shared.request_ended(worker.index);
    *lock(&shared.last_activity) = Instant::now();
    let served = shared.served.fetch_add(1, Ordering::AcqRel) + 1;
    if settings.maximum_requests > 0 && served >= settings.maximum_requests {
        shared.begin_drain(&format!(
            "maximum-requests ({}) reached",
            settings.maximum_requests
        ));
    }
    // A connection whose client went away mid-response may hold unread
    // frames; it is not reused.
    (sent.is_ok() && outcome != Outcome::ClientGone && !transport.conn.has_buffered())
        .then_some(transport.conn)
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

pub(super) fn worker_loop(shared: Arc<Shared>, index: usize) {
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
