//! `sys.stdout`, `sys.stderr` and `wsgi.errors` as mod_wsgi 6 makes them
//! (wsgi_logger.c), through a real Apache in embedded and daemon mode:
//! `io.TextIOWrapper`s (utf-8, 'replace', line buffered, write-through)
//! over a binary `mod_wsgi.Log` whose `write` takes bytes, bytearray and
//! memoryview; lines land whole in the error log, in the request's context
//! during a request; bad input gets mod_wsgi's exceptions. And a real
//! application that needs it: Mercurial's hgweb, which writes to
//! `sys.stdout.buffer` at import, serves `hg clone` in both modes.

mod common;
use common::*;

use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

const CONFIG: &str = "\
WSGISocketPrefix @STAGE@/run/wsgi
WSGIDaemonProcess streams threads=4 display-name=%{GROUP}
WSGIScriptAlias /embedded @STAGE@/apps/streams_app.wsgi
WSGIScriptAlias /daemon @STAGE@/apps/streams_app.wsgi process-group=streams
WSGIScriptAlias /hg-embedded @STAGE@/apps/streams_hgweb.wsgi
WSGIScriptAlias /hg-daemon @STAGE@/apps/streams_hgweb.wsgi process-group=streams
";

const MODES: [&str; 2] = ["/embedded", "/daemon"];

fn start(mpm: Mpm, name: &str) -> Server {
    Server::start(Stage::new(name), &Config::new(mpm, CONFIG))
}

/// The error-log line that ends with `text` (Apache's prefix before it).
fn log_line<'a>(log: &'a str, text: &str) -> &'a str {
    log.lines()
        .find(|l| l.ends_with(&format!(" {text}")))
        .unwrap_or_else(|| panic!("no line ending with {text:?} in:\n{log}"))
}

fn streams_are_text_wrappers_over_a_binary_log(mpm: Mpm) {
    let server = start(mpm, "streams-types");
    for mode in MODES {
        let r = server.get(&format!("{mode}/types"));
        assert_eq!(r.status, 200, "{mode}: {}", server.error_log());
        let facts = key_values(&r);
        for (stream, name) in [
            ("stdout", "<stdout>"),
            ("stderr", "<stderr>"),
            ("errors", "<wsgi.errors>"),
        ] {
            for (key, value) in [
                ("type", "_io.TextIOWrapper"),
                ("buffer_type", "mod_wsgi.Log"),
                ("encoding", "utf-8"),
                ("errors", "replace"),
                ("line_buffering", "True"),
                ("write_through", "True"),
                ("name", name),
                ("buffer_encoding", "utf-8"),
                ("buffer_errors", "replace"),
                ("closed", "False"),
                ("isatty", "False"),
                ("writable", "True"),
                ("readable", "False"),
                ("seekable", "False"),
            ] {
                assert_eq!(
                    fact(&facts, &format!("{stream}.{key}")),
                    value,
                    "{mode} {stream}.{key}"
                );
            }
        }
    }
}

fn every_level_writes_whole_lines_into_the_request_log(mpm: Mpm) {
    let server = start(mpm, "streams-writes");
    for mode in MODES {
        let tag = &mode[1..];
        let mark = server.log_mark();
        let r = server.get(&format!("{mode}/writes?{tag}"));
        assert_eq!(r.status, 200, "{mode}: {}", server.error_log());
        // The unfinished line is written when the request ends.
        let log = server.log_since(mark, &format!("UNTERMINATED-{tag}"), WAIT);
        for text in [
            format!("BYTES-{tag}"),
            format!("BYTEARRAY-{tag}"),
            format!("MEMORYVIEW-{tag}"),
            format!("BUFFER-LINES-{tag}"),
            format!("TEXT-LINES-{tag}"),
            format!("PRINT-STDERR-{tag}"),
            format!("PRINT-STDOUT-{tag}"),
            // UTF-8, which Apache's error log escapes.
            format!("ERRORS-TEXT-caf\\xc3\\xa9-{tag}"),
            format!("ERRORS-UTF8-\\xe2\\x82\\xac-{tag}"),
            format!("ERRORS-LINES-{tag}"),
            format!("SHARED-LINE-{tag}"),
            format!("UNTERMINATED-{tag}"),
        ] {
            let line = log_line(&log, &text);
            assert!(line.contains("[client 127.0.0.1:"), "{mode}: {line}");
            assert!(line.contains("[wsgi:error]"), "{mode}: {line}");
        }
        assert_no_crash(&log);
    }
    // Written at import, outside any request: the process log.
    let log = server.error_log();
    for text in ["STREAMS-IMPORT-LINE", "STREAMS-IMPORT-BYTES"] {
        let line = log_line(&log, text);
        assert!(!line.contains("[client "), "{line}");
    }
}

fn bad_input_gets_mod_wsgis_exceptions(mpm: Mpm) {
    let server = start(mpm, "streams-bad");
    for mode in MODES {
        let r = server.get(&format!("{mode}/bad-input"));
        assert_eq!(r.status, 200, "{mode}: {}", server.error_log());
        assert_eq!(
            r.text(),
            "buffer-int: TypeError: write() argument must be bytes-like object, not int\n\
             buffer-lines-int: TypeError: writelines() argument must be an iterable of bytes-like objects\n\
             buffer-lines-item: TypeError: write() argument must be bytes-like object, not int\n\
             text-bytes: TypeError: write() argument must be str, not bytes\n\
             fileno: OSError: wsgi.errors log object has no file descriptor\n",
            "{mode}"
        );

        // close() flushes and refuses later writes, for this request.
        let mark = server.log_mark();
        let r = server.get(&format!("{mode}/closed"));
        assert_eq!(
            r.text(),
            "RuntimeError: write() called on wsgi.errors after request completed\n",
            "{mode}"
        );
        let log = server.log_since(mark, "BEFORE-CLOSE", WAIT);
        assert!(!log.contains("AFTER-CLOSE"), "{mode}: {log}");
        // The next request on the thread has a working wsgi.errors again.
        let mark = server.log_mark();
        let r = server.get(&format!("{mode}/writes?again"));
        assert_eq!(r.status, 200, "{mode}");
        server.log_since(mark, "ERRORS-LINES-again", WAIT);
    }
}

fn hg(args: &[&str]) -> String {
    let out = Command::new("hg")
        .args(["--config", "ui.username=streams test <test@example.org>"])
        .args(args)
        .env("HGPLAIN", "1")
        .output()
        .expect("hg runs");
    assert!(
        out.status.success(),
        "hg {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn has_mercurial() -> bool {
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", "import mercurial.hgweb"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("Mercurial is not installed (apt-get install mercurial): skipped");
    }
    ok
}

fn hgweb_serves_hg_clone(mpm: Mpm) {
    if !has_mercurial() {
        return;
    }
    let stage = Stage::new("streams-hgweb");
    let repo = stage.path("hgrepo");
    let repo = repo.to_str().unwrap();
    hg(&["init", repo]);
    std::fs::write(stage.path("hgrepo/hello.txt"), "hello from hgweb\n").unwrap();
    hg(&["-R", repo, "add", &format!("{repo}/hello.txt")]);
    hg(&["-R", repo, "commit", "-m", "first commit"]);
    stage.make_readable();
    let server = Server::start(stage, &Config::new(mpm, CONFIG));
    for mode in ["/hg-embedded", "/hg-daemon"] {
        let r = server.get(&format!("{mode}/"));
        assert_eq!(r.status, 200, "{mode}: {}", server.error_log());
        assert!(r.text().contains("streams test repository"), "{mode}");

        let clone = server.stage().path(&format!("clone{}", &mode[3..]));
        let clone = clone.to_str().unwrap();
        hg(&[
            "clone",
            &format!("http://127.0.0.1:{}{mode}/", server.port),
            clone,
        ]);
        assert_eq!(
            std::fs::read_to_string(format!("{clone}/hello.txt")).unwrap(),
            "hello from hgweb\n",
            "{mode}"
        );
        assert!(hg(&["-R", clone, "log"]).contains("first commit"), "{mode}");
    }
    let log = server.error_log();
    assert_no_crash(&log);
    for bad in ["Traceback", "WSGIRS0201", "WSGIRS0203"] {
        assert!(!log.contains(bad), "{bad} in:\n{log}");
    }
}

under_event_and_prefork!(
    streams_are_text_wrappers_over_a_binary_log,
    every_level_writes_whole_lines_into_the_request_log,
    bad_input_gets_mod_wsgis_exceptions,
    hgweb_serves_hg_clone,
);
