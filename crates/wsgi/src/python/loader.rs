//! Loading WSGI scripts: once per process, as a uniquely named module, and
//! again when it needs reloading (`WSGIScriptReloading`), decided as
//! mod_wsgi 6's `wsgi_reload_required` does: the module's `__mtime__` (the
//! file's modification time when it was loaded, in microseconds, which the
//! application may change or delete to force a reload) against the file's
//! now, then the module's own `reload_required(path)` hook.

use std::collections::HashMap;
use std::sync::Mutex;

use pyo3::intern;
use pyo3::prelude::*;

use super::gate::Gate;
use pyo3::types::{PyDict, PyModule};

use crate::messages::{Level, LogContext};
use crate::python::per_interpreter::{self, InterpreterKey};

struct LoadedScript {
    module: Py<PyModule>,
}

/// Scripts loaded in this process, by interpreter and path (a script named
/// by two application groups is loaded in each). Only touched with the GIL
/// held and never across a call into Python, so the lock is never contended.
static SCRIPTS: Mutex<Vec<(InterpreterKey, HashMap<String, LoadedScript>)>> =
    Mutex::new(Vec::new());

/// The scripts loaded in interpreter `here` (a short list: one entry per
/// interpreter, usually one).
fn scripts_of(
    all: &[(InterpreterKey, HashMap<String, LoadedScript>)],
    here: InterpreterKey,
) -> Option<&HashMap<String, LoadedScript>> {
    all.iter().find(|(key, _)| *key == here).map(|(_, s)| s)
}

/// One load at a time: executing a script can release the GIL (imports do),
/// and two threads must not both execute the same new script.
static GATE: Gate = Gate::new();

/// `WSGICaseSensitivity` (On by default, as mod_wsgi on Linux). Set in
/// Apache's parent before it forks the children and the daemons.
static CASE_SENSITIVE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

pub fn set_case_sensitive(on: bool) {
    CASE_SENSITIVE.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether paths differing in case name different scripts (and
/// `%{RESOURCE}` groups).
pub fn case_sensitive() -> bool {
    CASE_SENSITIVE.load(std::sync::atomic::Ordering::Relaxed)
}

/// What names a script's module and keys the loaded scripts: its path, or
/// with `WSGICaseSensitivity Off` the path lower-cased, as mod_wsgi's
/// `wsgi_module_name`, so one file reached under two spellings loads once.
fn script_key(path: &str) -> std::borrow::Cow<'_, str> {
    if case_sensitive() {
        path.into()
    } else {
        path.to_ascii_lowercase().into()
    }
}

/// The module name mod_wsgi would use is an md5 of the path; any stable,
/// collision-resistant-enough name serves, so FNV-1a keeps us dependency-free.
pub fn module_name(path: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("_mod_wsgi_rs_{hash:016x}")
}

fn cached(py: Python<'_>, path: &str) -> Option<Py<PyModule>> {
    let scripts = SCRIPTS.lock().unwrap_or_else(|e| e.into_inner());
    Some(
        scripts_of(&scripts, per_interpreter::current(py))?
            .get(script_key(path).as_ref())?
            .module
            .clone_ref(py),
    )
}

/// Whether a loaded script's module needs loading again, and the error of
/// its `reload_required` hook if that raised (logged by the caller; as in
/// mod_wsgi, a failing hook does not force a reload, which in daemon mode
/// would restart the process on every request).
pub struct ReloadCheck {
    pub required: bool,
    pub hook_error: Option<PyErr>,
}

/// mod_wsgi's `wsgi_reload_required` for `module`, loaded from `path`, whose
/// file's modification time is now `mtime`.
fn check_module(
    py: Python<'_>,
    module: &Bound<'_, PyModule>,
    path: &str,
    mtime: i64,
) -> ReloadCheck {
    let dict = module.dict();
    let loaded = dict
        .get_item(intern!(py, "__mtime__"))
        .ok()
        .flatten()
        .and_then(|m| m.extract::<i64>().ok());
    if loaded != Some(mtime) {
        return ReloadCheck {
            required: true,
            hook_error: None,
        };
    }
    let Some(hook) = dict.get_item(intern!(py, "reload_required")).ok().flatten() else {
        return ReloadCheck {
            required: false,
            hook_error: None,
        };
    };
    match hook.call1((path,)).and_then(|answer| answer.is_truthy()) {
        Ok(required) => ReloadCheck {
            required,
            hook_error: None,
        },
        Err(e) => ReloadCheck {
            required: false,
            hook_error: Some(e),
        },
    }
}

/// For a script this process has loaded: whether it needs reloading (see
/// `check_module`). A script not loaded here needs nothing.
pub fn reload_required(py: Python<'_>, path: &str, mtime: i64) -> ReloadCheck {
    match cached(py, path) {
        Some(module) => check_module(py, module.bind(py), path, mtime),
        None => ReloadCheck {
            required: false,
            hook_error: None,
        },
    }
}

static LOADED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static LOAD_FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A script failed to load and none has loaded yet in this process: what
/// `startup-timeout` watches, to restart a daemon whose first load hit a
/// transient problem.
pub fn only_failed_loads() -> bool {
    LOAD_FAILED.load(std::sync::atomic::Ordering::Relaxed)
        && !LOADED.load(std::sync::atomic::Ordering::Relaxed)
}

/// A file's modification time as Apache reports it (microseconds).
pub fn file_mtime(path: &str) -> Option<i64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since.as_micros()).ok()
}

/// Returns the script's module, loading it if needed and, when `reloading`,
/// loading it again when `check_module` says so; a failing
/// `reload_required` hook is handed to `hook_failed`. A script that fails
/// to load is not remembered, so the next request tries again.
pub fn load_script<'py>(
    py: Python<'py>,
    path: &str,
    mtime: i64,
    reloading: bool,
    hook_failed: &mut dyn FnMut(PyErr),
) -> PyResult<Bound<'py, PyModule>> {
    let stale = match cached(py, path) {
        Some(module) => {
            let module = module.into_bound(py);
            if !reloading {
                return Ok(module);
            }
            let check = check_module(py, &module, path, mtime);
            if let Some(e) = check.hook_error {
                hook_failed(e);
            }
            if !check.required {
                return Ok(module);
            }
            Some(module)
        }
        None => None,
    };
    let _ticket = GATE.enter(py);
    // Another thread may have loaded it while this one waited: use that
    // module rather than judge (and run the hook) again.
    if let Some(module) = cached(py, path)
        && stale.as_ref().is_none_or(|old| !old.is(module.bind(py)))
    {
        return Ok(module.into_bound(py));
    }
    let here = per_interpreter::current(py);
    let reloading_script = scripts_of(&SCRIPTS.lock().unwrap_or_else(|e| e.into_inner()), here)
        .is_some_and(|scripts| scripts.contains_key(script_key(path).as_ref()));
    log_loading(path, reloading_script);
    let module = execute_script(py, path, mtime).inspect_err(|_| {
        LOAD_FAILED.store(true, std::sync::atomic::Ordering::Relaxed);
    })?;
    LOADED.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut all = SCRIPTS.lock().unwrap_or_else(|e| e.into_inner());
    let at = match all.iter().position(|(key, _)| *key == here) {
        Some(at) => at,
        None => {
            all.push((here, HashMap::new()));
            all.len() - 1
        }
    };
    all[at].1.insert(
        script_key(path).into_owned(),
        LoadedScript {
            module: module.clone().unbind(),
        },
    );
    Ok(module)
}

/// Loads a process's import list at its start (`WSGIImportScript`, and
/// aliases with both groups given), as mod_wsgi's `wsgi_python_child_init`:
/// each script once, in order; one that raises is logged with its traceback
/// (mod_wsgi: "Unable to execute Python script file '...'.") and the process
/// goes on. The module is the one requests use, so they do not load it again.
/// Each `(script, application group)` loads into that group's interpreter.
pub fn import_scripts(scripts: &[(String, String)], context: &LogContext, sink: fn(Level, &str)) {
    use pyo3::types::PyTracebackMethods;
    for (script, group) in scripts {
        let mtime = file_mtime(script).unwrap_or(0);
        let loaded = crate::python::attach_group(group, |py| {
            load_script(py, script, mtime, true, &mut |_| {})
                .map(|_| ())
                .map_err(|e| {
                    let traceback = e
                        .traceback(py)
                        .and_then(|t| t.format().ok())
                        .unwrap_or_default();
                    (e.to_string(), traceback)
                })
        })
        .unwrap_or_else(|e| Err((e, String::new())));
        if let Err((error, traceback)) = loaded {
            let line = crate::messages::format_line(
                context.clone().with_script(script),
                crate::messages::SCRIPT_LOAD_FAILED,
                &format!(
                    "failed to preload the WSGI script at process start (Unable to execute \
                     Python script file '{script}'); the process goes on: {error}"
                ),
            );
            sink(Level::Error, &line);
            for l in traceback.lines() {
                sink(Level::Error, l);
            }
        }
    }
}

/// mod_wsgi's info line, in the words of 4.x and 6.x that people grep for.
fn log_loading(path: &str, reloading: bool) {
    let text = if reloading {
        format!("Reloading WSGI script '{path}'.")
    } else {
        format!("Loading Python script file '{path}'; Loading WSGI script '{path}'.")
    };
    crate::python::log::process_log(
        crate::messages::Level::Info,
        &crate::messages::process_note(&text),
    );
}

fn execute_script<'py>(py: Python<'py>, path: &str, mtime: i64) -> PyResult<Bound<'py, PyModule>> {
    let source = std::fs::read(path)
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("cannot read '{path}': {e}")))?;
    let name = module_name(&script_key(path));
    let builtins = py.import("builtins")?;
    let code = builtins.getattr("compile")?.call1((
        pyo3::types::PyBytes::new(py, &source),
        path,
        "exec",
        0,
        true,
    ))?;
    let module = PyModule::new(py, &name)?;
    module.setattr("__file__", path)?;
    let modules = py
        .import("sys")?
        .getattr("modules")?
        .cast_into::<PyDict>()?;
    modules.set_item(&name, &module)?;
    let globals = module.dict();
    if let Err(e) = builtins.getattr("exec")?.call1((code, &globals)) {
        modules.del_item(&name).ok();
        return Err(e);
    }
    // After the code ran, as mod_wsgi: what the reload check compares.
    module.setattr(intern!(py, "__mtime__"), mtime)?;
    Ok(module)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_are_stable_and_distinct() {
        assert_eq!(module_name("/srv/a.wsgi"), module_name("/srv/a.wsgi"));
        assert_ne!(module_name("/srv/a.wsgi"), module_name("/srv/b.wsgi"));
        assert!(module_name("/x").starts_with("_mod_wsgi_rs_"));
    }

    #[test]
    fn loads_caches_reloads_and_retries() {
        crate::test_support::with_python(|py| {
            let dir = crate::test_support::temp_dir("loader");
            let path = dir.join("app.wsgi");
            let path_str = path.to_str().unwrap();
            std::fs::write(&path, "value = 1\n").unwrap();
            let first = load_script(py, path_str, 1, true, &mut |_| {}).unwrap();
            assert_eq!(first.getattr("value").unwrap().extract::<i32>().unwrap(), 1);
            assert_eq!(
                first
                    .getattr("__file__")
                    .unwrap()
                    .extract::<String>()
                    .unwrap(),
                path_str
            );

            std::fs::write(&path, "value = 2\n").unwrap();
            let same = load_script(py, path_str, 1, true, &mut |_| {}).unwrap();
            assert_eq!(
                same.getattr("value").unwrap().extract::<i32>().unwrap(),
                1,
                "same mtime: cached"
            );
            let no_reload = load_script(py, path_str, 2, false, &mut |_| {}).unwrap();
            assert_eq!(
                no_reload
                    .getattr("value")
                    .unwrap()
                    .extract::<i32>()
                    .unwrap(),
                1,
                "reloading off"
            );
            let reloaded = load_script(py, path_str, 2, true, &mut |_| {}).unwrap();
            assert_eq!(
                reloaded.getattr("value").unwrap().extract::<i32>().unwrap(),
                2,
                "new mtime: reloaded"
            );

            let broken = dir.join("broken.wsgi");
            let broken_str = broken.to_str().unwrap();
            std::fs::write(&broken, "def application(:\n").unwrap();
            let err = load_script(py, broken_str, 1, true, &mut |_| {}).unwrap_err();
            assert!(err.is_instance_of::<pyo3::exceptions::PySyntaxError>(py));
            std::fs::write(&broken, "value = 3\n").unwrap();
            let fixed = load_script(py, broken_str, 1, true, &mut |_| {}).unwrap();
            assert_eq!(
                fixed.getattr("value").unwrap().extract::<i32>().unwrap(),
                3,
                "failed loads are retried"
            );
            std::fs::remove_dir_all(&dir).ok();
        });
    }

    #[test]
    fn mtime_and_the_reload_required_hook_decide_as_mod_wsgi() {
        crate::test_support::with_python(|py| {
            let dir = crate::test_support::temp_dir("loader-hook");
            let path = dir.join("hook.wsgi");
            let path_str = path.to_str().unwrap();
            let value =
                |m: &Bound<'_, PyModule>| m.getattr("value").unwrap().extract::<i32>().unwrap();
            let mut errors = Vec::new();
            std::fs::write(
                &path,
                "value = 1\n__mtime__ = 'replaced after the code ran'\nanswer = False\nseen = []\n\
                 def reload_required(resource):\n    seen.append(resource)\n    return answer\n",
            )
            .unwrap();
            let first = load_script(py, path_str, 5, true, &mut |e| errors.push(e)).unwrap();
            assert_eq!(
                first
                    .getattr("__mtime__")
                    .unwrap()
                    .extract::<i64>()
                    .unwrap(),
                5
            );
            std::fs::write(&path, "value = 2\n").unwrap();

            // Same mtime, the hook says no: kept; it was given the path.
            let same = load_script(py, path_str, 5, true, &mut |e| errors.push(e)).unwrap();
            assert!(same.is(&first));
            assert_eq!(
                first.getattr("seen").unwrap().str().unwrap().to_string(),
                format!("['{path_str}']")
            );
            // Reloading off: neither the mtime nor the hook is consulted.
            first.setattr("answer", true).unwrap();
            assert!(
                load_script(py, path_str, 9, false, &mut |e| errors.push(e))
                    .unwrap()
                    .is(&first)
            );
            assert_eq!(first.getattr("seen").unwrap().len().unwrap(), 1);
            // A failing hook is reported and forces nothing.
            first
                .setattr(
                    "reload_required",
                    py.eval(c"lambda path: 1 / 0", None, None).unwrap(),
                )
                .unwrap();
            assert!(
                load_script(py, path_str, 5, true, &mut |e| errors.push(e))
                    .unwrap()
                    .is(&first)
            );
            assert_eq!(errors.len(), 1);
            assert!(errors[0].is_instance_of::<pyo3::exceptions::PyZeroDivisionError>(py));
            assert!(!reload_required(py, path_str, 5).required);
            // The hook says yes: reloaded.
            first
                .setattr(
                    "reload_required",
                    py.eval(c"lambda path: True", None, None).unwrap(),
                )
                .unwrap();
            assert!(reload_required(py, path_str, 5).required);
            let reloaded = load_script(py, path_str, 5, true, &mut |e| errors.push(e)).unwrap();
            assert_eq!(value(&reloaded), 2);

            // A __mtime__ the application deleted or spoiled forces a reload.
            std::fs::write(&path, "value = 3\n").unwrap();
            reloaded.delattr("__mtime__").unwrap();
            assert!(reload_required(py, path_str, 5).required);
            let again = load_script(py, path_str, 5, true, &mut |e| errors.push(e)).unwrap();
            assert_eq!(value(&again), 3);
            std::fs::write(&path, "value = 4\n").unwrap();
            again.setattr("__mtime__", "soon").unwrap();
            assert_eq!(
                value(&load_script(py, path_str, 5, true, &mut |e| errors.push(e)).unwrap()),
                4
            );
            // A new mtime: reloaded.
            std::fs::write(&path, "value = 5\n").unwrap();
            assert_eq!(
                value(&load_script(py, path_str, 6, true, &mut |e| errors.push(e)).unwrap()),
                5
            );
            assert_eq!(errors.len(), 1);
            // A script this process never loaded needs nothing.
            assert!(!reload_required(py, "/nonexistent.wsgi", 1).required);
            std::fs::remove_dir_all(&dir).ok();
        });
    }
}
