//! The `WSGIDaemonProcess` options of the channel between an Apache child
//! and its daemons (mod_wsgi's wsgi_daemon.c checks, wsgi_remote.c
//! meaning): socket buffer sizes, the response header line limit, and how
//! the child relays the response (flushes, flush delay, write timeout).

use super::{DaemonGroup, number};

const OPTIONS: [&str; 6] = [
    "send-buffer-size",
    "receive-buffer-size",
    "header-buffer-size",
    "response-buffer-size",
    "response-socket-timeout",
    "response-flush-delay",
];

pub(super) fn is_buffer_option(key: &str) -> bool {
    OPTIONS.contains(&key)
}

/// A size option as mod_wsgi checks it: `minimum` or more, or 0; the
/// message is mod_wsgi's.
fn size(option: &str, value: &str, minimum: i64, message: &str) -> Result<u32, String> {
    match value.parse::<i64>() {
        Ok(0) => Ok(0),
        Ok(n) if n >= minimum && n <= i64::from(i32::MAX) => Ok(n as u32),
        Ok(_) => Err(format!("WSGIDaemonProcess: {option}={value}: {message}")),
        Err(_) => number(option, value),
    }
}

/// Sets one of [`OPTIONS`] on `group`.
pub(super) fn parse(group: &mut DaemonGroup, key: &str, value: &str) -> Result<(), String> {
    match key {
        "send-buffer-size" => {
            group.send_buffer_size = size(
                key,
                value,
                512,
                "Send buffer size must be >= 512 bytes, or 0 for system default.",
            )?
        }
        "receive-buffer-size" => {
            group.receive_buffer_size = size(
                key,
                value,
                512,
                "Receive buffer size must be >= 512 bytes, or 0 for system default.",
            )?
        }
        "header-buffer-size" => {
            group.header_buffer_size = size(
                key,
                value,
                8192,
                "Header buffer size must be >= 8192 bytes, or 0 for default.",
            )?
        }
        "response-buffer-size" => {
            group.response_buffer_size = size(
                key,
                value,
                65536,
                "Response buffer size must be >= 65536 bytes, or 0 for default.",
            )?
        }
        "response-socket-timeout" => {
            group.response_socket_timeout = super::times::duration(key, value)?
        }
        _ => group.response_flush_delay = super::times::duration(key, value)?,
    }
    Ok(())
}

impl DaemonGroup {
    /// The header buffer's size: no response header line from a daemon
    /// may fill it (mod_wsgi's wsgi_read_header_line).
    pub fn header_buffer(&self) -> usize {
        match self.header_buffer_size {
            0 => 32768,
            size => size as usize,
        }
    }

    /// Response bytes passed on between forced flushes (mod_wsgi's coarse
    /// guard against a filter that buffers without draining).
    pub fn response_buffer(&self) -> usize {
        match self.response_buffer_size {
            0 => 8 * 1024 * 1024,
            size => size as usize,
        }
    }

    /// Seconds a write to the client may block while a child relays the
    /// response: response-socket-timeout, else socket-timeout; `None`:
    /// Apache's `Timeout`, as the connection already has it.
    pub fn client_write_timeout(&self) -> Option<std::time::Duration> {
        match (self.response_socket_timeout, self.socket_timeout) {
            (0, 0) => None,
            (0, secs) | (secs, _) => Some(std::time::Duration::from_secs(secs)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_daemon_process;

    #[test]
    fn buffer_options_take_mod_wsgi_minimums_and_defaults() {
        let g = parse_daemon_process("s").unwrap();
        assert_eq!((g.header_buffer(), g.response_buffer()), (32768, 8 << 20));
        assert_eq!((g.send_buffer_size, g.receive_buffer_size), (0, 0));
        assert_eq!(
            (g.response_flush_delay, g.client_write_timeout()),
            (5, None)
        );
        let g = parse_daemon_process(
            "s send-buffer-size=512 receive-buffer-size=65536 header-buffer-size=8192 response-buffer-size=65536 response-flush-delay=0",
        )
        .unwrap();
        assert_eq!((g.send_buffer_size, g.receive_buffer_size), (512, 65536));
        assert_eq!((g.header_buffer(), g.response_buffer()), (8192, 65536));
        assert_eq!(g.response_flush_delay, 0);
        // 0 is "the default" for every size, as mod_wsgi-express writes it.
        let g = parse_daemon_process(
            "s send-buffer-size=0 receive-buffer-size=0 header-buffer-size=0 response-buffer-size=0 response-socket-timeout=0",
        )
        .unwrap();
        assert_eq!((g.header_buffer(), g.response_buffer()), (32768, 8 << 20));
        for (option, minimum, message) in [
            (
                "send-buffer-size",
                512,
                "Send buffer size must be >= 512 bytes, or 0 for system default.",
            ),
            (
                "receive-buffer-size",
                512,
                "Receive buffer size must be >= 512 bytes, or 0 for system default.",
            ),
            (
                "header-buffer-size",
                8192,
                "Header buffer size must be >= 8192 bytes, or 0 for default.",
            ),
            (
                "response-buffer-size",
                65536,
                "Response buffer size must be >= 65536 bytes, or 0 for default.",
            ),
        ] {
            for bad in [minimum - 1, -1] {
                let e = parse_daemon_process(&format!("s {option}={bad}")).unwrap_err();
                assert!(
                    e.contains(message) && e.contains(&format!("{option}={bad}")),
                    "{e}"
                );
            }
            let e = parse_daemon_process(&format!("s {option}=big")).unwrap_err();
            assert!(
                e.contains(&format!("invalid value 'big' for {option}")),
                "{e}"
            );
        }
        for option in ["response-socket-timeout", "response-flush-delay"] {
            let e = parse_daemon_process(&format!("s {option}=-1")).unwrap_err();
            assert!(
                e.contains(&format!("invalid value '-1' for {option}")),
                "{e}"
            );
        }
    }

    #[test]
    fn response_socket_timeout_defaults_to_socket_timeout() {
        let timeout = |options: &str| {
            parse_daemon_process(&format!("s {options}"))
                .unwrap()
                .client_write_timeout()
                .map(|d| d.as_secs())
        };
        assert_eq!(timeout("socket-timeout=9"), Some(9));
        assert_eq!(
            timeout("response-socket-timeout=3 socket-timeout=9"),
            Some(3)
        );
        assert_eq!(timeout("response-socket-timeout=3"), Some(3));
        assert_eq!(timeout("response-socket-timeout=0"), None);
    }
}
