//! The `deadlock-timeout` heartbeat with sub-interpreters, through a real
//! Apache. (Python blocked with the GIL held, in /app's sub-interpreter, is
//! still replaced: tests/daemon_faults.rs `blocked_python_is_replaced`.)

mod common;
mod daemon_support;

use std::time::{Duration, Instant};

use common::*;
use daemon_support::*;

/// A request running pure Python in a sub-interpreter (/app's group,
/// `%{RESOURCE}`) past deadlock-timeout is not a deadlock: under CPython
/// 3.11 it drops the GIL only for a waiter of its own interpreter, so the
/// heartbeat must wait as one (it once waited as the main interpreter's
/// thread, and the daemon was killed as deadlocked).
fn pure_python_in_a_sub_interpreter_is_not_a_deadlock(mpm: Mpm) {
    let server = start(
        mpm,
        "daemon-deadlock-sub",
        "processes=1 threads=2 deadlock-timeout=2",
        "",
    );
    let info = server.get("/app/info");
    assert!(
        info.text().contains("application_group=") && !info.text().contains("application_group=\n"),
        "/app must run in a sub-interpreter:\n{}",
        info.text()
    );
    let old = get_pid(&server);
    let started = Instant::now();
    let r = server.get("/app/burn?4");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.text(), format!("burnt in {old}"));
    assert!(
        started.elapsed() > Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(get_pid(&server), old);
    let log = server.error_log();
    assert!(!log.contains(": WSGIRS0303: "), "{log}");
    assert_lines_well_formed(&log, "site");
}

#[test]
fn pure_python_in_a_sub_interpreter_is_not_a_deadlock_event() {
    pure_python_in_a_sub_interpreter_is_not_a_deadlock(Mpm::Event)
}
