//! `wsgi.input`: the request body as a file-like object that never reads
//! past the body's end and turns a body that stops early into `OSError`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use super::exchange::{Exchange, io_error_to_py};
use crate::python::ffi::bytes_filled_by;

/// Reads from the network at most this much at a time when the application
/// did not say how much it wants.
const READ_CHUNK: usize = 64 * 1024;

#[pyclass(module = "mod_wsgi_rs", name = "Input", frozen)]
pub struct Input {
    exchange: Arc<Exchange>,
}

impl Input {
    pub(crate) fn new(exchange: Arc<Exchange>) -> Self {
        Input { exchange }
    }

    /// Moves buffered read-ahead bytes into `out`; returns how many.
    fn take_buffered(&self, out: &mut [u8]) -> usize {
        let mut state = self.exchange.state();
        let buffer = &mut state.input.buffer;
        let n = buffer.len().min(out.len());
        out[..n].copy_from_slice(&buffer[..n]);
        buffer.drain(..n);
        n
    }

    /// Reads from the transport into `out` until it is full or the body
    /// ends; returns how many bytes were written.
    fn read_network(&self, py: Python<'_>, out: &mut [u8]) -> PyResult<usize> {
        let mut filled = 0;
        while filled < out.len() {
            let want = {
                let state = self.exchange.state();
                if let Some(e) = &state.input.error {
                    return Err(pyo3::exceptions::PyOSError::new_err(e.clone()));
                }
                if state.input.at_end {
                    break;
                }
                match state.input.remaining {
                    Some(r) => (out.len() - filled).min(usize::try_from(r).unwrap_or(usize::MAX)),
                    None => out.len() - filled,
                }
            };
            let target = &mut out[filled..filled + want];
            let result = self
                .exchange
                .with_transport_detached(py, move |t| t.read_body(target))
                .map_err(|u| u.into_pyerr())?;
            let mut state = self.exchange.state();
            match result {
                Ok(0) => {
                    if let Some(r) = state.input.remaining.filter(|r| *r > 0) {
                        let message = format!(
                            "request body ended early: {r} more bytes were expected (Content-Length)"
                        );
                        state.input.error = Some(message.clone());
                        return Err(pyo3::exceptions::PyOSError::new_err(message));
                    }
                    state.input.at_end = true;
                }
                Ok(n) => {
                    filled += n;
                    if let Some(r) = state.input.remaining.as_mut() {
                        *r = r.saturating_sub(n as u64);
                        if *r == 0 {
                            state.input.at_end = true;
                        }
                    }
                }
                Err(e) => {
                    let err = io_error_to_py("request body could not be read", &e);
                    state.input.error = Some(err.to_string());
                    return Err(err);
                }
            }
        }
        Ok(filled)
    }

    /// Bytes the application can still get: buffered plus unread body.
    fn available_hint(&self) -> Option<usize> {
        let state = self.exchange.state();
        let unread = if state.input.at_end {
            Some(0)
        } else {
            state.input.remaining
        };
        unread.map(|r| {
            state
                .input
                .buffer
                .len()
                .saturating_add(usize::try_from(r).unwrap_or(usize::MAX))
        })
    }

    fn read_sized<'py>(&self, py: Python<'py>, size: usize) -> PyResult<Bound<'py, PyBytes>> {
        let size = self.available_hint().map_or(size, |a| a.min(size));
        bytes_filled_by(py, size, |py, out| {
            let n = self.take_buffered(out);
            Ok(n + self.read_network(py, &mut out[n..])?)
        })
    }

    fn read_all<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        if let Some(total) = self.available_hint() {
            return self.read_sized(py, total);
        }
        let mut collected = std::mem::take(&mut self.exchange.state().input.buffer);
        loop {
            let start = collected.len();
            collected.resize(start + READ_CHUNK, 0);
            let n = self.read_network(py, &mut collected[start..])?;
            collected.truncate(start + n);
            if n == 0 {
                break;
            }
        }
        Ok(PyBytes::new(py, &collected))
    }

    fn read_line<'py>(
        &self,
        py: Python<'py>,
        limit: Option<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        // The state lock is never held while Python allocates: a garbage
        // collection could run a finaliser that logs through wsgi.errors.
        let mut scanned = 0;
        let line = loop {
            {
                let mut state = self.exchange.state();
                let buffer = &mut state.input.buffer;
                let window = limit.map_or(buffer.len(), |l| l.min(buffer.len()));
                if let Some(pos) = buffer[scanned..window].iter().position(|&b| b == b'\n') {
                    break buffer.drain(..scanned + pos + 1).collect::<Vec<u8>>();
                }
                if let Some(l) = limit.filter(|l| buffer.len() >= *l) {
                    break buffer.drain(..l).collect();
                }
                scanned = window;
            }
            let mut chunk = vec![0; 8192];
            let n = self.read_network(py, &mut chunk)?;
            let mut state = self.exchange.state();
            if n == 0 {
                break std::mem::take(&mut state.input.buffer);
            }
            state.input.buffer.extend_from_slice(&chunk[..n]);
        };
        Ok(PyBytes::new(py, &line))
    }
}

fn size_argument(size: Option<isize>) -> Option<usize> {
    size.and_then(|s| usize::try_from(s).ok())
}

#[pymethods]
impl Input {
    #[pyo3(signature = (size = None))]
    fn read<'py>(&self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        match size_argument(size) {
            Some(0) => Ok(PyBytes::new(py, b"")),
            Some(n) => self.read_sized(py, n),
            None => self.read_all(py),
        }
    }

    #[pyo3(signature = (size = None))]
    fn readline<'py>(&self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        match size_argument(size) {
            Some(0) => Ok(PyBytes::new(py, b"")),
            limit => self.read_line(py, limit),
        }
    }

    #[pyo3(signature = (hint = None))]
    fn readlines<'py>(&self, py: Python<'py>, hint: Option<isize>) -> PyResult<Bound<'py, PyList>> {
        let hint = size_argument(hint).filter(|h| *h > 0);
        let lines = PyList::empty(py);
        let mut total = 0;
        loop {
            let line = self.read_line(py, None)?;
            let len = line.as_bytes().len();
            if len == 0 {
                break;
            }
            lines.append(line)?;
            total += len;
            if hint.is_some_and(|h| total >= h) {
                break;
            }
        }
        Ok(lines)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let line = self.read_line(py, None)?;
        Ok((!line.as_bytes().is_empty()).then_some(line))
    }

    fn close(&self) {}
}
