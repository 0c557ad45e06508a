//! The request's events, with the keys of mod_wsgi 6's event dicts
//! (wsgi_adapter.c, wsgi_logger.c): `request_started`, `response_started`,
//! `request_exception`, `request_finished`. Each is built only when someone
//! subscribed; otherwise a request pays one length check per event.
//!
//! The keys that mod_wsgi copies from its request record (`request_id`,
//! `thread_id`, `server_pid` and the timestamps) come from the environ's
//! `mod_wsgi.*` keys, so that events and environ always agree; a key the
//! environ lacks is left out of the event.

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::exchange::Exchange;
use crate::messages::{self, Level};
use crate::python::module::{events, requests};

/// What `request_finished` needs from the start of the request, taken
/// only when someone subscribed.
pub(crate) struct Started {
    application_start: f64,
    cpu: Option<(f64, f64)>,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// This thread's user and system CPU seconds.
fn thread_cpu(py: Python<'_>) -> Option<(f64, f64)> {
    let resource = py.import("resource").ok()?;
    let who = resource.getattr("RUSAGE_THREAD").ok()?;
    let usage = resource.call_method1("getrusage", (who,)).ok()?;
    Some((
        usage.getattr("ru_utime").ok()?.extract().ok()?,
        usage.getattr("ru_stime").ok()?.extract().ok()?,
    ))
}

fn publish(py: Python<'_>, exchange: &Exchange, name: &str, event: &Bound<'_, PyDict>) {
    events::publish(py, name, event, &|error, text| {
        exchange.log(Level::Error, messages::EVENT_CALLBACK_FAILED, text);
        for line in events::traceback_lines(py, error) {
            exchange.log_raw(Level::Error, &line);
        }
    });
}

/// Builds event `name` with `fill` and the thread's `request_data`, then
/// publishes it; an event that could not be built is reported instead of
/// published half-made. Returns the published event.
fn emit<'py>(
    py: Python<'py>,
    exchange: &Exchange,
    name: &str,
    fill: impl FnOnce(&Bound<'py, PyDict>) -> PyResult<()>,
) -> Option<Bound<'py, PyDict>> {
    let event = PyDict::new(py);
    let built = fill(&event).and_then(|()| match requests::current_data(py) {
        Some(data) => event.set_item("request_data", data),
        None => Ok(()),
    });
    match built {
        Ok(()) => {
            publish(py, exchange, name, &event);
            Some(event)
        }
        Err(e) => {
            report(exchange, name, &e);
            None
        }
    }
}

/// The environ's `mod_wsgi.<key>` as an integer, 0 if absent or not one.
fn environ_int(py: Python<'_>, environ: &Bound<'_, PyDict>, key: &str) -> PyResult<i64> {
    Ok(environ
        .get_item(pyo3::types::PyString::new(py, key))?
        .and_then(|v| v.str().ok()?.to_str().ok()?.parse::<i64>().ok())
        .unwrap_or(0))
}

/// Copies the environ's `mod_wsgi.<key>` into the event as `<key>`:
/// microsecond stamps become float seconds, numbers become ints.
fn copy_from_environ(
    environ: &Bound<'_, PyDict>,
    event: &Bound<'_, PyDict>,
    key: &str,
    kind: Kind,
) -> PyResult<()> {
    let Some(value) = environ.get_item(format!("mod_wsgi.{key}"))? else {
        return Ok(());
    };
    let text = value.str()?;
    let text = text.to_str()?;
    match kind {
        Kind::Text => event.set_item(key, value)?,
        Kind::Int => {
            if let Ok(n) = text.parse::<i64>() {
                event.set_item(key, n)?;
            }
        }
        Kind::Micros => {
            if let Ok(n) = text.parse::<f64>() {
                event.set_item(key, n / 1e6)?;
            }
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Micros,
}

fn common(environ: &Bound<'_, PyDict>, event: &Bound<'_, PyDict>) -> PyResult<()> {
    copy_from_environ(environ, event, "request_id", Kind::Text)?;
    copy_from_environ(environ, event, "thread_id", Kind::Int)?;
    copy_from_environ(environ, event, "server_pid", Kind::Int)?;
    copy_from_environ(environ, event, "request_start", Kind::Micros)?;
    copy_from_environ(environ, event, "queue_start", Kind::Micros)?;
    copy_from_environ(environ, event, "daemon_start", Kind::Micros)
}

/// Publishes `request_started`; returns the application to call, which a
/// subscriber may have replaced (`application_object`, to wrap it).
/// `None` means nobody subscribed.
pub(crate) fn request_started<'py>(
    py: Python<'py>,
    exchange: &Exchange,
    environ: &Bound<'py, PyDict>,
    application: &Bound<'py, PyAny>,
    callable_object: &str,
) -> Option<(Bound<'py, PyAny>, Started)> {
    if !events::subscribed(py) {
        return None;
    }
    let started = Started {
        cpu: thread_cpu(py),
        application_start: now(),
    };
    let published = emit(py, exchange, "request_started", |event| {
        common(environ, event)?;
        let connects = environ_int(py, environ, "mod_wsgi.daemon_connects")?;
        let restarts = environ_int(py, environ, "mod_wsgi.daemon_restarts")?;
        event.set_item("daemon_connects", connects)?;
        event.set_item("daemon_restarts", restarts)?;
        event.set_item("application_object", application)?;
        event.set_item("callable_object", callable_object)?;
        event.set_item("request_environ", environ)?;
        event.set_item("application_start", started.application_start)
    });
    let application = published
        .and_then(|event| event.get_item("application_object").ok().flatten())
        .unwrap_or_else(|| application.clone());
    Some((application, started))
}

/// Publishes `response_started`, from `start_response`.
pub(crate) fn response_started(
    py: Python<'_>,
    exchange: &Exchange,
    status: &Bound<'_, PyAny>,
    headers: &Bound<'_, PyAny>,
    exc_info: Option<&Bound<'_, PyAny>>,
) {
    if !events::subscribed(py) {
        return;
    }
    emit(py, exchange, "response_started", |event| {
        if let Some(environ) = requests::current_environ(py) {
            copy_from_environ(&environ, event, "request_id", Kind::Text)?;
        }
        event.set_item("response_status", status)?;
        event.set_item("response_headers", headers)?;
        match exc_info {
            Some(info) => event.set_item("exception_info", info),
            None => event.set_item("exception_info", py.None()),
        }
    });
}

/// Publishes `request_exception` for an exception the application raised
/// (calling it, iterating its response, or closing it).
pub(crate) fn request_exception(py: Python<'_>, exchange: &Exchange, error: &PyErr) {
    if !events::subscribed(py) {
        return;
    }
    emit(py, exchange, "request_exception", |event| {
        if let Some(environ) = requests::current_environ(py) {
            copy_from_environ(&environ, event, "request_id", Kind::Text)?;
        }
        let info = PyTuple::new(
            py,
            [
                error.get_type(py).into_any(),
                error.value(py).clone().into_any(),
                error
                    .traceback(py)
                    .map_or_else(|| py.None().into_bound(py), Bound::into_any),
            ],
        )?;
        event.set_item("exception_info", info)
    });
}

/// Publishes `request_finished`, after the response and `close()`.
pub(crate) fn request_finished(
    py: Python<'_>,
    exchange: &Exchange,
    environ: &Bound<'_, PyDict>,
    started: Option<&Started>,
    failed: bool,
) {
    if !events::subscribed(py) {
        return;
    }
    let finish = now();
    let application_start = started.map_or(finish, |s| s.application_start);
    let application_time = (finish - application_start).max(0.0);
    emit(py, exchange, "request_finished", |event| {
        common(environ, event)?;
        let (input, output, status) = {
            let state = exchange.state();
            let status = match &state.response.head {
                Some(head) if !failed => head.status,
                _ => 500,
            };
            (
                (
                    state.input.reads,
                    state.input.bytes,
                    state.input.time.as_secs_f64(),
                ),
                (
                    state.response.body_sent,
                    state.response.writes,
                    state.response.output_time.as_secs_f64(),
                ),
                status,
            )
        };
        event.set_item("input_reads", input.0)?;
        event.set_item("input_length", input.1)?;
        event.set_item("input_time", input.2)?;
        event.set_item("output_length", output.0)?;
        event.set_item("output_writes", output.1)?;
        event.set_item("output_time", output.2)?;
        if let (Some((user0, system0)), Some((user1, system1))) =
            (started.and_then(|s| s.cpu), thread_cpu(py))
        {
            let mut user = (user1 - user0).max(0.0);
            let mut system = (system1 - system0).max(0.0);
            // As mod_wsgi: CPU time is scaled down to the wall time it took.
            let total = user + system;
            if total > 0.0 && total > application_time {
                user = user / total * application_time;
                system = application_time - user;
            }
            event.set_item("cpu_user_time", user)?;
            event.set_item("cpu_system_time", system)?;
            event.set_item("cpu_time", user + system)?;
        }
        event.set_item("application_finish", finish)?;
        event.set_item("application_time", application_time)?;
        event.set_item("status", status)?;
        // mod_wsgi measures the waits for the GIL; mod_wsgi_rs does not.
        event.set_item("gil_wait_time", 0.0)?;
        event.set_item("gil_wait_count", 0)
    });
}

/// An event that could not be built (an allocation failed, a hostile
/// environ value): logged, and not published half-made.
fn report(exchange: &Exchange, name: &str, error: &PyErr) {
    exchange.log(
        Level::Error,
        messages::EVENT_CALLBACK_FAILED,
        &format!("the '{name}' event could not be built: {error}"),
    );
}
