//! The configurations of the Django and Flask deployment documentation,
//! as written there, each started by a real Apache and served by the real
//! framework (Debian's python3-django and python3-flask):
//!
//! - Django's "How to use Django with Apache and mod_wsgi": embedded mode
//!   with `WSGIPythonHome` (a virtual environment), `WSGIPythonPath` and
//!   `<Directory> <Files wsgi.py> Require all granted`, on a project made
//!   by `django-admin startproject`;
//! - its daemon-mode variant: `WSGIDaemonProcess` with `python-home=` and
//!   `python-path=`, `WSGIProcessGroup`, and the static files served by
//!   Apache through `Alias /static/` (and `/robots.txt`) beside
//!   `WSGIScriptAlias /`;
//! - Flask's mod_wsgi page: a `<VirtualHost *>` with `WSGIDaemonProcess`
//!   (`user=`, `group=`, `threads=5`), `WSGIScriptAlias /` to a .wsgi file
//!   that puts the application on sys.path and imports it, and
//!   `WSGIProcessGroup` and `WSGIApplicationGroup %{GLOBAL}` in the
//!   `<Directory>` (with the `Order`/`Allow` lines the page shows).
//!
//! Only the paths differ from the documentation's. A framework that is not
//! installed skips its test with a note.

mod common;
use common::*;

use std::collections::HashMap;
use std::process::Command;

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().unwrap();
    assert!(status.success(), "{program} {args:?} failed");
}

/// GETs `path` with `Host: host`.
fn get(server: &Server, host: &str, path: &str) -> Response {
    server.raw(&raw_request(
        "GET",
        path,
        &[("Host", host.as_bytes())],
        b"",
        false,
    ))
}

/// `key=value` lines, as the views below answer.
fn lines(r: &Response) -> HashMap<String, String> {
    r.text()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn assert_log_clean(server: &Server) {
    let log = server.error_log();
    assert_no_crash(&log);
    for bad in ["Traceback", "[wsgi:error]", "[wsgi:warn]"] {
        assert!(!log.contains(bad), "error log mentions {bad:?}:\n{log}");
    }
}

/// A virtual environment that sees Debian's packages (Django is there), as
/// a user's venv would have Django installed.
fn make_venv(stage: &Stage) -> String {
    let venv = stage.path("venv");
    run(
        "/usr/bin/python3",
        &[
            "-m",
            "venv",
            "--without-pip",
            "--system-site-packages",
            venv.to_str().unwrap(),
        ],
    );
    venv.display().to_string()
}

/// `django-admin startproject mysite` into `<stage>/mysite.com`, with the
/// settings a deployment changes and one view that reports what it sees;
/// and the static files Apache serves beside it.
fn make_django_project(stage: &Stage) -> String {
    let root = stage.path("mysite.com");
    std::fs::create_dir_all(&root).unwrap();
    run(
        "/usr/bin/python3",
        &[
            "-m",
            "django",
            "startproject",
            "mysite",
            root.to_str().unwrap(),
        ],
    );
    let settings = root.join("mysite/settings.py");
    let text = std::fs::read_to_string(&settings)
        .unwrap()
        .replace("DEBUG = True", "DEBUG = False")
        .replace(
            "ALLOWED_HOSTS = []",
            "ALLOWED_HOSTS = ['127.0.0.1', 'example.com']",
        );
    std::fs::write(&settings, text).unwrap();
    let urls = root.join("mysite/urls.py");
    let mut text = std::fs::read_to_string(&urls).unwrap();
    text.push_str(
        r#"
import os
import sys

import django
from django.http import HttpResponse


def where(request, name):
    facts = {
        "name": name,
        "path": request.path,
        "script_name": request.META["SCRIPT_NAME"],
        "absolute": request.build_absolute_uri(),
        "remote_addr": request.META["REMOTE_ADDR"],
        "prefix": sys.prefix,
        "settings": os.environ.get("DJANGO_SETTINGS_MODULE"),
        "process_group": request.META["mod_wsgi.process_group"],
        "pid": os.getpid(),
        "django": django.get_version(),
    }
    body = "".join("%s=%s\n" % item for item in facts.items())
    return HttpResponse(body, content_type="text/plain")


urlpatterns.append(path("where/<str:name>/", where))
"#,
    );
    std::fs::write(&urls, text).unwrap();
    stage.write("mysite.com/static/robots.txt", "User-agent: *\nDisallow:\n");
    stage.write("mysite.com/static/css/site.css", "body { color: teal }\n");
    stage.write("mysite.com/media/upload.txt", "uploaded\n");
    stage.make_readable();
    root.display().to_string()
}

/// The view through Apache, and the static files Apache serves itself.
fn check_django(server: &Server, venv: &str, process_group: &str) {
    let r = get(server, "127.0.0.1", "/where/bob/");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    let facts = lines(&r);
    assert_eq!(facts["name"], "bob");
    assert_eq!(facts["path"], "/where/bob/");
    assert_eq!(facts["script_name"], "");
    assert_eq!(facts["absolute"], "http://127.0.0.1/where/bob/");
    assert_eq!(facts["remote_addr"], "127.0.0.1");
    // WSGIPythonHome (or python-home=) is the interpreter's prefix, and
    // WSGIPythonPath (or python-path=) made `mysite` importable.
    assert_eq!(facts["prefix"], venv);
    assert_eq!(facts["settings"], "mysite.settings");
    assert_eq!(facts["process_group"], process_group);
    facts["pid"].parse::<u32>().expect("a pid");

    // CommonMiddleware's APPEND_SLASH redirect, a Django 404, and a Host
    // that ALLOWED_HOSTS refuses.
    let r = get(server, "127.0.0.1", "/where/bob");
    assert_eq!(r.status, 301, "{}", r.text());
    assert_eq!(r.header("location"), Some("/where/bob/"));
    assert_eq!(get(server, "127.0.0.1", "/nowhere/").status, 404);
    assert_eq!(get(server, "evil.example", "/where/bob/").status, 400);
}

fn django_embedded(mpm: Mpm) {
    if !has_python_module("django") {
        return;
    }
    let stage = Stage::new("doc-django");
    let venv = make_venv(&stage);
    let site = make_django_project(&stage);
    // As Debian's apache2.conf, so that only what the page grants is served.
    let body = format!(
        "<Directory />\n    Require all denied\n</Directory>\n\
         WSGIScriptAlias / {site}/mysite/wsgi.py\n\
         WSGIPythonHome {venv}\n\
         WSGIPythonPath {site}\n\
         \n\
         <Directory {site}/mysite>\n\
         <Files wsgi.py>\n\
         Require all granted\n\
         </Files>\n\
         </Directory>\n"
    );
    let server = Server::start(stage, &Config::new(mpm, &body));
    check_django(&server, &venv, "");
    assert_log_clean(&server);
}

fn django_daemon(mpm: Mpm) {
    if !has_python_module("django") {
        return;
    }
    let stage = Stage::new("doc-django-daemon");
    let venv = make_venv(&stage);
    let site = make_django_project(&stage);
    let mut config = Config::new(
        mpm,
        &format!(
            "<Directory />\n    Require all denied\n</Directory>\n\
             WSGIDaemonProcess example.com python-home={venv} python-path={site}\n\
             WSGIProcessGroup example.com\n\
             \n\
             Alias /robots.txt {site}/static/robots.txt\n\
             \n\
             Alias /media/ {site}/media/\n\
             Alias /static/ {site}/static/\n\
             \n\
             <Directory {site}/static>\n\
             Require all granted\n\
             </Directory>\n\
             \n\
             <Directory {site}/media>\n\
             Require all granted\n\
             </Directory>\n\
             \n\
             WSGIScriptAlias / {site}/mysite/wsgi.py process-group=example.com\n\
             \n\
             <Directory {site}/mysite>\n\
             <Files wsgi.py>\n\
             Require all granted\n\
             </Files>\n\
             </Directory>\n"
        ),
    );
    let m = apache_modules_dir();
    config.preamble = format!("LoadModule alias_module {}/mod_alias.so\n", m.display());
    let server = Server::start(stage, &config);
    check_django(&server, &venv, "example.com");

    // Apache serves these itself: mod_alias comes before WSGIScriptAlias /.
    let r = get(&server, "127.0.0.1", "/static/css/site.css");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "body { color: teal }\n");
    assert!(r.header("content-type").unwrap().starts_with("text/css"));
    assert_eq!(
        get(&server, "127.0.0.1", "/robots.txt").text(),
        "User-agent: *\nDisallow:\n"
    );
    assert_eq!(
        get(&server, "127.0.0.1", "/media/upload.txt").text(),
        "uploaded\n"
    );
    // The project's other files are not served.
    assert_eq!(
        get(&server, "127.0.0.1", "/static/../mysite/settings.py").status,
        404
    );
    assert_log_clean(&server);
}

const FLASK_APP: &str = r#"import os
import pwd
import threading

from flask import Flask, request, url_for

app = Flask(__name__)


@app.route("/")
def hello_world():
    return "Hello World!"


@app.route("/where/<name>")
def where(name):
    facts = {
        "name": name,
        "url": url_for("where", name=name, _external=True),
        "process_group": request.environ["mod_wsgi.process_group"],
        "application_group": request.environ["mod_wsgi.application_group"],
        "multithread": request.environ["wsgi.multithread"],
        "user": pwd.getpwuid(os.getuid()).pw_name,
        "thread": threading.current_thread().name,
    }
    return "".join("%s=%s\n" % item for item in facts.items()), {"Content-Type": "text/plain"}
"#;

fn flask_daemon(mpm: Mpm) {
    if !has_python_module("flask") {
        return;
    }
    let stage = Stage::new("doc-flask");
    let app_dir = stage.path("yourapplication").display().to_string();
    stage.write("yourapplication/yourapplication.py", FLASK_APP);
    stage.write(
        "yourapplication/yourapplication.wsgi",
        &format!("import sys\nsys.path.insert(0, '{app_dir}')\nfrom yourapplication import app as application\n"),
    );
    // The page's user1/group1: a user Apache may switch to.
    let identity = if is_root() {
        " user=www-data group=www-data"
    } else {
        ""
    };
    let mut config = Config::new(
        mpm,
        &format!(
            "<VirtualHost *>\n\
             \x20   ServerName example.com\n\
             \n\
             \x20   WSGIDaemonProcess yourapplication{identity} threads=5\n\
             \x20   WSGIScriptAlias / {app_dir}/yourapplication.wsgi\n\
             \n\
             \x20   <Directory {app_dir}>\n\
             \x20       WSGIProcessGroup yourapplication\n\
             \x20       WSGIApplicationGroup %{{GLOBAL}}\n\
             \x20       Order deny,allow\n\
             \x20       Allow from all\n\
             \x20   </Directory>\n\
             </VirtualHost>\n"
        ),
    );
    let m = apache_modules_dir();
    config.preamble = format!(
        "LoadModule access_compat_module {}/mod_access_compat.so\n",
        m.display()
    );
    let server = Server::start(stage, &config);

    let r = get(&server, "example.com", "/");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.text(), "Hello World!");
    let r = get(&server, "example.com", "/where/alice");
    assert_eq!(r.status, 200, "{}", r.text());
    let facts = lines(&r);
    assert_eq!(facts["name"], "alice");
    assert_eq!(facts["url"], "http://example.com/where/alice");
    assert_eq!(facts["process_group"], "yourapplication");
    assert_eq!(facts["application_group"], "");
    assert_eq!(facts["multithread"], "True");
    if is_root() {
        assert_eq!(facts["user"], "www-data");
    }
    assert_eq!(get(&server, "example.com", "/missing").status, 404);
    assert_log_clean(&server);
}

under_event_and_prefork!(django_embedded, django_daemon, flask_daemon);
