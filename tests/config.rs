//! Configuration and script loading through a real Apache: `apache2 -t`
//! errors that name the directive and line, <IfModule> guards, application
//! and process groups, missing and broken scripts, script reloading and
//! the choice of callable.

mod common;
mod req_support;

use std::time::{Duration, SystemTime};

use common::*;
use req_support::*;

fn config_errors(mpm: Mpm) {
    let stage = Stage::new("req-config-t");
    // (configuration body, the offending line, what the error must say)
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "WSGIScriptAlias /ok @STAGE@/apps/req_environ.wsgi\nWSGIScriptAlias /a /x.wsgi proces-group=x\n",
            "proces-group",
            &["WSGIScriptAlias", "unknown option 'proces-group'"],
        ),
        (
            "WSGIScriptReloading On\nWSGIScriptReloading maybe\n",
            "maybe",
            &["WSGIScriptReloading", "'maybe'"],
        ),
        (
            "WSGIPassApacheRequest Off\nWSGIPassApacheRequest On\n",
            "WSGIPassApacheRequest On",
            &["WSGIPassApacheRequest On would hand Python a raw pointer"],
        ),
        (
            "WSGIPassApacheRequest yes\n",
            "WSGIPassApacheRequest",
            &["WSGIPassApacheRequest must be one of: Off | On"],
        ),
        (
            "WSGIImportScript /x.wsgi process-group=%{GLOBAL}\n",
            "WSGIImportScript",
            &["Name of WSGI application group required"],
        ),
        (
            "<VirtualHost 127.0.0.1:*>\n  ServerName v.test\n  WSGIPythonEggs /tmp/eggs\n</VirtualHost>\n",
            "WSGIPythonEggs",
            &["WSGIPythonEggs", "VirtualHost"],
        ),
        (
            "WSGIDestroyInterpreter sometimes\n",
            "WSGIDestroyInterpreter",
            &["WSGIDestroyInterpreter must be On or Off, not 'sometimes'"],
        ),
        (
            "WSGIDaemonProcess site python-eggs=\n",
            "python-eggs",
            &["WSGIDaemonProcess", "python-eggs"],
        ),
        (
            "WSGIPerInterpreterGIL On\n",
            "WSGIPerInterpreterGIL",
            &["WSGIPerInterpreterGIL On needs Python 3.12 or later"],
        ),
        (
            "WSGIFreeThreading Off\nWSGIFreeThreading On\n",
            "WSGIFreeThreading On",
            &["free-threaded build of Python 3.13"],
        ),
        (
            "WSGIVerboseDebugging maybe\n",
            "WSGIVerboseDebugging",
            &["WSGIVerboseDebugging must be On or Off, not 'maybe'"],
        ),
        (
            "WSGIRestrictProcess site %{ENV:G}\n",
            "WSGIRestrictProcess",
            &["WSGIRestrictProcess", "'%{ENV:G}'"],
        ),
        (
            "<VirtualHost 127.0.0.1:*>\n  ServerName v.test\n  WSGIPythonHome /usr\n</VirtualHost>\n",
            "WSGIPythonHome",
            &["WSGIPythonHome", "VirtualHost"],
        ),
    ];
    for (body, offending, fragments) in cases {
        let config = Config::new(mpm, body);
        assert_configtest_fails(&stage, &config, offending, fragments);
    }

    // <IfModule> guards with either name skip our directives when the module
    // is not loaded (unguarded, they are unknown commands).
    let guarded = "<IfModule mod_wsgi.c>\nWSGIScriptAlias /a /x.wsgi\n</IfModule>\n\
                   <IfModule wsgi_module>\nWSGIDispatchScript /x.py\n</IfModule>\n";
    let mut config = Config::new(mpm, guarded);
    config.load_module = false;
    config_test(&stage, &config).expect("guarded directives are skipped");
    let mut config = Config::new(mpm, "WSGIScriptAlias /a /x.wsgi\n");
    config.load_module = false;
    let error = config_test(&stage, &config).unwrap_err();
    assert!(
        error.contains("Invalid command 'WSGIScriptAlias'"),
        "{error}"
    );
}

const LOADING_CONFIG: &str = "\
WSGIScriptAlias /missing @STAGE@/apps/req_does_not_exist.wsgi
WSGIScriptAlias /broken @STAGE@/apps/req_broken.wsgi
WSGIScriptAlias /reload-on @STAGE@/apps/req_reload_on.wsgi
WSGIScriptAlias /reload-off @STAGE@/apps/req_reload_off.wsgi
<Location /reload-off>
  WSGIScriptReloading Off
</Location>
WSGIScriptAlias /callable-default @STAGE@/apps/req_callables.wsgi
WSGIScriptAlias /callable-option @STAGE@/apps/req_callables.wsgi callable-object=alt_app
WSGIScriptAlias /callable-directive @STAGE@/apps/req_callables.wsgi
<Location /callable-directive>
  WSGICallableObject other
</Location>
WSGIScriptAlias /callable-missing @STAGE@/apps/req_callables.wsgi callable-object=nope
";

const ROUTING_CONFIG: &str = "\
WSGIScriptAlias /daemon-env @STAGE@/apps/req_environ.wsgi
<Location /daemon-env>
  SetEnv WSGI_GROUP somegroup
  WSGIProcessGroup %{ENV:WSGI_GROUP}
</Location>
WSGIScriptAlias /grouped @STAGE@/apps/req_environ.wsgi application-group=other
WSGIScriptAlias /by-host @STAGE@/apps/req_environ.wsgi application-group=%{HOST}
WSGIScriptAlias /grouped-dir @STAGE@/apps/req_environ.wsgi
<Location /grouped-dir>
  WSGIApplicationGroup mygroup
</Location>
<IfModule mod_wsgi.c>
WSGIScriptAlias /guard-c @STAGE@/apps/req_environ.wsgi
</IfModule>
<IfModule wsgi_module>
WSGIScriptAlias /guard-m @STAGE@/apps/req_environ.wsgi
</IfModule>
<IfModule !mod_wsgi.c>
WSGIScriptAlias /guard-neg @STAGE@/apps/req_environ.wsgi
</IfModule>
";

/// A script that reports its version, process and reloading setting.
fn versioned_script(version: &str) -> String {
    format!(
        "import os\n\n\ndef application(environ, start_response):\n    \
         body = ('{version} pid=%d reloading=%s' % (os.getpid(), environ['mod_wsgi.script_reloading'])).encode()\n    \
         start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])\n    \
         return [body]\n"
    )
}

/// Rewrites a script and gives it a modification time clearly newer than before.
fn rewrite(stage: &Stage, rel: &str, content: &str) {
    let path = stage.write(rel, content);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(30))
        .unwrap();
}

fn get_ok(server: &Server, target: &str) -> String {
    let r = server.get(target);
    assert_eq!(
        r.status,
        200,
        "GET {target}: {}\n{}",
        r.text(),
        server.error_log()
    );
    r.text()
}

/// Two requests on one kept-alive connection (so the same Apache child
/// serves both, even under prefork) with the script rewritten between them.
fn before_and_after_rewrite(server: &Server, target: &str, rel: &str) -> (String, String) {
    let mut conn = server.connect();
    let request = raw_request("GET", target, &[], b"", true);
    let before = exchange(&mut conn, &request);
    assert_eq!(before.status, 200, "{}", server.error_log());
    rewrite(server.stage(), rel, &versioned_script("v2"));
    let after = exchange(&mut conn, &request);
    assert_eq!(after.status, 200, "{}", server.error_log());
    let pid = |text: &str| text.split(' ').nth(1).unwrap_or_default().to_owned();
    assert_eq!(
        pid(&before.text()),
        pid(&after.text()),
        "served by one process"
    );
    (before.text(), after.text())
}

fn script_loading(mpm: Mpm) {
    let stage = Stage::new("req-loading");
    stage.write(
        "apps/req_broken.wsgi",
        "def application(environ, start_response:\n    pass\n",
    );
    stage.write("apps/req_reload_on.wsgi", &versioned_script("v1"));
    stage.write("apps/req_reload_off.wsgi", &versioned_script("v1"));
    let server = Server::start(stage, &Config::new(mpm, LOADING_CONFIG));

    // A missing script: 404 and WSGIRS0101.
    assert_eq!(server.get("/missing").status, 404);
    assert_logged(&server, "WSGIRS0101", "apps/req_does_not_exist.wsgi");

    // A syntax error: 500 and WSGIRS0201 with the traceback; once the
    // script is fixed on disk, the next request succeeds.
    assert_eq!(server.get("/broken").status, 500);
    assert_logged(&server, "WSGIRS0201", "apps/req_broken.wsgi");
    assert!(
        server.error_log().contains("SyntaxError"),
        "{}",
        server.error_log()
    );
    server
        .stage()
        .write("apps/req_broken.wsgi", &versioned_script("fixed"));
    assert!(get_ok(&server, "/broken").starts_with("fixed "));

    // WSGIScriptReloading On (the default) reloads a script whose mtime
    // changed; Off keeps the loaded one.
    let (before, after) =
        before_and_after_rewrite(&server, "/reload-on", "apps/req_reload_on.wsgi");
    assert!(
        before.starts_with("v1 ") && before.ends_with("reloading=1"),
        "{before}"
    );
    assert!(after.starts_with("v2 "), "not reloaded: {after}");
    let (before, after) =
        before_and_after_rewrite(&server, "/reload-off", "apps/req_reload_off.wsgi");
    assert!(
        before.starts_with("v1 ") && before.ends_with("reloading=0"),
        "{before}"
    );
    assert!(
        after.starts_with("v1 "),
        "reloaded although WSGIScriptReloading is Off: {after}"
    );

    // The callable: `application` by default, or as configured.
    assert_eq!(
        get_ok(&server, "/callable-default"),
        "application callable_object=application"
    );
    assert_eq!(
        get_ok(&server, "/callable-option"),
        "alt_app callable_object=alt_app"
    );
    assert_eq!(
        get_ok(&server, "/callable-directive"),
        "other callable_object=other"
    );
    assert_eq!(server.get("/callable-missing").status, 500);
    let line = assert_logged(&server, "WSGIRS0202", "apps/req_callables.wsgi");
    assert!(line.contains("'nope'"), "{line}");

    assert_id_lines_well_formed(&server.error_log());
}

fn groups_and_guards(mpm: Mpm) {
    let mut config = Config::new(mpm, ROUTING_CONFIG);
    config.preamble = format!(
        "LoadModule env_module {}/mod_env.so\n",
        apache_modules_dir().display()
    );
    let server = Server::start(Stage::new("req-routing"), &config);

    // Named application groups: the name reaches environ (and picks the
    // group's sub-interpreter: tests/subinterpreters.rs); the notice that
    // they shared the main interpreter is gone.
    let env = Environ::parse(&server.get("/grouped"));
    env.assert_str("mod_wsgi.application_group", "other");
    let env = Environ::parse(&server.get("/grouped-dir"));
    env.assert_str("mod_wsgi.application_group", "mygroup");
    // %{HOST} is the name the client asked for, with a port that is not
    // the scheme's default (mod_wsgi's rule).
    let env = Environ::parse(&server.raw(&raw_request(
        "GET",
        "/by-host",
        &[("Host", b"www.example.org:8123")],
        b"",
        false,
    )));
    env.assert_str("mod_wsgi.application_group", "www.example.org:8123");
    let log = server.error_log();
    assert!(!log.contains("WSGIRS0001"), "{log}");

    // A request routed at run time (%{ENV:...}) to a group no
    // WSGIDaemonProcess defines gets 500 and WSGIRS0315.
    assert_eq!(server.get("/daemon-env").status, 500);
    let line = assert_logged(&server, "WSGIRS0315", "apps/req_environ.wsgi");
    assert!(line.contains("somegroup"), "{line}");

    // Named literally, an undefined group does not stop Apache either (as
    // under mod_wsgi: `configtest && graceful` must never pass the test and
    // then fail); the start-up warning and each request's line name it.
    for body in [
        "WSGIScriptAlias /d @STAGE@/apps/req_environ.wsgi process-group=nosuchgroup\n",
        "WSGIScriptAlias /d @STAGE@/apps/req_environ.wsgi\n<Location /d>\n  WSGIProcessGroup nosuchgroup\n</Location>\n",
    ] {
        let other = Server::start(Stage::new("req-undefined-group"), &Config::new(mpm, body));
        let warning = other.wait_for_log(": WSGIRS0315: ", std::time::Duration::from_secs(10));
        assert!(warning.contains("'nosuchgroup'"), "{warning}");
        assert_eq!(other.get("/d").status, 500);
        let line = assert_logged(&other, "WSGIRS0315", "apps/req_environ.wsgi");
        assert!(line.contains("nosuchgroup"), "{line}");
    }

    // <IfModule> guards with either of the module's names apply.
    Environ::parse(&server.get("/guard-c"));
    Environ::parse(&server.get("/guard-m"));
    assert_eq!(server.get("/guard-neg").status, 404);

    assert_id_lines_well_formed(&server.error_log());
}

/// Directives whose only honourable setting here is Off, and one that is
/// obsolete in mod_wsgi 6 too: accepted, and the obsolete one says so once.
fn settings_without_effect_are_accepted_and_said(mpm: Mpm) {
    let body = "WSGIPerInterpreterGIL Off\nWSGIFreeThreading off\nWSGIVerboseDebugging On\n\
                WSGIScriptAlias /env @STAGE@/apps/req_environ.wsgi\n";
    let server = Server::start(Stage::new("req-config-obsolete"), &Config::new(mpm, body));
    assert_eq!(server.get("/env").status, 200);
    let log = server.wait_for_log(": WSGIRS0005: ", std::time::Duration::from_secs(10));
    let notices: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(": WSGIRS0005: "))
        .collect();
    assert_eq!(notices.len(), 1, "{log}");
    assert!(
        notices[0].contains("WSGIVerboseDebugging is obsolete"),
        "{log}"
    );
}

under_event_and_prefork!(
    config_errors,
    script_loading,
    groups_and_guards,
    settings_without_effect_are_accepted_and_said
);
