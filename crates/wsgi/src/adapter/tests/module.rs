//! The adapter's side of the `mod_wsgi` module: `wsgi.file_wrapper` as
//! mod_wsgi.FileWrapper (wsgi_stream.c's checks and close()), and the
//! request registry behind `request_data()` and `active_requests`.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::adapter::{FileWrapper, Outcome};
use crate::python::module::{ProcessFacts, install, requests};
use crate::test_support::{RecordingTransport, get, run_app, with_python};

/// Runs `code` with `FileWrapper` bound; returns what it left in `result`.
fn file_wrapper_says(code: &str) -> String {
    with_python(|py| {
        let globals = PyDict::new(py);
        globals
            .set_item("FileWrapper", py.get_type::<FileWrapper>())
            .unwrap();
        let code = std::ffi::CString::new(code).unwrap();
        py.run(&code, Some(&globals), None).unwrap();
        globals
            .get_item("result")
            .unwrap()
            .expect("the code sets result")
            .str()
            .unwrap()
            .to_string()
    })
}

#[test]
fn file_wrapper_checks_as_mod_wsgi_does() {
    let said = file_wrapper_says(
        "try:\n    FileWrapper(None, -1)\nexcept ValueError as e:\n    result = e\n",
    );
    assert_eq!(said, "blksize must not be negative");
    let said = file_wrapper_says(
        "import io\nw = FileWrapper(io.StringIO('text'))\ntry:\n    next(w)\nexcept TypeError as e:\n    result = e\n",
    );
    assert_eq!(said, "file wrapper read() must return bytes, not str");
    // A blksize of 0 reads nothing, so the iteration ends at once.
    let said = file_wrapper_says("import io\nresult = list(FileWrapper(io.BytesIO(b'abc'), 0))\n");
    assert_eq!(said, "[]");
}

#[test]
fn a_closed_file_wrapper_cannot_be_read_and_close_errors_are_ignored() {
    let said = file_wrapper_says(
        "class Failing:\n    def read(self, n): return b'x'\n    def close(self): raise OSError('close failed')\n\
         w = FileWrapper(Failing())\nw.close()\nw.close()\nout = []\n\
         for f in (lambda: next(w), lambda: w.filelike):\n    try:\n        f()\n    except ValueError as e:\n        out.append(str(e))\nresult = out\n",
    );
    assert_eq!(
        said,
        "['I/O operation on closed file', 'I/O operation on closed file']"
    );
}

#[test]
fn file_wrapper_can_be_subclassed() {
    let said = file_wrapper_says(
        "import io\nclass Mine(FileWrapper):\n    pass\nresult = b''.join(Mine(io.BytesIO(b'abcdef'), 4))\n",
    );
    assert_eq!(said, "b'abcdef'");
}

const REGISTRY: &str = r#"
import mod_wsgi

def application(environ, start_response):
    data = mod_wsgi.request_data()
    data['seen'] = True
    active = mod_wsgi.active_requests
    rid = environ.get('mod_wsgi.request_id')
    mine = [k for k in active.keys() if k == rid]
    body = ascii((mine, rid in active, active.get(rid) is data,
                  active[rid] is data if rid else None, 'nope' in active))
    start_response('200 OK', [])
    return [body.encode()]
"#;

#[test]
fn active_requests_lists_the_running_request_by_its_id() {
    with_python(|_| install(&ProcessFacts::default()));
    let (outcome, t) = run_app(
        REGISTRY,
        Default::default(),
        RecordingTransport::get("/").cgi("mod_wsgi.request_id", b"unit-request-1"),
    );
    assert_eq!(outcome, Outcome::Complete, "{}", t.log_text());
    assert_eq!(t.text(), "(['unit-request-1'], True, True, True, False)");
    // The request is over: it is no longer listed, and this thread has none.
    with_python(|py| {
        let active = py
            .import("mod_wsgi")
            .unwrap()
            .getattr("active_requests")
            .unwrap();
        assert!(!active.contains("unit-request-1").unwrap());
        assert!(requests::current_data(py).is_none());
        let error = py
            .import("mod_wsgi")
            .unwrap()
            .call_method0("request_data")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "RuntimeError: no active request for thread"
        );
    });
}

#[test]
fn a_request_without_an_id_is_not_listed() {
    with_python(|_| install(&ProcessFacts::default()));
    let (outcome, t) = get(REGISTRY, "/");
    assert_eq!(outcome, Outcome::Complete, "{}", t.log_text());
    assert_eq!(t.text(), "([], False, False, None, False)");
}
