//! Configuration layouts as users have them, each started by a real
//! Apache and served: Debian's (sites-enabled/ and conf-enabled/ included
//! from the main configuration, a site per virtual host, each with its own
//! daemon group, beside an application configured for the main server),
//! and the `configtest && graceful` routine with mistakes in it, which
//! must never stop a running server.

mod common;
mod daemon_support;

use std::process::Command;

use common::*;
use daemon_support::*;

/// A site of Debian's sites-available/: one virtual host with its group.
fn site(name: &str) -> String {
    format!(
        "<VirtualHost 127.0.0.1:*>
    ServerName {name}.test
    WSGIDaemonProcess {name} processes=1 threads=2 display-name=%{{GROUP}}
    WSGIProcessGroup {name}
    WSGIApplicationGroup %{{GLOBAL}}
    WSGIScriptAlias / @STAGE@/apps/req_environ.wsgi
</VirtualHost>
"
    )
}

fn debian_layout(mpm: Mpm) {
    let stage = Stage::new("layout-debian");
    let d = stage.dir.display().to_string();
    // 000-default: a host without WSGI directives (Debian's default site).
    stage.write(
        "sites-enabled/000-default.conf",
        "<VirtualHost 127.0.0.1:*>\n    ServerName default.test\n</VirtualHost>\n",
    );
    for name in ["one", "two"] {
        stage.write(
            &format!("sites-enabled/{name}.conf"),
            &site(name).replace("@STAGE@", &d),
        );
    }
    // conf-enabled/: an application for the main server, in its own group.
    stage.write(
        "conf-enabled/app.conf",
        &format!(
            "WSGIDaemonProcess main processes=1 threads=2 display-name=%{{GROUP}}\n\
             WSGIScriptAlias /app {d}/apps/req_environ.wsgi process-group=main\n"
        ),
    );
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGISocketPrefix @STAGE@/run/wsgi\n\
             IncludeOptional @STAGE@/conf-enabled/*.conf\n\
             IncludeOptional @STAGE@/sites-enabled/*.conf\n",
        ),
    );
    for (host, path, group) in [
        ("one.test", "/", "'one'"),
        ("two.test", "/", "'two'"),
        ("default.test", "/app", "'main'"),
        ("127.0.0.1", "/app", "'main'"),
    ] {
        assert_process_group(&server, host, path, group);
    }
    for group in ["one", "two", "main"] {
        assert_eq!(daemon_pids(&server, group).len(), 1, "{group}");
    }
}

/// A self-signed certificate for `name` in the stage (cert.pem, key.pem).
fn self_signed(stage: &Stage, name: &str) {
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        ])
        .arg(format!("/CN={name}"))
        .arg("-keyout")
        .arg(stage.path("key.pem"))
        .arg("-out")
        .arg(stage.path("cert.pem"))
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// `curl` over HTTPS to the server's second port, as `host`.
fn https_get(port: u16, host: &str, path: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sk", "-o", "-", "-w", "\n%{http_code}", "--resolve"])
        .arg(format!("{host}:{port}:127.0.0.1"))
        .arg(format!("https://{host}:{port}{path}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// The usual pair: a site's HTTP virtual host defines its group, and its
/// HTTPS twin (same ServerName, mod_ssl) uses it, as mod_wsgi allows; an
/// application of the main server is reachable over both.
fn https_twin_uses_its_http_hosts_group(mpm: Mpm) {
    let stage = Stage::new("layout-https");
    self_signed(&stage, "site.test");
    let https_port = free_port();
    let m = apache_modules_dir().display().to_string();
    let body = format!(
        "LoadModule socache_shmcb_module {m}/mod_socache_shmcb.so
LoadModule ssl_module {m}/mod_ssl.so
SSLSessionCache shmcb:@STAGE@/run/ssl_scache(512000)
Listen 127.0.0.1:{https_port}
WSGISocketPrefix @STAGE@/run/wsgi
WSGIDaemonProcess main processes=1 threads=2
WSGIScriptAlias /main @STAGE@/apps/req_environ.wsgi process-group=main
<VirtualHost 127.0.0.1:*>
    ServerName site.test
    WSGIDaemonProcess site processes=1 threads=2
    WSGIScriptAlias /app @STAGE@/apps/req_environ.wsgi process-group=site
</VirtualHost>
<VirtualHost 127.0.0.1:{https_port}>
    ServerName site.test
    SSLEngine on
    SSLCertificateFile @STAGE@/cert.pem
    SSLCertificateKeyFile @STAGE@/key.pem
    WSGIScriptAlias /app @STAGE@/apps/req_environ.wsgi process-group=site
</VirtualHost>
"
    );
    let server = Server::start(stage, &Config::new(mpm, &body));
    let r = server.request("GET", "/app", &[("Host", "site.test")], b"");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    for (path, group) in [
        ("/app", "mod_wsgi.process_group='site'"),
        ("/main", "mod_wsgi.process_group='main'"),
    ] {
        let (status, text) = https_get(https_port, "site.test", path);
        assert_eq!(status, 200, "https {path}: {text}\n{}", server.error_log());
        assert!(text.contains(group), "https {path}: {text}");
        assert!(
            text.contains("wsgi.url_scheme='https'"),
            "https {path}: {text}"
        );
    }
}

/// `apache2 -t` on the server's own configuration file.
fn configtest(server: &Server) -> Result<(), String> {
    let out = Command::new(apache_binary())
        .arg("-t")
        .arg("-f")
        .arg(&server.conf)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// What `apachectl graceful` does: configtest, then the signal only if the
/// test passed. Each mistake is either refused by the test, or started
/// without harm; the running server answers throughout.
fn configtest_then_graceful_never_stops_the_server(mpm: Mpm) {
    let base = "WSGISocketPrefix @STAGE@/run/wsgi\n\
                WSGIDaemonProcess site processes=1 threads=2 display-name=%{GROUP}\n\
                WSGIScriptAlias /app @STAGE@/apps/req_environ.wsgi process-group=site\n";
    let server = Server::start(Stage::new("layout-graceful"), &Config::new(mpm, base));
    assert_eq!(server.get("/app").status, 200, "{}", server.error_log());
    let port = server.port;
    // (extra configuration, whether configtest must refuse it)
    for (extra, refused) in [
        ("WSGIDaemonProcess other user=no-such-user-here\n", true),
        (
            "WSGIDaemonProcess other python-home=/nonexistent/venv\n",
            true,
        ),
        ("WSGIDaemonProcess other threads=many\n", true),
        (
            "WSGIScriptAlias /x @STAGE@/apps/req_environ.wsgi process-group=later application-group=%{GLOBAL}\n\
             WSGIDaemonProcess later\n",
            true,
        ),
        // Accepted by mod_wsgi too: the server starts, /typo gets 500.
        (
            "WSGIScriptAlias /typo @STAGE@/apps/req_environ.wsgi process-group=sitee\n",
            false,
        ),
    ] {
        let config = Config::new(mpm, &format!("{base}{extra}"));
        std::fs::write(&server.conf, config.render(server.stage(), port)).unwrap();
        match configtest(&server) {
            Err(e) => assert!(refused, "{extra}: refused by configtest:\n{e}"),
            Ok(()) => {
                assert!(!refused, "{extra}: passed configtest");
                let mark = server.log_mark();
                server.signal("graceful");
                server.log_since(mark, "resuming normal operations", WAIT);
                assert_eq!(server.get("/typo").status, 500);
            }
        }
        assert_eq!(
            server.get("/app").status,
            200,
            "after {extra}:\n{}",
            server.error_log()
        );
        assert!(
            alive(server.pid),
            "{extra}: Apache stopped:\n{}",
            server.error_log()
        );
    }
}

under_event_and_prefork!(
    debian_layout,
    https_twin_uses_its_http_hosts_group,
    configtest_then_graceful_never_stops_the_server,
);
