//! The response side of PEP 3333 through a real Apache: start_response's
//! checks and exc_info rules, write(), when headers go out, streaming,
//! bad chunks, Content-Length enforcement, big responses, HEAD,
//! WSGIErrorOverride, and an application wrapped in wsgiref.validate.

mod common;
use common::*;

use std::io::Write;
use std::time::Duration;

const LOG_WAIT: Duration = Duration::from_secs(10);

fn start(mpm: Mpm, name: &str) -> Server {
    let stage = Stage::new(name);
    Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGIScriptAlias /app @STAGE@/apps/resp_app.wsgi\n\
             WSGIScriptAlias /eo-on @STAGE@/apps/resp_app.wsgi\n\
             WSGIScriptAlias /eo-doc @STAGE@/apps/resp_app.wsgi\n\
             WSGIScriptAlias /eo-off @STAGE@/apps/resp_app.wsgi\n\
             WSGIScriptAlias /v @STAGE@/apps/resp_validated.wsgi\n\
             <Location /eo-on>\n  WSGIErrorOverride On\n</Location>\n\
             <Location /eo-off>\n  WSGIErrorOverride Off\n</Location>\n\
             <Location /eo-doc>\n  WSGIErrorOverride On\n  ErrorDocument 404 \"custom 404 document\"\n</Location>\n",
        ),
    )
}

/// A pattern of `n` bytes, as `pattern()` in resp_app.wsgi makes it.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// mod_wsgi 6's exception types and messages, word for word; the log line
/// has our id for a refused call and mod_wsgi's phrases.
fn start_response_rejects_bad_heads(mpm: Mpm) {
    let server = start(mpm, "resp-heads");
    let app = script(&server, "resp_app.wsgi");
    // Apache's error log doubles the backslashes of Python's repr.
    for (path, exception) in [
        (
            "/status-long",
            "ValueError: status code must be a 3 digit integer: b'2000 OK'",
        ),
        (
            "/status-letters",
            "ValueError: status code must be a 3 digit integer: b'abc OK'",
        ),
        (
            "/status-crlf",
            "ValueError: control character in status reason phrase: b'200 OK\\\\r\\\\nX-Injected: y'",
        ),
        (
            "/header-newline",
            "ValueError: carriage return/line feed character in header value: b'a\\\\nX-Injected: y'",
        ),
        ("/header-name-bytes", "TypeError: must be str, not bytes"),
        ("/header-value-int", "TypeError: must be str, not int"),
        (
            "/header-name-space",
            "ValueError: space character in header name: b'X Name'",
        ),
        (
            "/hop-connection",
            "ValueError: hop-by-hop header not allowed in a WSGI response: b'Connection'",
        ),
        (
            "/hop-transfer-encoding",
            "ValueError: hop-by-hop header not allowed in a WSGI response: b'Transfer-Encoding'",
        ),
        (
            "/headers-tuple",
            "TypeError: start_response() argument 2 must be list, not tuple",
        ),
        (
            "/header-triple",
            "ValueError: each header must be a 2-tuple, got length 3",
        ),
        (
            "/exc-info-list",
            "RuntimeError: start_response() argument 'exc_info' must be a 3-tuple or None",
        ),
    ] {
        let mark = server.log_mark();
        let r = server.get(&format!("/app{path}"));
        assert_eq!(r.status, 500, "{path}: {}", r.text());
        assert!(r.complete, "{path}");
        assert!(!r.text().contains("must not be sent"), "{path}");
        assert!(r.header("X-Injected").is_none(), "{path}");
        let log = server.log_since(mark, exception, LOG_WAIT);
        let line = module_line(&log, "WSGIRS0205", &app);
        assert!(
            line.contains(&format!(
                "Exception occurred processing WSGI script '{app}'"
            )),
            "{path}: {line}"
        );
        assert!(
            log.lines()
                .any(|l| l.ends_with(&format!("] {exception}"))
                    || l.ends_with(&format!(" {exception}"))),
            "{path}: {log}"
        );
    }
}

/// mod_wsgi 6's second-call rules: before output the head is replaced,
/// after it a call without exc_info is a RuntimeError; a status without a
/// reason phrase is accepted (Apache supplies the reason).
fn a_second_call_and_a_bare_status_as_in_mod_wsgi(mpm: Mpm) {
    let server = start(mpm, "resp-twice");
    let r = server.get("/app/twice");
    assert_eq!(r.status, 201, "{}", server.error_log());
    assert_eq!(r.header("X-Second"), Some("yes"));
    assert_eq!(r.text(), "second head");

    let r = server.get("/app/twice-after-output");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "out;start_response() called more than once without exc_info"
    );
    assert!(r.complete);

    let r = server.get("/app/status-no-reason");
    assert_eq!(r.status, 201);
    assert_eq!(r.reason, "Created");
    assert_eq!(r.text(), "no reason phrase");
    assert_no_crash(&server.error_log());
}

fn exc_info_follows_pep_3333(mpm: Mpm) {
    let server = start(mpm, "resp-excinfo");
    let app = script(&server, "resp_app.wsgi");

    // Before the headers went out, exc_info lets the application replace them.
    let r = server.get("/app/exc-info-before");
    assert_eq!(r.status, 500, "{}", server.error_log());
    assert_eq!(r.reason, "Application Error");
    assert_eq!(r.header("X-Replaced"), Some("yes"));
    assert_eq!(r.body, b"the application's own error page");
    assert!(r.complete);

    // After, start_response re-raises the exception and the response is cut short.
    let mark = server.log_mark();
    let r = server.get("/app/exc-info-after");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"partial body;");
    assert!(!r.complete, "a broken response must not look complete");
    let log = server.log_since(mark, "raised after the headers went out", LOG_WAIT);
    module_line(&log, "WSGIRS0204", &app);
    assert!(log.contains("KeyError"), "{log}");

    // The re-raised exception is the application's own.
    let r = server.get("/app/exc-info-reraise-ignored");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "partial body;re-raised");
    assert!(r.complete);
}

fn write_sends_bytes_at_once(mpm: Mpm) {
    let server = start(mpm, "resp-write");
    let app = script(&server, "resp_app.wsgi");

    let r = server.get("/app/write-str");
    assert_eq!(r.status, 200);
    assert!(
        r.text()
            .starts_with("TypeError: write() argument must be bytes, not str"),
        "{}",
        r.text()
    );

    let mark = server.log_mark();
    let r = server.get("/app/write-str-uncaught");
    assert_eq!(r.status, 500);
    assert!(!r.text().contains("must not be sent"));
    let log = server.log_since(mark, "TypeError", LOG_WAIT);
    module_line(&log, "WSGIRS0203", &app);

    // write() is not buffered: the first part arrives while the
    // application waits for the test to see it.
    let mut s = server.connect();
    s.write_all(&simple_request(
        "GET",
        "/app/write-stream?write-flag",
        false,
    ))
    .unwrap();
    let head = read_head(&mut s);
    let status = head.status;
    assert_eq!(status, 200);
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    assert_eq!(read_chunk(&mut s), b"first;");
    std::fs::write(server.stage().path("run/write-flag"), "").unwrap();
    assert_eq!(read_chunk(&mut s), b"flag-seen");
    assert_eq!(read_chunk(&mut s), b"", "final chunk");
}

fn headers_wait_for_the_first_non_empty_chunk(mpm: Mpm) {
    let server = start(mpm, "resp-first-chunk");
    let app = script(&server, "resp_app.wsgi");

    // An empty first chunk does not commit the response: the error after it
    // is still a clean 500.
    let mark = server.log_mark();
    let r = server.get("/app/empty-then-raise");
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(r.complete);
    let log = server.log_since(mark, "after an empty chunk", LOG_WAIT);
    module_line(&log, "WSGIRS0203", &app);

    // Bodiless responses, on one keep-alive connection: any stray body byte
    // would break the next response's status line.
    let mut s = server.connect();
    for (path, status) in [
        ("/app/empty-list", 200),
        ("/app/empty-chunks", 200),
        ("/app/204", 204),
        ("/app/304", 304),
        ("/app/head", 200),
    ] {
        s.write_all(&simple_request("GET", path, true)).unwrap();
        let r = read_response(&mut s);
        assert_eq!(r.status, status, "{path}");
        assert!(r.complete, "{path}");
        if status != 200 || path != "/app/head" {
            assert!(r.body.is_empty(), "{path}: {:?}", r.text());
        }
    }
    let r = {
        s.write_all(&simple_request("GET", "/app/304", true))
            .unwrap();
        read_response(&mut s)
    };
    assert_eq!(r.header("ETag"), Some("\"abc\""));
}

fn generator_streams_chunk_by_chunk(mpm: Mpm) {
    let server = start(mpm, "resp-stream");
    let mut s = server.connect();
    s.write_all(&simple_request("GET", "/app/stream?stream-flag", false))
        .unwrap();
    let head = read_head(&mut s);
    let status = head.status;
    assert_eq!(status, 200);
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    assert_eq!(read_chunk(&mut s), b"first;");
    std::fs::write(server.stage().path("run/stream-flag"), "").unwrap();
    assert_eq!(read_chunk(&mut s), b"flag-seen");
    assert_eq!(read_chunk(&mut s), b"", "final chunk");
}

fn non_bytes_chunks_are_errors(mpm: Mpm) {
    let server = start(mpm, "resp-chunks");
    let app = script(&server, "resp_app.wsgi");
    for (path, kind) in [
        ("/app/str-list", "str"),
        ("/app/str-whole", "str"),
        ("/app/int-chunk", "int"),
    ] {
        let mark = server.log_mark();
        let r = server.get(path);
        assert_eq!(r.status, 500, "{path}: {}", r.text());
        assert!(!r.text().contains("text, not bytes"), "{path}");
        let needle = format!("WSGIRS0206: the response iterable yielded {kind}");
        let log = server.log_since(mark, &needle, LOG_WAIT);
        module_line(&log, "WSGIRS0203", &app);
    }

    // A bad chunk after the response started: cut short, never completed.
    let mark = server.log_mark();
    let r = server.get("/app/bytes-then-int");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, vec![b'x'; 100]);
    assert!(!r.complete, "a broken response must not look complete");
    let log = server.log_since(mark, "WSGIRS0206", LOG_WAIT);
    module_line(&log, "WSGIRS0204", &app);
}

fn content_length_is_enforced(mpm: Mpm) {
    let server = start(mpm, "resp-length");
    let app = script(&server, "resp_app.wsgi");

    // Never more than declared: the next response on the same connection
    // starts right after the 10 declared bytes.
    for path in ["/app/too-long", "/app/too-long-generator"] {
        let mark = server.log_mark();
        let mut s = server.connect();
        s.write_all(&simple_request("GET", path, true)).unwrap();
        let r = read_response(&mut s);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("Content-Length"), Some("10"), "{path}");
        assert_eq!(r.body, b"0123456789", "{path}");
        assert!(r.complete, "{path}");
        s.write_all(&simple_request("GET", "/app/head", false))
            .unwrap();
        let next = read_response(&mut s);
        assert_eq!(
            next.status, 200,
            "{path}: the excess leaked into the connection"
        );
        assert_eq!(next.body, b"a body that HEAD must not send", "{path}");
        let log = server.log_since(mark, "WSGIRS0208", LOG_WAIT);
        module_line(&log, "WSGIRS0208", &app);
    }

    // Fewer than declared: logged, and the connection is closed, so the
    // client sees the response incomplete. The request pipelined behind it
    // must not be answered on that connection (its bytes would otherwise
    // complete the short body).
    for (path, sent) in [
        ("/app/too-short", &b"only ten b"[..]),
        ("/app/too-short-generator", b"only ten b"),
        ("/app/too-short-empty", b""),
    ] {
        let mark = server.log_mark();
        let mut s = server.connect();
        let mut requests = simple_request("GET", path, true);
        requests.extend(simple_request("GET", "/app/head", false));
        s.write_all(&requests).unwrap();
        let r = read_response(&mut s);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("Content-Length"), Some("20"), "{path}");
        assert_eq!(r.body, sent, "{path}");
        assert!(
            !r.complete,
            "{path}: a short response must not look complete"
        );
        let log = server.log_since(mark, "WSGIRS0209", LOG_WAIT);
        module_line(&log, "WSGIRS0209", &app);
    }
}

fn big_responses_arrive_intact(mpm: Mpm) {
    let server = start(mpm, "resp-big");
    for (path, n) in [
        ("/app/big?65536", 65536),
        ("/app/big?10485760", 10 << 20),
        ("/app/big-generator?10485760", 10 << 20),
    ] {
        let r = server.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.complete, "{path}");
        assert_eq!(r.body.len(), n, "{path}");
        assert!(r.body == pattern(n), "{path}: the body differs");
    }
    let r = server.get("/app/many-chunks");
    assert_eq!(r.status, 200);
    assert!(r.complete);
    let expected: String = (0..10000).map(|i| format!("{i:05}\n")).collect();
    assert!(r.body == expected.as_bytes(), "the 10,000 chunks differ");
}

fn head_sends_headers_only(mpm: Mpm) {
    let server = start(mpm, "resp-head");
    let mut s = server.connect();
    for path in [
        "/app/head",
        "/app/head-generator",
        "/app/big?10485760",
        "/app/not-found",
    ] {
        s.write_all(&simple_request("HEAD", path, true)).unwrap();
        let r = read_head(&mut s);
        let expected = if path == "/app/not-found" { 404 } else { 200 };
        assert_eq!(r.status, expected, "{path}");
        assert!(r.header("Content-Type").is_some(), "{path}");
        if path == "/app/head" {
            assert_eq!(r.header("Content-Length"), Some("30"));
        }
    }
    // Had any HEAD response carried a body, this would not parse.
    s.write_all(&simple_request("GET", "/app/head", false))
        .unwrap();
    let r = read_response(&mut s);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"a body that HEAD must not send");
    assert!(!server.error_log().contains("WSGIRS0209"));
}

fn error_override_uses_apache_error_pages(mpm: Mpm) {
    let server = start(mpm, "resp-override");
    let r = server.get("/app/not-found");
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"the application's own 404 body");

    let r = server.get("/eo-off/not-found");
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"the application's own 404 body");

    let r = server.get("/eo-on/not-found");
    assert_eq!(r.status, 404);
    assert!(!r.text().contains("application's own"), "{}", r.text());
    assert!(
        r.text().contains("<title>404 Not Found</title>"),
        "{}",
        r.text()
    );

    let r = server.get("/eo-doc/not-found");
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "custom 404 document");

    // Statuses below 400 are the application's, override or not.
    let r = server.get("/eo-on/head");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"a body that HEAD must not send");
}

/// resp_validated.wsgi runs behind wsgiref.validate.validator, with its
/// warnings made errors: any violation becomes a 500 or a logged
/// AssertionError.
fn wsgiref_validator_finds_nothing(mpm: Mpm) {
    let server = start(mpm, "resp-validate");
    let r = server.get("/v/get?x=1");
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert_eq!(r.text(), "GET ok: x=1");

    let body = b"first line\nsecond line\nthe rest, which is longer than one read";
    let r = server.request("POST", "/v/post", &[("Content-Type", "text/plain")], body);
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert_eq!(
        r.text(),
        "['first line\\n', 'second line\\n', 'the rest, ', 'which is longer than one read', '']"
    );

    let r = server.post("/v/lines", b"a\nb\nc\n");
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert_eq!(r.text(), "['a\\n', 'b\\n', 'c\\n']");

    let r = server.get("/v/stream");
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert!(r.complete);
    assert_eq!(r.text(), "written;chunk 0;chunk 1;chunk 2;");

    let r = server.get("/v/empty");
    assert_eq!(r.status, 204, "{}", server.error_log());

    let log = server.wait_for_log("validated app wrote to wsgi.errors", LOG_WAIT);
    assert!(!log.contains("AssertionError"), "{log}");
    assert!(!log.contains("WSGIWarning"), "{log}");
    assert!(
        !log.contains("garbage collected without being closed"),
        "{log}"
    );
    assert!(!log.contains("WSGIRS02"), "{log}");
}

under_event_and_prefork!(
    start_response_rejects_bad_heads,
    a_second_call_and_a_bare_status_as_in_mod_wsgi,
    exc_info_follows_pep_3333,
    write_sends_bytes_at_once,
    headers_wait_for_the_first_non_empty_chunk,
    generator_streams_chunk_by_chunk,
    non_bytes_chunks_are_errors,
    content_length_is_enforced,
    big_responses_arrive_intact,
    head_sends_headers_only,
    error_override_uses_apache_error_pages,
    wsgiref_validator_finds_nothing,
);
