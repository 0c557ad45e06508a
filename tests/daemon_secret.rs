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

use common::*;
use daemon_support::*;

/// tests/apps/daemon_client.py run as Apache's user (www-data when the
/// tests run as root, else the tests' own user, which Apache then runs as),
/// offering `proof` (hex) as the group's secret; returns the line it printed.
fn foreign_client(server: &Server, socket: &std::path::Path, script: &str, proof: &str) -> String {
    let user = is_root().then_some("www-data");
    let mut args = vec![
        socket.as_os_str(),
        script.as_ref(),
        "/probe".as_ref(),
        "".as_ref(),
    ];
    if !proof.is_empty() {
        args.push(proof.as_ref());
    }
    daemon_client(server, user, &args)
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
/// still serves the keep-alive connection it holds. With
/// `WSGISocketRotation Off` (as mod_wsgi-express configures it) its
/// requests reach the new daemons (the socket keeps its path), which must
/// accept the secret it inherited: a socket keeps its secret for the
/// parent's life. Prefork only: the event MPM closes idle keep-alive
/// connections on graceful.
#[test]
fn a_child_of_the_previous_generation_reaches_the_new_daemons() {
    let server = start(
        Mpm::Prefork,
        "daemon-secret-graceful",
        "processes=1 threads=2",
        "WSGISocketRotation Off\n",
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

/// Whether `needle` is anywhere in the readable memory of process `pid`.
fn memory_contains(pid: i32, needle: &[u8]) -> bool {
    use std::os::unix::fs::FileExt;
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !perms.starts_with('r') || line.ends_with("[vvar]") || line.ends_with("[vvar_vclock]") {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let (start, end) = (
            u64::from_str_radix(start, 16).unwrap(),
            u64::from_str_radix(end, 16).unwrap(),
        );
        let mut at = start;
        while at < end {
            let want = ((end - at) as usize).min(buf.len());
            let Ok(n) = mem.read_at(&mut buf[..want], at) else {
                break;
            };
            if n == 0 {
                break;
            }
            if buf[..n].windows(needle.len()).any(|w| w == needle) {
                return true;
            }
            // Overlap by the needle's length less one, so nothing straddling
            // two reads is missed.
            at += (n as u64).saturating_sub(needle.len() as u64 - 1).max(1);
        }
    }
    false
}

/// What an Apache child proves on a new connection to `group`: caught by
/// putting a listener of the test's own in place of the group's socket for
/// one request (which then fails), then putting the socket back.
fn capture_proof(server: &Server, group: &str) -> Vec<u8> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(server, group);
    let real = path.with_extension("real");
    std::fs::rename(&path, &real).unwrap();
    let fake = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let proof = std::thread::scope(|s| {
        let request = s.spawn(|| server.get(&format!("/{group}/pid")).status);
        let (mut conn, _) = fake.accept().unwrap();
        conn.set_read_timeout(Some(WAIT)).unwrap();
        let mut head = [0u8; 5];
        conn.read_exact(&mut head).unwrap();
        assert_eq!(head[0], 1, "a Hello frame");
        let mut payload = vec![0u8; u32::from_le_bytes(head[1..5].try_into().unwrap()) as usize];
        conn.read_exact(&mut payload).unwrap();
        drop(conn);
        assert_ne!(request.join().unwrap(), 200);
        // magic (length-prefixed), version u16, pid u32, then the proof.
        let magic = u32::from_le_bytes(payload[..4].try_into().unwrap()) as usize;
        let at = 4 + magic + 2 + 4;
        let len = u32::from_le_bytes(payload[at..at + 4].try_into().unwrap()) as usize;
        payload[at + 4..at + 4 + len].to_vec()
    });
    drop(fake);
    std::fs::rename(&real, &path).unwrap();
    proof
}

/// Each daemon wipes the other groups' secrets right after the fork, so an
/// application running in one group cannot find them in its memory and
/// reach the other groups' daemons (as mod_wsgi's daemons wipe the other
/// groups' random numbers). Apache's children keep them all.
#[test]
fn a_daemon_forgets_the_other_groups_secrets() {
    if !is_root() {
        eprintln!("skipped: needs root to read other processes' memory");
        return;
    }
    let server = Server::start(
        Stage::new("daemon-secret-wipe"),
        &Config::new(
            Mpm::Event,
            "WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess a display-name=%{GROUP} processes=1 threads=1\n\
             WSGIDaemonProcess b display-name=%{GROUP} processes=1 threads=1\n\
             WSGIScriptAlias /a @STAGE@/apps/daemon_app.wsgi process-group=a\n\
             WSGIScriptAlias /b @STAGE@/apps/daemon_app.wsgi process-group=b\n",
        ),
    );
    let a = wait_for_daemons(&server, "a", 1)[0];
    let b = wait_for_daemons(&server, "b", 1)[0];
    assert_eq!(served_pid(&server, "/a/pid"), a);
    let proof = capture_proof(&server, "b");
    assert_eq!(proof.len(), 32);
    assert!(memory_contains(b, &proof), "daemon b lost its own secret");
    assert!(
        apache_children(&server)
            .into_iter()
            .any(|child| memory_contains(child, &proof)),
        "no Apache child holds b's secret"
    );
    assert!(!memory_contains(a, &proof), "daemon a holds b's secret");
    // With its socket back, b serves again.
    assert_eq!(served_pid(&server, "/b/pid"), b);
}
