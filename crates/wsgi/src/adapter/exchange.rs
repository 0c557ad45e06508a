//! State shared by the Python objects of one request (`wsgi.input`,
//! `start_response`, `write`, `wsgi.errors`) and the adapter's loop.
//!
//! All access happens with the GIL held, so the mutex is never contended;
//! it exists because pyo3 objects must be `Sync`. Blocking I/O takes the
//! transport out, releases the GIL, and puts it back, so no lock is held
//! while waiting on the network.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use pyo3::prelude::*;

use super::transport::{ResponseHead, Transport};
use crate::messages::{self, Level, LogContext};
use crate::python::log::{LineSink, process_log};
use crate::sync::lock;

pub(crate) struct Exchange {
    state: Mutex<State>,
    returned: Condvar,
    /// Names the request in log lines (group, daemon pid, script).
    pub(crate) log_context: LogContext,
}

pub(crate) struct State {
    /// `None` while another thread is doing I/O with it, or after the request.
    transport: Option<Box<dyn Transport>>,
    finished: bool,
    /// `finish` is waiting for another thread to return the transport.
    awaiting_transport: bool,
    pub(crate) input: InputState,
    pub(crate) response: ResponseState,
}

#[derive(Default)]
pub(crate) struct InputState {
    /// Bytes read ahead by `readline`, not yet given to the application.
    pub(crate) buffer: Vec<u8>,
    /// Request body bytes not yet read from the transport; `None` if unknown (chunked).
    pub(crate) remaining: Option<u64>,
    pub(crate) at_end: bool,
    pub(crate) error: Option<String>,
    /// For the `request_finished` event: reads from the transport, bytes
    /// read, and the time spent waiting for them.
    pub(crate) reads: u64,
    pub(crate) bytes: u64,
    pub(crate) time: Duration,
}

#[derive(Default)]
pub(crate) struct ResponseState {
    pub(crate) head: Option<ResponseHead>,
    pub(crate) declared_length: Option<u64>,
    pub(crate) headers_sent: bool,
    pub(crate) body_sent: u64,
    /// Bytes queued in the transport and not yet sent.
    pub(crate) queued: usize,
    /// Set when nothing more may be sent (length reached, override, client gone).
    pub(crate) closed: bool,
    pub(crate) override_status: Option<u16>,
    pub(crate) client_gone: bool,
    /// Why, when the client did not close but stopped reading: a write
    /// timed out (the transport's text, which names the timeout).
    pub(crate) stalled_client: Option<String>,
    pub(crate) length_exceeded: bool,
    pub(crate) error_override: bool,
    /// For the `request_finished` event: body chunks passed on, and the
    /// time spent sending them with the GIL released.
    pub(crate) writes: u64,
    pub(crate) output_time: Duration,
    /// The exception `start_response` last refused a call with, so that the
    /// line logging it, if the application lets it through, says so.
    pub(crate) refused_head: Option<Py<PyAny>>,
}

impl ResponseState {
    /// A send failed with `e`: nothing more goes out. A write that timed
    /// out means the client stopped reading rather than closed.
    pub(crate) fn gone_with(&mut self, e: &std::io::Error) {
        self.client_gone = true;
        self.closed = true;
        if e.kind() == std::io::ErrorKind::TimedOut {
            self.stalled_client = Some(e.to_string());
        }
    }
}

impl State {
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }
}

/// Why a transport could not be borrowed.
pub(crate) enum Unavailable {
    Finished,
    Busy,
}

impl Exchange {
    pub(crate) fn new(
        transport: Box<dyn Transport>,
        body_length: Option<u64>,
        error_override: bool,
        log_context: LogContext,
    ) -> Self {
        Exchange {
            state: Mutex::new(State {
                transport: Some(transport),
                finished: false,
                awaiting_transport: false,
                input: InputState {
                    remaining: body_length,
                    at_end: body_length == Some(0),
                    ..Default::default()
                },
                response: ResponseState {
                    error_override,
                    ..Default::default()
                },
            }),
            returned: Condvar::new(),
            log_context,
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The host has taken the transport back: the request is over.
    pub(crate) fn is_finished(&self) -> bool {
        self.state().is_finished()
    }

    /// Runs `io` on the transport with the GIL released.
    pub(crate) fn with_transport_detached<R: Send>(
        &self,
        py: Python<'_>,
        io: impl FnOnce(&mut dyn Transport) -> R + Send,
    ) -> Result<R, Unavailable> {
        let mut transport = self.take_transport()?;
        let result = py.detach(|| io(transport.as_mut()));
        self.put_back(transport);
        Ok(result)
    }

    /// Runs `f` on the transport with the GIL held, for calls that do not
    /// block. No lock is held meanwhile, so `f` may run Python code.
    pub(crate) fn with_transport<R>(
        &self,
        f: impl FnOnce(&mut dyn Transport) -> R,
    ) -> Result<R, Unavailable> {
        let mut transport = self.take_transport()?;
        let result = f(transport.as_mut());
        self.put_back(transport);
        Ok(result)
    }

    fn take_transport(&self) -> Result<Box<dyn Transport>, Unavailable> {
        let mut state = self.state();
        if state.finished {
            return Err(Unavailable::Finished);
        }
        state.transport.take().ok_or(Unavailable::Busy)
    }

    fn put_back(&self, transport: Box<dyn Transport>) {
        let mut state = self.state();
        state.transport = Some(transport);
        // Waking is a system call: only when `finish` is actually waiting.
        if state.awaiting_transport {
            self.returned.notify_all();
        }
    }

    /// Ends the exchange and hands the transport back to the host. If an
    /// application thread is still doing I/O with it, waits for that first:
    /// the host must not finish a request that someone is still writing to.
    pub(crate) fn finish(&self, py: Python<'_>) -> Box<dyn Transport> {
        {
            // The usual case: no other thread has it, so no need to release
            // the GIL just to take it.
            let mut state = self.state();
            if let Some(transport) = state.transport.take() {
                state.finished = true;
                return transport;
            }
            state.awaiting_transport = true;
        }
        py.detach(|| {
            let mut state = lock(&self.state);
            loop {
                if let Some(transport) = state.transport.take() {
                    state.finished = true;
                    return transport;
                }
                state = self.returned.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        })
    }

    /// Logs one line through the request's transport, or the process log
    /// once the request is over.
    pub(crate) fn log(&self, level: Level, id: &str, text: &str) {
        let line = messages::format_line(&self.log_context, id, text);
        self.log_raw(level, &line);
    }

    pub(crate) fn log_raw(&self, level: Level, line: &str) {
        let state = self.state();
        match state.transport.as_ref() {
            Some(t) if !state.finished => t.log(level, line),
            _ => process_log(level, line),
        }
    }
}

/// `wsgi.errors` writes through the exchange, so its lines carry the
/// request's context while the request runs.
impl LineSink for Exchange {
    fn line(&self, level: Level, line: &str) {
        self.log_raw(level, line);
    }
}

impl Unavailable {
    pub(crate) fn into_pyerr(self) -> PyErr {
        match self {
            Unavailable::Finished => {
                pyo3::exceptions::PyOSError::new_err("the request has already finished")
            }
            Unavailable::Busy => pyo3::exceptions::PyRuntimeError::new_err(
                "request I/O is already in progress in another thread",
            ),
        }
    }
}
