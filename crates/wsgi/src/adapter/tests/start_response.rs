//! start_response: status and header checks, a second call, exc_info
//! before and after the headers went out.

use super::logged_once;
use crate::adapter::Outcome;
use crate::messages::{APPLICATION_EXCEPTION, EXCEPTION_AFTER_HEADERS, INVALID_RESPONSE_HEAD};
use crate::test_support::get;

const HEADS: &str = r#"
def application(environ, start_response):
    path = environ['PATH_INFO']
    ok = [('Content-Type', 'text/plain')]
    if path == '/status-no-reason':
        start_response('200', ok)
    elif path == '/status-letters':
        start_response('abc OK', ok)
    elif path == '/status-crlf':
        start_response('200 OK\r\nX-Injected: 1', ok)
    elif path == '/status-bytes':
        start_response(b'200 OK', ok)
    elif path == '/header-newline':
        start_response('200 OK', [('X-Value', 'a\nX-Injected: 1')])
    elif path == '/header-name-bytes':
        start_response('200 OK', [(b'X-Name', 'v')])
    elif path == '/header-value-int':
        start_response('200 OK', [('X-Name', 1)])
    elif path == '/header-name-space':
        start_response('200 OK', [('X Name', 'v')])
    elif path == '/header-value-wide':
        start_response('200 OK', [('X-Name', '\u20ac')])
    elif path == '/hop-connection':
        start_response('200 OK', [('Connection', 'close')])
    elif path == '/hop-transfer-encoding':
        start_response('200 OK', [('Transfer-Encoding', 'chunked')])
    elif path == '/headers-tuple':
        start_response('200 OK', (('X-A', 'b'),))
    elif path == '/header-list-item':
        start_response('200 OK', [['X-A', 'b']])
    elif path == '/header-triple':
        start_response('200 OK', [('X-A', 'b', 'c')])
    elif path == '/bad-content-length':
        start_response('200 OK', [('Content-Length', 'ten')])
    elif path == '/twice':
        start_response('200 OK', ok)
        start_response('200 OK', ok)
    return [b'must not be sent']
"#;

#[test]
fn bad_heads_fail_before_anything_is_sent() {
    for (path, reason) in [
        ("/status-no-reason", "invalid status '200'"),
        ("/status-letters", "invalid status 'abc OK'"),
        ("/status-crlf", "invalid status"),
        ("/status-bytes", "status must be str, not bytes"),
        ("/header-newline", "header 'X-Value' has a value containing"),
        ("/header-name-bytes", "header name must be str, not bytes"),
        ("/header-value-int", "header value must be str, not int"),
        ("/header-name-space", "invalid header name 'X Name'"),
        ("/header-value-wide", "not encodable as latin-1"),
        ("/hop-connection", "hop-by-hop header 'Connection'"),
        (
            "/hop-transfer-encoding",
            "hop-by-hop header 'Transfer-Encoding'",
        ),
        (
            "/headers-tuple",
            "response headers must be a list, not tuple",
        ),
        ("/header-list-item", "must be a (name, value) tuple"),
        ("/header-triple", "tuple of two items, got 3"),
        ("/bad-content-length", "invalid Content-Length 'ten'"),
        ("/twice", "start_response() was already called"),
    ] {
        let (outcome, t) = get(HEADS, path);
        assert_eq!(outcome, Outcome::Failed, "{path}");
        assert!(t.events.is_empty(), "{path}: {:?}", t.events);
        logged_once(&t, APPLICATION_EXCEPTION);
        let reason_line = t.logged(reason);
        assert!(
            reason_line
                .iter()
                .any(|l| l.contains(INVALID_RESPONSE_HEAD)),
            "{path}: {}",
            t.log_text()
        );
    }
}

#[test]
fn the_head_is_latin1_and_passed_on_once() {
    let app = r#"
def application(environ, start_response):
    start_response('299 Caf\xe9', [('X-Caf\xe9'[:5], 'caf\xe9'), ('Content-Length', '2')])
    return [b'o', b'k']
"#;
    let (outcome, t) = get(app, "/");
    assert_eq!(outcome, Outcome::Complete);
    let head = t.head().unwrap();
    assert_eq!(head.status, 299);
    assert_eq!(head.status_line, b"299 Caf\xe9");
    assert_eq!(
        head.headers,
        [
            (b"X-Caf".to_vec(), b"caf\xe9".to_vec()),
            (b"Content-Length".to_vec(), b"2".to_vec())
        ]
    );
    assert_eq!(t.calls.get().set_head, 1);
    assert_eq!(t.body(), b"ok");
}

#[test]
fn exc_info_before_the_headers_replaces_them() {
    let app = r#"
import sys
def application(environ, start_response):
    start_response('200 OK', [('X-Original', 'yes')])
    try:
        raise KeyError('replaced')
    except KeyError:
        start_response('500 Application Error', [('X-Replaced', 'yes')], sys.exc_info())
    return [b"the application's own error page"]
"#;
    let (outcome, t) = get(app, "/");
    assert_eq!(outcome, Outcome::Complete, "{}", t.log_text());
    let head = t.head().unwrap();
    assert_eq!(head.status_line, b"500 Application Error");
    assert_eq!(t.header("X-Replaced").as_deref(), Some("yes"));
    assert_eq!(t.header("X-Original"), None);
    assert_eq!(t.body(), b"the application's own error page");
    assert_eq!(t.calls.get().set_head, 1);
}

#[test]
fn exc_info_without_a_first_call_is_a_first_call() {
    let app = r#"
import sys
def application(environ, start_response):
    try:
        raise KeyError('early')
    except KeyError:
        start_response('503 Busy', [], sys.exc_info())
    return [b'busy']
"#;
    let (outcome, t) = get(app, "/");
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(t.status(), Some(503));
    assert_eq!(t.body(), b"busy");
}

#[test]
fn exc_info_after_the_headers_reraises_the_applications_exception() {
    let app = r#"
import sys
def application(environ, start_response):
    write = start_response('200 OK', [])
    write(b'partial body;')
    try:
        raise KeyError('raised after the headers went out')
    except KeyError:
        start_response('500 Error', [], sys.exc_info())
    return [b'must not be sent']
"#;
    let (outcome, t) = get(app, "/");
    assert_eq!(outcome, Outcome::Truncated);
    assert_eq!(t.status(), Some(200));
    assert_eq!(t.body(), b"partial body;");
    logged_once(&t, EXCEPTION_AFTER_HEADERS);
    assert!(
        !t.logged("KeyError: 'raised after the headers went out'")
            .is_empty(),
        "{}",
        t.log_text()
    );
}

#[test]
fn the_reraised_exception_is_the_applications_own() {
    let app = r#"
import sys
class Mine(Exception):
    pass
def application(environ, start_response):
    write = start_response('200 OK', [])
    write(b'partial body;')
    try:
        raise Mine('x')
    except Mine:
        info = sys.exc_info()
        try:
            start_response('500 Error', [], info)
        except Mine as e:
            if e is info[1]:
                return [b're-raised']
    return [b'something else']
"#;
    let (outcome, t) = get(app, "/");
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(t.text(), "partial body;re-raised");
    assert!(t.log_text().is_empty(), "{}", t.log_text());
}

#[test]
fn exc_info_none_is_no_exc_info() {
    let app = r#"
def application(environ, start_response):
    start_response('200 OK', [], None)
    try:
        start_response('500 Error', [], None)
    except RuntimeError as e:
        return [str(e).encode()]
"#;
    let (outcome, t) = get(app, "/");
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(t.status(), Some(200));
    assert!(
        t.text().contains("start_response() was already called"),
        "{}",
        t.text()
    );
}
