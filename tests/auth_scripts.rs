//! `WSGIAuthUserScript`, `WSGIAuthGroupScript`, `WSGIAccessScript` and
//! `WSGIGroupAuthoritative` through a real Apache and its own framework,
//! as mod_wsgi 6.1.1 hooks them in: `AuthBasicProvider wsgi`
//! (`check_password`), `AuthDigestProvider wsgi` (`get_realm_hash`),
//! `Require wsgi-group` (`groups_for_user`) and the access step
//! (`allow_access`), protecting static files and an application in a
//! daemon (under `WSGIRestrictEmbedded On`, so the children start Python
//! for the scripts alone); and every way a script can fail, each a 500 with its line, never access.
//! (Django's documented handlers: tests/auth_scripts_django.rs.)

mod auth_support;
mod common;
mod daemon_support;

use auth_support::*;
use common::*;
use daemon_support::*;

fn basic_digest_and_groups_protect_files_and_a_daemon(mpm: Mpm) {
    let stage = Stage::new("auth-scripts");
    stage.write("docroot/static/secret.txt", "static secret\n");
    stage.write("docroot/admins/list.txt", "admins only\n");
    stage.write("docroot/digest/secret.txt", "digest secret\n");
    let users = "@STAGE@/apps/auth_users.wsgi";
    let mut body = String::from(
        "WSGIRestrictEmbedded On\n\
         WSGISocketPrefix @STAGE@/run/wsgi\n\
         WSGIDaemonProcess site threads=2 display-name=%{GROUP}\n\
         WSGIScriptAlias /app @STAGE@/apps/auth_app.wsgi process-group=site\n\
         WSGIScriptAlias /embedded @STAGE@/apps/hello.wsgi\n\
         DocumentRoot @STAGE@/docroot\n\
         <Directory @STAGE@/docroot>\n  Require all granted\n</Directory>\n",
    );
    body += &protected(
        "/app",
        "Basic",
        &format!("  AuthBasicProvider wsgi\n  WSGIAuthUserScript {users}\n  Require valid-user\n"),
    );
    body += &protected(
        "/static",
        "Basic",
        &format!(
            "  AuthBasicProvider wsgi\n  WSGIAuthUserScript {users} application-group=%{{SERVER}}\n  Require valid-user\n"
        ),
    );
    body += &protected(
        "/admins",
        "Basic",
        &format!(
            "  AuthBasicProvider wsgi\n  WSGIAuthUserScript {users}\n  WSGIAuthGroupScript {users}\n  WSGIGroupAuthoritative Off\n  Require wsgi-group admins\n"
        ),
    );
    body += &protected(
        "/digest",
        "Digest",
        &format!("  AuthDigestProvider wsgi\n  WSGIAuthUserScript {users}\n  Require valid-user\n"),
    );
    let mut config = Config::new(mpm, &body);
    config.preamble = preamble();
    let server = Server::start(stage, &config);
    let daemon = wait_for_daemons(&server, "site", 1)[0];

    // Basic, in front of static files.
    let r = server.get("/static/secret.txt");
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"/static\"")
    );
    let r = basic(&server, "/static/secret.txt", "alice", "wonderland");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.text(), "static secret\n");
    assert_eq!(
        basic(&server, "/static/secret.txt", "alice", "wrong").status,
        401
    );
    assert_eq!(
        basic(&server, "/static/secret.txt", "nobody", "x").status,
        401
    );

    // In front of an application in a daemon: the script ran in the
    // Apache child, and the daemon sees the user.
    assert_eq!(server.get("/app/").status, 401);
    let r = basic(&server, "/app/", "bob", "builder");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    let facts = key_values(&r);
    assert_eq!(fact(&facts, "user"), "bob");
    assert_eq!(fact(&facts, "auth_type"), "Basic");
    assert_eq!(fact(&facts, "process_group"), "site");
    assert_eq!(fact(&facts, "pid").parse::<i32>().unwrap(), daemon);
    // A str answer names the request's user (mod_wsgi 6).
    let r = basic(&server, "/app/", "renamed", "anything");
    assert_eq!(fact(&key_values(&r), "user"), "alice");

    // The children started Python for the scripts, yet still run no
    // application: WSGIRestrictEmbedded On holds.
    let mark = server.log_mark();
    assert_eq!(server.get("/embedded").status, 500);
    server.log_since(mark, "WSGIRS0316", LOG_WAIT);

    // Require wsgi-group.
    let r = basic(&server, "/admins/list.txt", "alice", "wonderland");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.text(), "admins only\n");
    assert_eq!(
        basic(&server, "/admins/list.txt", "bob", "builder").status,
        401
    );
    assert_eq!(
        basic(&server, "/admins/list.txt", "carol", "singer").status,
        401
    );
    assert_eq!(
        basic(&server, "/admins/list.txt", "bob", "wrong").status,
        401
    );

    // Digest.
    let r = digest(&server, "/digest/secret.txt", "carol", "singer");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.text(), "digest secret\n");
    assert_eq!(
        digest(&server, "/digest/secret.txt", "carol", "wrong").status,
        401
    );
    assert_eq!(
        digest(&server, "/digest/secret.txt", "nobody", "x").status,
        401
    );

    let log = server.error_log();
    // The scripts' environ: the group application-group= names (%{SERVER}
    // expanded: the ServerName, and no port, which is the scheme's default
    // for a request whose Host names none; none: %{GLOBAL}), never a
    // daemon group, never the credentials.
    assert!(
        log.contains(
            "auth-note check_password user=alice group='127.0.0.1' process_group='' has_authorization=False remote_addr=127.0.0.1"
        ),
        "{log}"
    );
    assert!(
        log.contains(
            "auth-note check_password user=bob group='' process_group='' has_authorization=False"
        ),
        "{log}"
    );
    assert!(
        log.contains("auth-note get_realm_hash user=carol group=''"),
        "{log}"
    );
    assert!(
        log.contains("auth-note groups_for_user user=carol"),
        "{log}"
    );
    assert!(
        log.contains("WSGIRS0235: Authorization of user 'bob' to access '/admins/list.txt' failed. User is not a member of designated groups."),
        "{log}"
    );
    assert!(
        log.contains("WSGIRS0235: Authorization of user 'carol' to access '/admins/list.txt' failed. User is not a member of any groups."),
        "{log}"
    );
    assert!(
        log.contains("WSGIRS0005: WSGIGroupAuthoritative is obsolete"),
        "{log}"
    );
    assert_no_crash(&log);
    assert!(!log.contains("Traceback"), "{log}");
    server.stop();
}

fn access_script_and_every_failure(mpm: Mpm) {
    let stage = Stage::new("auth-failures");
    let access = "@STAGE@/apps/auth_access.wsgi";
    let users = "@STAGE@/apps/auth_users.wsgi";
    let mut body = String::new();
    for location in [
        "/blocked",
        "/allowed",
        "/undecided",
        "/access-raises",
        "/access-wrongtype",
        "/access-missing",
        "/access-broken",
        "/access-nothing",
        "/basic",
        "/basic-broken",
        "/basic-nothing",
        "/basic-missing",
        "/basic-noscript",
        "/groups-raise",
        "/groups-wrongtype",
        "/groups-noscript",
    ] {
        body += &format!("WSGIScriptAlias {location} @STAGE@/apps/hello.wsgi\n");
    }
    for (location, script) in [
        ("/blocked", access),
        ("/allowed", access),
        ("/undecided", access),
        ("/access-raises", access),
        ("/access-wrongtype", access),
        ("/access-missing", "@STAGE@/apps/no_such_script.wsgi"),
        ("/access-broken", "@STAGE@/apps/auth_broken.wsgi"),
        ("/access-nothing", "@STAGE@/apps/auth_nothing.wsgi"),
    ] {
        let extra = if location == "/undecided" {
            "  Require all denied\n"
        } else {
            ""
        };
        body += &format!(
            "<Location {location}>\n  WSGIAccessScript {script} application-group=checks\n{extra}</Location>\n"
        );
    }
    for (location, script) in [
        ("/basic", users),
        ("/basic-broken", "@STAGE@/apps/auth_broken.wsgi"),
        ("/basic-nothing", "@STAGE@/apps/auth_nothing.wsgi"),
        ("/basic-missing", "@STAGE@/apps/no_such_script.wsgi"),
    ] {
        body += &protected(
            location,
            "Basic",
            &format!(
                "  AuthBasicProvider wsgi\n  WSGIAuthUserScript {script}\n  Require valid-user\n"
            ),
        );
    }
    body += &protected(
        "/basic-noscript",
        "Basic",
        "  AuthBasicProvider wsgi\n  Require valid-user\n",
    );
    for location in ["/groups-raise", "/groups-wrongtype"] {
        body += &protected(
            location,
            "Basic",
            &format!(
                "  AuthBasicProvider wsgi\n  WSGIAuthUserScript {users}\n  WSGIAuthGroupScript {users}\n  Require wsgi-group staff\n"
            ),
        );
    }
    body += &protected(
        "/groups-noscript",
        "Basic",
        &format!(
            "  AuthBasicProvider wsgi\n  WSGIAuthUserScript {users}\n  Require wsgi-group staff\n"
        ),
    );
    let mut config = Config::new(mpm, &body);
    config.preamble = preamble();
    let server = Server::start(stage, &config);
    let script_path = |name: &str| script(&server, name);

    // The access script decides by address; None leaves it to Apache.
    let mark = server.log_mark();
    let r = server.get("/blocked");
    assert_eq!(r.status, 403, "{}", r.text());
    server.log_since(
        mark,
        "WSGIRS0234: Client denied by server configuration:",
        LOG_WAIT,
    );
    assert_eq!(get_ok(&server, "/allowed").text(), "Hello World");
    assert_eq!(
        server.get("/undecided").status,
        403,
        "Require all denied decides"
    );
    let log = server.error_log();
    assert!(
        log.contains(
            "access-note host=127.0.0.1 remote_addr=127.0.0.1 group='checks' uri=/blocked"
        ),
        "{log}"
    );

    // Every failure is a 500 with its line; the application never runs.
    let failures: Vec<(&str, Response, &str, String)> = vec![
        (
            "/access-raises",
            server.get("/access-raises"),
            "WSGIRS0232",
            script_path("auth_access.wsgi"),
        ),
        (
            "/access-wrongtype",
            server.get("/access-wrongtype"),
            "WSGIRS0233",
            script_path("auth_access.wsgi"),
        ),
        (
            "/access-missing",
            server.get("/access-missing"),
            "WSGIRS0230",
            script_path("no_such_script.wsgi"),
        ),
        (
            "/access-broken",
            server.get("/access-broken"),
            "WSGIRS0230",
            script_path("auth_broken.wsgi"),
        ),
        (
            "/access-nothing",
            server.get("/access-nothing"),
            "WSGIRS0231",
            script_path("auth_nothing.wsgi"),
        ),
        (
            "/basic raises",
            basic(&server, "/basic", "raises", "x"),
            "WSGIRS0232",
            script_path("auth_users.wsgi"),
        ),
        (
            "/basic wrongtype",
            basic(&server, "/basic", "wrongtype", "x"),
            "WSGIRS0233",
            script_path("auth_users.wsgi"),
        ),
        (
            "/basic-broken",
            basic(&server, "/basic-broken", "alice", "wonderland"),
            "WSGIRS0230",
            script_path("auth_broken.wsgi"),
        ),
        (
            "/basic-nothing",
            basic(&server, "/basic-nothing", "alice", "wonderland"),
            "WSGIRS0231",
            script_path("auth_nothing.wsgi"),
        ),
        (
            "/basic-missing",
            basic(&server, "/basic-missing", "alice", "wonderland"),
            "WSGIRS0230",
            script_path("no_such_script.wsgi"),
        ),
        (
            "/groups-raise",
            basic(&server, "/groups-raise", "bob", "builder"),
            "WSGIRS0232",
            script_path("auth_users.wsgi"),
        ),
        (
            "/groups-wrongtype",
            basic(&server, "/groups-wrongtype", "bob", "builder"),
            "WSGIRS0233",
            script_path("auth_users.wsgi"),
        ),
    ];
    let log = server.error_log();
    for (what, r, id, script) in &failures {
        assert_eq!(r.status, 500, "{what}: {}\n{log}", r.text());
        assert!(!r.text().contains("Hello World"), "{what}");
        let line = log
            .lines()
            .find(|l| l.contains(&format!(": {id}: ")) && l.contains(&format!("script='{script}'")))
            .unwrap_or_else(|| panic!("{what}: no {id} line for {script} in:\n{log}"));
        assert!(line.contains("mod_wsgi_rs (pid="), "{line}");
    }
    for needle in [
        "RuntimeError: allow_access fails on purpose",
        "RuntimeError: check_password fails on purpose",
        "RuntimeError: groups_for_user fails on purpose",
        "SyntaxError",
        "Result returned from 'allow_access'",
        "must be a boolean or None, not 'str'",
        "Basic auth provider must return True, False, None or user name as string, not 'int'",
        "is not iterable",
        "does not provide 'allow_access' callable",
        "does not provide 'Basic' auth provider",
    ] {
        assert!(log.contains(needle), "{needle:?} not in:\n{log}");
    }

    // A provider or Require line with no script to call.
    for (path, needle) in [
        (
            "/basic-noscript",
            "Location of WSGI user authentication script not provided",
        ),
        (
            "/groups-noscript",
            "Location of WSGI group authorization script not provided",
        ),
    ] {
        let mark = server.log_mark();
        let r = basic(&server, path, "bob", "builder");
        assert_eq!(r.status, 500, "{path}: {}", r.text());
        let line = server.log_since(mark, "WSGIRS0236", LOG_WAIT);
        assert!(line.contains(needle), "{line}");
    }
    // And the working script still works after all that.
    assert_eq!(basic(&server, "/basic", "alice", "wonderland").status, 200);
    assert_no_crash(&server.error_log());
    server.stop();
}

under_event_and_prefork!(
    basic_digest_and_groups_protect_files_and_a_daemon,
    access_script_and_every_failure
);

/// A changed script is loaded again (`WSGIScriptReloading`, On by default),
/// as mod_wsgi reloads its authentication scripts.
#[test]
fn a_changed_script_is_loaded_again() {
    let stage = Stage::new("auth-reload");
    let gate = stage.write(
        "gate.wsgi",
        "def allow_access(environ, host):\n    return False\n",
    );
    let mut config = Config::new(
        Mpm::Event,
        "WSGIScriptAlias /gate @STAGE@/apps/hello.wsgi\n\
         <Location /gate>\n  WSGIAccessScript @STAGE@/gate.wsgi\n</Location>\n",
    );
    config.preamble = preamble();
    let server = Server::start(stage, &config);
    assert_eq!(server.get("/gate").status, 403);
    std::fs::write(&gate, "def allow_access(environ, host):\n    return True\n").unwrap();
    // A modification time that differs whatever the file system's clock
    // granularity.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&gate)
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert_eq!(get_ok(&server, "/gate").text(), "Hello World");
    server.stop();
}

const LOG_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[test]
fn bad_lines_fail_configtest_on_their_line() {
    let stage = Stage::new("auth-configtest");
    for (line, needle) in [
        (
            "WSGIAuthUserScript",
            "Location of auth user script not supplied",
        ),
        (
            "WSGIAuthGroupScript",
            "Location of auth group script not supplied",
        ),
        ("WSGIAccessScript", "Location of access script not supplied"),
        (
            "WSGIAuthUserScript /x.wsgi process-group=site",
            "Invalid option to WSGI auth user script definition",
        ),
        (
            "WSGIAccessScript /x.wsgi application-group=",
            "Invalid name for WSGI application group",
        ),
        (
            "WSGIGroupAuthoritative maybe",
            "WSGIGroupAuthoritative must be one of: Off | On",
        ),
    ] {
        let mut config = Config::new(
            Mpm::Event,
            &format!("<Location /x>\n  {line}\n</Location>\n"),
        );
        config.preamble = preamble();
        assert_configtest_fails(&stage, &config, line, &[needle]);
    }
    // As in mod_wsgi (OR_AUTHCFG), not at server level.
    let config = Config::new(Mpm::Event, "WSGIAuthUserScript /x.wsgi\n");
    assert_configtest_fails(&stage, &config, "WSGIAuthUserScript", &["not allowed here"]);
}
