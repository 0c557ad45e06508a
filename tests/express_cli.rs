//! `mod_wsgi_rs-express start-server` and `setup-server` as a user runs
//! them (through a real Apache): daemon mode by default, the summary of
//! settings, a clean stop on SIGTERM and SIGINT, the server root's
//! apachectl (start, graceful, restart, stop), the module-* commands'
//! delegation, and bad input refused with argparse's error form.

mod common;
mod express_support;

use std::process::Command;
use std::time::Duration;

use common::*;
use express_support::*;

fn app(stage: &Stage) -> String {
    stage.path("site/app.wsgi").display().to_string()
}

#[test]
fn start_server_serves_a_script_in_daemon_mode_and_stops_on_sigterm() {
    let stage = express_stage("express-start");
    let script = app(&stage);
    let mut server = Express::start(stage, &[&script]);
    let port = server.port;

    let facts = server.facts("/some/path?x=1");
    // Daemon mode by default: a daemon process of the group named after
    // host and port, in the main interpreter, as mod_wsgi-express.
    assert_eq!(fact(&facts, "process_group"), format!("127.0.0.1:{port}"));
    assert_eq!(fact(&facts, "application_group"), "");
    let daemon: i32 = fact(&facts, "pid").parse().unwrap();
    assert!(
        daemons(&server).contains(&daemon),
        "pid {daemon} is a daemon of Apache {}",
        server.pid()
    );
    // The handler gives the application the whole path at the root mount.
    assert_eq!(fact(&facts, "script_name"), "");
    assert_eq!(fact(&facts, "path_info"), "/some/path");
    assert_eq!(fact(&facts, "express"), "true");
    // WSGIPythonHome is the prefix of the Python that ran the command.
    assert_eq!(fact(&facts, "prefix"), "/usr");
    // The package's directory is on the daemon's python path.
    let python = server.stage().path("python").display().to_string();
    assert!(
        fact(&facts, "sys_path").split(':').any(|p| p == python),
        "{python} not on {}",
        fact(&facts, "sys_path")
    );
    // The working directory defaults to where the command ran.
    assert_eq!(
        fact(&facts, "cwd"),
        server.stage().path("site").display().to_string()
    );
    if is_root() {
        // --user and --group: the daemon's identity.
        assert_eq!(fact(&facts, "user"), "www-data");
        assert_eq!(fact(&facts, "group"), "www-data");
    }
    // --host: Apache listens on that address only.
    assert!(
        server
            .conf()
            .contains(&format!("Listen 127.0.0.1:{port}\n")),
        "{}",
        server.conf()
    );

    // The summary, before Apache started.
    let out = server.stdout();
    for line in [
        format!("Server URL         : http://127.0.0.1:{port}/"),
        format!("Server Root        : {}", server.root().display()),
        "Operating Mode     : daemon".to_owned(),
        "Request Capacity   : 5 (1 process * 5 threads)".to_owned(),
        "Request Timeout    : 60 (seconds)".to_owned(),
    ] {
        assert!(out.contains(&line), "{line:?} not in the summary:\n{out}");
    }
    assert!(!out.contains("Control Script"), "{out}");

    // SIGTERM to the command (which became Apache): a clean stop.
    let status = server.stop_with(libc::SIGTERM);
    assert!(status.success(), "exit status {status:?}");
    assert!(port_closed(port), "port {port} still answers");
    let log = server.error_log();
    assert!(log.contains("caught SIGTERM, shutting down"), "{log}");
    assert_no_crash(&log);
    assert!(!server.root().join("httpd.pid").exists());
}

#[test]
fn start_server_stops_cleanly_on_sigint() {
    stops_cleanly_on_sigint(&[]);
}

/// Started by a supervisor that blocks the stop signals, the command
/// (Apache, after exec) still stops on them.
#[test]
fn start_server_started_with_stop_signals_blocked_still_stops_on_sigint() {
    stops_cleanly_on_sigint(&[libc::SIGINT, libc::SIGTERM, libc::SIGHUP]);
}

fn stops_cleanly_on_sigint(blocked: &'static [i32]) {
    let stage = express_stage("express-sigint");
    let script = app(&stage);
    let mut server = Express::start_blocking(stage, &[&script], blocked);
    let port = server.port;
    server.facts("/");
    let status = server.stop_with(libc::SIGINT);
    assert!(status.success(), "exit status {status:?}");
    assert!(port_closed(port));
    let log = server.error_log();
    assert!(log.contains("shutting down"), "{log}");
    assert_no_crash(&log);
}

/// Whether connections to `port` are refused within 10 s.
fn port_closed(port: u16) -> bool {
    poll(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .is_err()
            .then_some(())
    })
    .is_some()
}

#[test]
fn no_script_serves_the_default_page() {
    let stage = express_stage("express-default");
    let server = Express::start(stage, &[]);
    let r = server.get("/");
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert!(
        r.text().contains("mod_wsgi_rs-express is running"),
        "{}",
        r.text()
    );
}

/// Stops an Apache started by a generated apachectl, by its PidFile.
struct PidFileGuard(std::path::PathBuf);

impl Drop for PidFileGuard {
    fn drop(&mut self) {
        if let Some(pid) = read_pid(&self.0) {
            // SAFETY: a signal to the pid in the test server's PidFile.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            poll(Duration::from_secs(15), || (!alive(pid)).then_some(()));
        }
    }
}

fn read_pid(path: &std::path::Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

fn apachectl(root: &std::path::Path, action: &str) -> std::process::Output {
    Command::new("setsid")
        .arg(root.join("apachectl"))
        .arg(action)
        .output()
        .unwrap()
}

#[test]
fn setup_server_writes_a_server_root_that_apachectl_starts_and_stops() {
    let stage = express_stage("express-setup");
    let port = free_port();
    let mut args = vec!["setup-server".to_owned(), app(&stage)];
    args.extend(base_args(&stage, port));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&stage, &args);
    assert!(out.status.success(), "{}", text(&out));
    let root = stage.path("root");
    for file in [
        "httpd.conf",
        "apachectl",
        "envvars",
        "handler.wsgi",
        "rewrite.conf",
    ] {
        assert!(root.join(file).exists(), "{file} missing");
    }
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains(&format!(
            "Control Script     : {}/apachectl",
            root.display()
        )),
        "{summary}"
    );
    // handler.wsgi carries PLAN4's interface, every key.
    let handler = std::fs::read_to_string(root.join("handler.wsgi")).unwrap();
    assert!(
        handler.contains("from mod_wsgi_rs.express.runtime import application_from_options"),
        "{handler}"
    );
    for key in [
        "application_type",
        "entry_point",
        "callable_object",
        "working_directory",
        "reload_on_changes",
        "reload_interval",
        "server_root",
    ] {
        assert!(handler.contains(&format!("'{key}':")), "{key} in {handler}");
    }
    // Nothing runs until apachectl start.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());

    let pidfile = root.join("httpd.pid");
    let _guard = PidFileGuard(pidfile.clone());
    let out = apachectl(&root, "start");
    assert!(out.status.success(), "apachectl start: {}", text(&out));
    let get = |path: &str| -> Option<Response> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        use std::io::Write;
        s.write_all(&simple_request("GET", path, false)).ok()?;
        try_read_response(&mut s).ok()
    };
    let r = wait_until(Duration::from_secs(20), "the server to answer", || {
        get("/x").filter(|r| r.status == 200)
    });
    assert!(r.text().contains("path_info=/x"), "{}", r.text());
    let first = read_pid(&pidfile).expect("a PidFile");

    for action in ["graceful", "restart"] {
        let log = root.join("error_log");
        let before = std::fs::read_to_string(&log).unwrap_or_default().len();
        let out = apachectl(&root, action);
        assert!(out.status.success(), "apachectl {action}: {}", text(&out));
        // Apache's "SIGUSR1 received.  Doing graceful restart" and
        // "SIGHUP received.  Attempting to restart".
        let wanted = if action == "graceful" {
            "AH00493"
        } else {
            "AH00494"
        };
        wait_until(Duration::from_secs(20), wanted, || {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            log.get(before..)
                .is_some_and(|l| l.contains(wanted) && l.contains("resuming normal operations"))
                .then_some(())
        });
        wait_until(Duration::from_secs(20), "a 200 after the restart", || {
            get("/").filter(|r| r.status == 200)
        });
        assert_eq!(read_pid(&pidfile), Some(first), "the same parent");
    }

    let out = apachectl(&root, "stop");
    assert!(out.status.success(), "apachectl stop: {}", text(&out));
    wait_until(Duration::from_secs(20), "Apache to stop", || {
        (!alive(first)).then_some(())
    });
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    let log = std::fs::read_to_string(root.join("error_log")).unwrap();
    assert_no_crash(&log);
}

#[test]
fn setup_only_writes_the_server_root_and_starts_nothing() {
    let stage = express_stage("express-setup-only");
    let port = free_port();
    let mut args = vec![
        "start-server".to_owned(),
        app(&stage),
        "--setup-only".to_owned(),
    ];
    args.extend(base_args(&stage, port));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&stage, &args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(stage.path("root/apachectl").exists());
    assert!(stage.path("root/httpd.conf").exists());
    assert!(!stage.path("root/httpd.pid").exists());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Control Script"));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// The command fails with argparse's error form, naming `fragment`, and
/// starts nothing.
fn refused(stage: &Stage, args: &[&str], fragment: &str) {
    let out = run(stage, args);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {all}");
    assert!(
        all.contains("mod_wsgi_rs-express: error:"),
        "{args:?}: {all}"
    );
    assert!(all.contains(fragment), "{fragment:?} for {args:?}: {all}");
    assert!(!stage.path("root/httpd.pid").exists());
}

/// `command`, the base options, then `rest` (which may override them).
fn with_base(stage: &Stage, head: &[&str]) -> Vec<String> {
    let mut args = vec![head[0].to_owned()];
    args.extend(base_args(stage, free_port()));
    args.extend(head[1..].iter().map(|s| s.to_string()));
    args
}

#[test]
fn bad_input_is_refused_with_what_is_wrong() {
    let stage = express_stage("express-bad");
    let script = app(&stage);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["start-server", &script, "--no-such-option"],
            "unrecognized arguments: --no-such-option",
        ),
        (
            vec!["start-server", "/nonexistent/app.wsgi"],
            "the WSGI script /nonexistent/app.wsgi does not exist",
        ),
        (
            vec!["start-server", &script, "--processes", "0"],
            "argument --processes: must be at least 1",
        ),
        (
            vec!["start-server", &script, "--threads", "x"],
            "argument --threads: invalid int value: 'x'",
        ),
        (
            vec!["start-server", &script, "--log-level", "loud"],
            "argument --log-level: invalid choice: 'loud'",
        ),
        (
            vec!["start-server", &script, "--server-mpm", "winnt"],
            "argument --server-mpm: invalid choice: 'winnt'",
        ),
        (
            vec!["start-server", &script, "--application-type", "cgi"],
            "argument --application-type: invalid choice: 'cgi'",
        ),
        (
            vec!["start-server", &script, "--request-timeout", "-1"],
            "argument --request-timeout: must not be negative",
        ),
        (
            vec!["start-server", &script, "--initial-workers", "2"],
            "value needs to be within the range 0 to 1",
        ),
        (
            vec!["start-server", &script, "--https-port", "8443"],
            "--https-port needs --ssl-certificate-file",
        ),
        (
            vec!["start-server", &script, "--ssl-certificate-file", "/x.crt"],
            "--https-port must be specified",
        ),
        (
            vec!["start-server", &script, &script],
            "only one script is taken",
        ),
        (
            vec![
                "start-server",
                "--application-type",
                "static",
                "--document-root",
                "/nonexistent",
            ],
            "the document root /nonexistent is not a directory",
        ),
        (
            vec!["start-server", &script, "--max-clients", "-1"],
            "argument --max-clients: must not be negative",
        ),
        (
            vec!["start-server", &script, "--maximum-requests", "many"],
            "argument --maximum-requests: invalid int value: 'many'",
        ),
        (
            vec!["start-server", &script, "--restart-interval", "-5"],
            "argument --restart-interval: must not be negative",
        ),
        (
            vec!["start-server", &script, "--url-alias", "/static"],
            "argument --url-alias: expected 2 arguments",
        ),
        (
            vec![
                "start-server",
                &script,
                "--working-directory",
                "/nonexistent",
            ],
            "the working directory /nonexistent is not a directory",
        ),
        (
            vec!["start-server", &script, "--trust-proxy", "proxy.example"],
            "--trust-proxy proxy.example is not an IP address or subnet",
        ),
        (
            vec!["start-server", &script, "--host", "192.0.2.1"],
            "cannot listen on 192.0.2.1: no such local address",
        ),
        (
            vec!["start-server", &script, "--server-root", "/proc/version/x"],
            "cannot create the server root /proc/version/x",
        ),
        (vec!["no-such-command"], "Invalid command was specified."),
        (vec![], "No command was specified."),
    ];
    for (head, fragment) in cases {
        let args = if head.is_empty() || head[0] == "no-such-command" {
            head.iter().map(|s| s.to_string()).collect()
        } else {
            with_base(&stage, &head)
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&stage, &args, fragment);
    }
    if is_root() {
        let args = with_base(
            &stage,
            &["start-server", &script, "--user", "no-such-user-here"],
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(
            &stage,
            &args,
            "argument --user: no such user: 'no-such-user-here'",
        );
    }
    // --port is checked by argparse before anything else.
    refused(
        &stage,
        &["start-server", &script, "--port", "http"],
        "argument --port: invalid int value: 'http'",
    );
    refused(
        &stage,
        &["start-server", &script, "--port", "70000"],
        "argument --port: 70000 is not a port",
    );
}

#[test]
fn a_port_in_use_is_refused_before_apache_starts() {
    let stage = express_stage("express-port-in-use");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = app(&stage);
    let mut args = vec!["start-server".to_owned(), script];
    args.extend(base_args(&stage, port));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&stage, &args);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains(&format!(
            "mod_wsgi_rs-express: error: port {port} on 127.0.0.1 is already in use."
        )),
        "{all}"
    );
    drop(listener);
}

#[test]
fn module_commands_are_delegated_to_the_module_main() {
    let stage = express_stage("express-module-commands");
    let out = run(&stage, &["module-location"]);
    let all = text(&out);
    let module = stage.path("mod_wsgi_rs.so").display().to_string();
    if all.contains("lacks") {
        // pkg's mod_wsgi_rs.module.main has not landed on this branch: a
        // clear failure, not a traceback.
        assert_eq!(out.status.code(), Some(2), "{all}");
        assert!(
            all.contains(
                "mod_wsgi_rs-express: error: module-location needs mod_wsgi_rs.module.main"
            ),
            "{all}"
        );
        assert!(!all.contains("Traceback"), "{all}");
    } else {
        assert!(out.status.success(), "{all}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), module);
    }
}
