//! Loading WSGI scripts: once per process, as a uniquely named module, and
//! again when the file's modification time changes (`WSGIScriptReloading`).

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};

struct LoadedScript {
    mtime: i64,
    module: Py<PyModule>,
}

/// Scripts loaded in this process, by path. Only touched with the GIL held
/// and never across a call into Python, so the lock is never contended.
static SCRIPTS: Mutex<Option<HashMap<String, LoadedScript>>> = Mutex::new(None);

/// One load at a time: executing a script can release the GIL (imports do),
/// and two threads must not both execute the same new script.
struct LoadGate {
    busy: Mutex<bool>,
    freed: Condvar,
}

static GATE: LoadGate = LoadGate {
    busy: Mutex::new(false),
    freed: Condvar::new(),
};

struct GateTicket;

impl LoadGate {
    fn enter(&'static self, py: Python<'_>) -> GateTicket {
        py.detach(|| {
            let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
            while *busy {
                busy = self.freed.wait(busy).unwrap_or_else(|e| e.into_inner());
            }
            *busy = true;
        });
        GateTicket
    }
}

impl Drop for GateTicket {
    fn drop(&mut self) {
        *GATE.busy.lock().unwrap_or_else(|e| e.into_inner()) = false;
        GATE.freed.notify_one();
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

fn cached(py: Python<'_>, path: &str, mtime: i64, reloading: bool) -> Option<Py<PyModule>> {
    let scripts = SCRIPTS.lock().unwrap_or_else(|e| e.into_inner());
    let entry = scripts.as_ref()?.get(path)?;
    (!reloading || entry.mtime == mtime).then(|| entry.module.clone_ref(py))
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

/// The modification time the script had when this process loaded it.
pub fn loaded_mtime(path: &str) -> Option<i64> {
    let scripts = SCRIPTS.lock().unwrap_or_else(|e| e.into_inner());
    scripts.as_ref()?.get(path).map(|entry| entry.mtime)
}

/// A file's modification time as Apache reports it (microseconds).
pub fn file_mtime(path: &str) -> Option<i64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since.as_micros()).ok()
}

/// Returns the script's module, loading (or reloading) it if needed. A
/// script that fails to load is not remembered, so the next request tries again.
pub fn load_script<'py>(
    py: Python<'py>,
    path: &str,
    mtime: i64,
    reloading: bool,
) -> PyResult<Bound<'py, PyModule>> {
    if let Some(module) = cached(py, path, mtime, reloading) {
        return Ok(module.into_bound(py));
    }
    let _ticket = GATE.enter(py);
    if let Some(module) = cached(py, path, mtime, reloading) {
        return Ok(module.into_bound(py));
    }
    let reloading_script = SCRIPTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|scripts| scripts.contains_key(path));
    log_loading(path, reloading_script);
    let module = execute_script(py, path).inspect_err(|_| {
        LOAD_FAILED.store(true, std::sync::atomic::Ordering::Relaxed);
    })?;
    LOADED.store(true, std::sync::atomic::Ordering::Relaxed);
    SCRIPTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(
            path.to_owned(),
            LoadedScript {
                mtime,
                module: module.clone().unbind(),
            },
        );
    Ok(module)
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

fn execute_script<'py>(py: Python<'py>, path: &str) -> PyResult<Bound<'py, PyModule>> {
    let source = std::fs::read(path)
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("cannot read '{path}': {e}")))?;
    let name = module_name(path);
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
            let first = load_script(py, path_str, 1, true).unwrap();
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
            let same = load_script(py, path_str, 1, true).unwrap();
            assert_eq!(
                same.getattr("value").unwrap().extract::<i32>().unwrap(),
                1,
                "same mtime: cached"
            );
            let no_reload = load_script(py, path_str, 2, false).unwrap();
            assert_eq!(
                no_reload
                    .getattr("value")
                    .unwrap()
                    .extract::<i32>()
                    .unwrap(),
                1,
                "reloading off"
            );
            let reloaded = load_script(py, path_str, 2, true).unwrap();
            assert_eq!(
                reloaded.getattr("value").unwrap().extract::<i32>().unwrap(),
                2,
                "new mtime: reloaded"
            );

            let broken = dir.join("broken.wsgi");
            let broken_str = broken.to_str().unwrap();
            std::fs::write(&broken, "def application(:\n").unwrap();
            let err = load_script(py, broken_str, 1, true).unwrap_err();
            assert!(err.is_instance_of::<pyo3::exceptions::PySyntaxError>(py));
            std::fs::write(&broken, "value = 3\n").unwrap();
            let fixed = load_script(py, broken_str, 1, true).unwrap();
            assert_eq!(
                fixed.getattr("value").unwrap().extract::<i32>().unwrap(),
                3,
                "failed loads are retried"
            );
            std::fs::remove_dir_all(&dir).ok();
        });
    }
}
