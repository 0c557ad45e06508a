//! Daemon groups in real configuration layouts: where they are defined
//! (main server, virtual hosts) and used from, and the mistakes that
//! configtest must catch on their line or that must give 500 at run time,
//! as under mod_wsgi.

mod common;
mod daemon_support;

use common::*;
use daemon_support::*;

/// Debian's 000-default site next to an application configured in the
/// main server (conf-enabled/), and the usual HTTPS virtual host: a
/// `<VirtualHost>` with no WSGI directive shares the main server's settings
/// object, which once made its daemon groups count twice (WSGIRS0312).
fn main_server_groups_serve_virtual_hosts_without_wsgi_directives(mpm: Mpm) {
    let server = Server::start(
        Stage::new("daemon-main-group-vhost"),
        &Config::new(
            mpm,
            "WSGISocketPrefix @STAGE@/run/wsgi
WSGIDaemonProcess site processes=1 threads=2
WSGIProcessGroup site
WSGIScriptAlias /env @STAGE@/apps/req_environ.wsgi
<VirtualHost 127.0.0.1:*>
  ServerName other.test
</VirtualHost>
",
        ),
    );
    for host in ["127.0.0.1", "other.test"] {
        assert_process_group(&server, host, "/env", "'site'");
    }
    assert!(
        !server.error_log().contains("WSGIRS0312"),
        "{}",
        server.error_log()
    );
}

/// mod_wsgi's rules for who may use a group: one defined in a virtual host
/// serves that host only (and hosts of the same ServerName), one of the
/// main server every host; `WSGIRestrictProcess` narrows a context to the
/// groups it lists (`%{GLOBAL}`: embedded mode).
fn groups_belong_to_their_virtual_host(mpm: Mpm) {
    let server = Server::start(
        Stage::new("daemon-vhost-groups"),
        &Config::new(
            mpm,
            "WSGISocketPrefix @STAGE@/run/wsgi
WSGIDaemonProcess shared processes=1 threads=2
<VirtualHost 127.0.0.1:*>
  ServerName a.test
  WSGIDaemonProcess only-a processes=1 threads=2
  WSGIScriptAlias /own @STAGE@/apps/req_environ.wsgi process-group=only-a
  WSGIScriptAlias /shared @STAGE@/apps/req_environ.wsgi process-group=shared
</VirtualHost>
<VirtualHost 127.0.0.1:*>
  ServerName b.test
  WSGIScriptAlias /borrowed @STAGE@/apps/req_environ.wsgi process-group=only-a
  WSGIScriptAlias /shared @STAGE@/apps/req_environ.wsgi process-group=shared
  WSGIScriptAlias /restricted @STAGE@/apps/req_environ.wsgi
  WSGIScriptAlias /restricted-daemon @STAGE@/apps/req_environ.wsgi process-group=shared
  WSGIScriptAlias /restricted-global @STAGE@/apps/req_environ.wsgi
  <Location /restricted>
    WSGIRestrictProcess shared
  </Location>
  <Location /restricted-global>
    WSGIRestrictProcess shared %{GLOBAL}
  </Location>
</VirtualHost>
",
        ),
    );
    let get = |host: &str, path: &str| server.request("GET", path, &[("Host", host)], b"");
    for (host, path, group) in [
        ("a.test", "/own", "'only-a'"),
        ("a.test", "/shared", "'shared'"),
        ("b.test", "/shared", "'shared'"),
        ("b.test", "/restricted-daemon", "'shared'"),
        ("b.test", "/restricted-global", "''"),
    ] {
        assert_process_group(&server, host, path, group);
    }
    // Another host's group: 500, and a line that says whose it is.
    let mark = server.log_mark();
    assert_eq!(get("b.test", "/borrowed").status, 500);
    let line = server.log_since(mark, ": WSGIRS0318: ", WAIT);
    assert!(
        line.contains("'only-a'") && line.contains("'a.test'"),
        "{line}"
    );
    // Embedded mode where WSGIRestrictProcess lists only a daemon group.
    let mark = server.log_mark();
    assert_eq!(get("b.test", "/restricted").status, 500);
    let line = server.log_since(mark, ": WSGIRS0317: ", WAIT);
    assert!(line.contains("'%{GLOBAL}'"), "{line}");
}

fn configuration_errors_name_the_problem(mpm: Mpm) {
    let try_config = |name: &str, body: &str| -> String {
        match Server::try_start(Stage::new(name), &Config::new(mpm, body)) {
            Ok(server) => panic!("started with:\n{body}\n{}", server.error_log()),
            Err(e) => e,
        }
    };
    // Undefined groups, through process-group= and WSGIProcessGroup: as
    // under mod_wsgi, Apache starts (a start-up warning names the group)
    // and the requests routed there get 500 with a line naming it.
    for (name, body) in [
        (
            "nosuch",
            "WSGIDaemonProcess site\nWSGIScriptAlias /app @STAGE@/apps/daemon_app.wsgi process-group=nosuch\n",
        ),
        (
            "elsewhere",
            "WSGIDaemonProcess site\nWSGIProcessGroup elsewhere\nWSGIScriptAlias /app @STAGE@/apps/daemon_app.wsgi\n",
        ),
    ] {
        let stage = Stage::new("daemon-conf-undefined");
        config_test(&stage, &Config::new(mpm, body)).expect("mod_wsgi accepts it too");
        let server = Server::start(stage, &Config::new(mpm, body));
        let warning = server.log_since(0, ": WSGIRS0315: ", WAIT);
        assert!(
            warning.contains(&format!("group='{name}'")) && warning.contains("get 500"),
            "{warning}"
        );
        let mark = server.log_mark();
        assert_eq!(server.get("/app/pid").status, 500);
        let line = server.log_since(mark, ": WSGIRS0315: ", WAIT);
        assert!(line.contains(&format!("'{name}'")), "{line}");
    }
    // A name defined twice, in one server or in two.
    let e = try_config(
        "daemon-conf-dup",
        "WSGIDaemonProcess site\nWSGIDaemonProcess site threads=2\n",
    );
    assert!(e.contains("site"), "{e}");
    let e = try_config(
        "daemon-conf-dup-vhost",
        "WSGIDaemonProcess site\n<VirtualHost 127.0.0.1:*>\n  ServerName other\n  WSGIDaemonProcess site\n</VirtualHost>\n",
    );
    assert!(e.contains("'site'") && e.contains("more than once"), "{e}");
    // Options: unknown, not supported yet, malformed.
    let stage = Stage::new("daemon-conf-options");
    for (line, needle) in [
        (
            "WSGIDaemonProcess site proceses=2",
            "unknown option 'proceses' (known: user, group, ",
        ),
        (
            "WSGIDaemonProcess site chroot=srv",
            "invalid chroot directory 'srv'",
        ),
        (
            "WSGIDaemonProcess site threads=many",
            "invalid value 'many' for threads",
        ),
        // Past mod_wsgi's int it overflowed the daemons' deadlines.
        (
            "WSGIDaemonProcess site request-timeout=18446744073709551615",
            "request-timeout=18446744073709551615 is too large (at most 2147483647",
        ),
    ] {
        let e = config_test(&stage, &Config::new(mpm, &format!("{line}\n"))).expect_err(line);
        assert!(e.contains(needle), "{line}: {e}");
    }
    // What the daemons would fail on at start is caught by configtest, on
    // its line: names of users and groups that do not exist, a python-home
    // that is not a directory, and a preloading alias (process-group= with
    // application-group=, mod_wsgi's rule) whose group is not defined
    // before it.
    for (body, offending, needle) in [
        (
            "WSGIDaemonProcess site user=no-such-user-here\n",
            "WSGIDaemonProcess",
            "the user 'no-such-user-here' of the daemon process group 'site' does not exist",
        ),
        (
            "WSGIDaemonProcess site group=no-such-group-here\n",
            "WSGIDaemonProcess",
            "the group 'no-such-group-here' of the daemon process group 'site' does not exist",
        ),
        (
            "WSGIDaemonProcess site supplementary-groups=www-data,nogroup-x\n",
            "WSGIDaemonProcess",
            "'nogroup-x'",
        ),
        (
            "WSGIDaemonProcess site python-home=/nonexistent/venv\n",
            "WSGIDaemonProcess",
            "python-home '/nonexistent/venv' is not a directory",
        ),
        (
            "WSGIScriptAlias /app @STAGE@/apps/daemon_app.wsgi process-group=site application-group=%{GLOBAL}\n\
             WSGIDaemonProcess site\n",
            "WSGIScriptAlias",
            "WSGI process group not yet configured",
        ),
    ] {
        let config = Config::new(mpm, body);
        assert_configtest_fails(&stage, &config, offending, &[needle]);
    }
    // Defined first, the same preloading alias is accepted.
    config_test(
        &stage,
        &Config::new(
            mpm,
            "WSGIDaemonProcess site\n\
             WSGIScriptAlias /app @STAGE@/apps/daemon_app.wsgi process-group=site application-group=%{GLOBAL}\n",
        ),
    )
    .expect("a group defined before its preloading alias");
}

under_event_and_prefork!(
    main_server_groups_serve_virtual_hosts_without_wsgi_directives,
    groups_belong_to_their_virtual_host,
);

/// The same under every MPM: run under event only.
mod event_only {
    use super::*;
    #[test]
    fn configuration_errors_name_the_problem() {
        super::configuration_errors_name_the_problem(Mpm::Event)
    }
}
