//! `display-name`: a daemon's title is its whole command line, as `ps -o
//! args`, `top -c` and monitoring read it from /proc/PID/cmdline (mod_wsgi
//! writes over Apache's argv), and its `comm` (15 bytes) too. Apache's own
//! processes, and groups without the option, keep Apache's command line.

mod common;
mod daemon_support;

use std::process::Command;

use common::*;

const LONG_GROUP: &str = "a-group-name-longer-than-comm";

/// /proc/PID/cmdline with its NUL separators as spaces, trailing ones dropped.
fn cmdline(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    raw.split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What `ps -o args` shows for `pid`.
fn ps_args(pid: i32) -> String {
    let out = Command::new("ps")
        .args(["-o", "args=", "-p", &pid.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn display_name_is_the_whole_command_line(mpm: Mpm) {
    let server = Server::start(
        Stage::new("display-name"),
        &Config::new(
            mpm,
            &format!(
                "WSGISocketPrefix @STAGE@/run/wsgi\n\
                 WSGIDaemonProcess {LONG_GROUP} threads=1 display-name=%{{GROUP}}\n\
                 WSGIDaemonProcess custom threads=1 display-name=my-application-worker\n\
                 WSGIDaemonProcess plain threads=1\n\
                 WSGIScriptAlias /long @STAGE@/apps/daemon_app.wsgi process-group={LONG_GROUP}\n\
                 WSGIScriptAlias /custom @STAGE@/apps/daemon_app.wsgi process-group=custom\n\
                 WSGIScriptAlias /plain @STAGE@/apps/daemon_app.wsgi process-group=plain\n\
                 WSGIScriptAlias /embedded @STAGE@/apps/daemon_app.wsgi\n"
            ),
        ),
    );
    let apache = cmdline(server.pid);
    assert!(apache.contains("-k start"), "{apache}");

    let long = daemon_support::pid_of(&server.get("/long/pid"));
    let title = format!("(wsgi:{LONG_GROUP})");
    assert_eq!(cmdline(long), title);
    assert_eq!(ps_args(long), title);
    // The kernel keeps 15 bytes of comm.
    assert_eq!(daemon_support::comm(long), title[..15]);

    let custom = daemon_support::pid_of(&server.get("/custom/pid"));
    assert_eq!(cmdline(custom), "my-application-worker");
    assert_eq!(ps_args(custom), "my-application-worker");
    assert_eq!(daemon_support::comm(custom), "my-application-");

    let plain = daemon_support::pid_of(&server.get("/plain/pid"));
    assert_eq!(cmdline(plain), apache);
    let embedded = daemon_support::pid_of(&server.get("/embedded/pid"));
    assert_ne!(embedded, server.pid);
    assert_eq!(cmdline(embedded), apache);
    assert_eq!(cmdline(server.pid), apache);
    assert_no_crash(&server.error_log());
}

under_event_and_prefork!(display_name_is_the_whole_command_line);
