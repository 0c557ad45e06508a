//! The Apache child's side of daemon mode: hands a request to a daemon of
//! its group over a pooled connection and relays what comes back to Apache.
//!
//! The child is a simple executor of the daemon's frames: `Read` asks for
//! request body, `Head`/`Data`/`File` build the response, `End` finishes it,
//! `Retry` means "send this request elsewhere".

use std::ffi::c_int;
use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use wsgi::adapter::Outcome;
use wsgi::channel::{
    EndFrame, Hello, Kind, Reader, RequestFrame, decode_head, overlong_line, push_frame,
};
use wsgi::messages::{self, Level};
use wsgi::request::RequestMeta;
use wsgi::sync::lock;

use super::GroupRuntime;
use super::conn::Conn;
use crate::apache::bindings::{self, apr_bucket_brigade};
use crate::apache::request::Request;
use crate::environ::{CgiOptions, visit_cgi_variables};
use crate::{response_end, unix};

/// Response bytes queued in the brigade beyond this are passed on (without
/// a flush: Apache writes what it can and sets the rest aside).
const QUEUED_LIMIT: usize = 256 * 1024;

/// A connection kept from an earlier request, used without a liveness
/// probe: if its daemon has gone since, writing the request to the UNIX
/// socket fails at once (EPIPE) and the request goes elsewhere; if it is
/// recycling, it said Retry on the connection before closing it, which the
/// relay reads before any response. Either way no request is run twice.
fn pooled(group: &GroupRuntime) -> Option<Conn> {
    lock(&group.idle).pop()
}

fn give_back(group: &GroupRuntime, conn: Conn) {
    lock(&group.idle).push(conn);
}

/// What the relay ended with.
enum Relay {
    /// The exchange is over with this handler status; the connection can be
    /// reused when `reusable`.
    Done(c_int, bool),
    /// The daemon did not run the request: send it again elsewhere.
    Retry,
}

/// Logs a line about the group (and its daemon `pid`, when known).
fn log_line(r: &Request, group: &GroupRuntime, pid: u32, id: &str, text: &str) {
    let mut context = group.context();
    if pid > 0 {
        context = context.with_daemon_pid(pid);
    }
    r.log(Level::Error, &messages::format_line(context, id, text));
}

/// Why a new connection could not be used.
enum Handshake {
    /// No daemon accepted it in time, or the daemon closed it at once.
    Unreachable(String),
    /// The daemon does not speak this module's protocol.
    Protocol(String),
    /// The daemon is recycling: it said Retry and closed the connection.
    Retry,
    /// The connection was closed or reset before the daemon's Hello: the
    /// daemon never read the request, which has not been sent yet.
    Closed(String),
}

/// How many times a request is tried again after its connection was closed
/// before the daemon's Hello. A graceful restart resets the connections
/// still waiting in the old socket's backlog when the last old daemon exits
/// (the soak found these as 503s); one more try reaches the new daemons.
/// Few, because a daemon that refuses this child (another uid) closes every
/// connection at once, and logs each.
const CLOSED_BEFORE_HELLO_TRIES: u32 = 3;

/// Greets the daemon on a new connection and waits for its Hello, which a
/// daemon sends as soon as it accepts the connection. Until then the
/// request is not sent: a daemon that does not accept within
/// connect-timeout (none running, or every one busy) has not seen it.
fn handshake(conn: &mut Conn, deadline: Instant, group: &GroupRuntime) -> Result<(), Handshake> {
    let mut out = Vec::new();
    Hello::encode_proving(&mut out, unix::getpid() as u32, &group.secret.bytes());
    // A daemon that begins recycling right after it accepted the connection
    // sends its Hello and a Retry, then closes: this write can then fail
    // with EPIPE while both frames wait to be read, so they are read first.
    let sent = conn.write_all(&out);
    let wait = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(10));
    conn.set_read_timeout(wait);
    match conn.read_frame() {
        Ok((Kind::Hello, payload)) => {
            conn.peer_pid = Hello::check(payload).map_err(Handshake::Protocol)?;
            conn.greeted = true;
            match sent {
                Ok(()) => Ok(()),
                Err(e) => match conn.read_frame() {
                    Ok((Kind::Retry, _)) => Err(Handshake::Retry),
                    _ => Err(Handshake::Unreachable(format!(
                        "the connection failed at once: {e}"
                    ))),
                },
            }
        }
        Ok((other, _)) => Err(Handshake::Protocol(format!(
            "unexpected {other:?} frame instead of the daemon's Hello"
        ))),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Err(Handshake::Unreachable(format!(
                "no daemon process of the group accepted the connection on '{}' within connect-timeout ({} s)",
                group.socket_path, group.settings.connect_timeout
            )))
        }
        Err(e) => Err(Handshake::Closed(format!(
            "the daemon process closed the connection at once ({e}); see its log lines"
        ))),
    }
}

/// A daemon said Retry (it is recycling and did not run the request):
/// None after a short pause to try again, or 503 once connect-timeout has
/// passed.
fn after_retry(r: &Request, group: &GroupRuntime, pid: u32, deadline: Instant) -> Option<c_int> {
    if Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
        return None;
    }
    log_line(
        r,
        group,
        pid,
        messages::DAEMON_CONNECT_FAILED,
        "every daemon process was restarting until connect-timeout passed",
    );
    Some(bindings::HTTP_SERVICE_UNAVAILABLE as c_int)
}

/// Serves `r` through a daemon of `group`, as the routing step planned it.
/// `sendfile` is `WSGIEnableSendfile`.
pub fn execute(
    mut r: Request,
    group: &GroupRuntime,
    meta: &RequestMeta<'_>,
    cgi: &CgiOptions,
    sendfile: bool,
) -> c_int {
    let queue_start = unix::monotonic_micros() as i64;
    let queue_start_wall = wsgi::request::wall_clock_micros();
    let deadline = Instant::now() + Duration::from_secs(group.settings.connect_timeout.max(1));
    let mut out = Vec::with_capacity(4096);
    let mut closed_before_hello = 0;
    loop {
        let (mut conn, fresh) = match pooled(group) {
            Some(conn) => (conn, false),
            None => match unix::connect(
                &group.socket_path,
                deadline.saturating_duration_since(Instant::now()),
            ) {
                Ok(stream) => (Conn::new(stream), true),
                Err(e) => {
                    log_line(
                        &r,
                        group,
                        0,
                        messages::DAEMON_CONNECT_FAILED,
                        &format!(
                            "no daemon process of the group answered on '{}' within connect-timeout ({} s): {e}",
                            group.socket_path, group.settings.connect_timeout
                        ),
                    );
                    return bindings::HTTP_SERVICE_UNAVAILABLE as c_int;
                }
            },
        };
        if fresh {
            match handshake(&mut conn, deadline, group) {
                Ok(()) => {}
                Err(Handshake::Retry) => match after_retry(&r, group, conn.peer_pid, deadline) {
                    None => continue,
                    Some(status) => return status,
                },
                Err(Handshake::Closed(_))
                    if closed_before_hello + 1 < CLOSED_BEFORE_HELLO_TRIES
                        && Instant::now() < deadline =>
                {
                    closed_before_hello += 1;
                    std::thread::sleep(Duration::from_millis(5 * closed_before_hello as u64));
                    continue;
                }
                Err(Handshake::Unreachable(text) | Handshake::Closed(text)) => {
                    log_line(
                        &r,
                        group,
                        conn.peer_pid,
                        messages::DAEMON_CONNECT_FAILED,
                        &text,
                    );
                    return bindings::HTTP_SERVICE_UNAVAILABLE as c_int;
                }
                Err(Handshake::Protocol(text)) => {
                    log_line(
                        &r,
                        group,
                        conn.peer_pid,
                        messages::DAEMON_PROTOCOL_ERROR,
                        &text,
                    );
                    return bindings::HTTP_BAD_GATEWAY as c_int;
                }
            }
        }
        out.clear();
        RequestFrame::encode(
            &mut out,
            meta,
            queue_start,
            queue_start_wall,
            &mut |visit| visit_cgi_variables(&r, cgi, visit),
        );
        if let Err(e) = conn.write_all(&out) {
            // The daemon did not get the whole request, so it cannot run it:
            // it closed the connection (a recycling daemon says Retry on
            // its connections, even one it just greeted, and closes them).
            if Instant::now() < deadline {
                if fresh {
                    std::thread::sleep(Duration::from_millis(5));
                }
                continue;
            }
            log_line(
                &r,
                group,
                conn.peer_pid,
                messages::DAEMON_GONE_BEFORE_HEADERS,
                &format!("the request could not be sent to the daemon: {e}"),
            );
            return bindings::HTTP_BAD_GATEWAY as c_int;
        }
        match relay(&mut r, group, &mut conn, sendfile) {
            Relay::Done(status, reusable) => {
                if reusable {
                    give_back(group, conn);
                }
                return status;
            }
            Relay::Retry => {
                if let Some(status) = after_retry(&r, group, conn.peer_pid, deadline) {
                    return status;
                }
            }
        }
    }
}

/// Logs why the relay gave up and ends it with `status`; the connection is
/// not reused.
fn give_up(
    r: &Request,
    group: &GroupRuntime,
    pid: u32,
    status: u32,
    id: &str,
    text: &str,
) -> Relay {
    log_line(r, group, pid, id, text);
    Relay::Done(status as c_int, false)
}

/// Cuts short a response whose head has gone out.
fn broken_end(r: &mut Request, brigade: *mut apr_bucket_brigade) -> Relay {
    let _ = r.pass_broken_end(brigade);
    Relay::Done(bindings::OK as c_int, false)
}

/// A response write to the client failed: the client went away, or (logged,
/// as mod_wsgi does) it stopped reading for the client write timeout.
/// Closing the connection to the daemon tells it, whose next write fails
/// and ends the response.
fn client_failed(r: &Request, group: &GroupRuntime, pid: u32, e: &io::Error) -> Relay {
    if e.kind() == io::ErrorKind::TimedOut {
        log_line(
            r,
            group,
            pid,
            messages::CLIENT_WRITE_TIMEOUT,
            "Unable to proxy response to client (write timeout).",
        );
    }
    Relay::Done(bindings::OK as c_int, false)
}

/// Reads the daemon's frames and carries them out until the response ends.
///
/// The body goes on as mod_wsgi 6.1's wsgi_transfer_response passes it:
/// blocks without a flush while the daemon keeps sending; a flush when it
/// pauses for longer than response-flush-delay (so a pacing filter such as
/// mod_ratelimit sees whole blocks, and a streamed response still reaches
/// the client), and after every response-buffer-size bytes. A frame already
/// buffered behind the last one means no pause, and costs no system call.
fn relay(r: &mut Request, group: &GroupRuntime, conn: &mut Conn, sendfile: bool) -> Relay {
    let brigade = r.new_brigade();
    let mut head_seen = false;
    let mut queued = 0usize;
    let mut since_flush = 0usize;
    let daemon_fd = conn.stream.as_raw_fd();
    // Restores the client socket's timeout when the relay ends.
    let mut _client_timeout = None;
    let header_wait = group.header_wait;
    conn.set_read_timeout(header_wait);
    let mut body = Vec::new();
    loop {
        let (kind, payload, more) = match conn.read_frame_and_more() {
            Ok(frame) => frame,
            Err(e) => {
                let pid = conn.peer_pid;
                // No retry here: the daemon may have started the request
                // before it died, and running it twice is worse than a 502.
                if head_seen {
                    log_line(
                        r,
                        group,
                        pid,
                        messages::DAEMON_GONE_AFTER_HEADERS,
                        &format!(
                            "the daemon stopped sending mid-response ({e}); the response was cut short"
                        ),
                    );
                    return broken_end(r, brigade);
                }
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) {
                    return give_up(
                        r,
                        group,
                        pid,
                        bindings::HTTP_GATEWAY_TIME_OUT,
                        messages::DAEMON_TIMEOUT,
                        &format!(
                            "no response headers from the daemon within {} s",
                            // Whole seconds as configured; the scaled
                            // request-timeout to a tenth.
                            match header_wait.subsec_millis() {
                                0 => header_wait.as_secs().to_string(),
                                _ => format!("{:.1}", header_wait.as_secs_f64()),
                            }
                        ),
                    );
                }
                return give_up(
                    r,
                    group,
                    pid,
                    bindings::HTTP_BAD_GATEWAY,
                    messages::DAEMON_GONE_BEFORE_HEADERS,
                    &format!(
                        "the daemon closed the connection before sending response headers ({e})"
                    ),
                );
            }
        };
        match kind {
            Kind::Hello => match Hello::check(payload) {
                Ok(pid) => {
                    conn.peer_pid = pid;
                    conn.greeted = true;
                }
                Err(e) => {
                    return give_up(
                        r,
                        group,
                        0,
                        bindings::HTTP_BAD_GATEWAY,
                        messages::DAEMON_PROTOCOL_ERROR,
                        &e,
                    );
                }
            },
            Kind::Retry if !head_seen => return Relay::Retry,
            Kind::Read => {
                let want = Reader::new(payload).u32().unwrap_or(0) as usize;
                body.resize(want.clamp(1, 1 << 20), 0);
                let mut reply = Vec::new();
                match r.read_body(&mut body) {
                    Ok(n) => push_frame(&mut reply, Kind::Body, &body[..n]),
                    Err(e) => push_frame(&mut reply, Kind::BodyError, e.to_string().as_bytes()),
                }
                if conn.write_all(&reply).is_err() {
                    return give_up(
                        r,
                        group,
                        conn.peer_pid,
                        bindings::HTTP_BAD_GATEWAY,
                        messages::DAEMON_GONE_BEFORE_HEADERS,
                        "the daemon went away while reading the request body",
                    );
                }
            }
            Kind::Head => match decode_head(payload) {
                Ok(head) => {
                    // The daemon runs applications, which can write on
                    // this connection what they like: its head gets the
                    // checks start_response makes, as mod_wsgi's child
                    // parses the daemon's header lines itself.
                    if let Err(text) = wsgi::validate::check_forwarded_head(
                        head.status,
                        &head.status_line,
                        &head.headers,
                    ) {
                        return give_up(
                            r,
                            group,
                            conn.peer_pid,
                            bindings::HTTP_INTERNAL_SERVER_ERROR,
                            messages::DAEMON_HEAD_INVALID,
                            &format!(
                                "Invalid response head from daemon process '{}': {text}.",
                                group.settings.name
                            ),
                        );
                    }
                    let buffer = group.settings.header_buffer();
                    if let Some(line) = overlong_line(&head, buffer) {
                        return give_up(
                            r,
                            group,
                            conn.peer_pid,
                            bindings::HTTP_INTERNAL_SERVER_ERROR,
                            messages::RESPONSE_HEADER_TOO_LONG,
                            &format!(
                                "Response header line too long from daemon process '{}' \
                                 ({}, {} bytes, does not fit header-buffer-size {buffer}).",
                                group.settings.name, line.name, line.length
                            ),
                        );
                    }
                    r.set_response_head(head.status, &head.status_line, &head.headers);
                    head_seen = true;
                    conn.set_read_timeout(group.read_timeout);
                    if let Some(timeout) = group.settings.client_write_timeout() {
                        _client_timeout = r.override_client_timeout(timeout);
                    }
                }
                Err(e) => {
                    return give_up(
                        r,
                        group,
                        conn.peer_pid,
                        bindings::HTTP_BAD_GATEWAY,
                        messages::DAEMON_PROTOCOL_ERROR,
                        &e,
                    );
                }
            },
            Kind::Data | Kind::DataFlush => {
                let delay = Duration::from_millis(group.settings.response_flush_delay);
                let paused = !more && !matches!(unix::wait_readable(daemon_fd, delay), Ok(true));
                since_flush += payload.len();
                let sent = if paused || since_flush > group.settings.response_buffer() {
                    since_flush = 0;
                    queued = 0;
                    r.pass_now(brigade, payload)
                } else if queued + payload.len() <= QUEUED_LIMIT {
                    queued += payload.len();
                    r.brigade_copy(brigade, payload)
                } else {
                    queued = 0;
                    r.pass_on(brigade, payload)
                };
                if let Err(e) = sent {
                    return client_failed(r, group, conn.peer_pid, &e);
                }
            }
            Kind::File => {
                let mut reader = Reader::new(payload);
                let (offset, len) = (reader.u64().unwrap_or(0), reader.u64().unwrap_or(0));
                let Some(file) = conn.take_fd() else {
                    return give_up(
                        r,
                        group,
                        conn.peer_pid,
                        bindings::HTTP_BAD_GATEWAY,
                        messages::DAEMON_PROTOCOL_ERROR,
                        "a File frame arrived without its descriptor",
                    );
                };
                queued = 0;
                since_flush = 0;
                // The file descriptor stays open until Apache has sent it (pass_file flushes).
                if let Err(e) = r.pass_file(brigade, file.as_raw_fd(), offset, len, sendfile) {
                    return client_failed(r, group, conn.peer_pid, &e);
                }
            }
            Kind::End => {
                let outcome = EndFrame::decode(payload);
                let reusable = outcome.is_ok() && !conn.has_buffered();
                let status =
                    response_end::finish(r, brigade, outcome.unwrap_or(Outcome::Truncated));
                return Relay::Done(status, reusable);
            }
            other => {
                let text = format!("unexpected {other:?} frame from the daemon");
                if head_seen {
                    log_line(
                        r,
                        group,
                        conn.peer_pid,
                        messages::DAEMON_PROTOCOL_ERROR,
                        &text,
                    );
                    return broken_end(r, brigade);
                }
                return give_up(
                    r,
                    group,
                    conn.peer_pid,
                    bindings::HTTP_BAD_GATEWAY,
                    messages::DAEMON_PROTOCOL_ERROR,
                    &text,
                );
            }
        }
    }
}
