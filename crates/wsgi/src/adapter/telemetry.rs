//! The adapter's side of `WSGITelemetryService`: each request's times,
//! I/O and status handed to [`crate::telemetry`], and a slow request's
//! identity read from its environ (only for slow ones).

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::exchange::Exchange;
use crate::python::module::requests;
use crate::request::{RequestMeta, wall_clock_micros};
use crate::telemetry::interval::{Completed, SlowRecord};
use crate::telemetry::{self, capture_user_agent, is_slow};

/// Before the application: (requests in flight, when it starts).
pub(super) fn begin(py: Python<'_>) -> Option<(u64, i64)> {
    telemetry::collecting().then(|| {
        let start = wall_clock_micros();
        (telemetry::begin(super::thread_id(py), start), start)
    })
}

/// After the application, while its environ is still the thread's.
pub(super) fn end(
    py: Python<'_>,
    exchange: &Exchange,
    request: &RequestMeta<'_>,
    (active_at_start, application_start): (u64, i64),
) {
    let mut completed = {
        let state = exchange.state();
        let response = &state.response;
        Completed {
            times: request.times,
            application_start,
            end: wall_clock_micros(),
            status: response
                .override_status
                .or(response.head.as_ref().map(|h| h.status))
                .unwrap_or(0),
            input_bytes: state.input.bytes,
            input_reads: state.input.reads,
            input_read_us: state.input.time.as_micros() as u64,
            output_bytes: response.body_sent,
            output_writes: response.writes,
            output_write_us: response.output_time.as_micros() as u64,
            active_at_start,
            ..Completed::default()
        }
    };
    if completed.times.request_start == 0 {
        completed.times.request_start = application_start;
    }
    completed.thread_id = super::thread_id(py);
    let duration = completed.phases()[telemetry::interval::REQUEST];
    let slow = is_slow(duration).then(|| slow_record(py, request));
    telemetry::finish(completed, slow);
}

fn slow_record(py: Python<'_>, request: &RequestMeta<'_>) -> SlowRecord {
    let environ = requests::current_environ(py);
    let get = |key: &str| -> String {
        environ
            .as_ref()
            .and_then(|e: &Bound<'_, PyDict>| e.get_item(key).ok().flatten())
            .and_then(|v| v.str().ok().map(|s| s.to_string()))
            .unwrap_or_default()
    };
    let hostname = match get("HTTP_HOST") {
        h if h.is_empty() => get("SERVER_NAME"),
        h => h,
    };
    SlowRecord {
        // The Apache child that took the request; a daemon does not know it.
        server_pid: if request.process_group.is_empty() {
            u64::from(std::process::id())
        } else {
            0
        },
        log_id: get("mod_wsgi.request_id"),
        method: get("REQUEST_METHOD"),
        scheme: get("wsgi.url_scheme"),
        hostname,
        script_name: get("SCRIPT_NAME"),
        path_info: get("PATH_INFO"),
        protocol: get("SERVER_PROTOCOL"),
        peer_ip: get("REMOTE_ADDR"),
        user_agent: if capture_user_agent() {
            get("HTTP_USER_AGENT")
        } else {
            String::new()
        },
        ..SlowRecord::default()
    }
}
