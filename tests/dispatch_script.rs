//! `WSGIDispatchScript` through a real Apache, as mod_wsgi 6.1.1's
//! `wsgi_execute_dispatch`: a multi-tenant site whose dispatch script sends
//! two hosts to two daemon groups and two application groups, leaves a
//! third embedded, and picks a callable per request; the environ it sees;
//! a script defining only some functions, reloaded when it changes; each
//! way it can fail (500, never the configured route); `WSGIRestrictEmbedded
//! On` with a dispatch script; bad lines at configtest.
//! `WSGIPassApacheRequest Off` is accepted (On fails configtest: tests/config.rs).

mod common;
mod daemon_support;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use daemon_support::*;

const TENANTS: &str = "\
WSGISocketPrefix @STAGE@/run/wsgi
WSGIDaemonProcess tenant-a threads=2 display-name=%{GROUP}
WSGIDaemonProcess tenant-b threads=2 display-name=%{GROUP}
WSGIPassApacheRequest Off
WSGIScriptAlias /app @STAGE@/apps/dispatch_app.wsgi
WSGIScriptAlias /named @STAGE@/apps/dispatch_app.wsgi
WSGIScriptAlias /partial @STAGE@/apps/dispatch_app.wsgi process-group=tenant-b application-group=configured
WSGIScriptAlias /broken @STAGE@/apps/dispatch_app.wsgi
WSGIScriptAlias /missing @STAGE@/apps/dispatch_app.wsgi
WSGIDispatchScript @STAGE@/apps/dispatch_tenants.py
<Location /named>
  WSGIDispatchScript @STAGE@/apps/dispatch_tenants.py application-group=dispatcher
</Location>
<Location /partial>
  WSGIDispatchScript @STAGE@/apps/dispatch_partial.py application-group=%{SERVER}
</Location>
<Location /broken>
  WSGIDispatchScript @STAGE@/apps/dispatch_broken.py
</Location>
<Location /missing>
  WSGIDispatchScript @STAGE@/apps/no_such_dispatch.py
</Location>
";

fn on_host(server: &Server, host: &str, path: &str) -> Response {
    server.request("GET", path, &[("Host", host)], b"")
}

fn facts_on(server: &Server, host: &str, path: &str) -> HashMap<String, String> {
    let r = on_host(server, host, path);
    assert_eq!(
        r.status,
        200,
        "{host}{path}: {}\n{}",
        r.text(),
        server.error_log()
    );
    key_values(&r)
}

fn pid(facts: &HashMap<String, String>) -> i32 {
    fact(facts, "pid").parse().unwrap()
}

fn hosts_and_urls_choose_groups_and_callables(mpm: Mpm) {
    let server = Server::start(Stage::new("dispatch-tenants"), &Config::new(mpm, TENANTS));
    let a = wait_for_daemons(&server, "tenant-a", 1)[0];
    let b = wait_for_daemons(&server, "tenant-b", 1)[0];

    let on_a = facts_on(&server, "a.test", "/app/x");
    assert_eq!(pid(&on_a), a);
    assert_eq!(fact(&on_a, "process_group"), "tenant-a");
    assert_eq!(fact(&on_a, "application_group"), "site-a");
    assert_eq!(fact(&on_a, "callable"), "application");
    assert_eq!(fact(&on_a, "callable_object"), "application");
    assert_eq!(
        fact(&on_a, "request_rec"),
        "False",
        "WSGIPassApacheRequest Off"
    );

    // bytes from the script, and a callable chosen by the request.
    let on_b = facts_on(&server, "b.test", "/app/x?callable=alt_app");
    assert_eq!(pid(&on_b), b);
    assert_eq!(fact(&on_b, "process_group"), "tenant-b");
    assert_eq!(fact(&on_b, "application_group"), "site-b");
    assert_eq!(fact(&on_b, "callable"), "alt_app");
    assert_eq!(fact(&on_b, "callable_object"), "alt_app");

    // None keeps the configured (embedded) route; "%{GLOBAL}" is expanded.
    let other = facts_on(&server, "other.test", "/app/x");
    assert!(pid(&other) != a && pid(&other) != b, "{other:?}");
    assert_eq!(fact(&other, "process_group"), "");
    assert_eq!(fact(&other, "application_group"), "");

    // The environ the script sees: the request's variables as str, its own
    // context for the groups, no callable, wsgi.errors; one dict for all
    // three functions (application_group checks that).
    let probed = facts_on(&server, "a.test", "/app/x?probe=default");
    assert_eq!(pid(&probed), a);
    let seen = wait_for_file(&server, "probe-default", Duration::from_secs(10));
    for line in [
        "mod_wsgi.process_group=\n",
        "mod_wsgi.application_group=\n",
        "REQUEST_URI=/app/x?probe=default\n",
        "HTTP_HOST=a.test\n",
        "REMOTE_ADDR=127.0.0.1\n",
        "callable_absent=True\n",
        "errors=True\n",
        "types=['str']\n",
        "mod_ssl=0,None\n",
    ] {
        assert!(seen.contains(line), "{line:?} not in:\n{seen}");
    }
    let script_file = script(&server, "dispatch_app.wsgi");
    assert!(
        seen.contains(&format!("SCRIPT_FILENAME={script_file}\n")),
        "{seen}"
    );
    let dispatcher: i32 = seen
        .lines()
        .find_map(|l| l.strip_prefix("pid="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        dispatcher != a && dispatcher != b,
        "runs in the Apache child"
    );
    // application-group= names the script's own interpreter.
    facts_on(&server, "a.test", "/named/x?probe=named");
    let seen = wait_for_file(&server, "probe-named", Duration::from_secs(10));
    assert!(
        seen.contains("mod_wsgi.application_group=dispatcher\n"),
        "{seen}"
    );

    // Only callable_object defined: the alias's groups stay.
    let partial = facts_on(&server, "a.test", "/partial/x");
    assert_eq!(pid(&partial), b);
    assert_eq!(fact(&partial, "process_group"), "tenant-b");
    assert_eq!(fact(&partial, "application_group"), "configured");
    assert_eq!(fact(&partial, "callable"), "alt_app");
    // A changed dispatch script is loaded again (WSGIScriptReloading On).
    let partial_script = server.stage().path("apps/dispatch_partial.py");
    let source = std::fs::read_to_string(&partial_script).unwrap();
    std::fs::write(
        &partial_script,
        source.replace("CHOICE = \"alt_app\"", "CHOICE = \"application\""),
    )
    .unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&partial_script)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let reloaded = facts_on(&server, "a.test", "/partial/x");
    assert_eq!(fact(&reloaded, "callable"), "application");
    assert_eq!(pid(&reloaded), b, "the daemon is not restarted for it");

    assert_no_crash(&server.error_log());
    server.stop();
}

fn each_failure_is_a_500_with_its_line(mpm: Mpm) {
    let server = Server::start(Stage::new("dispatch-failures"), &Config::new(mpm, TENANTS));
    wait_for_daemons(&server, "tenant-a", 1);
    let tenants = script(&server, "dispatch_tenants.py");
    for (path, id, script, words) in [
        (
            "/app/x?fail=raise",
            "WSGIRS0241",
            tenants.clone(),
            &[
                "process_group() raised ValueError",
                "ValueError: dispatch refused this tenant",
            ][..],
        ),
        (
            "/app/x?fail=type",
            "WSGIRS0242",
            tenants.clone(),
            &[
                "application_group() returned int",
                "Application group must be a string object",
            ][..],
        ),
        (
            "/app/x?fail=latin1",
            "WSGIRS0242",
            tenants.clone(),
            &[
                "callable_object() returned str",
                "non 'latin-1' characters found",
            ][..],
        ),
        (
            "/broken/x",
            "WSGIRS0240",
            script(&server, "dispatch_broken.py"),
            &["SyntaxError"][..],
        ),
        (
            "/missing/x",
            "WSGIRS0240",
            script(&server, "no_such_dispatch.py"),
            &["No such file"][..],
        ),
    ] {
        let mark = server.log_mark();
        let r = on_host(&server, "a.test", path);
        assert_eq!(r.status, 500, "{path}: {}", r.text());
        let log = server.log_since(mark, id, Duration::from_secs(10));
        module_line(&log, id, &script);
        for word in words {
            assert!(log.contains(word), "{path}: {word:?} not in:\n{log}");
        }
    }
    // A group no WSGIDaemonProcess defines: the routing's own refusal.
    let mark = server.log_mark();
    let r = on_host(&server, "a.test", "/app/x?fail=nogroup");
    assert_eq!(r.status, 500);
    let log = server.log_since(mark, "WSGIRS0315", Duration::from_secs(10));
    assert!(log.contains("'no-such-group'"), "{log}");
    assert_no_crash(&server.error_log());
    server.stop();
}

fn restricted_children_still_dispatch(mpm: Mpm) {
    let body = format!("WSGIRestrictEmbedded On\n{TENANTS}");
    let server = Server::start(Stage::new("dispatch-restricted"), &Config::new(mpm, &body));
    let a = wait_for_daemons(&server, "tenant-a", 1)[0];
    let on_a = facts_on(&server, "a.test", "/app/x");
    assert_eq!(pid(&on_a), a);
    assert_eq!(fact(&on_a, "application_group"), "site-a");
    // The script leaves this host embedded, which the children refuse.
    let mark = server.log_mark();
    let r = on_host(&server, "other.test", "/app/x");
    assert_eq!(r.status, 500);
    server.log_since(mark, "WSGIRS0316", Duration::from_secs(10));
    server.stop();
}

under_event_and_prefork!(
    hosts_and_urls_choose_groups_and_callables,
    each_failure_is_a_500_with_its_line,
    restricted_children_still_dispatch,
);

#[test]
fn bad_lines_fail_configtest_on_their_line() {
    let stage = Stage::new("dispatch-configtest");
    for (body, needle) in [
        (
            "WSGIDispatchScript\n",
            "Location of dispatch script not supplied",
        ),
        (
            "WSGIDispatchScript /d.py process-group=x\n",
            "Invalid option to WSGI dispatch script definition",
        ),
        (
            "WSGIDispatchScript /d.py application-group=\n",
            "Invalid name for WSGI application group",
        ),
        (
            "WSGIDispatchScript /d.py application-group=%{RESOURCE}\n",
            "Invalid name for WSGI application group",
        ),
    ] {
        let config = Config::new(Mpm::Event, body);
        assert_configtest_fails(&stage, &config, "WSGIDispatchScript", &[needle]);
    }
}
