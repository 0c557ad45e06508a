//! Issue 10, "hostile clients": clients that attack a server by the way
//! they use the connection, through a real Apache, in embedded and daemon
//! mode: slowloris headers, a client that stops reading a large response,
//! a client that resets mid-upload, pipelined requests across a daemon
//! recycle, and thousands of idle keep-alive connections. Each checks that
//! the attack is bounded by the configured timeout, that no worker or
//! daemon thread stays held, that other clients are served meanwhile, and
//! that nothing leaks. tests/apps/hostile.wsgi records what the
//! application saw in the stage's run/ directory.

mod common;
mod daemon_support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::*;
use daemon_support::*;

/// The hostile application, in daemon group `site` under /hd and embedded
/// under /he.
const ROUTES: &str = "WSGIScriptAlias /hd @STAGE@/apps/hostile.wsgi process-group=site\n\
                      WSGIScriptAlias /he @STAGE@/apps/hostile.wsgi process-group=%{GLOBAL}\n";

/// A daemon group `site` with `options`, the hostile application in both
/// modes and `extra`.
fn hostile_config(mpm: Mpm, options: &str, extra: &str) -> Config {
    config(mpm, options, &format!("{ROUTES}{extra}"))
}

/// The hostile application's `/echo?QUERY`, which must answer
/// "QUERY PID"; returns the pid.
fn echo(server: &Server, mode: &str, query: &str) -> i32 {
    let r = get_ok(server, &format!("/{mode}/echo?{query}"));
    let text = r.text();
    let (got, pid) = text.rsplit_once(' ').unwrap();
    assert_eq!(got, query, "{text}");
    pid.parse().unwrap()
}

/// The run/ record `name` the application writes, once complete.
fn record(server: &Server, name: &str, timeout: Duration) -> String {
    wait_for_file(server, name, timeout).trim().to_owned()
}

fn has_record(server: &Server, name: &str) -> bool {
    server.stage().path(&format!("run/{name}")).exists()
}

/// Sets an integer socket option on a test client's socket.
fn set_option(s: &TcpStream, level: i32, name: i32, value: &[u8]) {
    // SAFETY: a valid socket, and `value` points to value.len() readable bytes.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            level,
            name,
            value.as_ptr().cast(),
            value.len() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt: {}", std::io::Error::last_os_error());
}

/// Closes `s` with a TCP reset instead of a FIN (SO_LINGER with a zero
/// timeout), as a client that crashes or a middlebox that gives up does.
fn reset(s: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: libc::linger is plain data; viewed as its bytes.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&linger as *const libc::linger).cast::<u8>(),
            std::mem::size_of::<libc::linger>(),
        )
    };
    set_option(&s, libc::SOL_SOCKET, libc::SO_LINGER, bytes);
    drop(s);
}

/// The sockets and the other descriptors process `pid` has open.
fn descriptors_of(pid: i32) -> (usize, usize) {
    let links: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .map(|l| l.to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let sockets = links.iter().filter(|l| l.starts_with("socket:")).count();
    (sockets, links.len() - sockets)
}

/// The number of descriptors process `pid` has open.
fn open_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

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
    drop(stalled);

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
    drop(stalled);
    let log = server.error_log();
    assert_no_crash(&log);
    // Each stalled response is said once (WSGIRS0210 at most once for each).
    assert!(count(&log, "WSGIRS0210") <= 2, "{log}");
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

/// Ten requests written at once on one keep-alive connection, GETs and
/// POSTs with bodies, to a group recycled every three requests: each is
/// answered, in order, with its own body, and by at least three daemons.
fn pipelined_requests_survive_a_daemon_recycle(mpm: Mpm) {
    let server = Server::start(
        Stage::new("hostile-pipeline"),
        &hostile_config(mpm, "processes=1 threads=1 maximum-requests=3", ""),
    );
    wait_for_daemons(&server, "site", 1);
    let mut out = Vec::new();
    let n = 10;
    for i in 0..n {
        let last = i == n - 1;
        if i % 2 == 0 {
            out.extend(raw_request(
                "GET",
                &format!("/hd/echo?p{i}"),
                &[],
                b"",
                !last,
            ));
        } else {
            let body = noise(1000 * i, i as u64);
            out.extend(raw_request(
                "POST",
                &format!("/hd/upload?p{i}"),
                &[],
                &body,
                !last,
            ));
        }
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
        if i % 2 == 0 {
            let (query, pid) = text.rsplit_once(' ').unwrap();
            assert_eq!(query, format!("p{i}"), "answers out of order");
            pids.insert(pid.parse::<i32>().unwrap());
        } else {
            assert_eq!(text, format!("read {}", 1000 * i), "request {i}");
            let pid: i32 = record(&server, &format!("started-p{i}"), WAIT)
                .parse()
                .unwrap();
            pids.insert(pid);
        }
    }
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty(), "more than ten answers: {rest:?}");
    assert!(pids.len() >= 3, "served by {pids:?}: no recycle happened");
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

// ---------------------------------------------------------------------------
// Thousands of idle keep-alive connections (event MPM).

/// How many idle connections the test aims for (issue 10: 10,000).
const IDLE_TARGET: usize = 10_000;

/// Raises this process's descriptor limit to its hard limit (Apache,
/// started from here, inherits it) and returns how many idle connections
/// fit: the target, or fewer when the hard limit is too low, with room for
/// the test's own descriptors (each connection costs one here and one in
/// an Apache child).
fn idle_connections_that_fit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on this process with a valid struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    let fit = (limit.rlim_cur as usize)
        .saturating_sub(1000)
        .min(IDLE_TARGET);
    if fit < IDLE_TARGET {
        eprintln!(
            "RLIMIT_NOFILE's hard limit is {}: {fit} idle connections instead of {IDLE_TARGET}",
            limit.rlim_max
        );
    }
    fit
}

/// The TCP connections established to `port` on the server side
/// (/proc/net/tcp, state 01).
fn established_to(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1).and_then(|a| a.rsplit(':').next());
            local.and_then(|p| u16::from_str_radix(p, 16).ok()) == Some(port)
                && fields.get(3) == Some(&"01")
        })
        .count()
}

/// One keep-alive request on an open connection; the answer's pid.
fn echo_on(s: &mut TcpStream, mode: &str, query: &str) -> i32 {
    s.write_all(&simple_request(
        "GET",
        &format!("/{mode}/echo?{query}"),
        true,
    ))
    .unwrap();
    let r = read_response(s);
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let (got, pid) = text.rsplit_once(' ').unwrap();
    assert_eq!(got, query);
    pid.parse().unwrap()
}

/// Whether the server has closed `s` (readable with nothing to read).
fn closed_by_server(s: &TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let closed = match s.peek(&mut byte) {
        Ok(_) => true,
        Err(e) => e.kind() != ErrorKind::WouldBlock,
    };
    s.set_nonblocking(false).unwrap();
    closed
}

/// The event MPM keeps idle keep-alive connections in its listener thread,
/// not in worker threads: a process holds up to ThreadsPerChild +
/// AsyncRequestWorkerFactor × idle threads connections (here 25 + 200 × 25
/// = 5,025, four processes). 10,000 connections each make a request (one
/// in ten to the daemon) and stay open and idle; meanwhile new clients are
/// served at once in both modes, and the idle connections still serve a
/// request; once they close, Apache's children and the daemon hold no more
/// descriptors than before.
#[test]
fn ten_thousand_idle_keep_alive_connections_event() {
    let n = idle_connections_that_fit();
    let config = hostile_config(
        Mpm::Event,
        "processes=1 threads=4",
        "StartServers 4\nServerLimit 4\nThreadsPerChild 25\nMaxRequestWorkers 100\n\
         MinSpareThreads 25\nMaxSpareThreads 100\nAsyncRequestWorkerFactor 200\n\
         KeepAliveTimeout 300\nMaxKeepAliveRequests 0\nListenBacklog 4096\n",
    );
    let server = Server::start(Stage::new("hostile-idle"), &config);
    let daemon = wait_for_daemons(&server, "site", 1)[0];
    wait_until(WAIT, "four Apache children", || {
        (apache_children(&server).len() == 4).then_some(())
    });
    echo(&server, "hd", "warm-up");
    echo(&server, "he", "warm-up");
    // (sockets, other descriptors) of the children and the daemon.
    let descriptors = || {
        let mut pids = apache_children(&server);
        pids.push(daemon);
        pids.into_iter()
            .map(descriptors_of)
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    let before = descriptors();
    let port = server.port;
    let began = Instant::now();
    let openers: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                (0..n / 4)
                    .map(|i| {
                        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                        let mode = if i % 10 == 0 { "hd" } else { "he" };
                        echo_on(&mut s, mode, &format!("idle-{t}-{i}"));
                        s
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut idle: Vec<TcpStream> = openers
        .into_iter()
        .flat_map(|o| o.join().unwrap())
        .collect();
    eprintln!(
        "{} idle connections opened in {:?}",
        idle.len(),
        began.elapsed()
    );
    assert_eq!(idle.len(), n / 4 * 4);
    assert!(
        established_to(port) >= idle.len(),
        "{} server-side connections for {}",
        established_to(port),
        idle.len()
    );
    for mode in ["hd", "he"] {
        let began = Instant::now();
        echo(&server, mode, "while-idle");
        assert!(
            began.elapsed() < Duration::from_secs(5),
            "/{mode} took {:?} with {} idle connections",
            began.elapsed(),
            idle.len()
        );
    }
    let dropped = idle.iter().filter(|s| closed_by_server(s)).count();
    assert_eq!(dropped, 0, "the server closed {dropped} idle connections");
    let last = idle.len() - 1;
    echo_on(&mut idle[0], "he", "first-again");
    echo_on(&mut idle[last], "hd", "last-again");
    drop(idle);
    wait_until(Duration::from_secs(60), "every connection to close", || {
        (established_to(port) == 0).then_some(())
    });
    // The children's pooled connections to the daemon (each child keeps
    // one for each of its requests that ran at the same time: at most the
    // four openers, in each of the four children) and the daemon's ends of
    // them may outlast the requests; nothing else may.
    let after = wait_until(WAIT, "the descriptors to settle", || {
        let now = descriptors();
        (now.1 == before.1 && now.0 <= before.0 + 2 * 4 * 4).then_some(now)
    });
    eprintln!(
        "the children's and the daemon's sockets and other descriptors: {before:?} before, {after:?} after"
    );
    let log = server.error_log();
    assert_no_crash(&log);
    assert!(
        !log.contains("AH00484"),
        "MaxRequestWorkers reached:\n{log}"
    );
    assert_lines_well_formed(&log, "site");
}
