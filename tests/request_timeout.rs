//! request-timeout as mod_wsgi 6, through a real Apache: past the limit
//! (scaled by the threads: `request-timeout * (1 + ln threads)`), with
//! `interrupt-timeout` set, the stuck thread gets `mod_wsgi.RequestTimeout`
//! raised in it, the client 504, and the process lives on; a thread that
//! does not unwind within interrupt-timeout recycles the process, without
//! waiting graceful-timeout for it. An application raising RequestTimeout
//! itself gets 504 and an info line, in both modes. Misconfigurations are
//! refused at start-up.
//! (Without interrupt-timeout: tests/daemon_faults.rs.)

mod common;
mod daemon_support;

use std::time::{Duration, Instant};

use common::*;
use daemon_support::*;

const WAIT: Duration = Duration::from_secs(10);

/// tests/apps/request_timeout.wsgi at /rt in the daemon group `site` (with
/// `options`), and at /embedded in embedded mode, in application group
/// `group`: `%{GLOBAL}` (the main interpreter) or a named group (a
/// sub-interpreter, where, under CPython 3.11, only a thread waiting for
/// the GIL as one of that interpreter's makes a thread spinning in pure
/// Python drop it: the monitor must take it so).
fn start_rt(mpm: Mpm, name: &str, options: &str, group: &str) -> Server {
    start(
        mpm,
        name,
        options,
        &format!(
            "WSGIApplicationGroup {group}\n\
             WSGIScriptAlias /rt @STAGE@/apps/request_timeout.wsgi process-group=site\n\
             WSGIScriptAlias /embedded @STAGE@/apps/request_timeout.wsgi\n"
        ),
    )
}

fn rt_pid(server: &Server) -> i32 {
    pid_of(&server.get("/rt/pid"))
}

/// Checks that /rt runs in application group `group` (`%{GLOBAL}` is "").
fn assert_group(server: &Server, group: &str) {
    let expected = if group == "%{GLOBAL}" { "" } else { group };
    assert_eq!(server.get("/rt/group").text(), expected);
}

fn lines_with<'a>(log: &'a str, needle: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(needle)).collect()
}

fn interrupted_request_gets_504_and_the_process_lives_on(mpm: Mpm, group: &str) {
    // 4 threads: the limit is 1 s * (1 + ln 4) = 2.39 s. The Apache child
    // waits that plus interrupt-timeout (7.4 s) before it answers 504
    // itself, so a 504 well before that comes from the daemon.
    let server = start_rt(
        mpm,
        "rt-interrupt",
        "processes=1 threads=4 request-timeout=1 interrupt-timeout=5",
        group,
    );
    assert_group(&server, group);
    let pid = rt_pid(&server);
    let mark = server.log_mark();

    // Longer than request-timeout, shorter than the scaled limit: untouched.
    let r = server.get("/rt/sleep?1.6");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.text(), format!("slept 1.6 in {pid}"));

    let started = Instant::now();
    let r = server.get("/rt/spin");
    let took = started.elapsed();
    assert_eq!(r.status, 504, "{}\n{}", r.text(), server.error_log());
    assert!(
        took >= Duration::from_millis(2380) && took < Duration::from_secs(6),
        "the 504 came after {took:?}"
    );
    let raised = wait_for_file(&server, "spin-raised", WAIT);
    assert!(
        raised.starts_with("mod_wsgi.RequestTimeout except-Exception=False thread="),
        "{raised}"
    );

    // After the headers: the response is cut short.
    let r = server.get("/rt/stream");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"first;");
    assert!(!r.complete, "a response cut short must not look complete");

    // The same process serves on, and no stale interruption hits the next
    // requests of the threads that were interrupted.
    for _ in 0..8 {
        assert_eq!(rt_pid(&server), pid, "{}", server.error_log());
    }
    let log = server.log_since(mark, "after headers sent; response truncated", WAIT);
    let dumps = lines_with(&log, "Dumping stack trace for thread ");
    assert_eq!(dumps.len(), 2, "{log}");
    assert!(
        dumps[0].contains(": WSGIRS0320: ")
            && dumps[0].contains(&format!("daemon pid={pid}"))
            && dumps[0].contains(
                "of daemon process 'site' which has exceeded request-timeout of 1 seconds, before injecting RequestTimeout to unwind it."
            ),
        "{}",
        dumps[0]
    );
    let ident = raised.trim().rsplit('=').next().unwrap();
    assert!(
        lines_with(&log, &format!("Thread {ident} executing file \""))
            .iter()
            .any(|l| l.contains("request_timeout.wsgi\", line ") && l.contains(", in busy_loop")),
        "no stack of thread {ident}:\n{log}"
    );
    // The outer frames in mod_wsgi 6's words, the outermost last.
    let called_from = lines_with(&log, ": called from file \"");
    assert!(
        called_from.iter().any(|l| l.ends_with(", in spin,"))
            && called_from.iter().any(|l| l.ends_with(", in application.")),
        "{log}"
    );
    assert_eq!(
        lines_with(&log, "Injected RequestTimeout into thread ").len(),
        2,
        "{log}"
    );
    let recovered = lines_with(&log, ": WSGIRS0220: ");
    assert_eq!(recovered.len(), 2, "{log}");
    assert!(
        recovered[0].contains("Request interrupted by RequestTimeout; thread recovered.")
            && recovered[0].contains("request_timeout.wsgi"),
        "{}",
        recovered[0]
    );
    assert!(
        recovered[1].contains(
            "Request interrupted by RequestTimeout after headers sent; response truncated."
        )
    );
    for absent in [
        "Traceback",
        ": WSGIRS0310: ",
        ": WSGIRS0311: ",
        ": WSGIRS0307: ",
        "the loop ended",
    ] {
        assert!(!log.contains(absent), "{absent} in:\n{log}");
    }
    assert_lines_well_formed(&log, "site");
}

fn a_thread_that_does_not_unwind_recycles_the_process(mpm: Mpm, group: &str) {
    // 2 threads: the limit is 1.69 s; the application catches RequestTimeout
    // and carries on. interrupt-timeout later (3.7 s) the process recycles,
    // and does not wait graceful-timeout (30 s) for that request: it has run
    // longer than request-timeout + interrupt-timeout.
    let server = start_rt(
        mpm,
        "rt-stubborn",
        "processes=1 threads=2 request-timeout=1 interrupt-timeout=2 graceful-timeout=30",
        group,
    );
    assert_group(&server, group);
    let old = rt_pid(&server);
    let mark = server.log_mark();
    let started = Instant::now();
    let r = server.get("/rt/stubborn");
    assert_eq!(r.status, 504, "{}\n{}", r.text(), server.error_log());
    let caught = wait_for_file(&server, "stubborn-caught", WAIT);
    assert!(caught.starts_with("mod_wsgi.RequestTimeout"), "{caught}");
    let log = server.log_since(mark, ": WSGIRS0310: ", WAIT);
    let line = lines_with(&log, ": WSGIRS0310: ")[0];
    assert!(
        line.contains("Daemon process request time limit exceeded")
            && line.contains("did not end within interrupt-timeout (2 s)")
            && line.contains(&format!("daemon pid={old}")),
        "{line}"
    );
    let new = wait_until(Duration::from_secs(15), "a new daemon", || {
        server
            .try_get("/rt/pid")
            .filter(|r| r.status == 200)
            .map(|r| pid_of(&r))
            .filter(|p| *p != old)
    });
    assert_ne!(new, old);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the recycle waited for the stuck request: {:?}",
        started.elapsed()
    );
    let log = server.error_log();
    assert!(
        log.contains("Injected RequestTimeout into thread "),
        "{log}"
    );
    assert_eq!(lines_with(&log, ": WSGIRS0310: ").len(), 1, "{log}");
    assert!(!log.contains("the loop ended"));
    assert_lines_well_formed(&log, "site");
}

fn application_raising_request_timeout_gets_504(mpm: Mpm) {
    let server = start_rt(mpm, "rt-raise", "processes=1 threads=2", "%{GLOBAL}");
    for path in ["/embedded/raise", "/rt/raise"] {
        let mark = server.log_mark();
        let r = server.get(path);
        assert_eq!(
            r.status,
            504,
            "{path}: {}\n{}",
            r.text(),
            server.error_log()
        );
        let log = server.log_since(mark, ": WSGIRS0220: ", WAIT);
        assert!(
            log.contains("Request interrupted by RequestTimeout; thread recovered."),
            "{log}"
        );
        assert!(!log.contains("Traceback"), "{log}");
        assert!(!log.contains(": WSGIRS0203: "), "{log}");
    }
}

fn misconfigured_timeouts_are_refused(mpm: Mpm) {
    for (options, error) in [
        (
            "interrupt-timeout=soon",
            "invalid value 'soon' for interrupt-timeout",
        ),
        (
            "interrupt-timeout=-1",
            "invalid value '-1' for interrupt-timeout",
        ),
        (
            "request-timeout=1.5",
            "invalid value '1.5' for request-timeout",
        ),
    ] {
        let stage = Stage::new("rt-config");
        let message = config_test(&stage, &config(mpm, options, "")).unwrap_err();
        assert!(message.contains(error), "{options}: {message}");
    }
}

mod event {
    use super::*;
    #[test]
    fn interrupted_request_gets_504_and_the_process_lives_on() {
        super::interrupted_request_gets_504_and_the_process_lives_on(Mpm::Event, "%{GLOBAL}")
    }
    #[test]
    fn interrupted_request_in_a_sub_interpreter_gets_504_and_the_process_lives_on() {
        super::interrupted_request_gets_504_and_the_process_lives_on(Mpm::Event, "tenant")
    }
    #[test]
    fn a_thread_that_does_not_unwind_recycles_the_process() {
        super::a_thread_that_does_not_unwind_recycles_the_process(Mpm::Event, "%{GLOBAL}")
    }
    #[test]
    fn a_thread_in_a_sub_interpreter_that_does_not_unwind_recycles_the_process() {
        super::a_thread_that_does_not_unwind_recycles_the_process(Mpm::Event, "tenant")
    }
    #[test]
    fn application_raising_request_timeout_gets_504() {
        super::application_raising_request_timeout_gets_504(Mpm::Event)
    }
    #[test]
    fn misconfigured_timeouts_are_refused() {
        super::misconfigured_timeouts_are_refused(Mpm::Event)
    }
}

mod prefork {
    use super::*;
    #[test]
    fn interrupted_request_gets_504_and_the_process_lives_on() {
        super::interrupted_request_gets_504_and_the_process_lives_on(Mpm::Prefork, "%{GLOBAL}")
    }
    #[test]
    fn interrupted_request_in_a_sub_interpreter_gets_504_and_the_process_lives_on() {
        super::interrupted_request_gets_504_and_the_process_lives_on(Mpm::Prefork, "tenant")
    }
    #[test]
    fn application_raising_request_timeout_gets_504() {
        super::application_raising_request_timeout_gets_504(Mpm::Prefork)
    }
}
