//! `WSGIHandlerScript NAME SCRIPT`, through a real Apache: a request whose
//! handler is NAME (`SetHandler`, mod_rewrite's `[H=NAME]`) runs SCRIPT's
//! `handle_request`, embedded or in the daemon group its `process-group=`
//! names, whatever file the URL maps to; a section's line overrides the
//! server's of the same name; other requests are left to Apache; bad lines
//! fail configtest on their line.

mod common;
mod daemon_support;

use common::*;
use daemon_support::*;

fn handled(server: &Server, path: &str) -> std::collections::HashMap<String, String> {
    facts(server, path)
}

fn handler_names_run_the_script_in_both_modes(mpm: Mpm) {
    let stage = Stage::new("handler-script");
    let modules = apache_modules_dir();
    let mut config = Config::new(
        mpm,
        "WSGISocketPrefix @STAGE@/run/wsgi\n\
         WSGIDaemonProcess site threads=2 display-name=%{GROUP}\n\
         WSGIHandlerScript my-handler @STAGE@/apps/handler_script.wsgi\n\
         WSGIHandlerScript daemon-handler @STAGE@/apps/handler_script.wsgi process-group=site pass-authorization=On\n\
         DocumentRoot @STAGE@/apps\n\
         <Location /embedded>\n  SetHandler my-handler\n</Location>\n\
         <Location /daemon>\n  SetHandler daemon-handler\n</Location>\n\
         <Location /other>\n  SetHandler my-handler\n  WSGIHandlerScript my-handler @STAGE@/apps/handler_other.wsgi\n</Location>\n\
         RewriteEngine On\n\
         RewriteRule ^/rewritten/ - [H=my-handler]\n",
    );
    config.preamble = format!(
        "LoadModule rewrite_module {}/mod_rewrite.so\n",
        modules.display()
    );
    let server = Server::start(stage, &config);
    let daemon = wait_for_daemons(&server, "site", 1)[0];
    let script = format!("{}/apps/handler_script.wsgi", server.stage().dir.display());

    // No file under the document root matches: mod_wsgi does not ask for one.
    let embedded = handled(&server, "/embedded/no/such/file");
    assert_eq!(fact(&embedded, "label"), "main");
    assert_eq!(fact(&embedded, "file"), script);
    assert_eq!(fact(&embedded, "handler"), "my-handler");
    assert_eq!(fact(&embedded, "process_group"), "");
    assert_ne!(fact(&embedded, "pid").parse::<i32>().unwrap(), daemon);
    let url = format!(
        "{}{}",
        fact(&embedded, "script_name"),
        fact(&embedded, "path_info")
    );
    assert_eq!(url, "/embedded/no/such/file");

    let r = server.request(
        "GET",
        "/daemon/x",
        &[("Authorization", "Basic dXNlcjpwdw==")],
        b"",
    );
    let in_daemon = key_values(&r);
    assert_eq!(fact(&in_daemon, "label"), "main");
    assert_eq!(fact(&in_daemon, "handler"), "daemon-handler");
    assert_eq!(fact(&in_daemon, "process_group"), "site");
    assert_eq!(fact(&in_daemon, "pid").parse::<i32>().unwrap(), daemon);
    assert_eq!(
        fact(&in_daemon, "authorization"),
        "Basic dXNlcjpwdw==",
        "pass-authorization=On"
    );

    // The section's line of the same name wins, as mod_wsgi's overlay.
    assert_eq!(fact(&handled(&server, "/other/y"), "label"), "other");
    // mod_rewrite's [H=...], as mod_wsgi-express routes to its handler.
    let rewritten = handled(&server, "/rewritten/z");
    assert_eq!(fact(&rewritten, "label"), "main");
    assert_eq!(fact(&rewritten, "handler"), "my-handler");

    // Other handlers are Apache's: the file is served as it is.
    let r = server.get("/hello.wsgi");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("def application"), "{}", r.text());
    server.stop();
}

under_event_and_prefork!(handler_names_run_the_script_in_both_modes);

#[test]
fn bad_lines_fail_configtest_on_their_line() {
    let stage = Stage::new("handler-configtest");
    for (body, needle) in [
        (
            "WSGIHandlerScript\n",
            "Name for handler script not supplied",
        ),
        (
            "WSGIHandlerScript my-handler\n",
            "Location of handler script not supplied",
        ),
        (
            "WSGIHandlerScript my-handler @STAGE@/apps/handler_script.wsgi pass-authorization=maybe\n",
            "Invalid value for authorization flag",
        ),
        (
            "WSGIHandlerScript my-handler @STAGE@/apps/handler_script.wsgi callable-object=app\n",
            "Invalid option to WSGI handler script definition",
        ),
    ] {
        let config = Config::new(Mpm::Event, body);
        assert_configtest_fails(&stage, &config, "WSGIHandlerScript", &[needle]);
    }
}
