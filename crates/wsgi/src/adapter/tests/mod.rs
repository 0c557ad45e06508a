//! The adapter alone, over a recording transport: the PEP 3333 cases that
//! need no server. The Apache tests (tests/*.rs) keep what only a real
//! connection can show (chunked framing, keep-alive, error pages).

mod environ;
mod file_wrapper;
mod input;
mod module;
mod response;
mod start_response;
mod validator;

use pyo3::prelude::*;

use super::exchange::Exchange;
use crate::test_support::RecordingTransport;

/// An exchange as `handle_request` makes it, for tests of one part of the
/// adapter; its log lines name the script `/srv/app.wsgi`.
pub(super) fn exchange(transport: RecordingTransport, body_length: Option<u64>) -> Exchange {
    Exchange::new(
        Box::new(transport),
        body_length,
        false,
        crate::messages::LogContext::script("/srv/app.wsgi"),
    )
}

/// Ends the exchange and hands back its transport with what it recorded.
pub(super) fn finish(py: Python<'_>, exchange: &Exchange) -> RecordingTransport {
    let transport: Box<dyn std::any::Any> = exchange.finish(py);
    *transport
        .downcast::<RecordingTransport>()
        .expect("a recording transport")
}

/// Asserts that `id` was logged with the request's script in context, and
/// returns that line.
fn logged_once(t: &RecordingTransport, id: &str) -> String {
    let lines = t.logged(&format!(": {id}: "));
    assert_eq!(lines.len(), 1, "{id} in:\n{}", t.log_text());
    assert!(
        lines[0].contains("script='") && lines[0].contains("app.wsgi'"),
        "{}",
        lines[0]
    );
    lines[0].clone()
}
