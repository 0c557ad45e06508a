//! Embedded mode: carries out a routing plan inside the Apache child,
//! through the transport-independent adapter and an [`ApacheTransport`].

use std::ffi::c_int;
use std::io;
use std::os::fd::RawFd;

use wsgi::adapter::{self, Outcome, ProcessInfo, ResponseHead, Transport};
use wsgi::messages::{self, Level, LogContext};
use wsgi::request::RequestMeta;

use crate::apache::bindings::apr_bucket_brigade;
use crate::apache::request::Request;
use crate::environ::{CgiOptions, visit_cgi_variables};
use crate::response_end;

/// Runs a request, as the routing step planned it, in its application
/// group's interpreter. `sendfile` is `WSGIEnableSendfile`.
pub fn execute(
    r: Request,
    process: &ProcessInfo,
    meta: &RequestMeta<'_>,
    cgi: CgiOptions,
    sendfile: bool,
) -> c_int {
    let log_context = LogContext::script(&meta.script);
    let transport = ApacheTransport {
        brigade: r.new_brigade(),
        request: r,
        cgi,
        sendfile,
    };
    let mut request = Some((transport, log_context));
    let ran = wsgi::python::attach_group(&meta.application_group, |py| {
        let (transport, log_context) = request.take().expect("the request is taken once");
        adapter::handle_request(py, process, meta, log_context, transport)
    });
    let (outcome, mut transport) = ran.unwrap_or_else(|e| {
        let (transport, log_context) = request.take().expect("not run: it is still here");
        transport.request.log(
            Level::Error,
            &messages::format_line(log_context, messages::INTERPRETER_FAILED, &e),
        );
        (Outcome::Failed, transport)
    });
    response_end::finish(&mut transport.request, transport.brigade, outcome)
}

/// The adapter's view of an Apache request.
struct ApacheTransport {
    request: Request,
    /// Holds the queued response until it is passed to Apache's filters.
    brigade: *mut apr_bucket_brigade,
    cgi: CgiOptions,
    /// `WSGIEnableSendfile`.
    sendfile: bool,
}

// SAFETY: used by one thread at a time (see `Request`); the brigade belongs
// to the request.
unsafe impl Send for ApacheTransport {}

impl ApacheTransport {
    /// A write to the client that timed out says which timeout: Apache's
    /// `Timeout` bounds every blocked write of the core output filter.
    fn named_timeout(&self, e: io::Error) -> io::Error {
        if e.kind() != io::ErrorKind::TimedOut {
            return e;
        }
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "a write to it blocked for longer than Timeout ({} s)",
                self.request.server().timeout().as_secs()
            ),
        )
    }
}

impl Transport for ApacheTransport {
    fn cgi_variables(&self, visit: &mut dyn FnMut(&[u8], &[u8])) {
        visit_cgi_variables(&self.request, &self.cgi, visit);
    }

    fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.request.read_body(buf)
    }

    fn set_head(&mut self, head: &ResponseHead) {
        self.request
            .set_response_head(head.status, &head.status_line, &head.headers);
    }

    fn queue_body(&mut self, data: &[u8]) -> io::Result<()> {
        self.request.brigade_copy(self.brigade, data)
    }

    fn send_body(&mut self, data: &[u8]) -> io::Result<()> {
        let sent = self.request.pass_now(self.brigade, data);
        sent.map_err(|e| self.named_timeout(e))
    }

    fn send_file(&mut self, fd: RawFd, offset: u64, len: u64) -> io::Result<()> {
        let sent = self
            .request
            .pass_file(self.brigade, fd, offset, len, self.sendfile);
        sent.map_err(|e| self.named_timeout(e))
    }

    fn log(&self, level: Level, message: &str) {
        self.request.log(level, message);
    }
}
