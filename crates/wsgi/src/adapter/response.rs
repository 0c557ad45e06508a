//! Calling the application and passing its response on: chunk by chunk as
//! it arrives, headers with the first non-empty chunk, never more than the
//! declared Content-Length, and `close()` exactly once whatever happens.

use std::sync::Arc;

use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use super::exchange::Exchange;
use super::file_wrapper::FileWrapper;
use super::send::{Progress, SendMode, ensure_head_sent, send_chunk};
use super::start_response::StartResponse;
use super::transport::Outcome;
use crate::messages::{self, Level};
use crate::python::ffi::heap_type::Instance;
use crate::python::request_timeout::is_request_timeout;

/// Logs an exception with its traceback, one log line per traceback line.
pub(crate) fn log_exception(
    py: Python<'_>,
    exchange: &Exchange,
    id: &str,
    text: &str,
    error: &PyErr,
) {
    exchange.log(Level::Error, id, text);
    for line in crate::python::module::events::traceback_lines(py, error) {
        exchange.log_raw(Level::Error, &line);
    }
    if let Some(group) = crate::python::per_interpreter::refusing_group(py, error) {
        exchange.log(
            Level::Error,
            messages::SUB_INTERPRETER_REFUSED,
            &format!(
                "an extension module refuses to run in sub-interpreter '{group}' (application \
                 group '{group}'); run this application in the main interpreter with \
                 'WSGIApplicationGroup %{{GLOBAL}}' (or application-group=%{{GLOBAL}})"
            ),
        );
    }
}

/// The words mod_wsgi's users grep for (4.x's "Exception occurred
/// processing WSGI script 'X'", 6.x's "ValueError exception raised
/// processing WSGI script 'X'"), in that order, then `after`.
pub(crate) fn exception_text(
    py: Python<'_>,
    exchange: &Exchange,
    error: &PyErr,
    after: &str,
) -> String {
    let script = exchange.log_context.script.as_deref().unwrap_or_default();
    let kind = error
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".to_owned());
    format!(
        "Exception occurred processing WSGI script '{script}': {kind} exception raised processing WSGI script '{script}'; {after}"
    )
}

/// What an exception from the application means for the response.
fn failure(py: Python<'_>, exchange: &Exchange, error: PyErr) -> Outcome {
    let (client_gone, headers_sent, stalled) = {
        let mut state = exchange.state();
        let stalled = state.response.stalled_client.take();
        (
            state.response.client_gone,
            state.response.headers_sent,
            stalled,
        )
    };
    if let Some(why) = stalled {
        exchange.log(
            Level::Info,
            messages::CLIENT_STOPPED_READING,
            &format!("the client stopped reading the response: {why}; the response was cut short"),
        );
        return Outcome::ClientGone;
    }
    if client_gone {
        exchange.log(
            Level::Info,
            messages::CLIENT_GONE,
            "the client closed the connection before the response was complete",
        );
        return Outcome::ClientGone;
    }
    // mod_wsgi 6: RequestTimeout (raised by the daemon's monitor, or by the
    // application itself) is a 504 and an info line, not a traceback.
    if is_request_timeout(py, &error) {
        return if headers_sent {
            exchange.log(
                Level::Info,
                messages::REQUEST_TIMEOUT_RAISED,
                "Request interrupted by RequestTimeout after headers sent; response truncated.",
            );
            Outcome::Truncated
        } else {
            exchange.log(
                Level::Info,
                messages::REQUEST_TIMEOUT_RAISED,
                "Request interrupted by RequestTimeout; thread recovered. The client gets 504.",
            );
            Outcome::ErrorOverride(504)
        };
    }
    let outcome = if headers_sent {
        let text = exception_text(
            py,
            exchange,
            &error,
            "the response had started and was cut short",
        );
        log_exception(
            py,
            exchange,
            messages::EXCEPTION_AFTER_HEADERS,
            &text,
            &error,
        );
        Outcome::Truncated
    } else {
        // An exception start_response raised names the bad call's id.
        let refused_head = exchange
            .state()
            .response
            .refused_head
            .as_ref()
            .is_some_and(|refused| refused.bind(py).is(error.value(py)));
        let (id, after) = if refused_head {
            (
                messages::INVALID_RESPONSE_HEAD,
                "start_response() refused the call; the client got 500",
            )
        } else {
            (messages::APPLICATION_EXCEPTION, "the client got 500")
        };
        let text = exception_text(py, exchange, &error, after);
        log_exception(py, exchange, id, &text, &error);
        Outcome::Failed
    };
    // Logged first, then published, as mod_wsgi's wsgi_log_python_error.
    super::events::request_exception(py, exchange, &error);
    outcome
}

fn chunk_bytes<'a, 'py>(item: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, PyBytes>> {
    item.cast::<PyBytes>().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "{}: the response iterable yielded {}, but WSGI requires bytes",
            messages::BAD_RESPONSE_CHUNK,
            item.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}

fn send_iterable(py: Python<'_>, exchange: &Exchange, result: &Bound<'_, PyAny>) -> PyResult<()> {
    // Lists and tuples are complete already: queue them and let the host
    // send everything at the end, without releasing the GIL per chunk.
    if let Ok(list) = result.cast_exact::<PyList>() {
        for item in list.iter() {
            if send_chunk(
                py,
                exchange,
                chunk_bytes(&item)?.as_bytes(),
                SendMode::Queue,
            )? == Progress::Enough
            {
                break;
            }
        }
        return Ok(());
    }
    if let Ok(tuple) = result.cast_exact::<PyTuple>() {
        for item in tuple.iter() {
            if send_chunk(
                py,
                exchange,
                chunk_bytes(&item)?.as_bytes(),
                SendMode::Queue,
            )? == Progress::Enough
            {
                break;
            }
        }
        return Ok(());
    }
    for item in result.try_iter()? {
        let item = item?;
        if send_chunk(py, exchange, chunk_bytes(&item)?.as_bytes(), SendMode::Now)?
            == Progress::Enough
        {
            break;
        }
    }
    Ok(())
}

/// Sends a `wsgi.file_wrapper` of a real file with the transport's file
/// path (sendfile). `Ok(false)` means it is not such a file: iterate instead.
fn send_wrapped_file(py: Python<'_>, exchange: &Exchange, wrapper: &FileWrapper) -> PyResult<bool> {
    let Some(file) = wrapper.regular_file(py) else {
        return Ok(false);
    };
    if !ensure_head_sent(exchange)? {
        return Ok(true);
    }
    let length = {
        let state = exchange.state();
        let available = file.size.saturating_sub(file.offset);
        match state.response.declared_length {
            Some(declared) => available.min(declared.saturating_sub(state.response.body_sent)),
            None => available,
        }
    };
    if length == 0 {
        return Ok(true);
    }
    let result = exchange
        .with_transport_detached(py, |t| t.send_file(file.fd, file.offset, length))
        .map_err(|u| u.into_pyerr())?;
    let mut state = exchange.state();
    state.response.writes += 1;
    match result {
        Ok(()) => {
            state.response.body_sent += length;
            Ok(true)
        }
        Err(e) => {
            state.response.gone_with(&e);
            Err(PyOSError::new_err(format!(
                "the file could not be sent: {e}"
            )))
        }
    }
}

/// After the body: send the head of an empty response, and check the
/// declared length was honoured.
fn complete(exchange: &Exchange, discard_body: bool) -> PyResult<Outcome> {
    if exchange.state().response.head.is_none() {
        return Err(PyRuntimeError::new_err(format!(
            "{}: the application returned without calling start_response()",
            messages::NO_START_RESPONSE
        )));
    }
    ensure_head_sent(exchange)?;
    let state = exchange.state();
    let response = &state.response;
    if let Some(status) = response.override_status {
        return Ok(Outcome::ErrorOverride(status));
    }
    if response.client_gone {
        return Ok(Outcome::ClientGone);
    }
    let status = response.head.as_ref().map_or(200, |h| h.status);
    let bodiless = discard_body || status < 200 || status == 204 || status == 304;
    if let Some(declared) = response
        .declared_length
        .filter(|d| *d > response.body_sent && !bodiless)
    {
        let sent = response.body_sent;
        drop(state);
        exchange.log(
            Level::Error,
            messages::CONTENT_LENGTH_SHORT,
            &format!("the application sent {sent} bytes but declared Content-Length {declared}; the connection is closed so the client sees the response is incomplete"),
        );
        return Ok(Outcome::Truncated);
    }
    Ok(Outcome::Complete)
}

/// Calls the application and sends its response.
pub(crate) fn respond(
    py: Python<'_>,
    exchange: &Arc<Exchange>,
    application: &Bound<'_, PyAny>,
    environ: Bound<'_, PyDict>,
    discard_body: bool,
) -> Outcome {
    let start_response = match StartResponse::new_object(py, exchange.clone()) {
        Ok(s) => s,
        Err(e) => return failure(py, exchange, e),
    };
    let result = match application.call1((environ, start_response)) {
        Ok(result) => result,
        Err(e) => return failure(py, exchange, e),
    };
    let sent = match result.cast_exact::<FileWrapper>() {
        Ok(wrapper) => match send_wrapped_file(py, exchange, wrapper.payload()) {
            Ok(true) => Ok(()),
            Ok(false) => send_iterable(py, exchange, &result),
            Err(e) => Err(e),
        },
        Err(_) => send_iterable(py, exchange, &result),
    };
    let mut outcome = match sent.and_then(|()| complete(exchange, discard_body)) {
        Ok(outcome) => outcome,
        Err(e) => failure(py, exchange, e),
    };
    // close() exactly once, on success, error and disconnect alike. Lists
    // and tuples have none; skip the attribute lookup for them.
    let has_no_close =
        result.is_exact_instance_of::<PyList>() || result.is_exact_instance_of::<PyTuple>();
    if !has_no_close
        && let Ok(close) = result.getattr(intern!(py, "close"))
        && let Err(e) = close.call0()
        // One that reaches close() is dropped silently, as mod_wsgi does.
        && !is_request_timeout(py, &e)
    {
        let text = exception_text(
            py,
            exchange,
            &e,
            "raised by close() of the response iterable",
        );
        log_exception(py, exchange, messages::CLOSE_FAILED, &text, &e);
        super::events::request_exception(py, exchange, &e);
        if outcome == Outcome::Complete && !exchange.state().response.headers_sent {
            outcome = Outcome::Failed;
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::tests::{exchange, finish};
    use crate::test_support::{RecordingTransport, with_python};

    #[test]
    fn logged_exceptions_carry_their_traceback() {
        let exchange = exchange(RecordingTransport::get("/"), Some(0));
        let t = with_python(|py| {
            let error = py
                .run(
                    c"def failing_function():\n    raise ValueError('boom')\nfailing_function()\n",
                    None,
                    None,
                )
                .unwrap_err();
            log_exception(py, &exchange, "WSGIRS0203", "it failed", &error);
            finish(py, &exchange)
        });
        let lines = t.lines();
        assert!(lines[0].ends_with("script='/srv/app.wsgi'): WSGIRS0203: it failed"));
        assert_eq!(lines[1], "Traceback (most recent call last):");
        assert!(
            lines.iter().any(|l| l.contains("in failing_function")),
            "{lines:?}"
        );
        assert_eq!(lines.last().unwrap(), "ValueError: boom");
    }
}

#[cfg(test)]
mod request_timeout_tests {
    use pyo3::prelude::*;

    use crate::adapter::Outcome;
    use crate::messages::{APPLICATION_EXCEPTION, REQUEST_TIMEOUT_RAISED};
    use crate::python::request_timeout::RequestTimeout;
    use crate::test_support::{get, with_python};

    /// Applications here raise the class as `_RequestTimeout` (a builtin
    /// for the tests: the `mod_wsgi` module is built elsewhere).
    const APP: &str = r#"
class Sub(_RequestTimeout):
    pass

class Closing:
    def __iter__(self):
        yield b'body;'
    def close(self):
        raise _RequestTimeout()

def application(environ, start_response):
    path = environ['PATH_INFO']
    if path == '/before':
        try:
            raise _RequestTimeout()
        except Exception:
            start_response('200 OK', [])
            return [b'swallowed by except Exception']
    if path == '/subclass':
        raise Sub()
    if path == '/after-start-response':
        start_response('200 OK', [])
        raise _RequestTimeout()
    if path == '/in-close':
        start_response('200 OK', [])
        return Closing()
    if path == '/other':
        raise SystemExit(3)
    start_response('200 OK', [])
    def body():
        yield b'first;'
        raise _RequestTimeout()
    return body()
"#;

    fn run(path: &str) -> (Outcome, crate::test_support::RecordingTransport) {
        with_python(|py| {
            py.import("builtins")
                .unwrap()
                .setattr("_RequestTimeout", py.get_type::<RequestTimeout>())
                .unwrap();
        });
        get(APP, path)
    }

    #[test]
    fn request_timeout_before_the_response_is_a_504_and_an_info_line() {
        for path in ["/before", "/subclass", "/after-start-response"] {
            let (outcome, t) = run(path);
            assert_eq!(outcome, Outcome::ErrorOverride(504), "{path}");
            let lines = t.logged(REQUEST_TIMEOUT_RAISED);
            assert_eq!(lines.len(), 1, "{path}: {}", t.log_text());
            assert!(
                lines[0].contains("Request interrupted by RequestTimeout; thread recovered."),
                "{}",
                lines[0]
            );
            assert!(!t.log_text().contains("Traceback"), "{}", t.log_text());
            assert!(t.body().is_empty(), "{path}");
        }
    }

    #[test]
    fn request_timeout_after_the_headers_cuts_the_response_short() {
        let (outcome, t) = run("/after-headers");
        assert_eq!(outcome, Outcome::Truncated);
        assert_eq!(t.body(), b"first;");
        let lines = t.logged(REQUEST_TIMEOUT_RAISED);
        assert_eq!(lines.len(), 1, "{}", t.log_text());
        assert!(lines[0].contains("after headers sent; response truncated"));
        assert!(!t.log_text().contains("Traceback"), "{}", t.log_text());
    }

    #[test]
    fn request_timeout_from_close_is_dropped_silently() {
        let (outcome, t) = run("/in-close");
        assert_eq!(outcome, Outcome::Complete);
        assert_eq!(t.body(), b"body;");
        assert!(t.log_text().is_empty(), "{}", t.log_text());
    }

    #[test]
    fn other_base_exceptions_are_still_errors() {
        let (outcome, t) = run("/other");
        assert_eq!(outcome, Outcome::Failed);
        assert_eq!(t.logged(APPLICATION_EXCEPTION).len(), 1, "{}", t.log_text());
        assert!(t.logged(REQUEST_TIMEOUT_RAISED).is_empty());
    }

    #[test]
    fn the_class_is_the_one_the_adapter_matches() {
        with_python(|py| {
            let error = PyErr::new::<RequestTimeout, _>(());
            assert!(crate::python::request_timeout::is_request_timeout(
                py, &error
            ));
        });
    }
}
