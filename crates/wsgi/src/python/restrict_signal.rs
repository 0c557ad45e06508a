//! `WSGIRestrictSignal On` (the default, as in mod_wsgi): Apache owns the
//! signals of its children and of the daemon processes, and an application
//! that installs a SIGTERM or SIGHUP handler there breaks Apache's shutdown
//! and restarts. `signal.signal` is replaced by a callable that installs
//! nothing, returns the current handler (as `signal.getsignal` sees it) and
//! logs one warning. Python would refuse anyway outside the main thread,
//! where scripts are loaded and requests run, with a `ValueError` that
//! breaks applications mod_wsgi runs.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use super::ffi::heap_type::{self, Args, Flags, HeapType, Kind};
use super::log::LogSink;
use crate::messages::{self, Level};

struct RestrictedSignal {
    /// The real `signal.signal`, still used by processes the application
    /// forks (a `multiprocessing` worker owns its own signals).
    original: Py<PyAny>,
    getsignal: Py<PyAny>,
    /// The server process this was installed in.
    pid: u32,
    sink: LogSink,
}

static RESTRICTED_SIGNAL: HeapType<RestrictedSignal> = HeapType::new(
    Kind::RestrictedSignal,
    c"mod_wsgi_rs.RestrictedSignal",
    None,
    Flags {
        subclass: false,
        mapping: false,
    },
    || {
        vec![
            heap_type::call!(RestrictedSignal, RestrictedSignal::call),
            heap_type::unary!(Repr, RestrictedSignal, RestrictedSignal::repr),
        ]
    },
);

impl RestrictedSignal {
    fn call<'py>(&self, py: Python<'py>, args: &Args<'_, 'py>) -> PyResult<Bound<'py, PyAny>> {
        let [signalnum, handler] =
            args.parse("RestrictedSignal.__call__", ["signalnum", "handler"], 2, 2)?;
        let signalnum = &signalnum.expect("required").to_owned();
        let handler = &handler.expect("required").to_owned();
        if std::process::id() != self.pid {
            return self.original.bind(py).call1((signalnum, handler));
        }
        // Python's own checks, so bad arguments fail as they would anyway:
        // getsignal rejects a bad signal number.
        let previous = self.getsignal.bind(py).call1((signalnum,))?;
        if !handler.is_callable() && !matches!(handler.extract::<i64>(), Ok(0 | 1)) {
            return Err(PyTypeError::new_err(
                "signal handler must be signal.SIG_IGN, signal.SIG_DFL, or a callable object",
            ));
        }
        let number = signalnum
            .extract::<i64>()
            .map_or_else(|_| signalnum.to_string(), |n| n.to_string());
        let place = caller(py).map(|p| format!(" at {p}")).unwrap_or_default();
        (self.sink)(
            Level::Warning,
            &messages::process_line(
                messages::SIGNAL_IGNORED,
                &format!(
                    "signal.signal({number}, ...) from the application{place} was ignored: \
                     Apache owns this process's signals (WSGIRestrictSignal On)"
                ),
            ),
        );
        Ok(previous)
    }

    fn repr(&self, _py: Python<'_>) -> PyResult<&'static str> {
        Ok("<signal.signal restricted by mod_wsgi_rs (WSGIRestrictSignal On)>")
    }
}

/// `file:line` of the Python code that called us.
fn caller(py: Python<'_>) -> Option<String> {
    let frame = py
        .import("sys")
        .and_then(|sys| sys.call_method1("_getframe", (0,)))
        .ok()?;
    let file: String = frame
        .getattr("f_code")
        .and_then(|code| code.getattr("co_filename"))
        .and_then(|name| name.extract())
        .ok()?;
    let line: i64 = frame.getattr("f_lineno").and_then(|l| l.extract()).ok()?;
    Some(format!("{file}:{line}"))
}

fn restricted(py: Python<'_>, sink: LogSink) -> PyResult<RestrictedSignal> {
    let signal = py.import("signal")?;
    Ok(RestrictedSignal {
        original: signal.getattr("signal")?.unbind(),
        getsignal: signal.getattr("getsignal")?.unbind(),
        pid: std::process::id(),
        sink,
    })
}

/// Replaces `signal.signal` in this process.
pub(super) fn install(py: Python<'_>, sink: LogSink) -> PyResult<()> {
    let restricted = RESTRICTED_SIGNAL.instance(py, restricted(py, sink)?)?;
    py.import("signal")?.setattr("signal", restricted)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use pyo3::types::PyDict;

    use super::*;
    use crate::test_support::with_python;

    static LINES: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

    fn record(level: Level, line: &str) {
        LINES.lock().unwrap().push((level, line.to_owned()));
    }

    #[test]
    fn installs_nothing_returns_the_current_handler_and_warns() {
        with_python(|py| {
            let locals = PyDict::new(py);
            locals
                .set_item(
                    "restricted",
                    RESTRICTED_SIGNAL
                        .instance(py, restricted(py, record).unwrap())
                        .unwrap(),
                )
                .unwrap();
            // Not the main thread: the real signal.signal would raise ValueError.
            py.run(
                c"import signal\n\
                  def handler(signum, frame): pass\n\
                  before = signal.getsignal(signal.SIGUSR2)\n\
                  previous = restricted(signal.SIGUSR2, handler)\n\
                  after = signal.getsignal(signal.SIGUSR2)\n\
                  ignored = restricted(signal.SIGUSR2, signal.SIG_IGN)\n\
                  bad_handler = bad_number = None\n\
                  try: restricted(signal.SIGUSR2, 'nope')\n\
                  except TypeError as e: bad_handler = str(e)\n\
                  try: restricted(100000, handler)\n\
                  except ValueError as e: bad_number = str(e)\n",
                None,
                Some(&locals),
            )
            .unwrap();
            let get = |k: &str| locals.get_item(k).unwrap().unwrap();
            assert!(get("previous").is(get("before")));
            assert!(get("after").is(get("before")), "a handler was installed");
            assert!(get("ignored").is(get("before")));
            assert!(get("bad_handler").to_string().contains("callable"));
            assert!(!get("bad_number").is_none());
        });
        let lines = LINES.lock().unwrap();
        let usr2 = libc::SIGUSR2;
        let ours: Vec<_> = lines
            .iter()
            .filter(|(_, l)| l.contains(&format!("signal.signal({usr2}, ...)")))
            .collect();
        assert_eq!(ours.len(), 2, "one line per accepted call: {lines:?}");
        let (level, line) = ours[0];
        assert_eq!(*level, Level::Warning);
        assert!(
            line.contains(": WSGIRS0110: ") && line.contains("at <string>:4 was ignored"),
            "{line}"
        );
    }
}
