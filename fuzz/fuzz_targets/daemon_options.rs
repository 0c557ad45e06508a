//! A `WSGIDaemonProcess` line's arguments (config/daemon.rs and
//! config/args.rs): the words Apache hands over, split as
//! `ap_getword_conf` splits them, then every option with mod_wsgi's names
//! and bounds. A group that parses must give the values the daemons are
//! started with without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};
use wsgi::config::{DaemonGroup, parse_daemon_process, split_arguments};

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    check_split(&raw);
    if let Ok(group) = parse_daemon_process(&raw) {
        assert!(!group.name.is_empty() || raw.trim_start().starts_with(['"', '\'']));
        assert!(group.processes >= 1 && group.threads >= 1);
        let _ = group.process_title();
        check_deadlines(&group);
        assert!(group.header_buffer() > 0 && group.response_buffer() > 0);
    }
});

/// Quoting every word again (with its quotes escaped) gives the same words
/// back. A backslash before the closing quote cannot be written, as in
/// Apache, so words holding one are left out.
fn check_split(raw: &str) {
    let Ok(words) = split_arguments(raw) else {
        return;
    };
    if words.iter().any(|w| w.contains('\\')) {
        return;
    }
    let quoted: Vec<String> = words
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\\\"")))
        .collect();
    assert_eq!(split_arguments(&quoted.join(" ")).as_ref(), Ok(&words));
}

/// The daemons and the children turn every time option into a deadline
/// (`Instant::now() + ...`, src/daemon/): each must be one, so that a
/// configuration that passes configtest cannot make a process panic.
fn check_deadlines(group: &DaemonGroup) {
    let now = Instant::now();
    let later = |d: Duration| now.checked_add(d).expect("a deadline past the clock's end");
    let threshold = group.request_fire_threshold();
    if let Some(threshold) = threshold {
        later(threshold + Duration::from_secs(group.interrupt_timeout));
    }
    if let Some(timeout) = group.client_write_timeout() {
        later(timeout);
    }
    for seconds in [
        group.restart_interval,
        group.inactivity_timeout,
        group.request_timeout,
        group.graceful_timeout,
        group.shutdown_timeout.saturating_add(1),
        group.deadlock_timeout,
        group.startup_timeout,
        group.connect_timeout,
        group.socket_timeout,
        group.queue_timeout,
        group.eviction_timeout,
    ] {
        later(Duration::from_secs(seconds));
    }
    later(Duration::from_millis(group.response_flush_delay));
}
