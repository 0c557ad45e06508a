//! Starting and stopping CPython inside a server process, and giving each
//! server thread one Python thread state for its whole life.

use std::path::Path;

use pyo3::prelude::*;

use super::ffi::{self, Config};
use super::log::{LogSink, install_process_log};
use super::options::{self, StartupOptions};
use crate::config::InterpreterSections;
use crate::messages::{self, Level};

/// The interpreter the module was built against (`PYO3_PYTHON`); its path
/// tells CPython where the standard library is.
const BUILD_PYTHON: &str = match option_env!("PYO3_PYTHON") {
    Some(p) => p,
    None => "/usr/bin/python3",
};

#[derive(Clone, Debug, Default)]
pub struct InterpreterSettings {
    /// `WSGIPythonHome`: a Python installation prefix or a virtual environment.
    pub python_home: Option<String>,
    /// `WSGIPythonPath` entries, added with `site.addsitedir`.
    pub python_path: Vec<String>,
    /// `WSGIPythonEggs` (embedded) or `python-eggs=` (daemon): set as
    /// `os.environ["PYTHON_EGG_CACHE"]` once Python runs, as mod_wsgi does,
    /// for pkg_resources to extract zipped eggs into.
    pub python_eggs: Option<String>,
    /// The main server's start-up options (`WSGIPythonOptimize`, ...).
    pub options: StartupOptions,
    /// The `<WSGIInterpreterOptions>` sections a sub-interpreter's options
    /// and Python path are resolved from, with its group's name.
    pub sections: InterpreterSections,
    /// A daemon group's `home=`: put first on every interpreter's
    /// `sys.path`, after the Python path, as mod_wsgi 6 does
    /// (newInterpreterObject), so that the application's modules are found
    /// there as `python script.py` finds them beside the script.
    pub daemon_home: Option<String>,
}

/// The full "x.y.z" of the Python this module is linked against.
pub fn python_full_version() -> String {
    ffi::version()
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned()
}

/// "x.y" of the Python this module is linked against; callable before start-up.
pub fn python_version() -> String {
    let number = ffi::version().split_whitespace().next().unwrap_or("");
    number.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// `WSGIDestroyInterpreter`, as this process started Python with it.
static DESTROY_AT_EXIT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Starts Python in this process. Called once per server process, after
/// `fork` and after privileges are dropped; never in Apache's root parent.
pub fn initialize(settings: &InterpreterSettings, sink: LogSink) -> Result<(), String> {
    if ffi::is_initialized() {
        return Ok(());
    }
    DESTROY_AT_EXIT.store(
        settings.options.destroy_interpreter,
        std::sync::atomic::Ordering::Relaxed,
    );
    if let Some(problem) = settings.python_home.as_deref().and_then(home_problem) {
        sink(
            Level::Warning,
            &messages::process_line(messages::PYTHON_HOME_UNUSABLE, &problem),
        );
    }
    // The locale first: every string below is decoded with it.
    ffi::preinitialize_locale()?;
    let mut config = Config::isolated();
    config.set_install_signal_handlers(false);
    config.set_parse_argv(false);
    // Apache's error log is our stdout; buffering would reorder lines.
    config.set_buffered_stdio(false);
    match settings.python_home.as_deref() {
        // A virtual environment is found from its interpreter's location,
        // as when running venv/bin/python; `home` would skip pyvenv.cfg.
        Some(home) if Path::new(home).join("pyvenv.cfg").exists() => {
            config.set_program_name(&format!("{home}/bin/python"))?;
        }
        Some(home) => {
            config.set_program_name(BUILD_PYTHON)?;
            config.set_home(home)?;
        }
        None => config.set_program_name(BUILD_PYTHON)?,
    }
    options::configure(&mut config, &settings.options)?;
    config.set_argv(&["mod_wsgi"])?;
    config.initialize()?;
    drop(config);
    // After Python's own start (which coerces a C locale's LC_CTYPE into
    // the environment, PEP 538), before any application.
    use std::os::unix::ffi::OsStringExt;
    let environment = std::env::vars_os()
        .map(|(k, v)| (k.into_vec(), v.into_vec()))
        .collect();
    STARTED_THREAD.store(ffi::thread_ident(), std::sync::atomic::Ordering::Relaxed);

    // SAFETY: Py_InitializeFromConfig succeeded, so this thread holds the GIL.
    let py = unsafe { Python::assume_attached() };
    let _ = STARTED.set(Started {
        settings: settings.clone(),
        sink,
        environment,
    });
    prepare(py, settings, sink, true);
    // Release the GIL: server threads take it per request. Without this the
    // threaded MPMs would wait forever on the first Python request.
    // SAFETY: this thread holds the GIL since start-up, and returns at once.
    unsafe { ffi::release_main_thread(py) };
    Ok(())
}

/// The thread that started Python (threading's main thread in the main
/// interpreter), by its Python thread id.
static STARTED_THREAD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Whether the calling thread is the one that started Python.
pub(crate) fn started_python_here() -> bool {
    ffi::thread_ident() == STARTED_THREAD.load(std::sync::atomic::Ordering::Relaxed)
}

/// What this process started Python with, for its sub-interpreters: the
/// settings, the log sink, and the environment variables as they were
/// before any application ran.
struct Started {
    settings: InterpreterSettings,
    sink: LogSink,
    environment: Vec<(Vec<u8>, Vec<u8>)>,
}

static STARTED: std::sync::OnceLock<Started> = std::sync::OnceLock::new();

/// Sets up the current interpreter as mod_wsgi sets up each of its
/// interpreters: `threading` imported, the log streams, the Python path,
/// the egg cache, the options applied after start-up (the switch interval
/// only in the main one: it is the process's). Problems are logged.
fn prepare(py: Python<'_>, settings: &InterpreterSettings, sink: LogSink, main: bool) {
    // Import threading on this thread, the one that finalises Python: the
    // thread that first imports it becomes threading's main thread, and
    // Py_FinalizeEx (threading._shutdown) waits for that thread's state to
    // be deleted unless it is called from it. First imported by a request
    // on a worker thread, it made each child of a threaded MPM hang at exit
    // until Apache killed it, without running atexit handlers. (mod_wsgi
    // imports it at start-up for the same reason.)
    let setup = py
        .import("threading")
        .map(drop)
        .and_then(|()| install_process_log(py, sink))
        .and_then(|()| add_python_path(py, &settings.python_path))
        .and_then(|()| put_first_on_path(py, settings.daemon_home.as_deref()))
        .and_then(|()| set_egg_cache(py, settings.python_eggs.as_deref()));
    if let Err(e) = &setup {
        sink(
            Level::Error,
            &messages::process_line(messages::PYTHON_PATH_FAILED, &format!("{e}")),
        );
    }
    if let Err(e) = options::apply_after_start(py, &settings.options, sink, main) {
        sink(
            Level::Error,
            &messages::process_line(
                messages::PYTHON_OPTION_FAILED,
                &format!("WSGISwitchInterval or WSGIRestrictSignal could not be applied: {e}"),
            ),
        );
    }
}

/// Sets up a new sub-interpreter (current on this thread) of application
/// group `group` as start-up set up the main one, with the options and
/// Python path the `<WSGIInterpreterOptions>` sections give that group.
pub(crate) fn prepare_sub_interpreter(py: Python<'_>, group: &str) {
    let Some(started) = STARTED.get() else {
        return;
    };
    if let Err(e) = reset_environ(py, &started.environment) {
        (started.sink)(
            Level::Error,
            &messages::process_line(
                messages::INTERPRETER_FAILED,
                &format!("os.environ could not be set up in a new sub-interpreter: {e}"),
            ),
        );
    }
    let (options, python_path) = started
        .settings
        .sections
        .resolve(group, &started.settings.options);
    let settings = InterpreterSettings {
        python_path,
        options,
        ..started.settings.clone()
    };
    prepare(py, &settings, started.sink, false);
}

/// Makes the current (new) interpreter's `os.environ` the process's
/// environment as it was when Python started, without touching the
/// process's: CPython copies a new interpreter's from the process's as it
/// is now, so a script that did `os.environ.setdefault(...)` in one group
/// (Django's wsgi.py sets DJANGO_SETTINGS_MODULE so) would decide the next
/// group's value, and a second Django site would run with the first one's
/// settings. The copy lives in `os.environ._data` (bytes to bytes on POSIX).
fn reset_environ(py: Python<'_>, environment: &[(Vec<u8>, Vec<u8>)]) -> PyResult<()> {
    let data = py
        .import("os")?
        .getattr("environ")?
        .getattr("_data")?
        .cast_into::<pyo3::types::PyDict>()?;
    data.clear();
    for (key, value) in environment {
        data.set_item(
            pyo3::types::PyBytes::new(py, key),
            pyo3::types::PyBytes::new(py, value),
        )?;
    }
    Ok(())
}

/// Flushes the current interpreter's `sys.stdout` and `sys.stderr`.
pub(crate) fn flush_streams(py: Python<'_>) {
    py.run(
        c"import sys\nfor s in (sys.stdout, sys.stderr):\n    try: s.flush()\n    except Exception: pass\n",
        None,
        None,
    )
    .ok();
}

/// What is wrong with a Python home that this process cannot use, in
/// mod_wsgi 6's words (its WSGI0100-0102 warnings, wsgi_python_init): a
/// home inside a private home directory, or one naming the `python`
/// executable, is a common mistake. Python then fails to start, or starts
/// without the environment, and this line says why.
fn home_problem(home: &str) -> Option<String> {
    let advice = "Python interpreter may not initialise correctly.";
    match std::fs::metadata(home) {
        Err(e) => Some(format!(
            "Unable to stat Python home '{home}' ({e}); {advice} Verify the path and the \
             access permissions on every component of it."
        )),
        Ok(m) if !m.is_dir() => Some(format!(
            "Python home '{home}' is not a directory; {advice} Verify the supplied path."
        )),
        // Looking up "home/." needs search (execute) permission on home,
        // what mod_wsgi checks with access(X_OK).
        Ok(_) => match std::fs::metadata(Path::new(home).join(".")) {
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Some(format!(
                "Python home '{home}' is not accessible; {advice} Verify the access \
                 permissions on the directory."
            )),
            _ => None,
        },
    }
}

fn set_egg_cache(py: Python<'_>, eggs: Option<&str>) -> PyResult<()> {
    match eggs {
        Some(eggs) => py
            .import("os")?
            .getattr("environ")?
            .set_item("PYTHON_EGG_CACHE", eggs),
        None => Ok(()),
    }
}

fn add_python_path(py: Python<'_>, entries: &[String]) -> PyResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let site = py.import("site")?;
    for entry in entries {
        site.call_method1("addsitedir", (entry,))?;
    }
    Ok(())
}

fn put_first_on_path(py: Python<'_>, entry: Option<&str>) -> PyResult<()> {
    match entry {
        Some(entry) => py
            .import("sys")?
            .getattr("path")?
            .call_method1("insert", (0, entry))
            .map(drop),
        None => Ok(()),
    }
}

/// Runs `f` with the GIL held on the calling server thread.
///
/// Each thread gets one Python thread state the first time it gets here and
/// keeps it for its life: creating and destroying one per request (what a
/// bare `PyGILState_Ensure`/`Release` pair does) costs a third of a
/// hello-world request.
pub fn attach<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    // SAFETY: callers run only after `initialize`, so Python is initialised.
    unsafe { ffi::ensure_thread_state() };
    Python::attach(f)
}

/// Stops Python: runs `end_others` (which ends the sub-interpreters),
/// then `atexit` handlers, and flushes the log streams. Called when a
/// server process exits, on the thread that initialised it.
pub(crate) fn finalize_with(end_others: impl for<'py> FnOnce(Python<'py>)) -> Result<(), String> {
    if !ffi::is_initialized() {
        return Ok(());
    }
    if !DESTROY_AT_EXIT.load(std::sync::atomic::Ordering::Relaxed) {
        // WSGIDestroyInterpreter Off: only what is buffered goes out.
        attach(flush_streams);
        return Ok(());
    }
    // SAFETY: Python is initialised (checked above); at process exit every
    // request has returned, so this thread does not hold the GIL and no
    // other thread uses Python.
    unsafe {
        ffi::finalize(|py| {
            end_others(py);
            flush_streams(py);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_homes_are_named_in_mod_wsgi_words() {
        assert_eq!(home_problem("/usr"), None);
        let missing = home_problem("/nonexistent/venv").unwrap();
        assert!(
            missing.starts_with("Unable to stat Python home '/nonexistent/venv' (")
                && missing.ends_with("access permissions on every component of it."),
            "{missing}"
        );
        let file = home_problem("/usr/bin/python3").unwrap();
        assert!(
            file.starts_with("Python home '/usr/bin/python3' is not a directory;"),
            "{file}"
        );
    }
}
