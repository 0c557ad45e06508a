//! Passing the response on to the transport: the status and headers once,
//! before the first body byte, and body chunks never past the declared
//! Content-Length. Shared by the response loop and `write()`.

use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;

use super::exchange::Exchange;
use crate::messages::{self, Level};

/// At most this much of a list response is copied into the transport's
/// queue before it is sent (with the GIL released): a response of many
/// chunks then runs in bounded memory, and a large chunk is not copied.
const QUEUE_LIMIT: usize = 256 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendMode {
    /// Copy into the transport's queue; no I/O, the GIL stays held. For
    /// list responses, whose chunks are all known up front.
    Queue,
    /// Send now with the GIL released: streamed chunks and `write()`.
    Now,
}

/// Whether the application should keep producing body.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Progress {
    More,
    Enough,
}

/// Sends the status and headers if they have not gone yet. `Ok(false)`
/// means the error-override status took over and no body may follow.
pub(crate) fn ensure_head_sent(exchange: &Exchange) -> PyResult<bool> {
    let head = {
        let mut state = exchange.state();
        let response = &mut state.response;
        if response.headers_sent {
            return Ok(response.override_status.is_none());
        }
        let Some(head) = response.head.clone() else {
            return Err(PyRuntimeError::new_err(format!(
                "{}: the response body started before start_response() was called",
                messages::NO_START_RESPONSE
            )));
        };
        if response.error_override && head.status >= 400 {
            response.override_status = Some(head.status);
            response.closed = true;
            response.headers_sent = true;
            return Ok(false);
        }
        response.headers_sent = true;
        head
    };
    exchange
        .with_transport(|t| t.set_head(&head))
        .map_err(|u| u.into_pyerr())?;
    Ok(true)
}

/// Passes one body chunk on. Used by the response loop and by `write()`.
pub(crate) fn send_chunk(
    py: Python<'_>,
    exchange: &Exchange,
    data: &[u8],
    mode: SendMode,
) -> PyResult<Progress> {
    if exchange.state().response.client_gone {
        return Err(PyOSError::new_err("the client closed the connection"));
    }
    if data.is_empty() {
        if exchange.state().response.head.is_none() {
            ensure_head_sent(exchange)?;
        }
        return Ok(Progress::More);
    }
    if !ensure_head_sent(exchange)? {
        return Ok(Progress::Enough);
    }
    let data = {
        let mut state = exchange.state();
        let response = &mut state.response;
        if response.closed {
            return Ok(Progress::Enough);
        }
        match response.declared_length {
            Some(declared) if response.body_sent + data.len() as u64 > declared => {
                let allowed = (declared - response.body_sent) as usize;
                response.closed = true;
                response.length_exceeded = true;
                &data[..allowed]
            }
            _ => data,
        }
    };
    if exchange.state().response.length_exceeded {
        exchange.log(
            Level::Error,
            messages::CONTENT_LENGTH_EXCEEDED,
            "the application sent more data than its Content-Length; the rest was dropped",
        );
    }
    let queue =
        mode == SendMode::Queue && exchange.state().response.queued + data.len() <= QUEUE_LIMIT;
    let began = (!queue).then(std::time::Instant::now);
    let result = if queue {
        exchange.with_transport(|t| t.queue_body(data))
    } else {
        exchange.with_transport_detached(py, |t| t.send_body(data))
    }
    .map_err(|u| u.into_pyerr())?;
    let mut state = exchange.state();
    state.response.writes += 1;
    if let Some(began) = began {
        state.response.output_time += began.elapsed();
    }
    match result {
        Ok(()) => {
            state.response.body_sent += data.len() as u64;
            // send_body sends what was queued before it.
            state.response.queued = if queue {
                state.response.queued + data.len()
            } else {
                0
            };
            Ok(if state.response.closed {
                Progress::Enough
            } else {
                Progress::More
            })
        }
        Err(e) => {
            state.response.gone_with(&e);
            Err(PyOSError::new_err(format!(
                "the response could not be sent: {e}"
            )))
        }
    }
}
