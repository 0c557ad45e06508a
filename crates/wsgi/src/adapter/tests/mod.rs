//! The adapter alone, over a recording transport: the PEP 3333 cases that
//! need no server. The Apache tests (tests/*.rs) keep what only a real
//! connection can show (chunked framing, keep-alive, error pages).

mod environ;
mod file_wrapper;
mod input;
mod response;
mod start_response;

use crate::test_support::RecordingTransport;

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
