//! The WSGI environ as an application sees it through a real Apache: CGI
//! variables, SCRIPT_NAME/PATH_INFO splitting, request headers and their
//! spoofing rules, the wsgi.* and mod_wsgi.* keys, WSGIPassAuthorization,
//! SetEnv, WSGIMapHEADToGET and WSGIScriptAliasMatch.

mod common;
mod req_support;

use std::io::Write;

use common::*;
use req_support::*;

const AUTH: &[u8] = b"Basic Zm9vOmJhcg==";

fn start(mpm: Mpm, name: &str, body: &str) -> Server {
    let m = apache_modules_dir();
    let mut config = Config::new(mpm, body);
    config.preamble = format!(
        "LoadModule env_module {m}/mod_env.so\nLoadModule deflate_module {m}/mod_deflate.so\n",
        m = m.display()
    );
    Server::start(Stage::new(name), &config)
}

/// GETs `target` (Host with the port, kept alive or not) and parses the environ.
fn environ_of(server: &Server, target: &str, headers: &[(&str, &[u8])]) -> Environ {
    let host = format!("127.0.0.1:{}", server.port);
    let mut all: Vec<(&str, &[u8])> = vec![("Host", host.as_bytes())];
    all.extend_from_slice(headers);
    let response = server.raw(&raw_request("GET", target, &all, b"", false));
    Environ::parse(&response)
}

const CONTENTS_CONFIG: &str = "\
SetEnv REQ_SETENV from-setenv
WSGIScriptAlias /app @STAGE@/apps/req_environ.wsgi
WSGIScriptAlias /auth-option @STAGE@/apps/req_environ.wsgi pass-authorization=On
WSGIScriptAlias /auth-dir @STAGE@/apps/req_environ.wsgi
<Location /auth-dir>
  WSGIPassAuthorization On
</Location>
WSGIScriptAlias /global @STAGE@/apps/req_environ.wsgi application-group=%{GLOBAL}
";

fn environ_contents(mpm: Mpm) {
    let server = start(mpm, "req-environ", CONTENTS_CONFIG);
    let port = server.port.to_string();
    let env = environ_of(
        &server,
        "/app/x/y?a=1&b=%20c",
        &[
            ("X-Custom-Header", b"hello"),
            ("X-Real-Ip", b"good"),
            ("X_Real_Ip", b"spoofed"),
            ("X_Only_Underscore", b"spoofed"),
            ("X-Latin", b"caf\xe9"),
            ("X-Utf8", b"\xc3\xa9t\xc3\xa9"),
            ("Authorization", AUTH),
            ("Proxy", b"http://proxy.invalid/"),
        ],
    );

    // Shape: a real dict whose CGI values are all str.
    assert_eq!(env.get("__is_dict__"), "True");
    assert_eq!(env.get("__nonstr__"), "[]");
    assert_eq!(env.get("__nonstr_keys__"), "[]");

    // CGI variables.
    env.assert_str("REQUEST_METHOD", "GET");
    env.assert_str("QUERY_STRING", "a=1&b=%20c");
    env.assert_str("SERVER_NAME", "127.0.0.1");
    env.assert_str("SERVER_PORT", &port);
    env.assert_str("REMOTE_ADDR", "127.0.0.1");
    env.assert_str("SERVER_PROTOCOL", "HTTP/1.1");
    env.assert_str("REQUEST_URI", "/app/x/y?a=1&b=%20c");
    env.assert_str("SCRIPT_NAME", "/app");
    env.assert_str("PATH_INFO", "/x/y");
    env.assert_str("HTTP_HOST", &format!("127.0.0.1:{port}"));
    assert!(
        env.get("SCRIPT_FILENAME")
            .ends_with("/apps/req_environ.wsgi'"),
        "{}",
        env.get("SCRIPT_FILENAME")
    );

    // Request headers.
    env.assert_str("HTTP_X_CUSTOM_HEADER", "hello");
    env.assert_str("HTTP_X_REAL_IP", "good");
    assert!(!env.has("HTTP_X_ONLY_UNDERSCORE"), "{env:#?}");
    assert!(
        !env.vars.values().any(|v| v.contains("spoofed")),
        "a header with '_' in its name reached the application: {env:#?}"
    );
    // Non-ASCII header bytes arrive as latin-1 code points.
    assert_eq!(env.get("HTTP_X_LATIN"), r"'caf\xe9'");
    assert_eq!(env.get("HTTP_X_UTF8"), r"'\xc3\xa9t\xc3\xa9'");
    assert!(
        !env.has("HTTP_AUTHORIZATION"),
        "passed without WSGIPassAuthorization"
    );
    assert!(!env.has("HTTP_PROXY"), "httpoxy");
    assert!(!env.vars.values().any(|v| v.contains("proxy.invalid")));

    // SetEnv (mod_env) values.
    env.assert_str("REQ_SETENV", "from-setenv");

    // wsgi.* keys.
    assert_eq!(env.get("wsgi.version"), "(1, 0)");
    env.assert_str("wsgi.url_scheme", "http");
    let threaded = if mpm == Mpm::Prefork { "False" } else { "True" };
    assert_eq!(env.get("wsgi.multithread"), threaded);
    assert_eq!(env.get("wsgi.multiprocess"), "True");
    assert_eq!(env.get("wsgi.run_once"), "False");
    assert_eq!(env.get("wsgi.input_terminated"), "True");
    assert_eq!(env.get("__errors_ok__"), "True");
    assert_eq!(env.get("__input_ok__"), "True");
    assert_eq!(env.get("__file_wrapper_callable__"), "True");

    // mod_wsgi.* and apache.* keys.
    env.assert_str("mod_wsgi.process_group", "");
    env.assert_str(
        "mod_wsgi.application_group",
        &format!("127.0.0.1:{port}|/app"),
    );
    env.assert_str("mod_wsgi.script_reloading", "1");
    env.assert_str("mod_wsgi.callable_object", "application");
    let version = env.get("mod_wsgi.version");
    let parts: Vec<&str> = version
        .trim_matches(|c| c == '(' || c == ')')
        .split(", ")
        .collect();
    assert!(
        parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok()),
        "mod_wsgi.version {version}"
    );
    assert!(
        env.get("apache.version").starts_with("(2, 4, "),
        "{}",
        env.get("apache.version")
    );

    // Content-Type and Content-Length without the HTTP_ prefix.
    let host = format!("127.0.0.1:{port}");
    let post = server.raw(&raw_request(
        "POST",
        "/app",
        &[
            ("Host", host.as_bytes()),
            ("Content-Type", b"application/x-www-form-urlencoded"),
        ],
        b"a=1",
        false,
    ));
    let env = Environ::parse(&post);
    env.assert_str("REQUEST_METHOD", "POST");
    env.assert_str("CONTENT_TYPE", "application/x-www-form-urlencoded");
    env.assert_str("CONTENT_LENGTH", "3");
    assert!(
        !env.has("HTTP_CONTENT_TYPE") && !env.has("HTTP_CONTENT_LENGTH"),
        "{env:#?}"
    );
    env.assert_str("SCRIPT_NAME", "/app");
    env.assert_str("PATH_INFO", "");

    // HTTP/1.0.
    let env = Environ::parse(&server.raw(b"GET /app HTTP/1.0\r\n\r\n"));
    env.assert_str("SERVER_PROTOCOL", "HTTP/1.0");

    // Authorization only where passing it is configured; Proxy never.
    for target in ["/auth-option", "/auth-dir"] {
        let env = environ_of(
            &server,
            target,
            &[("Authorization", AUTH), ("Proxy", b"http://proxy.invalid/")],
        );
        env.assert_str("HTTP_AUTHORIZATION", "Basic Zm9vOmJhcg==");
        assert!(!env.has("HTTP_PROXY"), "{target}: httpoxy");
    }

    // application-group=%{GLOBAL} is the empty name.
    let env = environ_of(&server, "/global", &[]);
    env.assert_str("mod_wsgi.application_group", "");

    assert_id_lines_well_formed(&server.error_log());
}

const PATHS_CONFIG: &str = "\
MergeSlashes Off
WSGIScriptAliasMatch ^/apps/([^/]+) @STAGE@/apps/req_$1.wsgi
WSGIScriptAlias /app @STAGE@/apps/req_environ.wsgi
WSGIScriptAlias /head-on @STAGE@/apps/req_environ.wsgi
WSGIScriptAlias /head-off @STAGE@/apps/req_environ.wsgi
WSGIScriptAlias /head-auto @STAGE@/apps/req_environ.wsgi
WSGIScriptAlias /head-auto-filtered @STAGE@/apps/req_environ.wsgi
<Location /head-on>
  WSGIMapHEADToGET On
</Location>
<Location /head-off>
  WSGIMapHEADToGET Off
</Location>
<Location /head-auto-filtered>
  SetOutputFilter DEFLATE
</Location>
WSGIScriptAlias / @STAGE@/apps/req_environ.wsgi
";

fn head_method_seen(server: &Server, target: &str) -> String {
    let mut s = server.connect();
    s.write_all(&raw_request("HEAD", target, &[], b"", false))
        .unwrap();
    let response = read_head(&mut s);
    assert_eq!(
        response.status,
        200,
        "HEAD {target}: {}",
        server.error_log()
    );
    response
        .header("x-request-method")
        .unwrap_or_default()
        .to_owned()
}

fn paths_aliases_and_head(mpm: Mpm) {
    let server = start(mpm, "req-paths", PATHS_CONFIG);

    // SCRIPT_NAME is the alias, PATH_INFO the rest; doubled slashes are
    // collapsed (MergeSlashes Off leaves them to the module); the path is
    // percent-decoded and its bytes reach Python as latin-1.
    let cases: &[(&str, &str, &str)] = &[
        ("/app", "'/app'", "''"),
        ("/app/", "'/app'", "'/'"),
        ("/app/x/y", "'/app'", "'/x/y'"),
        ("/app//x///y", "'/app'", "'/x/y'"),
        ("//app//x", "'/app'", "'/x'"),
        ("/app/a%20b/%C3%A9", "'/app'", r"'/a b/\xc3\xa9'"),
        ("/ap%70/z", "'/app'", "'/z'"),
        ("/application", "''", "'/application'"),
        ("/", "''", "'/'"),
        ("/other/thing", "''", "'/other/thing'"),
        ("/apps/environ", "'/apps/environ'", "''"),
        ("/apps/environ/p/q", "'/apps/environ'", "'/p/q'"),
    ];
    for (target, script_name, path_info) in cases {
        let env = environ_of(&server, target, &[]);
        assert_eq!(
            (env.get("SCRIPT_NAME"), env.get("PATH_INFO")),
            (*script_name, *path_info),
            "GET {target}"
        );
        assert_eq!(
            env.get("REQUEST_URI"),
            format!("'{target}'"),
            "GET {target}"
        );
    }

    // WSGIScriptAliasMatch: $1 picks the script, the match is SCRIPT_NAME.
    let alt = server.get("/apps/alt/p/q");
    assert_eq!(alt.status, 200, "{}", server.error_log());
    assert_eq!(alt.text(), "alt SCRIPT_NAME=/apps/alt PATH_INFO=/p/q");
    let missing = server.get("/apps/missing/x");
    assert_eq!(missing.status, 404);
    assert_logged(&server, "WSGIRS0101", "apps/req_missing.wsgi");

    // WSGIMapHEADToGET: On maps, Off does not, Auto maps only when a
    // content filter may need the body.
    assert_eq!(head_method_seen(&server, "/head-on"), "GET");
    assert_eq!(head_method_seen(&server, "/head-off"), "HEAD");
    assert_eq!(head_method_seen(&server, "/head-auto"), "HEAD");
    assert_eq!(head_method_seen(&server, "/head-auto-filtered"), "GET");
    let get = server.get("/head-off");
    assert_eq!(get.header("x-request-method"), Some("GET"));

    assert_id_lines_well_formed(&server.error_log());
}

under_event_and_prefork!(environ_contents, paths_aliases_and_head);
