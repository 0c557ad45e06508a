//! The `WSGIDaemonProcess` options that are durations. mod_wsgi reads
//! each with `atoi` into an `int`, so nothing past `i32::MAX` (68 years of
//! seconds) means anything there. Here a larger value passed configtest
//! and then overflowed the deadlines the processes compute from it
//! (`Instant + Duration` and `Duration::from_secs_f64` panic): the
//! `daemon_options` fuzz target found it. Such a value is refused.

use super::number;

/// The largest value mod_wsgi's `int` holds.
const LIMIT: u64 = i32::MAX as u64;

/// A duration option's value (seconds, or milliseconds for
/// response-flush-delay): a whole number up to mod_wsgi's limit.
pub(in crate::config) fn duration(option: &str, value: &str) -> Result<u64, String> {
    let n: u64 = number(option, value)?;
    if n > LIMIT {
        return Err(format!(
            "WSGIDaemonProcess: {option}={value} is too large (at most {LIMIT}, as in mod_wsgi)"
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::super::parse_daemon_process;
    use std::time::{Duration, Instant};

    const OPTIONS: [&str; 14] = [
        "restart-interval",
        "inactivity-timeout",
        "request-timeout",
        "interrupt-timeout",
        "graceful-timeout",
        "shutdown-timeout",
        "deadlock-timeout",
        "startup-timeout",
        "connect-timeout",
        "socket-timeout",
        "queue-timeout",
        "eviction-timeout",
        "response-socket-timeout",
        "response-flush-delay",
    ];

    #[test]
    fn a_duration_past_mod_wsgis_int_is_refused() {
        for option in OPTIONS {
            let e = parse_daemon_process(&format!("s {option}=18446744073709551615")).unwrap_err();
            assert!(e.contains("too large") && e.contains(option), "{e}");
            assert!(parse_daemon_process(&format!("s {option}=2147483648")).is_err());
        }
    }

    #[test]
    fn the_largest_durations_still_make_deadlines() {
        let all: Vec<String> = OPTIONS.iter().map(|o| format!("{o}=2147483647")).collect();
        let g = parse_daemon_process(&format!("s threads=100000 {}", all.join(" "))).unwrap();
        let threshold = g.request_fire_threshold().unwrap();
        let now = Instant::now();
        assert!(
            now.checked_add(threshold + Duration::from_secs(g.interrupt_timeout))
                .is_some()
        );
        assert!(now.checked_add(g.client_write_timeout().unwrap()).is_some());
    }
}
