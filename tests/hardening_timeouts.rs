//! Issue 10, findings 3, 4 and 8: what bounds the time and memory a peer
//! can take from a daemon. A connection on a group's socket that sends
//! nothing, or part of a frame, is closed after socket-timeout (as
//! mod_wsgi's daemon thread gives up reading the request), so that it
//! frees its thread; a huge Content-Length with a short body costs no more
//! memory than the body; mod_reqtimeout (apache-conf/) bounds a slow body.

mod common;
mod daemon_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use daemon_support::*;

/// tests/apps/idle_channel_client.py as Apache's user (see
/// tests/daemon_secret.rs), started and past the daemon's Hello.
struct IdlePeer {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl IdlePeer {
    fn connect(server: &Server, socket: &std::path::Path, mode: &str, seconds: u64) -> IdlePeer {
        let client = server.stage().path("apps/idle_channel_client.py");
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "www-data", "--", "/usr/bin/python3"]);
            c
        } else {
            Command::new("/usr/bin/python3")
        };
        let mut child = command
            .arg(&client)
            .arg(socket)
            .args([mode, &seconds.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "accepted", "the daemon accepted the peer");
        IdlePeer { child, out }
    }

    /// The peer's last line: "closed after S" or "open after S".
    fn outcome(mut self) -> String {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        let _ = self.child.wait();
        line.trim().to_owned()
    }
}

impl Drop for IdlePeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn seconds_of(line: &str) -> f64 {
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// threads=1: a silent peer holds the only slot; without socket-timeout
/// applied, Apache's own request waits for connect-timeout and gets 503.
fn a_silent_peer_is_closed_after_socket_timeout(mpm: Mpm) {
    let server = start(
        mpm,
        "timeouts-silent",
        "processes=1 threads=1 socket-timeout=2 connect-timeout=30",
        "",
    );
    wait_for_daemons(&server, "site", 1);
    let socket = socket_path(&server, "site");
    let mark = server.log_mark();
    let peer = IdlePeer::connect(&server, &socket, "silent", 20);
    let began = Instant::now();
    let r = server.get("/app/pid");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert!(
        began.elapsed() < Duration::from_secs(12),
        "served only after {:?}",
        began.elapsed()
    );
    let outcome = peer.outcome();
    assert!(outcome.starts_with("closed after "), "{outcome}");
    assert!(seconds_of(&outcome) >= 1.5, "{outcome}");
    let log = server.log_since(mark, ": WSGIRS0216: ", WAIT);
    let line = log.lines().find(|l| l.contains(": WSGIRS0216: ")).unwrap();
    assert!(
        line.contains("sent nothing within socket-timeout (2 s)") && line.contains("site"),
        "{line}"
    );
    assert_lines_well_formed(&log, "site");
}

/// A partial frame: the worker that woke for it gives up after
/// socket-timeout instead of waiting for the rest for ever.
fn a_partial_frame_frees_its_thread_after_socket_timeout(mpm: Mpm) {
    let server = start(
        mpm,
        "timeouts-partial",
        "processes=1 threads=1 socket-timeout=2 connect-timeout=30",
        "",
    );
    wait_for_daemons(&server, "site", 1);
    let socket = socket_path(&server, "site");
    let mark = server.log_mark();
    let peer = IdlePeer::connect(&server, &socket, "partial", 20);
    let outcome = peer.outcome();
    assert!(outcome.starts_with("closed after "), "{outcome}");
    assert!(seconds_of(&outcome) >= 1.5, "{outcome}");
    let log = server.log_since(mark, ": WSGIRS0216: ", WAIT);
    assert!(
        log.contains("sent no complete frame within socket-timeout (2 s)"),
        "{log}"
    );
    let r = server.get("/app/pid");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
}

/// A connection that keeps sending requests is not cut by the expiry of
/// silent ones: only a connection that has sent no request is.
fn a_pooled_connection_outlives_socket_timeout(mpm: Mpm) {
    let server = start(
        mpm,
        "timeouts-pooled",
        "processes=1 threads=2 socket-timeout=1",
        "",
    );
    let first = get_pid(&server);
    let mark = server.log_mark();
    for _ in 0..2 {
        // Idle in the pool past socket-timeout: the state under test, not
        // a wait for something to happen.
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(get_pid(&server), first);
    }
    let since = server.error_log().get(mark..).unwrap_or("").to_owned();
    assert!(!since.contains("WSGIRS0216"), "{since}");
}

#[test]
fn a_silent_peer_is_closed_after_socket_timeout_event() {
    a_silent_peer_is_closed_after_socket_timeout(Mpm::Event);
}

#[test]
fn a_silent_peer_is_closed_after_socket_timeout_prefork() {
    a_silent_peer_is_closed_after_socket_timeout(Mpm::Prefork);
}

#[test]
fn a_partial_frame_frees_its_thread_after_socket_timeout_event() {
    a_partial_frame_frees_its_thread_after_socket_timeout(Mpm::Event);
}

#[test]
fn a_pooled_connection_outlives_socket_timeout_event() {
    a_pooled_connection_outlives_socket_timeout(Mpm::Event);
}

/// Sends a POST that claims `Content-Length: 1073741000` and carries 5
/// bytes, then ends its side of the connection; returns the answer.
fn huge_length_post(server: &Server, path: &str) -> String {
    use std::io::Write;
    let mut s = server.connect();
    let request = raw_request(
        "POST",
        path,
        &[("Content-Length", b"1073741000")],
        b"hello",
        false,
    );
    s.write_all(&request).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let r = read_response(&mut s);
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    r.text()
}

fn vm_peak_kb(answer: &str) -> u64 {
    answer
        .rsplit("vmpeak=")
        .next()
        .and_then(|kb| kb.parse().ok())
        .unwrap_or_else(|| panic!("no vmpeak in {answer:?}"))
}

/// Finding 4: `wsgi.input.read()` of a 1 GB Content-Length with a 5-byte
/// body gets the short-body OSError, not MemoryError, and the process
/// reserves nothing near the claimed size; the daemon runs under
/// `virtual-memory-limit=`, which the old up-front allocation broke.
fn a_huge_declared_length_costs_only_the_body(mpm: Mpm) {
    let huge = "@STAGE@/apps/huge_length.wsgi";
    let server = start(
        mpm,
        "timeouts-huge-length",
        "processes=1 threads=2 virtual-memory-limit=900000000",
        &format!(
            "WSGIScriptAlias /huge-daemon {huge} process-group=site\n\
             WSGIScriptAlias /huge-embedded {huge} process-group=%{{GLOBAL}}\n"
        ),
    );
    for path in ["/huge-daemon", "/huge-embedded"] {
        let answer = huge_length_post(&server, path);
        assert!(answer.starts_with("OSError "), "{path}: {answer}");
        assert!(
            vm_peak_kb(&answer) < 900_000,
            "{path}: the claimed length was reserved: {answer}"
        );
    }
    let log = server.error_log();
    assert!(!log.contains("MemoryError"), "{log}");
}

#[test]
fn a_huge_declared_length_costs_only_the_body_event() {
    a_huge_declared_length_costs_only_the_body(Mpm::Event);
}

#[test]
fn a_huge_declared_length_costs_only_the_body_prefork() {
    a_huge_declared_length_costs_only_the_body(Mpm::Prefork);
}

/// A client that sends its body one byte a second (the read timeout is its
/// pace) until the server answers or closes; returns how long that took
/// and what it got.
fn trickle_body(port: u16, path: &str) -> (Duration, String) {
    use std::io::{Read, Write};
    let began = Instant::now();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let head = raw_request("POST", path, &[("Content-Length", b"1000")], b"", false);
    s.write_all(&head).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while began.elapsed() < Duration::from_secs(90) {
        if s.write_all(b"x").is_err() {
            break;
        }
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.read_to_end(&mut got);
    (began.elapsed(), String::from_utf8_lossy(&got).into_owned())
}

/// Finding 8: apache-conf/slow-clients.conf, included as shipped, cuts
/// off clients that trickle their bodies after its body=20 rule, in both
/// modes: the application gets OSError and the daemon's two threads, both
/// held by trickling clients, serve again.
fn the_shipped_reqtimeout_rules_bound_a_slow_body(mpm: Mpm) {
    let slow = "@STAGE@/apps/slow_body.wsgi";
    let conf = repo_dir().join("apache-conf/slow-clients.conf");
    let mut config = config(
        mpm,
        "processes=1 threads=2",
        &format!(
            "Include {}\n\
             WSGIScriptAlias /slow-daemon {slow} process-group=site\n\
             WSGIScriptAlias /slow-embedded {slow} process-group=%{{GLOBAL}}\n",
            conf.display()
        ),
    );
    config.preamble = format!(
        "LoadModule reqtimeout_module {}/mod_reqtimeout.so\n",
        apache_modules_dir().display()
    );
    let server = Server::start(Stage::new("timeouts-reqtimeout"), &config);
    wait_for_daemons(&server, "site", 1);
    let port = server.port;
    let clients: Vec<_> = ["/slow-daemon", "/slow-daemon", "/slow-embedded"]
        .into_iter()
        .map(|path| std::thread::spawn(move || (path, trickle_body(port, path))))
        .collect();
    for client in clients {
        let (path, (took, answer)) = client.join().unwrap();
        assert!(
            took >= Duration::from_secs(15) && took < Duration::from_secs(60),
            "{path}: ended after {took:?}: {answer}\n{}",
            server.error_log()
        );
        assert!(answer.ends_with("\r\n\r\nOSError"), "{path}: {answer}");
    }
    let log = server.wait_for_log(": WSGIRS0212: ", WAIT);
    assert!(count(&log, "WSGIRS0212") >= 3, "{log}");
    let r = server.get("/app/pid");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
}

#[test]
fn the_shipped_reqtimeout_rules_bound_a_slow_body_event() {
    the_shipped_reqtimeout_rules_bound_a_slow_body(Mpm::Event);
}

#[test]
fn the_shipped_reqtimeout_rules_bound_a_slow_body_prefork() {
    the_shipped_reqtimeout_rules_bound_a_slow_body(Mpm::Prefork);
}

/// A body that stops: the daemon's read of it waits socket-timeout, not
/// Apache's Timeout (20 s in the harness), so with threads=1 another
/// request is served long before the stalled client's Apache thread gives
/// up.
fn a_stalled_body_frees_the_daemon_thread_after_socket_timeout(mpm: Mpm) {
    use std::io::Write;
    let server = start(
        mpm,
        "timeouts-stalled-body",
        "processes=1 threads=1 socket-timeout=2 connect-timeout=30",
        "WSGIScriptAlias /slow-daemon @STAGE@/apps/slow_body.wsgi process-group=site\n",
    );
    wait_for_daemons(&server, "site", 1);
    let mark = server.log_mark();
    let mut stalled = server.connect();
    let head = raw_request(
        "POST",
        "/slow-daemon",
        &[("Content-Length", b"100")],
        b"",
        false,
    );
    stalled.write_all(&head).unwrap();
    stalled.write_all(b"hello").unwrap();
    server.log_since(
        mark,
        "the Apache child sent no body within socket-timeout",
        WAIT,
    );
    let began = Instant::now();
    let r = server.get("/app/pid");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "served only after {:?}",
        began.elapsed()
    );
    // The stalled client's Apache thread still waits for its body (until
    // Timeout); by then the daemon has given up on it and closed the
    // connection, so the child answers 502 (WSGIRS0305), as for a daemon
    // that left while the body was being read.
    let r = read_response(&mut stalled);
    assert_eq!(r.status, 502, "{}", r.text());
    server.log_since(mark, "went away while reading the request body", WAIT);
}

#[test]
fn a_stalled_body_frees_the_daemon_thread_after_socket_timeout_event() {
    a_stalled_body_frees_the_daemon_thread_after_socket_timeout(Mpm::Event);
}
