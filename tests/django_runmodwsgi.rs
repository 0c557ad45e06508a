//! `python3 manage.py runmodwsgi` (the Django app `mod_wsgi_rs.server`,
//! python/mod_wsgi_rs/server) on a real Django project (Debian's
//! python3-django, `django-admin startproject`), as a user runs it: the
//! package from a copy of python/ in the stage (PYTHONPATH), the module the
//! harness copies (MOD_WSGI_RS_MODULE). It serves the project's admin
//! login page from WSGI_APPLICATION in a daemon process, and the admin's
//! static files (collectstatic into STATIC_ROOT) at STATIC_URL; it stops
//! cleanly on SIGTERM. runmodwsgi exec's the runner, which exec's Apache:
//! the pid the test spawns is Apache's parent, stopped by a Drop guard even
//! when the test fails.

mod apps_support;
mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use apps_support::*;
use common::*;

/// What the project's settings get besides startproject's.
const SETTINGS_TAIL: &str = "
INSTALLED_APPS += ['mod_wsgi_rs.server']
STATIC_ROOT = BASE_DIR / 'collected'
ALLOWED_HOSTS = ['127.0.0.1']
";

/// `/usr/bin/python3 manage.py ARGS` in the project, as a user runs it.
fn manage(stage: &Stage, args: &[&str]) -> Command {
    let mut command = python(stage, &stage.path("project"), &["manage.py"]);
    command.args(args);
    command
}

fn output(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().expect("python3 runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A stage with the package under python/ and a Django project (mysite)
/// under project/, its static files collected.
fn project(name: &str) -> Stage {
    let stage = Stage::new(name);
    stage_python_package(&stage);
    std::fs::create_dir_all(stage.path("project")).unwrap();
    let out = output(
        Command::new("/usr/bin/python3")
            .args(["-m", "django", "startproject", "mysite", "."])
            .current_dir(stage.path("project")),
    );
    assert!(out.status.success(), "startproject: {}", text(&out));
    let settings = stage.path("project/mysite/settings.py");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(settings)
        .unwrap();
    file.write_all(SETTINGS_TAIL.as_bytes()).unwrap();
    let out = output(&mut manage(&stage, &["collectstatic", "--noinput"]));
    assert!(out.status.success(), "collectstatic: {}", text(&out));
    stage.make_readable();
    stage
}

#[test]
fn serves_the_admin_and_its_static_files_and_stops_cleanly() {
    if !has_python_module("django") {
        return;
    }
    let stage = project("django-runmodwsgi");
    let port = free_port();
    let mut command = manage(&stage, &["runmodwsgi"]);
    command.args(runner_args(&stage, port));
    let mut running = Running::start(stage, command, port);
    let login = running.get_ok("/admin/login/");
    let page = login.text();
    assert!(
        page.contains("<title>Log in | Django site admin</title>"),
        "{page}"
    );
    assert!(page.contains("/static/admin/css/base.css"), "{page}");
    // The page came from the daemon process (the runner's default).
    let conf = std::fs::read_to_string(running.stage().path("root/httpd.conf")).unwrap();
    assert!(conf.contains("WSGIDaemonProcess"), "{conf}");

    let css = running.get_ok("/static/admin/css/base.css");
    let collected =
        std::fs::read(running.stage().path("project/collected/admin/css/base.css")).unwrap();
    assert_eq!(css.body, collected);
    assert_eq!(css.header("Content-Type"), Some("text/css"));
    assert_eq!(running.get("/static/admin/css/missing.css").status, 404);
    // Django answers what Django routes: no page at /.
    assert_eq!(running.get("/nothing-here/").status, 404);

    let status = running.stop();
    assert!(status.success(), "{status:?}\n{}", running.output());
    let log = running.error_log();
    assert!(log.contains("caught SIGTERM, shutting down"), "{log}");
    assert_no_crash(&log);
}

#[test]
fn setup_only_writes_the_server_root_from_the_settings() {
    if !has_python_module("django") {
        return;
    }
    let stage = project("django-setup-only");
    let root = stage.path("root");
    let mut args = runner_args(&stage, free_port());
    args.extend(["--setup-only", "--url-alias", "/media", "/srv/media"].map(str::to_owned));
    let out = output(manage(&stage, &["runmodwsgi"]).args(&args));
    assert!(out.status.success(), "{}", text(&out));
    let handler = std::fs::read_to_string(root.join("handler.wsgi")).unwrap();
    assert!(
        handler.contains("'application_type': 'module'"),
        "{handler}"
    );
    assert!(
        handler.contains("'entry_point': 'mysite.wsgi'"),
        "{handler}"
    );
    assert!(
        handler.contains("'callable_object': 'application'"),
        "{handler}"
    );
    let project_dir = stage.path("project");
    assert!(
        handler.contains(&format!("'working_directory': '{}'", project_dir.display())),
        "{handler}"
    );
    let conf = std::fs::read_to_string(root.join("httpd.conf")).unwrap();
    // STATIC_URL first, the user's alias after it.
    let statics = conf
        .find(&format!(
            "Alias '/static' '{}'",
            project_dir.join("collected").display()
        ))
        .unwrap_or_else(|| panic!("no static alias in:\n{conf}"));
    let media = conf
        .find("Alias '/media' '/srv/media'")
        .expect("the user's alias");
    assert!(statics < media);
    // Nothing was started.
    assert!(!root.join("httpd.pid").exists());
}

/// mod_wsgi 6.1.1 has the command in `mod_wsgi.express` too (and
/// deprecates `mod_wsgi.server`): `mod_wsgi_rs.express` in INSTALLED_APPS
/// gives the same command.
#[test]
fn the_command_is_in_mod_wsgi_rs_express_too() {
    if !has_python_module("django") {
        return;
    }
    let stage = project("django-express-app");
    stage.write(
        "project/mysite/settings_express.py",
        "from .settings import *\n\
         INSTALLED_APPS = [a for a in INSTALLED_APPS if a != 'mod_wsgi_rs.server'] + ['mod_wsgi_rs.express']\n",
    );
    let mut args = runner_args(&stage, free_port());
    args.extend(["--settings", "mysite.settings_express", "--setup-only"].map(str::to_owned));
    let out = output(manage(&stage, &["runmodwsgi"]).args(&args));
    assert!(out.status.success(), "{}", text(&out));
    let handler = std::fs::read_to_string(stage.path("root/handler.wsgi")).unwrap();
    assert!(
        handler.contains("'entry_point': 'mysite.wsgi'"),
        "{handler}"
    );
    // Without either app, Django has no such command.
    stage.write(
        "project/mysite/settings_none.py",
        "from .settings import *\n\
         INSTALLED_APPS = [a for a in INSTALLED_APPS if a != 'mod_wsgi_rs.server']\n",
    );
    let out = output(&mut manage(
        &stage,
        &["runmodwsgi", "--settings", "mysite.settings_none"],
    ));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("Unknown command: 'runmodwsgi'"),
        "{}",
        text(&out)
    );
}

#[test]
fn settings_without_wsgi_application_fail_with_what_to_set() {
    if !has_python_module("django") {
        return;
    }
    let stage = project("django-no-wsgi-app");
    stage.write(
        "project/mysite/settings_broken.py",
        "from .settings import *\nWSGI_APPLICATION = None\n",
    );
    let mut args = runner_args(&stage, free_port());
    args.extend(["--settings", "mysite.settings_broken", "--setup-only"].map(str::to_owned));
    let out = output(manage(&stage, &["runmodwsgi"]).args(&args));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "CommandError: settings.WSGI_APPLICATION is not set: set it to the dotted path"
        ),
        "{}",
        text(&out)
    );
    assert!(!stage.path("root/httpd.conf").exists());
}

#[test]
fn a_bad_runner_option_is_the_runner_s_error() {
    if !has_python_module("django") {
        return;
    }
    let stage = project("django-bad-option");
    let out = output(&mut manage(
        &stage,
        &["runmodwsgi", "--processes", "0", "--setup-only"],
    ));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("mod_wsgi_rs-express: error: argument --processes: must be at least 1"),
        "{}",
        text(&out)
    );
}
