//! A daemon runs requests only from Apache's own children (issue 9, item
//! 6c). Another process of Apache's `User` can connect to a group's socket
//! (the uid check lets it in), and it may speak the channel protocol, but it
//! cannot prove it knows the group's secret: the daemon closes the
//! connection without running anything and logs WSGIRS0331, as mod_wsgi
//! refuses a request without the right magic token. Apache's own requests,
//! on new and pooled connections, and those of the children of an older
//! generation after a graceful restart, are served.

mod common;
mod daemon_support;

use std::io::Write;
use std::process::Command;

use common::*;
use daemon_support::*;

/// tests/apps/daemon_client.py run as Apache's user (www-data when the
/// tests run as root, else the tests' own user, which Apache then runs as),
/// offering `proof` (hex) as the group's secret; returns the line it printed.
fn foreign_client(server: &Server, socket: &std::path::Path, script: &str, proof: &str) -> String {
    let client = server.stage().path("apps/daemon_client.py");
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "www-data", "--", "/usr/bin/python3"]);
        c
    } else {
        Command::new("/usr/bin/python3")
    };
    command
        .arg(&client)
        .arg(socket)
        .args([script, "/probe", ""]);
    if !proof.is_empty() {
        command.arg(proof);
    }
    let out = command.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The client's pid, from its "closed: ... (client pid N)" line.
fn client_pid(line: &str) -> u32 {
    line.rsplit("(client pid ")
        .next()
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no client pid in {line:?}"))
}

fn probe_marks(server: &Server, what: &str) -> Option<String> {
    std::fs::read_to_string(server.stage().path(&format!("run/secret-probe-{what}"))).ok()
}

fn a_foreign_process_of_apaches_user_gets_nothing_run(mpm: Mpm) {
    let server = start(
        mpm,
        "daemon-secret-foreign",
        "processes=1 threads=2",
        "WSGIScriptAlias /probe @STAGE@/apps/secret_probe.wsgi process-group=site\n",
    );
    let daemon = wait_for_daemons(&server, "site", 1)[0];
    let socket = socket_path(&server, "site");
    let probe = script(&server, "secret_probe.wsgi");

    // No proof at all: mod_wsgi's "missing magic token".
    let mark = server.log_mark();
    let line = foreign_client(&server, &socket, &probe, "");
    assert!(line.starts_with("closed: "), "{line}");
    let log = server.log_since(mark, ": WSGIRS0331: ", WAIT);
    let logged = log.lines().find(|l| l.contains(": WSGIRS0331: ")).unwrap();
    assert!(
        logged.contains("missing magic token")
            && logged.contains(&format!("process {} ", client_pid(&line)))
            && logged.contains("group='site'")
            && logged.contains(&format!("daemon pid={daemon}")),
        "{logged}"
    );

    // A wrong proof: "magic token mismatch".
    let mark = server.log_mark();
    let line = foreign_client(&server, &socket, &probe, &"5a".repeat(32));
    assert!(line.starts_with("closed: "), "{line}");
    let log = server.log_since(mark, ": WSGIRS0331: ", WAIT);
    let logged = log.lines().find(|l| l.contains(": WSGIRS0331: ")).unwrap();
    assert!(
        logged.contains("magic token mismatch")
            && logged.contains(&format!("process {} ", client_pid(&line))),
        "{logged}"
    );

    // Nothing of the script ran, not even its import.
    assert_eq!(probe_marks(&server, "imported"), None);
    assert_eq!(probe_marks(&server, "ran"), None);

    // Apache's children are served: one after another (the connections go
    // back to each child's pool and are used again), and many at once.
    let mark = server.log_mark();
    for _ in 0..20 {
        assert_eq!(get_pid(&server), daemon);
    }
    std::thread::scope(|s| {
        let server = &server;
        let threads: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(move || {
                    (0..5)
                        .map(|_| server.get("/app/pid").status)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), vec![200; 5]);
        }
    });
    // The probe itself works: through Apache it runs in the daemon.
    let r = server.get("/probe");
    assert_eq!((r.status, r.text()), (200, daemon.to_string()));
    assert_eq!(
        probe_marks(&server, "ran").as_deref(),
        Some(format!("{daemon}\n").as_str())
    );
    let log = server.error_log();
    let since = &log[mark..];
    assert_eq!(count(since, "WSGIRS0331"), 0, "{since}");
    assert_eq!(count(since, "WSGIRS0308"), 0, "{since}");
    assert_lines_well_formed(&log, "site");
}

/// After a graceful restart, an Apache child of the previous generation
/// still serves the keep-alive connection it holds; its requests reach the
/// new daemons (the socket keeps its path), which must accept the secret it
/// inherited: a socket keeps its secret for the parent's life. Prefork
/// only: the event MPM closes idle keep-alive connections on graceful.
#[test]
fn a_child_of_the_previous_generation_reaches_the_new_daemons() {
    let server = start(
        Mpm::Prefork,
        "daemon-secret-graceful",
        "processes=1 threads=2",
        "",
    );
    let old_daemon = wait_for_daemons(&server, "site", 1)[0];
    let mut connection = server.connect();
    connection
        .write_all(&simple_request("GET", "/app/pid", true))
        .unwrap();
    let r = read_response(&mut connection);
    assert_eq!((r.status, r.text()), (200, old_daemon.to_string()));

    let mark = server.log_mark();
    server.signal("graceful");
    let new_daemon = wait_until(WAIT, "a new daemon after graceful", || {
        daemon_pids(&server, "site")
            .into_iter()
            .find(|pid| *pid != old_daemon)
    });
    // The next request on the same connection: the old child serves it.
    connection
        .write_all(&simple_request("GET", "/app/pid", true))
        .unwrap();
    let r = read_response(&mut connection);
    let log = server.error_log();
    assert_eq!(
        (r.status, r.text()),
        (200, new_daemon.to_string()),
        "{}",
        &log[mark..]
    );
    assert_eq!(count(&log[mark..], "WSGIRS0331"), 0, "{}", &log[mark..]);
    drop(connection);
    assert_eq!(get_pid(&server), new_daemon);
}

under_event_and_prefork!(a_foreign_process_of_apaches_user_gets_nothing_run);
