//! mod_wsgi's events: `subscribe_events`, `subscribe_shutdown` and
//! `subscribe_signals` append to lists, and publishing calls each
//! subscriber as `callback(name, **event)`. A subscriber that returns a
//! dict has its keys merged into the event before the next one runs (that
//! is how a subscriber of `request_started` wraps `application_object`).
//!
//! The lists are made once per interpreter (they are also the module's
//! `event_callbacks`, `shutdown_callbacks` and `signal_callbacks`), so that
//! asking whether anyone subscribed is a length check: the adapter builds
//! no event dict when nobody did.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::python::per_interpreter::PerInterpreter;

/// The subscriber lists, shared by the module and the publishers.
pub(crate) struct Callbacks {
    pub(crate) events: Py<PyList>,
    pub(crate) shutdown: Py<PyList>,
    pub(crate) signals: Py<PyList>,
}

/// One set per interpreter: a subscriber is called in its own interpreter.
static CALLBACKS: PerInterpreter<Callbacks> = PerInterpreter::new();

pub(crate) fn callbacks(py: Python<'_>) -> &'static Callbacks {
    CALLBACKS.get_or_init(py, || Callbacks {
        events: PyList::empty(py).unbind(),
        shutdown: PyList::empty(py).unbind(),
        signals: PyList::empty(py).unbind(),
    })
}

/// The current interpreter's lists, if they were made.
pub(crate) fn existing_callbacks(py: Python<'_>) -> Option<&'static Callbacks> {
    CALLBACKS.get(py)
}

/// Whether anyone subscribed to events: the per-request test, which must
/// stay cheap (an atomic load and a list length).
pub fn subscribed(py: Python<'_>) -> bool {
    CALLBACKS
        .get(py)
        .is_some_and(|c| !c.events.bind(py).is_empty())
}

/// `mod_wsgi.subscribe_events(callback)`; returns the callback, so that it
/// can be used as a decorator.
#[pyfunction]
pub(crate) fn subscribe_events<'py>(
    py: Python<'py>,
    callback: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    callbacks(py).events.bind(py).append(&callback)?;
    Ok(callback)
}

/// `mod_wsgi.subscribe_shutdown(callback)`: called with `process_stopping`.
#[pyfunction]
pub(crate) fn subscribe_shutdown<'py>(
    py: Python<'py>,
    callback: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    callbacks(py).shutdown.bind(py).append(&callback)?;
    Ok(callback)
}

/// `mod_wsgi.subscribe_signals(callback)`: accepted and kept, as in
/// mod_wsgi, but never called: mod_wsgi_rs passes no signals on to Python.
#[pyfunction]
pub(crate) fn subscribe_signals<'py>(
    py: Python<'py>,
    callback: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    callbacks(py).signals.bind(py).append(&callback)?;
    Ok(callback)
}

/// Reports a subscriber's exception: `error` and the line's text, in
/// mod_wsgi's words ("ValueError exception raised by event callback for
/// 'request_started'."). The caller writes it with its context.
pub type CallbackErrorSink<'a> = &'a dyn Fn(&PyErr, &str);

/// Publishes `event` under `name` to the event subscribers, and, for
/// `process_stopping`, to the shutdown subscribers too.
pub fn publish(py: Python<'_>, name: &str, event: &Bound<'_, PyDict>, on_error: CallbackErrorSink) {
    let lists = callbacks(py);
    call_each(py, name, lists.events.bind(py), event, on_error);
    if name == "process_stopping" {
        call_each(py, name, lists.shutdown.bind(py), event, on_error);
    }
}

fn call_each(
    py: Python<'_>,
    name: &str,
    list: &Bound<'_, PyList>,
    event: &Bound<'_, PyDict>,
    on_error: CallbackErrorSink,
) {
    if list.is_empty() {
        return;
    }
    // A snapshot, as mod_wsgi takes: a subscriber that subscribes or
    // unsubscribes while being called changes the next event, not this one.
    let snapshot = list.get_slice(0, list.len());
    let args = PyTuple::new(py, [PyString::new(py, name)]).expect("a one-item tuple");
    for callback in snapshot.iter() {
        match callback.call(&args, Some(event)) {
            Ok(result) => {
                if let Ok(update) = result.cast::<PyDict>()
                    && let Err(e) = event.update(update.as_mapping())
                {
                    report(py, name, &e, on_error);
                }
            }
            Err(e) => report(py, name, &e, on_error),
        }
    }
}

fn report(py: Python<'_>, name: &str, error: &PyErr, on_error: CallbackErrorSink) {
    let type_name = error
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "unknown".to_owned());
    let ignored = if error.is_instance_of::<pyo3::exceptions::PySystemExit>(py) {
        "; ignored"
    } else {
        ""
    };
    on_error(
        error,
        &format!("{type_name} exception raised by event callback for '{name}'{ignored}."),
    );
}

/// An exception's traceback, one string per line (its text alone if the
/// traceback cannot be formatted).
pub fn traceback_lines(py: Python<'_>, error: &PyErr) -> Vec<String> {
    let formatted = py
        .import("traceback")
        .and_then(|tb| {
            // The three-argument form: before Python 3.12 the value does not
            // carry its traceback, which PyErr keeps apart.
            tb.call_method1(
                "format_exception",
                (error.get_type(py), error.value(py), error.traceback(py)),
            )
        })
        .and_then(|lines| lines.extract::<Vec<String>>());
    match formatted {
        Ok(lines) => lines.concat().lines().map(str::to_owned).collect(),
        Err(_) => vec![error.to_string()],
    }
}
