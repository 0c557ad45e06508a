//! Real-world applications in embedded mode: Flask (Debian's python3-flask)
//! and a minimal Django project (python3-django), under event and prefork.
//! A framework that is not installed skips its test with a note.

mod common;
use common::*;

use std::process::Command;

fn has_python_module(name: &str) -> bool {
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", &format!("import {name}")])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "{name} is not installed for /usr/bin/python3 (apt-get install python3-{name}): skipped"
        );
    }
    ok
}

/// The value of `key` in a flat JSON object, as its raw text (strings
/// without their quotes; no escapes are expected in these tests).
fn json_field(json: &str, key: &str) -> String {
    let start = json
        .find(&format!("\"{key}\""))
        .unwrap_or_else(|| panic!("no {key:?} in {json}"))
        + key.len()
        + 2;
    let rest = json[start..]
        .trim_start()
        .strip_prefix(':')
        .unwrap()
        .trim_start();
    if let Some(s) = rest.strip_prefix('"') {
        s[..s.find('"').unwrap()].to_owned()
    } else {
        rest[..rest.find([',', '}']).unwrap()].trim().to_owned()
    }
}

/// `request`, sent again when no response could be read: the harness's
/// reader takes a failed read() (EINTR, now and then under load, on a socket
/// with a receive timeout) for the end of the response.
fn retrying(what: &str, request: impl Fn() -> Response) -> Response {
    for _ in 0..4 {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(&request)) {
            Ok(r) => return r,
            Err(_) => eprintln!("no response read for {what}; sending it again"),
        }
    }
    request()
}

fn get(server: &Server, path: &str) -> Response {
    retrying(path, || server.get(path))
}

fn assert_log_clean(server: &Server) {
    let log = server.error_log();
    for bad in ["Segmentation fault", "exit signal", "Traceback", "WSGIRS0"] {
        assert!(!log.contains(bad), "error log mentions {bad:?}:\n{log}");
    }
}

fn flask_app(mpm: Mpm) {
    if !has_python_module("flask") {
        return;
    }
    let stage = Stage::new("life-flask");
    let server = Server::start(
        stage,
        &Config::new(mpm, "WSGIScriptAlias /flask @STAGE@/apps/life_flask.wsgi\n"),
    );

    let r = get(&server, "/flask/");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.text(), "Hello from Flask");
    assert!(
        r.header("content-type").unwrap().starts_with("text/html"),
        "{:?}",
        r.headers
    );

    // Routing below the mount point, and URLs built from SCRIPT_NAME.
    let r = get(&server, "/flask/greet/bob?q=a%20b");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let json = r.text();
    assert_eq!(json_field(&json, "greeting"), "Hello, bob");
    assert_eq!(json_field(&json, "script_root"), "/flask");
    assert_eq!(json_field(&json, "path"), "/greet/bob");
    assert_eq!(json_field(&json, "self_url"), "/flask/greet/bob");
    assert_eq!(
        json_field(&json, "external_url"),
        "http://127.0.0.1/flask/greet/bob"
    );
    assert_eq!(json_field(&json, "query"), "a b");

    // A form POST goes through wsgi.input.
    let r = retrying("/flask/echo", || {
        server.request(
            "POST",
            "/flask/echo",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"name=alice&lang=py",
        )
    });
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains(r#""name":"alice""#) || r.text().contains(r#""name": "alice""#),
        "{}",
        r.text()
    );
    assert_eq!(json_field(&r.text(), "length"), "18");

    // Redirects and the application's own 404 page.
    let r = get(&server, "/flask/redirect");
    assert_eq!(r.status, 302, "{}", r.text());
    let location = r.header("location").unwrap();
    assert!(location.ends_with("/flask/"), "{location}");
    let r = get(&server, "/flask/nope");
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "no such page: /nope");
    // A method the route does not allow.
    assert_eq!(
        retrying("/flask/", || server.post("/flask/", b"x")).status,
        405
    );
    assert_log_clean(&server);
}

fn django_app(mpm: Mpm) {
    if !has_python_module("django") {
        return;
    }
    let stage = Stage::new("life-django");
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGIScriptAlias /django @STAGE@/apps/life_django.wsgi\n",
        ),
    );

    let r = get(&server, "/django/");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.text(), "Hello from Django");

    let r = get(&server, "/django/info/bob/");
    assert_eq!(r.status, 200, "{}", r.text());
    let json = r.text();
    assert_eq!(json_field(&json, "name"), "bob");
    assert_eq!(json_field(&json, "script_name"), "/django");
    assert_eq!(json_field(&json, "path"), "/django/info/bob/");
    assert_eq!(json_field(&json, "path_info"), "/info/bob/");
    assert_eq!(json_field(&json, "reverse"), "/django/info/bob/");
    assert_eq!(json_field(&json, "method"), "GET");

    // CommonMiddleware's APPEND_SLASH redirect keeps the mount point.
    let r = get(&server, "/django/info/bob");
    assert_eq!(r.status, 301, "{}", r.text());
    assert_eq!(r.header("location"), Some("/django/info/bob/"));

    let r = retrying("/django/info/carol/", || {
        server.post("/django/info/carol/", b"payload")
    });
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json_field(&r.text(), "method"), "POST");
    assert_eq!(json_field(&r.text(), "body"), "payload");

    // Django's 404 (DEBUG off) and a Host that is not allowed.
    assert_eq!(get(&server, "/django/missing/").status, 404);
    let r = retrying("/django/ (bad Host)", || {
        server.raw(b"GET /django/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
    });
    assert_eq!(r.status, 400, "{}", r.text());
    let log = server.error_log();
    for bad in ["Segmentation fault", "exit signal", "WSGIRS0"] {
        assert!(!log.contains(bad), "error log mentions {bad:?}:\n{log}");
    }
}

under_event_and_prefork!(flask_app, django_app);
