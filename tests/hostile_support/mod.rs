//! Helpers shared by the hostile-client tests (tests/hostile_clients.rs,
//! tests/hostile_idle.rs): the hostile application in both modes, its
//! records, raw socket options, and counting descriptors and connections.

#![allow(dead_code)]

use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::Duration;

use crate::common::*;
use crate::daemon_support::config;

/// The hostile application, in daemon group `site` under /hd and embedded
/// under /he.
pub const ROUTES: &str = "WSGIScriptAlias /hd @STAGE@/apps/hostile.wsgi process-group=site\n\
                      WSGIScriptAlias /he @STAGE@/apps/hostile.wsgi process-group=%{GLOBAL}\n";

/// A daemon group `site` with `options`, the hostile application in both
/// modes and `extra`.
pub fn hostile_config(mpm: Mpm, options: &str, extra: &str) -> Config {
    config(mpm, options, &format!("{ROUTES}{extra}"))
}

/// The hostile application's `/echo?QUERY`, which must answer
/// "QUERY PID"; returns the pid.
pub fn echo(server: &Server, mode: &str, query: &str) -> i32 {
    let r = get_ok(server, &format!("/{mode}/echo?{query}"));
    let text = r.text();
    let (got, pid) = text.rsplit_once(' ').unwrap();
    assert_eq!(got, query, "{text}");
    pid.parse().unwrap()
}

/// The run/ record `name` the application writes, once complete.
pub fn record(server: &Server, name: &str, timeout: Duration) -> String {
    wait_for_file(server, name, timeout).trim().to_owned()
}

pub fn has_record(server: &Server, name: &str) -> bool {
    server.stage().path(&format!("run/{name}")).exists()
}

/// Sets an integer socket option on a test client's socket.
pub fn set_option(s: &TcpStream, level: i32, name: i32, value: &[u8]) {
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
pub fn reset(s: TcpStream) {
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
pub fn descriptors_of(pid: i32) -> (usize, usize) {
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
pub fn open_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The TCP connections established to `port` on the server side
/// (/proc/net/tcp, state 01).
pub fn established_to(port: u16) -> usize {
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
