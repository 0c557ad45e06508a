//! The adapter under `wsgiref.validate.validator`, which raises
//! AssertionError on any PEP 3333 violation by the server or the
//! application; its warnings are made errors too.

use crate::adapter::Outcome;
use crate::test_support::{RecordingTransport, RequestOptions, run_app};

const VALIDATED: &str = r#"
import warnings
from wsgiref.validate import WSGIWarning, validator

warnings.simplefilter("error", WSGIWarning)

def text(start_response, body, status="200 OK"):
    body = body.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

def inner(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/get":
        environ["wsgi.errors"].write("validated app wrote to wsgi.errors\n")
        environ["wsgi.errors"].flush()
        return text(start_response, "GET ok: " + environ["QUERY_STRING"])
    if path == "/post":
        stream = environ["wsgi.input"]
        length = int(environ["CONTENT_LENGTH"])
        parts = [stream.readline(), stream.readline(), stream.read(10)]
        parts.append(stream.read(length - sum(len(p) for p in parts)))
        parts.append(stream.read(10))
        return text(start_response, repr([p.decode() for p in parts]))
    if path == "/lines":
        lines = environ["wsgi.input"].readlines()
        return text(start_response, repr([line.decode() for line in lines]))
    if path == "/stream":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written;")
        def chunks():
            for i in range(3):
                yield b"chunk %d;" % i
        return chunks()
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    return text(start_response, "no such path", "404 Not Found")

application = validator(inner)
"#;

fn run(transport: RecordingTransport) -> RecordingTransport {
    let (outcome, t) = run_app(VALIDATED, RequestOptions::default(), transport);
    assert_eq!(outcome, Outcome::Complete, "{}", t.log_text());
    let log = t.log_text();
    for bad in [
        "AssertionError",
        "WSGIWarning",
        "garbage collected without being closed",
        "WSGIRS02",
    ] {
        assert!(!log.contains(bad), "{log}");
    }
    t
}

#[test]
fn the_validator_finds_nothing() {
    let t = run(RecordingTransport::get("/get").cgi("QUERY_STRING", b"x=1"));
    assert_eq!(t.text(), "GET ok: x=1");
    assert_eq!(t.lines(), ["validated app wrote to wsgi.errors"]);

    let body = b"first line\nsecond line\nthe rest, which is longer than one read";
    let t = run(RecordingTransport::post("/post", body)
        .cgi("CONTENT_TYPE", b"text/plain")
        .read_size(7));
    assert_eq!(
        t.text(),
        "['first line\\n', 'second line\\n', 'the rest, ', 'which is longer than one read', '']"
    );

    let t = run(RecordingTransport::post("/lines", b"a\nb\nc\n"));
    assert_eq!(t.text(), "['a\\n', 'b\\n', 'c\\n']");

    let t = run(RecordingTransport::get("/stream"));
    assert_eq!(t.text(), "written;chunk 0;chunk 1;chunk 2;");

    let t = run(RecordingTransport::get("/empty"));
    assert_eq!(t.status(), Some(204));
    assert!(t.body().is_empty());
}
