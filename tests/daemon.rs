//! Daemon mode through a real Apache: applications run in the daemon
//! processes of a `WSGIDaemonProcess` group (not in Apache's children), see
//! an environ that describes the daemon, read request bodies (plain and
//! chunked), stream responses, send files by passing the descriptor, and
//! fail the way they do in embedded mode. (The daemons as processes:
//! tests/daemon_processes.rs; failures and recycling: tests/daemon_faults.rs.)

mod common;
mod daemon_support;
mod req_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use daemon_support::*;
use req_support::{chunked, crc32, exchange, pattern};

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
WSGIScriptAlias /env-no-reload @STAGE@/apps/req_environ.wsgi
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
<Location /env-no-reload>
  WSGIScriptReloading Off
</Location>
";

fn behaviour(mpm: Mpm, name: &str) -> Server {
    Server::start(Stage::new(name), &Config::new(mpm, BEHAVIOUR))
}

fn get_on(s: &mut TcpStream, path: &str) -> Response {
    exchange(s, &raw_request("GET", path, &[], b"", true))
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
    let embedded = key_values(&get_on(&mut s, "/embedded/info"));
    let daemon = key_values(&get_on(&mut s, "/app/info"));
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
    let single = key_values(&get_on(&mut s, "/single/info"));
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
    // mod_wsgi.script_reloading reports the setting (a daemon reloads by
    // restarting; it once said 1 whatever the setting).
    env.assert_str("mod_wsgi.script_reloading", "1");
    let env = req_support::Environ::parse(&server.get("/env-no-reload"));
    env.assert_str("mod_wsgi.process_group", "site");
    env.assert_str("mod_wsgi.script_reloading", "0");

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
    // Without it, a chunked body is refused as in embedded mode, with a
    // line naming the group the request was routed to.
    let mark = server.log_mark();
    let r = server.raw(&raw_request(
        "POST",
        "/input/read",
        &[("Transfer-Encoding", b"chunked")],
        &chunked(b"abc", &[]),
        false,
    ));
    assert_eq!(r.status, 411, "{}", r.text());
    let log = server.log_since(mark, ": WSGIRS0104: ", WAIT);
    let line = log.lines().find(|l| l.contains(": WSGIRS0104: ")).unwrap();
    assert!(line.contains("group='site'"), "{line}");
    assert!(line.contains("script='"), "{line}");

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

fn responses_stream_and_files_are_passed(mpm: Mpm) {
    let server = behaviour(mpm, "daemon-output");

    // A generator's chunks arrive one by one: the first while the
    // application waits for the test to see it.
    let mut s = server.connect();
    s.write_all(&simple_request("GET", "/resp/stream?stream-flag", false))
        .unwrap();
    let status = expect_line(&mut s);
    assert!(status.contains(" 200 "), "{status}");
    while !expect_line(&mut s).is_empty() {}
    assert_eq!(read_chunk(&mut s), b"first;");
    std::fs::write(server.stage().path("run/stream-flag"), "").unwrap();
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
    let large = noise(20 << 20, 0x2545_f491_4f6c_dd1d);
    std::fs::create_dir_all(server.stage().path("data")).unwrap();
    std::fs::write(server.stage().path("data/large.bin"), &large).unwrap();
    std::fs::write(server.stage().path("data/small.bin"), &large[..100_000]).unwrap();
    server.stage().make_readable();
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
    let _ = std::fs::remove_file(server.stage().path("data/large.bin"));

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
    s.write_all(&simple_request("HEAD", "/resp/big?10485760", true))
        .unwrap();
    let r = read_head(&mut s);
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
        ("/resp/exc-info-list", "must be a 3-tuple or None"),
        (
            "/resp/status-letters",
            "status code must be a 3 digit integer: b'abc OK'",
        ),
    ] {
        let mark = server.log_mark();
        let r = server.get(path);
        assert_eq!(r.status, 500, "{path}: {}", r.text());
        assert!(!r.text().contains("must not be sent"));
        server.log_since(mark, reason, WAIT);
        module_line(&server, mark, "WSGIRS0205", &resp);
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
    s.write_all(&simple_request(
        "GET",
        "/errors/close-disconnect?gone",
        true,
    ))
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

under_event_and_prefork!(
    requests_run_in_the_daemon_processes,
    request_bodies_reach_the_application,
    responses_stream_and_files_are_passed,
    application_errors_are_reported_as_in_embedded_mode,
);
