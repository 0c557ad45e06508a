//! The examples under examples/, each served by a real Apache the way its
//! README says: the multi-application configuration included into an
//! Apache with only its `Define EXAMPLES` line pointed at a copy of
//! examples/ (the frameworks are Debian's python3-flask and python3-django,
//! which scripts/dev.sh installs).

mod common;
use common::*;

use std::path::Path;

/// A copy of the repository's examples/ in the stage, which Apache's
/// worker user can read (a checkout under /root is not).
fn copy_examples(stage: &Stage) -> String {
    let to = stage.path("examples");
    copy_tree(&repo_dir().join("examples"), &to);
    stage.make_readable();
    to.display().to_string()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
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
