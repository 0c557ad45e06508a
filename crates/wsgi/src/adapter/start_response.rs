//! `start_response` and the `write` callable it returns (PEP 3333).

use std::sync::Arc;

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use super::exchange::Exchange;
use super::send::{SendMode, send_chunk};
use super::transport::ResponseHead;
use crate::messages::INVALID_RESPONSE_HEAD;
use crate::validate;

#[pyclass(module = "mod_wsgi_rs", name = "StartResponse", frozen)]
pub struct StartResponse {
    exchange: Arc<Exchange>,
}

impl StartResponse {
    pub(crate) fn new(exchange: Arc<Exchange>) -> Self {
        StartResponse { exchange }
    }
}

fn invalid(text: String) -> PyErr {
    PyValueError::new_err(format!("{INVALID_RESPONSE_HEAD}: {text}"))
}

fn text_of<'py>(value: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyString>> {
    value.cast::<PyString>().cloned().map_err(|_| {
        PyTypeError::new_err(format!(
            "{INVALID_RESPONSE_HEAD}: {what} must be str, not {}",
            value
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}

/// Validates the status and headers and converts them to latin-1 bytes.
fn parse_head(
    status: &Bound<'_, PyAny>,
    headers: &Bound<'_, PyAny>,
) -> PyResult<(ResponseHead, Option<u64>)> {
    let status = text_of(status, "status")?;
    let status = status.to_str()?;
    let parsed = validate::parse_status(status).map_err(invalid)?;
    let list = headers.cast::<PyList>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{INVALID_RESPONSE_HEAD}: response headers must be a list, not {}",
            headers
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let mut head = ResponseHead {
        status: parsed.code,
        status_line: validate::latin1_bytes(status),
        headers: Vec::with_capacity(list.len()),
    };
    let mut declared_length = None;
    for item in list.iter() {
        let pair = item.cast::<PyTuple>().map_err(|_| {
            PyTypeError::new_err(format!(
                "{INVALID_RESPONSE_HEAD}: each response header must be a (name, value) tuple"
            ))
        })?;
        if pair.len() != 2 {
            return Err(PyTypeError::new_err(format!(
                "{INVALID_RESPONSE_HEAD}: each response header must be a (name, value) tuple of two items, got {}",
                pair.len()
            )));
        }
        let name = text_of(&pair.get_item(0)?, "header name")?;
        let value = text_of(&pair.get_item(1)?, "header value")?;
        let (name, value) = (name.to_str()?, value.to_str()?);
        validate::check_header_name(name).map_err(invalid)?;
        validate::check_header_value(name, value).map_err(invalid)?;
        if name.eq_ignore_ascii_case("content-length") {
            declared_length = Some(validate::parse_content_length(value).map_err(invalid)?);
        }
        head.headers
            .push((validate::latin1_bytes(name), validate::latin1_bytes(value)));
    }
    Ok((head, declared_length))
}

#[pymethods]
impl StartResponse {
    #[pyo3(signature = (status, headers, exc_info = None))]
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        status: &Bound<'py, PyAny>,
        headers: &Bound<'py, PyAny>,
        exc_info: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Write> {
        let exc_info = exc_info.filter(|e| !e.is_none());
        {
            let state = self.exchange.state();
            match exc_info {
                Some(info) if state.response.headers_sent => {
                    // PEP 3333: too late to change the response; re-raise
                    // the application's own exception.
                    drop(state);
                    let error = info.get_item(1)?;
                    let traceback = info.get_item(2)?;
                    let error = error.call_method1("with_traceback", (traceback,))?;
                    return Err(PyErr::from_value(error));
                }
                None if state.response.head.is_some() => {
                    return Err(PyRuntimeError::new_err(format!(
                        "{INVALID_RESPONSE_HEAD}: start_response() was already called; a second call needs exc_info"
                    )));
                }
                _ => {}
            }
        }
        super::events::response_started(py, &self.exchange, status, headers, exc_info);
        let (head, declared_length) = parse_head(status, headers)?;
        let mut state = self.exchange.state();
        state.response.head = Some(head);
        state.response.declared_length = declared_length;
        drop(state);
        Ok(Write {
            exchange: self.exchange.clone(),
        })
    }
}

/// The `write(data)` callable: sends `data` at once, headers first.
#[pyclass(module = "mod_wsgi_rs", name = "Write", frozen)]
pub struct Write {
    exchange: Arc<Exchange>,
}

#[pymethods]
impl Write {
    fn __call__(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = data.cast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err(format!(
                "write() takes bytes, not {}",
                data.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        send_chunk(py, &self.exchange, data.as_bytes(), SendMode::Now).map(|_| ())
    }
}
