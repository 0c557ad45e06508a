//! `start_response` and the `write` callable it returns (PEP 3333), with
//! mod_wsgi 6's rules, exception types and messages (wsgi_adapter.c,
//! wsgi_convert.c, wsgi_validate.c): applications and their tests see them.
//!
//! A second call before any output replaces the status and headers, with or
//! without `exc_info`; after output, it re-raises `exc_info` or, without it,
//! is a `RuntimeError`. An `exc_info` that is not a tuple is a
//! `RuntimeError`.

use std::sync::Arc;

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use super::exchange::Exchange;
use super::send::{SendMode, send_chunk};
use super::transport::ResponseHead;
use crate::channel::MAX_FRAME;
use crate::python::ffi::heap_type::{self, Args, Flags, HeapType, Kind};
use crate::validate::{self, HeaderProblem, StatusProblem};

pub struct StartResponse {
    exchange: Arc<Exchange>,
}

static START_RESPONSE: HeapType<StartResponse> = HeapType::new(
    Kind::StartResponse,
    c"mod_wsgi_rs.StartResponse",
    None,
    Flags {
        subclass: false,
        mapping: false,
    },
    || vec![heap_type::call!(StartResponse, StartResponse::call)],
);

impl StartResponse {
    /// The request's `start_response` callable.
    pub(crate) fn new_object(
        py: Python<'_>,
        exchange: Arc<Exchange>,
    ) -> PyResult<Bound<'_, PyAny>> {
        START_RESPONSE.instance(py, StartResponse { exchange })
    }
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

/// Why a call did not start the response.
enum Refusal {
    /// A misuse or a bad status or header (logged as WSGIRS0205 if the
    /// application lets it through).
    Head(PyErr),
    /// The application's own exception, re-raised from `exc_info`.
    Reraised(PyErr),
}

impl From<PyErr> for Refusal {
    fn from(e: PyErr) -> Self {
        Refusal::Head(e)
    }
}

/// `str` to latin-1 bytes, as mod_wsgi's `wsgi_convert_string_to_bytes`.
fn latin1(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let text = value
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("must be str, not {}", type_name(value))))?;
    if let Ok(s) = text.to_str() {
        if s.is_ascii() {
            return Ok(s.as_bytes().to_vec());
        }
        if s.chars().all(|c| u32::from(c) < 0x100) {
            return Ok(s.chars().map(|c| u32::from(c) as u8).collect());
        }
    }
    // Not latin-1: the codec raises its own UnicodeEncodeError, as
    // PyUnicode_AsLatin1String does in mod_wsgi.
    let encoded = text.call_method1(intern!(py, "encode"), (intern!(py, "latin-1"),))?;
    Ok(encoded.cast::<PyBytes>()?.as_bytes().to_vec())
}

/// Python's `repr` of the bytes, as mod_wsgi's `%R`.
fn repr(py: Python<'_>, bytes: &[u8]) -> String {
    PyBytes::new(py, bytes)
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_default()
}

fn status_error(py: Python<'_>, problem: StatusProblem, status: &[u8]) -> PyErr {
    let what = match problem {
        StatusProblem::NotThreeDigits => "status code must be a 3 digit integer",
        StatusProblem::NoSpace => "no space following status code",
        StatusProblem::ControlInReason => "control character in status reason phrase",
        StatusProblem::BelowHundred => "status code must be 100 or more",
    };
    PyValueError::new_err(format!("{what}: {}", repr(py, status)))
}

fn header_error(py: Python<'_>, problem: HeaderProblem, bytes: &[u8]) -> PyErr {
    let what = match problem {
        HeaderProblem::NameEmpty => return PyValueError::new_err("header name is empty"),
        HeaderProblem::ControlInName => "control character in header name",
        HeaderProblem::SpaceInName => "space character in header name",
        HeaderProblem::LineBreakInValue => "carriage return/line feed character in header value",
        HeaderProblem::HopByHop => "hop-by-hop header not allowed in a WSGI response",
        HeaderProblem::ConflictingContentLength => {
            "Content-Length header conflicts with an earlier one"
        }
    };
    PyValueError::new_err(format!("{what}: {}", repr(py, bytes)))
}

/// Drops a NUL and what follows, as C strings end there in mod_wsgi.
fn cut_at_nul(bytes: &mut Vec<u8>) {
    let kept = validate::up_to_nul(bytes).len();
    bytes.truncate(kept);
}

/// Converts and checks the status and headers.
fn parse_head(
    py: Python<'_>,
    status: &Bound<'_, PyAny>,
    headers: &Bound<'_, PyList>,
) -> PyResult<(ResponseHead, Option<u64>)> {
    let mut status_line = latin1(py, status)?;
    let code = validate::parse_status(validate::up_to_nul(&status_line))
        .map_err(|p| status_error(py, p, &status_line))?;
    cut_at_nul(&mut status_line);
    let mut head = ResponseHead {
        status: code,
        status_line,
        headers: Vec::with_capacity(headers.len()),
    };
    let mut declared_length = None;
    // The head as the channel encodes it (see channel::encode_head); one
    // limit in both modes, so that what embedded mode serves a daemon does.
    let mut encoded = 10 + head.status_line.len();
    for item in headers.iter() {
        let pair = item.cast::<PyTuple>().map_err(|_| {
            PyTypeError::new_err(format!(
                "each header must be a 2-tuple, not {}",
                type_name(&item)
            ))
        })?;
        if pair.len() != 2 {
            return Err(PyValueError::new_err(format!(
                "each header must be a 2-tuple, got length {}",
                pair.len()
            )));
        }
        let mut name = latin1(py, &pair.get_item(0)?)?;
        validate::check_header_name(validate::up_to_nul(&name))
            .map_err(|p| header_error(py, p, &name))?;
        cut_at_nul(&mut name);
        let mut value = latin1(py, &pair.get_item(1)?)?;
        validate::check_header_value(validate::up_to_nul(&value))
            .map_err(|p| header_error(py, p, &value))?;
        cut_at_nul(&mut value);
        if validate::is_content_length(&name) {
            // mod_wsgi checks this when the headers go out; here the
            // application learns it from start_response, with its words.
            let length = validate::parse_response_content_length(&value).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "invalid Content-Length header value: '{}'",
                    String::from_utf8_lossy(&value)
                ))
            })?;
            match declared_length {
                // mod_wsgi sends one header, the last; with the same
                // length twice that is this one.
                Some(first) if first == length => continue,
                Some(_) => {
                    return Err(header_error(
                        py,
                        HeaderProblem::ConflictingContentLength,
                        &value,
                    ));
                }
                None => declared_length = Some(length),
            }
        }
        encoded += 8 + name.len() + value.len();
        if encoded > MAX_FRAME as usize {
            return Err(PyValueError::new_err(format!(
                "response headers too large: more than {MAX_FRAME} bytes"
            )));
        }
        head.headers.push((name, value));
    }
    Ok((head, declared_length))
}

impl StartResponse {
    fn start(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> Result<Write, Refusal> {
        // One look at the exchange: the request over, or output started.
        let (finished, headers_sent) = {
            let state = self.exchange.state();
            (state.is_finished(), state.response.headers_sent)
        };
        if finished {
            return Err(
                PyRuntimeError::new_err("start_response() called after request completed").into(),
            );
        }
        // mod_wsgi's METH_VARARGS method parsed with "OO!|O:start_response".
        if kwargs.is_some_and(|k| !k.is_empty()) {
            return Err(PyTypeError::new_err("start_response() takes no keyword arguments").into());
        }
        let count = args.len();
        if !(2..=3).contains(&count) {
            let (bound, limit) = if count < 2 { ("least", 2) } else { ("most", 3) };
            return Err(PyTypeError::new_err(format!(
                "start_response() takes at {bound} {limit} arguments ({count} given)"
            ))
            .into());
        }
        let status = args.get_item(0)?;
        let headers = args.get_item(1)?;
        let headers = headers.cast::<PyList>().map_err(|_| {
            PyTypeError::new_err(format!(
                "start_response() argument 2 must be list, not {}",
                type_name(&headers)
            ))
        })?;
        let exc_info = match args.get_item(2) {
            Ok(info) if !info.is_none() => Some(info),
            _ => None,
        };
        if let Some(info) = &exc_info
            && !info.is_instance_of::<PyTuple>()
        {
            return Err(PyRuntimeError::new_err(
                "start_response() argument 'exc_info' must be a 3-tuple or None",
            )
            .into());
        }
        if headers_sent {
            let Some(info) = exc_info else {
                return Err(PyRuntimeError::new_err(
                    "start_response() called more than once without exc_info",
                )
                .into());
            };
            // PEP 3333: too late to change the response; re-raise the
            // application's own exception.
            let info = info.cast::<PyTuple>().map_err(PyErr::from)?;
            if info.len() != 3 {
                return Err(PyTypeError::new_err(format!(
                    "function takes exactly 3 arguments ({} given)",
                    info.len()
                ))
                .into());
            }
            let error = info.get_item(1)?;
            let traceback = info.get_item(2)?;
            let error = match error.call_method1(intern!(py, "with_traceback"), (traceback,)) {
                Ok(error) => PyErr::from_value(error),
                Err(e) => e,
            };
            return Err(Refusal::Reraised(error));
        }
        super::events::response_started(
            py,
            &self.exchange,
            &status,
            headers.as_any(),
            exc_info.as_ref(),
        );
        let (head, declared_length) = parse_head(py, &status, headers)?;
        let mut state = self.exchange.state();
        state.response.head = Some(head);
        state.response.declared_length = declared_length;
        Ok(Write {
            exchange: self.exchange.clone(),
        })
    }
}

impl StartResponse {
    fn call<'py>(&self, py: Python<'py>, args: &Args<'_, 'py>) -> PyResult<Bound<'py, PyAny>> {
        let (args, kwargs) = args.star();
        match self.start(py, &args, kwargs.as_ref()) {
            Ok(write) => WRITE.instance(py, write),
            Err(Refusal::Reraised(e)) => Err(e),
            Err(Refusal::Head(e)) => {
                self.exchange.state().response.refused_head =
                    Some(e.value(py).clone().unbind().into_any());
                Err(e)
            }
        }
    }
}

/// The `write(data)` callable: sends `data` at once, headers first.
pub struct Write {
    exchange: Arc<Exchange>,
}

static WRITE: HeapType<Write> = HeapType::new(
    Kind::Write,
    c"mod_wsgi_rs.Write",
    None,
    Flags {
        subclass: false,
        mapping: false,
    },
    || vec![heap_type::call!(Write, Write::call)],
);

impl Write {
    fn call(&self, py: Python<'_>, args: &Args<'_, '_>) -> PyResult<()> {
        let [data] = args.parse("Write.__call__", ["data"], 1, 0)?;
        let data = &data.expect("required").to_owned();
        if self.exchange.is_finished() {
            return Err(PyRuntimeError::new_err(
                "write() called after request completed",
            ));
        }
        let data = data.cast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err(format!(
                "write() argument must be bytes, not {}",
                type_name(data)
            ))
        })?;
        send_chunk(py, &self.exchange, data.as_bytes(), SendMode::Now).map(|_| ())
    }
}
