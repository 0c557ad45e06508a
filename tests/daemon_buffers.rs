//! The daemon channel's options of WSGIDaemonProcess, as mod_wsgi 6.1.1
//! gives them effect (wsgi_daemon.c, wsgi_remote.c), through a real
//! Apache: send-buffer-size and receive-buffer-size on the daemon's
//! sockets, header-buffer-size on the response head's lines,
//! response-buffer-size (forced flushes, seen through mod_deflate's sync
//! flush blocks), response-flush-delay (how long a pause in the response
//! is waited out before a flush) and response-socket-timeout (a client that
//! stops reading). Bad values fail configtest on their line.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;

const WAIT: Duration = Duration::from_secs(15);

/// Daemon groups (name, options), each with tests/apps/buffers.wsgi at
/// /NAME; the same script in embedded mode at /embedded.
fn start(mpm: Mpm, name: &str, groups: &[(&str, &str)], extra: &str) -> Server {
    let mut body = String::from("WSGISocketPrefix @STAGE@/run/wsgi\n");
    for (group, options) in groups {
        body.push_str(&format!(
            "WSGIDaemonProcess {group} threads=2 {options}\n\
             WSGIScriptAlias /{group} @STAGE@/apps/buffers.wsgi process-group={group}\n"
        ));
    }
    body.push_str("WSGIScriptAlias /embedded @STAGE@/apps/buffers.wsgi\n");
    body.push_str(extra);
    let mut config = Config::new(mpm, &body);
    config.preamble = format!(
        "LoadModule deflate_module {}/mod_deflate.so\n",
        apache_modules_dir().display()
    );
    Server::start(Stage::new(name), &config)
}

fn system_default(name: &str) -> u32 {
    std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// (kind, SO_SNDBUF, SO_RCVBUF) of the serving daemon's UNIX sockets.
fn daemon_sockets(server: &Server, group: &str) -> Vec<(String, u32, u32)> {
    get_ok(server, &format!("/{group}/sockets"))
        .text()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            (
                f[0].to_owned(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn buffer_sizes_are_set_on_the_daemons_listener_and_connections() {
    let server = start(
        Mpm::Event,
        "buffers-sizes",
        &[
            ("sized", "send-buffer-size=65536 receive-buffer-size=32768"),
            ("plain", ""),
        ],
        "",
    );
    // Linux doubles what setsockopt asks for (the bookkeeping overhead).
    let sized = daemon_sockets(&server, "sized");
    assert!(sized.iter().any(|(k, _, _)| k == "listener"), "{sized:?}");
    assert!(sized.iter().any(|(k, _, _)| k == "connection"), "{sized:?}");
    for (kind, send, receive) in &sized {
        assert_eq!((*send, *receive), (131072, 65536), "{kind}: {sized:?}");
    }
    // Without the options, the system's defaults, as mod_wsgi leaves them.
    let defaults = (
        system_default("wmem_default"),
        system_default("rmem_default"),
    );
    let plain = daemon_sockets(&server, "plain");
    assert!(plain.iter().any(|(k, _, _)| k == "connection"), "{plain:?}");
    for (kind, send, receive) in &plain {
        assert_eq!((*send, *receive), defaults, "{kind}: {plain:?}");
    }
}

#[test]
fn header_buffer_size_limits_each_response_header_line_from_a_daemon() {
    let server = start(
        Mpm::Event,
        "buffers-header",
        &[("small", "header-buffer-size=8192"), ("plain", "")],
        "",
    );
    // "X-Big: " and the value, plus CRLF, must fit in the buffer with a byte
    // to spare (mod_wsgi's wsgi_read_header_line): 7 + 8183 + 2 = 8192.
    let r = get_ok(&server, "/small/header?8183");
    assert_eq!(r.header("X-Big").map(str::len), Some(8183));
    let mark = server.log_mark();
    let r = server.get("/small/header?8184");
    assert_eq!(r.status, 500, "{}", r.text());
    let line = server.log_since(mark, ": WSGIRS0326: ", WAIT);
    assert!(
        line.contains("Response header line too long from daemon process 'small'")
            && line.contains("X-Big, 8191 bytes")
            && line.contains("header-buffer-size 8192"),
        "{line}"
    );
    // The default buffer is mod_wsgi's 32768.
    get_ok(&server, "/plain/header?8184");
    get_ok(&server, "/plain/header?32759");
    assert_eq!(server.get("/plain/header?32760").status, 500);
    // Embedded mode has no such limit, as in mod_wsgi.
    let r = get_ok(&server, "/embedded/header?40000");
    assert_eq!(r.header("X-Big").map(str::len), Some(40000));
    // The daemon serves on.
    get_ok(&server, "/small/header?10");
}

/// The gzip body of a DEFLATE-filtered 1 MB response of zeros and how many
/// sync flush blocks (`00 00 ff ff`, written for each flush that reaches
/// mod_deflate) it holds.
fn deflate_flushes(server: &Server, path: &str) -> usize {
    let r = server.request("GET", path, &[("Accept-Encoding", "gzip")], b"");
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert_eq!(
        r.header("Content-Encoding"),
        Some("gzip"),
        "{:?}",
        r.headers
    );
    assert!(r.complete && r.body.len() < 65536, "{}", r.body.len());
    r.body
        .windows(4)
        .filter(|w| w == &[0, 0, 0xff, 0xff])
        .count()
}

fn response_buffer_size_forces_a_flush_every_so_many_bytes(mpm: Mpm) {
    // A long flush delay on both, so that no pause adds a flush.
    let server = start(
        mpm,
        "buffers-response",
        &[
            (
                "small",
                "response-buffer-size=65536 response-flush-delay=3000",
            ),
            ("plain", "response-flush-delay=3000"),
        ],
        "<Location /small/zeros>\n  SetOutputFilter DEFLATE\n</Location>\n\
         <Location /plain/zeros>\n  SetOutputFilter DEFLATE\n</Location>\n",
    );
    // 16 blocks of 64 KB: a flush once more than 64 KB went by since the
    // last, so after every second block.
    assert_eq!(deflate_flushes(&server, "/small/zeros"), 8);
    // mod_wsgi's default, 8 MB, is never reached here.
    assert_eq!(deflate_flushes(&server, "/plain/zeros"), 0);
}

#[test]
fn response_buffer_size_forces_a_flush_every_so_many_bytes_event() {
    response_buffer_size_forces_a_flush_every_so_many_bytes(Mpm::Event);
}

#[test]
fn response_buffer_size_forces_a_flush_every_so_many_bytes_prefork() {
    response_buffer_size_forces_a_flush_every_so_many_bytes(Mpm::Prefork);
}

/// GETs /GROUP/held, whose first block is followed by a pause until the
/// test releases it: how long the first block took to reach the client.
fn first_block_after(server: &Server, group: &str) -> Duration {
    let mut s = server.connect();
    let started = Instant::now();
    s.write_all(&simple_request(
        "GET",
        &format!("/{group}/held?{group}"),
        false,
    ))
    .unwrap();
    let head = read_head(&mut s);
    assert_eq!(head.status, 200, "{}", server.error_log());
    assert_eq!(read_chunk(&mut s), vec![b'A'; 100]);
    let took = started.elapsed();
    std::fs::write(server.stage().path(&format!("run/release-{group}")), "").unwrap();
    assert_eq!(read_chunk(&mut s), vec![b'B'; 100]);
    assert_eq!(read_chunk(&mut s), b"");
    took
}

fn response_flush_delay_waits_out_a_pause_before_flushing(mpm: Mpm) {
    let server = start(
        mpm,
        "buffers-flush-delay",
        &[
            ("lingering", "response-flush-delay=3000"),
            ("eager", "response-flush-delay=0"),
        ],
        "",
    );
    // The application pauses (until released) after its first block: the
    // child waits 3 s for more before it flushes that block.
    let took = first_block_after(&server, "lingering");
    assert!(
        took >= Duration::from_millis(2900) && took < Duration::from_secs(10),
        "the first block came after {took:?}"
    );
    // 0: flushed as soon as the daemon pauses.
    let took = first_block_after(&server, "eager");
    assert!(
        took < Duration::from_millis(2500),
        "the first block came after {took:?}"
    );
}

#[test]
fn response_flush_delay_waits_out_a_pause_before_flushing_event() {
    response_flush_delay_waits_out_a_pause_before_flushing(Mpm::Event);
}

#[test]
fn response_flush_delay_waits_out_a_pause_before_flushing_prefork() {
    response_flush_delay_waits_out_a_pause_before_flushing(Mpm::Prefork);
}

/// GETs /GROUP/endless and stops reading after the head: the child's
/// writes block, and time out after the group's client write timeout.
fn client_that_stops_reading(server: &Server, group: &str) {
    let mark = server.log_mark();
    let mut s = server.connect();
    s.write_all(&simple_request(
        "GET",
        &format!("/{group}/endless?closed-{group}"),
        false,
    ))
    .unwrap();
    assert_eq!(read_head(&mut s).status, 200);
    let started = Instant::now();
    let line = server.log_since(mark, ": WSGIRS0327: ", WAIT);
    let took = started.elapsed();
    assert!(
        line.contains("Unable to proxy response to client (write timeout).")
            && line.contains(&format!("'{group}'")),
        "{line}"
    );
    // Apache's Timeout is 20 s: this was the group's 1 s.
    assert!(
        took < Duration::from_secs(12),
        "the timeout came after {took:?}"
    );
    // The daemon learns it from the closed connection and closes the iterable.
    let closed = wait_for_file(server, &format!("closed-{group}"), WAIT);
    assert!(closed.starts_with("closed after "), "{closed}");
    drop(s);
}

fn response_socket_timeout_ends_a_response_the_client_does_not_read(mpm: Mpm) {
    let server = start(
        mpm,
        "buffers-write-timeout",
        &[
            ("timed", "response-socket-timeout=1"),
            // Without response-socket-timeout, socket-timeout's value.
            ("fallback", "socket-timeout=1"),
        ],
        "",
    );
    client_that_stops_reading(&server, "timed");
    client_that_stops_reading(&server, "fallback");
    // The connection's own timeout is back for the next request.
    get_ok(&server, "/timed/header?10");
}

#[test]
fn response_socket_timeout_ends_a_response_the_client_does_not_read_event() {
    response_socket_timeout_ends_a_response_the_client_does_not_read(Mpm::Event);
}

#[test]
fn response_socket_timeout_ends_a_response_the_client_does_not_read_prefork() {
    response_socket_timeout_ends_a_response_the_client_does_not_read(Mpm::Prefork);
}

#[test]
fn bad_values_fail_configtest_on_their_line_with_mod_wsgis_words() {
    let stage = Stage::new("buffers-configtest");
    for (option, needle) in [
        (
            "send-buffer-size=511",
            "Send buffer size must be >= 512 bytes, or 0 for system default.",
        ),
        (
            "receive-buffer-size=100",
            "Receive buffer size must be >= 512 bytes, or 0 for system default.",
        ),
        (
            "header-buffer-size=4096",
            "Header buffer size must be >= 8192 bytes, or 0 for default.",
        ),
        (
            "response-buffer-size=65535",
            "Response buffer size must be >= 65536 bytes, or 0 for default.",
        ),
        (
            "response-socket-timeout=-1",
            "invalid value '-1' for response-socket-timeout",
        ),
        (
            "response-flush-delay=soon",
            "invalid value 'soon' for response-flush-delay",
        ),
    ] {
        let config = Config::new(Mpm::Event, &format!("WSGIDaemonProcess site {option}\n"));
        assert_configtest_fails(&stage, &config, "WSGIDaemonProcess", &[needle]);
    }
    // 0 is each size's default, as mod_wsgi-express writes them.
    config_test(
        &stage,
        &Config::new(
            Mpm::Event,
            "WSGIDaemonProcess site send-buffer-size=0 receive-buffer-size=0 \
             header-buffer-size=0 response-buffer-size=0 response-socket-timeout=0 \
             response-flush-delay=0\n",
        ),
    )
    .expect("mod_wsgi accepts the defaults");
}
