//! mod_wsgi_rs-express's application types through a real Apache: the
//! handler.wsgi that setup-server writes (PLAN4's handler interface,
//! `application_from_options({...})` of python/mod_wsgi_rs/express/
//! runtime.py), mounted as the runner mounts it (`WSGIScriptAlias` in a
//! daemon group, preloaded by `WSGIImportScript`), with the package copied
//! into the stage and on the daemon's python-path:
//!
//! - script, module (`pkg.mod` with `callable_object`, and `pkg.mod:name`),
//!   paste (a real PasteDeploy .ini, PasteDeploy from PyPI: scripts/
//!   pastedeploy.sh, which scripts/dev.sh test runs);
//! - a bad entry point: 500, and one line in the error log that says what
//!   is wrong and what to do;
//! - `reload_on_changes`: a change to a module the application imports
//!   (not the script) restarts the daemon process, cleanly, and the new
//!   process serves the new code; without it, nothing restarts.

mod apps_support;
mod common;
mod daemon_support;

use std::path::Path;
use std::time::{Duration, SystemTime};

use common::*;

const WAIT: Duration = Duration::from_secs(20);

/// Where scripts/pastedeploy.sh installs PasteDeploy.
const PASTEDEPLOY_SITE: &str =
    "/opt/mod_wsgi_rs-test/venv-pastedeploy/lib/python3.11/site-packages";

/// handler.wsgi's options, as setup-server writes them.
struct Handler<'a> {
    application_type: &'a str,
    /// Relative to the stage's site/ for script and paste.
    entry_point: &'a str,
    callable_object: &'a str,
    reload_on_changes: bool,
}

impl<'a> Handler<'a> {
    fn new(application_type: &'a str, entry_point: &'a str) -> Handler<'a> {
        Handler {
            application_type,
            entry_point,
            callable_object: "application",
            reload_on_changes: false,
        }
    }
}

/// A stage with the package under python/, the application files under
/// site/ (the working directory) and handler.wsgi under root/.
fn stage(name: &str, handler: &Handler, files: &[(&str, &str)]) -> Stage {
    let stage = Stage::new(name);
    stage_python_package(&stage);
    for (path, text) in files {
        stage.write(&format!("site/{path}"), text);
    }
    let site = stage.path("site");
    let entry_point = if handler.application_type == "module" {
        handler.entry_point.to_owned()
    } else {
        site.join(handler.entry_point).display().to_string()
    };
    let python_bool = |b: bool| if b { "True" } else { "False" };
    stage.write(
        "root/handler.wsgi",
        &format!(
            "from mod_wsgi_rs.express.runtime import application_from_options\n\
             application = application_from_options({{\n\
             \x20   'application_type': {:?},\n\
             \x20   'entry_point': {entry_point:?},\n\
             \x20   'callable_object': {:?},\n\
             \x20   'working_directory': {:?},\n\
             \x20   'reload_on_changes': {},\n\
             \x20   'reload_interval': 1,\n\
             \x20   'server_root': {:?},\n\
             }})\n",
            handler.application_type,
            handler.callable_object,
            site.display().to_string(),
            python_bool(handler.reload_on_changes),
            stage.path("root").display().to_string(),
        ),
    );
    stage
}

/// The runner's mounting of handler.wsgi: one daemon process whose home is
/// the working directory, the package (and PasteDeploy) on its path.
fn config(mpm: Mpm) -> Config {
    Config::new(
        mpm,
        &format!(
            "WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess express processes=1 threads=4 home=@STAGE@/site \
             python-path=@STAGE@/python:{PASTEDEPLOY_SITE} graceful-timeout=5\n\
             WSGIImportScript @STAGE@/root/handler.wsgi process-group=express application-group=%{{GLOBAL}}\n\
             WSGIScriptAlias / @STAGE@/root/handler.wsgi process-group=express application-group=%{{GLOBAL}}\n\
             <Directory @STAGE@/root>\n  Require all granted\n</Directory>\n"
        ),
    )
}

fn serve(mpm: Mpm, name: &str, handler: &Handler, files: &[(&str, &str)]) -> Server {
    Server::start(stage(name, handler, files), &config(mpm))
}

const SCRIPT: &str = "\
import os
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('script %s cwd=%s' % (__name__, os.getcwd())).encode()]
def other(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'other callable']
";

const MODULE: &str = "\
import mod_wsgi
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('module %s group=%s' % (__name__, mod_wsgi.process_group)).encode()]
class Site:
    def wsgi_app(self, environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'method of an object']
site = Site()
";

fn script_type(mpm: Mpm) {
    let server = serve(
        mpm,
        "express-script",
        &Handler::new("script", "app.wsgi"),
        &[("app.wsgi", SCRIPT)],
    );
    let site = server.stage().path("site");
    assert_eq!(
        get_ok(&server, "/anything").text(),
        format!("script __wsgi__ cwd={}", site.display())
    );
    assert_no_crash(&server.error_log());
}

fn script_callable_object(mpm: Mpm) {
    let mut handler = Handler::new("script", "app.wsgi");
    handler.callable_object = "other";
    let server = serve(mpm, "express-callable", &handler, &[("app.wsgi", SCRIPT)]);
    assert_eq!(get_ok(&server, "/").text(), "other callable");
}

fn module_type(mpm: Mpm) {
    let server = serve(
        mpm,
        "express-module",
        &Handler::new("module", "webpkg.views"),
        &[("webpkg/__init__.py", ""), ("webpkg/views.py", MODULE)],
    );
    assert_eq!(
        get_ok(&server, "/").text(),
        "module webpkg.views group=express"
    );
    assert_no_crash(&server.error_log());
}

fn module_colon_entry_point(mpm: Mpm) {
    let server = serve(
        mpm,
        "express-colon",
        &Handler::new("module", "webpkg.views:site.wsgi_app"),
        &[("webpkg/__init__.py", ""), ("webpkg/views.py", MODULE)],
    );
    assert_eq!(get_ok(&server, "/").text(), "method of an object");
}

const PASTE_INI: &str = "\
[app:main]
use = call:pasteapp:make_app
greeting = hello from the ini
";

const PASTE_APP: &str = "\
def make_app(global_conf, greeting):
    def application(environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [('%s (%s)' % (greeting, global_conf['__file__'])).encode()]
    return application
";

fn paste_type(mpm: Mpm) {
    if !Path::new(PASTEDEPLOY_SITE).join("paste/deploy").exists() {
        eprintln!(
            "skipped: PasteDeploy is not installed in {PASTEDEPLOY_SITE} (scripts/dev.sh test installs it)"
        );
        return;
    }
    let server = serve(
        mpm,
        "express-paste",
        &Handler::new("paste", "app.ini"),
        &[("app.ini", PASTE_INI), ("pasteapp.py", PASTE_APP)],
    );
    let ini = server.stage().path("site/app.ini");
    assert_eq!(
        get_ok(&server, "/").text(),
        format!("hello from the ini ({})", ini.display())
    );
    assert_no_crash(&server.error_log());
}

/// A request to an application that did not load: 500, and the error log
/// says why in one line with what to do.
fn assert_fails_with(server: &Server, message: &str) {
    let r = server.get("/");
    assert_eq!(r.status, 500, "{}", r.text());
    let log = server.wait_for_log(message, WAIT);
    assert!(
        log.contains("mod_wsgi_rs.express.runtime.ApplicationError"),
        "{log}"
    );
    assert_no_crash(&log);
}

fn missing_module(mpm: Mpm) {
    let server = serve(
        mpm,
        "express-no-module",
        &Handler::new("module", "not_there.views"),
        &[],
    );
    assert_fails_with(
        &server,
        "no module named 'not_there.views' on the python path",
    );
    assert!(server.error_log().contains("--working-directory"));
}

fn missing_callable(mpm: Mpm) {
    let mut handler = Handler::new("script", "app.wsgi");
    handler.callable_object = "app";
    let server = serve(
        mpm,
        "express-no-callable",
        &handler,
        &[("app.wsgi", SCRIPT)],
    );
    let script = server.stage().path("site/app.wsgi");
    assert_fails_with(
        &server,
        &format!(
            "the WSGI script {} has no 'app': name the WSGI application with --callable-object (it defines: application, os, other)",
            script.display()
        ),
    );
}

fn missing_script(mpm: Mpm) {
    let server = serve(
        mpm,
        "express-no-script",
        &Handler::new("script", "gone.wsgi"),
        &[],
    );
    let script = server.stage().path("site/gone.wsgi");
    assert_fails_with(
        &server,
        &format!("the WSGI script {} cannot be read", script.display()),
    );
}

/// The application imports `helper`; the script itself never changes.
const RELOAD_APP: &str = "\
import os
import time
import helper
RUN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(helper.__file__))), 'run')
def application(environ, start_response):
    if environ['PATH_INFO'] == '/slow':
        # In flight across the restart: says it started, then waits for
        # the test to let it finish.
        open(os.path.join(RUN, 'entered'), 'w').close()
        deadline = time.monotonic() + 20
        while not os.path.exists(os.path.join(RUN, 'go')) and time.monotonic() < deadline:
            time.sleep(0.02)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('%s pid=%d' % (helper.VERSION, os.getpid())).encode()]
";

/// `helper.py` saying `version`, with a modification time `ahead` seconds
/// from now, so that even a file system with coarse times sees a change.
fn write_helper(stage: &Stage, version: &str, ahead: u64) {
    let path = stage.write("site/helper.py", &format!("VERSION = {version:?}\n"));
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(ahead))
        .unwrap();
}

/// "VERSION pid=N" as (VERSION, N).
fn version_and_pid(server: &Server) -> (String, i32) {
    let text = get_ok(server, "/").text();
    let (version, pid) = text.split_once(" pid=").expect("VERSION pid=N");
    (version.to_owned(), pid.parse().unwrap())
}

fn reload_on_changes_of_an_imported_module(mpm: Mpm) {
    let mut handler = Handler::new("script", "app.wsgi");
    handler.reload_on_changes = true;
    let stage = stage("express-reload", &handler, &[("app.wsgi", RELOAD_APP)]);
    write_helper(&stage, "v1", 0);
    let server = Server::start(stage, &config(mpm));
    let (version, first_pid) = version_and_pid(&server);
    assert_eq!(version, "v1");
    server.wait_for_log("Starting change monitor.", WAIT);
    let mark = server.log_mark();

    // A request in flight when the change is seen finishes in the old
    // process, with the old code: the restart is a graceful one.
    let slow = {
        let port = server.port;
        std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.set_read_timeout(Some(WAIT)).unwrap();
            std::io::Write::write_all(&mut s, &simple_request("GET", "/slow", false)).unwrap();
            read_response(&mut s)
        })
    };
    let entered = server.stage().path("run/entered");
    wait_until(WAIT, "the slow request in the application", || {
        entered.exists().then_some(())
    });
    write_helper(server.stage(), "v2", 10);
    let helper = server.stage().path("site/helper.py");
    server.log_since(mark, "recycling the daemon process gracefully", WAIT);
    server.stage().write("run/go", "");
    let slow = slow.join().unwrap();
    assert_eq!(slow.status, 200, "{}", slow.text());
    assert_eq!(slow.text(), format!("v1 pid={first_pid}"));
    // The monitor looks every second; the daemon drains and the parent
    // starts a new one at once.
    let second_pid = wait_until(WAIT, "the new daemon serving v2", || {
        server
            .try_get("/")
            .filter(|r| r.status == 200)
            .and_then(|r| {
                let text = r.text();
                let pid = text.strip_prefix("v2 pid=")?.parse::<i32>().ok()?;
                Some(pid)
            })
    });
    assert_ne!(second_pid, first_pid);
    let log = server.log_since(mark, "starting a new one", WAIT);
    assert!(
        log.contains(&format!(
            "monitor (pid={first_pid}): Change detected to \"{}\".",
            helper.display()
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "monitor (pid={first_pid}): Triggering process restart."
        )),
        "{log}"
    );
    // A clean restart: the old daemon drained and exited 0, as a daemon
    // that recycles itself does, and nothing crashed.
    assert!(
        log.contains("recycling the daemon process gracefully: signal 2 (SIGINT)"),
        "{log}"
    );
    assert!(log.contains("the daemon process exited normally"), "{log}");
    assert!(!daemon_support::alive(first_pid) || daemon_support::is_zombie(first_pid));
    // The new process watches too: a second change restarts it again.
    let mark = server.log_mark();
    write_helper(server.stage(), "v3", 20);
    wait_until(WAIT, "the third daemon serving v3", || {
        server
            .try_get("/")
            .filter(|r| r.status == 200 && r.text().starts_with("v3 pid="))
    });
    server.log_since(mark, "Triggering process restart.", WAIT);
    let stage = server.stop();
    assert_no_crash(&std::fs::read_to_string(stage.path("error.log")).unwrap());
}

fn no_reload_without_the_option(mpm: Mpm) {
    let stage = stage(
        "express-no-reload",
        &Handler::new("script", "app.wsgi"),
        &[("app.wsgi", RELOAD_APP)],
    );
    write_helper(&stage, "v1", 0);
    let server = Server::start(stage, &config(mpm));
    let (_, first_pid) = version_and_pid(&server);
    write_helper(server.stage(), "v2", 10);
    // Three monitor intervals would have seen it.
    assert_holds(Duration::from_secs(3), "the same daemon serving v1", || {
        version_and_pid(&server) == ("v1".to_owned(), first_pid)
    });
    assert!(!server.error_log().contains("change monitor"));
}

under_event_and_prefork!(reload_on_changes_of_an_imported_module);

mod event_only {
    use super::*;

    #[test]
    fn script() {
        script_type(Mpm::Event);
    }

    #[test]
    fn script_with_callable_object() {
        script_callable_object(Mpm::Event);
    }

    #[test]
    fn module() {
        module_type(Mpm::Event);
    }

    #[test]
    fn module_with_a_colon() {
        module_colon_entry_point(Mpm::Event);
    }

    #[test]
    fn paste() {
        paste_type(Mpm::Event);
    }

    #[test]
    fn a_missing_module_is_a_500_that_says_what_to_set() {
        missing_module(Mpm::Event);
    }

    #[test]
    fn a_missing_callable_is_a_500_that_names_what_the_script_has() {
        missing_callable(Mpm::Event);
    }

    #[test]
    fn a_missing_script_is_a_500_that_names_it() {
        missing_script(Mpm::Event);
    }

    #[test]
    fn nothing_restarts_without_reload_on_changes() {
        no_reload_without_the_option(Mpm::Event);
    }
}

/// `mod_wsgi_rs-express start-server ARGS` from the stage's site/ (the
/// working directory), as a user runs it.
fn runner(stage: &Stage, port: u16, args: &[&str]) -> std::process::Command {
    let mut command = apps_support::python(
        stage,
        &stage.path("site"),
        &["-m", "mod_wsgi_rs.express", "start-server"],
    );
    command
        .args(apps_support::runner_args(stage, port))
        .args(args);
    command
}

/// The runner with `--reload-on-changes` and a module entry point: the
/// whole path a user takes, from the command line to the restarted daemon.
#[test]
fn the_runner_reloads_a_module_application_when_an_import_changes() {
    let stage = Stage::new("express-runner-reload");
    stage_python_package(&stage);
    stage.write("site/webpkg/__init__.py", "");
    stage.write("site/webpkg/views.py", RELOAD_APP);
    write_helper(&stage, "v1", 0);
    let port = free_port();
    let command = runner(
        &stage,
        port,
        &[
            "--application-type",
            "module",
            "--entry-point",
            "webpkg.views:application",
            "--reload-on-changes",
        ],
    );
    let mut running = apps_support::Running::start(stage, command, port);
    let first = running.get_ok("/").text();
    let first_pid: i32 = first
        .strip_prefix("v1 pid=")
        .unwrap_or_else(|| panic!("{first}"))
        .parse()
        .unwrap();
    write_helper(running.stage(), "v2", 10);
    let second_pid = wait_until(WAIT, "the new daemon serving v2", || {
        let r = running.get("/");
        (r.status == 200)
            .then(|| r.text().strip_prefix("v2 pid=")?.parse::<i32>().ok())
            .flatten()
    });
    assert_ne!(second_pid, first_pid);
    let log = running.error_log();
    let helper = running.stage().path("site/helper.py");
    assert!(
        log.contains(&format!(
            "monitor (pid={first_pid}): Change detected to \"{}\".",
            helper.display()
        )),
        "{log}"
    );
    let status = running.stop();
    assert!(status.success(), "{status:?}\n{}", running.output());
    assert_no_crash(&running.error_log());
}

/// A paste application through the runner, PasteDeploy on `--python-path`.
#[test]
fn the_runner_serves_a_paste_ini() {
    if !Path::new(PASTEDEPLOY_SITE).join("paste/deploy").exists() {
        eprintln!("skipped: PasteDeploy is not installed in {PASTEDEPLOY_SITE}");
        return;
    }
    let stage = Stage::new("express-runner-paste");
    stage_python_package(&stage);
    stage.write("site/app.ini", PASTE_INI);
    stage.write("site/pasteapp.py", PASTE_APP);
    let port = free_port();
    let command = runner(
        &stage,
        port,
        &[
            "--application-type",
            "paste",
            "app.ini",
            "--python-path",
            PASTEDEPLOY_SITE,
        ],
    );
    let mut running = apps_support::Running::start(stage, command, port);
    let ini = running.stage().path("site/app.ini");
    assert_eq!(
        running.get_ok("/").text(),
        format!("hello from the ini ({})", ini.display())
    );
    assert!(running.stop().success());
}

/// A module entry point the runner cannot check before Apache starts (it
/// does not import the application): the daemon's load fails, the request
/// is a 500 and the error log says what to do.
#[test]
fn the_runner_s_bad_module_entry_point_is_a_500_that_says_why() {
    let stage = Stage::new("express-runner-bad-module");
    stage_python_package(&stage);
    stage.write("site/placeholder.txt", "");
    let port = free_port();
    let command = runner(
        &stage,
        port,
        &[
            "--application-type",
            "module",
            "--entry-point",
            "nowhere.app",
        ],
    );
    let mut running = apps_support::Running::start(stage, command, port);
    assert_eq!(running.get("/").status, 500);
    let log = wait_until(WAIT, "the load error in the error log", || {
        Some(running.error_log()).filter(|log| log.contains("ApplicationError"))
    });
    assert!(
        log.contains("no module named 'nowhere.app' on the python path"),
        "{log}"
    );
    assert!(running.stop().success());
}
