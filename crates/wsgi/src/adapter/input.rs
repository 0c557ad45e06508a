//! `wsgi.input`: the request body as a file-like object that never reads
//! past the body's end and turns a body that stops early into `OSError`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use super::exchange::Exchange;
use super::transport::Transport;
use crate::messages::{self, Level};
use crate::python::ffi::bytes_filled_by;
use crate::python::ffi::heap_type::{self, Args, Flags, HeapType, Kind};

/// Reads from the network at most this much at a time when the application
/// did not say how much it wants.
const READ_CHUNK: usize = 64 * 1024;

/// A read larger than this grows its buffer with the data that arrives
/// instead of allocating the whole size up front.
const GROWTH_STEP: usize = 1024 * 1024;

pub struct Input {
    exchange: Arc<Exchange>,
}

static INPUT: HeapType<Input> = HeapType::new(
    Kind::Input,
    c"mod_wsgi.Input",
    None,
    Flags {
        subclass: false,
        mapping: false,
    },
    || {
        vec![
            heap_type::method!(c"read", Input, Input::py_read),
            heap_type::method!(c"readline", Input, Input::py_readline),
            heap_type::method!(c"readlines", Input, Input::py_readlines),
            heap_type::method!(c"close", Input, Input::close),
            heap_type::iter_self!(),
            heap_type::next!(Input, Input::next),
        ]
    },
);

heap_type::type_info!(Input, INPUT);

impl Input {
    pub(crate) fn new(exchange: Arc<Exchange>) -> Self {
        Input { exchange }
    }

    /// The request's `wsgi.input`.
    pub(crate) fn into_object(self, py: Python<'_>) -> PyResult<Bound<'_, Input>> {
        // SAFETY: an instance of Input's type.
        Ok(unsafe { INPUT.instance(py, self)?.cast_into_unchecked() })
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
        let want = {
            let state = self.exchange.state();
            if let Some(e) = &state.input.error {
                return Err(pyo3::exceptions::PyOSError::new_err(e.clone()));
            }
            if state.input.at_end {
                return Ok(0);
            }
            match state.input.remaining {
                Some(r) => out.len().min(usize::try_from(r).unwrap_or(usize::MAX)),
                None => out.len(),
            }
        };
        let target = &mut out[..want];
        // One GIL release for the whole read: Apache's input filters hand
        // the body over about 8 KB at a time.
        let began = std::time::Instant::now();
        let (filled, result) = self
            .exchange
            .with_transport_detached(py, move |t| fill_from(t, target))
            .map_err(|u| u.into_pyerr())?;
        let mut state = self.exchange.state();
        state.input.reads += 1;
        state.input.bytes += filled as u64;
        state.input.time += began.elapsed();
        if let Some(r) = state.input.remaining.as_mut() {
            *r = r.saturating_sub(filled as u64);
            if *r == 0 {
                state.input.at_end = true;
            }
        }
        match result {
            Ok(Filled::Full) => {}
            Ok(Filled::EndOfBody) => {
                if let Some(r) = state.input.remaining.filter(|r| *r > 0) {
                    drop(state);
                    return Err(self.body_failed(format!(
                        "request body ended early: {r} more bytes were expected (Content-Length)"
                    )));
                }
                state.input.at_end = true;
            }
            Err(e) => {
                drop(state);
                return Err(self.body_failed(format!("request body could not be read: {e}")));
            }
        }
        Ok(filled)
    }

    /// Remembers that the body cannot be read (later reads raise the same
    /// error), logs it once, and returns the `OSError` for the application.
    /// Called without the state lock held: logging takes it.
    fn body_failed(&self, message: String) -> PyErr {
        self.exchange.state().input.error = Some(message.clone());
        self.exchange.log(
            Level::Error,
            messages::REQUEST_BODY_FAILED,
            &format!("{message}; the application got OSError"),
        );
        pyo3::exceptions::PyOSError::new_err(message)
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
        if size <= GROWTH_STEP {
            return bytes_filled_by(py, size, |py, out| {
                let n = self.take_buffered(out);
                Ok(n + self.read_network(py, &mut out[n..])?)
            });
        }
        // The size comes from the client's Content-Length (or the
        // application): memory follows the bytes that arrive, never the
        // size claimed, so a 1 GB Content-Length with a 5-byte body does
        // not reserve 1 GB (RLIMIT_AS, overcommit_memory=2). The buffer
        // at most doubles per step, and by at most what already came.
        let mut collected = Vec::new();
        let buffered = self.exchange.state().input.buffer.len().min(size);
        collected.resize(buffered, 0);
        self.take_buffered(&mut collected);
        while collected.len() < size {
            let start = collected.len();
            let step = (size - start).min(start.max(GROWTH_STEP));
            collected.resize(start + step, 0);
            let n = self.read_network(py, &mut collected[start..])?;
            collected.truncate(start + n);
            if n < step {
                break;
            }
        }
        Ok(PyBytes::new(py, &collected))
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

/// How a `fill_from` ended, when it did not fail.
enum Filled {
    Full,
    EndOfBody,
}

/// Reads until `out` is full or the body ends; returns how many bytes came
/// (those read before an error too, as the body's accounting needs them).
fn fill_from(t: &mut dyn Transport, out: &mut [u8]) -> (usize, std::io::Result<Filled>) {
    let mut filled = 0;
    while filled < out.len() {
        match t.read_body(&mut out[filled..]) {
            Ok(0) => return (filled, Ok(Filled::EndOfBody)),
            Ok(n) => filled += n,
            Err(e) => return (filled, Err(e)),
        }
    }
    (filled, Ok(Filled::Full))
}

fn size_argument(size: Option<isize>) -> Option<usize> {
    size.and_then(|s| usize::try_from(s).ok())
}

/// The size argument of `read`, `readline` and `readlines`, as pyo3
/// extracted `Option<isize>`.
fn size_parameter(
    args: &Args<'_, '_>,
    function: &str,
    name: &'static str,
) -> PyResult<Option<isize>> {
    let [size] = args.parse(function, [name], 0, 0)?;
    size.map_or(Ok(None), |size| heap_type::extract(name, size))
}

/// What Python calls; the methods they call are the ones unit tests use.
impl Input {
    fn py_read<'py>(&self, py: Python<'py>, args: &Args<'_, 'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.read(py, size_parameter(args, "Input.read", "size")?)
    }

    fn py_readline<'py>(
        &self,
        py: Python<'py>,
        args: &Args<'_, 'py>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.readline(py, size_parameter(args, "Input.readline", "size")?)
    }

    fn py_readlines<'py>(
        &self,
        py: Python<'py>,
        args: &Args<'_, 'py>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.readlines(py, size_parameter(args, "Input.readlines", "hint")?)
    }

    fn close(&self, _py: Python<'_>, args: &Args<'_, '_>) -> PyResult<()> {
        args.parse("Input.close", [], 0, 0)?;
        Ok(())
    }

    fn next<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let line = self.read_line(py, None)?;
        Ok((!line.as_bytes().is_empty()).then_some(line))
    }

    pub(crate) fn read<'py>(
        &self,
        py: Python<'py>,
        size: Option<isize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        match size_argument(size) {
            Some(0) => Ok(PyBytes::new(py, b"")),
            Some(n) => self.read_sized(py, n),
            None => self.read_all(py),
        }
    }

    pub(crate) fn readline<'py>(
        &self,
        py: Python<'py>,
        size: Option<isize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        match size_argument(size) {
            Some(0) => Ok(PyBytes::new(py, b"")),
            limit => self.read_line(py, limit),
        }
    }

    pub(crate) fn readlines<'py>(
        &self,
        py: Python<'py>,
        hint: Option<isize>,
    ) -> PyResult<Bound<'py, PyList>> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::tests::{exchange, finish};
    use crate::test_support::{BodyEnd, RecordingTransport, with_python};

    fn input(transport: RecordingTransport, length: Option<u64>) -> (Input, Arc<Exchange>) {
        let exchange = Arc::new(exchange(transport, length));
        (Input::new(exchange.clone()), exchange)
    }

    #[test]
    fn a_short_body_raises_oserror_every_time_and_is_logged_once() {
        let (input, exchange) = input(RecordingTransport::post("/", b"0123"), Some(10));
        let t = with_python(|py| {
            let first = input.read(py, None).unwrap_err();
            assert!(first.is_instance_of::<pyo3::exceptions::PyOSError>(py));
            assert!(first.to_string().contains("6 more bytes"), "{first}");
            let again = input.readline(py, None).unwrap_err();
            assert_eq!(again.to_string(), first.to_string());
            finish(py, &exchange)
        });
        let log = t.lines();
        assert_eq!(log.len(), 1, "{log:?}");
        assert!(
            log[0].contains("script='/srv/app.wsgi'): WSGIRS0212: request body ended early"),
            "{log:?}"
        );
    }

    #[test]
    fn a_failed_read_is_an_oserror_too() {
        let transport = RecordingTransport::post("/", b"").body_end(BodyEnd::Error);
        let (input, exchange) = input(transport, Some(10));
        let t = with_python(|py| {
            let error = input.read(py, Some(5)).unwrap_err();
            assert!(error.is_instance_of::<pyo3::exceptions::PyOSError>(py));
            assert!(
                error.to_string().contains("the client stopped sending"),
                "{error}"
            );
            finish(py, &exchange)
        });
        assert!(t.lines()[0].contains("WSGIRS0212"));
    }

    #[test]
    fn a_large_read_grows_with_the_data_and_keeps_every_byte() {
        let body: Vec<u8> = (0..3 * GROWTH_STEP + 7).map(|i| (i % 251) as u8).collect();
        let transport = RecordingTransport::post("/", &body).read_size(8192);
        let (input, exchange) = input(transport, Some(body.len() as u64));
        let t = with_python(|py| {
            assert_eq!(input.readline(py, Some(3)).unwrap().as_bytes(), &body[..3]);
            assert_eq!(input.read(py, None).unwrap().as_bytes(), &body[3..]);
            assert_eq!(input.read(py, None).unwrap().as_bytes(), b"");
            finish(py, &exchange)
        });
        assert!(t.lines().is_empty(), "{:?}", t.lines());
    }

    #[test]
    fn a_huge_declared_length_with_a_short_body_is_the_short_body_error() {
        // 1 TB claimed: allocated up front this would fail (or abort).
        let transport = RecordingTransport::post("/", b"hello");
        let (input, exchange) = input(transport, Some(1 << 40));
        let t = with_python(|py| {
            let error = input.read(py, None).unwrap_err();
            assert!(error.is_instance_of::<pyo3::exceptions::PyOSError>(py));
            assert!(
                error.to_string().contains("more bytes were expected"),
                "{error}"
            );
            let error = input.read(py, Some(1 << 39)).unwrap_err();
            assert!(error.is_instance_of::<pyo3::exceptions::PyOSError>(py));
            finish(py, &exchange)
        });
        assert!(t.lines()[0].contains("WSGIRS0212"));
    }

    #[test]
    fn reads_past_the_end_do_not_touch_the_transport() {
        let (input, exchange) = input(RecordingTransport::post("/", b"ab\ncd"), Some(5));
        let t = with_python(|py| {
            assert_eq!(input.readline(py, None).unwrap().as_bytes(), b"ab\n");
            assert_eq!(input.read(py, None).unwrap().as_bytes(), b"cd");
            assert_eq!(input.read(py, None).unwrap().as_bytes(), b"");
            assert_eq!(input.read(py, Some(10)).unwrap().as_bytes(), b"");
            assert_eq!(input.readline(py, None).unwrap().as_bytes(), b"");
            assert!(input.readlines(py, None).unwrap().is_empty());
            finish(py, &exchange)
        });
        assert_eq!(t.calls.get().read_body, 1, "only the body itself was read");
        assert!(t.lines().is_empty());
    }
}
