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
    if path == '/status-long':
        start_response('2000 OK', ok)
    elif path == '/status-letters':
        start_response('abc OK', ok)
    elif path == '/status-no-space':
        start_response('200-OK', ok)
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
    elif path == '/header-name-empty':
        start_response('200 OK', [('', 'v')])
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
    elif path == '/exc-info-list':
        start_response('200 OK', ok, ['not', 'a', 'tuple'])
    elif path == '/keywords':
        start_response(status='200 OK', headers=ok)
    elif path == '/one-argument':
        start_response('200 OK')
    return [b'must not be sent']
"#;

/// mod_wsgi 6's exception types and messages (wsgi_validate.c,
/// wsgi_convert.c, wsgi_adapter.c), word for word.
#[test]
fn bad_heads_fail_before_anything_is_sent() {
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
            "/status-no-space",
            "ValueError: no space following status code: b'200-OK'",
        ),
        (
            "/status-crlf",
            "ValueError: control character in status reason phrase: b'200 OK\\r\\nX-Injected: 1'",
        ),
        ("/status-bytes", "TypeError: must be str, not bytes"),
        (
            "/header-newline",
            "ValueError: carriage return/line feed character in header value: b'a\\nX-Injected: 1'",
        ),
        ("/header-name-bytes", "TypeError: must be str, not bytes"),
        ("/header-value-int", "TypeError: must be str, not int"),
        (
            "/header-name-space",
            "ValueError: space character in header name: b'X Name'",
        ),
        ("/header-name-empty", "ValueError: header name is empty"),
        (
            "/header-value-wide",
            "UnicodeEncodeError: 'latin-1' codec can't encode character '\\u20ac' in position 0: ordinal not in range(256)",
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
            "/header-list-item",
            "TypeError: each header must be a 2-tuple, not list",
        ),
        (
            "/header-triple",
            "ValueError: each header must be a 2-tuple, got length 3",
        ),
        (
            "/bad-content-length",
            "ValueError: invalid Content-Length header value: 'ten'",
        ),
        (
            "/exc-info-list",
            "RuntimeError: start_response() argument 'exc_info' must be a 3-tuple or None",
        ),
        (
            "/keywords",
            "TypeError: start_response() takes no keyword arguments",
        ),
        (
            "/one-argument",
            "TypeError: start_response() takes at least 2 arguments (1 given)",
        ),
    ] {
        let (outcome, t) = get(HEADS, path);
        assert_eq!(outcome, Outcome::Failed, "{path}");
        assert!(t.events.is_empty(), "{path}: {:?}", t.events);
        let line = logged_once(&t, INVALID_RESPONSE_HEAD);
        assert!(
            line.contains("Exception occurred processing WSGI script '")
                && line.contains(" exception raised processing WSGI script '"),
            "{path}: {line}"
        );
        assert!(
            t.log_text().lines().any(|l| l == exception),
            "{path}: {exception} not in\n{}",
            t.log_text()
        );
        assert!(t.logged(APPLICATION_EXCEPTION).is_empty(), "{path}");
    }
}

#[test]
fn a_status_without_reason_and_values_cut_at_nul_pass_as_in_mod_wsgi() {
    let app = r#"
def application(environ, start_response):
    start_response('204', [('X-Cut', 'kept\0\r\nX-Injected: 1'), ('X:Odd', 'v')])
    return []
"#;
    let (outcome, t) = get(app, "/");
    assert_eq!(outcome, Outcome::Complete, "{}", t.log_text());
    let head = t.head().unwrap();
    assert_eq!(head.status, 204);
    assert_eq!(head.status_line, b"204");
    assert_eq!(
        head.headers,
        [
            (b"X-Cut".to_vec(), b"kept".to_vec()),
            (b"X:Odd".to_vec(), b"v".to_vec())
        ]
    );
}

#[test]
fn start_response_and_write_kept_past_their_request_are_refused() {
    let keep = r#"
import sys
def application(environ, start_response):
    sys._unit_kept_start_response = start_response
    sys._unit_kept_write = start_response('200 OK', [])
    return [b'first']
"#;
    let (_, t) = get(keep, "/");
    assert_eq!(t.text(), "first");
    let reuse = r#"
import sys
def application(environ, start_response):
    start_response('200 OK', [])
    out = []
    for call in (lambda: sys._unit_kept_start_response('200 OK', []),
                 lambda: sys._unit_kept_write(b'late')):
        try:
            call()
        except RuntimeError as e:
            out.append(str(e))
    return ['; '.join(out).encode()]
"#;
    let (outcome, t) = get(reuse, "/");
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(
        t.text(),
        "start_response() called after request completed; write() called after request completed"
    );
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
fn a_second_call_before_output_replaces_the_head_as_in_mod_wsgi() {
    let app = r#"
def application(environ, start_response):
    start_response('200 OK', [('X-First', '1')], None)
    start_response('404 Not Found', [('X-Second', '2')])
    return [b'replaced']
"#;
    let (outcome, t) = get(app, "/");
    assert_eq!(outcome, Outcome::Complete, "{}", t.log_text());
    assert_eq!(t.status(), Some(404));
    assert_eq!(
        t.head().unwrap().headers,
        [(b"X-Second".to_vec(), b"2".to_vec())]
    );
    assert_eq!(t.text(), "replaced");
}

#[test]
fn a_second_call_after_output_needs_exc_info() {
    let app = r#"
def application(environ, start_response):
    write = start_response('200 OK', [], None)
    write(b'out;')
    try:
        start_response('500 Error', [], None)
    except RuntimeError as e:
        return [str(e).encode()]
"#;
    let (outcome, t) = get(app, "/");
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(t.status(), Some(200));
    assert_eq!(
        t.text(),
        "out;start_response() called more than once without exc_info"
    );
}
