//! Daemons recycled while they serve, through a real Apache: by
//! maximum-requests (down to every request), by a graceful restart under
//! load, and by the other limits (restart-interval, inactivity-timeout,
//! memory-limit, cpu-time-limit). Clients never see an error: requests a
//! recycling daemon did not run go to another one.

mod common;
mod daemon_support;

use std::time::{Duration, Instant};

use common::*;
use daemon_support::*;

const WAIT: Duration = Duration::from_secs(10);
/// How long a replacement daemon may take to answer.
const RECOVERY: Duration = Duration::from_secs(5);

/// The ids of the lines a client-visible daemon failure writes.
const CLIENT_ERRORS: [&str; 4] = ["WSGIRS0304", "WSGIRS0305", "WSGIRS0306", "WSGIRS0307"];

fn maximum_requests_rotates_without_errors(mpm: Mpm) {
    let server = start(
        mpm,
        "daemon-max-requests",
        "processes=2 threads=2 maximum-requests=10",
        "",
    );
    let first = wait_for_daemons(&server, "site", 2);
    let mut seen: Vec<i32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mut pids = Vec::new();
                    for i in 0..25 {
                        if i % 2 == 0 {
                            pids.push(served_pid(&server, "/app/pid"));
                        } else {
                            served_pid(&server, "/app/slow?0.02");
                        }
                    }
                    pids
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    seen.sort_unstable();
    seen.dedup();
    assert!(
        seen.len() >= 4,
        "100 requests at 10 per process should rotate the pids: {seen:?}"
    );
    // The daemons that served their 10 requests went, and ran their
    // atexit handlers.
    let gone = |seen: &[i32]| -> Vec<i32> { seen.iter().copied().filter(|p| !alive(*p)).collect() };
    let gone = poll(WAIT, || {
        let gone = gone(&seen);
        (gone.len() >= 2 && first.iter().any(|p| gone.contains(p))).then_some(gone)
    })
    .unwrap_or_else(|| gone(&seen));
    assert!(gone.len() >= 2, "seen {seen:?}, gone {gone:?}");
    for pid in &gone {
        wait_for_file(&server, &format!("atexit-{pid}"), WAIT);
    }
    assert!(
        first.iter().any(|p| gone.contains(p)),
        "first {first:?}, gone {gone:?}"
    );
    let log = server.error_log();
    assert!(log.contains("maximum-requests (10) reached"), "{log}");
    for id in CLIENT_ERRORS {
        assert_eq!(count(&log, id), 0, "{id}:\n{log}");
    }
    assert_lines_well_formed(&log, "site");
    assert_no_crash(&log);
}

/// maximum-requests=1: every daemon drains right after its first request,
/// so connections are constantly accepted by daemons about to refuse them.
/// A child whose Hello met a daemon that had already refused and closed the
/// connection once answered 503 (WSGIRS0304, "the connection failed at
/// once: Broken pipe") instead of going to another daemon.
fn every_request_recycles_without_client_errors(mpm: Mpm) {
    let server = start(
        mpm,
        "daemon-max-one",
        "processes=2 threads=1 maximum-requests=1",
        "",
    );
    wait_for_daemons(&server, "site", 2);
    let served: Vec<i32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    (0..4)
                        .map(|_| served_pid(&server, "/app/pid"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut distinct = served.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        served.len(),
        "one request per daemon: {served:?}"
    );
    let log = server.error_log();
    for id in CLIENT_ERRORS {
        assert_eq!(count(&log, id), 0, "{id}:\n{log}");
    }
    assert_lines_well_formed(&log, "site");
    assert_no_crash(&log);
}

fn graceful_restart_under_load(mpm: Mpm) {
    let server = start(mpm, "daemon-graceful", "processes=2 threads=4", "");
    let before = wait_for_daemons(&server, "site", 2);
    assert_eq!(before.len(), 2);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let served = std::sync::atomic::AtomicUsize::new(0);
    let served_now = || served.load(std::sync::atomic::Ordering::Relaxed);
    let total = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let stop = &stop;
                let served = &served;
                let server = &server;
                scope.spawn(move || {
                    let mut pids = Vec::new();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let path = if t % 2 == 0 {
                            "/app/pid"
                        } else {
                            "/app/slow?0.1"
                        };
                        pids.push(served_pid(server, path));
                        served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    pids
                })
            })
            .collect();
        // The restart comes under load: wait until the clients are served.
        wait_until(WAIT, "requests under load", || {
            (served_now() >= 8).then_some(())
        });
        server.signal("graceful");
        // Until the new generation's daemons serve.
        wait_until(Duration::from_secs(15), "new daemons", || {
            let now = daemon_pids(&server, "site");
            (now.len() == 2 && now.iter().all(|p| !before.contains(p))).then_some(())
        });
        // And the load goes on against them for a while.
        let at_new = served_now();
        wait_until(
            Duration::from_secs(15),
            "requests to the new daemons",
            || (served_now() >= at_new + 8 && served_now() > 20).then_some(()),
        );
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect::<Vec<i32>>()
    });
    assert!(total.len() > 20, "only {} requests", total.len());
    let after = get_pid(&server);
    assert!(!before.contains(&after));
    // The old daemons went, and those that had loaded the application ran
    // its atexit handlers.
    for &pid in &before {
        wait_until(WAIT, &format!("old daemon {pid} to go"), || {
            (!alive(pid)).then_some(())
        });
        if total.contains(&pid) {
            wait_for_file(&server, &format!("atexit-{pid}"), WAIT);
        }
    }
    assert!(before.iter().any(|p| total.contains(p)), "{before:?}");
    let log = server.error_log();
    assert_eq!(
        count(&log, "WSGIRS0302"),
        0,
        "a restart is not a daemon death:\n{log}"
    );
    assert_lines_well_formed(&log, "site");
    assert_no_crash(&log);
}

/// restart-interval, inactivity-timeout, memory-limit and cpu-time-limit
/// each recycle their daemon gracefully: no request fails, a new pid
/// answers.
fn limits_recycle_without_client_errors(mpm: Mpm) {
    let server = Server::start(
        Stage::new("daemon-limits"),
        &Config::new(
            mpm,
            "WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess interval display-name=%{GROUP} threads=2 restart-interval=2\n\
             WSGIDaemonProcess idle display-name=%{GROUP} threads=1 inactivity-timeout=1\n\
             WSGIDaemonProcess memory display-name=%{GROUP} threads=1 memory-limit=200000000\n\
             WSGIDaemonProcess cpu display-name=%{GROUP} threads=1 cpu-time-limit=1\n\
             WSGIScriptAlias /interval @STAGE@/apps/daemon_app.wsgi process-group=interval\n\
             WSGIScriptAlias /idle @STAGE@/apps/daemon_app.wsgi process-group=idle\n\
             WSGIScriptAlias /memory @STAGE@/apps/daemon_app.wsgi process-group=memory\n\
             WSGIScriptAlias /cpu @STAGE@/apps/daemon_app.wsgi process-group=cpu\n",
        ),
    );
    let pid = |path: &str| served_pid(&server, path);
    let changes = |path: &str, old: i32| {
        wait_until(RECOVERY, &format!("a new daemon for {path}"), || {
            let new = pid(path);
            (new != old).then_some(new)
        })
    };

    // memory-limit: a request that passes it completes, then the process goes.
    let old = pid("/memory/pid");
    let r = server.get("/memory/grow?250");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), format!("kept 250 MB in {old}"));
    changes("/memory/pid", old);

    // cpu-time-limit: likewise.
    let old = pid("/cpu/pid");
    assert_eq!(
        server.get("/cpu/burn?1.5").text(),
        format!("burnt in {old}")
    );
    changes("/cpu/pid", old);

    // inactivity-timeout: an idle daemon is replaced; the next request is served.
    // Polled by its pid only: a request would make the daemon active.
    let old = pid("/idle/pid");
    wait_until(RECOVERY, &format!("idle daemon {old} to go"), || {
        (!alive(old)).then_some(())
    });
    assert_ne!(pid("/idle/pid"), old);

    // restart-interval: under a steady load, the pids rotate and nothing fails.
    let start = Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < Duration::from_secs(5) {
        seen.push(pid("/interval/slow?0.05"));
    }
    seen.dedup();
    assert!(seen.len() >= 2, "{seen:?}");

    let log = server.error_log();
    for reason in [
        "memory-limit",
        "cpu-time-limit",
        "inactivity-timeout",
        "restart-interval",
    ] {
        assert!(
            log.contains(&format!(
                "recycling the daemon process gracefully: {reason}"
            )),
            "{reason}:\n{log}"
        );
    }
    for id in CLIENT_ERRORS {
        assert_eq!(count(&log, id), 0, "{id}:\n{log}");
    }
    for line in log.lines().filter(|l| l.contains(": WSGIRS0302: ")) {
        assert!(line.contains("exited normally"), "{line}");
    }
    assert_lines_well_formed(&log, "site");
}

/// Connections waiting to be accepted on the listening UNIX socket at
/// `path` (the Recv-Q `ss` shows for a listener).
fn accept_queue(path: &std::path::Path) -> usize {
    let out = std::process::Command::new("ss")
        .args(["-xlnH"])
        .output()
        .expect("ss (iproute2) runs");
    let path = path.to_str().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 4 && f[4] == path)
        .map_or(0, |f| f[2].parse().unwrap_or(0))
}

/// A graceful restart while a request waits in the daemon socket's backlog
/// (the daemon's one thread busy): when the old daemon exits, the kernel
/// resets the connections still queued on the old socket. Their requests
/// were never sent (a child sends one only after the daemon's Hello), so
/// the child tries again and reaches the new daemon; it answered 503
/// before (WSGIRS0304, "closed the connection at once"). scripts/soak.sh
/// found it.
fn graceful_restart_with_a_queued_request(mpm: Mpm) {
    let server = start(mpm, "daemon-graceful-queued", "processes=1 threads=1", "");
    let before = wait_for_daemons(&server, "site", 1);
    let socket = socket_path(&server, "site");
    let (busy, queued) = std::thread::scope(|scope| {
        let busy = scope.spawn(|| server.get("/app/slow?1-busy"));
        wait_for_file(&server, "started-busy", WAIT);
        let queued = scope.spawn(|| server.get("/app/pid"));
        wait_until(WAIT, "a connection queued on the daemon socket", || {
            (accept_queue(&socket) >= 1).then_some(())
        });
        server.signal("graceful");
        (busy.join().unwrap(), queued.join().unwrap())
    });
    let log = server.error_log();
    assert_eq!(busy.status, 200, "{}\n{log}", busy.text());
    let new = pid_of(&queued);
    assert!(!before.contains(&new), "served by the old daemon {new}");
    for id in CLIENT_ERRORS {
        assert_eq!(count(&log, id), 0, "{id}:\n{log}");
    }
    assert_lines_well_formed(&log, "site");
    assert_no_crash(&log);
}

under_event_and_prefork!(
    maximum_requests_rotates_without_errors,
    every_request_recycles_without_client_errors,
    graceful_restart_with_a_queued_request,
);

/// The same under every MPM: run under event only.
mod event_only {
    use super::*;
    #[test]
    fn graceful_restart_under_load() {
        super::graceful_restart_under_load(Mpm::Event)
    }
    #[test]
    fn limits_recycle_without_client_errors() {
        super::limits_recycle_without_client_errors(Mpm::Event)
    }
}
