//! `mod_wsgi.RequestTimeout`: what a request thread gets when its request
//! runs past `request-timeout` (raised in it asynchronously, by the daemon's
//! monitor, when `interrupt-timeout` is set), and what an application may
//! raise itself to ask for a 504. As in mod_wsgi 6 it derives directly from
//! `BaseException`, so that `except Exception:` in the application does not
//! swallow it.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::python::ffi;
use crate::python::ffi::heap_type::{HeapException, Kind};

/// The class, one per interpreter: `py.get_type::<RequestTimeout>()` and
/// `is_instance_of::<RequestTimeout>()` find the current interpreter's.
pub struct RequestTimeout;

static REQUEST_TIMEOUT: HeapException = HeapException::new(
    Kind::RequestTimeout,
    c"mod_wsgi.RequestTimeout",
    c"Raised by mod_wsgi when a daemon request exceeds the configured request-timeout and exception injection is enabled. Derives directly from BaseException so well-written code does not catch it via 'except Exception:'. May be caught for cleanup but should be re-raised so the WSGI adapter can return 504.",
);

// SAFETY: type_object_raw never returns null (it panics instead) and is
// the same class for every call within an interpreter; `RequestTimeout`
// is only a marker, as pyo3's own exception types are, never a layout.
unsafe impl pyo3::PyTypeInfo for RequestTimeout {
    fn type_object_raw(py: Python<'_>) -> *mut pyo3::ffi::PyTypeObject {
        REQUEST_TIMEOUT.type_ptr(py)
    }
}

/// Whether `error` is (a subclass of) `RequestTimeout`.
pub fn is_request_timeout(py: Python<'_>, error: &PyErr) -> bool {
    error.is_instance_of::<RequestTimeout>(py)
}

/// A thread that runs Python, as another thread can name it to interrupt it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PythonThread(u64);

impl PythonThread {
    /// The calling thread. Needs no GIL, and costs next to nothing.
    pub fn current() -> PythonThread {
        PythonThread(ffi::thread_ident())
    }

    /// The id Python's `threading.get_ident()` gives this thread.
    pub fn ident(self) -> u64 {
        self.0
    }

    /// Makes the thread raise `RequestTimeout` at its next bytecode. A
    /// thread blocked in C (a `time.sleep`, a socket read) raises it only
    /// when it comes back to Python. False if no Python thread has this id.
    pub fn interrupt(self, py: Python<'_>) -> bool {
        let class = py.get_type::<RequestTimeout>();
        ffi::set_async_exc(py, self.0, Some(&class)) > 0
    }

    /// Takes back an interruption that has not fired yet, so that it cannot
    /// land in the thread's next request.
    pub fn withdraw(self, py: Python<'_>) {
        ffi::set_async_exc(py, self.0, None);
    }

    /// Where the thread is in Python, innermost frame first, one line per
    /// frame in mod_wsgi 6's words ("Thread N executing file ...", then
    /// "called from file ..."); empty if it runs no Python code now.
    pub fn stack(self, py: Python<'_>) -> Vec<String> {
        self.frames(py).unwrap_or_default()
    }

    fn frames(self, py: Python<'_>) -> PyResult<Vec<String>> {
        let frames = py.import("sys")?.call_method0("_current_frames")?;
        let frames = frames.cast_into::<PyDict>()?;
        let mut lines = Vec::new();
        let mut frame = match frames.get_item(self.0)? {
            Some(frame) => frame,
            None => return Ok(lines),
        };
        while !frame.is_none() {
            let code = frame.getattr("f_code")?;
            let file: String = code.getattr("co_filename")?.extract()?;
            let name: String = code.getattr("co_name")?.extract()?;
            let line: Option<u32> = frame.getattr("f_lineno")?.extract()?;
            let line = line.unwrap_or(0);
            let back = frame.getattr("f_back")?;
            // mod_wsgi's wsgi_log_thread_stack, word for word.
            lines.push(if lines.is_empty() {
                format!(
                    "Thread {} executing file \"{file}\", line {line}, in {name}",
                    self.0
                )
            } else if back.is_none() {
                format!("called from file \"{file}\", line {line}, in {name}.")
            } else {
                format!("called from file \"{file}\", line {line}, in {name},")
            });
            frame = back;
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::with_python;

    #[test]
    fn request_timeout_is_a_base_exception_but_not_an_exception() {
        with_python(|py| {
            let class = py.get_type::<RequestTimeout>();
            let base = py.get_type::<pyo3::exceptions::PyBaseException>();
            let exception = py.get_type::<pyo3::exceptions::PyException>();
            let system_exit = py.get_type::<pyo3::exceptions::PySystemExit>();
            assert!(class.is_subclass(&base).unwrap());
            assert!(!class.is_subclass(&exception).unwrap());
            assert!(!class.is_subclass(&system_exit).unwrap());
            assert_eq!(class.qualname().unwrap().to_string(), "RequestTimeout");
            assert_eq!(class.module().unwrap().to_string(), "mod_wsgi");
        });
    }

    #[test]
    fn an_interrupted_thread_raises_request_timeout_and_a_withdrawn_one_does_not() {
        // A Python thread spins until interrupted; this thread interrupts it
        // from outside, as the monitor does.
        let code = c"
import threading, time
result = {}
ready = threading.Event()
def spin():
    result['ident'] = threading.get_ident()
    ready.set()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pass
        result['end'] = 'loop ended'
    except BaseException as e:
        result['end'] = type(e).__module__ + '.' + type(e).__name__
thread = threading.Thread(target=spin)
thread.start()
ready.wait()
";
        with_python(|py| {
            let globals = PyDict::new(py);
            py.run(code, Some(&globals), None).unwrap();
            let result = globals.get_item("result").unwrap().unwrap();
            let ident: u64 = result.get_item("ident").unwrap().extract().unwrap();
            let thread = PythonThread(ident);
            let stack = thread.stack(py);
            assert!(stack.iter().any(|l| l.contains("in spin")), "{stack:?}");
            assert!(thread.interrupt(py));
            py.run(c"thread.join()", Some(&globals), None).unwrap();
            let end: String = result.get_item("end").unwrap().extract().unwrap();
            assert_eq!(end, "mod_wsgi.RequestTimeout");
            assert!(thread.stack(py).is_empty());
            assert!(!PythonThread(ident).interrupt(py), "the thread is gone");
        });
        // Withdrawn before it fires: this thread (which runs no bytecode
        // in between) does not raise it.
        with_python(|py| {
            let me = PythonThread::current();
            assert!(me.interrupt(py));
            me.withdraw(py);
            py.run(c"x = sum(range(1000))", None, None).unwrap();
        });
    }
}
