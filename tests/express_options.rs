//! The options of `mod_wsgi_rs-express start-server` the issue lists, each
//! by its effect on a real Apache the command starts: content and
//! processes, logging, proxies, limits, application types, HTTPS and
//! virtual hosts, the MPM, embedded mode, and what happens when root does
//! not say which user to run as. (The command itself: tests/express_cli.rs.)

mod common;
mod express_support;

use std::time::{Duration, Instant};

use common::*;
use express_support::*;

fn path(stage: &Stage, rel: &str) -> String {
    stage.path(rel).display().to_string()
}

/// The facts application's callable under another name, adding its name
/// and a value from a module found only on --python-path.
const CONTENT_EXTRA: &str = r#"
import helper_on_path

def other(environ, start_response):
    body = b''.join(application(environ, lambda status, headers, exc=None: None))
    body += ('callable=other\nhelper=%s\n' % helper_on_path.VALUE).encode()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body]
"#;

#[test]
fn content_process_proxy_and_log_options_take_effect() {
    let stage = express_stage("express-content");
    stage.write(
        "site/content.wsgi",
        &format!("{FACTS_APP}\n{CONTENT_EXTRA}"),
    );
    stage.write("lib/helper_on_path.py", "VALUE = 'from --python-path'\n");
    stage.write("docs/page.txt", "a document\n");
    stage.write("assets/style.css", "body {}\n");
    stage.write("assets/robots.txt", "User-agent: *\n");
    stage.write("work/.keep", "");
    let script = path(&stage, "site/content.wsgi");
    let robots = path(&stage, "assets/robots.txt");
    let (lib, docs, assets, work) = (
        path(&stage, "lib"),
        path(&stage, "docs"),
        path(&stage, "assets"),
        path(&stage, "work"),
    );
    let server = Express::start(
        stage,
        &[
            &script,
            "--callable-object",
            "other",
            "--python-path",
            &lib,
            "--document-root",
            &docs,
            "--url-alias",
            "/static",
            &assets,
            "--url-alias",
            "/robots.txt",
            &robots,
            "--working-directory",
            &work,
            "--processes",
            "2",
            "--threads",
            "3",
            "--max-clients",
            "40",
            "--access-log",
            "--trust-proxy-header",
            "X-Forwarded-For",
            "--trust-proxy",
            "127.0.0.1",
            "--setenv",
            "EXPRESS_TEST",
            "set",
            "--reload-on-changes",
        ],
    );
    let facts = server.facts("/app/path");
    // --callable-object and --python-path.
    assert_eq!(fact(&facts, "callable"), "other");
    assert_eq!(fact(&facts, "helper"), "from --python-path");
    // --working-directory: the daemon's home, and its current directory.
    assert_eq!(fact(&facts, "cwd"), work);
    // --processes 2 --threads 3: two daemon processes, each multithreaded.
    assert_eq!(fact(&facts, "multiprocess"), "True");
    assert_eq!(fact(&facts, "multithread"), "True");
    let both = wait_until(Duration::from_secs(20), "two daemon processes", || {
        Some(daemons(&server)).filter(|d| d.len() == 2)
    });
    assert!(both.contains(&fact(&facts, "pid").parse().unwrap()));
    let out = server.stdout();
    assert!(
        out.contains("Request Capacity   : 6 (2 processes * 3 threads)"),
        "{out}"
    );
    // --max-clients: Apache's capacity, as mod_wsgi-express computes it
    // (event and worker round up to whole children of 13 threads).
    assert!(
        out.contains("Server Capacity    : 52 (event/worker), 40 (prefork)"),
        "{out}"
    );
    let conf = server.conf();
    assert!(conf.contains("MaxClients 40\n"), "{conf}");
    assert!(conf.contains("MaxClients 52\n"), "{conf}");
    assert!(conf.contains("ThreadsPerChild 13\n"), "{conf}");
    // --setenv reaches the environ; --reload-on-changes the reloader.
    assert_eq!(fact(&facts, "setenv"), "set");
    assert_eq!(fact(&facts, "reloader"), "true");

    // --document-root: its files are Apache's, the rest the application's.
    let r = server.get("/page.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "a document\n");
    // --url-alias: a directory at a sub URL.
    let r = server.get("/static/style.css");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "body {}\n");

    // --url-alias of a single file.
    let r = server.get("/robots.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "User-agent: *\n");

    // --trust-proxy-header with --trust-proxy: REMOTE_ADDR from the header.
    let r = server.request("GET", "/", &[("X-Forwarded-For", "203.0.113.9")]);
    assert_eq!(fact(&key_values(&r), "remote_addr"), "203.0.113.9");

    // --access-log: the requests in ROOT/access_log, in the common format.
    let log = server.root().join("access_log");
    let access = wait_until(Duration::from_secs(10), "the access log", || {
        std::fs::read_to_string(&log)
            .ok()
            .filter(|l| l.contains("\"GET /static/style.css HTTP/1.1\" 200"))
    });
    assert!(
        access.contains("\"GET /app/path HTTP/1.1\" 200"),
        "{access}"
    );
}

#[test]
fn mount_point_gives_the_application_its_script_name() {
    let stage = express_stage("express-mount");
    let script = path(&stage, "site/app.wsgi");
    let server = Express::start(stage, &[&script, "--mount-point", "/app"]);
    let facts = server.facts("/app/x/y");
    assert_eq!(fact(&facts, "script_name"), "/app");
    assert_eq!(fact(&facts, "path_info"), "/x/y");
}

#[test]
fn embedded_mode_prefork_terminal_and_startup_logs() {
    let stage = express_stage("express-embedded");
    let script = path(&stage, "site/app.wsgi");
    let server = Express::start(
        stage,
        &[
            &script,
            "--embedded-mode",
            "--server-mpm",
            "prefork",
            "--log-to-terminal",
            "--startup-log",
            "--log-level",
            "debug",
        ],
    );
    let facts = server.facts("/");
    // --embedded-mode: the application runs in Apache's own children.
    assert_eq!(fact(&facts, "process_group"), "");
    assert!(daemons(&server).is_empty());
    assert!(
        server.stdout().contains("Operating Mode     : embedded"),
        "{}",
        server.stdout()
    );
    // --log-to-terminal: the error log is the command's stderr (Apache's
    // ErrorLog /dev/stderr); --log-level debug lets debug lines through;
    // --server-mpm prefork chose the MPM.
    let err = wait_until(Duration::from_secs(10), "the error log on stderr", || {
        Some(server.stderr()).filter(|e| e.contains("resuming normal operations"))
    });
    assert!(err.contains("[mpm_prefork:notice]"), "{err}");
    assert!(err.contains(":debug]"), "{err}");
    assert!(!server.root().join("error_log").exists());
    // --startup-log to the terminal: Apache's -E /dev/stderr.
    assert!(server.conf().contains("LogLevel debug"));
    let apachectl = std::fs::read_to_string(server.root().join("apachectl")).unwrap();
    assert!(apachectl.contains("-E /dev/stderr"), "{apachectl}");
}

#[test]
fn startup_log_is_written_to_the_log_directory() {
    let stage = express_stage("express-startup-log");
    // A directive Apache refuses at start: what the startup log is for.
    stage.write("site/bad.conf", "NoSuchDirective on\n");
    let script = path(&stage, "site/app.wsgi");
    let bad = path(&stage, "site/bad.conf");
    let result = Express::try_start(stage, &[&script, "--startup-log", "--include-file", &bad]);
    let Err((output, stage)) = result else {
        panic!("Apache started with a bad include");
    };
    let log = std::fs::read_to_string(stage.path("root/startup_log")).unwrap_or_default();
    // Apache's start-up errors go to the startup log (-E), not stderr.
    assert!(
        log.contains("Invalid command 'NoSuchDirective'"),
        "{output}\n{log}"
    );
    assert!(!output.contains("Invalid command"), "{output}");
}

#[test]
fn maximum_requests_recycles_the_daemon() {
    let stage = express_stage("express-max-requests");
    let script = path(&stage, "site/app.wsgi");
    let server = Express::start(
        stage,
        &[&script, "--maximum-requests", "2", "--threads", "1"],
    );
    let first = fact(&server.facts("/"), "pid").to_owned();
    assert_eq!(fact(&server.facts("/"), "pid"), first);
    let next = wait_until(Duration::from_secs(20), "a new daemon", || {
        let pid = server.facts("/").get("pid").cloned()?;
        (pid != first).then_some(pid)
    });
    assert_ne!(next, first);
}

#[test]
fn restart_interval_restarts_the_daemon() {
    let stage = express_stage("express-restart-interval");
    let script = path(&stage, "site/app.wsgi");
    let server = Express::start(stage, &[&script, "--restart-interval", "1"]);
    let first = fact(&server.facts("/"), "pid").to_owned();
    let started = Instant::now();
    wait_until(Duration::from_secs(20), "a restarted daemon", || {
        let pid = server.facts("/").get("pid").cloned()?;
        (pid != first).then_some(())
    });
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn request_timeout_ends_a_stuck_request() {
    let stage = express_stage("express-request-timeout");
    stage.write(
        "site/spin.wsgi",
        "import time\n\ndef application(environ, start_response):\n    end = time.time() + 30\n    \
         while time.time() < end:\n        pass\n    start_response('200 OK', [])\n    return [b'done']\n",
    );
    let script = path(&stage, "site/spin.wsgi");
    let server = Express::start(
        stage,
        &[
            &script,
            "--request-timeout",
            "1",
            "--interrupt-timeout",
            "2",
            "--threads",
            "1",
        ],
    );
    let started = Instant::now();
    let r = server.get("/");
    assert_eq!(r.status, 504, "{}\n{}", r.text(), server.error_log());
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(server.stdout().contains("Request Timeout    : 1 (seconds)"));
}

#[test]
fn module_and_static_application_types() {
    let stage = express_stage("express-types");
    stage.write(
        "site/webapp.py",
        "def make(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
         return [b'from a module']\n",
    );
    let server = Express::start(
        stage,
        &[
            "--application-type",
            "module",
            "--entry-point",
            "webapp",
            "--callable-object",
            "make",
        ],
    );
    let r = server.get("/");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.text(), "from a module");
    drop(server);

    let stage = express_stage("express-static");
    stage.write("files/index.html", "<p>static</p>\n");
    let files = path(&stage, "files");
    let server = Express::start(stage, &["--application-type", "static", &files]);
    let r = server.get("/index.html");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "<p>static</p>\n");
    // No application behind a static site.
    assert_eq!(server.get("/missing").status, 404);
    assert!(!server.root().join("handler.wsgi").exists());
}

fn self_signed(stage: &Stage) -> (String, String) {
    let (crt, key) = (path(stage, "tls/server.crt"), path(stage, "tls/server.key"));
    std::fs::create_dir_all(stage.path("tls")).unwrap();
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=express.test", "-keyout", &key, "-out", &crt])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stage.make_readable();
    (crt, key)
}

#[test]
fn server_name_and_https_port() {
    let stage = express_stage("express-https");
    let (crt, key) = self_signed(&stage);
    let script = path(&stage, "site/app.wsgi");
    let https = free_port().to_string();
    let server = Express::start(
        stage,
        &[
            &script,
            "--server-name",
            "express.test",
            "--https-port",
            &https,
            "--ssl-certificate-file",
            &crt,
            "--ssl-certificate-key-file",
            &key,
        ],
    );
    // --server-name: a name-based virtual host; other names are refused.
    let r = server.request("GET", "/", &[("Host", "express.test")]);
    assert_eq!(fact(&key_values(&r), "scheme"), "http");
    assert_eq!(
        server.request("GET", "/", &[("Host", "other.test")]).status,
        403
    );
    assert_eq!(
        fact(
            &key_values(&server.request("GET", "/", &[("Host", "express.test")])),
            "server_name_env"
        ),
        "express.test"
    );
    // --https-port with the certificate and key: HTTPS for that name.
    let out = std::process::Command::new("curl")
        .args([
            "-sk",
            "--resolve",
            &format!("express.test:{https}:127.0.0.1"),
        ])
        .arg(format!("https://express.test:{https}/tls"))
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        body.contains("scheme=https"),
        "{body}\n{}",
        server.error_log()
    );
    assert!(body.contains("path_info=/tls"), "{body}");
    assert!(
        server.stdout().contains(&format!(
            "Server URL (HTTPS) : https://express.test:{https}/"
        )),
        "{}",
        server.stdout()
    );
}

#[test]
fn as_root_without_user_apache_refuses_to_run_as_root() {
    if !is_root() {
        eprintln!("not root: mod_wsgi-express's root rules do not apply");
        return;
    }
    let stage = express_stage("express-root");
    let script = path(&stage, "site/app.wsgi");
    let port = free_port();
    // As mod_wsgi-express: --user and --group default to the user running
    // the command, root here; apachectl warns, and Apache refuses.
    let root = path(&stage, "root");
    let port_text = port.to_string();
    let out = run(
        &stage,
        &[
            "start-server",
            &script,
            "--host",
            "127.0.0.1",
            "--port",
            &port_text,
            "--server-root",
            &root,
        ],
    );
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("WARNING: When running as the 'root' user, it is required that the options"),
        "{all}"
    );
    let conf = std::fs::read_to_string(stage.path("root/apachectl")).unwrap();
    assert!(
        conf.contains("WSGI_RUN_USER=\"${WSGI_RUN_USER:-root}\""),
        "{conf}"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn reload_on_changes_restarts_the_daemon_when_an_imported_module_changes() {
    let stage = express_stage("express-reload");
    stage.write("site/helper_mod.py", "VERSION = 'one'\n");
    stage.write(
        "site/reloading.wsgi",
        "import os\nimport helper_mod\n\ndef application(environ, start_response):\n    \
         start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
         return [('%s %d' % (helper_mod.VERSION, os.getpid())).encode()]\n",
    );
    let script = path(&stage, "site/reloading.wsgi");
    let server = Express::start(stage, &[&script, "--reload-on-changes"]);
    let first = server.get("/").text();
    assert!(first.starts_with("one "), "{first}\n{}", server.error_log());
    // A module other than the script changes (a newer mtime, whatever the
    // file system's granularity).
    let helper = server.stage().path("site/helper_mod.py");
    std::fs::write(&helper, "VERSION = 'two'\n").unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&helper)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let next = wait_until(Duration::from_secs(30), "the reloaded module", || {
        let r = server.get("/");
        (r.status == 200 && r.text().starts_with("two ")).then(|| r.text())
    });
    let pid = |t: &str| t.split(' ').nth(1).unwrap().to_owned();
    assert_ne!(pid(&next), pid(&first), "a new daemon process");
}

#[test]
fn daemon_mode_serves_under_the_prefork_and_worker_mpms() {
    for mpm in ["prefork", "worker"] {
        let stage = express_stage(&format!("express-{mpm}"));
        let script = path(&stage, "site/app.wsgi");
        let server = Express::start(stage, &[&script, "--server-mpm", mpm]);
        let facts = server.facts("/");
        assert_eq!(
            fact(&facts, "process_group"),
            format!("127.0.0.1:{}", server.port)
        );
        let log = server.error_log();
        assert!(log.contains(&format!("[mpm_{mpm}:notice]")), "{log}");
    }
}
