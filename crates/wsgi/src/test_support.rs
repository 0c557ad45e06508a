//! Helpers for unit tests that need a Python interpreter.

use std::path::PathBuf;
use std::sync::Once;

use pyo3::prelude::*;

static START: Once = Once::new();

pub(crate) fn with_python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    START.call_once(|| {
        crate::python::initialize(&Default::default(), |_, line| eprintln!("{line}"))
            .expect("python starts");
    });
    crate::python::attach(f)
}

/// A directory of its own for one test's files, removed when dropped, so
/// a passing run leaves nothing in /tmp (tests run in parallel: each gets
/// its own).
pub(crate) struct ScratchDir(PathBuf);

impl ScratchDir {
    pub(crate) fn new(name: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ScratchDir(temp_dir(&format!("{name}{n}")))
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mod_wsgi_rs-unit-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One thing the adapter did to a [`RecordingTransport`], in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    Head(crate::adapter::ResponseHead),
    /// `queue_body`: copied, to go out with the next send.
    Queued(Vec<u8>),
    /// `send_body`: sent at once.
    Sent(Vec<u8>),
    /// `send_file`, with the bytes that were in the file at that range.
    File {
        offset: u64,
        len: u64,
        bytes: Vec<u8>,
    },
}

/// How many times each transport call happened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Calls {
    pub(crate) cgi_variables: usize,
    pub(crate) read_body: usize,
    pub(crate) set_head: usize,
    pub(crate) queue_body: usize,
    pub(crate) send_body: usize,
    pub(crate) send_file: usize,
}

/// How the request body ends once its bytes are served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyEnd {
    /// `Ok(0)`: the end of the body (early, if the request declared more).
    Eof,
    /// The read fails, as when the client stops sending and times out.
    Error,
}

/// A transport for adapter unit tests: it serves the given CGI variables
/// and request body, and records everything the adapter does with it.
pub(crate) struct RecordingTransport {
    cgi: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    body_pos: usize,
    /// At most this many body bytes per `read_body`, like a network read.
    read_size: usize,
    body_end: BodyEnd,
    /// `send_body` and `send_file` succeed this many times, then fail.
    sends_before_failure: Option<usize>,
    /// The failed send times out (a client that stopped reading) instead
    /// of finding the connection closed.
    failed_send_times_out: bool,
    pub(crate) events: Vec<Event>,
    pub(crate) calls: std::cell::Cell<Calls>,
    pub(crate) log: std::sync::Mutex<Vec<(crate::messages::Level, String)>>,
}

impl RecordingTransport {
    /// A GET of `path_info` with no body.
    pub(crate) fn get(path_info: &str) -> Self {
        RecordingTransport {
            cgi: Vec::new(),
            body: Vec::new(),
            body_pos: 0,
            read_size: usize::MAX,
            body_end: BodyEnd::Eof,
            sends_before_failure: None,
            failed_send_times_out: false,
            events: Vec::new(),
            calls: Default::default(),
            log: Default::default(),
        }
        .cgi("REQUEST_METHOD", b"GET")
        .cgi("PATH_INFO", path_info.as_bytes())
        .cgi("SCRIPT_NAME", b"/app")
        .cgi("QUERY_STRING", b"")
        .cgi("SERVER_NAME", b"localhost")
        .cgi("SERVER_PORT", b"80")
        .cgi("SERVER_PROTOCOL", b"HTTP/1.1")
    }

    /// A POST of `path_info` carrying `body`.
    pub(crate) fn post(path_info: &str, body: &[u8]) -> Self {
        let mut t = RecordingTransport::get(path_info).cgi("REQUEST_METHOD", b"POST");
        t.body = body.to_vec();
        t.cgi("CONTENT_LENGTH", body.len().to_string().as_bytes())
    }

    /// Sets a CGI variable, replacing one of the same name.
    pub(crate) fn cgi(mut self, key: &str, value: &[u8]) -> Self {
        self.cgi.retain(|(k, _)| k != key.as_bytes());
        self.cgi.push((key.as_bytes().to_vec(), value.to_vec()));
        self
    }

    pub(crate) fn read_size(mut self, n: usize) -> Self {
        self.read_size = n.max(1);
        self
    }

    pub(crate) fn body_end(mut self, end: BodyEnd) -> Self {
        self.body_end = end;
        self
    }

    pub(crate) fn fail_sends_after(mut self, n: usize) -> Self {
        self.sends_before_failure = Some(n);
        self
    }

    /// As `fail_sends_after`, the failure a write timeout.
    pub(crate) fn stall_sends_after(mut self, n: usize) -> Self {
        self.failed_send_times_out = true;
        self.fail_sends_after(n)
    }

    pub(crate) fn body_len(&self) -> u64 {
        self.body.len() as u64
    }

    fn count(&self, f: impl FnOnce(&mut Calls)) {
        let mut calls = self.calls.get();
        f(&mut calls);
        self.calls.set(calls);
    }

    fn send_allowed(&mut self) -> std::io::Result<()> {
        match self.sends_before_failure.as_mut() {
            Some(0) if self.failed_send_times_out => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "a write to it blocked for longer than Timeout (1 s)",
            )),
            Some(0) => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the client went away",
            )),
            Some(n) => {
                *n -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The head the adapter set, if any.
    pub(crate) fn head(&self) -> Option<&crate::adapter::ResponseHead> {
        self.events.iter().find_map(|e| match e {
            Event::Head(h) => Some(h),
            _ => None,
        })
    }

    pub(crate) fn status(&self) -> Option<u16> {
        self.head().map(|h| h.status)
    }

    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.head()?
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    /// Every body byte the adapter passed on, queued, sent or from files.
    pub(crate) fn body(&self) -> Vec<u8> {
        let mut body = Vec::new();
        for event in &self.events {
            match event {
                Event::Queued(b) | Event::Sent(b) | Event::File { bytes: b, .. } => {
                    body.extend_from_slice(b)
                }
                Event::Head(_) => {}
            }
        }
        body
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body()).into_owned()
    }

    /// The log lines, one per line.
    pub(crate) fn log_text(&self) -> String {
        let log = self.log.lock().unwrap();
        log.iter().map(|(_, l)| format!("{l}\n")).collect()
    }

    /// Every log line, in order.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.logged("")
    }

    /// The log lines that contain `needle`.
    pub(crate) fn logged(&self, needle: &str) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|(_, l)| l.contains(needle))
            .map(|(_, l)| l.clone())
            .collect()
    }
}

impl crate::adapter::Transport for RecordingTransport {
    fn cgi_variables(&self, visit: &mut dyn FnMut(&[u8], &[u8])) {
        self.count(|c| c.cgi_variables += 1);
        for (k, v) in &self.cgi {
            visit(k, v);
        }
    }

    fn read_body(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.count(|c| c.read_body += 1);
        let rest = &self.body[self.body_pos..];
        if rest.is_empty() {
            return match self.body_end {
                BodyEnd::Eof => Ok(0),
                BodyEnd::Error => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the client stopped sending",
                )),
            };
        }
        let n = rest.len().min(buf.len()).min(self.read_size);
        buf[..n].copy_from_slice(&rest[..n]);
        self.body_pos += n;
        Ok(n)
    }

    fn set_head(&mut self, head: &crate::adapter::ResponseHead) {
        self.count(|c| c.set_head += 1);
        self.events.push(Event::Head(head.clone()));
    }

    fn queue_body(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.count(|c| c.queue_body += 1);
        self.events.push(Event::Queued(data.to_vec()));
        Ok(())
    }

    fn send_body(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.count(|c| c.send_body += 1);
        self.send_allowed()?;
        self.events.push(Event::Sent(data.to_vec()));
        Ok(())
    }

    fn send_file(&mut self, fd: std::os::fd::RawFd, offset: u64, len: u64) -> std::io::Result<()> {
        use std::os::fd::FromRawFd;
        use std::os::unix::fs::FileExt;
        self.count(|c| c.send_file += 1);
        self.send_allowed()?;
        // SAFETY: the adapter passes the fd of a file the application still
        // holds open for the whole call; ManuallyDrop leaves closing it to
        // the application.
        let file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
        let mut bytes = vec![0; len as usize];
        file.read_exact_at(&mut bytes, offset)?;
        self.events.push(Event::File { offset, len, bytes });
        Ok(())
    }

    fn log(&self, level: crate::messages::Level, message: &str) {
        self.log.lock().unwrap().push((level, message.to_owned()));
    }
}

/// What a unit-test request asks of the adapter besides its transport.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RequestOptions {
    /// The request's Content-Length, when it is not the body's real length
    /// (a body that ends early); `Some(None)` for a chunked body.
    pub(crate) body_length: Option<Option<u64>>,
    pub(crate) error_override: bool,
    pub(crate) discard_body: bool,
}

pub(crate) const PROCESS: crate::adapter::ProcessInfo = crate::adapter::ProcessInfo {
    multithread: true,
    multiprocess: false,
    apache_version: None,
};

/// Every unit-test request is built here, so a change to the adapter's
/// request type changes one place.
pub(crate) fn request<'a>(
    script: &'a str,
    options: &RequestOptions,
    body_length: u64,
) -> crate::request::RequestMeta<'a> {
    crate::request::RequestMeta {
        script: script.into(),
        script_mtime: 0,
        script_reloading: crate::request::ScriptReloading::Off,
        callable_object: "application".into(),
        body_length: options.body_length.unwrap_or(Some(body_length)),
        error_override: options.error_override,
        discard_body: options.discard_body,
        ignore_activity: false,
        url_scheme: "http".into(),
        process_group: "".into(),
        application_group: "unit|/app".into(),
        times: Default::default(),
    }
}

/// Runs the WSGI application in `source` (Python text) for one request
/// over `transport`; returns how it ended and the transport with its record.
pub(crate) fn run_app(
    source: &str,
    options: RequestOptions,
    transport: RecordingTransport,
) -> (crate::adapter::Outcome, RecordingTransport) {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // A directory per run: removing it cannot race with another test.
    let dir = temp_dir(&format!("adapter{n}"));
    let path = dir.join("app.wsgi");
    std::fs::write(&path, source).unwrap();
    let script = path.to_str().unwrap().to_owned();
    let body_length = transport.body_len();
    let result = with_python(|py| {
        crate::adapter::handle_request(
            py,
            &PROCESS,
            &request(&script, &options, body_length),
            crate::messages::LogContext::script(&script),
            transport,
        )
    });
    // The module stays loaded; the file is no longer needed.
    std::fs::remove_dir_all(&dir).ok();
    result
}

/// [`run_app`] for a GET of `path_info` with the default options.
pub(crate) fn get(source: &str, path_info: &str) -> (crate::adapter::Outcome, RecordingTransport) {
    run_app(
        source,
        RequestOptions::default(),
        RecordingTransport::get(path_info),
    )
}
