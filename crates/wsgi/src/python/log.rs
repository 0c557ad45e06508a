//! `sys.stdout`, `sys.stderr` and `wsgi.errors` as mod_wsgi 6 makes them
//! (wsgi_logger.c): `io.TextIOWrapper`s (UTF-8, errors `'replace'`, line
//! buffered, write-through) over a binary `mod_wsgi.Log` that takes
//! bytes-like objects and writes whole lines into the error log. Code that
//! writes bytes to `sys.stdout.buffer` (Mercurial's hgweb, at import) works.
//!
//! mod_wsgi builds a new `Log` and a new `TextIOWrapper` for every request.
//! Here each thread that serves requests builds its `wsgi.errors` once, the
//! first time, and points it at the request it runs ([`begin_request`],
//! [`end_request`]): a request costs two lock operations instead of two
//! Python objects and a wrapper's construction. Between requests the
//! stream refuses writes as mod_wsgi's expired one does. The difference: a
//! `wsgi.errors` kept from an earlier request writes into the request its
//! thread runs now, where mod_wsgi raises `RuntimeError`.
//!
//! `sys.stdout` and `sys.stderr` are proxies, as in mod_wsgi: on a thread
//! that is serving a request they write through that request's
//! `wsgi.errors` (so lines carry the request's context and share its
//! unfinished line); elsewhere into the process log.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyDeprecationWarning, PyOSError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView, PyString};

use super::ffi::heap_type::{self, Args, Flags, HeapType, Kind};
use crate::messages::Level;
use crate::python::per_interpreter::{self, InterpreterKey};
use crate::sync::lock;

/// Where process-level lines go (Apache's `ap_log_error` on the main server).
pub type LogSink = fn(Level, &str);

static PROCESS_SINK: Mutex<Option<LogSink>> = Mutex::new(None);

/// Writes one line to the process log; to stderr before a sink is installed
/// (unit tests, or a failure during start-up).
pub(crate) fn process_log(level: Level, line: &str) {
    let sink = *lock(&PROCESS_SINK);
    match sink {
        Some(sink) => sink(level, line),
        None => eprintln!("{line}"),
    }
}

/// Routes `sys.stdout` and `sys.stderr` into the error log.
pub fn install_process_log(py: Python<'_>, sink: LogSink) -> PyResult<()> {
    *lock(&PROCESS_SINK) = Some(sink);
    let sys = py.import("sys")?;
    for (attribute, name) in [("stdout", "<stdout>"), ("stderr", "<stderr>")] {
        let buffer = LOG.instance(py, Log::new(name, Target::Proxy(Mutex::default())))?;
        sys.setattr(attribute, text_wrapper(py, buffer)?)?;
    }
    Ok(())
}

/// Where a request's lines go: the adapter's exchange, which writes them
/// in the request's context.
pub(crate) trait LineSink: Send + Sync {
    fn line(&self, level: Level, line: &str);
}

/// mod_wsgi's wrapper over a binary log: `TextIOWrapper(buffer, "utf-8",
/// "replace", None, True, True)`.
fn text_wrapper<'py>(py: Python<'py>, buffer: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    py.import("io")?.getattr("TextIOWrapper")?.call1((
        buffer,
        "utf-8",
        "replace",
        py.None(),
        true,
        true,
    ))
}

/// The request one serving thread runs, as its `wsgi.errors` sees it.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    /// The running request; `None` between requests.
    sink: Option<Arc<dyn LineSink>>,
    /// `close()` was called during this request: it takes no more writes.
    closed: bool,
    /// Bytes after the last newline, waiting for the rest of their line.
    partial: Vec<u8>,
}

impl Slot {
    fn is_serving(&self) -> bool {
        lock(&self.state).sink.is_some()
    }

    /// Adds `data`, writing each completed line into the request's log.
    fn write(&self, data: &[u8], method: &str) -> PyResult<()> {
        let (sink, lines) = {
            let mut state = lock(&self.state);
            let sink = match &state.sink {
                Some(sink) if !state.closed => sink.clone(),
                _ => return Err(expired(method)),
            };
            (sink, complete_lines(&mut state.partial, data))
        };
        // The slot's lock is released: the sink takes the exchange's.
        for line in &lines {
            sink.line(Level::Error, line);
        }
        Ok(())
    }

    fn flush(&self) {
        let (sink, rest) = {
            let mut state = lock(&self.state);
            (state.sink.clone(), std::mem::take(&mut state.partial))
        };
        if let Some(sink) = sink
            && !rest.is_empty()
        {
            sink.line(Level::Error, &String::from_utf8_lossy(&rest));
        }
    }

    fn close(&self) {
        self.flush();
        let mut state = lock(&self.state);
        if state.sink.is_some() {
            state.closed = true;
        }
    }
}

fn expired(method: &str) -> PyErr {
    PyRuntimeError::new_err(format!(
        "{method}() called on wsgi.errors after request completed"
    ))
}

/// Moves the lines `data` completes out of `partial`, split on `\n` only
/// (a `\r` stays, as in mod_wsgi); what follows the last newline stays.
fn complete_lines(partial: &mut Vec<u8>, data: &[u8]) -> Vec<String> {
    let Some(last) = data.iter().rposition(|&b| b == b'\n') else {
        partial.extend_from_slice(data);
        return Vec::new();
    };
    let mut lines = Vec::new();
    let mut pieces = data[..last].split(|&b| b == b'\n');
    let first = pieces.next().unwrap_or_default();
    if partial.is_empty() {
        lines.push(String::from_utf8_lossy(first).into_owned());
    } else {
        partial.extend_from_slice(first);
        lines.push(String::from_utf8_lossy(partial).into_owned());
        partial.clear();
    }
    lines.extend(pieces.map(|l| String::from_utf8_lossy(l).into_owned()));
    partial.extend_from_slice(&data[last + 1..]);
    lines
}

struct ThreadErrors {
    slot: Arc<Slot>,
    /// The thread's `wsgi.errors` in each interpreter it served in (one
    /// slot: a thread runs one request at a time).
    wrappers: Vec<(InterpreterKey, Py<PyAny>)>,
}

thread_local! {
    /// This thread's `wsgi.errors`, built on its first request.
    static THREAD_ERRORS: RefCell<Option<ThreadErrors>> = const { RefCell::new(None) };
}

/// The slot of the request this thread is serving, if it is serving one.
fn serving_slot() -> Option<Arc<Slot>> {
    THREAD_ERRORS.with(|errors| {
        let errors = errors.try_borrow().ok()?;
        let errors = errors.as_ref()?;
        errors.slot.is_serving().then(|| errors.slot.clone())
    })
}

/// Points this thread's `wsgi.errors` at a new request and returns it, for
/// the environ. Built on the thread's first request.
pub(crate) fn begin_request<'py>(
    py: Python<'py>,
    sink: Arc<dyn LineSink>,
) -> PyResult<Bound<'py, PyAny>> {
    let here = per_interpreter::current(py);
    let existing = THREAD_ERRORS.with(|errors| {
        errors.borrow().as_ref().map(|e| {
            let wrapper = e
                .wrappers
                .iter()
                .find(|(key, _)| *key == here)
                .map(|(_, w)| w.clone_ref(py));
            (e.slot.clone(), wrapper)
        })
    });
    let (slot, wrapper) = match existing {
        Some((slot, Some(wrapper))) => (slot, wrapper),
        existing => {
            // Built outside the cell's borrow: Python code run meanwhile
            // (a warning printed to sys.stderr) looks into the cell.
            let slot = existing.map_or_else(|| Arc::new(Slot::default()), |(slot, _)| slot);
            let buffer = Log::new("<wsgi.errors>", Target::Request(slot.clone()));
            let wrapper = text_wrapper(py, LOG.instance(py, buffer)?)?.unbind();
            THREAD_ERRORS.with(|errors| {
                let mut errors = errors.borrow_mut();
                let errors = errors.get_or_insert_with(|| ThreadErrors {
                    slot: slot.clone(),
                    wrappers: Vec::new(),
                });
                errors.wrappers.push((here, wrapper.clone_ref(py)));
            });
            (slot, wrapper)
        }
    };
    {
        let mut state = lock(&slot.state);
        state.sink = Some(sink);
        state.closed = false;
        state.partial.clear();
    }
    Ok(wrapper.into_bound(py))
}

/// Ends this thread's request for its `wsgi.errors`: an unfinished line is
/// written in the request's context, and later writes are refused.
pub(crate) fn end_request() {
    let slot = THREAD_ERRORS.with(|errors| errors.borrow().as_ref().map(|e| e.slot.clone()));
    if let Some(slot) = slot {
        slot.flush();
        let mut state = lock(&slot.state);
        state.sink = None;
        state.partial.clear();
    }
}

enum Target {
    /// `sys.stdout`, `sys.stderr`: its own unfinished line, for lines
    /// written outside any request.
    Proxy(Mutex<Vec<u8>>),
    /// One thread's `wsgi.errors`.
    Request(Arc<Slot>),
}

/// mod_wsgi's binary log object (`wsgi.errors.buffer`, `sys.stderr.buffer`).
pub struct Log {
    name: &'static str,
    target: Target,
}

/// Set once the first `str` written to a binary log has been warned about:
/// once per process, as mod_wsgi.
static WARNED_STR_WRITE: AtomicBool = AtomicBool::new(false);

impl Log {
    fn new(name: &'static str, target: Target) -> Self {
        Log { name, target }
    }

    /// The slot a write goes to: the request's for `wsgi.errors`; for a
    /// proxy, the request this thread serves, if any.
    fn slot(&self) -> Option<Arc<Slot>> {
        match &self.target {
            Target::Request(slot) => Some(slot.clone()),
            Target::Proxy(_) => serving_slot(),
        }
    }

    fn queue(&self, data: &[u8], method: &str) -> PyResult<()> {
        if let Some(slot) = self.slot() {
            return slot.write(data, method);
        }
        let Target::Proxy(partial) = &self.target else {
            unreachable!("a request's log always has its slot")
        };
        let lines = complete_lines(&mut lock(partial), data);
        for line in &lines {
            process_log(Level::Error, line);
        }
        Ok(())
    }

    fn flush_process_partial(&self) {
        if let Target::Proxy(partial) = &self.target {
            let rest = std::mem::take(&mut *lock(partial));
            if !rest.is_empty() {
                process_log(Level::Error, &String::from_utf8_lossy(&rest));
            }
        }
    }
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

static LOG: HeapType<Log> = HeapType::new(
    Kind::Log,
    c"mod_wsgi.Log",
    None,
    Flags {
        subclass: false,
        mapping: false,
    },
    || {
        vec![
            heap_type::method!(c"write", Log, Log::py_write),
            heap_type::method!(c"writelines", Log, Log::writelines),
            heap_type::method!(c"flush", Log, Log::py_flush),
            heap_type::method!(c"close", Log, Log::close),
            heap_type::method!(c"isatty", Log, Log::isatty),
            heap_type::method!(c"readable", Log, Log::readable),
            heap_type::method!(c"seekable", Log, Log::seekable),
            heap_type::method!(c"writable", Log, Log::writable),
            heap_type::method!(c"fileno", Log, Log::fileno),
            heap_type::unary!(Getter(c"name"), Log, Log::name),
            heap_type::unary!(Getter(c"closed"), Log, Log::closed),
            heap_type::unary!(Getter(c"encoding"), Log, Log::encoding),
            heap_type::unary!(Getter(c"errors"), Log, Log::errors),
        ]
    },
);

/// The methods Python calls; each parses its arguments as pyo3's
/// `#[pymethods]` did.
impl Log {
    fn py_write(&self, py: Python<'_>, args: &Args<'_, '_>) -> PyResult<()> {
        let [data] = args.parse("Log.write", ["data"], 1, 0)?;
        self.write(py, &data.expect("required").to_owned())
    }

    /// Takes any bytes-like object; a `str` still works (mod_wsgi keeps it
    /// from its Python 2 days) with a `DeprecationWarning` once per process.
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(bytes) = data.cast::<PyBytes>() {
            return self.queue(bytes.as_bytes(), "write");
        }
        if let Ok(text) = data.cast::<PyString>() {
            if !WARNED_STR_WRITE.swap(true, Ordering::Relaxed) {
                PyErr::warn(
                    py,
                    &py.get_type::<PyDeprecationWarning>(),
                    c"Writing str to wsgi.errors.buffer / sys.stderr.buffer is deprecated; write a bytes-like object instead.",
                    1,
                )?;
            }
            return self.queue(text.to_cow()?.as_bytes(), "write");
        }
        if let Ok(array) = data.cast::<PyByteArray>() {
            return self.queue(&array.to_vec(), "write");
        }
        let view = PyMemoryView::from(data).map_err(|_| {
            PyTypeError::new_err(format!(
                "write() argument must be bytes-like object, not {}",
                type_name(data)
            ))
        })?;
        let bytes = view.call_method0("tobytes")?;
        self.queue(bytes.cast::<PyBytes>()?.as_bytes(), "write")
    }

    fn writelines(&self, py: Python<'_>, args: &Args<'_, '_>) -> PyResult<()> {
        let [lines] = args.parse("Log.writelines", ["lines"], 1, 0)?;
        let lines = lines.expect("required");
        if let Some(slot) = self.slot()
            && !slot.is_serving_open()
        {
            return Err(expired("writelines"));
        }
        let iterator = lines.try_iter().map_err(|cause| {
            let error = PyTypeError::new_err(
                "writelines() argument must be an iterable of bytes-like objects",
            );
            error.set_cause(py, Some(cause));
            error
        })?;
        for line in iterator {
            self.write(py, &line?)?;
        }
        Ok(())
    }

    fn py_flush(&self, _py: Python<'_>, args: &Args<'_, '_>) -> PyResult<()> {
        args.parse("Log.flush", [], 0, 0)?;
        match self.slot() {
            Some(slot) => slot.flush(),
            None => self.flush_process_partial(),
        }
        Ok(())
    }

    fn close(&self, _py: Python<'_>, args: &Args<'_, '_>) -> PyResult<()> {
        args.parse("Log.close", [], 0, 0)?;
        match self.slot() {
            Some(slot) => slot.close(),
            None => self.flush_process_partial(),
        }
        Ok(())
    }

    fn isatty(&self, _py: Python<'_>, args: &Args<'_, '_>) -> PyResult<bool> {
        args.parse("Log.isatty", [], 0, 0)?;
        Ok(false)
    }

    fn readable(&self, _py: Python<'_>, args: &Args<'_, '_>) -> PyResult<bool> {
        args.parse("Log.readable", [], 0, 0)?;
        Ok(false)
    }

    fn seekable(&self, _py: Python<'_>, args: &Args<'_, '_>) -> PyResult<bool> {
        args.parse("Log.seekable", [], 0, 0)?;
        Ok(false)
    }

    fn writable(&self, _py: Python<'_>, args: &Args<'_, '_>) -> PyResult<bool> {
        args.parse("Log.writable", [], 0, 0)?;
        Ok(true)
    }

    fn fileno(&self, _py: Python<'_>, args: &Args<'_, '_>) -> PyResult<i32> {
        args.parse("Log.fileno", [], 0, 0)?;
        Err(PyOSError::new_err(
            "wsgi.errors log object has no file descriptor",
        ))
    }

    fn name(&self, _py: Python<'_>) -> PyResult<&'static str> {
        Ok(self.name)
    }

    fn closed(&self, _py: Python<'_>) -> PyResult<bool> {
        Ok(false)
    }

    fn encoding(&self, _py: Python<'_>) -> PyResult<&'static str> {
        Ok("utf-8")
    }

    fn errors(&self, _py: Python<'_>) -> PyResult<&'static str> {
        Ok("replace")
    }
}

impl Slot {
    fn is_serving_open(&self) -> bool {
        let state = lock(&self.state);
        state.sink.is_some() && !state.closed
    }
}

#[cfg(test)]
mod tests {
    use super::complete_lines;
    use crate::adapter::Outcome;
    use crate::test_support::{get, with_python};
    use pyo3::prelude::*;

    #[test]
    fn wsgi_errors_kept_past_the_request_refuses_writes_as_in_mod_wsgi() {
        let app = r#"
import sys
def application(environ, start_response):
    sys._unit_kept_errors = environ['wsgi.errors']
    environ['wsgi.errors'].write('during\n')
    start_response('200 OK', [])
    return []
"#;
        let (outcome, t) = get(app, "/");
        assert_eq!(outcome, Outcome::Complete);
        assert_eq!(t.logged("during").len(), 1, "{}", t.log_text());
        let refused = with_python(|py| {
            py.run(
                c"import sys\ntry:\n    sys._unit_kept_errors.write('late\\n')\n    r = 'written'\nexcept RuntimeError as e:\n    r = str(e)\nsys._unit_kept_result = r\n",
                None,
                None,
            )
            .unwrap();
            py.import("sys")
                .unwrap()
                .getattr("_unit_kept_result")
                .unwrap()
                .extract::<String>()
                .unwrap()
        });
        assert_eq!(
            refused,
            "write() called on wsgi.errors after request completed"
        );
        assert!(t.logged("late").is_empty());
    }

    #[test]
    fn lines_split_on_newline_only_and_keep_the_rest() {
        let mut partial = Vec::new();
        assert!(complete_lines(&mut partial, b"abc").is_empty());
        assert_eq!(
            complete_lines(&mut partial, b"d\r\n\ne\nf"),
            ["abcd\r", "", "e"]
        );
        assert_eq!(partial, b"f");
        assert_eq!(complete_lines(&mut partial, b"\n"), ["f"]);
        assert!(partial.is_empty());
        assert_eq!(
            complete_lines(&mut partial, b"caf\xc3\xa9 \xff\n"),
            ["café \u{fffd}"]
        );
    }
}
