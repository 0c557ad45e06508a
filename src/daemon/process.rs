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

/// `lang=` and `locale=`, as mod_wsgi sets them before Python starts: the
/// environment variables (`LANG`, `LC_ALL`) that Python's start-up reads
/// its LC_CTYPE from, and every locale category for `locale=`.
fn set_locale(settings: &wsgi::config::DaemonGroup, context: &LogContext) {
    // SAFETY (of the env changes): the daemon is single-threaded here.
    unsafe {
        if let Some(lang) = &settings.lang {
            std::env::set_var("LANG", lang);
        }
        if let Some(locale) = &settings.locale {
            std::env::set_var("LC_ALL", locale);
        }
    }
    if let Some(locale) = &settings.locale
        && !unix::set_locale(locale)
    {
        log::process_sink(
            Level::Warning,
            &messages::format_line(
                context,
                messages::DAEMON_LOCALE_UNSUPPORTED,
                &format!(
                    "Unsupported locale setting '{locale}' specified for daemon process group \
                     '{}'; daemon will run with the inherited locale. Consider 'C.UTF-8' as a \
                     fallback.",
                    settings.name
                ),
            ),
        );
    }
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
    super::secret::keep_only(registry, group_index);
    // Before any application code: this daemon can write its own heartbeat
    // only, not another's (which would get that daemon killed).
    registry.heartbeats.keep_only(group.first_slot + index);
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    let settings = &group.settings;
    if let Some(mask) = settings.umask {
        unix::set_umask(mask);
    }
    if let Err(e) = super::identity::apply_limits_as_root(settings, &context) {
        fail(&context, &e);
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
    super::identity::apply_limits_as_user(settings, &context);
    let home = settings.home.clone().or_else(|| unix::home_of(group.uid));
    if let Some(home) = &home {
        let _ = std::env::set_current_dir(home);
    }
    set_locale(settings, &context);
    if let Some(title) = settings.process_title() {
        // SAFETY: it is Apache's argv[0]. The memory also holds the values
        // of Apache's -d, -f, -k, -D options, which Apache keeps pointers
        // to, but reads only while reading its configuration, which a
        // daemon never does; nothing in a daemon reads them after the fork.
        let area = process::argv0().and_then(|argv0| unsafe { unix::command_line_area(argv0) });
        unix::set_process_title(area, &title);
    }
    // The parent's main server, valid in this copy of it.
    log::set_main_server(server::main_server());
    let interpreter = InterpreterSettings {
        // As mod_wsgi 6 (wsgi_python_init): the group's python-home, else
        // WSGIPythonHome. Not WSGIPythonPath: a daemon's path is its
        // python-path alone (wsgi_daemon.c sets wsgi_python_path from it).
        python_home: settings
            .python_home
            .clone()
            .or_else(|| registry.python_home.clone()),
        python_path: settings
            .python_path
            .iter()
            .chain(&group.python_path_layers)
            .cloned()
            .collect(),
        python_eggs: settings.python_eggs.clone(),
        options: group.python_options.clone(),
        sections: group.interpreter_sections.clone(),
        // Only a configured home=: the uid's home directory, the working
        // directory otherwise, is not put on the path (as mod_wsgi).
        daemon_home: settings.home.clone(),
    };
    if let Err(e) = python::initialize(&interpreter, log::process_sink) {
        fail(&context, &format!("Python could not be started: {e}"));
    }
    crate::process_facts::install_daemon(settings);
    // SAFETY: the parent's main server, valid in this copy of it (as above).
    let main = unsafe { server::Server::from_raw(server::main_server()) };
    crate::telemetry::start(
        crate::config::settings(main),
        &settings.name,
        settings.threads,
        group.python_options.switch_interval,
    );
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
