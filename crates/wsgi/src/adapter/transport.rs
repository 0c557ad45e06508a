//! What the adapter needs from wherever the bytes come from and go to:
//! Apache's request in embedded mode, a socket to an Apache child in daemon
//! mode, or a test double.

use std::io;
use std::os::fd::RawFd;

use crate::messages::Level;

/// The response's first line and headers, validated and latin-1 encoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    /// The whole status line as given, e.g. `200 OK`.
    pub status_line: Vec<u8>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
}

pub trait Transport: Send + std::any::Any {
    /// Visits the request's CGI variables (`REQUEST_METHOD`, `HTTP_*`, ...).
    fn cgi_variables(&self, visit: &mut dyn FnMut(&[u8], &[u8]));

    /// Reads request body bytes into `buf`; `Ok(0)` at the end of the body.
    /// Called without the GIL.
    fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// Records the status and headers; nothing is sent yet.
    fn set_head(&mut self, head: &ResponseHead);

    /// Queues body bytes (copying them) without blocking; they go out with
    /// the next `send_body`, `send_file` or the end of the response.
    fn queue_body(&mut self, data: &[u8]) -> io::Result<()>;

    /// Sends queued bytes and `data` now. Called without the GIL.
    fn send_body(&mut self, data: &[u8]) -> io::Result<()>;

    /// Sends `len` bytes of the open file `fd` starting at `offset`, without
    /// copying them through Python; returns once the file is no longer
    /// needed. Called without the GIL.
    fn send_file(&mut self, fd: RawFd, offset: u64, len: u64) -> io::Result<()>;

    /// Writes one line to the error log, in the request's context.
    fn log(&self, level: Level, message: &str);
}

/// How the application's response ended; the host turns it into the end of
/// the HTTP exchange once the GIL is released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Complete: send what is queued and end the response normally.
    Complete,
    /// Failed before anything was sent: answer 500.
    Failed,
    /// An error status with `WSGIErrorOverride On`: let the server produce
    /// its own error page for this status; the application's body is dropped.
    ErrorOverride(u16),
    /// Failed after the headers went out: end the response so the client can
    /// tell it was cut short (no final chunk, connection closed).
    Truncated,
    /// The client went away; nothing more can be sent.
    ClientGone,
}
