//! The locale an application runs with, as under mod_wsgi 6: Python's
//! LC_CTYPE comes from Apache's environment (`LANG=C.UTF-8`, `LANG=C`, no
//! `LANG` at all), a "C" locale is coerced to C.UTF-8, and a daemon group's
//! `lang=`/`locale=` are set before Python starts in the daemon. Each case
//! is compared with Python's own command line started with the same
//! environment (`PyConfig_InitPythonConfig`, what mod_wsgi 6 starts from),
//! in embedded and daemon mode; a UTF-8 file read with `open()` and no
//! encoding, directly and through a Flask page, works in every case.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use common::*;

/// Every variable that chooses a locale, taken out of the test's own
/// environment so that each case sets exactly what it names.
const LOCALE_VARIABLES: [&str; 6] = [
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "PYTHONUTF8",
    "PYTHONCOERCECLOCALE",
];

const TEXT: &str = "Grüße aus Köln — 東京 ✓";

const LOCALE_UNSUPPORTED: &str = "WSGIRS0330";

/// The facts `locale_info.wsgi` gives for `/usr/bin/python3` run with
/// only `env` in its environment.
fn reference(stage: &Stage, env: &[(&str, &str)]) -> HashMap<String, String> {
    let out = Command::new("/usr/bin/python3")
        .env_clear()
        .envs(env.iter().copied())
        .arg(stage.path("apps/locale_info.wsgi"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut facts: HashMap<String, String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    facts.remove("pid");
    facts
}

/// The facts of one request, without the pid.
fn served(server: &Server, path: &str) -> HashMap<String, String> {
    let mut f = facts(server, path);
    f.remove("pid");
    f
}

fn start(mpm: Mpm, name: &str, env: &[(&str, &str)], groups: &str) -> Server {
    let mut config = Config::new(
        mpm,
        &format!(
            "WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess inherit threads=2 display-name=%{{GROUP}}\n\
             {groups}\
             WSGIScriptAlias /embedded @STAGE@/apps/locale_info.wsgi\n\
             WSGIScriptAlias /daemon @STAGE@/apps/locale_info.wsgi process-group=inherit\n\
             WSGIScriptAlias /flask-embedded @STAGE@/apps/locale_flask.wsgi\n\
             WSGIScriptAlias /flask-daemon @STAGE@/apps/locale_flask.wsgi process-group=inherit\n"
        ),
    );
    config.env_remove = LOCALE_VARIABLES.to_vec();
    config.env = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Server::start(Stage::new(name), &config)
}

/// Embedded and daemon mode (a group without lang=/locale=, which
/// inherits Apache's environment) both see what Python's command line sees
/// with Apache's environment, and read UTF-8 text with open().
fn like_python_itself(mpm: Mpm, name: &str, env: &[(&str, &str)]) -> HashMap<String, String> {
    let server = start(mpm, name, env, "");
    let expected = reference(server.stage(), env);
    assert_eq!(fact(&expected, "text"), TEXT, "{expected:?}");
    assert_eq!(fact(&expected, "filesystem_encoding"), "utf-8");
    for path in ["/embedded", "/daemon"] {
        let got = served(&server, path);
        assert_eq!(got, expected, "{path} under {env:?}");
    }
    for path in ["/flask-embedded/", "/flask-daemon/"] {
        let r = get_ok(&server, path);
        assert_eq!(r.text(), format!("<p>{TEXT}</p>"), "{path}");
    }
    assert_no_crash(&server.error_log());
    expected
}

/// LANG=C.UTF-8 (a system's usual locale): LC_CTYPE is C.UTF-8 and
/// everything is UTF-8, without UTF-8 mode (the case of the issue: the
/// file system encoding was ascii and open() failed).
fn lang_c_utf8(mpm: Mpm) {
    let f = like_python_itself(mpm, "locale-c-utf8", &[("LANG", "C.UTF-8")]);
    assert_eq!(fact(&f, "LC_CTYPE"), "C.UTF-8");
    assert_eq!(fact(&f, "utf8_mode"), "0");
    assert_eq!(fact(&f, "env.LC_CTYPE"), "None");
}

/// LANG=C (what Debian's /etc/apache2/envvars exports): the C locale is
/// coerced to C.UTF-8 (PEP 538, which exports LC_CTYPE=C.UTF-8) and UTF-8
/// mode is on (PEP 540).
fn lang_c(mpm: Mpm) {
    let f = like_python_itself(mpm, "locale-c", &[("LANG", "C")]);
    assert_eq!(fact(&f, "LC_CTYPE"), "C.UTF-8");
    assert_eq!(fact(&f, "utf8_mode"), "1");
    assert_eq!(fact(&f, "env.LC_CTYPE"), "C.UTF-8");
}

/// No locale variable at all (a bare service environment): as LANG=C.
fn no_lang(mpm: Mpm) {
    let f = like_python_itself(mpm, "locale-none", &[]);
    assert_eq!(fact(&f, "env.LANG"), "None");
    assert_eq!(fact(&f, "LC_CTYPE"), "C.UTF-8");
    assert_eq!(fact(&f, "utf8_mode"), "1");
}

/// Under Apache's LANG=C, a group's `lang=` is the LANG its Python starts
/// with; `locale=` is LC_ALL and every locale category (mod_wsgi calls
/// setlocale(LC_ALL, ...) before Python starts, so LC_NUMERIC follows it
/// too); a locale the system lacks is a warning, not a failure.
fn daemon_lang_and_locale(mpm: Mpm) {
    let server = start(
        mpm,
        "locale-daemon",
        &[("LANG", "C")],
        "WSGIDaemonProcess lang threads=1 lang=C.UTF-8\n\
         WSGIDaemonProcess locale threads=1 locale=C.UTF-8\n\
         WSGIDaemonProcess missing threads=1 locale=xx_XX.NOWHERE\n\
         WSGIScriptAlias /lang @STAGE@/apps/locale_info.wsgi process-group=lang\n\
         WSGIScriptAlias /locale @STAGE@/apps/locale_info.wsgi process-group=locale\n\
         WSGIScriptAlias /missing @STAGE@/apps/locale_info.wsgi process-group=missing\n",
    );
    let stage = server.stage();

    let lang = served(&server, "/lang");
    assert_eq!(lang, reference(stage, &[("LANG", "C.UTF-8")]));
    assert_eq!(fact(&lang, "LC_CTYPE"), "C.UTF-8");
    assert_eq!(fact(&lang, "utf8_mode"), "0");

    let locale = served(&server, "/locale");
    let mut expected = reference(stage, &[("LANG", "C"), ("LC_ALL", "C.UTF-8")]);
    expected.insert("LC_NUMERIC".into(), "C.UTF-8".into());
    assert_eq!(locale, expected);
    assert_eq!(fact(&locale, "text"), TEXT);

    let missing = served(&server, "/missing");
    assert_eq!(
        missing,
        reference(stage, &[("LANG", "C"), ("LC_ALL", "xx_XX.NOWHERE")])
    );
    assert_eq!(fact(&missing, "text"), TEXT);
    let log = server.wait_for_log(LOCALE_UNSUPPORTED, Duration::from_secs(5));
    let line = log
        .lines()
        .find(|l| l.contains(LOCALE_UNSUPPORTED))
        .unwrap();
    assert!(line.contains("[wsgi:warn]"), "{line}");
    assert!(
        line.contains("group='missing', daemon pid=")
            && line.contains(
                "Unsupported locale setting 'xx_XX.NOWHERE' specified for daemon process group 'missing'"
            ),
        "{line}"
    );
    assert_eq!(
        log.matches(LOCALE_UNSUPPORTED).count(),
        1,
        "only the group with the missing locale warns:\n{log}"
    );
    assert_no_crash(&log);
}

under_event_and_prefork!(lang_c_utf8, lang_c, no_lang, daemon_lang_and_locale,);
