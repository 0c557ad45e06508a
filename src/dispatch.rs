//! The routing step's dispatch: a `WSGIDispatchScript` run in the Apache
//! child for a request about to be routed (as mod_wsgi's
//! `wsgi_execute_dispatch`, called by its handler after the body checks
//! and before the daemon or embedded executor). The Python side is
//! `wsgi::python::dispatch`; this side gives it the request's variables,
//! its interpreter and its log, and expands the names it returns.

use wsgi::config::{
    DispatchScript, GroupContext, expand_application_group, expand_callable_object,
    expand_process_group, expand_server_group,
};
use wsgi::messages::{self, Level, LogContext};
use wsgi::python::dispatch::{self, Dispatch, Failed};
use wsgi::python::loader;

use crate::apache::request::Request;
use crate::child;
use crate::environ::{CgiOptions, visit_cgi_variables};

/// The routing choice a dispatch script may change, already expanded.
pub struct Choice {
    /// The daemon process group, "" for embedded mode (`%{GLOBAL}`).
    pub process_group: String,
    pub application_group: String,
    pub callable_object: String,
}

/// Runs `script` for `r` and applies what it returns to `choice`.
pub fn apply(
    r: &Request,
    script: &DispatchScript,
    cgi: &CgiOptions,
    reloading: bool,
    groups: &GroupContext<'_>,
    choice: &mut Choice,
) -> Result<(), Failed> {
    if child::process().is_none() {
        r.log(
            Level::Error,
            &messages::format_line(
                LogContext::script(&script.script),
                messages::DISPATCH_PYTHON_UNAVAILABLE,
                "Python did not start in this child, so the WSGIDispatchScript cannot run; \
                 the request gets 500",
            ),
        );
        return Err(Failed);
    }
    let group = expand_server_group(script.application_group.as_deref(), groups);
    let call = Dispatch {
        script: &script.script,
        mtime: if reloading {
            loader::file_mtime(&script.script).unwrap_or(0)
        } else {
            0
        },
        reloading,
        group: &group,
    };
    let visit = |visit: &mut dyn FnMut(&[u8], &[u8])| visit_cgi_variables(r, cgi, visit);
    let mut log = |level: Level, line: &str| r.log(level, line);
    let ran = in_interpreter(&group, |py| dispatch::run(py, &call, &visit, r, &mut log));
    let chosen = match ran {
        Ok(chosen) => chosen?,
        Err(why) => {
            r.log(
                Level::Error,
                &messages::format_line(
                    LogContext::script(&script.script),
                    messages::DISPATCH_PYTHON_UNAVAILABLE,
                    &format!(
                        "Unable to acquire the interpreter '{group}' for the dispatch script: \
                         {why}; the request gets 500"
                    ),
                ),
            );
            return Err(Failed);
        }
    };
    if let Some(name) = chosen.process_group {
        choice.process_group = expand_process_group(&name, groups);
    }
    if let Some(name) = chosen.application_group {
        choice.application_group = expand_application_group(Some(&name), groups);
    }
    if let Some(name) = chosen.callable_object {
        choice.callable_object = expand_callable_object(&name, groups.env);
    }
    Ok(())
}

/// The one place the dispatch script enters Python: the interpreter of
/// application group `group` ("" the main one), made on first use; its
/// failure is the `Err`.
fn in_interpreter<R>(
    group: &str,
    f: impl for<'py> FnOnce(pyo3::Python<'py>) -> R,
) -> Result<R, String> {
    wsgi::python::attach_group(group, f)
}
