//! The first moments of a daemon process, right after the fork: leave
//! Apache behind, take the group's identity, start Python, then serve.

use std::time::Duration;

use wsgi::adapter::ProcessInfo;
use wsgi::messages::{self, Level, LogContext};
use wsgi::python::{self, InterpreterSettings};

use super::Registry;
use crate::apache::{httpd, log, process, server};
use crate::unix;

fn fail(context: &LogContext, text: &str) -> ! {
    log::process_sink(
        Level::Error,
        &messages::format_line(context, messages::DAEMON_STARTUP_FAILED, text),
    );
    unix::exit_now(1)
}

/// Runs daemon `index` of group `group` in the freshly forked process.
pub fn run(registry: &'static Registry, group_index: usize, index: usize, delay: Duration) -> ! {
    let group = &registry.groups[group_index];
    let context = group.context().with_daemon_pid(unix::getpid() as u32);
    // The interpreter's own lines (start-up errors, ignored signals) name
    // this daemon too.
    messages::set_process_context(context.clone());
    unix::reset_signal_handlers();
    process::close_listeners();
    // Other groups' sockets are none of this daemon's business. (Pointed at
    // /dev/null rather than closed: the registry still owns them.)
    let _ = unix::release_to_dev_null(
        registry
            .groups
            .iter()
            .filter(|g| g.socket_path != group.socket_path)
            .map(|g| g.listener_fd()),
    );
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    let settings = &group.settings;
    if let Some(mask) = settings.umask {
        unix::set_umask(mask);
    }
    if let Err(e) = unix::drop_privileges(group.uid, group.gid, &group.user_name, &group.extra_gids)
    {
        fail(
            &context,
            &format!(
                "cannot switch to user {} (uid={}, gid={}): {e}",
                group.user_name, group.uid, group.gid
            ),
        );
    }
    let home = settings.home.clone().or_else(|| unix::home_of(group.uid));
    if let Some(home) = &home {
        let _ = std::env::set_current_dir(home);
    }
    // SAFETY (of the env changes): the daemon is single-threaded here.
    unsafe {
        if let Some(lang) = &settings.lang {
            std::env::set_var("LANG", lang);
        }
        if let Some(locale) = &settings.locale {
            std::env::set_var("LC_ALL", locale);
        }
    }
    if let Some(title) = settings.process_title() {
        unix::set_process_name(&title);
    }
    // The parent's main server, valid in this copy of it.
    log::set_main_server(server::main_server());
    let interpreter = InterpreterSettings {
        python_home: settings.python_home.clone(),
        python_path: settings.python_path.clone(),
        // The main server's WSGIPythonOptimize, WSGIRestrictSignal, ...
        options: registry.python_options.clone(),
    };
    if let Err(e) = python::initialize(&interpreter, log::process_sink) {
        fail(&context, &format!("Python could not be started: {e}"));
    }
    crate::process_facts::install_daemon(settings);
    let info = ProcessInfo {
        multithread: settings.threads > 1,
        multiprocess: settings.multiprocess,
        apache_version: Some(httpd::version()),
    };
    log::process_sink(
        Level::Info,
        &messages::format_line(
            &context,
            messages::DAEMON_STARTED,
            &format!(
                "daemon process {index} started with {} threads",
                settings.threads
            ),
        ),
    );
    let code = super::server::serve(registry, group_index, index, info, context);
    unix::exit_now(code)
}
