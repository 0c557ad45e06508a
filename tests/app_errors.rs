//! Application errors through a real Apache: exceptions become a 500 with
//! the traceback in the error log and never in the body, an exception after
//! the response started cuts it short, and the response iterable's close()
//! is called exactly once: on success, on an exception and when the client
//! goes away mid-response.

mod common;
use common::*;

use std::io::{Read, Write};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn start(mpm: Mpm, name: &str) -> (Server, String) {
    let stage = Stage::new(name);
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGIScriptAlias /errors @STAGE@/apps/resp_errors.wsgi\n",
        ),
    );
    let script = server
        .stage()
        .path("apps/resp_errors.wsgi")
        .display()
        .to_string();
    (server, script)
}

/// The close() calls recorded by resp_errors.wsgi for `id`, once there is one.
fn close_calls(server: &Server, id: &str) -> Vec<String> {
    let text = wait_for_file(server, &format!("close-{id}"), WAIT);
    text.lines().map(str::to_owned).collect()
}

fn exceptions_become_500_with_the_traceback_logged(mpm: Mpm) {
    let (server, script) = start(mpm, "resp-exceptions");
    for (path, secret) in [
        ("/errors/raise-before-start", "SECRET-before-start_response"),
        ("/errors/raise-after-start", "SECRET-after-start_response"),
        ("/errors/raise-in-generator", "SECRET-in-generator"),
    ] {
        let mark = server.log_mark();
        let r = server.get(path);
        assert_eq!(r.status, 500, "{path}: {}", r.text());
        assert!(r.complete, "{path}");
        for leak in [secret, "Traceback", "ValueError", "resp_errors.wsgi"] {
            assert!(!r.text().contains(leak), "{path}: {leak} in the body");
        }
        let log = server.log_since(mark, &format!("ValueError: {secret}"), WAIT);
        let line = module_line(&log, "WSGIRS0203", &script);
        assert!(line.contains("[client 127.0.0.1:"), "{line}");
        // mod_wsgi 4's and 6's phrases, which monitoring greps for.
        assert!(
            line.contains(&format!(
                "Exception occurred processing WSGI script '{script}': ValueError exception raised processing WSGI script '{script}'"
            )),
            "{line}"
        );
        assert!(
            log.contains("Traceback (most recent call last):"),
            "{path}: {log}"
        );
        assert!(
            log.contains(&format!("File \"{script}\", line ")),
            "{path}: the traceback does not show the script:\n{log}"
        );
    }

    let mark = server.log_mark();
    let r = server.get("/errors/no-start-response");
    assert_eq!(r.status, 500);
    assert!(!r.text().contains("body without"));
    let log = server.log_since(mark, "WSGIRS0207", WAIT);
    module_line(&log, "WSGIRS0203", &script);

    let mark = server.log_mark();
    let r = server.get("/errors/return-none");
    assert_eq!(r.status, 500);
    let log = server.log_since(mark, "TypeError", WAIT);
    module_line(&log, "WSGIRS0203", &script);

    assert_eq!(server.get("/errors/ok").body, b"ok");
    assert_no_crash(&server.error_log());
}

fn close_is_called_exactly_once(mpm: Mpm) {
    let (server, script) = start(mpm, "resp-close");

    let r = server.get("/errors/close-ok?ok");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"one;two;");
    assert!(r.complete);

    // An exception after the first chunk: cut short, close() still called.
    let mark = server.log_mark();
    let r = server.get("/errors/close-raise?raise");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"one;");
    assert!(!r.complete, "a broken response must not look complete");
    let log = server.log_since(mark, "SECRET-during-iteration", WAIT);
    module_line(&log, "WSGIRS0204", &script);

    // An exception before the first chunk: a clean 500, close() still called.
    let r = server.get("/errors/close-raise-first?raise-first");
    assert_eq!(r.status, 500);
    assert!(!r.text().contains("SECRET"));

    // close() itself raising is logged; the response was already complete.
    let mark = server.log_mark();
    let r = server.get("/errors/close-fails");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"complete body");
    let log = server.log_since(mark, "RuntimeError: close() failed", WAIT);
    module_line(&log, "WSGIRS0211", &script);

    // One more request through the server, so every handler above is done.
    assert_eq!(server.get("/errors/ok").body, b"ok");
    assert_eq!(close_calls(&server, "ok"), ["closed after 2 chunks"]);
    assert_eq!(close_calls(&server, "raise"), ["closed after 1 chunks"]);
    assert_eq!(
        close_calls(&server, "raise-first"),
        ["closed after 0 chunks"]
    );
    assert_no_crash(&server.error_log());
}

fn client_disconnect_mid_response(mpm: Mpm) {
    let (server, script) = start(mpm, "resp-disconnect");
    for id in ["gone-1", "gone-2"] {
        let mark = server.log_mark();
        {
            let mut s = server.connect();
            s.write_all(&simple_request(
                "GET",
                &format!("/errors/close-disconnect?{id}"),
                false,
            ))
            .unwrap();
            let head = read_head(&mut s);
            assert_eq!(head.status, 200);
            let mut some = vec![0; 100_000];
            s.read_exact(&mut some).unwrap();
            // Dropping the socket with unread data resets the connection.
        }
        let calls = close_calls(&server, id);
        assert_eq!(calls.len(), 1, "{calls:?}");
        let produced: usize = calls[0]
            .strip_prefix("closed after ")
            .and_then(|rest| rest.strip_suffix(" chunks"))
            .unwrap()
            .parse()
            .unwrap();
        assert!(produced < 2000, "the disconnect went unnoticed: {calls:?}");
        let log = server.log_since(mark, "WSGIRS0210", WAIT);
        module_line(&log, "WSGIRS0210", &script);
        assert!(!log.contains("WSGIRS0204"), "{log}");

        // The server is still healthy.
        let r = server.get("/errors/ok");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"ok");
    }
    assert_no_crash(&server.error_log());
}

/// A script that fails to load or lacks its callable: 500, and lines with
/// mod_wsgi's phrases; loading itself is an info line in mod_wsgi's words.
fn load_failures_use_mod_wsgis_phrases(mpm: Mpm) {
    let stage = Stage::new("errors-load");
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGIScriptAlias /load-fail @STAGE@/apps/errors_load_fail.wsgi\n\
             WSGIScriptAlias /no-callable @STAGE@/apps/errors_no_callable.wsgi\n",
        ),
    );
    let failing = script(&server, "errors_load_fail.wsgi");
    let mark = server.log_mark();
    let r = server.get("/load-fail");
    assert_eq!(r.status, 500);
    assert!(!r.text().contains("SECRET"), "{}", r.text());
    let log = server.log_since(mark, "ImportError: SECRET-at-import", WAIT);
    let line = module_line(&log, "WSGIRS0201", &failing);
    for phrase in [
        format!("Failed to exec Python script file '{failing}'"),
        format!("Target WSGI script '{failing}' cannot be loaded as Python module"),
        format!("ImportError exception raised processing WSGI script '{failing}'"),
    ] {
        assert!(line.contains(&phrase), "{phrase:?} not in {line}");
    }
    assert!(
        log.contains(&format!("Loading Python script file '{failing}'")),
        "{log}"
    );

    let lacking = script(&server, "errors_no_callable.wsgi");
    let mark = server.log_mark();
    let r = server.get("/no-callable");
    assert_eq!(r.status, 500);
    let log = server.log_since(mark, "WSGIRS0202", WAIT);
    let line = module_line(&log, "WSGIRS0202", &lacking);
    assert!(
        line.ends_with(&format!(
            "Target WSGI script '{lacking}' does not contain WSGI application 'application'."
        )),
        "{line}"
    );
}

under_event_and_prefork!(
    load_failures_use_mod_wsgis_phrases,
    exceptions_become_500_with_the_traceback_logged,
    close_is_called_exactly_once,
    client_disconnect_mid_response,
);
