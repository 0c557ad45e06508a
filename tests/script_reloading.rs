//! Script reloading as mod_wsgi 6 (`wsgi_reload_required`), embedded and in
//! a daemon: the module's `__mtime__` (the file's modification time in
//! microseconds when it was loaded; replacing it forces a reload) and its
//! `reload_required(resource)` hook, called with the script's path, whose
//! True reloads the script (restarts the daemon) and whose exception is
//! logged without forcing anything.

mod common;
mod req_support;

use std::collections::HashMap;
use std::net::TcpStream;
use std::time::{Duration, UNIX_EPOCH};

use common::*;
use req_support::*;

const CONFIG: &str = "\
WSGIScriptAlias /embedded @STAGE@/apps/reload_hook.wsgi
WSGIDaemonProcess hooked processes=1 threads=1
WSGIScriptAlias /daemon @STAGE@/apps/reload_hook.wsgi process-group=hooked
";

/// `load=.. pid=.. mtime=.. seen=..` as a map.
fn answer(server: &Server, stream: &mut TcpStream, target: &str) -> HashMap<String, String> {
    let r = exchange(stream, &simple_request("GET", target, true));
    assert_eq!(
        r.status,
        200,
        "GET {target}: {}\n{}",
        r.text(),
        server.error_log()
    );
    r.text()
        .split_whitespace()
        .filter_map(|part| part.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn set_hook(server: &Server, value: &str) {
    server.stage().write("apps/hook.txt", value);
}

/// The script's modification time as Apache reports it (microseconds).
fn script_mtime(server: &Server) -> String {
    let modified = std::fs::metadata(server.stage().path("apps/reload_hook.wsgi"))
        .unwrap()
        .modified()
        .unwrap();
    modified
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros()
        .to_string()
}

fn hook_and_mtime_embedded(mpm: Mpm) {
    let stage = Stage::new("reload-embedded");
    stage.write("apps/hook.txt", "no");
    let server = Server::start(stage, &Config::new(mpm, CONFIG));
    let script = server.stage().path("apps/reload_hook.wsgi");
    // One kept-alive connection: one Apache child, so one copy of the module.
    let mut s = server.connect();
    let first = answer(&server, &mut s, "/embedded");
    // __mtime__ is the file's, in microseconds.
    assert_eq!(first["mtime"], script_mtime(&server));
    let second = answer(&server, &mut s, "/embedded");
    assert_eq!(second["load"], first["load"], "unchanged: kept");
    // The hook was asked, with the script's path.
    assert_eq!(second["seen"], format!("['{}']", script.display()));

    set_hook(&server, "yes");
    let third = answer(&server, &mut s, "/embedded");
    assert_ne!(third["load"], first["load"], "the hook said yes: reloaded");
    assert_eq!(
        third["pid"], first["pid"],
        "embedded: the module, not the process"
    );

    set_hook(&server, "raise");
    let mark = server.log_mark();
    let fourth = answer(&server, &mut s, "/embedded");
    assert_eq!(
        fourth["load"], third["load"],
        "a failing hook forces nothing"
    );
    let log = server.log_since(mark, "WSGIRS0221", Duration::from_secs(10));
    assert!(
        log.contains("RuntimeError: the hook failed on purpose"),
        "{log}"
    );
    assert_logged(&server, "WSGIRS0221", "reload_hook.wsgi");

    // An application that replaces __mtime__ gets a reload.
    set_hook(&server, "no");
    let fifth = answer(&server, &mut s, "/embedded?spoil");
    assert_eq!(fifth["load"], third["load"]);
    let sixth = answer(&server, &mut s, "/embedded");
    assert_ne!(sixth["load"], third["load"], "__mtime__ replaced: reloaded");
    assert_eq!(sixth["mtime"], script_mtime(&server));
    let seventh = answer(&server, &mut s, "/embedded");
    assert_eq!(seventh["load"], sixth["load"]);
    assert_id_lines_well_formed(&server.error_log());
}

fn hook_restarts_daemon(mpm: Mpm) {
    let stage = Stage::new("reload-daemon");
    stage.write("apps/hook.txt", "no");
    let server = Server::start(stage, &Config::new(mpm, CONFIG));
    let mut s = server.connect();
    let first = answer(&server, &mut s, "/daemon");
    assert_eq!(first["mtime"], script_mtime(&server));
    let second = answer(&server, &mut s, "/daemon");
    assert_eq!(
        (&second["load"], &second["pid"]),
        (&first["load"], &first["pid"])
    );

    // A failing hook is logged by the daemon and restarts nothing.
    set_hook(&server, "raise");
    let mark = server.log_mark();
    let third = answer(&server, &mut s, "/daemon");
    assert_eq!(
        (&third["load"], &third["pid"]),
        (&first["load"], &first["pid"])
    );
    let log = server.log_since(mark, "WSGIRS0221", Duration::from_secs(10));
    assert!(
        log.contains("RuntimeError: the hook failed on purpose"),
        "{log}"
    );
    assert!(log.contains("group='hooked'"), "{log}");

    // The hook says yes: the daemon restarts and the request is served by
    // its replacement, which loads the script afresh (and does not ask the
    // hook before it has loaded it: the script is not preloaded here, as
    // the alias names no application group; a preloaded script whose hook
    // always says yes restarts its daemon on every request, in mod_wsgi too).
    set_hook(&server, "yes");
    let fourth = answer(&server, &mut s, "/daemon");
    assert_ne!(fourth["pid"], first["pid"], "the daemon must restart");
    set_hook(&server, "no");
    let fifth = answer(&server, &mut s, "/daemon");
    assert_eq!(
        (&fifth["load"], &fifth["pid"]),
        (&fourth["load"], &fourth["pid"])
    );
    assert!(server.error_log().contains("reload_hook.wsgi' changed"));

    // A replaced __mtime__ restarts it too.
    answer(&server, &mut s, "/daemon?spoil");
    let sixth = answer(&server, &mut s, "/daemon");
    assert_ne!(sixth["pid"], fourth["pid"], "__mtime__ replaced: restarted");
    assert_id_lines_well_formed(&server.error_log());
}

under_event_and_prefork!(hook_and_mtime_embedded, hook_restarts_daemon);
