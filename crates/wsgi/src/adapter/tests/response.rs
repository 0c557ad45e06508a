//! The response: write(), the iterable's kinds, close() exactly once,
//! Content-Length, and how the request ends (the adapter's `Outcome`).

use super::logged_once;
use crate::adapter::Outcome;
use crate::messages::{
    APPLICATION_EXCEPTION, BAD_RESPONSE_CHUNK, CLIENT_GONE, CLIENT_STOPPED_READING, CLOSE_FAILED,
    CONTENT_LENGTH_EXCEEDED, CONTENT_LENGTH_SHORT, EXCEPTION_AFTER_HEADERS, NO_START_RESPONSE,
};
use crate::test_support::{Event, RecordingTransport, RequestOptions, get, run_app};

const BODIES: &str = r#"
def application(environ, start_response):
    path = environ['PATH_INFO']
    start_response('200 OK', [('Content-Type', 'text/plain')])
    if path == '/list':
        return [b'one;', b'two;']
    if path == '/tuple':
        return (b'one;', b'two;')
    if path == '/generator':
        return (c for c in [b'one;', b'two;'])
    if path == '/str-whole':
        return 'text, not bytes'
    if path == '/str-list':
        return ['text, not bytes']
    if path == '/int-chunk':
        return [1]
    if path == '/int':
        return 1
    if path == '/none':
        return None
    if path == '/empty-list':
        return []
    if path == '/empty-chunks':
        return [b'', b'']
    if path == '/bytearray':
        return [bytearray(b'ba')]
"#;

#[test]
fn lists_and_tuples_are_queued_generators_sent_chunk_by_chunk() {
    for path in ["/list", "/tuple"] {
        let (outcome, t) = get(BODIES, path);
        assert_eq!(outcome, Outcome::Complete, "{path}");
        assert!(matches!(t.events[0], Event::Head(_)), "{path}");
        assert_eq!(
            t.events[1..],
            [
                Event::Queued(b"one;".to_vec()),
                Event::Queued(b"two;".to_vec())
            ],
            "{path}"
        );
        assert_eq!(
            t.calls.get().send_body,
            0,
            "{path}: no GIL release per chunk"
        );
    }
    let (outcome, t) = get(BODIES, "/generator");
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(
        t.events[1..],
        [Event::Sent(b"one;".to_vec()), Event::Sent(b"two;".to_vec())]
    );
    assert!(t.log_text().is_empty(), "{}", t.log_text());
}

#[test]
fn a_long_list_is_sent_in_bounded_pieces() {
    let app = r#"
def application(environ, start_response):
    start_response('200 OK', [])
    return [b'x' * 100000] * 5
"#;
    let (outcome, t) = get(app, "/");
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(t.body().len(), 500_000);
    assert!(t.calls.get().send_body >= 1, "{:?}", t.calls.get());
    assert!(t.calls.get().queue_body >= 2, "{:?}", t.calls.get());
}

#[test]
fn chunks_must_be_bytes() {
    for (path, kind) in [
        ("/str-whole", "str"),
        ("/str-list", "str"),
        ("/int-chunk", "int"),
        ("/bytearray", "bytearray"),
    ] {
        let (outcome, t) = get(BODIES, path);
        assert_eq!(outcome, Outcome::Failed, "{path}");
        assert!(t.events.is_empty(), "{path}: {:?}", t.events);
        logged_once(&t, APPLICATION_EXCEPTION);
        let needle = format!("{BAD_RESPONSE_CHUNK}: the response iterable yielded {kind}");
        assert!(!t.logged(&needle).is_empty(), "{path}: {}", t.log_text());
    }
    for path in ["/int", "/none"] {
        let (outcome, t) = get(BODIES, path);
        assert_eq!(outcome, Outcome::Failed, "{path}");
        assert!(t.events.is_empty(), "{path}");
        logged_once(&t, APPLICATION_EXCEPTION);
        assert!(
            !t.logged("TypeError").is_empty(),
            "{path}: {}",
            t.log_text()
        );
    }
}

#[test]
fn empty_responses_send_the_head_only() {
    for path in ["/empty-list", "/empty-chunks"] {
        let (outcome, t) = get(BODIES, path);
        assert_eq!(outcome, Outcome::Complete, "{path}");
        assert_eq!(t.events.len(), 1, "{path}: {:?}", t.events);
        assert_eq!(t.status(), Some(200));
    }
}

#[test]
fn a_bad_chunk_after_the_first_truncates() {
    let app = r#"
def application(environ, start_response):
    start_response('200 OK', [])
    yield b'x' * 100
    yield 1
"#;
    let (outcome, t) = get(app, "/");
    assert_eq!(outcome, Outcome::Truncated);
    assert_eq!(t.body(), vec![b'x'; 100]);
    logged_once(&t, EXCEPTION_AFTER_HEADERS);
    assert!(!t.logged(BAD_RESPONSE_CHUNK).is_empty());
}

#[test]
fn an_empty_first_chunk_does_not_commit_the_response() {
    let app = r#"
def application(environ, start_response):
    start_response('200 OK', [])
    yield b''
    raise ValueError('after an empty chunk')
"#;
    let (outcome, t) = get(app, "/");
    assert_eq!(outcome, Outcome::Failed);
    assert!(t.events.is_empty(), "{:?}", t.events);
    logged_once(&t, APPLICATION_EXCEPTION);
}

#[test]
fn no_start_response_is_an_error() {
    for app in [
        "def application(environ, start_response):\n    return [b'body without']\n",
        "def application(environ, start_response):\n    return []\n",
    ] {
        let (outcome, t) = get(app, "/");
        assert_eq!(outcome, Outcome::Failed, "{app}");
        assert!(t.events.is_empty());
        logged_once(&t, APPLICATION_EXCEPTION);
        assert!(!t.logged(NO_START_RESPONSE).is_empty(), "{}", t.log_text());
    }
}

#[test]
fn exceptions_fail_cleanly_with_the_traceback_logged() {
    let app = r#"
def application(environ, start_response):
    path = environ['PATH_INFO']
    if path == '/before-start':
        raise ValueError('SECRET-before-start_response')
    start_response('200 OK', [])
    if path == '/after-start':
        raise ValueError('SECRET-after-start_response')
    def body():
        raise ValueError('SECRET-in-generator')
        yield b''
    return body()
"#;
    for (path, secret) in [
        ("/before-start", "SECRET-before-start_response"),
        ("/after-start", "SECRET-after-start_response"),
        ("/in-generator", "SECRET-in-generator"),
    ] {
        let (outcome, t) = get(app, path);
        assert_eq!(outcome, Outcome::Failed, "{path}");
        assert!(t.events.is_empty(), "{path}: nothing is sent");
        logged_once(&t, APPLICATION_EXCEPTION);
        let log = t.log_text();
        assert!(log.contains("Traceback (most recent call last):"), "{log}");
        assert!(log.contains("app.wsgi\", line "), "{log}");
        assert!(log.contains(&format!("ValueError: {secret}")), "{log}");
    }
}

const WRITES: &str = r#"
def application(environ, start_response):
    path = environ['PATH_INFO']
    write = start_response('200 OK', [])
    if path == '/write-str':
        try:
            write('text')
        except TypeError as e:
            return [('TypeError: %s' % e).encode()]
    if path == '/write-str-uncaught':
        write('text')
    if path == '/write-then-list':
        write(b'written;')
        write(b'')
        return [b'returned;']
    if path == '/write-then-generator':
        write(b'written;')
        return (c for c in [b'yielded;'])
    return []
"#;

#[test]
fn write_sends_at_once_and_mixes_with_the_iterable() {
    let (outcome, t) = get(WRITES, "/write-then-list");
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(
        t.events[1..],
        [
            Event::Sent(b"written;".to_vec()),
            Event::Queued(b"returned;".to_vec())
        ]
    );
    let (outcome, t) = get(WRITES, "/write-then-generator");
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(t.text(), "written;yielded;");
    assert_eq!(t.calls.get().set_head, 1);
}

#[test]
fn write_takes_bytes_only() {
    let (outcome, t) = get(WRITES, "/write-str");
    assert_eq!(outcome, Outcome::Complete);
    assert!(
        t.text()
            .starts_with("TypeError: write() argument must be bytes, not str"),
        "{}",
        t.text()
    );
    let (outcome, t) = get(WRITES, "/write-str-uncaught");
    assert_eq!(outcome, Outcome::Failed);
    assert!(t.events.is_empty());
    logged_once(&t, APPLICATION_EXCEPTION);
}

#[test]
fn write_after_a_replaced_start_response_uses_the_new_head() {
    let app = r#"
import sys
def application(environ, start_response):
    write = start_response('200 OK', [])
    try:
        raise KeyError('x')
    except KeyError:
        write = start_response('500 Oops', [], sys.exc_info())
    write(b'oops')
    return []
"#;
    let (outcome, t) = get(app, "/");
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(t.status(), Some(500));
    assert_eq!(t.body(), b"oops");
}

const CLOSES: &str = r#"
class Body:
    def __init__(self, environ, chunks, fail_at=None, close_fails=False):
        self.log = environ['wsgi.errors']
        self.chunks = chunks
        self.fail_at = fail_at
        self.close_fails = close_fails
        self.produced = 0
    def __iter__(self):
        return self
    def __next__(self):
        if self.produced == self.fail_at:
            raise ValueError('SECRET-during-iteration')
        if self.produced == len(self.chunks):
            raise StopIteration
        self.produced += 1
        return self.chunks[self.produced - 1]
    def close(self):
        self.log.write('closed after %d chunks\n' % self.produced)
        if self.close_fails:
            raise RuntimeError('close() failed')

def application(environ, start_response):
    path = environ['PATH_INFO']
    start_response('200 OK', [])
    if path == '/ok':
        return Body(environ, [b'one;', b'two;'])
    if path == '/raise':
        return Body(environ, [b'one;', b'two;'], fail_at=1)
    if path == '/raise-first':
        return Body(environ, [b'one;'], fail_at=0)
    if path == '/close-fails':
        return Body(environ, [b'complete body'], close_fails=True)
    if path == '/endless':
        return Body(environ, [b'x' * 1000] * 2000)
"#;

fn closes(t: &RecordingTransport) -> Vec<String> {
    t.logged("closed after")
}

#[test]
fn close_is_called_exactly_once() {
    let (outcome, t) = get(CLOSES, "/ok");
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(t.text(), "one;two;");
    assert_eq!(closes(&t), ["closed after 2 chunks"]);

    let (outcome, t) = get(CLOSES, "/raise");
    assert_eq!(outcome, Outcome::Truncated);
    assert_eq!(t.text(), "one;");
    logged_once(&t, EXCEPTION_AFTER_HEADERS);
    assert_eq!(closes(&t), ["closed after 1 chunks"]);

    let (outcome, t) = get(CLOSES, "/raise-first");
    assert_eq!(outcome, Outcome::Failed);
    assert!(t.events.is_empty());
    assert_eq!(closes(&t), ["closed after 0 chunks"]);

    let (outcome, t) = get(CLOSES, "/close-fails");
    assert_eq!(
        outcome,
        Outcome::Complete,
        "the response was already complete"
    );
    assert_eq!(t.text(), "complete body");
    assert_eq!(closes(&t), ["closed after 1 chunks"]);
    logged_once(&t, CLOSE_FAILED);
    assert!(!t.logged("RuntimeError: close() failed").is_empty());
}

#[test]
fn a_client_gone_stops_the_response_and_closes_once() {
    let (outcome, t) = run_app(
        CLOSES,
        RequestOptions::default(),
        RecordingTransport::get("/endless").fail_sends_after(3),
    );
    assert_eq!(outcome, Outcome::ClientGone);
    assert_eq!(t.body().len(), 3000, "three sends went out");
    assert_eq!(t.calls.get().send_body, 4, "no send after the failed one");
    assert_eq!(closes(&t), ["closed after 4 chunks"]);
    logged_once(&t, CLIENT_GONE);
    assert!(
        t.logged(EXCEPTION_AFTER_HEADERS).is_empty(),
        "{}",
        t.log_text()
    );
}

#[test]
fn a_client_that_stops_reading_is_said_once_as_a_write_timeout() {
    let (outcome, t) = run_app(
        CLOSES,
        RequestOptions::default(),
        RecordingTransport::get("/endless").stall_sends_after(3),
    );
    assert_eq!(outcome, Outcome::ClientGone);
    assert_eq!(closes(&t), ["closed after 4 chunks"]);
    let line = logged_once(&t, CLIENT_STOPPED_READING);
    assert!(
        line.contains(
            "stopped reading the response: a write to it blocked for longer than Timeout (1 s)"
        ),
        "{line}"
    );
    assert!(t.logged(CLIENT_GONE).is_empty(), "{}", t.log_text());
}

#[test]
fn write_to_a_gone_client_raises_oserror() {
    let app = r#"
def application(environ, start_response):
    write = start_response('200 OK', [])
    write(b'one')
    try:
        write(b'two')
    except OSError as e:
        environ['wsgi.errors'].write('write raised OSError\n')
    write(b'three')
"#;
    let (outcome, t) = run_app(
        app,
        RequestOptions::default(),
        RecordingTransport::get("/").fail_sends_after(1),
    );
    assert_eq!(outcome, Outcome::ClientGone);
    assert_eq!(t.body(), b"one");
    assert_eq!(
        t.logged("write raised OSError").len(),
        1,
        "{}",
        t.log_text()
    );
    assert_eq!(
        t.calls.get().send_body,
        2,
        "nothing is tried after the failure"
    );
}

const LENGTHS: &str = r#"
def application(environ, start_response):
    path = environ['PATH_INFO']
    if path.startswith('/too-long'):
        start_response('200 OK', [('Content-Length', '10')])
        chunks = [b'0123456', b'789abc', b'never']
    elif path.startswith('/too-short'):
        start_response('200 OK', [('Content-Length', '20')])
        chunks = [] if path.endswith('empty') else [b'only ', b'ten b']
    elif path == '/204':
        start_response('204 No Content', [('Content-Length', '20')])
        chunks = []
    elif path == '/304':
        start_response('304 Not Modified', [('ETag', '"abc"'), ('Content-Length', '20')])
        chunks = []
    else:
        start_response('200 OK', [('Content-Length', '30')])
        chunks = [b'a body that HEAD must not send']
    if path.endswith('generator'):
        def produce():
            for c in chunks:
                environ['wsgi.errors'].write('produced %r\n' % c)
                yield c
        return produce()
    return chunks
"#;

#[test]
fn never_more_than_the_declared_length() {
    for path in ["/too-long", "/too-long-generator"] {
        let (outcome, t) = get(LENGTHS, path);
        assert_eq!(outcome, Outcome::Complete, "{path}");
        assert_eq!(t.header("Content-Length").as_deref(), Some("10"));
        assert_eq!(t.body(), b"0123456789", "{path}");
        logged_once(&t, CONTENT_LENGTH_EXCEEDED);
        assert!(
            t.logged("produced b'never'").is_empty(),
            "{path}: the iterable is not read past the length"
        );
    }
}

#[test]
fn fewer_than_the_declared_length_truncates() {
    for (path, sent) in [
        ("/too-short", &b"only ten b"[..]),
        ("/too-short-generator", b"only ten b"),
        ("/too-short-empty", b""),
    ] {
        let (outcome, t) = get(LENGTHS, path);
        assert_eq!(outcome, Outcome::Truncated, "{path}");
        assert_eq!(t.status(), Some(200));
        assert_eq!(t.body(), sent, "{path}");
        let line = logged_once(&t, CONTENT_LENGTH_SHORT);
        assert!(line.contains("declared Content-Length 20"), "{line}");
    }
}

#[test]
fn bodiless_responses_need_no_body() {
    for path in ["/204", "/304"] {
        let (outcome, t) = get(LENGTHS, path);
        assert_eq!(outcome, Outcome::Complete, "{path}: {}", t.log_text());
        assert_eq!(t.events.len(), 1, "{path}");
    }
    let (_, t) = get(LENGTHS, "/304");
    assert_eq!(t.header("ETag").as_deref(), Some("\"abc\""));
    let head = RequestOptions {
        discard_body: true,
        ..Default::default()
    };
    for path in ["/too-short", "/too-short-empty", "/head"] {
        let (outcome, t) = run_app(LENGTHS, head, RecordingTransport::get(path));
        assert_eq!(outcome, Outcome::Complete, "{path}: {}", t.log_text());
        assert!(t.logged(CONTENT_LENGTH_SHORT).is_empty(), "{path}");
    }
}

const OVERRIDE: &str = r#"
def application(environ, start_response):
    status = environ['PATH_INFO'][1:]
    start_response(status + ' Whatever', [('Content-Type', 'text/plain')])
    return [b"the application's own body"]
"#;

#[test]
fn error_override_hands_error_statuses_to_the_server() {
    let on = RequestOptions {
        error_override: true,
        ..Default::default()
    };
    let (outcome, t) = run_app(OVERRIDE, on, RecordingTransport::get("/404"));
    assert_eq!(outcome, Outcome::ErrorOverride(404));
    assert!(t.events.is_empty(), "{:?}", t.events);
    let (outcome, t) = run_app(OVERRIDE, on, RecordingTransport::get("/200"));
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(t.text(), "the application's own body");
    let (outcome, t) = get(OVERRIDE, "/404");
    assert_eq!(outcome, Outcome::Complete, "override off");
    assert_eq!(t.status(), Some(404));
    assert_eq!(t.text(), "the application's own body");
}

#[test]
fn a_missing_application_fails() {
    let (outcome, t) = get("app = None\n", "/");
    assert_eq!(outcome, Outcome::Failed);
    assert!(t.events.is_empty());
    assert!(
        !t.logged("does not contain WSGI application 'application'")
            .is_empty(),
        "{}",
        t.log_text()
    );
    let (outcome, t) = get("def application(:\n", "/");
    assert_eq!(outcome, Outcome::Failed);
    assert!(!t.logged("SyntaxError").is_empty(), "{}", t.log_text());
}
