//! The life of Python in one Apache child: started in child_init (after
//! the fork and the switch to the worker user), stopped when the child's
//! pool is destroyed, so `atexit` handlers run.

use std::sync::OnceLock;

use wsgi::adapter::ProcessInfo;
use wsgi::config::servers;
use wsgi::messages::{self, Level, LogContext};
use wsgi::python::{self, InterpreterSettings, loader};

use crate::apache::bindings;
use crate::apache::pool::Pool;
use crate::apache::server::Server;
use crate::apache::{httpd, log};
use crate::config;
use crate::daemon::supervisor;

/// Set once per child when Python started; `None` inside means it failed.
static PROCESS: OnceLock<Option<ProcessInfo>> = OnceLock::new();

/// The child's process facts, or `None` if Python could not start here
/// (or does not: `WSGIRestrictEmbedded On` without a dispatch script).
pub fn process() -> Option<&'static ProcessInfo> {
    PROCESS.get().and_then(Option::as_ref)
}

static EMBEDDED_RESTRICTED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// `WSGIRestrictEmbedded On`: this child runs no WSGI application (Python
/// runs here only for a dispatch script).
pub fn embedded_restricted() -> bool {
    EMBEDDED_RESTRICTED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Apache's child_init hook.
pub fn child_init(pchild: Pool, main: Server<'_>) {
    log::set_main_server(main.as_ptr());
    crate::daemon::release_listeners();
    crate::daemon::release_heartbeats();
    let settings = config::settings(main);
    let restricted = settings.restrict_embedded == Some(true);
    if restricted {
        EMBEDDED_RESTRICTED.store(true, std::sync::atomic::Ordering::Relaxed);
        // Saves each child the interpreter's memory; requests must go to
        // daemons. Dispatch, authentication and access scripts still run
        // here, as mod_wsgi's `wsgi_python_required` starts Python for them.
        if !config::all_server_settings(main)
            .iter()
            .any(|s| s.scripts_in_children)
        {
            let _ = PROCESS.set(None);
            return;
        }
    }
    let interpreter = InterpreterSettings {
        python_home: settings.python_home.clone(),
        python_path: settings
            .python_path_entries()
            .into_iter()
            .chain(settings.python_path_layers(""))
            .collect(),
        python_eggs: settings.python_eggs.clone(),
        // "": an Apache child, which `process-group=%{GLOBAL}` selects.
        options: settings.python_options_for(""),
        sections: settings.interpreter_sections("", settings.python_path_entries()),
        daemon_home: None,
    };
    let info = ProcessInfo {
        multithread: httpd::mpm_threaded(),
        multiprocess: httpd::mpm_multiprocess(),
        apache_version: Some(httpd::version()),
    };
    match python::initialize(&interpreter, log::process_sink) {
        Ok(()) => {
            crate::process_facts::install_embedded(settings.server_metrics == Some(true));
            let _ = PROCESS.set(Some(info));
            // A restricted child runs no requests to report (mod_wsgi's
            // reporter is not started there either).
            if !restricted {
                crate::telemetry::start(
                    settings,
                    "",
                    httpd::mpm_limits().1,
                    interpreter.options.switch_interval,
                );
            }
            // The child pool is destroyed when the child exits.
            pchild.on_cleanup(stop_python);
            // Before this child's first request, as mod_wsgi's child init.
            let all = config::all_server_settings(main);
            let imports = servers::preload_scripts(&all, "");
            if !imports.is_empty() {
                loader::import_scripts(&imports, &LogContext::default(), log::process_sink);
            }
        }
        Err(e) => {
            let _ = PROCESS.set(None);
            log::server(
                Level::Error,
                main.as_ptr(),
                &messages::format_line(
                    "",
                    messages::PYTHON_INIT_FAILED,
                    &format!(
                        "Python could not be started in this child ({e}); WSGI requests will get 500"
                    ),
                ),
            );
        }
    }
}

fn stop_python() {
    // Apache has drained this child's requests; mod_wsgi's reason here is "".
    wsgi::python::publish_process_stopping("");
    if let Err(e) = python::finalize() {
        log::process_sink(
            Level::Error,
            &messages::format_line("", messages::PYTHON_FINALIZE_FAILED, &e),
        );
    }
}

/// mod_so skips a second `LoadModule wsgi_module` (the original mod_wsgi's,
/// typically) with only a warning, before opening its file; the shim notices
/// that warning while the configuration is read. Called from pre_config.
pub fn check_skipped_load_module() -> Result<(), String> {
    if !httpd::take_skipped_load_module() {
        return Ok(());
    }
    Err(
        "another \"LoadModule wsgi_module\" line was skipped by Apache because mod_wsgi_rs is \
         already loaded under that name (see Apache's warning \"module wsgi_module is already \
         loaded, skipping\"); if it loads the original mod_wsgi (Debian: a2dismod wsgi), the \
         two cannot run together: load only one of them"
            .to_owned(),
    )
}

/// Apache's post_config hook.
pub fn post_config(pconf: Pool, main: Server<'_>) -> i32 {
    // Another module that calls itself mod_wsgi.c (the real mod_wsgi) would
    // fight over the same directives.
    if let Some(name) = httpd::other_module_named(b"mod_wsgi.c") {
        log::server(
            Level::Error,
            main.as_ptr(),
            &messages::format_line(
                "",
                messages::DUPLICATE_MODULE,
                &format!(
                    "another module named {name} (the original mod_wsgi?) is loaded too; load only one of them"
                ),
            ),
        );
        return bindings::HTTP_INTERNAL_SERVER_ERROR as i32;
    }
    let banner = format!(
        "mod_wsgi_rs/{} Python/{}",
        wsgi::VERSION,
        python::python_version()
    );
    httpd::add_version_component(pconf, &banner);

    // Apache runs post_config twice at start-up; say things once, and start
    // daemons only in the second pass, in the process that stays.
    let first_pass = httpd::first_config_pass();
    let daemons = if first_pass {
        supervisor::check(main)
    } else {
        Ok(())
    };
    if let Err(e) = daemons {
        log::server(
            Level::Error,
            main.as_ptr(),
            &messages::format_line("", messages::DAEMON_STARTUP_FAILED, &e),
        );
        return bindings::HTTP_INTERNAL_SERVER_ERROR as i32;
    }
    if !first_pass {
        if let Err(e) = supervisor::start(pconf, main) {
            log::server(
                Level::Error,
                main.as_ptr(),
                &messages::format_line("", messages::DAEMON_STARTUP_FAILED, &e),
            );
            return bindings::HTTP_INTERNAL_SERVER_ERROR as i32;
        }
        let servers = config::all_server_settings(main);
        if servers.iter().any(|s| s.group_authoritative_seen) {
            log::server(
                Level::Notice,
                main.as_ptr(),
                &messages::format_line(
                    "",
                    messages::OBSOLETE_DIRECTIVE,
                    "WSGIGroupAuthoritative is obsolete and has no effect, as in mod_wsgi 6: \
                     Apache 2.4's Require lines (RequireAny, RequireAll) decide how \
                     'Require wsgi-group' combines with other providers",
                ),
            );
        }
        if servers[0].verbose_debugging.is_some() {
            log::server(
                Level::Notice,
                main.as_ptr(),
                &messages::format_line(
                    "",
                    messages::OBSOLETE_DIRECTIVE,
                    "WSGIVerboseDebugging is obsolete and has no effect, as in mod_wsgi 6: \
                     LogLevel (for example 'LogLevel info wsgi:debug') chooses the module's messages",
                ),
            );
        }
    }
    bindings::OK as i32
}
