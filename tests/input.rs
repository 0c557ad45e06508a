//! wsgi.input through a real Apache: the file-like methods, the end of the
//! body, large and chunked bodies, bodies that stop early (half-closed or
//! silent clients), an application that ignores its body on a kept-alive
//! connection, and requests Apache or the module refuse (411, 400).

mod common;
mod req_support;

use std::io::Write;
use std::net::Shutdown;

use common::*;
use req_support::*;

const READING_CONFIG: &str = "\
LimitRequestFieldSize 1024
WSGIScriptAlias /input @STAGE@/apps/req_input.wsgi
WSGIScriptAlias /input-chunked @STAGE@/apps/req_input.wsgi
<Location /input-chunked>
  WSGIChunkedRequest On
</Location>
";

const LINES: &[u8] = b"line one\nline two is longer\nshort\nrest without newline";
const OPS_EXPECTED: &str = r"b''
b'line one\n'
b'line '
b'two is longer\n'
b'sho'
b'rt\n'
b'rest without newline'
b''
b''
b''
[]";

fn post(server: &Server, target: &str, body: &[u8]) -> Response {
    let r = server.post(target, body);
    assert_eq!(
        r.status,
        200,
        "POST {target}: {}\n{}",
        r.text(),
        server.error_log()
    );
    r
}

fn post_chunked(server: &Server, target: &str, body: &[u8], sizes: &[usize]) -> Response {
    server.raw(&raw_request(
        "POST",
        target,
        &[("Transfer-Encoding", b"chunked")],
        &chunked(body, sizes),
        false,
    ))
}

fn summary(body: &[u8]) -> String {
    format!("len={} crc={:08x}", body.len(), crc32(body))
}

fn file_methods(prefix: &str, send: &dyn Fn(&str, &[u8]) -> Response) {
    let ops = send(&format!("{prefix}/ops"), LINES);
    assert_eq!(ops.text(), OPS_EXPECTED, "{prefix}");
    let lines: &[u8] = b"a\nb\n\nc";
    let all = r"[b'a\n', b'b\n', b'\n', b'c']";
    assert_eq!(
        send(&format!("{prefix}/readlines"), lines).text(),
        all,
        "{prefix}"
    );
    assert_eq!(
        send(&format!("{prefix}/iter"), lines).text(),
        all,
        "{prefix}"
    );
    assert_eq!(
        send(&format!("{prefix}/readlines-hint"), lines).text(),
        r"[[b'a\n', b'b\n'], b'\nc']",
        "{prefix}"
    );
    // read() and read(-1) return everything; past the end every call
    // returns b'' at once (the connection stays open, so a read that
    // waited for more would hang until Apache's Timeout and fail).
    let after = "after=[b'', b'', b'', [], b'']";
    for target in ["/read", "/read?negative"] {
        let r = send(&format!("{prefix}{target}"), b"hello");
        assert_eq!(
            r.text(),
            format!("{} {after}", summary(b"hello")),
            "{prefix}{target}"
        );
    }
}

fn reading(mpm: Mpm) {
    let server = Server::start(Stage::new("req-input"), &Config::new(mpm, READING_CONFIG));

    // The file-like methods, with a Content-Length body...
    file_methods("/input", &|target, body| post(&server, target, body));
    // ...and with a chunked one, cut into small pieces.
    file_methods("/input-chunked", &|target, body| {
        let r = post_chunked(&server, target, body, &[1, 3, 2, 7, 1, 5]);
        assert_eq!(
            r.status,
            200,
            "chunked POST {target}: {}",
            server.error_log()
        );
        r
    });

    // No body at all, and an empty one.
    let none = server.get("/input/read");
    assert_eq!(
        none.text(),
        format!("{} after=[b'', b'', b'', [], b'']", summary(b""))
    );
    let empty = server.request("POST", "/input/read", &[("Content-Length", "0")], b"");
    assert_eq!(empty.text(), none.text());

    // A large body, read whole and in chunks of several sizes.
    let big = pattern(5 * 1024 * 1024);
    let expected = summary(&big);
    assert!(
        post(&server, "/input/read", &big)
            .text()
            .starts_with(&expected)
    );
    let chunks = post(&server, "/input/chunks?65536", &big).text();
    assert_eq!(
        chunks,
        format!("{expected} reads=80 biggest=65536 after=[b'', b'']")
    );
    let odd = &big[..100_003];
    let chunks = post(&server, "/input/chunks?1000", odd).text();
    assert_eq!(
        chunks,
        format!("{} reads=101 biggest=1000 after=[b'', b'']", summary(odd))
    );

    // A large chunked body (WSGIChunkedRequest On) is read fully.
    let body = &big[..300_000];
    let sizes = [1, 10, 1000, 65536, 70000];
    let r = post_chunked(&server, "/input-chunked/read", body, &sizes);
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert!(r.text().starts_with(&summary(body)), "{}", r.text());
    let r = post_chunked(&server, "/input-chunked/chunks?4096", body, &sizes);
    assert!(r.text().starts_with(&summary(body)), "{}", r.text());

    // Without WSGIChunkedRequest, a chunked body is refused: 411.
    let r = post_chunked(&server, "/input/read", b"abc", &[]);
    assert_eq!(r.status, 411);
    assert_logged(&server, "WSGIRS0104", "apps/req_input.wsgi");

    // An application that never reads its body still answers, and the
    // kept-alive connection serves the next requests correctly.
    let mut conn = server.connect();
    let ignored = pattern(256 * 1024);
    let first = exchange(
        &mut conn,
        &raw_request("POST", "/input/ignore", &[], &ignored, true),
    );
    assert_eq!((first.status, first.text().as_str()), (200, "ignored"));
    assert_ne!(first.header("connection"), Some("close"));
    let second = exchange(
        &mut conn,
        &raw_request("POST", "/input/read", &[], b"second", true),
    );
    assert_eq!(second.status, 200);
    assert!(
        second.text().starts_with(&summary(b"second")),
        "{}",
        second.text()
    );
    let third = exchange(
        &mut conn,
        &raw_request("POST", "/input/ops", &[], LINES, true),
    );
    assert_eq!(third.text(), OPS_EXPECTED);

    // Malformed Content-Length: 400.
    for value in ["abc", "-1", "1 2", "0x10"] {
        let r = server.request("POST", "/input/read", &[("Content-Length", value)], b"");
        assert_eq!(r.status, 400, "Content-Length: {value}");
    }

    // A header larger than LimitRequestFieldSize: 400, application not called.
    let huge = "x".repeat(2000);
    let r = server.request(
        "GET",
        "/input/read?oversize-marker",
        &[("X-Huge", &huge)],
        b"",
    );
    assert_eq!(r.status, 400);
    let after = server.get("/input/read?after-oversize");
    assert_eq!(after.status, 200);
    let log = server.wait_for_log("after-oversize", std::time::Duration::from_secs(10));
    assert!(
        !log.contains("oversize-marker"),
        "the application was called:\n{log}"
    );

    assert_id_lines_well_formed(&server.error_log());
}

/// A request head announcing 100 bytes of body, and the first 10 of them.
fn partial_post(keep_alive: bool) -> Vec<u8> {
    raw_request(
        "POST",
        "/input/catch",
        &[("Content-Length", b"100")],
        b"",
        keep_alive,
    )
    .into_iter()
    .chain(b"0123456789".iter().copied())
    .collect()
}

fn broken_bodies(mpm: Mpm) {
    let mut config = Config::new(mpm, "WSGIScriptAlias /input @STAGE@/apps/req_input.wsgi\n");
    config.timeout_seconds = 2;
    let server = Server::start(Stage::new("req-input-broken"), &config);

    // The client sends less than its Content-Length and half-closes: the
    // application's read() raises OSError (which it catches and reports).
    let mut s = server.connect();
    s.write_all(&partial_post(false)).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let r = read_response(&mut s);
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert!(r.text().starts_with("OSError: "), "{}", r.text());

    // The client sends part of its body and then stays silent: Apache's
    // Timeout ends the read and the application gets OSError, rather
    // than its thread hanging.
    let mut s = server.connect();
    s.write_all(&partial_post(true)).unwrap();
    let r = read_response(&mut s);
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert!(r.text().starts_with("OSError: "), "{}", r.text());
    drop(s);

    // Both are logged, and the server still serves requests.
    let log = server.wait_for_log("WSGIRS0212", std::time::Duration::from_secs(10));
    assert!(lines_with(&log, "WSGIRS0212").len() >= 2, "{log}");
    assert_logged(&server, "WSGIRS0212", "apps/req_input.wsgi");
    let ok = server.post("/input/read", b"fine");
    assert_eq!(ok.status, 200);
    assert!(ok.text().starts_with(&summary(b"fine")), "{}", ok.text());

    assert_id_lines_well_formed(&server.error_log());
}

under_event_and_prefork!(reading, broken_bodies);
