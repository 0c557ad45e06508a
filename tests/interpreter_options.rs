//! The main server's Python start-up options, in the Apache children and
//! in the daemon processes: `WSGIPythonOptimize`, `WSGIDontWriteBytecode`,
//! `WSGIPythonHashSeed`, `WSGIPythonWarnings`, `WSGISwitchInterval` and
//! `WSGIRestrictSignal` (with mod_wsgi's defaults when they are absent),
//! and the start-up errors their bad values give. Also which of the main
//! server's `WSGIPythonHome` and `WSGIPythonPath` reach the daemons: as in
//! mod_wsgi 6, the home does (unless `python-home=`), the path does not.

mod common;
mod daemon_support;

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// The options set to something other than their defaults.
const ALL_OPTIONS: &str = "\
WSGIPythonOptimize 2
WSGIDontWriteBytecode On
WSGIPythonHashSeed 12345
WSGIPythonWarnings ignore::DeprecationWarning
WSGIPythonWarnings \"error:some text:UserWarning\"
WSGISwitchInterval 0.002
WSGIRestrictSignal On
";

const SIGNAL_IGNORED: &str = "WSGIRS0110";

/// `hash('mod_wsgi_rs')` in Debian's Python started with PYTHONHASHSEED=`seed`.
fn python_hash(seed: &str) -> String {
    let out = Command::new("/usr/bin/python3")
        .env("PYTHONHASHSEED", seed)
        .args(["-c", "print(hash('mod_wsgi_rs'))"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Asks several times (reaching several processes where there are), and
/// checks the fixed seed gives every process the hash a plain `python3`
/// with that seed computes. Returns the last answer.
fn same_hash_everywhere(server: &Server, path: &str, seed: &str) -> HashMap<String, String> {
    let expected = python_hash(seed);
    let mut pids = std::collections::BTreeSet::new();
    let mut last = HashMap::new();
    for _ in 0..6 {
        last = facts(server, path);
        pids.insert(fact(&last, "pid").to_owned());
        assert_eq!(fact(&last, "hash"), expected, "pid {}", fact(&last, "pid"));
    }
    eprintln!("hash {expected} seen in processes {pids:?}");
    last
}

/// The options of [`ALL_OPTIONS`] took effect in the process that answered.
fn assert_all_options(f: &HashMap<String, String>) {
    assert_eq!(fact(f, "optimize"), "2");
    assert_eq!(fact(f, "asserts"), "False", "assert statements ran");
    assert_eq!(fact(f, "docstrings"), "False", "docstrings kept");
    assert_eq!(fact(f, "dont_write_bytecode"), "True");
    assert_eq!(fact(f, "bytecode_written"), "False");
    assert_eq!(fact(f, "hash_randomization"), "1");
    assert_eq!(
        fact(f, "warnoptions"),
        r#"["ignore::DeprecationWarning", "error:some text:UserWarning"]"#
    );
    assert_eq!(fact(f, "switchinterval"), "0.002");
    assert_restricted(f);
}

/// signal.signal installed nothing, at import time and at request time.
fn assert_restricted(f: &HashMap<String, String>) {
    assert_eq!(fact(f, "signal_type"), "RestrictedSignal");
    for key in ["signal_at_import", "signal_at_request"] {
        let value = fact(f, key);
        assert!(
            value.starts_with("returned ") && value.ends_with("installed=False"),
            "{key}: {value}"
        );
    }
}

/// The warning line of a call to signal.signal(SIGTERM, ...) by the script.
fn assert_signal_warning(log: &str, context: &str) {
    let line = log
        .lines()
        .find(|l| l.contains(&format!(": {SIGNAL_IGNORED}: ")))
        .unwrap_or_else(|| panic!("no {SIGNAL_IGNORED} line in:\n{log}"));
    assert!(line.contains("[wsgi:warn]"), "{line}");
    assert!(line.contains(context), "{context} missing: {line}");
    assert!(
        line.contains(&format!("signal.signal({}, ...)", libc::SIGTERM))
            && line.contains("life_options.wsgi:")
            && line.contains("WSGIRestrictSignal On"),
        "{line}"
    );
}

/// Stops the server by its PidFile (SIGTERM) and checks that Apache went
/// down by itself, promptly and without a crash or a hung child.
fn assert_stops_cleanly(server: Server) {
    let pid = server.pid;
    let log_path = server.stage().path("error.log");
    let started = Instant::now();
    let _stage = server.stop();
    let took = started.elapsed();
    // SAFETY: signal 0 only checks for existence.
    assert!(
        unsafe { libc::kill(pid, 0) } != 0,
        "Apache {pid} still runs"
    );
    let log = std::fs::read_to_string(log_path).unwrap();
    assert!(
        took < Duration::from_secs(10),
        "stopping took {took:?} (the harness kills after 15 s):\n{log}"
    );
    assert!(
        log.contains("caught SIGTERM, shutting down"),
        "Apache did not shut down on SIGTERM:\n{log}"
    );
    assert_no_crash(&log);
}

fn embedded(mpm: Mpm, name: &str, options: &str) -> Server {
    Server::start(
        Stage::new(name),
        &Config::new(
            mpm,
            // The main interpreter: CPython lets only its main thread
            // install signal handlers.
            &format!(
                "{options}WSGIScriptAlias /options @STAGE@/apps/life_options.wsgi \
                 application-group=%{{GLOBAL}}\n"
            ),
        ),
    )
}

/// Every option set, in embedded mode.
fn options_in_embedded_mode(mpm: Mpm) {
    let server = embedded(mpm, "opt-embedded", ALL_OPTIONS);
    let f = same_hash_everywhere(&server, "/options", "12345");
    assert_all_options(&f);
    assert_ne!(fact(&f, "pid"), server.pid.to_string());
    let log = server.wait_for_log(SIGNAL_IGNORED, Duration::from_secs(5));
    assert_signal_warning(&log, "mod_wsgi_rs (pid=");
    assert_stops_cleanly(server);
}

/// No option given: mod_wsgi's defaults, with signal.signal restricted.
fn defaults_in_embedded_mode(mpm: Mpm) {
    let server = embedded(mpm, "opt-defaults", "");
    let f = facts(&server, "/options");
    assert_eq!(fact(&f, "optimize"), "0");
    assert_eq!(fact(&f, "asserts"), "True");
    assert_eq!(fact(&f, "docstrings"), "True");
    assert_eq!(fact(&f, "dont_write_bytecode"), "False");
    assert_eq!(fact(&f, "bytecode_written"), "True");
    assert_eq!(fact(&f, "hash_randomization"), "1");
    assert_eq!(fact(&f, "warnoptions"), "[]");
    assert_eq!(fact(&f, "switchinterval"), "0.005");
    assert_restricted(&f);
    assert_ne!(fact(&f, "hash"), python_hash("0"), "the seed is not random");
    let log = server.wait_for_log(SIGNAL_IGNORED, Duration::from_secs(5));
    assert_signal_warning(&log, "mod_wsgi_rs (pid=");
    assert_stops_cleanly(server);
}

/// WSGIRestrictSignal Off leaves signal.signal alone, and we log nothing.
/// Under the event MPM scripts load and requests run on worker threads,
/// where Python itself refuses with ValueError. A prefork child has one
/// thread, Python's main thread, so there the application's handler
/// replaces Apache's: the reason the default is On.
fn signal_unrestricted_and_seed_zero(mpm: Mpm) {
    let server = embedded(
        mpm,
        "opt-off",
        "WSGIRestrictSignal Off\nWSGIPythonHashSeed 0\nWSGIPythonOptimize 1\nWSGIDontWriteBytecode Off\n",
    );
    let f = same_hash_everywhere(&server, "/options", "0");
    assert_eq!(fact(&f, "hash_randomization"), "0");
    assert_eq!(fact(&f, "optimize"), "1");
    assert_eq!(fact(&f, "asserts"), "False");
    assert_eq!(fact(&f, "docstrings"), "True", "-O keeps docstrings");
    assert_eq!(fact(&f, "bytecode_written"), "True");
    assert_eq!(fact(&f, "signal_type"), "function");
    for key in ["signal_at_import", "signal_at_request"] {
        let value = fact(&f, key);
        if mpm == Mpm::Prefork {
            assert!(
                value.starts_with("returned ") && value.ends_with("installed=True"),
                "{key}: {value}"
            );
        } else {
            assert_eq!(
                value,
                "raised ValueError: signal only works in main thread of the main interpreter",
                "{key}"
            );
        }
    }
    let log = server.error_log();
    assert!(!log.contains(SIGNAL_IGNORED), "{log}");
    if mpm != Mpm::Prefork {
        assert_stops_cleanly(server);
        return;
    }
    // The children that installed the handler ignore Apache's SIGTERM
    // until Apache kills them (what WSGIRestrictSignal On prevents).
    let log_path = server.stage().path("error.log");
    let _stage = server.stop();
    let log = std::fs::read_to_string(log_path).unwrap();
    assert!(log.contains("still did not exit"), "{log}");
}

fn daemon(mpm: Mpm, name: &str, options: &str) -> Server {
    Server::start(
        Stage::new(name),
        &Config::new(
            mpm,
            &format!(
                "{options}WSGISocketPrefix @STAGE@/run/wsgi\n\
                 WSGIDaemonProcess opts processes=2 threads=2 display-name=%{{GROUP}}\n\
                 WSGIScriptAlias /options @STAGE@/apps/life_options.wsgi process-group=opts\n"
            ),
        ),
    )
}

/// The same options reach the daemon processes.
fn options_in_daemon_mode(mpm: Mpm) {
    let server = daemon(mpm, "opt-daemon", ALL_OPTIONS);
    let daemons = daemon_support::wait_for_daemons(&server, "opts", 2);
    let f = same_hash_everywhere(&server, "/options", "12345");
    let pid: i32 = fact(&f, "pid").parse().unwrap();
    assert!(
        daemons.contains(&pid),
        "{pid} is not a daemon of {daemons:?}"
    );
    assert_all_options(&f);
    let log = server.wait_for_log(SIGNAL_IGNORED, Duration::from_secs(5));
    assert_signal_warning(&log, "group='opts', daemon pid=");
    assert_stops_cleanly(server);
}

/// WSGIRestrictSignal Off and a fixed seed reach the daemons too.
fn unrestricted_in_daemon_mode(mpm: Mpm) {
    let server = daemon(
        mpm,
        "opt-daemon-off",
        "WSGIRestrictSignal Off\nWSGIPythonHashSeed 0\n",
    );
    let f = same_hash_everywhere(&server, "/options", "0");
    assert_eq!(fact(&f, "hash_randomization"), "0");
    assert_eq!(fact(&f, "signal_type"), "function");
    assert!(
        fact(&f, "signal_at_request").starts_with("raised ValueError"),
        "{f:?}"
    );
    assert!(!server.error_log().contains(SIGNAL_IGNORED));
    assert_stops_cleanly(server);
}

/// A daemon whose python-home cannot be used says why before Python fails
/// to start, in mod_wsgi 6's words (WSGI0100-0102): missing, not a
/// directory, not searchable by the daemon's user.
fn unusable_python_home_is_named(mpm: Mpm) {
    // A python-home that is missing or not a directory fails configtest on
    // its line (tests/daemon_config.rs). One that exists but that the
    // daemon's user cannot enter passes (root can), and gets mod_wsgi's
    // warning before Python starts: Apache started by root runs the daemons
    // as www-data, who cannot enter root's private home directory. The
    // stage cannot hold such a directory: the harness opens it all up.
    let private_home = std::fs::metadata("/root").is_ok_and(|m| {
        use std::os::unix::fs::PermissionsExt;
        m.permissions().mode() & 0o001 == 0
    });
    if !is_root() || !private_home {
        eprintln!("needs root and a private /root: skipped");
        return;
    }
    let server = Server::start(
        Stage::new("opt-bad-home"),
        &Config::new(
            mpm,
            "WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess private threads=1 python-home=/root\n",
        ),
    );
    let text = "Python home '/root' is not accessible;";
    let log = server.wait_for_log(text, Duration::from_secs(10));
    let line = log.lines().find(|l| l.contains(text)).unwrap();
    assert!(
        line.contains("[wsgi:warn]")
            && line.contains(": WSGIRS0015: ")
            && line.contains("group='private', daemon pid="),
        "{line}"
    );
    assert_stops_cleanly(server);
}

/// A group's switch-interval= replaces WSGISwitchInterval in its daemons
/// (mod_wsgi 6 sets it after the main interpreter took the server's);
/// the other groups and the Apache children keep WSGISwitchInterval.
fn switch_interval_of_a_group(mpm: Mpm) {
    let server = Server::start(
        Stage::new("opt-switch"),
        &Config::new(
            mpm,
            "WSGISwitchInterval 0.002\n\
             WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess plain threads=1\n\
             WSGIDaemonProcess own threads=1 switch-interval=0.008\n\
             WSGIScriptAlias /embedded @STAGE@/apps/life_options.wsgi\n\
             WSGIScriptAlias /plain @STAGE@/apps/life_options.wsgi process-group=plain\n\
             WSGIScriptAlias /own @STAGE@/apps/life_options.wsgi process-group=own\n",
        ),
    );
    for (path, expected) in [
        ("/embedded", "0.002"),
        ("/plain", "0.002"),
        ("/own", "0.008"),
    ] {
        let f = facts(&server, path);
        assert_eq!(fact(&f, "switchinterval"), expected, "{path}");
    }
    assert_stops_cleanly(server);
}

/// A bad value stops Apache at start-up with an error naming the
/// directive, the value and the line; so does a virtual host.
fn bad_values_are_start_up_errors(mpm: Mpm) {
    let stage = Stage::new("opt-config-t");
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "WSGIPythonOptimize 3\n",
            "WSGIPythonOptimize",
            &["'3'", "0, 1 or 2"],
        ),
        (
            "WSGIPythonHashSeed -1\n",
            "WSGIPythonHashSeed",
            &["'-1'", "'random'"],
        ),
        (
            "WSGISwitchInterval 0\n",
            "WSGISwitchInterval",
            &["'0'", "positive number"],
        ),
        (
            "WSGIRestrictSignal maybe\n",
            "WSGIRestrictSignal",
            &["'maybe'", "On or Off"],
        ),
        (
            "WSGIDontWriteBytecode yes\n",
            "WSGIDontWriteBytecode",
            &["'yes'", "On or Off"],
        ),
        (
            "WSGIPythonWarnings hush\n",
            "WSGIPythonWarnings",
            &["'hush'", "unknown action"],
        ),
        (
            "<VirtualHost 127.0.0.1:*>\n  ServerName v.test\n  WSGISwitchInterval 0.01\n</VirtualHost>\n",
            "WSGISwitchInterval",
            &["VirtualHost"],
        ),
    ];
    for (body, directive, fragments) in cases {
        let config = Config::new(mpm, body);
        assert_configtest_fails(
            &stage,
            &config,
            directive,
            &fragments
                .iter()
                .copied()
                .chain(std::iter::once(*directive))
                .collect::<Vec<_>>(),
        );
    }
    config_test(&stage, &Config::new(mpm, ALL_OPTIONS)).expect("the good values are accepted");
}

/// A virtual environment at `<stage>/<name>` made by Debian's Python (no
/// pip), with a package `locale_<name>_only` that exists only there.
fn make_venv(stage: &Stage, name: &str) -> std::path::PathBuf {
    let venv = stage.path(name);
    let status = Command::new("/usr/bin/python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "python3 -m venv failed (install python3-venv)"
    );
    let version = Command::new("/usr/bin/python3")
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .unwrap();
    let version = String::from_utf8(version.stdout).unwrap();
    let site = venv.join(format!("lib/python{}/site-packages", version.trim()));
    std::fs::write(site.join(format!("{name}_only.py")), "WHERE = 'venv'\n").unwrap();
    venv
}

/// WSGIPythonHome reaches a daemon group without python-home= (mod_wsgi 6's
/// wsgi_python_init falls back to it); python-home= wins over it.
/// WSGIPythonPath stays in the Apache children: a daemon's path is its own
/// python-path= (wsgi_daemon.c replaces wsgi_python_path with it).
fn python_home_and_path_in_daemons(mpm: Mpm) {
    let stage = Stage::new("opt-home");
    let venv = make_venv(&stage, "venv");
    let own_venv = make_venv(&stage, "ownvenv");
    stage.write("pylib/home_pathmod.py", "WHERE = 'pylib'\n");
    stage.make_readable();
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGIPythonHome @STAGE@/venv\n\
             WSGIPythonPath @STAGE@/pylib\n\
             WSGIPythonEggs @STAGE@/eggs\n\
             WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess inherits threads=1\n\
             WSGIDaemonProcess own threads=1 python-home=@STAGE@/ownvenv python-path=@STAGE@/pylib python-eggs=@STAGE@/owneggs\n\
             WSGIScriptAlias /embedded @STAGE@/apps/python_home.wsgi\n\
             WSGIScriptAlias /inherits @STAGE@/apps/python_home.wsgi process-group=inherits\n\
             WSGIScriptAlias /own @STAGE@/apps/python_home.wsgi process-group=own\n",
        ),
    );
    let pylib = server.stage().path("pylib/home_pathmod.py");
    let pylib = pylib.display().to_string();

    // PYTHON_EGG_CACHE as mod_wsgi sets it: WSGIPythonEggs in the Apache
    // children, python-eggs= in a group's daemons, nothing inherited.
    let d = server.stage().dir.display().to_string();
    for (path, eggs) in [
        ("/embedded", format!("{d}/eggs")),
        ("/inherits", "None".to_owned()),
        ("/own", format!("{d}/owneggs")),
    ] {
        assert_eq!(fact(&facts(&server, path), "eggs"), eggs, "{path}");
    }
    let embedded = facts(&server, "/embedded");
    assert_eq!(fact(&embedded, "prefix"), venv.display().to_string());
    assert!(
        !fact(&embedded, "venv").starts_with("ERROR"),
        "{embedded:?}"
    );
    assert_eq!(fact(&embedded, "pylib"), pylib);

    let inherits = facts(&server, "/inherits");
    assert_eq!(
        fact(&inherits, "prefix"),
        venv.display().to_string(),
        "{inherits:?}"
    );
    assert!(
        !fact(&inherits, "venv").starts_with("ERROR"),
        "{inherits:?}"
    );
    assert!(
        fact(&inherits, "pylib").starts_with("ERROR"),
        "{inherits:?}"
    );

    let own = facts(&server, "/own");
    assert_eq!(
        fact(&own, "prefix"),
        own_venv.display().to_string(),
        "{own:?}"
    );
    assert!(!fact(&own, "ownvenv").starts_with("ERROR"), "{own:?}");
    assert!(fact(&own, "venv").starts_with("ERROR"), "{own:?}");
    assert_eq!(fact(&own, "pylib"), pylib);
    assert_stops_cleanly(server);
}

under_event_and_prefork!(
    options_in_embedded_mode,
    defaults_in_embedded_mode,
    signal_unrestricted_and_seed_zero,
    options_in_daemon_mode,
    unrestricted_in_daemon_mode,
    bad_values_are_start_up_errors,
    python_home_and_path_in_daemons,
    switch_interval_of_a_group,
    unusable_python_home_is_named,
);
