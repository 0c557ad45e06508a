//! Real-world applications in embedded mode: Flask (Debian's python3-flask)
//! and a minimal Django project (python3-django), under event and prefork.
//! A framework that is not installed skips its test with a note.

mod common;
use common::*;

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

    let r = server.get("/flask/");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.text(), "Hello from Flask");
    assert!(
        r.header("content-type").unwrap().starts_with("text/html"),
        "{:?}",
        r.headers
    );

    // Routing below the mount point, and URLs built from SCRIPT_NAME.
    let r = server.get("/flask/greet/bob?q=a%20b");
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
    let r = server.request(
        "POST",
        "/flask/echo",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"name=alice&lang=py",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains(r#""name":"alice""#) || r.text().contains(r#""name": "alice""#),
        "{}",
        r.text()
    );
    assert_eq!(json_field(&r.text(), "length"), "18");

    // Redirects and the application's own 404 page.
    let r = server.get("/flask/redirect");
    assert_eq!(r.status, 302, "{}", r.text());
    let location = r.header("location").unwrap();
    assert!(location.ends_with("/flask/"), "{location}");
    let r = server.get("/flask/nope");
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "no such page: /nope");
    // A method the route does not allow.
    assert_eq!(server.post("/flask/", b"x").status, 405);
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

    let r = server.get("/django/");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.text(), "Hello from Django");

    let r = server.get("/django/info/bob/");
    assert_eq!(r.status, 200, "{}", r.text());
    let json = r.text();
    assert_eq!(json_field(&json, "name"), "bob");
    assert_eq!(json_field(&json, "script_name"), "/django");
    assert_eq!(json_field(&json, "path"), "/django/info/bob/");
    assert_eq!(json_field(&json, "path_info"), "/info/bob/");
    assert_eq!(json_field(&json, "reverse"), "/django/info/bob/");
    assert_eq!(json_field(&json, "method"), "GET");

    // CommonMiddleware's APPEND_SLASH redirect keeps the mount point.
    let r = server.get("/django/info/bob");
    assert_eq!(r.status, 301, "{}", r.text());
    assert_eq!(r.header("location"), Some("/django/info/bob/"));

    let r = server.post("/django/info/carol/", b"payload");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json_field(&r.text(), "method"), "POST");
    assert_eq!(json_field(&r.text(), "body"), "payload");

    // Django's 404 (DEBUG off) and a Host that is not allowed.
    assert_eq!(server.get("/django/missing/").status, 404);
    let r = server.raw(&raw_request(
        "GET",
        "/django/",
        &[("Host", b"evil.example")],
        b"",
        false,
    ));
    assert_eq!(r.status, 400, "{}", r.text());
    let log = server.error_log();
    for bad in ["Segmentation fault", "exit signal", "WSGIRS0"] {
        assert!(!log.contains(bad), "error log mentions {bad:?}:\n{log}");
    }
}

under_event_and_prefork!(flask_app, django_app);
