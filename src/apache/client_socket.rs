//! The client connection's socket timeout, which `response-socket-timeout`
//! overrides while a daemon's response is relayed (mod_wsgi's
//! wsgi_transfer_response): Apache's core output filter waits that long for
//! a blocked write before it gives up with a timeout.

use std::time::Duration;

use super::bindings::{self, apr_socket_t};
use super::request::Request;

/// Restores the connection's previous timeout when dropped, so that a
/// kept-alive connection's next request, perhaps for another handler, has
/// Apache's own again.
pub struct TimeoutOverride {
    socket: *mut apr_socket_t,
    saved: bindings::apr_interval_time_t,
}

impl Request {
    /// Sets the client socket's timeout to `timeout` until the returned
    /// value is dropped; `None` if the connection has no socket to set.
    pub fn override_client_timeout(&self, timeout: Duration) -> Option<TimeoutOverride> {
        let connection = self.connection();
        // SAFETY: the connection is live for the request; the core module
        // stores its socket in the connection's config.
        let socket = unsafe { bindings::ap_get_conn_socket(connection) };
        if socket.is_null() {
            return None;
        }
        let mut saved: bindings::apr_interval_time_t = 0;
        // SAFETY: `socket` is the connection's live socket.
        unsafe {
            if bindings::apr_socket_timeout_get(socket, &mut saved) != 0 {
                return None;
            }
            bindings::apr_socket_timeout_set(socket, timeout.as_micros() as i64);
        }
        Some(TimeoutOverride { socket, saved })
    }
}

impl Drop for TimeoutOverride {
    fn drop(&mut self) {
        // SAFETY: the override lives within the request's handler, while
        // the connection and its socket are live.
        unsafe {
            bindings::apr_socket_timeout_set(self.socket, self.saved);
        }
    }
}
