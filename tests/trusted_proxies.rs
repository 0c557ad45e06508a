//! `WSGITrustedProxyHeaders` and `WSGITrustedProxies` through a real Apache,
//! embedded and in a daemon: a trusted proxy's headers rewrite REMOTE_ADDR,
//! wsgi.url_scheme, HTTP_HOST, SERVER_PORT and SCRIPT_NAME; an untrusted
//! peer's are removed, with every synonym of the categories named; where
//! nothing is named, the headers pass untouched. Bad values fail configtest
//! on their line. (The rules themselves: crates/wsgi/src/proxy/tests.rs.)

mod common;
mod req_support;

use common::*;
use req_support::*;

const CONFIG: &str = "\
WSGIDaemonProcess proxied threads=2
WSGIScriptAlias /plain @STAGE@/apps/req_environ.wsgi
WSGIScriptAlias /trusted @STAGE@/apps/req_environ.wsgi
WSGIScriptAlias /untrusted @STAGE@/apps/req_environ.wsgi
WSGIScriptAlias /anyone @STAGE@/apps/req_environ.wsgi
WSGIScriptAlias /daemon/trusted @STAGE@/apps/req_environ.wsgi process-group=proxied
WSGIScriptAlias /daemon/untrusted @STAGE@/apps/req_environ.wsgi process-group=proxied
<Location /trusted>
  WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto
  WSGITrustedProxyHeaders X-Forwarded-Host X-Forwarded-Port
  WSGITrustedProxies 10.0.0.0/8 127.0.0.1
</Location>
<Location /daemon/trusted>
  WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto X-Forwarded-Host X-Forwarded-Port
  WSGITrustedProxies 10.0.0.0/255.0.0.0 127.0.0.0/8
</Location>
<LocationMatch ^/(daemon/)?untrusted>
  WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto X-Forwarded-Host X-Forwarded-Port
  WSGITrustedProxies 10.0.0.1 2001:db8::/32
</LocationMatch>
<Location /anyone>
  WSGITrustedProxyHeaders X-Real-IP X-Script-Name X-Forwarded-SSL X-Forwarded-Server
</Location>
";

/// What a proxy in front of Apache sends, plus a spoofed synonym.
const FORWARDED: &[(&str, &[u8])] = &[
    ("X-Forwarded-For", b"198.51.100.7, 203.0.113.9, 10.1.2.3"),
    ("X-Forwarded-Proto", b"https"),
    ("X-Forwarded-Host", b"www.example.com:8443"),
    ("X-Forwarded-Port", b"8443"),
    ("X-Real-IP", b"6.6.6.6"),
    ("X-Forwarded-SSL", b"off"),
];

fn environ_of(server: &Server, target: &str, headers: &[(&str, &[u8])]) -> Environ {
    let host = format!("127.0.0.1:{}", server.port);
    let mut all: Vec<(&str, &[u8])> = vec![("Host", host.as_bytes())];
    all.extend_from_slice(headers);
    Environ::parse(&server.raw(&raw_request("GET", target, &all, b"", false)))
}

fn trusted(server: &Server, path: &str) {
    let env = environ_of(server, path, FORWARDED);
    // Walked from the end past the trusted 10.1.2.3: the client is the one
    // before it, and the header keeps the list from there.
    env.assert_str("REMOTE_ADDR", "203.0.113.9");
    env.assert_str("HTTP_X_FORWARDED_FOR", "203.0.113.9, 10.1.2.3");
    env.assert_str("wsgi.url_scheme", "https");
    env.assert_str("HTTP_HOST", "www.example.com:8443");
    env.assert_str("SERVER_PORT", "8443");
    env.assert_str("HTTP_X_FORWARDED_PROTO", "https");
    assert!(!env.has("HTTPS"), "{env:?}");
    // Synonyms the proxy did not set could be the client's: gone.
    assert!(!env.has("HTTP_X_REAL_IP"), "{env:?}");
    assert!(!env.has("HTTP_X_FORWARDED_SSL"), "{env:?}");
    // The path Apache routed on is what mod_wsgi.script_name keeps.
    env.assert_str("SCRIPT_NAME", path);
    env.assert_str("mod_wsgi.script_name", path);

    // The proxy says the client came over plain http.
    let env = environ_of(server, path, &[("X-Forwarded-Proto", b"http")]);
    env.assert_str("wsgi.url_scheme", "http");
    env.assert_str("REMOTE_ADDR", "127.0.0.1");
}

fn untrusted(server: &Server, path: &str) {
    let env = environ_of(server, path, FORWARDED);
    env.assert_str("REMOTE_ADDR", "127.0.0.1");
    env.assert_str("wsgi.url_scheme", "http");
    env.assert_str("HTTP_HOST", &format!("127.0.0.1:{}", server.port));
    env.assert_str("SERVER_PORT", &server.port.to_string());
    for removed in [
        "HTTP_X_FORWARDED_FOR",
        "HTTP_X_REAL_IP",
        "HTTP_X_FORWARDED_PROTO",
        "HTTP_X_FORWARDED_SSL",
        "HTTP_X_FORWARDED_HOST",
        "HTTP_X_FORWARDED_PORT",
    ] {
        assert!(!env.has(removed), "{removed} passed: {env:?}");
    }
}

fn proxy_headers(mpm: Mpm) {
    let server = Server::start(Stage::new("proxy-headers"), &Config::new(mpm, CONFIG));

    trusted(&server, "/trusted");
    trusted(&server, "/daemon/trusted");
    untrusted(&server, "/untrusted");
    untrusted(&server, "/daemon/untrusted");

    // Where no header is named, every one passes as sent.
    let env = environ_of(&server, "/plain", FORWARDED);
    env.assert_str("REMOTE_ADDR", "127.0.0.1");
    env.assert_str("wsgi.url_scheme", "http");
    env.assert_str(
        "HTTP_X_FORWARDED_FOR",
        "198.51.100.7, 203.0.113.9, 10.1.2.3",
    );
    env.assert_str("HTTP_X_REAL_IP", "6.6.6.6");
    assert!(!env.has("mod_wsgi.mount_point"), "{env:?}");

    // Without WSGITrustedProxies any peer is trusted.
    let env = environ_of(
        &server,
        "/anyone/sub",
        &[
            ("X-Real-IP", b"192.0.2.44"),
            ("X-Forwarded-For", b"6.6.6.6"),
            ("X-Script-Name", b"/mounted/app"),
            ("X-Forwarded-SSL", b"on"),
            ("X-Forwarded-Server", b"front.example"),
        ],
    );
    env.assert_str("REMOTE_ADDR", "192.0.2.44");
    assert!(!env.has("HTTP_X_FORWARDED_FOR"), "{env:?}");
    env.assert_str("SCRIPT_NAME", "/mounted/app");
    env.assert_str("mod_wsgi.mount_point", "/mounted/app");
    env.assert_str("mod_wsgi.script_name", "/anyone");
    env.assert_str("PATH_INFO", "/sub");
    env.assert_str("wsgi.url_scheme", "https");
    env.assert_str("SERVER_NAME", "front.example");

    let log = server.error_log();
    assert_no_crash(&log);
    assert_id_lines_well_formed(&log);
}

#[test]
fn proxy_headers_event() {
    proxy_headers(Mpm::Event);
}

#[test]
fn proxy_headers_prefork() {
    proxy_headers(Mpm::Prefork);
}

/// A forwarded address that is a name stops the walk: it is taken as the
/// client, as mod_wsgi takes it, and the reason is logged at debug level.
#[test]
fn a_name_in_x_forwarded_for_is_not_resolved() {
    let config = Config::new(Mpm::Event, &format!("LogLevel info wsgi:debug\n{CONFIG}"));
    let server = Server::start(Stage::new("proxy-name"), &config);
    let env = environ_of(
        &server,
        "/trusted",
        &[("X-Forwarded-For", b"198.51.100.7, localhost, 10.0.0.1")],
    );
    env.assert_str("REMOTE_ADDR", "localhost");
    env.assert_str("HTTP_X_FORWARDED_FOR", "localhost, 10.0.0.1");
    let log = server.wait_for_log("WSGIRS0111", std::time::Duration::from_secs(10));
    let line = lines_with(&log, "WSGIRS0111")[0];
    assert!(
        line.contains("Forwarded IP of \"localhost\" is not a valid IP address."),
        "{line}"
    );
    assert!(line.contains("mod_wsgi_rs (pid="), "{line}");
}

#[test]
fn bad_values_fail_configtest_on_their_line() {
    let stage = Stage::new("proxy-configtest");
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "<Location />\n  WSGITrustedProxies 10.0.0.1 10.0.0.0/33\n</Location>\n",
            "WSGITrustedProxies",
            &[
                "Unable to parse trusted proxy IP address/subnet of \"10.0.0.0/33\".",
                "The specified network mask is invalid.",
            ],
        ),
        (
            "WSGITrustedProxies proxy.example\n",
            "WSGITrustedProxies",
            &[
                "Unable to parse trusted proxy IP address/subnet of \"proxy.example\".",
                "10.0.0.0/8",
            ],
        ),
        (
            "WSGITrustedProxyHeaders X-Forwarded-For X_Forwarded_Proto\n",
            "WSGITrustedProxyHeaders",
            &[
                "'X_Forwarded_Proto' is not a request header name",
                "X-Forwarded-Proto",
            ],
        ),
    ];
    for (body, offending, fragments) in cases {
        let config = Config::new(Mpm::Event, body);
        assert_configtest_fails(&stage, &config, offending, fragments);
    }

    // A header mod_wsgi does not know starts, as under mod_wsgi, with a
    // warning that names the line.
    let body = "WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Protocol\n";
    let config = Config::new(Mpm::Event, body);
    let line = line_of(&config.render(&stage, 0), "WSGITrustedProxyHeaders");
    let output = config_test(&stage, &config).expect("an unknown header is ignored");
    assert!(output.contains("WSGIRS0112"), "{output}");
    assert!(
        output.contains(&format!("on line {line} of"))
            && output.contains("'X-Forwarded-Protocol' is not a proxy header"),
        "{output}"
    );
}

/// The directives work in .htaccess (`AllowOverride FileInfo`, as
/// mod_wsgi declares them), and a proxy's `http` wins over the connection's
/// own HTTPS (here from SetEnv, as mod_ssl would set it).
#[test]
fn htaccess_and_the_proxys_scheme_over_the_connections() {
    let stage = Stage::new("proxy-htaccess");
    std::fs::create_dir_all(stage.path("site")).unwrap();
    std::fs::copy(
        stage.path("apps/req_environ.wsgi"),
        stage.path("site/app.wsgi"),
    )
    .unwrap();
    stage.write(
        "site/.htaccess",
        "SetEnv HTTPS on\nWSGITrustedProxyHeaders X-Forwarded-Proto X-Real-IP\n",
    );
    let mut config = Config::new(
        Mpm::Event,
        "<Directory @STAGE@/site>\n  AllowOverride FileInfo\n  Require all granted\n</Directory>\n\
         WSGIScriptAlias /site @STAGE@/site/app.wsgi\n",
    );
    config.preamble = format!(
        "LoadModule env_module {}/mod_env.so\n",
        apache_modules_dir().display()
    );
    let server = Server::start(stage, &config);

    let env = environ_of(&server, "/site", &[]);
    env.assert_str("wsgi.url_scheme", "https");
    env.assert_str("REMOTE_ADDR", "127.0.0.1");
    let env = environ_of(
        &server,
        "/site",
        &[("X-Forwarded-Proto", b"http"), ("X-Real-IP", b"192.0.2.1")],
    );
    env.assert_str("wsgi.url_scheme", "http");
    env.assert_str("REMOTE_ADDR", "192.0.2.1");
    assert!(!env.has("HTTPS"), "{env:?}");
    // A value that is neither leaves the connection's scheme.
    let env = environ_of(&server, "/site", &[("X-Forwarded-Proto", b"gopher")]);
    env.assert_str("wsgi.url_scheme", "https");
    assert_no_crash(&server.error_log());
}

/// A real framework behind a TLS-terminating proxy, in a daemon: Flask
/// builds its external URLs from what the trusted proxy said (scheme,
/// host, mount point), and its redirects follow.
#[test]
fn flask_behind_a_proxy() {
    let has_flask = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import flask"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_flask {
        eprintln!(
            "flask is not installed for /usr/bin/python3 (apt-get install python3-flask): skipped"
        );
        return;
    }
    let config = Config::new(
        Mpm::Event,
        "WSGIDaemonProcess flask threads=2\n\
         WSGIScriptAlias /flask @STAGE@/apps/life_flask.wsgi process-group=flask\n\
         WSGITrustedProxyHeaders X-Forwarded-Proto X-Forwarded-Host X-Forwarded-Script-Name\n\
         WSGITrustedProxies 127.0.0.1\n",
    );
    let server = Server::start(Stage::new("proxy-flask"), &config);
    let forwarded: &[(&str, &[u8])] = &[
        ("Host", b"127.0.0.1"),
        ("X-Forwarded-Proto", b"https"),
        ("X-Forwarded-Host", b"www.example.com"),
        ("X-Forwarded-Script-Name", b"/shop"),
    ];
    let r = server.raw(&raw_request(
        "GET",
        "/flask/greet/bob",
        forwarded,
        b"",
        false,
    ));
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    let json = r.text();
    assert!(
        json.contains("\"external_url\":\"https://www.example.com/shop/greet/bob\""),
        "{json}"
    );
    assert!(json.contains("\"script_root\":\"/shop\""), "{json}");
    let r = server.raw(&raw_request(
        "GET",
        "/flask/redirect",
        forwarded,
        b"",
        false,
    ));
    assert_eq!(r.status, 302, "{}", r.text());
    let location = r.header("location").unwrap();
    assert!(
        location == "/shop/" || location == "https://www.example.com/shop/",
        "{location}"
    );
    assert_no_crash(&server.error_log());
}
