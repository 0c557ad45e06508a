//! Daemon mode when things go wrong, through a real Apache: daemons killed
//! (kill -9), exiting (before and after the headers), stuck in a loop,
//! stopped (SIGSTOP), blocked with the GIL held, failing at start (a preload
//! that raises, one that exits: back-off, no fork storm); request-timeout
//! and queue-timeout; an unreachable socket or a daemon that cannot start
//! (503); script reloading. (Recycling under load: tests/daemon_recycling.rs.)
//!
//! Most run under the event MPM only: the supervision is the Apache
//! parent's and the channel the same under every MPM (tests/daemon.rs runs
//! the request paths under prefork too).

mod common;
mod daemon_support;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;
use daemon_support::*;

const WAIT: Duration = Duration::from_secs(10);
/// How long a replacement daemon may take to answer.
const RECOVERY: Duration = Duration::from_secs(5);

/// Polls /app/pid until a daemon other than `old` answers; returns its pid
/// and how long that took.
fn new_pid_answers(server: &Server, old: i32, within: Duration) -> (i32, Duration) {
    let start = Instant::now();
    loop {
        let r = server.get("/app/pid");
        if r.status == 200 {
            let pid = pid_of(&r);
            if pid != old {
                return (pid, start.elapsed());
            }
        }
        assert!(
            start.elapsed() < within,
            "no daemon other than {old} answered within {within:?}:\n{}",
            server.error_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn killed_daemon_gives_502_and_is_replaced(mpm: Mpm) {
    let server = start(mpm, "daemon-kill9", "processes=1 threads=4", "");
    let old = get_pid(&server);
    std::thread::scope(|scope| {
        let slow = scope.spawn(|| server.get("/app/slow?10-k9"));
        let started: i32 = wait_for_file(&server, "started-k9", WAIT)
            .trim()
            .parse()
            .unwrap();
        assert_eq!(started, old);
        signal(old, libc::SIGKILL);
        let r = slow.join().unwrap();
        assert_eq!(r.status, 502, "{}", r.text());
    });
    // The very next request is served, by a new daemon.
    let start = Instant::now();
    let r = server.get("/app/pid");
    assert_eq!(r.status, 200, "{}", server.error_log());
    let new = pid_of(&r);
    assert_ne!(new, old);
    assert!(
        start.elapsed() < RECOVERY,
        "the new daemon took {:?}",
        start.elapsed()
    );
    let log = server.error_log();
    let line = log
        .lines()
        .find(|l| l.contains(": WSGIRS0305: "))
        .unwrap_or_else(|| panic!("no 502 line:\n{log}"));
    assert!(line.contains(&format!("daemon pid={old}")), "{line}");
    let line = log
        .lines()
        .find(|l| l.contains(": WSGIRS0302: "))
        .unwrap_or_else(|| panic!("no restart line:\n{log}"));
    assert!(
        line.contains(&format!("daemon pid={old}")) && line.contains("exit status or signal 9"),
        "{line}"
    );
    assert_lines_well_formed(&log, "site");
    assert!(!log.contains("finished-k9"));
}

fn application_exits_before_and_after_headers(mpm: Mpm) {
    let server = start(mpm, "daemon-exit", "processes=1 threads=4", "");
    let old = get_pid(&server);
    let r = server.get("/app/exit");
    assert_eq!(r.status, 502, "{}", r.text());
    let new = get_pid(&server);
    assert_ne!(new, old);
    let log = server.log_since(0, "ended with exit status or signal 3", WAIT);
    assert!(
        log.lines()
            .any(|l| l.contains(": WSGIRS0302: ") && l.contains(&format!("daemon pid={old}"))),
        "{log}"
    );

    // After the headers: the response is cut short, and that is logged.
    let mark = server.log_mark();
    let r = server.get("/app/exit-after-headers");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"partial;");
    assert!(!r.complete, "a response cut short must not look complete");
    let log = server.log_since(mark, ": WSGIRS0306: ", WAIT);
    let line = log.lines().find(|l| l.contains(": WSGIRS0306: ")).unwrap();
    assert!(line.contains(&format!("daemon pid={new}")), "{line}");
    let newer = get_pid(&server);
    assert_ne!(newer, new);
    assert_lines_well_formed(&server.error_log(), "site");
}

fn request_timeout_recycles_the_daemon(mpm: Mpm) {
    let server = start(
        mpm,
        "daemon-request-timeout",
        "processes=1 threads=2 request-timeout=2 graceful-timeout=4",
        "",
    );
    let old = get_pid(&server);
    let mark = server.log_mark();
    std::thread::scope(|scope| {
        let spin = scope.spawn(|| server.get("/app/spin"));
        wait_for_file(&server, "spin-started", WAIT);
        let spinning = Instant::now();
        // On the sibling thread, 1.5 s later: headers at once, the end 3 s
        // later, after the request-timeout fired (2 s scaled by 2 threads:
        // 3.4 s) but within the sibling's own limit; it must complete,
        // within graceful-timeout. Not an ordering sleep: the sibling's age
        // when the drain begins is what is under test.
        std::thread::sleep(Duration::from_millis(1500).saturating_sub(spinning.elapsed()));
        let sibling = scope.spawn(|| server.get("/app/slow-stream?3"));
        let r = spin.join().unwrap();
        assert_eq!(r.status, 504, "{}", r.text());
        let r = sibling.join().unwrap();
        assert_eq!(r.status, 200);
        assert!(r.complete, "the sibling's response was cut short");
        assert_eq!(r.text(), format!("first;last in {old}"));
    });
    let log = server.log_since(mark, ": WSGIRS0310: ", WAIT);
    assert!(log.contains(&format!("daemon pid={old}")), "{log}");
    // mod_wsgi 6's scaling: 2 s * (1 + ln 2) with 2 threads.
    assert!(
        log.contains("longer than request-timeout (2 s, 3.4 s with 2 threads)"),
        "{log}"
    );
    let (_, took) = new_pid_answers(&server, old, Duration::from_secs(15));
    let log = server.error_log();
    assert!(log.contains(": WSGIRS0311: "), "no recycle line:\n{log}");
    assert!(!log.contains("the loop ended"));
    // Without interrupt-timeout (mod_wsgi's default 0) nothing is raised
    // in the stuck thread: the process recycles.
    assert!(!log.contains("Injected RequestTimeout"), "{log}");
    assert!(
        log.contains("no response headers from the daemon within 3.4 s"),
        "{log}"
    );
    assert_lines_well_formed(&log, "site");
    eprintln!("request-timeout: a new daemon answered {took:?} after the timeout");
}

fn failing_start_up_backs_off(mpm: Mpm) {
    // `pre` preloads a script that raises: logged, the daemon stays up.
    // `dies` preloads one that ends its process: restarted with a back-off.
    // `late` preloads the raising one with startup-timeout=2: restarted
    // because no script loaded in time, about every 2 s.
    let stage = Stage::new("daemon-backoff");
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess pre display-name=%{GROUP} threads=2\n\
             WSGIDaemonProcess dies display-name=%{GROUP} threads=2\n\
             WSGIDaemonProcess late display-name=%{GROUP} threads=2 startup-timeout=2\n\
             WSGIScriptAlias /late @STAGE@/apps/daemon_preload_fail.wsgi process-group=late application-group=%{GLOBAL}\n\
             WSGIScriptAlias /pre @STAGE@/apps/daemon_preload_fail.wsgi process-group=pre application-group=%{GLOBAL}\n\
             WSGIScriptAlias /dies @STAGE@/apps/daemon_exit_at_import.wsgi process-group=dies application-group=%{GLOBAL}\n",
        ),
    );
    let started = Instant::now();
    let first = wait_until(WAIT, "the pre daemon", || {
        daemon_pids(&server, "pre").first().copied()
    });
    // Not an ordering sleep: the test counts the restarts of an 8 s window
    // (the back-off sets their rate), so the window's length is what is
    // measured.
    std::thread::sleep(Duration::from_secs(8).saturating_sub(started.elapsed()));
    let log = server.error_log();
    let restarts = |group: &str| {
        log.lines()
            .filter(|l| l.contains(": WSGIRS0302: ") && l.contains(&format!("group='{group}'")))
            .count()
    };
    assert_eq!(restarts("pre"), 0, "{log}");
    assert!(log.contains("fails at import on purpose"), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains(": WSGIRS0202: ") || l.contains("failed to preload")),
        "{log}"
    );
    let dies = restarts("dies");
    assert!(
        (2..=7).contains(&dies),
        "{dies} restarts of 'dies' in 8 s:\n{log}"
    );
    assert!(log.contains("ended with exit status or signal 7"), "{log}");
    let late = restarts("late");
    assert!(
        (1..=4).contains(&late),
        "{late} restarts of 'late' in 8 s:\n{log}"
    );
    assert!(
        log.lines().any(|l| l.contains(": WSGIRS0311: ")
            && l.contains("group='late'")
            && l.contains("startup-timeout (2 s)")),
        "{log}"
    );
    // The pre daemon is the same process, and answers each request with a 500.
    assert_eq!(daemon_pids(&server, "pre"), [first]);
    let r = server.get("/pre");
    assert_eq!(r.status, 500);
    assert_lines_well_formed(&server.error_log(), "pre");
    eprintln!("back-off: {dies} restarts of a daemon dying at start in 8 s");
}

/// Debian's libfaketime (package libfaketime), which scripts/dev.sh installs.
const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// The wall clock jumping forward (set at boot, or a virtual machine
/// resumed) is not a deadlock: the heartbeats and queue-timeout measure
/// time on the monotonic clock, so the daemon keeps serving. Apache runs
/// under libfaketime, whose offset this test moves 5 s ahead every 100 ms;
/// the monotonic clock is left alone.
fn wall_clock_jumps_do_not_kill_the_daemon(mpm: Mpm) {
    assert!(
        std::path::Path::new(FAKETIME).exists(),
        "{FAKETIME} is missing: run scripts/dev.sh build"
    );
    let stage = Stage::new("daemon-clock-jumps");
    let offset_file = stage.write("faketime.rc", "+0\n");
    let mut config = config(
        mpm,
        "processes=1 threads=2 deadlock-timeout=2 queue-timeout=2",
        "",
    );
    config.env = vec![
        ("LD_PRELOAD".into(), FAKETIME.into()),
        (
            "FAKETIME_TIMESTAMP_FILE".into(),
            offset_file.display().to_string(),
        ),
        ("FAKETIME_NO_CACHE".into(), "1".into()),
        ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
        // A real clock step leaves files' times alone (and script reloading
        // compares them).
        ("NO_FAKE_STAT".into(), "1".into()),
    ];
    let server = Server::start(stage, &config);
    let first = get_pid(&server);
    let mut ahead = 0;
    let jumping = Instant::now();
    while jumping.elapsed() < Duration::from_secs(4) {
        ahead += 5;
        std::fs::write(&offset_file, format!("+{ahead}\n")).unwrap();
        // Not an ordering sleep: the clock's pace (5 s every 100 ms of
        // real time) is the behaviour under test.
        std::thread::sleep(Duration::from_millis(100));
        let r = server.get("/app/pid");
        assert_eq!(
            (r.status, r.text()),
            (200, first.to_string()),
            "after the clock jumped {ahead} s:\n{}",
            server.error_log()
        );
    }
    // The parent looks at the heartbeats about once a second: for two of
    // its looks, the daemon must keep running and nothing be called a
    // deadlock.
    assert_holds(Duration::from_secs(2), "the daemon unharmed", || {
        let log = server.error_log();
        daemon_pids(&server, "site") == [first]
            && !log.contains(": WSGIRS0303: ")
            && !log.contains("deadlock-timeout")
    });
    let facts = facts(&server, "/app/info");
    assert_eq!(
        fact(&facts, "pid"),
        first.to_string(),
        "{}",
        server.error_log()
    );
    // The daemon's wall clock did jump, so the test shows something.
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let daemon_now: u64 = fact(&facts, "time").parse().unwrap();
    assert!(
        daemon_now >= real_now + ahead - 5,
        "the daemon's clock is {daemon_now}, real time {real_now}: libfaketime did not apply"
    );
    let log = server.error_log();
    assert!(
        !log.contains(": WSGIRS0303: ") && !log.contains("deadlock-timeout"),
        "{log}"
    );
}

fn stopped_daemon_times_out_and_is_killed(mpm: Mpm) {
    let server = start(
        mpm,
        "daemon-sigstop",
        "processes=1 threads=2 deadlock-timeout=4 socket-timeout=2 connect-timeout=2",
        "",
    );
    // The last heartbeat can be up to 1 s before the stop: deadlock-timeout
    // is 2 s more than socket-timeout, so that the kill comes after the 504.
    // On one kept-alive connection, so that the Apache child reuses its
    // connection to the daemon: the request reaches the stopped daemon and
    // no headers come back within socket-timeout.
    let mut s = server.connect();
    let get = simple_request("GET", "/app/pid", true);
    s.write_all(&get).unwrap();
    let old = pid_of(&read_response(&mut s));
    stop_process(old);
    let start = Instant::now();
    s.write_all(&get).unwrap();
    let r = read_response(&mut s);
    assert_eq!(
        r.status,
        504,
        "daemon pid={old}: {}\n{}",
        r.text(),
        server.error_log()
    );
    let log = server.error_log();
    let line = log
        .lines()
        .find(|l| l.contains(": WSGIRS0307: "))
        .unwrap_or_else(|| panic!("no timeout line:\n{log}"));
    assert!(
        line.contains(&format!("daemon pid={old}")) && line.contains("within 2 s"),
        "{line}"
    );
    // Then the parent finds the daemon's heartbeat stale and kills it
    // (meanwhile new connections are not accepted: 503 after
    // connect-timeout).
    let (new, took) = new_pid_answers(&server, old, Duration::from_secs(20));
    assert_ne!(new, old);
    let log = server.error_log();
    let line = log
        .lines()
        .find(|l| l.contains(": WSGIRS0303: "))
        .unwrap_or_else(|| panic!("no kill line:\n{log}"));
    assert!(line.contains(&format!("daemon pid={old}")), "{line}");
    assert_lines_well_formed(&log, "site");
    if alive(old) {
        // SAFETY: a plain kill of the daemon this test stopped.
        let _ = unsafe { libc::kill(old, libc::SIGCONT) };
    }
    eprintln!(
        "SIGSTOP: a new daemon answered {took:?} after the first request ({:?} in all)",
        start.elapsed()
    );
}

fn queue_timeout_answers_504_without_running(mpm: Mpm) {
    let server = start(
        mpm,
        "daemon-queue-timeout",
        "processes=1 threads=1 queue-timeout=1",
        "",
    );
    get_pid(&server);
    let mark = server.log_mark();
    std::thread::scope(|scope| {
        let slow = scope.spawn(|| server.get("/app/slow?2.5-q"));
        wait_for_file(&server, "started-q", WAIT);
        let r = server.get("/app/called?queued");
        assert_eq!(r.status, 504, "{}", r.text());
        assert_eq!(slow.join().unwrap().status, 200);
    });
    assert!(
        !server.stage().path("run/called-queued").exists(),
        "the queued request ran"
    );
    let log = server.log_since(mark, ": WSGIRS0309: ", WAIT);
    assert!(log.contains("queue-timeout (1 s)"), "{log}");
    // Without a wait, requests run.
    assert_eq!(server.get("/app/called?after").status, 200);
    assert_lines_well_formed(&server.error_log(), "site");
}

fn unreachable_daemon_gives_503(mpm: Mpm) {
    let server = start(
        mpm,
        "daemon-connect-timeout",
        "processes=1 connect-timeout=1",
        "",
    );
    // No request yet, so no child holds a connection: without the socket
    // file, none can be made.
    let socket = socket_path(&server, "site");
    assert!(
        socket.exists(),
        "{socket:?} missing: {:?}",
        socket_files(&server)
    );
    std::fs::remove_file(&socket).unwrap();
    let start = Instant::now();
    let r = server.get("/app/pid");
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let log = server.log_since(0, ": WSGIRS0304: ", WAIT);
    assert!(log.contains("connect-timeout (1 s)"), "{log}");
    assert_lines_well_formed(&log, "site");
}

fn daemon_that_cannot_start_gives_503(mpm: Mpm) {
    let stage = Stage::new("daemon-no-python");
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess site display-name=%{GROUP} python-home=@STAGE@/run connect-timeout=2\n\
             WSGIScriptAlias /app @STAGE@/apps/daemon_app.wsgi process-group=site\n",
        ),
    );
    let start = Instant::now();
    let r = server.get("/app/pid");
    assert_eq!(r.status, 503, "{}\n{}", r.text(), server.error_log());
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
    let log = server.error_log();
    assert!(log.contains(": WSGIRS0312: "), "{log}");
    assert_lines_well_formed(&log, "site");
}

fn touched_script_restarts_the_daemon(mpm: Mpm) {
    let server = start(
        mpm,
        "daemon-reload",
        "processes=1 threads=2",
        "WSGIScriptAlias /reload @STAGE@/apps/daemon_reload.wsgi process-group=site\n",
    );
    // daemon_app.wsgi, loaded in the same daemon, runs its atexit handlers.
    let old = get_pid(&server);
    let r = server.get("/reload");
    assert_eq!(r.status, 200, "{}", server.error_log());
    let text = r.text();
    assert_eq!(text, format!("version 1 from {old}"));
    let _: i32 = text
        .strip_prefix("version 1 from ")
        .unwrap_or_else(|| panic!("{text}"))
        .parse()
        .unwrap();
    let script = server.stage().path("apps/daemon_reload.wsgi");
    let code = std::fs::read_to_string(&script)
        .unwrap()
        .replace("VERSION = 1", "VERSION = 2");
    std::fs::write(&script, code).unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&script)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let r = server.get("/reload");
    assert_eq!(r.status, 200, "{}", server.error_log());
    let text = r.text();
    let new: i32 = text
        .strip_prefix("version 2 from ")
        .unwrap_or_else(|| panic!("{text}"))
        .parse()
        .unwrap();
    assert_ne!(new, old, "the script changed: the daemon must restart");
    wait_until(WAIT, "the old daemon to go", || (!alive(old)).then_some(()));
    wait_for_file(&server, &format!("atexit-{old}"), WAIT);
    let log = server.error_log();
    assert!(log.contains("daemon_reload.wsgi' changed"), "{log}");
    for line in log.lines().filter(|l| l.contains(": WSGIRS0302: ")) {
        assert!(line.contains("exited normally"), "{line}");
    }
}

/// Python blocked with the GIL held past deadlock-timeout: the daemon is
/// replaced; its request fails with 502, the next one is served.
fn blocked_python_is_replaced(mpm: Mpm) {
    let server = start(
        mpm,
        "daemon-deadlock",
        "processes=1 threads=2 deadlock-timeout=2",
        "",
    );
    let old = get_pid(&server);
    let started = Instant::now();
    let r = server.get("/app/hold-gil?30");
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let (new, _) = new_pid_answers(&server, old, RECOVERY);
    assert_ne!(new, old);
    let log = server.error_log();
    let line = log
        .lines()
        .find(|l| l.contains(": WSGIRS0303: "))
        .unwrap_or_else(|| panic!("no deadlock line:\n{log}"));
    assert!(line.contains(&format!("daemon pid={old}")), "{line}");
    assert!(!log.contains("the GIL came back"));
    assert_lines_well_formed(&log, "site");
}

mod event {
    use super::*;
    #[test]
    fn killed_daemon_gives_502_and_is_replaced() {
        super::killed_daemon_gives_502_and_is_replaced(Mpm::Event)
    }
    #[test]
    fn application_exits_before_and_after_headers() {
        super::application_exits_before_and_after_headers(Mpm::Event)
    }
    #[test]
    fn request_timeout_recycles_the_daemon() {
        super::request_timeout_recycles_the_daemon(Mpm::Event)
    }
    #[test]
    fn failing_start_up_backs_off() {
        super::failing_start_up_backs_off(Mpm::Event)
    }
    #[test]
    fn stopped_daemon_times_out_and_is_killed() {
        super::stopped_daemon_times_out_and_is_killed(Mpm::Event)
    }
    #[test]
    fn wall_clock_jumps_do_not_kill_the_daemon() {
        super::wall_clock_jumps_do_not_kill_the_daemon(Mpm::Event)
    }
    #[test]
    fn queue_timeout_answers_504_without_running() {
        super::queue_timeout_answers_504_without_running(Mpm::Event)
    }
    #[test]
    fn unreachable_daemon_gives_503() {
        super::unreachable_daemon_gives_503(Mpm::Event)
    }
    #[test]
    fn daemon_that_cannot_start_gives_503() {
        super::daemon_that_cannot_start_gives_503(Mpm::Event)
    }
    #[test]
    fn touched_script_restarts_the_daemon() {
        super::touched_script_restarts_the_daemon(Mpm::Event)
    }
    #[test]
    fn blocked_python_is_replaced() {
        super::blocked_python_is_replaced(Mpm::Event)
    }
}

/// Under prefork, where every request is a separate child with its own
/// connections, the one that depends most on the children's connection
/// pools.
mod prefork {
    use super::*;
    #[test]
    fn killed_daemon_gives_502_and_is_replaced() {
        super::killed_daemon_gives_502_and_is_replaced(Mpm::Prefork)
    }
}
