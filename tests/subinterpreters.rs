//! Application groups as sub-interpreters (issue 11), as mod_wsgi 6: each
//! group other than `%{GLOBAL}` gets its own interpreter in each process
//! (embedded child or daemon), with its own `sys`, `sys.modules`,
//! `os.environ` and `mod_wsgi` module; `%{GLOBAL}` is the main one.

mod common;
use common::*;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// One Apache child for embedded mode, so that every request meets the
/// same process.
const ONE_CHILD_PREFORK: &str =
    "StartServers 1\nMinSpareServers 1\nMaxSpareServers 1\nMaxRequestWorkers 1\n";
const ONE_CHILD_EVENT: &str = "StartServers 1\nServerLimit 1\nMaxRequestWorkers 8\n";

fn one_child(mpm: Mpm) -> &'static str {
    match mpm {
        Mpm::Prefork => ONE_CHILD_PREFORK,
        _ => ONE_CHILD_EVENT,
    }
}

/// Two copies of the application (a and b) and the aliases to them.
fn stage_two(name: &str) -> Stage {
    let stage = Stage::new(name);
    let app = std::fs::read_to_string(stage.path("apps/subinterp.wsgi")).unwrap();
    stage.write("apps/a.wsgi", &app);
    stage.write("apps/b.wsgi", &app);
    stage.make_readable();
    stage
}

fn facts_of(server: &Server, path: &str) -> HashMap<String, String> {
    let r = server.get(path);
    assert_eq!(
        r.status,
        200,
        "{path}: {}\n{}",
        r.text(),
        server.error_log()
    );
    key_values(&r)
}

/// Two scripts in the default group (%{RESOURCE}), a third in %{GLOBAL},
/// a fourth in a named group: what each interpreter sees.
fn groups_are_interpreters(mpm: Mpm, daemon: bool) {
    let stage = stage_two(if daemon {
        "subinterp-daemon"
    } else {
        "subinterp"
    });
    let daemon_line = if daemon {
        "WSGIDaemonProcess site processes=1 threads=4\nWSGIProcessGroup site\n"
    } else {
        ""
    };
    let body = format!(
        "{}{daemon_line}\
         WSGIScriptAlias /a @STAGE@/apps/a.wsgi\n\
         WSGIScriptAlias /b @STAGE@/apps/b.wsgi\n\
         WSGIScriptAlias /global @STAGE@/apps/subinterp.wsgi application-group=%{{GLOBAL}}\n\
         WSGIScriptAlias /named @STAGE@/apps/subinterp.wsgi application-group=named\n",
        one_child(mpm)
    );
    let server = Server::start(stage, &Config::new(mpm, &body));
    // /a sets os.environ before /b's interpreter exists: a new
    // interpreter starts from the environment as it was at start-up.
    let a = facts_of(&server, "/a?setenv=a");
    let b = facts_of(&server, "/b");
    let global = facts_of(&server, "/global");
    let named = facts_of(&server, "/named");
    for f in [&a, &b, &global, &named] {
        assert_eq!(f["pid"], a["pid"], "one process serves them all");
        assert_eq!(f["group"], f["module_group"], "{f:?}");
        assert_eq!(f["file_wrapper"], "True");
        assert_eq!(f["loads"], "1");
    }
    assert_eq!(a["group"], "127.0.0.1|/a");
    assert_eq!(global["group"], "");
    assert_eq!(global["main"], "True");
    assert_eq!(named["group"], "named");
    for f in [&a, &b, &named] {
        assert_eq!(f["main"], "False", "{f:?}");
    }
    let mut interpreters: Vec<&str> = [&a, &b, &global, &named]
        .iter()
        .map(|f| f["interpreter"].as_str())
        .collect();
    interpreters.sort();
    interpreters.dedup();
    assert_eq!(interpreters.len(), 4, "four interpreters: {interpreters:?}");
    // sys.modules is each interpreter's own.
    assert_eq!(a["owner"], "a");
    assert_eq!(b["owner"], "b");
    assert_eq!(named["owner"], "subinterp");
    // os.environ too.
    assert_eq!(a["env_owner"], "a");
    assert_eq!(b["env_owner"], "-");
    assert_eq!(global["env_owner"], "-");
    assert_eq!(named["env_owner"], "-");
    assert_eq!(facts_of(&server, "/a")["env_owner"], "a");
    assert_no_crash(&server.error_log());
    let log = server.error_log();
    assert!(log.contains("Creating sub-interpreter 'named'"), "{log}");
    // At stop each sub-interpreter runs its atexit handlers.
    let pid: u32 = a["pid"].parse().unwrap();
    let stage = server.stop();
    let run = stage.path("run");
    let written: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("atexit-") && n.ends_with(&format!("-{pid}")))
        .collect();
    let mut written = written;
    written.sort();
    let expected: Vec<String> = ["127.0.0.1__a", "127.0.0.1__b", "GLOBAL", "named"]
        .iter()
        .map(|g| format!("atexit-{g}-{pid}"))
        .collect();
    assert_eq!(written, expected, "atexit ran in each interpreter");
}

fn embedded(mpm: Mpm) {
    groups_are_interpreters(mpm, false);
}

fn daemon(mpm: Mpm) {
    groups_are_interpreters(mpm, true);
}

/// Where scripts/dev.sh installs the real pydantic-core wheel.
const PYDANTIC_CORE_VENV: &str = "/opt/mod_wsgi_rs-test/venv-pydantic-core";

/// pydantic-core (pyo3) refuses sub-interpreters once another interpreter
/// has it: one line naming the group and what to do, and 500; in
/// %{GLOBAL} it serves.
fn pydantic_core_refuses_sub_interpreters(mpm: Mpm) {
    let site = format!("{PYDANTIC_CORE_VENV}/lib/python3.11/site-packages");
    if !std::path::Path::new(&site).join("pydantic_core").exists() {
        eprintln!(
            "skipped: pydantic-core is not installed in {PYDANTIC_CORE_VENV} (scripts/dev.sh test installs it)"
        );
        return;
    }
    let stage = Stage::new("subinterp-pydantic");
    let body = format!(
        "{}WSGIPythonPath {site}\n\
         WSGIScriptAlias /sub @STAGE@/apps/pydantic_core_app.wsgi\n\
         WSGIScriptAlias /global @STAGE@/apps/pydantic_core_app.wsgi application-group=%{{GLOBAL}}\n",
        one_child(mpm)
    );
    let server = Server::start(stage, &Config::new(mpm, &body));
    // pyo3 lets the first interpreter that imports it have it, and refuses
    // every other one: here the main interpreter comes first.
    let r = server.get("/global");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.text(), "validated=42\n");
    let r = server.get("/sub");
    assert_eq!(r.status, 500, "{}", r.text());
    let log = server.wait_for_log("WSGIRS0222", WAIT);
    let script = script(&server, "pydantic_core_app.wsgi");
    let line = module_line(&log, "WSGIRS0222", &script);
    assert!(
        line.contains("sub-interpreter '127.0.0.1|/sub'")
            && line.contains("WSGIApplicationGroup %{GLOBAL}"),
        "{line}"
    );
    assert!(log.contains("PyO3 modules do not yet support subinterpreters"));
    assert_eq!(log.matches("WSGIRS0222").count(), 1, "{log}");
    assert_no_crash(&server.error_log());
}

/// `WSGIImportScript ... application-group=NAME` loads the script into
/// that group's interpreter at start, in an Apache child and in a daemon:
/// the group's first request finds it loaded (one load, in that
/// interpreter), and the main interpreter did not load it.
fn import_script_into_its_group(mpm: Mpm) {
    let stage = stage_two("subinterp-import");
    let body = format!(
        "{}WSGISocketPrefix @STAGE@/run/wsgi\n\
         WSGIDaemonProcess site processes=1 threads=2\n\
         WSGIImportScript @STAGE@/apps/a.wsgi process-group=%{{GLOBAL}} application-group=named\n\
         WSGIImportScript @STAGE@/apps/b.wsgi process-group=site application-group=named\n\
         WSGIScriptAlias /a @STAGE@/apps/a.wsgi application-group=named\n\
         WSGIScriptAlias /b @STAGE@/apps/b.wsgi process-group=site application-group=named\n\
         WSGIScriptAlias /global @STAGE@/apps/subinterp.wsgi application-group=%{{GLOBAL}}\n",
        one_child(mpm)
    );
    let server = Server::start(stage, &Config::new(mpm, &body));
    // Loaded before any request was made.
    for name in ["a", "b"] {
        server.wait_for_log(
            &format!(
                "Loading WSGI script '{}'",
                script(&server, &format!("{name}.wsgi"))
            ),
            WAIT,
        );
    }
    for path in ["/a", "/b"] {
        let f = facts_of(&server, path);
        assert_eq!(f["group"], "named", "{f:?}");
        assert_eq!(f["main"], "False");
        assert_eq!(f["loads"], "1");
        assert_eq!(
            f["owner"],
            &path[1..],
            "loaded at start, in this interpreter"
        );
    }
    // The requests found them loaded in their group's interpreter.
    let log = server.error_log();
    for name in ["a", "b"] {
        let loading = format!(
            "Loading WSGI script '{}'",
            script(&server, &format!("{name}.wsgi"))
        );
        assert_eq!(log.matches(&loading).count(), 1, "{log}");
    }
    // The main interpreter did not load a.wsgi: its sys.modules owner is
    // the script that now runs there.
    assert_eq!(facts_of(&server, "/global")["owner"], "subinterp");
    assert_no_crash(&log);
}

/// Reloading a changed script reloads it in its own interpreter only.
fn reloading_one_leaves_the_other(mpm: Mpm) {
    let stage = stage_two("subinterp-reload");
    let body = format!(
        "{}WSGIScriptAlias /a @STAGE@/apps/a.wsgi\nWSGIScriptAlias /b @STAGE@/apps/b.wsgi\n",
        one_child(mpm)
    );
    let server = Server::start(stage, &Config::new(mpm, &body));
    let a = facts_of(&server, "/a");
    let b = facts_of(&server, "/b");
    assert_eq!((a["loads"].as_str(), b["loads"].as_str()), ("1", "1"));
    // A newer modification time: the next request to /a reloads it.
    let path = server.stage().path("apps/a.wsgi");
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let a2 = facts_of(&server, "/a");
    assert_eq!(a2["loads"], "2", "reloaded in its interpreter");
    assert_eq!(a2["interpreter"], a["interpreter"]);
    let b2 = facts_of(&server, "/b");
    assert_eq!(b2["loads"], "1", "the other interpreter was not touched");
    assert_eq!(b2["interpreter"], b["interpreter"]);
    assert!(server.error_log().contains("Reloading WSGI script"));
    assert_no_crash(&server.error_log());
}

/// `django-admin startproject NAME` into `<stage>/NAME`, as a user makes
/// one, with a setting of its own (`SITE_TITLE`) that its admin shows as
/// its header, and a view that reports it.
fn make_django_project(stage: &Stage, name: &str, title: &str) -> String {
    let root = stage.path(name);
    std::fs::create_dir_all(&root).unwrap();
    let status = Command::new("/usr/bin/python3")
        .args(["-m", "django", "startproject", name, root.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let settings = root.join(format!("{name}/settings.py"));
    let mut text = std::fs::read_to_string(&settings)
        .unwrap()
        .replace("DEBUG = True", "DEBUG = False")
        .replace("ALLOWED_HOSTS = []", "ALLOWED_HOSTS = ['127.0.0.1']");
    text.push_str(&format!("\nSITE_TITLE = {title:?}\n"));
    std::fs::write(&settings, text).unwrap();
    let urls = root.join(format!("{name}/urls.py"));
    let mut text = std::fs::read_to_string(&urls).unwrap();
    text.push_str(
        r#"
import os
import sys

from django.conf import settings
from django.http import HttpResponse

admin.site.site_header = settings.SITE_TITLE


def facts(request):
    body = "title=%s\nsettings=%s\nmodules=%s\npid=%d\n" % (
        settings.SITE_TITLE,
        os.environ.get("DJANGO_SETTINGS_MODULE"),
        ",".join(sorted(m for m in ("one", "two") if m in sys.modules)),
        os.getpid(),
    )
    return HttpResponse(body, content_type="text/plain")


urlpatterns.append(path("facts/", facts))
"#,
    );
    std::fs::write(&urls, text).unwrap();
    root.display().to_string()
}

/// Two Django projects (Django's own wsgi.py, which sets
/// DJANGO_SETTINGS_MODULE with `os.environ.setdefault`) under two mounts
/// of one process: each serves its own settings and its own admin.
fn two_django_sites(mpm: Mpm, daemon: bool) {
    if !has_python_module("django") {
        eprintln!("skipped: Django is not installed");
        return;
    }
    let stage = Stage::new(if daemon {
        "subinterp-django-daemon"
    } else {
        "subinterp-django"
    });
    let one = make_django_project(&stage, "one", "Site One");
    let two = make_django_project(&stage, "two", "Site Two");
    stage.make_readable();
    let process = if daemon {
        format!(
            "WSGIDaemonProcess sites processes=1 threads=4 python-path={one}:{two}\n\
             WSGIProcessGroup sites\n"
        )
    } else {
        format!("WSGIPythonPath {one}:{two}\n")
    };
    let body = format!(
        "{}{process}\
         WSGIScriptAlias /one {one}/one/wsgi.py\n\
         WSGIScriptAlias /two {two}/two/wsgi.py\n\
         <Directory {one}/one>\n  Require all granted\n</Directory>\n\
         <Directory {two}/two>\n  Require all granted\n</Directory>\n",
        one_child(mpm)
    );
    let server = Server::start(stage, &Config::new(mpm, &body));
    for _ in 0..2 {
        let one = facts_of(&server, "/one/facts/");
        let two = facts_of(&server, "/two/facts/");
        assert_eq!(one["pid"], two["pid"], "one process serves both");
        assert_eq!(one["title"], "Site One");
        assert_eq!(one["settings"], "one.settings");
        assert_eq!(one["modules"], "one");
        assert_eq!(two["title"], "Site Two");
        assert_eq!(two["settings"], "two.settings");
        assert_eq!(two["modules"], "two");
    }
    for (mount, title) in [("/one", "Site One"), ("/two", "Site Two")] {
        let r = server.get(&format!("{mount}/admin/login/"));
        assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
        let page = r.text();
        assert!(page.contains(title), "{mount}'s admin: {page}");
        assert!(
            page.contains(&format!("action=\"{mount}/admin/login/\"")),
            "{page}"
        );
    }
    let log = server.error_log();
    assert_no_crash(&log);
    assert!(!log.contains("Traceback"), "{log}");
}

fn django_embedded(mpm: Mpm) {
    two_django_sites(mpm, false);
}

fn django_daemon(mpm: Mpm) {
    two_django_sites(mpm, true);
}

under_event_and_prefork!(
    django_embedded,
    django_daemon,
    embedded,
    daemon,
    pydantic_core_refuses_sub_interpreters,
    reloading_one_leaves_the_other,
    import_script_into_its_group
);
