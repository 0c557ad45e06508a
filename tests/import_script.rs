//! `WSGIImportScript`, through a real Apache: the script is loaded in each
//! Apache child (process-group=%{GLOBAL}) or each daemon of its group at
//! process start, before any request; requests to the same script use that
//! module; a script that raises is logged and the process goes on; bad
//! lines fail configtest on their line, with mod_wsgi's messages.

mod common;
mod daemon_support;

use std::time::Duration;

use common::*;
use daemon_support::*;

const WAIT: Duration = Duration::from_secs(10);

/// The pids that wrote run/imported-PID so far.
fn imported_pids(stage: &Stage) -> Vec<i32> {
    let mut pids: Vec<i32> = std::fs::read_dir(stage.path("run"))
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_prefix("imported-")?.parse().ok()
        })
        .collect();
    pids.sort_unstable();
    pids
}

fn marker_pid_and_loads(server: &Server, path: &str) -> (i32, u32) {
    let r = server.get(path);
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    let facts = key_values(&r);
    (
        fact(&facts, "pid").parse().unwrap(),
        fact(&facts, "loads").parse().unwrap(),
    )
}

fn embedded_children_import_before_their_first_request(mpm: Mpm) {
    let stage = Stage::new("import-embedded");
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGIImportScript @STAGE@/apps/import_marker.py process-group=%{GLOBAL} application-group=%{GLOBAL}\n\
             WSGIScriptAlias /marker @STAGE@/apps/import_marker.py\n",
        ),
    );
    // No request has been sent: the children imported it at their start.
    let before = wait_until(WAIT, "an Apache child importing the script", || {
        Some(imported_pids(server.stage())).filter(|p| !p.is_empty())
    });
    assert!(
        !before.contains(&server.pid),
        "the parent must not run Python: {before:?}"
    );
    let (pid, loads) = marker_pid_and_loads(&server, "/marker");
    assert!(
        imported_pids(server.stage()).contains(&pid),
        "child {pid} served without importing first: {before:?}\n{}",
        server.error_log()
    );
    assert_eq!(loads, 1, "the request reused the imported module");
    server.stop();
}

fn daemons_import_at_start_and_children_do_not(mpm: Mpm) {
    let stage = Stage::new("import-daemon");
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess site processes=2 threads=2 display-name=%{GROUP}\n\
             WSGIImportScript @STAGE@/apps/import_marker.py process-group=site application-group=%{GLOBAL}\n\
             WSGIScriptAlias /marker @STAGE@/apps/import_marker.py process-group=site\n",
        ),
    );
    let daemons = wait_for_daemons(&server, "site", 2);
    let imported = wait_until(WAIT, "both daemons importing the script", || {
        Some(imported_pids(server.stage())).filter(|p| p.len() >= 2)
    });
    let mut expected = daemons.clone();
    expected.sort_unstable();
    assert_eq!(imported, expected, "each daemon imported it, nobody else");
    let (pid, loads) = marker_pid_and_loads(&server, "/marker");
    assert!(
        daemons.contains(&pid),
        "{pid} is not a daemon of {daemons:?}"
    );
    assert_eq!(loads, 1, "the request reused the imported module");
    // The child that relayed the request started its Python without it.
    assert_eq!(imported_pids(server.stage()), expected);
    server.stop();
}

fn a_failing_import_is_logged_and_the_process_goes_on(mpm: Mpm) {
    let stage = Stage::new("import-fail");
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess site threads=2 display-name=%{GROUP}\n\
             WSGIImportScript @STAGE@/apps/import_fail.py process-group=%{GLOBAL} application-group=%{GLOBAL}\n\
             WSGIImportScript @STAGE@/apps/import_fail.py process-group=site application-group=%{GLOBAL}\n\
             WSGIScriptAlias /embedded @STAGE@/apps/hello.wsgi\n\
             WSGIScriptAlias /daemon @STAGE@/apps/hello.wsgi process-group=site\n",
        ),
    );
    let daemon = wait_for_daemons(&server, "site", 1)[0];
    for path in ["/embedded", "/daemon"] {
        let r = server.get(path);
        assert_eq!(r.status, 200, "{path}: {}", server.error_log());
        assert_eq!(r.text(), "Hello World");
    }
    let script = format!("{}/apps/import_fail.py", server.stage().dir.display());
    let log = server.wait_for_log("import_fail.py fails at import on purpose", WAIT);
    let failures: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains(": WSGIRS0201: ")
                && l.contains(&format!("script='{script}'"))
                && l.contains(&format!("Unable to execute Python script file '{script}'"))
        })
        .collect();
    assert!(
        failures.iter().any(|l| l.contains("group='site'")),
        "the daemon's failure names its group:\n{log}"
    );
    assert!(
        failures.iter().any(|l| !l.contains("group=")),
        "an Apache child's failure:\n{log}"
    );
    assert!(log.contains("Traceback"), "{log}");
    assert_eq!(
        daemon_pids(&server, "site"),
        [daemon],
        "the daemon went on, not restarted"
    );
    server.stop();
}

under_event_and_prefork!(
    embedded_children_import_before_their_first_request,
    daemons_import_at_start_and_children_do_not,
    a_failing_import_is_logged_and_the_process_goes_on,
);

#[test]
fn bad_lines_fail_configtest_on_their_line() {
    let stage = Stage::new("import-configtest");
    let marker = "@STAGE@/apps/import_marker.py";
    for (body, needle) in [
        (
            format!(
                "WSGIImportScript {marker} process-group=site application-group=%{{GLOBAL}}\n\
                 WSGIDaemonProcess site\n"
            ),
            "WSGI process group not yet configured",
        ),
        (
            format!("WSGIImportScript {marker} process-group=%{{GLOBAL}}\n"),
            "Name of WSGI application group required",
        ),
        (
            format!("WSGIImportScript {marker} application-group=%{{GLOBAL}}\n"),
            "Name of WSGI process group required",
        ),
        (
            format!(
                "WSGIImportScript {marker} process-group=%{{GLOBAL}} application-group=%{{GLOBAL}} threads=2\n"
            ),
            "Invalid option to WSGI import script definition",
        ),
        (
            "WSGIImportScript\n".to_owned(),
            "Location of import script not supplied",
        ),
    ] {
        let config = Config::new(Mpm::Event, &body);
        assert_configtest_fails(&stage, &config, "WSGIImportScript", &[needle]);
    }
    config_test(
        &stage,
        &Config::new(
            Mpm::Event,
            &format!(
                "WSGIDaemonProcess site\n\
                 WSGIImportScript {marker} process-group=site application-group=%{{GLOBAL}}\n"
            ),
        ),
    )
    .expect("a group defined before its import script");
}
