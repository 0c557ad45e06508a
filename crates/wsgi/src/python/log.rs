//! `sys.stdout`, `sys.stderr` and `wsgi.errors`: file-like objects that
//! write whole lines into the server's error log, in the request's context
//! where there is one. Process-level lines go through the sink the host
//! installed at start-up.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::messages::Level;
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
    sys.setattr("stdout", Log::process(py)?)?;
    sys.setattr("stderr", Log::process(py)?)?;
    Ok(())
}

/// Where a request's lines go: the adapter's exchange, which writes them
/// in the request's context (or to the process log once it is over).
pub(crate) trait LineSink: Send + Sync {
    fn line(&self, level: Level, line: &str);
}

enum Target {
    Process,
    Request(Arc<dyn LineSink>),
}

#[pyclass(module = "mod_wsgi_rs", name = "Log", frozen)]
pub struct Log {
    target: Target,
    /// Text after the last newline, waiting for the rest of its line.
    partial: Mutex<String>,
}

impl Log {
    fn process(py: Python<'_>) -> PyResult<Bound<'_, Log>> {
        Bound::new(
            py,
            Log {
                target: Target::Process,
                partial: Mutex::new(String::new()),
            },
        )
    }

    pub(crate) fn for_request(sink: Arc<dyn LineSink>) -> Self {
        Log {
            target: Target::Request(sink),
            partial: Mutex::new(String::new()),
        }
    }

    fn emit(&self, line: &str) {
        match &self.target {
            Target::Process => process_log(Level::Error, line),
            Target::Request(sink) => sink.line(Level::Error, line),
        }
    }

    pub(crate) fn flush_partial(&self) {
        let rest = std::mem::take(&mut *lock(&self.partial));
        if !rest.is_empty() {
            self.emit(&rest);
        }
    }
}

#[pymethods]
impl Log {
    fn write(&self, text: &Bound<'_, PyAny>) -> PyResult<usize> {
        let text = text.cast::<PyString>().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "write() argument must be str, not {}",
                text.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        let text = text.to_string_lossy();
        let complete: Vec<String> = {
            let mut partial = lock(&self.partial);
            partial.push_str(&text);
            match partial.rfind('\n') {
                Some(end) => {
                    let rest = partial.split_off(end + 1);
                    let done = std::mem::replace(&mut *partial, rest);
                    done.lines().map(str::to_owned).collect()
                }
                None => Vec::new(),
            }
        };
        for line in &complete {
            self.emit(line);
        }
        Ok(text.chars().count())
    }

    fn writelines(&self, lines: &Bound<'_, PyAny>) -> PyResult<()> {
        for line in lines.try_iter()? {
            self.write(&line?)?;
        }
        Ok(())
    }

    fn flush(&self) {
        self.flush_partial();
    }

    fn isatty(&self) -> bool {
        false
    }

    fn fileno(&self) -> PyResult<i32> {
        Err(PyOSError::new_err("the error log has no file descriptor"))
    }

    fn readable(&self) -> bool {
        false
    }

    fn writable(&self) -> bool {
        true
    }

    fn seekable(&self) -> bool {
        false
    }

    fn close(&self) {
        self.flush_partial();
    }

    #[getter]
    fn closed(&self) -> bool {
        false
    }

    #[getter]
    fn encoding(&self) -> &'static str {
        "utf-8"
    }

    #[getter]
    fn errors(&self) -> &'static str {
        "backslashreplace"
    }
}
