//! `mod_ssl.is_https` and `mod_ssl.var_lookup` in the environ of the
//! authentication, access and dispatch scripts (mod_wsgi 6.1.1's
//! wsgi_auth.c gives them to the first two, mod_wsgi 4 gave them to
//! dispatch scripts too), through a real Apache: over TLS (mod_ssl, a
//! throw-away certificate, curl), over plain HTTP with mod_ssl loaded, and
//! without mod_ssl; for an application in embedded mode and in a daemon
//! (the scripts run in the Apache child for both). Functions kept past
//! their call raise RuntimeError, as mod_wsgi's once the request completed.

mod auth_support;
mod common;

use std::process::Command;

use auth_support::preamble;
use common::*;

const CONFIG: &str = "\
WSGISocketPrefix @STAGE@/run/wsgi
WSGIDaemonProcess site threads=2
WSGIScriptAlias /embedded @STAGE@/apps/hello.wsgi
WSGIScriptAlias /daemon @STAGE@/apps/hello.wsgi process-group=site
WSGIDispatchScript @STAGE@/apps/ssl_dispatch.py
<LocationMatch ^/(embedded|daemon)>
  WSGIAccessScript @STAGE@/apps/ssl_auth.wsgi
  AuthType Basic
  AuthName ssl
  AuthBasicProvider wsgi
  WSGIAuthUserScript @STAGE@/apps/ssl_auth.wsgi
  Require valid-user
</LocationMatch>
";

#[derive(Clone, Copy, PartialEq)]
enum Transport {
    Tls,
    /// mod_ssl loaded, the connection plain.
    PlainWithModSsl,
    PlainWithoutModSsl,
}

fn serve(transport: Transport) -> Server {
    let stage = Stage::new("script-mod-ssl");
    let m = apache_modules_dir();
    let mut body = String::new();
    if transport == Transport::Tls {
        let cert = stage.path("cert.pem");
        let key = stage.path("key.pem");
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl (Debian package openssl)");
        assert!(made.status.success(), "{made:?}");
        body = format!(
            "SSLEngine on\nSSLCertificateFile {}\nSSLCertificateKeyFile {}\n",
            cert.display(),
            key.display()
        );
    }
    body += CONFIG;
    let mut config = Config::new(Mpm::Event, &body);
    config.preamble = preamble();
    if transport != Transport::PlainWithoutModSsl {
        config.preamble += &format!(
            "LoadModule socache_shmcb_module {m}/mod_socache_shmcb.so\n\
             LoadModule ssl_module {m}/mod_ssl.so\n",
            m = m.display()
        );
    }
    Server::start(stage, &config)
}

/// GETs `path` as alice with curl (over TLS when `tls`); the body.
fn get(server: &Server, tls: bool, path: &str) -> String {
    let scheme = if tls { "https" } else { "http" };
    let out = Command::new("curl")
        .args(["-sS", "-k", "--max-time", "30", "-u", "alice:wonderland"])
        .arg(format!("{scheme}://127.0.0.1:{}{path}", server.port))
        .output()
        .expect("curl (Debian package curl)");
    assert!(out.status.success(), "{out:?}\n{}", server.error_log());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn scripts_see_mod_ssl(transport: Transport) {
    let server = serve(transport);
    let tls = transport == Transport::Tls;
    let (is_https, https) = match transport {
        Transport::Tls => ("1", "'on'"),
        Transport::PlainWithModSsl => ("0", "'off'"),
        Transport::PlainWithoutModSsl => ("0", "None"),
    };
    for path in ["/embedded", "/daemon", "/embedded"] {
        let mark = server.log_mark();
        assert_eq!(get(&server, tls, path), "Hello World");
        let log = server.log_since(mark, "ssl-note password is_https", WAIT);
        for step in ["access", "password"] {
            let line =
                format!("ssl-note {step} is_https={is_https} HTTPS={https} bytes-HTTPS={https}");
            assert!(log.contains(&line), "no {line:?} in:\n{log}");
        }
        let line = format!("ssl-note dispatch is_https={is_https} HTTPS={https}");
        assert!(log.contains(&line), "no {line:?} in:\n{log}");
    }
    let log = server.error_log();
    for step in ["access", "password"] {
        let stale = format!(
            "ssl-note {step} stale=RuntimeError: ssl_is_https() called after request completed"
        );
        assert_eq!(log.matches(&stale).count(), 2, "{stale:?} in:\n{log}");
    }
    assert!(!log.contains("stale=answered"), "{log}");
    assert!(!log.contains("Traceback"), "{log}");
}

const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[test]
fn over_tls_the_scripts_see_https() {
    scripts_see_mod_ssl(Transport::Tls);
}

#[test]
fn over_plain_http_the_scripts_see_mod_ssl_say_off() {
    scripts_see_mod_ssl(Transport::PlainWithModSsl);
}

#[test]
fn without_mod_ssl_the_functions_answer_no() {
    scripts_see_mod_ssl(Transport::PlainWithoutModSsl);
}
