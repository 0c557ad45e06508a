//! The examples under examples/, each served by a real Apache the way its
//! README says, and `scripts/dev.sh serve`:
//!
//! - Flask and Django through the express runner, with the command their
//!   README gives (read from it), run from a copy of the checkout's
//!   python/ as `python3 -m mod_wsgi_rs.express`, on a free loopback port;
//! - the multi-application configuration included into an Apache with
//!   only its `Define EXAMPLES` line pointed at a copy of examples/;
//! - `scripts/dev.sh serve` with no script (the bundled example), with
//!   one, and with a missing one; and apache-conf/example/serve.sh (the
//!   bundled example's plain httpd.conf). Each on a free port (PORT),
//!   stopped by the pid the test spawned (each execs down to Apache's
//!   parent).
//!
//! The frameworks are Debian's python3-flask and python3-django (scripts/
//! dev.sh installs them); without them a test skips with a note.

mod common;
mod foreground_support;
use common::*;
use foreground_support::*;

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

/// A copy of the repository's examples/ in the stage's `checkout/`, which
/// Apache's worker user can read (a checkout under /root is not).
fn copy_examples(stage: &Stage) -> String {
    let to = stage.path("checkout/examples");
    copy_tree(&repo_dir().join("examples"), &to);
    stage.make_readable();
    to.display().to_string()
}

/// The value of `"key":` in a flat JSON object, unquoted (the examples'
/// /where views answer one; Flask writes it compact, Django spaced).
fn json_field(text: &str, key: &str) -> String {
    let at = text
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no {key:?} in {text}"));
    let rest = text[at + key.len() + 3..].trim_start();
    if let Some(quoted) = rest.strip_prefix('"') {
        quoted[..quoted.find('"').unwrap()].to_owned()
    } else {
        rest[..rest.find([',', '}']).unwrap()].trim().to_owned()
    }
}

fn assert_log_clean(server: &Server) {
    let log = server.error_log();
    assert_no_crash(&log);
    for bad in ["Traceback", "[wsgi:error]"] {
        assert!(!log.contains(bad), "error log mentions {bad:?}:\n{log}");
    }
}

/// examples/multi-app/apps.conf with its EXAMPLES pointed at `examples`.
fn apps_conf(examples: &str) -> String {
    let conf = std::fs::read_to_string(repo_dir().join("examples/multi-app/apps.conf")).unwrap();
    let define = conf
        .lines()
        .find(|l| l.starts_with("Define EXAMPLES "))
        .expect("apps.conf's Define EXAMPLES line");
    conf.replace(define, &format!("Define EXAMPLES {examples}"))
}

fn multi_app(mpm: Mpm) {
    if !has_python_module("flask") || !has_python_module("django") {
        return;
    }
    let stage = Stage::new("example-multi-app");
    let examples = copy_examples(&stage);
    let conf = stage.write("apps.conf", &apps_conf(&examples));
    let mut config = Config::new(mpm, &format!("Include {}\n", conf.display()));
    config.preamble = format!(
        "LoadModule alias_module {}/mod_alias.so\n",
        apache_modules_dir().display()
    );
    let server = Server::start(stage, &config);

    let page = get_ok(&server, "/flask/?name=Ada").text();
    assert!(page.contains("<h1>Hello, Ada!</h1>"), "{page}");
    assert!(page.contains("href=\"/flask/where\""), "{page}");
    let flask = get_ok(&server, "/flask/where").text();
    assert_eq!(json_field(&flask, "framework"), "flask");
    assert_eq!(json_field(&flask, "process_group"), "flask");
    assert_eq!(json_field(&flask, "application_group"), "");
    assert_eq!(json_field(&flask, "script_name"), "/flask");

    // Django puts the mount point before its URLs and its STATIC_URL.
    let page = get_ok(&server, "/django/?name=Ada").text();
    assert!(page.contains("<h1>Hello, Ada!</h1>"), "{page}");
    assert!(page.contains("href=\"/django/static/site.css\""), "{page}");
    assert!(page.contains("href=\"/django/where/\""), "{page}");
    let django = get_ok(&server, "/django/where/").text();
    assert_eq!(json_field(&django, "framework"), "django");
    assert_eq!(json_field(&django, "process_group"), "django");
    assert_eq!(json_field(&django, "script_name"), "/django");
    let css = get_ok(&server, "/django/static/site.css");
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert!(css.text().contains("font-family"), "{}", css.text());
    // Only what apps.conf grants is served.
    assert_eq!(
        server.get("/django/static/../mysite/settings.py").status,
        404
    );

    // Two process groups: two sets of processes.
    assert_ne!(json_field(&flask, "pid"), json_field(&django, "pid"));

    // One script in two application groups of one process: two
    // interpreters, each with its own count.
    for n in 1..=3 {
        let a = key_values(&server.get("/a"));
        assert_eq!(fact(&a, "process_group"), "counters");
        assert_eq!(fact(&a, "application_group"), "a");
        assert_eq!(fact(&a, "requests"), n.to_string());
    }
    let a = key_values(&server.get("/a"));
    let b = key_values(&server.get("/b"));
    assert_eq!(fact(&b, "application_group"), "b");
    assert_eq!(fact(&b, "requests"), "1");
    assert_eq!(fact(&a, "pid"), fact(&b, "pid"));
    assert_log_clean(&server);
}

under_event_and_prefork!(multi_app);

/// The `mod_wsgi_rs-express ...` command the example's README gives.
fn readme_command(example: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(repo_dir().join(format!("examples/{example}/README.md"))).unwrap();
    let command = readme
        .split('`')
        .find(|span| span.starts_with("mod_wsgi_rs-express start-server "))
        .unwrap_or_else(|| panic!("no start-server command in {example}'s README:\n{readme}"));
    command
        .split_whitespace()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

/// The example served by `python3 -m mod_wsgi_rs.express` with its
/// README's arguments, from a stage that holds a copy of the checkout's
/// examples/ (so that its relative paths hold).
fn express_example(stage: &Stage, example: &str) -> Foreground {
    copy_examples(stage);
    let args = readme_command(example);
    Foreground::start(stage, |port| {
        let mut command = Command::new("/usr/bin/python3");
        command
            .args(["-m", "mod_wsgi_rs.express"])
            .args(&args)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--server-root")
            .arg(stage.path("server"))
            .args(run_as());
        runner_env(&mut command, stage);
        command
    })
}

#[test]
fn flask_example_through_the_express_runner() {
    if !has_python_module("flask") {
        return;
    }
    let stage = Stage::new("example-flask");
    let server = express_example(&stage, "flask");
    let page = server.get_ok("/?name=Ada").text();
    assert!(page.contains("<h1>Hello, Ada!</h1>"), "{page}");
    let facts = server.get_ok("/where").text();
    assert_eq!(json_field(&facts, "framework"), "flask");
    assert_eq!(json_field(&facts, "script_name"), "");
    // Daemon mode, the runner's default: a process group of its own.
    assert_eq!(
        json_field(&facts, "process_group"),
        format!("127.0.0.1:{}", server.port)
    );
    assert_eq!(server.request("GET", "/missing", b"").status, 404);
}

#[test]
fn django_example_through_the_express_runner() {
    if !has_python_module("django") {
        return;
    }
    let stage = Stage::new("example-django");
    let server = express_example(&stage, "django");
    let page = server.get_ok("/?name=Ada").text();
    assert!(page.contains("<h1>Hello, Ada!</h1>"), "{page}");
    assert!(page.contains("href=\"/static/site.css\""), "{page}");
    let facts = server.get_ok("/where/").text();
    assert_eq!(json_field(&facts, "framework"), "django");
    assert_eq!(
        json_field(&facts, "process_group"),
        format!("127.0.0.1:{}", server.port)
    );
    // --url-alias: Apache serves STATIC_ROOT.
    let css = server.get_ok("/static/site.css");
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    // DEBUG is off: a Host outside ALLOWED_HOSTS gets Django's 400.
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    std::io::Write::write_all(
        &mut s,
        &raw_request("GET", "/", &[("Host", b"evil.example")], b"", false),
    )
    .unwrap();
    assert_eq!(read_response(&mut s).status, 400);
}

/// `scripts/dev.sh serve ARGS` from `dir`, with the stage's module (so it
/// does not build) and its files under the stage (TMPDIR).
fn dev_sh_serve(stage: &Stage, dir: &Path, args: &[&str]) -> Foreground {
    Foreground::start(stage, |port| {
        let mut command = Command::new(repo_dir().join("scripts/dev.sh"));
        command
            .arg("serve")
            .args(args)
            .env("PORT", port.to_string())
            .env("TMPDIR", &stage.dir)
            .env("MOD_WSGI_RS_MODULE", stage.path("mod_wsgi_rs.so"))
            .current_dir(dir);
        command
    })
}

#[test]
fn dev_sh_serve_serves_the_bundled_example() {
    let stage = Stage::new("dev-serve");
    let server = dev_sh_serve(&stage, &repo_dir(), &[]);
    let page = server.get_ok("/").text();
    assert!(page.contains("Hello from mod_wsgi_rs!"), "{page}");
    assert!(page.contains("(/usr/bin/python3"), "{page}");
    let echo = server.request("POST", "/echo", b"ping");
    assert_eq!(echo.status, 200, "{}", server.output());
    assert_eq!(echo.body, b"ping");
    assert!(
        server.output().contains("Server URL"),
        "{}",
        server.output()
    );
}

#[test]
fn dev_sh_serve_serves_the_script_it_is_given() {
    if !has_python_module("flask") {
        return;
    }
    let stage = Stage::new("dev-serve-script");
    copy_examples(&stage);
    // A path relative to where the command is typed.
    let server = dev_sh_serve(
        &stage,
        &stage.path("checkout"),
        &["examples/flask/app.wsgi"],
    );
    let page = server.get_ok("/?name=Ada").text();
    assert!(page.contains("<h1>Hello, Ada!</h1>"), "{page}");
}

#[test]
fn dev_sh_serve_names_a_missing_script() {
    let stage = Stage::new("dev-serve-missing");
    let out = Command::new(repo_dir().join("scripts/dev.sh"))
        .args(["serve", "nowhere/app.wsgi"])
        .env("TMPDIR", &stage.dir)
        .env("MOD_WSGI_RS_MODULE", stage.path("mod_wsgi_rs.so"))
        .current_dir(&stage.dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let missing = stage.path("nowhere/app.wsgi");
    assert!(
        stderr.contains(&format!("no such WSGI script: {}", missing.display())),
        "{stderr}"
    );
}

/// apache-conf/example/serve.sh: the bundled example with its plain
/// embedded-mode httpd.conf, as a terminal runs it (leading its own
/// process group), stopped by the pid it started as.
#[test]
fn the_example_httpd_conf_serves_through_serve_sh() {
    let stage = Stage::new("example-serve-sh");
    let server = Foreground::start(&stage, |port| {
        let mut command = Command::new(repo_dir().join("apache-conf/example/serve.sh"));
        command
            .env("PORT", port.to_string())
            .env("TMPDIR", &stage.dir)
            .env("MOD_WSGI_RS_MODULE", stage.path("mod_wsgi_rs.so"));
        command
    });
    let page = server.get_ok("/").text();
    assert!(page.contains("Hello from mod_wsgi_rs!"), "{page}");
    let echo = server.request("POST", "/echo", b"pong");
    assert_eq!(echo.body, b"pong");
    let pidfile = stage.path(&format!("mod_wsgi_rs-example-{}/httpd.pid", server.port));
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert_eq!(pid.trim(), server.child.id().to_string());
}

#[test]
fn json_fields_are_read_compact_or_spaced() {
    let text = r#"{"a": "x", "n":12,"s":""}"#;
    assert_eq!(json_field(text, "a"), "x");
    assert_eq!(json_field(text, "n"), "12");
    assert_eq!(json_field(text, "s"), "");
}

#[test]
fn each_example_has_a_readme_of_three_lines() {
    for example in ["flask", "django", "multi-app"] {
        let readme = repo_dir().join(format!("examples/{example}/README.md"));
        let text = std::fs::read_to_string(&readme).unwrap();
        assert_eq!(text.lines().count(), 3, "{}", readme.display());
    }
}
