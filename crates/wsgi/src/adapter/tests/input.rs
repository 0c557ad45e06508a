//! wsgi.input through the adapter: the file-like methods over bodies that
//! arrive in pieces, the end of the body, chunked bodies, and bodies that
//! end early or fail (OSError for the application, one log line).

use super::logged_once;
use crate::adapter::Outcome;
use crate::messages::REQUEST_BODY_FAILED;
use crate::test_support::{BodyEnd, RecordingTransport, RequestOptions, run_app};

const INPUT: &str = r#"
def application(environ, start_response):
    inp = environ['wsgi.input']
    path = environ['PATH_INFO']
    if path == '/read':
        data = inp.read(-1) if environ.get('QUERY_STRING') == 'negative' else inp.read()
        # Past the end: every call returns b'' at once.
        out = [data, inp.read(), inp.read(10), inp.readline(), inp.readlines(), inp.read(0)]
    elif path == '/sized':
        out = []
        while True:
            chunk = inp.read(4)
            if not chunk:
                break
            out.append(chunk)
    elif path == '/ops':
        out = [
            inp.read(0),
            inp.readline(),
            inp.readline(5),
            inp.readline(),
            inp.read(3),
            inp.readline(100),
            inp.read(),
            inp.read(),
            inp.readline(),
            inp.read(5),
            inp.readlines(),
        ]
    elif path == '/readlines':
        out = inp.readlines()
    elif path == '/readlines-hint':
        out = [inp.readlines(3), inp.read()]
    elif path == '/iter':
        out = list(inp)
    elif path == '/catch':
        try:
            out = inp.read()
        except OSError as e:
            first = '%s: %s' % (type(e).__name__, e)
            try:
                inp.readline()
            except OSError as again:
                out = [first, str(again) == str(e)]
    else:
        out = 'unknown path %r' % path
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [ascii(out).encode()]
"#;

const LINES: &[u8] = b"line one\nline two is longer\nshort\nrest without newline";

fn post(path: &str, body: &[u8], read_size: usize) -> String {
    post_with(
        RequestOptions::default(),
        RecordingTransport::post(path, body).read_size(read_size),
    )
}

fn post_with(options: RequestOptions, transport: RecordingTransport) -> String {
    let (outcome, t) = run_app(INPUT, options, transport);
    assert_eq!(outcome, Outcome::Complete, "{}", t.log_text());
    t.text()
}

#[test]
fn the_file_methods_whatever_the_network_hands_over() {
    for read_size in [1, 3, 7, usize::MAX] {
        assert_eq!(
            post("/ops", LINES, read_size),
            r"[b'', b'line one\n', b'line ', b'two is longer\n', b'sho', b'rt\n', b'rest without newline', b'', b'', b'', []]",
            "read_size {read_size}"
        );
        let lines = b"a\nb\n\nc";
        let all = r"[b'a\n', b'b\n', b'\n', b'c']";
        assert_eq!(post("/readlines", lines, read_size), all);
        assert_eq!(post("/iter", lines, read_size), all);
        assert_eq!(
            post("/readlines-hint", lines, read_size),
            r"[[b'a\n', b'b\n'], b'\nc']"
        );
        assert_eq!(
            post("/sized", b"0123456789", read_size),
            "[b'0123', b'4567', b'89']"
        );
    }
}

#[test]
fn read_returns_everything_then_nothing() {
    let after = "b'', b'', b'', [], b''";
    for path in ["/read", "/read?negative"] {
        let (path_info, query) = path.split_once('?').unwrap_or((path, ""));
        let transport =
            RecordingTransport::post(path_info, b"hello").cgi("QUERY_STRING", query.as_bytes());
        assert_eq!(
            post_with(RequestOptions::default(), transport),
            format!("[b'hello', {after}]"),
            "{path}"
        );
    }
    // No body at all: nothing is read from the transport.
    let (outcome, t) = run_app(
        INPUT,
        RequestOptions::default(),
        RecordingTransport::get("/read"),
    );
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(t.text(), format!("[b'', {after}]"));
    assert_eq!(t.calls.get().read_body, 0);
}

#[test]
fn a_chunked_body_is_read_to_its_end() {
    let chunked = RequestOptions {
        body_length: Some(None),
        ..Default::default()
    };
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (outcome, t) = run_app(
        "def application(environ, start_response):\n    data = environ['wsgi.input'].read()\n    start_response('200 OK', [])\n    return [data, environ['wsgi.input'].read()]\n",
        chunked,
        RecordingTransport::post("/", &body).read_size(8192),
    );
    assert_eq!(outcome, Outcome::Complete);
    assert!(t.body() == body, "the body differs");
    assert_eq!(
        post_with(chunked, RecordingTransport::post("/readlines", b"a\nb")),
        r"[b'a\n', b'b']"
    );
}

#[test]
fn a_body_that_ends_early_is_an_oserror() {
    let short = RequestOptions {
        body_length: Some(Some(100)),
        ..Default::default()
    };
    let (outcome, t) = run_app(
        INPUT,
        short,
        RecordingTransport::post("/catch", b"0123456789").read_size(4),
    );
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(
        t.text(),
        "['OSError: request body ended early: 90 more bytes were expected (Content-Length)', True]"
    );
    let line = logged_once(&t, REQUEST_BODY_FAILED);
    assert!(line.contains("the application got OSError"), "{line}");
}

#[test]
fn a_failed_body_read_is_an_oserror() {
    let transport = RecordingTransport::post("/catch", b"0123456789").body_end(BodyEnd::Error);
    let short = RequestOptions {
        body_length: Some(Some(100)),
        ..Default::default()
    };
    let (outcome, t) = run_app(INPUT, short, transport);
    assert_eq!(outcome, Outcome::Complete);
    assert!(
        t.text()
            .starts_with("['OSError: request body could not be read: the client stopped sending'"),
        "{}",
        t.text()
    );
    logged_once(&t, REQUEST_BODY_FAILED);
}

#[test]
fn an_unread_body_is_left_alone() {
    let (outcome, t) = run_app(
        "def application(environ, start_response):\n    start_response('200 OK', [])\n    return [b'ignored']\n",
        RequestOptions::default(),
        RecordingTransport::post("/", b"a body nobody reads"),
    );
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(t.calls.get().read_body, 0);
}
