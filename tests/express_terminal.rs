//! `mod_wsgi_rs-express start-server` in a terminal (a pseudo-terminal from
//! util-linux's `script`), where, as mod_wsgi-express, it runs Apache in its
//! own process group and forwards SIGINT and SIGTERM to it, and keeps
//! SIGWINCH (a resized window, which Apache takes as a graceful stop) away
//! from it. (Not in a terminal it becomes Apache: tests/express_cli.rs.)

mod common;
mod express_support;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use express_support::*;

/// The pids below `pid`, from /proc's children lists.
fn descendants(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(p) = queue.pop() {
        let tasks = std::fs::read_dir(format!("/proc/{p}/task"))
            .into_iter()
            .flatten();
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                found.push(child);
                queue.push(child);
            }
        }
    }
    found
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// `script` running the command in a pseudo-terminal, and the Apache it
/// started in a process group of its own: both stopped by their pids.
struct InTerminal {
    script: Child,
    pidfile: std::path::PathBuf,
}

impl Drop for InTerminal {
    fn drop(&mut self) {
        let apache = std::fs::read_to_string(&self.pidfile)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok());
        if let Some(pid) = apache {
            // SAFETY: a signal to the pid in this test's server's PidFile.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            // SAFETY: signal 0 only checks for existence.
            let gone = poll(Duration::from_secs(15), || {
                (unsafe { libc::kill(pid, 0) } != 0).then_some(())
            });
            if gone.is_none() {
                // Apache leads a process group of its own: its children go
                // too. SAFETY: as above.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
        }
        // SAFETY: signals to the process group this test created.
        unsafe { libc::kill(-(self.script.id() as i32), libc::SIGTERM) };
        if poll(Duration::from_secs(15), || self.script.try_wait().unwrap()).is_none() {
            // SAFETY: as above.
            unsafe { libc::kill(-(self.script.id() as i32), libc::SIGKILL) };
            let _ = self.script.wait();
        }
    }
}

#[test]
fn in_a_terminal_signals_are_forwarded_and_sigwinch_is_kept_from_apache() {
    signals_are_forwarded_and_sigwinch_is_kept_from_apache(&[]);
}

/// Started by a supervisor (or a CI runner) that blocks the signals the
/// runner forwards: a Ctrl-C still stops Apache.
#[test]
fn started_with_signals_blocked_a_ctrl_c_still_stops_apache() {
    signals_are_forwarded_and_sigwinch_is_kept_from_apache(&[
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGWINCH,
    ]);
}

fn signals_are_forwarded_and_sigwinch_is_kept_from_apache(blocked: &'static [i32]) {
    let stage = express_stage("express-terminal");
    let port = free_port();
    let python = stage.path("python").display().to_string();
    let module = stage.path("mod_wsgi_rs.so").display().to_string();
    let mut command = vec![
        "/usr/bin/python3".to_owned(),
        "-B".to_owned(),
        "-m".to_owned(),
        "mod_wsgi_rs.express".to_owned(),
        "start-server".to_owned(),
        stage.path("site/app.wsgi").display().to_string(),
    ];
    command.extend(base_args(&stage, port));
    let typescript = stage.path("run/typescript");
    let mut script = Command::new("script");
    start_with_signals_blocked(&mut script, blocked);
    let script = script
        .args(["-qfec", &command.join(" ")])
        .arg(&typescript)
        .current_dir(stage.path("site"))
        .env("PYTHONPATH", &python)
        .env("MOD_WSGI_RS_MODULE", &module)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("util-linux script runs");
    let pidfile = stage.path("root/httpd.pid");
    let mut terminal = InTerminal {
        script,
        pidfile: pidfile.clone(),
    };
    let get = |path: &str| -> Option<Response> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        use std::io::Write;
        s.write_all(&simple_request("GET", path, false)).ok()?;
        try_read_response(&mut s).ok()
    };
    wait_until(Duration::from_secs(30), "the server to answer", || {
        get("/").filter(|r| r.status == 200)
    });
    let below = descendants(terminal.script.id() as i32);
    // The runner itself: `script` may run it through a shell that stays
    // (dash, where SHELL is unset) and whose command line names it too.
    let cli = *below
        .iter()
        .find(|p| cmdline(**p).starts_with("/usr/bin/python3 -B -m mod_wsgi_rs.express"))
        .unwrap_or_else(|| panic!("no runner below script: {below:?}"));
    let apache: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // In a terminal the runner stays, with Apache its child in its own
    // process group.
    assert_ne!(apache, cli);
    assert!(descendants(cli).contains(&apache));
    // SAFETY: getpgid reads the process group of a process of this test.
    let (cli_group, apache_group) = unsafe { (libc::getpgid(cli), libc::getpgid(apache)) };
    assert_ne!(cli_group, apache_group);
    assert_eq!(apache_group, apache);

    // The signals go to the runner alone: a shell above it would answer a
    // Ctrl-C by its own rules (dash exits 130).
    // SIGWINCH is not passed on: Apache keeps serving.
    // SAFETY: a signal to the runner this test started.
    unsafe { libc::kill(cli, libc::SIGWINCH) };
    assert_holds(
        Duration::from_millis(1500),
        "serving after SIGWINCH",
        || get("/").is_some_and(|r| r.status == 200),
    );

    // SIGINT is: Apache stops cleanly, then the runner ends.
    // SAFETY: as above.
    unsafe { libc::kill(cli, libc::SIGINT) };
    let status = wait_until(
        Duration::from_secs(20),
        "the terminal session to end",
        || terminal.script.try_wait().unwrap(),
    );
    assert!(status.success(), "{status:?}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    let log = std::fs::read_to_string(stage.path("root/error_log")).unwrap();
    // Apache takes SIGINT as SIGTERM: "AH00491: caught SIGTERM, shutting down".
    assert!(log.contains("AH00491"), "{log}");
    assert!(
        !log.contains("AH00492"),
        "a graceful stop from SIGWINCH:\n{log}"
    );
    assert_no_crash(&log);
    assert!(!pidfile.exists());
}
