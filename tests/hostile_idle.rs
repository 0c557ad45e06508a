//! Issue 10, "hostile clients": 10,000 concurrent idle keep-alive
//! connections under the event MPM, sized to this machine's descriptor
//! limit, through a real Apache in embedded and daemon mode.

mod common;
mod daemon_support;
mod hostile_support;

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use daemon_support::*;
use hostile_support::*;

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
