//! PEP 3333, independent of transport: one request in, the application
//! called, its response out through a [`Transport`].

mod environ;
mod events;
mod exchange;
mod file_wrapper;
mod input;
mod recent_variables;
mod response;
mod send;
mod start_response;
mod telemetry;
mod transport;

use std::sync::Arc;

use pyo3::prelude::*;

pub use environ::{EnvironExtras, ProcessInfo, thread_id};
pub use file_wrapper::FileWrapper;
pub use input::Input;
pub use transport::{Outcome, ResponseHead, Transport};

// Re-exported where hosts have always found them.
pub use crate::python::log::{LogSink, install_process_log};

use crate::messages::{self, Level, LogContext};
use crate::python::loader;
use crate::python::log;
use crate::python::module::{recording, requests};
use crate::request::{RequestMeta, ScriptReloading};

/// Makes the adapter's own Python types (see `python::module`'s
/// `create_types`) in the interpreter this runs in: the main one.
pub(crate) fn create_types(py: Python<'_>) {
    py.get_type::<start_response::StartResponse>();
    py.get_type::<start_response::Write>();
}

/// Runs one request through the application. Returns how it ended and the
/// transport, which the host finishes (sends what is queued, ends the
/// response) after releasing the GIL. `log_context` names the request in
/// the adapter's log lines; the host builds it, as it knows the facts.
pub fn handle_request<T: Transport>(
    py: Python<'_>,
    process: &ProcessInfo,
    request: &RequestMeta<'_>,
    log_context: LogContext,
    transport: T,
) -> (Outcome, T) {
    let exchange = Arc::new(exchange::Exchange::new(
        Box::new(transport),
        request.body_length,
        request.error_override,
        log_context,
    ));
    // The thread's request, for request_data() and active_requests, from
    // before the script is loaded until request_finished was published.
    requests::begin(py);
    recording::request_began(|| thread_id(py));
    let telemetry = telemetry::begin();
    let outcome = run(py, process, request, &exchange);
    if let Some(started) = telemetry {
        telemetry::end(py, &exchange, request, started);
    }
    requests::end(py);
    recording::request_ended();
    let transport: Box<dyn std::any::Any> = exchange.finish(py);
    let transport = transport
        .downcast::<T>()
        .expect("the exchange returns the transport it was given");
    (outcome, *transport)
}

fn run(
    py: Python<'_>,
    process: &ProcessInfo,
    request: &RequestMeta<'_>,
    exchange: &Arc<exchange::Exchange>,
) -> Outcome {
    let module = match loader::load_script(
        py,
        &request.script,
        request.script_mtime,
        request.script_reloading == ScriptReloading::Module,
        &mut |e| {
            response::log_exception(
                py,
                exchange,
                messages::RELOAD_HOOK_FAILED,
                "the script's reload_required() raised; the loaded script is kept",
                &e,
            )
        },
    ) {
        Ok(module) => module,
        Err(e) => {
            let text = format!(
                "Failed to exec Python script file '{script}'; Target WSGI script '{script}' cannot be loaded as Python module; {}",
                response::exception_text(
                    py,
                    exchange,
                    &e,
                    "it is loaded again on the next request"
                ),
                script = request.script,
            );
            response::log_exception(py, exchange, messages::SCRIPT_LOAD_FAILED, &text, &e);
            return Outcome::Failed;
        }
    };
    let application = match module.getattr(&*request.callable_object) {
        Ok(app) => app,
        Err(_) => {
            exchange.log(
                Level::Error,
                messages::CALLABLE_MISSING,
                &format!(
                    "Target WSGI script '{}' does not contain WSGI application '{}'.",
                    request.script, request.callable_object
                ),
            );
            return Outcome::Failed;
        }
    };
    let extras = EnvironExtras {
        url_scheme: &request.url_scheme,
        process_group: &request.process_group,
        application_group: &request.application_group,
        callable_object: &request.callable_object,
        script_reloading: request.script_reloading.is_on(),
        times: request.times,
        application_start: crate::request::wall_clock_micros(),
    };
    let built = (|| {
        let input = Bound::new(py, input::Input::new(exchange.clone()))?;
        let errors = log::begin_request(py, exchange.clone())?;
        exchange
            .with_transport(|t| environ::build_environ(py, process, t, &extras, input, errors))
            .map_err(|u| u.into_pyerr())?
    })();
    let environ = match built {
        Ok(built) => built,
        Err(e) => {
            let text =
                response::exception_text(py, exchange, &e, "the WSGI environ could not be built");
            response::log_exception(py, exchange, messages::APPLICATION_EXCEPTION, &text, &e);
            log::end_request();
            return Outcome::Failed;
        }
    };
    requests::set_environ(&environ);
    let started = events::request_started(
        py,
        exchange,
        &environ,
        &application,
        &request.callable_object,
    );
    let (application, started) = match started {
        Some((application, started)) => (application, Some(started)),
        None => (application, None),
    };
    let outcome = response::respond(
        py,
        exchange,
        &application,
        environ.clone(),
        request.discard_body,
    );
    events::request_finished(
        py,
        exchange,
        &environ,
        started.as_ref(),
        outcome == Outcome::Failed,
    );
    log::end_request();
    outcome
}

#[cfg(test)]
mod tests;
