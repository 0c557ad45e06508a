//! `send-buffer-size` and `receive-buffer-size`: SO_SNDBUF and SO_RCVBUF
//! on a group's sockets. mod_wsgi sets them on the listening socket only;
//! Linux gives the connections accepted from it the system's defaults, so a
//! daemon sets them again on each connection it accepts (once per
//! connection, which pooled connections make rare, and only when set).

use std::os::fd::RawFd;

use wsgi::config::DaemonGroup;
use wsgi::messages::{self, LogContext};

use crate::unix::{self, SocketBuffer};

fn sizes(settings: &DaemonGroup) -> [(SocketBuffer, u32, &'static str); 2] {
    [
        (SocketBuffer::Send, settings.send_buffer_size, "send"),
        (
            SocketBuffer::Receive,
            settings.receive_buffer_size,
            "receive",
        ),
    ]
}

/// Whether either size is configured.
pub fn configured(settings: &DaemonGroup) -> bool {
    settings.send_buffer_size != 0 || settings.receive_buffer_size != 0
}

/// Sets the configured sizes on `fd`; returns a warning line for each that
/// the system refused (mod_wsgi's words), for the caller to log.
pub fn apply(fd: RawFd, settings: &DaemonGroup) -> Vec<String> {
    let mut warnings = Vec::new();
    for (which, size, name) in sizes(settings) {
        if size == 0 {
            continue;
        }
        if let Err(e) = unix::set_buffer_size(fd, which, size) {
            warnings.push(messages::format_line(
                LogContext::group(&settings.name),
                messages::SOCKET_BUFFER_UNSET,
                &format!(
                    "Unable to set {name} buffer size on daemon process socket; default size will be used ({e})."
                ),
            ));
        }
    }
    warnings
}
