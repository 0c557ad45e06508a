//! The Apache parent's supervision of the daemons against what the
//! applications do (issue 10, findings 2 and 7):
//! - an application, in another daemon group or embedded in an Apache
//!   child, that writes over every daemon heartbeat it can find cannot get
//!   another daemon killed as deadlocked: each daemon maps only its own
//!   heartbeat page, the children none;
//! - a daemon that ran fine before dying is replaced at once, however
//!   often that happens: the restart back-off is for crash loops
//!   (tests/daemon_faults.rs `failing_start_up_backs_off` keeps that).

mod common;
mod daemon_support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use daemon_support::*;

/// The attacker's answer: `pid=N mappings=N words=N`.
fn attack(server: &Server, path: &str) -> HashMap<String, i64> {
    get_ok(server, path)
        .text()
        .split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect()
}

fn no_application_can_get_another_groups_daemons_killed(mpm: Mpm) {
    // The attacker runs as another user where the tests can switch users,
    // as in the review (`user=nobody`); its deadlock-timeout is long enough
    // that what it writes over its own heartbeat does not stop it.
    let user = if is_root() {
        "user=nobody group=nogroup"
    } else {
        ""
    };
    let server = Server::start(
        Stage::new("supervise-heartbeats"),
        &Config::new(
            mpm,
            &format!(
                "WSGISocketPrefix @STAGE@/run/wsgi\n\
                 WSGIDaemonProcess site display-name=%{{GROUP}} processes=2 threads=2 deadlock-timeout=2\n\
                 WSGIDaemonProcess attacker display-name=%{{GROUP}} threads=2 deadlock-timeout=60 {user}\n\
                 WSGIScriptAlias /app @STAGE@/apps/daemon_app.wsgi process-group=site\n\
                 WSGIScriptAlias /attack @STAGE@/apps/heartbeat_attack.wsgi process-group=attacker\n\
                 WSGIScriptAlias /embedded-attack @STAGE@/apps/heartbeat_attack.wsgi\n"
            ),
        ),
    );
    let mut victims = wait_for_daemons(&server, "site", 2);
    victims.sort();
    let attacker = wait_for_daemons(&server, "attacker", 1)[0];
    // Both victims have beaten (their first heartbeat is written at start).
    for _ in 0..4 {
        assert!(victims.contains(&get_pid(&server)));
    }

    // From another group's daemon, then from an Apache child.
    let from_daemon = attack(&server, "/attack?3");
    let from_child = attack(&server, "/embedded-attack?3");

    let mut now = daemon_pids(&server, "site");
    now.sort();
    let log = server.error_log();
    assert_eq!(now, victims, "the victims were replaced:\n{log}");
    assert_eq!(count(&log, "WSGIRS0303"), 0, "{log}");
    assert_eq!(daemon_pids(&server, "attacker"), [attacker], "{log}");
    // The attacker found its own heartbeat only (with one shared page it
    // found all three), an Apache child none.
    assert_eq!(from_daemon["pid"], attacker as i64);
    assert_eq!(
        (from_daemon["mappings"], from_daemon["words"]),
        (1, 1),
        "the attacker reached more than its own heartbeat"
    );
    assert!(!victims.contains(&(from_child["pid"] as i32)));
    assert_eq!(
        (from_child["mappings"], from_child["words"]),
        (0, 0),
        "an Apache child can reach daemon heartbeats"
    );
    for _ in 0..4 {
        assert!(victims.contains(&get_pid(&server)));
    }
    assert_no_crash(&log);
}

#[test]
fn heartbeats_cannot_be_written_by_other_groups_event() {
    no_application_can_get_another_groups_daemons_killed(Mpm::Event);
}

#[test]
fn heartbeats_cannot_be_written_by_other_groups_prefork() {
    no_application_can_get_another_groups_daemons_killed(Mpm::Prefork);
}

/// A daemon that completed requests and then died young, again and again
/// (an application that crashes now and then): each replacement answers at
/// once. Before, the fifth death in a row within 10 s of the start waited
/// out an 8 s back-off, and would have reached 30 s.
#[test]
fn a_daemon_that_ran_is_replaced_at_once() {
    let server = start(
        Mpm::Event,
        "supervise-ran-fine",
        "processes=1 threads=2",
        "",
    );
    let mut old = get_pid(&server);
    for round in 0..6 {
        // It ran fine: a request completed.
        assert_eq!(get_pid(&server), old);
        let r = server.get("/app/exit");
        assert_eq!(r.status, 502, "{}", r.text());
        let started = Instant::now();
        let new = wait_until(Duration::from_secs(20), "a new daemon", || {
            let r = server.get("/app/pid");
            (r.status == 200)
                .then(|| pid_of(&r))
                .filter(|pid| *pid != old)
        });
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(3),
            "round {round}: the new daemon answered after {took:?}:\n{}",
            server.error_log()
        );
        old = new;
    }
    let log = server.error_log();
    assert_eq!(count(&log, "WSGIRS0302"), 6, "{log}");
    assert!(
        !log.lines()
            .any(|l| l.contains(": WSGIRS0302: ") && l.contains("starting a new one in ")),
        "a restart waited:\n{log}"
    );
    assert_lines_well_formed(&log, "site");
}
