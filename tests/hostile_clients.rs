//! Issue 10, "hostile clients": clients that attack a server by the way
//! they use the connection, through a real Apache, in embedded and daemon
//! mode: slowloris headers, a client that stops reading a large response,
//! a client that resets mid-upload, and pipelined requests across a daemon
//! recycle (tests/hostile_idle.rs: thousands of idle keep-alive
//! connections). Each checks that
//! the attack is bounded by the configured timeout, that no worker or
//! daemon thread stays held, that other clients are served meanwhile, and
//! that nothing leaks. tests/apps/hostile.wsgi records what the
//! application saw in the stage's run/ directory.

mod common;
mod daemon_support;
mod hostile_support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use daemon_support::*;
use hostile_support::*;

// ---------------------------------------------------------------------------
// Slowloris: a request head trickled a byte at a time.

/// A client that sends a request line, then header bytes one a second,
/// until the server answers or closes (at most `limit`); returns how long
/// that took and what it got.
fn slowloris(port: u16, path: &str, limit: Duration) -> (Duration, String) {
    let began = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n").as_bytes())
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let header = b"X-Slow: a-header-value-that-never-ends-";
    let mut i = 0;
    while began.elapsed() < limit {
        if s.write_all(&header[i % header.len()..][..1]).is_err() {
            break;
        }
        i += 1;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.read_to_end(&mut got);
    (began.elapsed(), String::from_utf8_lossy(&got).into_owned())
}

/// Slowloris clients trickling their headers to both modes' URLs are cut
/// by the shipped mod_reqtimeout rules (apache-conf/slow-clients.conf,
/// header=20-40: Apache's Timeout alone never fires, since a byte arrives
/// every second) with 408; the module never sees them, so the daemon's one
/// thread and the embedded interpreter serve other clients all along.
fn slowloris_headers_are_cut_and_hold_no_daemon_thread(mpm: Mpm) {
    let conf = repo_dir().join("apache-conf/slow-clients.conf");
    let mut config = hostile_config(
        mpm,
        "processes=1 threads=1",
        &format!("Include {}\n", conf.display()),
    );
    config.preamble = format!(
        "LoadModule reqtimeout_module {}/mod_reqtimeout.so\n",
        apache_modules_dir().display()
    );
    let server = Server::start(Stage::new("hostile-slowloris"), &config);
    wait_for_daemons(&server, "site", 1);
    let port = server.port;
    // Fewer than the MPM's workers (8 under prefork here): the others
    // must stay free for everyone else.
    let clients: Vec<_> = ["/hd/upload?slowloris", "/he/upload?slowloris"]
        .into_iter()
        .cycle()
        .take(4)
        .map(|path| {
            std::thread::spawn(move || (path, slowloris(port, path, Duration::from_secs(60))))
        })
        .collect();
    let mut served = 0;
    while !clients.iter().all(|c| c.is_finished()) {
        for mode in ["hd", "he"] {
            let began = Instant::now();
            echo(&server, mode, &format!("meanwhile-{served}"));
            assert!(
                began.elapsed() < Duration::from_secs(5),
                "/{mode} took {:?} while slowloris clients were connected",
                began.elapsed()
            );
            served += 1;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for client in clients {
        let (path, (took, answer)) = client.join().unwrap();
        assert!(
            took >= Duration::from_secs(15) && took < Duration::from_secs(45),
            "{path}: cut after {took:?}: {answer}\n{}",
            server.error_log()
        );
        assert!(answer.starts_with("HTTP/1.1 408 "), "{path}: {answer}");
    }
    assert!(served >= 20, "only {served} requests served meanwhile");
    assert!(
        !has_record(&server, "started-slowloris"),
        "a slowloris request reached the application"
    );
    let log = server.error_log();
    assert!(
        log.contains("AH01382"),
        "no request header read timeout:\n{log}"
    );
    assert_no_crash(&log);
}

// ---------------------------------------------------------------------------
// A client that stops reading a large response.

/// 64 MiB: far more than the socket buffers between the application and
/// the client (loopback TCP grows its buffers to a few MB).
const BIG_BLOCKS: usize = 1024;

/// Asks for a large response and reads its head only; the connection is
/// then left open, unread.
fn stop_reading(server: &Server, mode: &str, name: &str) -> TcpStream {
    let mut s = server.connect();
    let path = format!("/{mode}/big?{BIG_BLOCKS}-{name}");
    s.write_all(&simple_request("GET", &path, false)).unwrap();
    let head = read_head(&mut s);
    assert_eq!(head.status, 200, "{}", server.error_log());
    s
}

/// Parses the "SENT of BLOCKS in PID" record of a big response.
fn sent_blocks(record: &str) -> (usize, i32) {
    let words: Vec<&str> = record.split(' ').collect();
    (words[0].parse().unwrap(), words[4].parse().unwrap())
}

/// Daemon mode: the Apache child's write to the stalled client times out
/// after `response-socket-timeout` (2 s here, Timeout is 8 s), logged once
/// (WSGIRS0327); the child closes the channel connection, so the daemon's
/// next write fails, the response iterable is closed and the group's only
/// thread serves the next request. Embedded mode: Apache's Timeout bounds
/// the blocked write the same way.
fn a_client_that_stops_reading_frees_the_thread(mpm: Mpm) {
    let mut config = hostile_config(mpm, "processes=1 threads=1 response-socket-timeout=2", "");
    config.timeout_seconds = 8;
    let server = Server::start(Stage::new("hostile-stop-reading"), &config);
    let daemon = wait_for_daemons(&server, "site", 1)[0];

    let mark = server.log_mark();
    let stalled = stop_reading(&server, "hd", "daemon");
    let began = Instant::now();
    let closed = record(&server, "closed-daemon", Duration::from_secs(15));
    let freed_after = began.elapsed();
    let (sent, pid) = sent_blocks(&closed);
    assert_eq!(pid, daemon, "{closed}");
    assert!(sent < BIG_BLOCKS, "the whole response went out: {closed}");
    assert!(
        freed_after >= Duration::from_millis(1500) && freed_after < Duration::from_secs(7),
        "the daemon thread was freed after {freed_after:?}, not response-socket-timeout (2 s)"
    );
    assert_eq!(echo(&server, "hd", "next"), daemon);
    let log = server.log_since(mark, ": WSGIRS0327: ", WAIT);
    assert_eq!(count(&log, "WSGIRS0327"), 1, "{log}");
    assert!(
        log.contains("Unable to proxy response to client (write timeout)."),
        "{log}"
    );
    assert_lines_well_formed(&log, "site");
    // The Apache thread let go of the connection too.
    wait_until(WAIT, "Apache to close the stalled connection", || {
        (established_to(server.port) == 0).then_some(())
    });
    drop(stalled);

    let mark = server.log_mark();
    let stalled = stop_reading(&server, "he", "embedded");
    let began = Instant::now();
    let closed = record(&server, "closed-embedded", Duration::from_secs(20));
    let freed_after = began.elapsed();
    let (sent, _) = sent_blocks(&closed);
    assert!(sent < BIG_BLOCKS, "the whole response went out: {closed}");
    assert!(
        freed_after >= Duration::from_secs(6) && freed_after < Duration::from_secs(16),
        "the embedded request ended after {freed_after:?}, not Timeout (8 s)"
    );
    echo(&server, "he", "next");
    wait_until(WAIT, "Apache to close the stalled connection", || {
        (established_to(server.port) == 0).then_some(())
    });
    drop(stalled);
    // Said once, as what happened: the client stopped reading (a write
    // timeout), not that it closed the connection.
    let log = server.log_since(mark, ": WSGIRS0345: ", WAIT);
    assert_eq!(count(&log, "WSGIRS0345"), 1, "{log}");
    assert_eq!(count(&log, "WSGIRS0210"), 0, "{log}");
    let line = module_line(&log, "WSGIRS0345", &script(&server, "hostile.wsgi"));
    assert!(
        line.contains("stopped reading the response") && line.contains("Timeout (8 s)"),
        "{line}"
    );
    assert_no_crash(&server.error_log());
}

// ---------------------------------------------------------------------------
// A client that resets the connection mid-upload.

/// Sends the head of a 10 MB upload and 256 KiB of it to `path`, waits
/// until the application is reading it (its `started-NAME` record), then
/// resets the connection.
fn reset_mid_upload(server: &Server, mode: &str, name: &str) {
    let mut s = server.connect();
    let head = raw_request(
        "POST",
        &format!("/{mode}/upload?{name}"),
        &[("Content-Length", b"10000000")],
        b"",
        false,
    );
    s.write_all(&head).unwrap();
    s.write_all(&noise(256 * 1024, 7)).unwrap();
    record(server, &format!("started-{name}"), WAIT);
    reset(s);
}

/// The application reading the body of a client that reset the connection
/// gets OSError; the daemon's only thread is free at once; after many such
/// resets the daemon holds no more descriptors than before (the child keeps
/// at most one pooled connection per Apache process).
fn a_reset_mid_upload_raises_oserror_and_leaks_nothing(mpm: Mpm) {
    let server = Server::start(
        Stage::new("hostile-reset"),
        &hostile_config(mpm, "processes=1 threads=1", ""),
    );
    let daemon = wait_for_daemons(&server, "site", 1)[0];
    echo(&server, "hd", "warm-up");
    let before = open_fds(daemon);
    for i in 0..12 {
        let name = format!("reset-daemon-{i}");
        reset_mid_upload(&server, "hd", &name);
        let outcome = record(&server, &format!("upload-{name}"), WAIT);
        assert!(outcome.starts_with("OSError after "), "{name}: {outcome}");
        assert_eq!(echo(&server, "hd", &format!("after-{i}")), daemon);
    }
    for i in 0..4 {
        let name = format!("reset-embedded-{i}");
        reset_mid_upload(&server, "he", &name);
        let outcome = record(&server, &format!("upload-{name}"), WAIT);
        assert!(outcome.starts_with("OSError after "), "{name}: {outcome}");
    }
    server.wait_until_no_connections();
    let children = apache_children(&server).len();
    let after = wait_until(WAIT, "the daemon's descriptors to settle", || {
        let now = open_fds(daemon);
        (now <= before + children).then_some(now)
    });
    eprintln!("daemon descriptors: {before} before, {after} after 12 resets");
    let log = server.error_log();
    assert_no_crash(&log);
    assert_lines_well_formed(&log, "site");
}

// ---------------------------------------------------------------------------
// Pipelined requests across a daemon recycle.

/// Twelve requests written at once on one keep-alive connection to
/// `mode`: GETs, POSTs whose bodies the application reads and POSTs whose
/// bodies it leaves unread (Apache must skip them to find the next
/// request); each must be answered, in order, with its own answer. Returns
/// the pids that served them.
fn pipelined(server: &Server, mode: &str) -> std::collections::BTreeSet<i32> {
    let n = 12;
    let mut out = Vec::new();
    for i in 0..n {
        let keep_alive = i < n - 1;
        let body = noise(1000 * i, i as u64);
        out.extend(match i % 3 {
            0 => raw_request("GET", &format!("/{mode}/echo?p{i}"), &[], b"", keep_alive),
            1 => raw_request(
                "POST",
                &format!("/{mode}/upload?{mode}-p{i}"),
                &[],
                &body,
                keep_alive,
            ),
            _ => raw_request(
                "POST",
                &format!("/{mode}/echo?p{i}"),
                &[],
                &body,
                keep_alive,
            ),
        });
    }
    let mut s = server.connect();
    s.write_all(&out).unwrap();
    let mut pids = std::collections::BTreeSet::new();
    for i in 0..n {
        let r = read_response(&mut s);
        assert_eq!(
            r.status,
            200,
            "request {i}: {}\n{}",
            r.text(),
            server.error_log()
        );
        let text = r.text();
        if i % 3 == 1 {
            assert_eq!(text, format!("read {}", 1000 * i), "request {i}");
            let started = record(server, &format!("started-{mode}-p{i}"), WAIT);
            pids.insert(started.parse::<i32>().unwrap());
        } else {
            let (query, pid) = text.rsplit_once(' ').unwrap();
            assert_eq!(query, format!("p{i}"), "answers out of order: {text}");
            pids.insert(pid.parse::<i32>().unwrap());
        }
    }
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(
        rest.is_empty(),
        "more than {n} answers: {:?}",
        String::from_utf8_lossy(&rest)
    );
    pids
}

/// Pipelined requests to a daemon group recycled every three requests
/// (the recycling daemon says Retry for a request it got and did not run,
/// which the child sends again, its body still unread from the client):
/// every one answered correctly and in order, by at least three daemons;
/// and the same requests in embedded mode.
fn pipelined_requests_survive_a_daemon_recycle(mpm: Mpm) {
    let server = Server::start(
        Stage::new("hostile-pipeline"),
        &hostile_config(mpm, "processes=1 threads=1 maximum-requests=3", ""),
    );
    wait_for_daemons(&server, "site", 1);
    let pids = pipelined(&server, "hd");
    assert!(pids.len() >= 3, "served by {pids:?}: no recycle happened");
    pipelined(&server, "he");
    let log = server.error_log();
    assert!(count(&log, "WSGIRS0311") >= 2, "{log}");
    assert_no_crash(&log);
    assert_lines_well_formed(&log, "site");
}

under_event_and_prefork!(
    slowloris_headers_are_cut_and_hold_no_daemon_thread,
    a_client_that_stops_reading_frees_the_thread,
    a_reset_mid_upload_raises_oserror_and_leaks_nothing,
    pipelined_requests_survive_a_daemon_recycle,
);
