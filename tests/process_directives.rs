//! The directives about how processes run, through a real Apache:
//! `WSGIRestrictStdin`, `WSGIRestrictStdout`, `<WSGIInterpreterOptions>`,
//! `WSGICaseSensitivity`, `WSGISocketRotation`, `WSGIAcceptMutex` and
//! `WSGIIgnoreActivity`, each with mod_wsgi 6.1.1's effect and its refusal
//! of a bad value at configtest.

mod common;
mod daemon_support;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use daemon_support::{count, daemon_pids, socket_files, wait_for_daemons};

const WAIT: Duration = Duration::from_secs(15);
const RESTRICTED_STDOUT: &str = "raised OSError: sys.stdout access restricted by mod_wsgi";
const RESTRICTED_STDIN: &str = "raised OSError: sys.stdin access restricted by mod_wsgi";

fn daemon_lines(extra: &str) -> String {
    format!(
        "WSGISocketPrefix @STAGE@/run/wsgi\n\
         WSGIDaemonProcess site threads=2 display-name=%{{GROUP}}\n\
         WSGIScriptAlias /embedded @STAGE@/apps/process_info.wsgi\n\
         WSGIScriptAlias /daemon @STAGE@/apps/process_info.wsgi process-group=site\n{extra}"
    )
}

fn assert_unrestricted(f: &HashMap<String, String>, place: &str) {
    assert_eq!(fact(f, "stdout_type"), "TextIOWrapper", "{place}");
    assert_eq!(fact(f, "print"), "ok None", "{place}");
    assert_eq!(fact(f, "print_at_import"), "ok None", "{place}");
    assert!(fact(f, "stdin_read").starts_with("ok "), "{place}: {f:?}");
    assert_ne!(fact(f, "stdin_type"), "Restricted", "{place}");
}

/// By default (as mod_wsgi 6) neither stream is restricted: print() goes to
/// the error log. With both On, every use raises OSError naming the stream,
/// at import and in a request, in the Apache children and in the daemons;
/// sys.stderr stays the error log.
fn restricted_streams(mpm: Mpm) {
    let server = Server::start(
        Stage::new("proc-stdio-off"),
        &Config::new(mpm, &daemon_lines("")),
    );
    for path in ["/embedded", "/daemon"] {
        assert_unrestricted(&facts(&server, path), path);
    }
    server.wait_for_log("process_info request", WAIT);
    drop(server);

    let server = Server::start(
        Stage::new("proc-stdio-on"),
        &Config::new(
            mpm,
            &daemon_lines("WSGIRestrictStdout On\nWSGIRestrictStdin On\n"),
        ),
    );
    for path in ["/embedded", "/daemon"] {
        let f = facts(&server, path);
        assert_eq!(fact(&f, "stdout_type"), "Restricted", "{path}");
        assert_eq!(fact(&f, "stdin_type"), "Restricted", "{path}");
        assert_eq!(fact(&f, "print"), RESTRICTED_STDOUT, "{path}");
        assert_eq!(fact(&f, "print_at_import"), RESTRICTED_STDOUT, "{path}");
        assert_eq!(fact(&f, "stdin_read"), RESTRICTED_STDIN, "{path}");
        assert_eq!(fact(&f, "stderr"), "ok 0", "{path}");
    }
    let log = server.error_log();
    assert!(!log.contains("process_info request"), "{log}");
    assert_no_crash(&log);
}

/// `<WSGIInterpreterOptions>` scopes the options to the processes its
/// selectors pick: `process-group=NAME` a daemon group, `%{GLOBAL}` the
/// Apache children; the most specific section wins; path entries are
/// layered; a section for another application group selects that group's
/// sub-interpreter.
fn interpreter_options_sections(mpm: Mpm) {
    let sections = "\
WSGISwitchInterval 0.002
<WSGIInterpreterOptions>
    WSGIPythonPath /srv/layer-all
    WSGIRestrictStdout On
</WSGIInterpreterOptions>
<WSGIInterpreterOptions process-group=%{GLOBAL}>
    WSGIRestrictStdout Off
</WSGIInterpreterOptions>
<WSGIInterpreterOptions process-group=site>
    WSGIPythonPath /srv/layer-site
    WSGISwitchInterval 0.004
    WSGIRestrictStdin On
</WSGIInterpreterOptions>
<WSGIInterpreterOptions process-group=site application-group=%{GLOBAL}>
    WSGISwitchInterval 0.006
</WSGIInterpreterOptions>
<WSGIInterpreterOptions application-group=other>
    WSGIRestrictStdin On
</WSGIInterpreterOptions>
";
    let server = Server::start(
        Stage::new("proc-sections"),
        &Config::new(
            mpm,
            &daemon_lines(&format!(
                "{sections}WSGIScriptAlias /other @STAGE@/apps/process_info.wsgi \
                 application-group=other\n"
            )),
        ),
    );
    let embedded = facts(&server, "/embedded");
    assert_unrestricted(&embedded, "embedded");
    assert_eq!(fact(&embedded, "switchinterval"), "0.002");
    assert_eq!(fact(&embedded, "layers"), "/srv/layer-all");
    let daemon = facts(&server, "/daemon");
    assert_eq!(fact(&daemon, "print"), RESTRICTED_STDOUT);
    assert_eq!(fact(&daemon, "stdin_read"), RESTRICTED_STDIN);
    assert_eq!(fact(&daemon, "switchinterval"), "0.006");
    assert_eq!(fact(&daemon, "layers"), "/srv/layer-all,/srv/layer-site");
    // application-group=other: the Apache children's options, with stdin
    // restricted on top; the process's switch interval.
    let other = facts(&server, "/other");
    assert_eq!(fact(&other, "print"), "ok None");
    assert_eq!(fact(&other, "stdin_read"), RESTRICTED_STDIN);
    assert_eq!(fact(&other, "switchinterval"), "0.002");
    assert_eq!(fact(&other, "layers"), "/srv/layer-all");
    let log = server.error_log();
    assert!(!log.contains("WSGIRS0007"), "{log}");
    assert_no_crash(&log);
}

/// With `WSGICaseSensitivity Off` one script reached under two spellings
/// of its path is one module, and `%{RESOURCE}` is lower-cased; On (the
/// default on Linux) keeps them apart.
fn case_sensitivity(mpm: Mpm) {
    for (setting, same) in [("", false), ("WSGICaseSensitivity Off\n", true)] {
        let stage = Stage::new("proc-case");
        std::fs::create_dir_all(stage.path("apps/CASE")).unwrap();
        std::fs::copy(
            stage.path("apps/process_info.wsgi"),
            stage.path("apps/CASE/info.wsgi"),
        )
        .unwrap();
        std::os::unix::fs::symlink("CASE", stage.path("apps/case")).unwrap();
        stage.make_readable();
        let body = format!(
            "{setting}WSGIScriptAlias /Upper @STAGE@/apps/CASE/info.wsgi\n\
             WSGIScriptAlias /lower @STAGE@/apps/case/info.wsgi\n\
             WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess site threads=1\n\
             WSGIScriptAlias /DaemonUpper @STAGE@/apps/CASE/info.wsgi process-group=site\n\
             WSGIScriptAlias /daemonlower @STAGE@/apps/case/info.wsgi process-group=site\n"
        );
        let server = Server::start(stage, &Config::new(mpm, &body));
        for (upper, lower) in [("/Upper", "/lower"), ("/DaemonUpper", "/daemonlower")] {
            let a = facts(&server, upper);
            let b = facts(&server, lower);
            assert_eq!(
                fact(&a, "module") == fact(&b, "module"),
                same,
                "{setting:?}: {a:?} {b:?}"
            );
            let group = fact(&a, "application_group");
            let expected = if same {
                upper.to_ascii_lowercase()
            } else {
                upper.to_owned()
            };
            assert!(
                group.ends_with(&format!("|{expected}")),
                "{setting:?}: {group}"
            );
        }
        assert_no_crash(&server.error_log());
    }
}

/// `WSGISocketRotation On`: each restart generation gets its own socket
/// name; Off (this module's default, see README) keeps the name across a
/// graceful restart. The daemons serve after the restart either way.
fn socket_rotation(mpm: Mpm) {
    for (setting, rotated) in [
        ("WSGISocketRotation On\n", true),
        ("", false),
        ("WSGISocketRotation Off\n", false),
    ] {
        let server = Server::start(
            Stage::new("proc-rotation"),
            &Config::new(mpm, &daemon_lines(setting)),
        );
        let before_pids = wait_for_daemons(&server, "site", 1);
        let before = socket_files(&server);
        assert_eq!(before.len(), 1, "{before:?}");
        let name = before[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let middle = name.split('.').nth(2).unwrap().to_owned();
        if rotated {
            assert_eq!(middle, "0", "{name}");
        } else {
            assert!(middle.starts_with('u'), "{name}");
        }
        server.signal("graceful");
        wait_until(WAIT, "new daemons", || {
            let now = daemon_pids(&server, "site");
            (now.len() == 1 && !before_pids.contains(&now[0])).then_some(())
        });
        let after = wait_until(WAIT, "the new socket", || {
            let files = socket_files(&server);
            (files.len() == 1 && (files != before) == rotated).then_some(files)
        });
        assert_eq!(after == before, !rotated, "{before:?} {after:?}");
        let f = wait_until(WAIT, "a daemon answer", || {
            let r = server.get("/daemon");
            (r.status == 200).then(|| key_values(&r))
        });
        assert!(!before_pids.contains(&fact(&f, "pid").parse().unwrap()));
        assert_no_crash(&server.error_log());
    }
}

/// `WSGIAcceptMutex`: accepted with mod_wsgi's mechanisms; it has no
/// effect here, which a notice says once; several daemons still serve.
fn accept_mutex(mpm: Mpm) {
    let server = Server::start(
        Stage::new("proc-mutex"),
        &Config::new(
            mpm,
            "WSGIAcceptMutex flock\n\
             WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess site processes=2 threads=1 display-name=%{GROUP}\n\
             WSGIScriptAlias /daemon @STAGE@/apps/process_info.wsgi process-group=site\n",
        ),
    );
    wait_for_daemons(&server, "site", 2);
    facts(&server, "/daemon");
    let log = server.error_log();
    assert_eq!(count(&log, "WSGIRS0006"), 1, "{log}");
    let line = log.lines().find(|l| l.contains(": WSGIRS0006: ")).unwrap();
    assert!(
        line.contains("[wsgi:notice]") && line.contains("WSGIAcceptMutex flock has no effect"),
        "{line}"
    );
}

/// `WSGIIgnoreActivity On`: requests under it do not reset the daemon's
/// inactivity-timeout, so the daemon is recycled while they keep coming;
/// other requests keep it alive.
fn ignore_activity(mpm: Mpm) {
    let server = Server::start(
        Stage::new("proc-activity"),
        &Config::new(
            mpm,
            "WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess site threads=1 inactivity-timeout=2\n\
             WSGIScriptAlias /normal @STAGE@/apps/process_info.wsgi process-group=site\n\
             WSGIScriptAlias /ignored @STAGE@/apps/process_info.wsgi process-group=site\n\
             <Location /ignored>\n  WSGIIgnoreActivity On\n</Location>\n",
        ),
    );
    let pid_of = |path: &str| -> Option<i32> {
        let r = server.try_get(path)?;
        (r.status == 200).then(|| fact(&key_values(&r), "pid").parse().unwrap())
    };
    let first = wait_until(WAIT, "a daemon", || pid_of("/normal"));
    // Steady ordinary requests: the daemon stays, well past the timeout.
    assert_holds(Duration::from_secs(5), "the daemon to stay", || {
        pid_of("/normal") == Some(first)
    });
    // Steady ignored requests: it is recycled all the same.
    wait_until(WAIT, "the idle daemon to be replaced", || {
        pid_of("/ignored").filter(|&pid| pid != first)
    });
    let log = server.error_log();
    assert!(log.contains("inactivity-timeout"), "{log}");
    assert_no_crash(&log);
}

/// Each bad value fails configtest on its line with mod_wsgi's words;
/// the main-server-only ones fail in a virtual host.
fn bad_values_fail_configtest(mpm: Mpm) {
    let stage = Stage::new("proc-config-t");
    let cases: &[(&str, &str, &str)] = &[
        (
            "WSGIRestrictStdin maybe\n",
            "WSGIRestrictStdin",
            "must be one of: Off | On",
        ),
        (
            "WSGIRestrictStdout 1\n",
            "WSGIRestrictStdout",
            "must be one of: Off | On",
        ),
        (
            "WSGICaseSensitivity yes\n",
            "WSGICaseSensitivity",
            "must be one of: Off | On",
        ),
        (
            "WSGISocketRotation yes\n",
            "WSGISocketRotation",
            "must be one of: Off | On",
        ),
        (
            "WSGIAcceptMutex spin\n",
            "WSGIAcceptMutex",
            "Accept mutex lock mechanism 'spin' is invalid. Valid accept mutex mechanisms for this platform are: default, flock, fcntl",
        ),
        (
            "<Location /x>\n  WSGIIgnoreActivity sometimes\n</Location>\n",
            "WSGIIgnoreActivity",
            "must be one of: Off | On",
        ),
        (
            "<WSGIInterpreterOptions host=a>\n</WSGIInterpreterOptions>\n",
            "<WSGIInterpreterOptions",
            "unknown selector 'host', expected process-group or application-group",
        ),
        (
            "<WSGIInterpreterOptions process-group=a>\n  WSGISwitchInterval 1\n  WSGIRestrictStdout perhaps\n</WSGIInterpreterOptions>\n",
            "WSGIRestrictStdout",
            "must be one of: Off | On, not 'perhaps'",
        ),
        (
            "<VirtualHost 127.0.0.1:*>\n  ServerName v.test\n  WSGIRestrictStdout On\n</VirtualHost>\n",
            "WSGIRestrictStdout",
            "VirtualHost",
        ),
        (
            "<VirtualHost 127.0.0.1:*>\n  ServerName v.test\n  <WSGIInterpreterOptions>\n  </WSGIInterpreterOptions>\n</VirtualHost>\n",
            "<WSGIInterpreterOptions",
            "VirtualHost",
        ),
    ];
    for (body, directive, fragment) in cases {
        let config = Config::new(mpm, body);
        assert_configtest_fails(&stage, &config, directive, &[fragment]);
    }
    let good = "WSGIRestrictStdin Off\nWSGIRestrictStdout On\nWSGICaseSensitivity On\n\
                WSGISocketRotation Off\nWSGIAcceptMutex default\nWSGIIgnoreActivity Off\n\
                <WSGIInterpreterOptions process-group=a application-group=%{GLOBAL}>\n\
                WSGIRestrictSignal Off\nWSGIPythonPath /srv\n</WSGIInterpreterOptions>\n";
    config_test(&stage, &Config::new(mpm, good)).expect("the good values are accepted");
}

under_event_and_prefork!(
    restricted_streams,
    interpreter_options_sections,
    case_sensitivity,
    socket_rotation,
    accept_mutex,
    ignore_activity,
    bad_values_fail_configtest,
);
