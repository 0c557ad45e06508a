//! The `mod_wsgi` and `apache` modules through a real Apache, embedded and
//! in a daemon: mod_wsgi 6's attributes, `wsgi.input` and
//! `wsgi.file_wrapper` as its types, `request_data()` and
//! `active_requests`, the four request events with mod_wsgi's keys (and a
//! subscriber that wraps the application, or fails), and
//! `process_stopping` with mod_wsgi's shutdown reasons.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use common::*;

const EMBEDDED: &str = "\
WSGIScriptAlias /m @STAGE@/apps/mod_wsgi_module.wsgi
WSGIScriptAlias /hello @STAGE@/apps/hello.wsgi
";

const DAEMON: &str = "\
WSGISocketPrefix @STAGE@/run/wsgi
WSGIDaemonProcess site processes=2 threads=4
WSGIScriptAlias /m @STAGE@/apps/mod_wsgi_module.wsgi process-group=site
WSGIScriptAlias /hello @STAGE@/apps/hello.wsgi process-group=site
";

/// One daemon of one thread, recycled after each request.
const RECYCLED: &str = "\
WSGISocketPrefix @STAGE@/run/wsgi
WSGIDaemonProcess once threads=1 maximum-requests=1
WSGIScriptAlias /m @STAGE@/apps/mod_wsgi_module.wsgi process-group=once
";

fn start(mpm: Mpm, name: &str, body: &str) -> Server {
    Server::start(Stage::new(name), &Config::new(mpm, body))
}

/// The `key=json` lines of /m/facts.
fn facts(server: &Server) -> HashMap<String, String> {
    let r = server.get("/m/facts");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    r.text()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn number(facts: &HashMap<String, String>, key: &str) -> u32 {
    facts[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} is not a number: {}", facts[key]))
}

/// What every process shows, whatever the mode.
fn assert_common_facts(f: &HashMap<String, String>, mpm: Mpm) {
    assert_eq!(f["version"], "[6, 1, 1]");
    let own: Vec<&str> = env!("CARGO_PKG_VERSION").split('.').collect();
    assert_eq!(f["mod_wsgi_rs_version"], format!("[{}]", own.join(", ")));
    // The default group, %{RESOURCE}: the script's own sub-interpreter.
    assert_eq!(f["application_group"], "\"127.0.0.1|/m\"");
    assert_eq!(f["input_is_mod_wsgi_input"], "true");
    assert_eq!(f["input_type"], "\"mod_wsgi.Input\"");
    assert_eq!(f["file_wrapper_is_mod_wsgi"], "true");
    assert_eq!(f["file_wrapper_name"], "\"mod_wsgi.FileWrapper\"");
    let bases = &f["request_timeout_bases"];
    assert!(bases.starts_with("[\"RequestTimeout\""), "{bases}");
    assert!(bases.contains("\"BaseException\""), "{bases}");
    assert!(!bases.contains("\"Exception\""), "{bases}");
    assert_eq!(f["request_data_same"], "true");
    assert_eq!(
        f["request_data_path"], "\"/facts\"",
        "request_started's subscriber shares the dict"
    );
    assert_eq!(f["at_import"], "\"dict\"");
    assert_eq!(
        f["other_thread"],
        "\"RuntimeError: no active request for thread\""
    );
    // Keyed by the environ's mod_wsgi.request_id, as mod_wsgi keys it by
    // Apache's log id: without one, nothing is listed.
    if f["request_id"] == "null" {
        assert_eq!(f["active_len"], "0");
    } else {
        assert_eq!(f["active_has_this"], "true");
        assert!(number(f, "active_len") >= 1);
    }
    assert_eq!(f["active_copy_is_dict"], "true");
    assert_eq!(f["sys_modules"], "true");
    assert_eq!(f["callback_lists"], "[\"list\", true, true]");

    let description = f["apache.description"].trim_matches('"').to_owned();
    assert!(description.starts_with("Apache/2.4."), "{description}");
    let version = f["apache.version"]
        .trim_matches(|c| c == '[' || c == ']')
        .replace(", ", ".");
    assert!(
        description.starts_with(&format!("Apache/{version}")),
        "{version} vs {description}"
    );
    assert_eq!(f["apache.mpm_name"], format!("\"{}\"", mpm.module()));
    assert!(
        f["apache.build_date"].len() > 10,
        "{}",
        f["apache.build_date"]
    );
    let threads = number(f, "apache.threads_per_process");
    let processes = number(f, "apache.maximum_processes");
    match mpm {
        Mpm::Prefork => {
            assert_eq!(threads, 1);
            assert!((1..=8).contains(&processes), "{processes}");
        }
        _ => {
            assert_eq!(threads, 8);
            assert!((1..=2).contains(&processes), "{processes}");
        }
    }
}

fn module_in_embedded_mode(mpm: Mpm) {
    let server = start(mpm, "mod-wsgi-module-embedded", EMBEDDED);
    let f = facts(&server);
    assert_common_facts(&f, mpm);
    assert_eq!(f["process_group"], "\"\"");
    // mod_wsgi's own view in an Apache child is the MPM's.
    assert_eq!(f["threads_per_process"], f["apache.threads_per_process"]);
    assert_eq!(f["maximum_processes"], f["apache.maximum_processes"]);
    assert!(
        !server.error_log().contains("WSGIRS04"),
        "{}",
        server.error_log()
    );
}

fn module_in_a_daemon(mpm: Mpm) {
    let server = start(mpm, "mod-wsgi-module-daemon", DAEMON);
    let f = facts(&server);
    assert_common_facts(&f, mpm);
    assert_eq!(f["process_group"], "\"site\"");
    assert_eq!(number(&f, "maximum_processes"), 2);
    assert_eq!(number(&f, "threads_per_process"), 4);
}

/// The events.log lines (JSON, sorted keys) that are `name` for `path`.
fn events(server: &Server, name: &str, path: &str) -> Vec<String> {
    let log = std::fs::read_to_string(server.stage().path("run/events.log")).unwrap_or_default();
    log.lines()
        .filter(|l| {
            l.contains(&format!("\"name\": \"{name}\""))
                && l.contains(&format!("\"path\": \"{path}\""))
        })
        .map(str::to_owned)
        .collect()
}

fn wait_event(server: &Server, name: &str, path: &str) -> String {
    wait_until(
        Duration::from_secs(10),
        &format!("{name} for {path}"),
        || events(server, name, path).into_iter().next(),
    )
}

/// A JSON list of strings in `line`, by key.
fn list(line: &str, key: &str) -> BTreeSet<String> {
    let start = line
        .find(&format!("\"{key}\": ["))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        + key.len()
        + 5;
    let end = start + line[start..].find(']').unwrap();
    line[start..end]
        .split(", ")
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_matches('"').to_owned())
        .collect()
}

/// Checks an event's keys are exactly mod_wsgi's: `always`, plus those of
/// `from_environ` that the request's environ had.
fn assert_keys(line: &str, always: &[&str], from_environ: &[&str]) {
    let derived = list(line, "derived");
    let mut expected: BTreeSet<String> = always.iter().map(|s| s.to_string()).collect();
    expected.extend(
        from_environ
            .iter()
            .filter(|k| derived.contains(**k))
            .map(|s| s.to_string()),
    );
    assert_eq!(list(line, "keys"), expected, "{line}");
}

const STAMPS: &[&str] = &[
    "request_id",
    "thread_id",
    "server_pid",
    "request_start",
    "queue_start",
    "daemon_start",
];

fn request_events(server: &Server) {
    let r = server.get("/m/ev/plain");
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    let r = server.post("/m/ev/post", b"some body");
    assert_eq!((r.status, r.text().as_str()), (200, "some body"));
    let mark = server.log_mark();
    let r = server.get("/m/ev/fail");
    assert_eq!(r.status, 500);
    server.log_since(
        mark,
        "the application failed on purpose",
        Duration::from_secs(10),
    );
    // A subscriber may replace the application (an APM agent's wrapper).
    let r = server.get("/m/ev/wrap");
    assert_eq!((r.status, r.text().as_str()), (200, "wrapped:hello"));
    // A failing subscriber is logged in mod_wsgi's words; the request goes on.
    let mark = server.log_mark();
    let r = server.get("/m/ev/callback-error");
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    let line = server.log_since(
        mark,
        "WSGIRS0401: ValueError exception raised by event callback for 'request_started'.",
        Duration::from_secs(10),
    );
    assert!(line.contains("subscriber failed on purpose"), "{line}");

    let started = wait_event(server, "request_started", "/ev/plain");
    assert_keys(
        &started,
        &[
            "application_object",
            "application_start",
            "callable_object",
            "daemon_connects",
            "daemon_restarts",
            "request_data",
            "request_environ",
        ],
        STAMPS,
    );
    assert!(
        started.contains("\"callable_object\": \"application\""),
        "{started}"
    );

    let response = wait_event(server, "response_started", "/ev/plain");
    assert_keys(
        &response,
        &[
            "exception_info",
            "request_data",
            "response_headers",
            "response_status",
        ],
        &["request_id"],
    );
    assert!(response.contains("\"status\": \"200 OK\""), "{response}");
    assert!(
        response.contains("\"exc_info_is_none\": true"),
        "{response}"
    );

    let finished_keys = [
        "application_finish",
        "application_time",
        "cpu_system_time",
        "cpu_time",
        "cpu_user_time",
        "gil_wait_count",
        "gil_wait_time",
        "input_length",
        "input_reads",
        "input_time",
        "output_length",
        "output_time",
        "output_writes",
        "request_data",
        "status",
    ];
    let finished = wait_event(server, "request_finished", "/ev/plain");
    assert_keys(&finished, &finished_keys, STAMPS);
    assert!(finished.contains("\"status\": 200"), "{finished}");
    assert!(finished.contains("\"output_length\": 5"), "{finished}");
    // The application's request_data() is the dict the events carry.
    assert!(
        finished.contains("\"data_marker\": \"plain\""),
        "{finished}"
    );

    let posted = wait_event(server, "request_finished", "/ev/post");
    assert!(posted.contains("\"input_length\": 9"), "{posted}");
    assert!(posted.contains("\"data_marker\": \"posted\""), "{posted}");

    let exception = wait_event(server, "request_exception", "/ev/fail");
    assert_keys(
        &exception,
        &["exception_info", "request_data"],
        &["request_id"],
    );
    assert!(
        exception.contains("ValueError('the application failed on purpose')"),
        "{exception}"
    );
    let failed = wait_event(server, "request_finished", "/ev/fail");
    assert!(failed.contains("\"status\": 500"), "{failed}");
    assert!(events(server, "response_started", "/ev/fail").is_empty());

    // close() raising is an exception of the request too.
    let r = server.get("/m/ev/close-fails");
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    let closing = wait_event(server, "request_exception", "/ev/close-fails");
    assert!(
        closing.contains("KeyError('close failed on purpose')"),
        "{closing}"
    );

    wait_event(server, "request_finished", "/ev/wrap");
    wait_event(server, "request_finished", "/ev/callback-error");
    // Nothing is published for requests of other paths, and each request
    // publishes each event once.
    assert_eq!(events(server, "request_started", "/ev/plain").len(), 1);
    assert_eq!(events(server, "request_finished", "/ev/plain").len(), 1);
}

fn events_in_embedded_mode(mpm: Mpm) {
    let server = start(mpm, "mod-wsgi-events-embedded", EMBEDDED);
    request_events(&server);
}

fn events_in_a_daemon(mpm: Mpm) {
    let server = start(mpm, "mod-wsgi-events-daemon", DAEMON);
    request_events(&server);
}

/// The shutdown_reason the `process_stopping` subscribers of the processes
/// that ran /m got, once every such process wrote it.
fn stopping_reasons(stage: &Stage, pids: &BTreeSet<String>) -> Vec<String> {
    wait_until(
        Duration::from_secs(15),
        "process_stopping in every process",
        || {
            let mut reasons = Vec::new();
            for pid in pids {
                // Created before it is written: empty is not yet.
                let text = std::fs::read_to_string(stage.path(&format!("run/stopping-{pid}")))
                    .ok()
                    .filter(|text| !text.is_empty())?;
                reasons.push(text);
            }
            Some(reasons)
        },
    )
}

fn pids_of(server: &Server) -> BTreeSet<String> {
    let log = std::fs::read_to_string(server.stage().path("run/events.log")).unwrap_or_default();
    log.lines()
        .filter_map(|l| {
            let start = l.find("\"pid\": ")? + 7;
            let end = start + l[start..].find(|c: char| !c.is_ascii_digit())?;
            Some(l[start..end].to_owned())
        })
        .collect()
}

fn process_stopping_in_embedded_mode(mpm: Mpm) {
    let server = start(mpm, "mod-wsgi-stopping-embedded", EMBEDDED);
    assert_eq!(server.get("/m/ev/plain").status, 200);
    let pids = pids_of(&server);
    assert_eq!(pids.len(), 1);
    let stage = server.stop();
    for reason in stopping_reasons(&stage, &pids) {
        // mod_wsgi's reason in an Apache child is empty.
        assert_eq!(
            reason,
            r#"{"name": "process_stopping", "shutdown_reason": ""}"#
        );
    }
}

fn process_stopping_in_a_daemon(mpm: Mpm) {
    let server = start(mpm, "mod-wsgi-stopping-daemon", DAEMON);
    assert_eq!(server.get("/m/ev/plain").status, 200);
    let pids = pids_of(&server);
    let stage = server.stop();
    for reason in stopping_reasons(&stage, &pids) {
        assert_eq!(
            reason,
            r#"{"name": "process_stopping", "shutdown_reason": "shutdown_signal"}"#
        );
    }
}

#[test]
fn process_stopping_names_maximum_requests() {
    let server = start(Mpm::Event, "mod-wsgi-stopping-recycled", RECYCLED);
    assert_eq!(server.get("/m/ev/plain").status, 200);
    let pids = pids_of(&server);
    let reasons = stopping_reasons(server.stage(), &pids);
    assert_eq!(
        reasons,
        [r#"{"name": "process_stopping", "shutdown_reason": "maximum_requests"}"#]
    );
}

under_event_and_prefork!(
    module_in_embedded_mode,
    module_in_a_daemon,
    events_in_embedded_mode,
    events_in_a_daemon,
    process_stopping_in_embedded_mode,
    process_stopping_in_a_daemon,
);

const PACKAGES_APP: &str = r#"
import apache
import mod_wsgi
import mod_wsgi.server

def application(environ, start_response):
    body = repr((mod_wsgi.version, mod_wsgi.server.WHERE, apache.FROM_USER,
                 apache.mpm_name)).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
"#;

/// mod_wsgi-express's `mod_wsgi` package on `sys.path` keeps its
/// subpackages importable through the module, and a user's own `apache`
/// module gets the attributes added (in an Apache child), as in mod_wsgi.
#[test]
fn a_mod_wsgi_package_and_an_apache_module_on_the_path() {
    let stage = Stage::new("mod-wsgi-packages");
    stage.write(
        "pylib/mod_wsgi/__init__.py",
        "from pkgutil import extend_path\n__path__ = extend_path(__path__, __name__)\n",
    );
    stage.write(
        "pylib/mod_wsgi/server/__init__.py",
        "WHERE = 'the package'\n",
    );
    stage.write("pylib/apache.py", "FROM_USER = True\n");
    stage.write("apps/packages.wsgi", PACKAGES_APP);
    let server = Server::start(
        stage,
        &Config::new(
            Mpm::Event,
            "WSGIPythonPath @STAGE@/pylib\nWSGIScriptAlias /p @STAGE@/apps/packages.wsgi\n",
        ),
    );
    let r = server.get("/p");
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert_eq!(r.text(), "((6, 1, 1), 'the package', True, 'event')");
    assert!(
        !server.error_log().contains("WSGIRS0402"),
        "{}",
        server.error_log()
    );
}

/// A `mod_wsgi` package that fails to import is reported, and the module
/// is there all the same.
#[test]
fn a_broken_mod_wsgi_package_is_reported() {
    let stage = Stage::new("mod-wsgi-broken-package");
    stage.write(
        "pylib/mod_wsgi/__init__.py",
        "raise ImportError('broken on purpose')\n",
    );
    let server = Server::start(
        stage,
        &Config::new(
            Mpm::Event,
            "WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess site python-path=@STAGE@/pylib\n\
             WSGIScriptAlias /m @STAGE@/apps/mod_wsgi_module.wsgi process-group=site\n",
        ),
    );
    let f = facts(&server);
    assert_eq!(f["process_group"], "\"site\"");
    let line = server.wait_for_log("WSGIRS0402", Duration::from_secs(10));
    assert!(line.contains("broken on purpose"), "{line}");
    assert!(line.contains("group='site'"), "{line}");
}

/// As in mod_wsgi, a daemon publishes `process_stopping` when it starts to
/// stop, while the requests in flight still run (they get
/// graceful-timeout to finish), not after them.
#[test]
fn process_stopping_comes_before_the_requests_in_flight_end() {
    let server = start(
        Mpm::Event,
        "mod-wsgi-stopping-in-flight",
        "WSGISocketPrefix @STAGE@/run/wsgi\n\
         WSGIDaemonProcess site threads=2\n\
         WSGIScriptAlias /m @STAGE@/apps/mod_wsgi_module.wsgi process-group=site\n",
    );
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| server.get("/m/wait-stop"));
        let pid: i32 = wait_until(Duration::from_secs(10), "the request's pid", || {
            std::fs::read_to_string(server.stage().path("run/waiting-pid"))
                .ok()?
                .parse()
                .ok()
        });
        // SAFETY: a plain signal to the daemon the request runs in.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let r = waiting.join().unwrap();
        assert_eq!((r.status, r.text().as_str()), (200, "stopping seen"));
    });
    let reason = std::fs::read_to_string(server.stage().path(&format!(
        "run/stopping-{}",
        std::fs::read_to_string(server.stage().path("run/waiting-pid")).unwrap()
    )))
    .unwrap();
    assert_eq!(
        reason,
        r#"{"name": "process_stopping", "shutdown_reason": "shutdown_signal"}"#
    );
}
