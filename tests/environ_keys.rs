//! mod_wsgi 6's own environ keys through a real Apache, embedded and in a
//! daemon: the request's timestamps (which APM agents subtract to get the
//! queue time), the request id, the Apache child's pid, the listener, the
//! thread number, SCRIPT_NAME/PATH_INFO as routed; and `HTTPS`, which is
//! never passed on: `wsgi.url_scheme` carries it, from mod_ssl or SetEnv.
//! Every expectation here holds for mod_wsgi 6.1.1 as well (run with
//! MOD_WSGI_RS_SO set to its module to compare).

mod common;
mod req_support;

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use req_support::*;

const CONFIG: &str = "\
WSGIDaemonProcess keys threads=2
WSGIScriptAlias /embedded @STAGE@/apps/env_keys.wsgi
WSGIScriptAlias /daemon @STAGE@/apps/env_keys.wsgi process-group=keys
<LocationMatch ^/[a-z]+/https-on>
  SetEnv HTTPS on
</LocationMatch>
<LocationMatch ^/[a-z]+/https-one>
  SetEnv HTTPS 1
</LocationMatch>
<LocationMatch ^/[a-z]+/https-off>
  SetEnv HTTPS off
</LocationMatch>
";

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn float(env: &Environ, key: &str) -> f64 {
    assert_eq!(env.get(&format!("{key}:type")), "float", "{key}");
    env.get(key)
        .parse()
        .unwrap_or_else(|e| panic!("{key}={}: {e}", env.get(key)))
}

fn unquoted<'a>(env: &'a Environ, key: &str) -> &'a str {
    assert_eq!(env.get(&format!("{key}:type")), "str", "{key}");
    env.get(key).trim_matches('\'')
}

/// The parent pid of `pid`, from /proc.
fn parent_of(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command may contain spaces: fields after its closing parenthesis.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    rest.split(' ').nth(1).unwrap().parse().unwrap()
}

fn keys_of(server: &Server, path: &str) -> (Environ, f64, f64) {
    let before = now();
    let response = server.get(path);
    let after = now();
    assert_eq!(
        response.status,
        200,
        "GET {path}: {}\n{}",
        response.text(),
        server.error_log()
    );
    (Environ::parse(&response), before, after)
}

/// The keys every request has, whatever the mode.
fn check_common(server: &Server, mpm: Mpm, env: &Environ, before: f64, after: f64, daemon: bool) {
    let request_start = float(env, "mod_wsgi.request_start");
    let queue_start = float(env, "mod_wsgi.queue_start");
    let daemon_start = float(env, "mod_wsgi.daemon_start");
    let application_start = float(env, "mod_wsgi.application_start");
    // Apache stamps the request in whole microseconds, after our `before`
    // (allow a millisecond for the clocks' rounding).
    assert!(
        before - 0.001 <= request_start && application_start <= after,
        "{before} {request_start} {application_start} {after}"
    );
    if daemon {
        assert!(
            request_start <= queue_start
                && queue_start <= daemon_start
                && daemon_start <= application_start,
            "{env:#?}"
        );
    } else {
        assert_eq!((queue_start, daemon_start), (0.0, 0.0), "{env:#?}");
        assert!(request_start <= application_start, "{env:#?}");
    }

    // 0 is the thread that started Python: in a prefork child it serves
    // the requests; the threads of the event MPM and of a daemon count from 1.
    assert_eq!(env.get("mod_wsgi.thread_id:type"), "int");
    let thread_id: u64 = env.get("mod_wsgi.thread_id").parse().unwrap();
    let threads = if daemon { 1..=2 } else { 1..=8 };
    if mpm == Mpm::Prefork && !daemon {
        assert_eq!(thread_id, 0, "{env:#?}");
    } else {
        assert!(threads.contains(&thread_id), "{env:#?}");
    }

    // The Apache child that took the request: this process in embedded
    // mode, and a child of Apache's parent (not the daemon) otherwise.
    let server_pid: i32 = unquoted(env, "mod_wsgi.server_pid").parse().unwrap();
    let pid: i32 = env.get("__pid__").parse().unwrap();
    if daemon {
        assert_ne!(server_pid, pid, "{env:#?}");
    } else {
        assert_eq!(server_pid, pid, "{env:#?}");
    }
    assert_eq!(parent_of(server_pid), server.pid, "{env:#?}");

    assert_eq!(unquoted(env, "mod_wsgi.listener_host"), "127.0.0.1");
    assert_eq!(
        unquoted(env, "mod_wsgi.listener_port"),
        server.port.to_string()
    );
    assert_eq!(unquoted(env, "mod_wsgi.request_handler"), "wsgi-script");
    assert_eq!(unquoted(env, "mod_wsgi.handler_script"), "");
    assert!(!env.has("HTTPS"), "{env:#?}");
}

fn mod_wsgi_keys(mpm: Mpm) {
    let m = apache_modules_dir();
    let mut config = Config::new(mpm, CONFIG);
    config.preamble = format!(
        "LoadModule env_module {m}/mod_env.so\nLoadModule unique_id_module {m}/mod_unique_id.so\n",
        m = m.display()
    );
    let server = Server::start(Stage::new("env-keys"), &config);
    for (mode, daemon) in [("embedded", false), ("daemon", true)] {
        let (env, before, after) = keys_of(&server, &format!("/{mode}//x///y"));
        check_common(&server, mpm, &env, before, after, daemon);
        // The values as routed, doubled slashes collapsed.
        assert_eq!(unquoted(&env, "mod_wsgi.script_name"), format!("/{mode}"));
        assert_eq!(unquoted(&env, "mod_wsgi.path_info"), "/x/y");
        env.assert_str("SCRIPT_NAME", &format!("/{mode}"));
        env.assert_str("PATH_INFO", "/x/y");
        env.assert_str("wsgi.url_scheme", "http");
        // Nothing logged about the connection, so it has no log id to pass
        // on (as in mod_wsgi).
        assert!(!env.has("mod_wsgi.connection_id"), "{env:#?}");
        // The request's log id: mod_unique_id's, when it is loaded.
        let id = unquoted(&env, "mod_wsgi.request_id").to_owned();
        assert_eq!(id, unquoted(&env, "UNIQUE_ID"), "{env:#?}");
        let (again, before, after) = keys_of(&server, &format!("/{mode}/x"));
        check_common(&server, mpm, &again, before, after, daemon);
        assert_ne!(unquoted(&again, "mod_wsgi.request_id"), id);

        // HTTPS "on" or "1" (as a proxy in front sets it) makes the scheme
        // https; any other value http. The variable itself never arrives.
        for (path, scheme) in [
            ("https-on", "https"),
            ("https-one", "https"),
            ("https-off", "http"),
        ] {
            let (env, before, after) = keys_of(&server, &format!("/{mode}/{path}"));
            check_common(&server, mpm, &env, before, after, daemon);
            env.assert_str("wsgi.url_scheme", scheme);
        }
    }
    assert_id_lines_well_formed(&server.error_log());
}

under_event_and_prefork!(mod_wsgi_keys);

/// A real TLS request (mod_ssl, a throw-away certificate, curl): the scheme
/// is https, `HTTPS` is gone, and without mod_unique_id the request id is
/// Apache's own (11 characters of base64).
#[test]
fn https_is_the_url_scheme() {
    let stage = Stage::new("env-https");
    let cert = stage.path("cert.pem");
    let key = stage.path("key.pem");
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (Debian package openssl)");
    assert!(made.status.success(), "{made:?}");
    let m = apache_modules_dir();
    let mut config = Config::new(
        Mpm::Event,
        &format!(
            "SSLEngine on\nSSLCertificateFile {}\nSSLCertificateKeyFile {}\n{CONFIG}",
            cert.display(),
            key.display()
        ),
    );
    config.preamble = format!(
        "LoadModule env_module {m}/mod_env.so\nLoadModule socache_shmcb_module {m}/mod_socache_shmcb.so\n\
         LoadModule ssl_module {m}/mod_ssl.so\n",
        m = m.display()
    );
    let server = Server::start(stage, &config);
    let mpm = Mpm::Event;
    for (mode, daemon) in [("embedded", false), ("daemon", true)] {
        let before = now();
        let out = Command::new("curl")
            .args(["-sS", "-k", "--max-time", "30"])
            .arg(format!("https://127.0.0.1:{}/{mode}/x", server.port))
            .output()
            .expect("curl (Debian package curl)");
        let after = now();
        assert!(out.status.success(), "{out:?}\n{}", server.error_log());
        let response = Response {
            status: 200,
            reason: "OK".into(),
            headers: Vec::new(),
            body: out.stdout,
            complete: true,
        };
        let env = Environ::parse(&response);
        check_common(&server, mpm, &env, before, after, daemon);
        env.assert_str("wsgi.url_scheme", "https");
        env.assert_str("REQUEST_SCHEME", "https");
        let base64 = |id: &str| {
            id.len() == 11
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        };
        let id = unquoted(&env, "mod_wsgi.request_id");
        assert!(base64(id), "{id}");
        // mod_ssl's connection log lines gave the connection an id.
        if env.has("mod_wsgi.connection_id") {
            let id = unquoted(&env, "mod_wsgi.connection_id");
            assert!(base64(id), "{id}");
        }
    }
}
