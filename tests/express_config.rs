//! The httpd.conf that mod_wsgi-express 6.1.1's `setup-server` generates
//! for a small application, with only its `LoadModule wsgi_module` line
//! changed, started (with the `-D` flags and variables its apachectl
//! passes) and served by a real Apache: many directives and daemon options
//! at once, as users' real configurations have them. Its handler.wsgi
//! imports `mod_wsgi.express.runtime` through the `mod_wsgi` package of
//! the venv (WSGIPythonHome), which needs the module's `__path__` copied
//! from that package; requests reach it through mod_rewrite's
//! `[H=wsgi-handler]` and `WSGIHandlerScript`, in the daemon group, after
//! `WSGIImportScript` loaded it at the daemon's start.

mod common;
mod daemon_support;

use std::process::Command;
use std::time::Duration;

use common::*;

/// mod_wsgi 6.1.1 built with its mod_wsgi-express, in a venv.
const EXPRESS: &str = "/opt/mod_wsgi_rs-bench/venv-mod_wsgi-6.1.1";
/// The port setup-server is told; each start replaces it by its own.
const PORT_MARK: &str = "48123";

/// Runs setup-server into the stage and returns the configuration Apache
/// is started with: setup-server's httpd.conf with only the LoadModule
/// line of wsgi_module changed, and its apachectl's `-D` flags and the
/// variables the file reads.
fn express_config(stage: &Stage, mpm: Mpm) -> Config {
    let root = stage.path("express");
    let mut setup = Command::new(format!("{EXPRESS}/bin/mod_wsgi-express"));
    setup
        .arg("setup-server")
        .arg(stage.path("apps/express_app.wsgi"))
        .arg("--server-root")
        .arg(&root)
        .args(["--port", PORT_MARK])
        .arg("--pid-file")
        .arg(stage.path("run/httpd.pid"))
        .arg("--log-directory")
        .arg(&stage.dir)
        .args(["--error-log-name", "error.log", "--log-level", "info"])
        .args(["--server-mpm", mpm.module()]);
    let user = if is_root() {
        "www-data".to_owned()
    } else {
        whoami()
    };
    if is_root() {
        setup.args(["--user", "www-data", "--group", "www-data"]);
    }
    let out = setup.output().expect("mod_wsgi-express runs");
    assert!(
        out.status.success(),
        "setup-server failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    stage.make_readable();
    let generated = std::fs::read_to_string(root.join("httpd.conf")).unwrap();
    let module = stage.path("mod_wsgi_rs.so");
    let mut replaced = 0;
    let conf: Vec<String> = generated
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("LoadModule wsgi_module ") {
                replaced += 1;
                format!("LoadModule wsgi_module '{}'", module.display())
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert_eq!(replaced, 1, "one LoadModule wsgi_module line:\n{generated}");
    let apachectl = std::fs::read_to_string(root.join("apachectl")).unwrap();
    let httpd_args = apachectl
        .lines()
        .find_map(|l| l.strip_prefix("HTTPD_ARGS=\""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("HTTPD_ARGS in apachectl");
    let modules_dir = apachectl
        .lines()
        .find_map(|l| l.strip_prefix("MOD_WSGI_MODULES_DIRECTORY=\""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("MOD_WSGI_MODULES_DIRECTORY in apachectl");
    let mut config = Config::new(mpm, "");
    config.full = Some(conf.join("\n").replace(PORT_MARK, "@PORT@") + "\n");
    // apachectl's own "-f FILE" is the harness's; the rest are -D flags.
    config.args = httpd_args
        .split_whitespace()
        .skip_while(|w| *w != "-f")
        .skip(2)
        .map(str::to_owned)
        .collect();
    config.env = vec![
        ("MOD_WSGI_MODULES_DIRECTORY".into(), modules_dir.into()),
        ("MOD_WSGI_USER".into(), user.clone()),
        ("MOD_WSGI_GROUP".into(), user),
    ];
    config
}

fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn setup_server_conf_starts_and_serves(mpm: Mpm) {
    let stage = Stage::new("express");
    let config = express_config(&stage, mpm);
    assert!(
        config
            .args
            .iter()
            .any(|a| a == "-DMOD_WSGI_IMPORT_HANDLER_SCRIPT"),
        "{:?}",
        config.args
    );
    stage.write("express/htdocs/static.txt", "static file\n");
    let server = match Server::try_start(stage, &config) {
        Ok(server) => server,
        Err(e) => panic!("the mod_wsgi-express configuration did not start:\n{e}"),
    };
    let group = format!("localhost:{}", server.port);
    // WSGIImportScript: the daemon imported handler.wsgi before any request.
    let handler = format!("{}/express/handler.wsgi", server.stage().dir.display());
    server.wait_for_log(
        &format!("Loading WSGI script '{handler}'"),
        Duration::from_secs(15),
    );
    // The venv's mod_wsgi package lent its __path__ to the module.
    server.wait_for_log(
        "Imported existing 'mod_wsgi' Python extension module.",
        Duration::from_secs(15),
    );

    // Any URL without a file goes to the application, in the daemon group.
    let r = server.get("/some/path?x=1");
    let facts = key_values(&r);
    assert_eq!(fact(&facts, "process_group"), group);
    assert_eq!(fact(&facts, "handler"), "wsgi-handler");
    assert_eq!(fact(&facts, "express"), "true");
    assert_eq!(
        fact(&facts, "runtime"),
        "True",
        "mod_wsgi.express.runtime imported"
    );
    assert_eq!(fact(&facts, "mod_wsgi_path"), "True");
    assert_eq!(fact(&facts, "prefix"), EXPRESS);
    // ApplicationHandler mounts the application at '/'.
    assert_eq!(fact(&facts, "script_name"), "");
    assert_eq!(fact(&facts, "path_info"), "/some/path");
    let daemon: i32 = fact(&facts, "pid").parse().unwrap();
    assert!(
        daemon_support::comm(daemon).starts_with("(wsgi:localhost"),
        "pid {daemon} is the express daemon ({})",
        daemon_support::comm(daemon)
    );

    // A file under its document root is Apache's.
    let r = server.get("/static.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "static file\n");
    let log = server.error_log();
    assert!(!log.contains("WSGIRS0201"), "{log}");
    server.stop();
}

under_event_and_prefork!(setup_server_conf_starts_and_serves);
