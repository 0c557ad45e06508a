//! Daemon mode through a real Apache: applications run in the daemon
//! processes of a `WSGIDaemonProcess` group (not in Apache's children), see
//! an environ that describes the daemon, read request bodies (plain and
//! chunked), stream responses, send files by passing the descriptor, and
//! fail the way they do in embedded mode. Also: the daemons' identity
//! (user=, group=), the sockets' owner, mode and peer check, 1 GiB each way
//! in bounded memory, configuration errors, WSGIRestrictEmbedded, and
//! graceful restart, restart and stop leaving no daemon or socket behind.
//! (Failures and recycling: tests/daemon_faults.rs.)

mod common;
mod daemon_support;
mod req_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use daemon_support::*;
use req_support::{chunked, crc32, exchange, pattern, raw_request};

const WAIT: Duration = Duration::from_secs(10);

/// One server for the behaviour tests: group `site` (2 processes of 4
/// threads) for everything, through `WSGIProcessGroup` or `process-group=`;
/// group `single` with mod_wsgi's defaults but one thread; /embedded stays
/// in Apache's children.
const BEHAVIOUR: &str = "\
WSGISocketPrefix @STAGE@/run/wsgi
WSGIDaemonProcess site processes=2 threads=4 display-name=%{GROUP}
WSGIDaemonProcess single threads=1 display-name=%{GROUP}
WSGIProcessGroup site
WSGIScriptAlias /app @STAGE@/apps/daemon_app.wsgi process-group=site
WSGIScriptAlias /single @STAGE@/apps/daemon_app.wsgi process-group=single
WSGIScriptAlias /embedded @STAGE@/apps/daemon_app.wsgi
WSGIScriptAlias /hello @STAGE@/apps/hello.wsgi
WSGIScriptAlias /env @STAGE@/apps/req_environ.wsgi
WSGIScriptAlias /input @STAGE@/apps/req_input.wsgi
WSGIScriptAlias /input-chunked @STAGE@/apps/req_input.wsgi
WSGIScriptAlias /resp @STAGE@/apps/resp_app.wsgi
WSGIScriptAlias /eo-on @STAGE@/apps/resp_app.wsgi
WSGIScriptAlias /errors @STAGE@/apps/resp_errors.wsgi
WSGIScriptAlias /files @STAGE@/apps/resp_files.wsgi
<Location /embedded>
  WSGIProcessGroup %{GLOBAL}
</Location>
<Location /input-chunked>
  WSGIChunkedRequest On
</Location>
<Location /eo-on>
  WSGIErrorOverride On
</Location>
";

fn behaviour(mpm: Mpm, name: &str) -> Server {
    Server::start(Stage::new(name), &Config::new(mpm, BEHAVIOUR))
}

fn get_on(s: &mut TcpStream, path: &str) -> Response {
    exchange(s, &raw_request("GET", path, &[], b"", true))
}

fn script(server: &Server, name: &str) -> String {
    server
        .stage
        .path(&format!("apps/{name}"))
        .display()
        .to_string()
}

/// The line with message `id` (after `mark`), which must name the module,
/// the daemon's group and pid, and `script`.
fn module_line(server: &Server, mark: usize, id: &str, script: &str) -> String {
    let log = server.log_since(mark, &format!(": {id}: "), WAIT);
    let line = log
        .lines()
        .find(|l| l.contains(&format!(": {id}: ")))
        .unwrap()
        .to_owned();
    assert!(line.contains("mod_wsgi_rs (pid="), "{line}");
    assert!(line.contains(&format!("script='{script}'")), "{line}");
    // mod_wsgi_rs (pid=N, group='site', daemon pid=N, script=...): the pid
    // is the daemon's.
    let pid = line
        .split("(pid=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    assert!(
        line.contains(&format!("group='site', daemon pid={pid}, script=")),
        "{line}"
    );
    line
}

fn requests_run_in_the_daemon_processes(mpm: Mpm) {
    let server = behaviour(mpm, "daemon-basics");
    let r = server.get("/hello");
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert_eq!(r.body, b"Hello World");

    // On one kept-alive connection (one Apache child): the embedded request
    // runs in that child, the daemon-mode one elsewhere.
    let mut s = server.connect();
    let embedded = facts(&get_on(&mut s, "/embedded/info"));
    let daemon = facts(&get_on(&mut s, "/app/info"));
    let child: i32 = embedded["pid"].parse().unwrap();
    let pid: i32 = daemon["pid"].parse().unwrap();
    assert_ne!(
        pid, child,
        "the daemon-mode request ran in the Apache child"
    );
    assert_eq!(
        daemon["ppid"],
        server.pid.to_string(),
        "daemons are children of Apache's parent"
    );
    assert_eq!(comm(pid), title("site"));
    assert!(wait_for_daemons(&server, "site", 2).contains(&pid));
    assert!(apache_children(&server).contains(&child));

    // The environ describes the daemon group.
    assert_eq!(daemon["process_group"], "site");
    assert_eq!(daemon["multiprocess"], "True");
    assert_eq!(daemon["multithread"], "True");
    assert_eq!(daemon["run_once"], "False");
    assert_eq!(embedded["process_group"], "");
    let single = facts(&get_on(&mut s, "/single/info"));
    assert_eq!(single["process_group"], "single");
    assert_eq!(
        single["multiprocess"], "False",
        "processes= not given: mod_wsgi says False"
    );
    assert_eq!(single["multithread"], "False");
    assert_eq!(comm(single["pid"].parse().unwrap()), title("single"));

    let env = req_support::Environ::parse(&server.get("/env/x?q=1"));
    env.assert_str("mod_wsgi.process_group", "site");
    assert_eq!(env.get("wsgi.multiprocess"), "True");
    assert_eq!(env.get("wsgi.multithread"), "True");
    env.assert_str("REQUEST_METHOD", "GET");
    env.assert_str("SCRIPT_NAME", "/env");
    env.assert_str("PATH_INFO", "/x");
    env.assert_str("QUERY_STRING", "q=1");
    assert_eq!(env.get("__is_dict__"), "True");
    assert_eq!(env.get("__nonstr__"), "[]");

    // The group has its two processes, and concurrent requests use both
    // (under event, where one Apache child runs the 8 requests at once: a
    // daemon takes no more connections than it has free threads). Prefork
    // starts its children one by one, so its concurrency here is smaller.
    wait_for_daemons(&server, "site", 2);
    wait_for_daemons(&server, "single", 1);
    let pids: Vec<i32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| server.get("/app/slow?0.5")))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let r = h.join().unwrap();
                assert_eq!(r.status, 200, "{}", r.text());
                r.text().rsplit(' ').next().unwrap().parse().unwrap()
            })
            .collect()
    });
    let mut distinct = pids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if mpm == Mpm::Event {
        assert_eq!(
            distinct.len(),
            2,
            "8 concurrent requests of 4 threads x 2 processes: {pids:?}"
        );
    }
    let log = server.error_log();
    assert_lines_well_formed(&log, "site");
    assert_no_crash(&log);
}

fn request_bodies_reach_the_application(mpm: Mpm) {
    let server = behaviour(mpm, "daemon-input");
    for size in [0, 1, 100_000, 3 << 20] {
        let body = pattern(size);
        let r = server.post("/input/read", &body);
        assert_eq!(r.status, 200, "{}", server.error_log());
        assert_eq!(
            r.text(),
            format!(
                "len={size} crc={:08x} after=[b'', b'', b'', [], b'']",
                crc32(&body)
            )
        );
    }
    let body = pattern(1 << 20);
    let r = server.post("/input/chunks?7000", &body);
    assert!(
        r.text()
            .starts_with(&format!("len={} crc={:08x} ", body.len(), crc32(&body))),
        "{}",
        r.text()
    );
    let r = server.post(
        "/input/ops",
        b"line one\nline two is longer\nshort\nrest without newline",
    );
    assert_eq!(
        r.text(),
        "b''\nb'line one\\n'\nb'line '\nb'two is longer\\n'\nb'sho'\nb'rt\\n'\nb'rest without newline'\nb''\nb''\nb''\n[]"
    );
    let r = server.post("/input/readlines", b"a\nb\n\nc");
    assert_eq!(r.text(), r"[b'a\n', b'b\n', b'\n', b'c']");

    // Chunked request bodies, with WSGIChunkedRequest On.
    let body = pattern(300_000);
    let r = server.raw(&raw_request(
        "POST",
        "/input-chunked/chunks?65536",
        &[("Transfer-Encoding", b"chunked")],
        &chunked(&body, &[1, 10, 5000, 100_000]),
        false,
    ));
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert!(
        r.text()
            .starts_with(&format!("len=300000 crc={:08x} ", crc32(&body))),
        "{}",
        r.text()
    );
    // Without it, a chunked body is refused as in embedded mode.
    let r = server.raw(&raw_request(
        "POST",
        "/input/read",
        &[("Transfer-Encoding", b"chunked")],
        &chunked(b"abc", &[]),
        false,
    ));
    assert_eq!(r.status, 411, "{}", r.text());

    // A body the application does not read, then another request on the
    // same connection: the rest of the body does not leak into it.
    let mut s = server.connect();
    let r = exchange(
        &mut s,
        &raw_request("POST", "/input/ignore", &[], &pattern(500_000), true),
    );
    assert_eq!(r.text(), "ignored");
    let r = exchange(
        &mut s,
        &raw_request("POST", "/input/read", &[], b"after", true),
    );
    assert_eq!(r.status, 200);
    assert!(r.text().starts_with("len=5 "), "{}", r.text());

    // Several requests with bodies on one kept-alive connection.
    let mut s = server.connect();
    for i in 0..5 {
        let body = pattern(1000 * i + 1);
        let r = exchange(
            &mut s,
            &raw_request("POST", "/input/read", &[], &body, true),
        );
        assert_eq!(
            r.text(),
            format!(
                "len={} crc={:08x} after=[b'', b'', b'', [], b'']",
                body.len(),
                crc32(&body)
            )
        );
    }
    assert_no_crash(&server.error_log());
}

fn read_line(s: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        assert_eq!(
            s.read(&mut byte).expect("read"),
            1,
            "connection closed mid-line after {line:?}"
        );
        if byte[0] == b'\n' {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return String::from_utf8_lossy(&line).into_owned();
        }
        line.push(byte[0]);
    }
}

fn read_chunk(s: &mut TcpStream) -> Vec<u8> {
    let size = usize::from_str_radix(read_line(s).trim(), 16).unwrap();
    let mut data = vec![0; size];
    s.read_exact(&mut data).unwrap();
    assert_eq!(read_line(s), "");
    data
}

/// Deterministic bytes with no short period.
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn responses_stream_and_files_are_passed(mpm: Mpm) {
    let server = behaviour(mpm, "daemon-output");

    // A generator's chunks arrive one by one: the first while the
    // application waits for the test to see it.
    let mut s = server.connect();
    s.write_all(
        b"GET /resp/stream?stream-flag HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let status = read_line(&mut s);
    assert!(status.contains(" 200 "), "{status}");
    while !read_line(&mut s).is_empty() {}
    assert_eq!(read_chunk(&mut s), b"first;");
    std::fs::write(server.stage.path("run/stream-flag"), "").unwrap();
    assert_eq!(read_chunk(&mut s), b"flag-seen");
    assert_eq!(read_chunk(&mut s), b"", "final chunk");

    // Big responses, from a list and from a generator.
    for (path, n) in [
        ("/resp/big?10485760", 10 << 20),
        ("/resp/big-generator?10485760", 10 << 20),
    ] {
        let r = server.get(path);
        assert!(r.complete, "{path}");
        assert!(
            r.body == (0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
            "{path}: the body differs"
        );
    }
    let r = server.get("/resp/many-chunks");
    let expected: String = (0..10000).map(|i| format!("{i:05}\n")).collect();
    assert!(r.complete && r.body == expected.as_bytes());

    // wsgi.file_wrapper: the file's descriptor goes to the Apache child,
    // which sends it; the daemon neither reads nor writes the file's bytes.
    let large = noise(20 << 20);
    std::fs::create_dir_all(server.stage.path("data")).unwrap();
    std::fs::write(server.stage.path("data/large.bin"), &large).unwrap();
    std::fs::write(server.stage.path("data/small.bin"), &large[..100_000]).unwrap();
    server.stage.make_readable();
    let pids = wait_for_daemons(&server, "site", 2);
    let before: Vec<(u64, u64)> = pids
        .iter()
        .map(|p| (io_counter(*p, "rchar"), io_counter(*p, "wchar")))
        .collect();
    for path in ["/files/length?large.bin", "/files/chunked?large.bin"] {
        let r = server.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.complete, "{path}");
        assert!(r.body == large, "{path}: the file arrived changed");
    }
    let r = server.get("/files/offset-chunked?large.bin");
    assert!(r.body[..] == large[1000..], "offset");
    for (pid, (rchar, wchar)) in pids.iter().zip(before) {
        let read = io_counter(*pid, "rchar") - rchar;
        let written = io_counter(*pid, "wchar") - wchar;
        assert!(
            read < 2 << 20 && written < 2 << 20,
            "daemon {pid} copied the file: read {read}, wrote {written} bytes"
        );
    }
    // A short Content-Length limits the file; the connection stays usable.
    let mut s = server.connect();
    let r = get_on(&mut s, "/files/short-length?large.bin");
    assert_eq!(r.body, large[..5000]);
    let r = get_on(&mut s, "/files/length?small.bin");
    assert!(r.body == large[..100_000]);
    // Other file-likes are iterated.
    let r = server.get("/files/bytesio?8192");
    assert!(r.body == large[..100_000]);
    let _ = std::fs::remove_file(server.stage.path("data/large.bin"));

    // Content-Length: never more than declared; fewer cuts the response short.
    let app = script(&server, "resp_app.wsgi");
    let mut s = server.connect();
    let mark = server.log_mark();
    let r = get_on(&mut s, "/resp/too-long-generator");
    assert_eq!(r.body, b"0123456789");
    assert!(r.complete);
    let r = get_on(&mut s, "/resp/head");
    assert_eq!(
        r.body, b"a body that HEAD must not send",
        "the excess leaked into the connection"
    );
    module_line(&server, mark, "WSGIRS0208", &app);
    let mark = server.log_mark();
    let r = server.get("/resp/too-short-generator");
    assert_eq!(r.header("Content-Length"), Some("20"));
    assert_eq!(r.body, b"only ten b");
    assert!(!r.complete, "a short response must not look complete");
    module_line(&server, mark, "WSGIRS0209", &app);

    // HEAD: headers only.
    let mut s = server.connect();
    s.write_all(b"HEAD /resp/big?10485760 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let r = read_head_response(&mut s);
    assert_eq!(r.status, 200);
    let r = get_on(&mut s, "/resp/head");
    assert_eq!(r.body, b"a body that HEAD must not send");
    assert_no_crash(&server.error_log());
}

fn application_errors_are_reported_as_in_embedded_mode(mpm: Mpm) {
    let server = behaviour(mpm, "daemon-errors");
    let resp = script(&server, "resp_app.wsgi");
    let errors = script(&server, "resp_errors.wsgi");

    for (path, reason) in [
        ("/resp/twice", "start_response() was already called"),
        ("/resp/status-letters", "invalid status 'abc OK'"),
    ] {
        let mark = server.log_mark();
        let r = server.get(path);
        assert_eq!(r.status, 500, "{path}: {}", r.text());
        assert!(!r.text().contains("must not be sent"));
        assert!(server.log_since(mark, reason, WAIT).contains("WSGIRS0205"));
        module_line(&server, mark, "WSGIRS0203", &resp);
    }
    let mark = server.log_mark();
    let r = server.get("/errors/raise-before-start");
    assert_eq!(r.status, 500);
    assert!(!r.text().contains("SECRET"));
    let log = server.log_since(mark, "Traceback (most recent call last):", WAIT);
    assert!(log.contains(&format!("File \"{errors}\", line ")), "{log}");
    let line = module_line(&server, mark, "WSGIRS0203", &errors);
    assert!(line.contains("[client 127.0.0.1:"), "{line}");

    // An exception after the headers went out: cut short.
    let mark = server.log_mark();
    let r = server.get("/resp/exc-info-after");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"partial body;");
    assert!(!r.complete, "a broken response must not look complete");
    module_line(&server, mark, "WSGIRS0204", &resp);

    // close() exactly once, on success and on an exception.
    let r = server.get("/errors/close-ok?ok");
    assert_eq!(r.body, b"one;two;");
    let r = server.get("/errors/close-raise?raise");
    assert_eq!(r.body, b"one;");
    assert!(!r.complete);
    // Another request, so that the ones above have finished.
    assert_eq!(server.get("/errors/ok").body, b"ok");
    assert_eq!(
        wait_for_file(&server, "close-ok", WAIT),
        "closed after 2 chunks\n"
    );
    assert_eq!(
        wait_for_file(&server, "close-raise", WAIT),
        "closed after 1 chunks\n"
    );
    // The client going away mid-response: the Apache child drops its
    // connection to the daemon, whose next write fails; close() once.
    let mut s = server.connect();
    s.write_all(b"GET /errors/close-disconnect?gone HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut first = vec![0u8; 256 * 1024];
    s.read_exact(&mut first).unwrap();
    drop(s);
    let closed = wait_for_file(&server, "close-gone", Duration::from_secs(20));
    assert_eq!(closed.lines().count(), 1, "{closed}");
    assert!(
        !closed.contains("after 2000 chunks"),
        "streamed to the end: {closed}"
    );
    assert_eq!(server.get("/errors/ok").body, b"ok");

    // WSGIErrorOverride: Apache's error page for the application's error status.
    let r = server.get("/eo-on/not-found");
    assert_eq!(r.status, 404);
    assert!(
        r.text().contains("<title>404 Not Found</title>"),
        "{}",
        r.text()
    );
    let r = server.get("/resp/not-found");
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"the application's own 404 body");

    // The daemons survived all of it.
    assert_eq!(
        count(&server.error_log(), "WSGIRS0302"),
        0,
        "{}",
        server.error_log()
    );
    let log = server.error_log();
    assert_lines_well_formed(&log, "site");
    assert_no_crash(&log);
}

fn uid_of(user: &str) -> u32 {
    let out = std::process::Command::new("id")
        .args(["-u", user])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Runs tests/apps/daemon_client.py as `user` against `socket`; returns
/// the line it printed.
fn client_as(server: &Server, user: &str, socket: &std::path::Path) -> String {
    let client = server.stage.path("apps/daemon_client.py");
    let app = script(server, "daemon_app.wsgi");
    let out = std::process::Command::new("runuser")
        .args(["-u", user, "--", "/usr/bin/python3"])
        .arg(&client)
        .arg(socket)
        .args([app.as_str(), "/app", "/pid"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn daemons_take_their_identity_and_guard_their_socket(mpm: Mpm) {
    if !is_root() {
        eprintln!("skipped: needs root to switch users");
        return;
    }
    let nobody = uid_of("nobody");
    let www_data = uid_of("www-data");
    let server = Server::start(
        Stage::new("daemon-security"),
        &Config::new(
            mpm,
            "WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess site display-name=%{GROUP} user=nobody group=nogroup threads=2\n\
             WSGIDaemonProcess other display-name=%{GROUP} socket-user=nobody threads=1\n\
             WSGIScriptAlias /app @STAGE@/apps/daemon_app.wsgi process-group=site\n\
             WSGIScriptAlias /other @STAGE@/apps/daemon_app.wsgi process-group=other\n",
        ),
    );
    // user= and group= are the daemon's, with no other groups.
    let info = facts(&server.get("/app/info"));
    let pid: i32 = info["pid"].parse().unwrap();
    for key in ["uid", "euid", "gid", "egid"] {
        assert_eq!(info[key], nobody.to_string(), "{key}: {info:?}");
    }
    assert_eq!(info["groups"], format!("[{nobody}]"));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uids.split_whitespace().skip(1).collect::<Vec<_>>(),
        vec![nobody.to_string(); 4],
        "{uids}"
    );
    // Without user=, Apache's User.
    let other_pid = wait_for_daemons(&server, "other", 1)[0];
    assert_eq!(status_uid(other_pid), www_data);

    // The sockets: mode 0600, owned by Apache's User, or by socket-user=.
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let site = socket_path(&server, "site");
    let other = socket_path(&server, "other");
    assert_eq!(socket_files(&server), {
        let mut v = vec![site.clone(), other.clone()];
        v.sort();
        v
    });
    let meta = std::fs::metadata(&site).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.uid(), www_data);
    let meta = std::fs::metadata(&other).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.uid(), nobody);

    // The listening sockets are the daemons' alone: Apache's children, where
    // embedded code may run, do not hold them.
    for (path, group) in [(&site, "site"), (&other, "other")] {
        let inode = socket_inode(path).unwrap_or_else(|| panic!("{path:?} not in /proc/net/unix"));
        for pid in daemon_pids(&server, group) {
            assert!(holds_socket(pid, inode), "daemon {pid} of {group}");
        }
        for pid in apache_children(&server) {
            assert!(
                !holds_socket(pid, inode),
                "Apache child {pid} holds {group}'s socket"
            );
        }
    }
    for pid in daemon_pids(&server, "site") {
        let inode = socket_inode(&other).unwrap();
        assert!(
            !holds_socket(pid, inode),
            "a daemon of site holds other's socket"
        );
    }

    // Apache's User speaks the protocol with its daemons; another user
    // cannot even connect.
    let line = client_as(&server, "www-data", &site);
    assert_eq!(line, format!("hello pid={pid} status=200 body={pid}"));
    assert_eq!(
        client_as(&server, "nobody", &site),
        "refused: PermissionError"
    );
    // Root can connect to any socket: the daemon checks the peer's uid
    // (SO_PEERCRED) and closes the connection without a word.
    let mark = server.log_mark();
    let mut s = std::os::unix::net::UnixStream::connect(&site).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let _ = s.write_all(b"\x01\x10\x00\x00\x00");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(buf.is_empty(), "the daemon answered root: {buf:?}");
    let log = server.log_since(mark, ": WSGIRS0313: ", WAIT);
    let line = log.lines().find(|l| l.contains(": WSGIRS0313: ")).unwrap();
    assert!(
        line.contains("uid 0") && line.contains(&format!("only uid {www_data}")),
        "{line}"
    );
    assert!(
        line.contains(&format!("daemon pid={pid}")) && line.contains("group='site'"),
        "{line}"
    );

    // socket-user= lets that user in, and keeps Apache's children out.
    let other_line = client_as(&server, "nobody", &other);
    assert_eq!(
        other_line,
        format!("hello pid={other_pid} status=200 body={other_pid}")
    );
    assert_eq!(
        client_as(&server, "www-data", &other),
        "refused: PermissionError"
    );
    let mark = server.log_mark();
    assert_eq!(server.get("/other/pid").status, 503);
    server.log_since(mark, ": WSGIRS0304: ", WAIT);
    assert_lines_well_formed(&server.error_log(), "site");
}

fn status_uid(pid: i32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    uids.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Reads a response's head and returns its status and Content-Length.
fn read_head_only(s: &mut TcpStream) -> (u16, Option<u64>) {
    let status = read_line(s);
    let code = status.split(' ').nth(1).unwrap().parse().unwrap();
    let mut length = None;
    loop {
        let line = read_line(s);
        if line.is_empty() {
            return (code, length);
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().ok();
        }
    }
}

/// The largest resident memory (kB) seen in the daemons and in Apache's
/// children while a transfer ran, and how many rounds of samples were taken.
#[derive(Debug, Default)]
struct Peaks {
    daemon: u64,
    child: u64,
    rounds: u32,
}

/// Samples the resident memory of every process under the server until `done`.
fn sample_rss(server: &Server, done: &std::sync::atomic::AtomicBool) -> Peaks {
    let mut peaks = Peaks::default();
    let daemon_title = title("site");
    while !done.load(std::sync::atomic::Ordering::Relaxed) {
        let (mut daemons, mut children) = (0, 0);
        for pid in children_of(server.pid) {
            let Some(kb) = status_kb(pid, "VmRSS") else {
                continue;
            };
            if comm(pid) == daemon_title {
                peaks.daemon = peaks.daemon.max(kb);
                daemons += 1;
            } else {
                peaks.child = peaks.child.max(kb);
                children += 1;
            }
        }
        if daemons > 0 && children > 0 {
            peaks.rounds += 1;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    peaks
}

fn check_peaks(peaks: &Peaks, what: &str) {
    assert!(peaks.rounds >= 3, "{what}: too few samples: {peaks:?}");
    assert!(
        peaks.daemon < RSS_LIMIT_KB && peaks.child < RSS_LIMIT_KB,
        "{what}: {peaks:?} (kB)"
    );
}

const GIB: u64 = 1 << 30;
const RSS_LIMIT_KB: u64 = 200 * 1024;

fn a_gigabyte_each_way_in_bounded_memory(mpm: Mpm) {
    let server = start(mpm, "daemon-size", "processes=1 threads=2", "");
    let blocks = GIB / BLOCK as u64;
    let base = base_block();
    let mut block = vec![0u8; BLOCK];
    let done = std::sync::atomic::AtomicBool::new(false);

    // Upload: generated on the fly, checked by the application as it reads.
    let started = Instant::now();
    let (response, peak) = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| sample_rss(&server, &done));
        let mut s = server.connect();
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        s.write_all(format!("POST /app/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {GIB}\r\n\r\n").as_bytes())
            .unwrap();
        for i in 0..blocks {
            fill_block(&base, i, &mut block);
            s.write_all(&block).unwrap();
        }
        let r = read_response(&mut s);
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        (r, sampler.join().unwrap())
    });
    let upload = started.elapsed();
    assert_eq!(response.status, 200, "{}", server.error_log());
    assert_eq!(response.text(), format!("{GIB} ok"));
    check_peaks(&peak, "upload");
    let upload_peak = peak;

    // Download: generated by the application, checked here block by block.
    done.store(false, std::sync::atomic::Ordering::Relaxed);
    let started = Instant::now();
    let peak = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| sample_rss(&server, &done));
        let mut s = server.connect();
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        s.write_all(format!("GET /app/download?{blocks} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes())
            .unwrap();
        let (status, length) = read_head_only(&mut s);
        assert_eq!((status, length), (200, Some(GIB)));
        let mut got = vec![0u8; BLOCK];
        for i in 0..blocks {
            s.read_exact(&mut got)
                .unwrap_or_else(|e| panic!("block {i}: {e}"));
            fill_block(&base, i, &mut block);
            assert!(got == block, "block {i} differs");
        }
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert!(rest.is_empty(), "{} bytes past the end", rest.len());
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        sampler.join().unwrap()
    });
    let download = started.elapsed();
    check_peaks(&peak, "download");
    eprintln!(
        "1 GiB upload in {upload:?} (peak RSS kB {upload_peak:?}), download in {download:?} (peak RSS kB {peak:?})"
    );
    assert_no_crash(&server.error_log());
}

fn configuration_errors_name_the_problem(mpm: Mpm) {
    let try_config = |name: &str, body: &str| -> String {
        match Server::try_start(Stage::new(name), &Config::new(mpm, body)) {
            Ok(server) => panic!("started with:\n{body}\n{}", server.error_log()),
            Err(e) => e,
        }
    };
    // Undefined groups, through process-group= and WSGIProcessGroup.
    let e = try_config(
        "daemon-conf-undefined",
        "WSGIDaemonProcess site\nWSGIScriptAlias /app @STAGE@/apps/daemon_app.wsgi process-group=nosuch\n",
    );
    assert!(
        e.contains("'nosuch'") && e.contains("no WSGIDaemonProcess defines it"),
        "{e}"
    );
    let e = try_config(
        "daemon-conf-undefined-pg",
        "WSGIDaemonProcess site\nWSGIProcessGroup elsewhere\nWSGIScriptAlias /app @STAGE@/apps/daemon_app.wsgi\n",
    );
    assert!(e.contains("'elsewhere'"), "{e}");
    // A name defined twice, in one server or in two.
    let e = try_config(
        "daemon-conf-dup",
        "WSGIDaemonProcess site\nWSGIDaemonProcess site threads=2\n",
    );
    assert!(e.contains("site"), "{e}");
    let e = try_config(
        "daemon-conf-dup-vhost",
        "WSGIDaemonProcess site\n<VirtualHost 127.0.0.1:*>\n  ServerName other\n  WSGIDaemonProcess site\n</VirtualHost>\n",
    );
    assert!(e.contains("'site'") && e.contains("more than once"), "{e}");
    // Options: unknown, not supported yet, malformed.
    let stage = Stage::new("daemon-conf-options");
    for (line, needle) in [
        (
            "WSGIDaemonProcess site proceses=2",
            "unknown option 'proceses'",
        ),
        (
            "WSGIDaemonProcess site chroot=/srv",
            "'chroot' is not supported yet",
        ),
        (
            "WSGIDaemonProcess site threads=many",
            "invalid value 'many' for threads",
        ),
        (
            "WSGIDaemonProcess site user=no-such-user-here",
            "no-such-user-here",
        ),
    ] {
        let e = match config_test(&stage, &Config::new(mpm, &format!("{line}\n"))) {
            Ok(out) if line.contains("user=") => {
                // Users are looked up when the daemons start.
                let e = try_config("daemon-conf-user", &format!("{line}\n"));
                assert!(!out.is_empty() || !e.is_empty());
                e
            }
            Ok(out) => panic!("{line}: accepted: {out}"),
            Err(e) => e,
        };
        assert!(e.contains(needle), "{line}: {e}");
    }
}

fn restrict_embedded_allows_daemons_only(mpm: Mpm) {
    let server = Server::start(
        Stage::new("daemon-restrict"),
        &Config::new(
            mpm,
            "WSGIRestrictEmbedded On\n\
             WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess site display-name=%{GROUP} threads=2\n\
             WSGIScriptAlias /app @STAGE@/apps/daemon_app.wsgi process-group=site\n\
             WSGIScriptAlias /embedded @STAGE@/apps/daemon_app.wsgi\n",
        ),
    );
    let r = server.get("/app/pid");
    assert_eq!(r.status, 200, "{}", server.error_log());
    let mark = server.log_mark();
    let r = server.get("/embedded/pid");
    assert_eq!(r.status, 500);
    let log = server.log_since(mark, ": WSGIRS0316: ", WAIT);
    assert!(log.contains("mod_wsgi_rs (pid="), "{log}");
    assert_eq!(server.get("/app/pid").status, 200);
}

fn stop_leaves_no_daemon_and_no_socket(mpm: Mpm) {
    let server = start(mpm, "daemon-stop", "processes=2 threads=2", "");
    assert_eq!(server.get("/app/pid").status, 200);
    let first = wait_for_daemons(&server, "site", 2);
    assert_eq!(first.len(), 2);
    // A graceful restart, then a hard one: each generation's daemons
    // replace the previous ones, on the same single socket.
    let mut old = first.clone();
    for action in ["graceful", "restart"] {
        server.signal(action);
        let now = wait_until(WAIT, &format!("new daemons after {action}"), || {
            let now = daemon_pids(&server, "site");
            (now.len() == 2 && now.iter().all(|p| !old.contains(p))).then_some(now)
        });
        for pid in &old {
            wait_until(WAIT, &format!("daemon {pid} to go after {action}"), || {
                (!alive(*pid)).then_some(())
            });
        }
        old = now;
    }
    let served = pid_of(&server.get("/app/pid"));
    let second = daemon_pids(&server, "site");
    assert!(second.contains(&served));
    assert_eq!(
        socket_files(&server).len(),
        1,
        "{:?}",
        socket_files(&server)
    );
    let parent = server.pid;
    server.signal("stop");
    wait_until(Duration::from_secs(15), "Apache to stop", || {
        (!alive(parent)).then_some(())
    });
    for pid in first.iter().chain(&second) {
        wait_until(WAIT, &format!("daemon {pid} to go"), || {
            (!alive(*pid)).then_some(())
        });
    }
    assert_eq!(socket_files(&server), Vec::<std::path::PathBuf>::new());
    // The daemon that loaded the application ran its atexit handlers.
    wait_for_file(&server, &format!("atexit-{served}"), WAIT);
    let log = server.error_log();
    assert_eq!(count(&log, "WSGIRS0302"), 0, "{log}");
    assert_no_crash(&log);
}

under_event_and_prefork!(
    requests_run_in_the_daemon_processes,
    request_bodies_reach_the_application,
    responses_stream_and_files_are_passed,
    application_errors_are_reported_as_in_embedded_mode,
    stop_leaves_no_daemon_and_no_socket,
    a_gigabyte_each_way_in_bounded_memory,
);

/// The same under every MPM: run under event only.
mod event_only {
    use super::*;
    #[test]
    fn daemons_take_their_identity_and_guard_their_socket() {
        super::daemons_take_their_identity_and_guard_their_socket(Mpm::Event)
    }
    #[test]
    fn configuration_errors_name_the_problem() {
        super::configuration_errors_name_the_problem(Mpm::Event)
    }
    #[test]
    fn restrict_embedded_allows_daemons_only() {
        super::restrict_embedded_allows_daemons_only(Mpm::Event)
    }
}
