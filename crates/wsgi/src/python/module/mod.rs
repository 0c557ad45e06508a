//! The `mod_wsgi` and `apache` modules an application imports, with
//! mod_wsgi 6's API (wsgi_module.c, wsgi_metrics.c, wsgi_interp.c).
//!
//! They are built by hand in each interpreter (at start-up in the main
//! one, when a sub-interpreter is made in it) and put in `sys.modules`,
//! not made by pyo3's `#[pymodule]`, which refuses sub-interpreters: see
//! "Interpreters" in docs/architecture.md.

mod apache;
pub mod events;
mod facts;
pub mod metrics;
pub mod recording;
mod request_metrics;
pub mod requests;

use pyo3::exceptions::PyModuleNotFoundError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};
use pyo3::wrap_pyfunction;

pub use facts::{ApacheFacts, ProcessFacts};

use crate::adapter::{FileWrapper, Input};
use crate::messages::{self, Level};
use crate::python::log::process_log;
use crate::python::request_timeout::RequestTimeout;

/// The mod_wsgi release whose behaviour this module follows:
/// `mod_wsgi.version`, which applications test to detect features.
pub const MOD_WSGI_VERSION: (u32, u32, u32) = (6, 1, 1);

/// mod_wsgi_rs's own version, as `mod_wsgi.mod_wsgi_rs_version`.
fn own_version() -> (u32, u32, u32) {
    let mut parts = crate::VERSION
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

/// The facts the host handed over, for each sub-interpreter's modules.
static FACTS: std::sync::OnceLock<ProcessFacts> = std::sync::OnceLock::new();

/// Builds `mod_wsgi` and `apache` in the main interpreter and puts them in
/// `sys.modules`. Called by the host once Python started, before any
/// script is imported. Problems are logged; the process serves anyway.
pub fn install(facts: &ProcessFacts) {
    let _ = FACTS.set(facts.clone());
    recording::note_process_start();
    request_metrics::note_process(facts.threads_per_process, !facts.process_group.is_empty());
    crate::python::attach(|py| {
        create_types(py);
        install_here(py, "");
    });
}

/// Makes pyo3's `PanicException` in the main interpreter, so that it lives
/// as long as the process: pyo3 makes it once, in whichever interpreter
/// first raises it, and one made in a sub-interpreter would be freed with
/// that interpreter while others still use it. The module's own types are
/// heap types made per interpreter (`python::ffi::heap_type`).
fn create_types(py: Python<'_>) {
    py.get_type::<pyo3::panic::PanicException>();
}

/// Builds `mod_wsgi` (with `application_group` `group`) and `apache` in
/// the current interpreter. Problems are logged.
pub(crate) fn install_here(py: Python<'_>, group: &str) {
    let facts = FACTS.get().cloned().unwrap_or_default();
    let result = (|| {
        let problem = install_mod_wsgi(py, &facts, group)?;
        let apache_problem = apache::install(py, &facts.apache, !facts.process_group.is_empty())?;
        Ok::<_, PyErr>(
            problem
                .into_iter()
                .chain(apache_problem)
                .collect::<Vec<_>>(),
        )
    })();
    let problems = match result {
        Ok(problems) => problems,
        Err(e) => vec![format!(
            "the 'mod_wsgi' and 'apache' modules could not be built: {e}"
        )],
    };
    for problem in problems {
        process_log(
            Level::Error,
            &messages::process_line(messages::MODULE_NOT_INSTALLED, &problem),
        );
    }
}

fn install_mod_wsgi(py: Python<'_>, facts: &ProcessFacts, group: &str) -> PyResult<Option<String>> {
    let module = PyModule::new(py, "mod_wsgi")?;
    let spec = py
        .import("importlib.machinery")?
        .getattr("ModuleSpec")?
        .call1(("mod_wsgi", py.None()))?;
    module.setattr("__spec__", spec)?;
    // mod_wsgi-express's `mod_wsgi` package, when installed, keeps its
    // subpackages importable (mod_wsgi.server, ...) through our module.
    let mut problem = None;
    match py.import("mod_wsgi") {
        Ok(package) => {
            // mod_wsgi's words, which people search the log for.
            process_log(
                Level::Info,
                &messages::process_note("Imported existing 'mod_wsgi' Python extension module."),
            );
            if let Ok(path) = package.getattr("__path__") {
                module.setattr("__path__", path)?;
            }
        }
        Err(e) if e.is_instance_of::<PyModuleNotFoundError>(py) => {}
        Err(e) => {
            problem = Some(format!(
                "the 'mod_wsgi' package on sys.path could not be imported ({e}); its subpackages are not available"
            ))
        }
    }

    module.add("version", MOD_WSGI_VERSION)?;
    module.add("mod_wsgi_rs_version", own_version())?;
    module.add("FileWrapper", py.get_type::<FileWrapper>())?;
    module.add("Input", py.get_type::<Input>())?;
    module.add("RequestTimeout", py.get_type::<RequestTimeout>())?;
    module.add_function(wrap_pyfunction!(events::subscribe_events, &module)?)?;
    module.add_function(wrap_pyfunction!(events::subscribe_shutdown, &module)?)?;
    module.add_function(wrap_pyfunction!(events::subscribe_signals, &module)?)?;
    module.add_function(wrap_pyfunction!(requests::request_data, &module)?)?;
    module.add_function(wrap_pyfunction!(metrics::server_metrics, &module)?)?;
    module.add_function(wrap_pyfunction!(recording::process_metrics, &module)?)?;
    module.add_function(wrap_pyfunction!(
        request_metrics::start_recording_metrics,
        &module
    )?)?;
    module.add_function(wrap_pyfunction!(request_metrics::request_metrics, &module)?)?;
    let lists = events::callbacks(py);
    module.add("event_callbacks", lists.events.bind(py))?;
    module.add("shutdown_callbacks", lists.shutdown.bind(py))?;
    module.add("signal_callbacks", lists.signals.bind(py))?;
    let active = requests::ActiveRequests::new_object(py)?;
    py.import("collections.abc")?
        .getattr("Mapping")?
        .call_method1("register", (active.get_type(),))?;
    module.add("active_requests", active)?;

    module.add("process_group", &facts.process_group)?;
    // The interpreter's group; the main interpreter (%{GLOBAL}) is "".
    module.add("application_group", group)?;
    module.add("maximum_processes", facts.maximum_processes.max(1))?;
    module.add("threads_per_process", facts.threads_per_process.max(1))?;

    py.import("sys")?
        .getattr("modules")?
        .set_item("mod_wsgi", &module)?;
    Ok(problem)
}

/// Publishes `process_stopping` (to event and shutdown subscribers) with
/// mod_wsgi's `shutdown_reason` in the current interpreter, before Python
/// is finalised.
pub(crate) fn publish_process_stopping_here(py: Python<'_>, reason: &str) {
    let Some(lists) = events::existing_callbacks(py) else {
        return;
    };
    if lists.events.bind(py).is_empty() && lists.shutdown.bind(py).is_empty() {
        return;
    }
    let event = PyDict::new(py);
    if event.set_item("shutdown_reason", reason).is_err() {
        return;
    }
    events::publish(py, "process_stopping", &event, &|error, text| {
        process_log(
            Level::Error,
            &messages::process_line(messages::EVENT_CALLBACK_FAILED, text),
        );
        for line in events::traceback_lines(py, error) {
            process_log(Level::Error, &line);
        }
    });
}
