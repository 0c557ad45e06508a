//! Starting and stopping CPython inside a server process, and giving each
//! server thread one Python thread state for its whole life.

use std::ffi::{CStr, CString};
use std::path::Path;

use pyo3::ffi;
use pyo3::prelude::*;

use super::options::{self, StartupOptions};
use crate::adapter::{LogSink, install_process_log};
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
    /// The main server's start-up options (`WSGIPythonOptimize`, ...).
    pub options: StartupOptions,
}

/// "x.y" of the Python this module is linked against; callable before start-up.
pub fn python_version() -> String {
    // SAFETY: Py_GetVersion returns a static NUL-terminated string and may be
    // called before the interpreter is initialised.
    let full = unsafe { CStr::from_ptr(ffi::Py_GetVersion()) }.to_string_lossy();
    let number = full.split_whitespace().next().unwrap_or("");
    number.split('.').take(2).collect::<Vec<_>>().join(".")
}

pub(super) struct Config(pub(super) ffi::PyConfig);

impl Config {
    fn isolated() -> Self {
        // SAFETY: PyConfig_InitIsolatedConfig fully initialises the struct it is given.
        unsafe {
            let mut config = std::mem::MaybeUninit::<ffi::PyConfig>::uninit();
            ffi::PyConfig_InitIsolatedConfig(config.as_mut_ptr());
            Config(config.assume_init())
        }
    }

    pub(super) fn check(status: ffi::PyStatus, what: &str) -> Result<(), String> {
        // SAFETY: PyStatus_Exception only reads the status value.
        if unsafe { ffi::PyStatus_Exception(status) } == 0 {
            return Ok(());
        }
        let detail = if status.err_msg.is_null() {
            "unknown error".to_owned()
        } else {
            // SAFETY: a non-NULL err_msg is a static NUL-terminated string.
            unsafe { CStr::from_ptr(status.err_msg) }
                .to_string_lossy()
                .into_owned()
        };
        Err(format!("{what}: {detail}"))
    }

    fn set_string(
        &mut self,
        field: fn(&mut ffi::PyConfig) -> *mut *mut libc::wchar_t,
        value: &str,
    ) -> Result<(), String> {
        let value =
            CString::new(value).map_err(|_| format!("path contains a NUL byte: {value:?}"))?;
        let slot = field(&mut self.0);
        // SAFETY: `slot` points into our PyConfig; the value is NUL-terminated.
        let status = unsafe { ffi::PyConfig_SetBytesString(&mut self.0, slot, value.as_ptr()) };
        Self::check(status, "PyConfig_SetBytesString")
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        // SAFETY: the config was initialised by PyConfig_InitIsolatedConfig.
        unsafe { ffi::PyConfig_Clear(&mut self.0) };
    }
}

/// Starts Python in this process. Called once per server process, after
/// `fork` and after privileges are dropped; never in Apache's root parent.
pub fn initialize(settings: &InterpreterSettings, sink: LogSink) -> Result<(), String> {
    // SAFETY: querying initialisation state is always allowed.
    if unsafe { ffi::Py_IsInitialized() } != 0 {
        return Ok(());
    }
    let mut config = Config::isolated();
    config.0.install_signal_handlers = 0;
    config.0.parse_argv = 0;
    // Apache's error log is our stdout; buffering would reorder lines.
    config.0.buffered_stdio = 0;
    match settings.python_home.as_deref() {
        // A virtual environment is found from its interpreter's location,
        // as when running venv/bin/python; `home` would skip pyvenv.cfg.
        Some(home) if Path::new(home).join("pyvenv.cfg").exists() => {
            config.set_string(|c| &mut c.program_name, &format!("{home}/bin/python"))?;
        }
        Some(home) => {
            config.set_string(|c| &mut c.program_name, BUILD_PYTHON)?;
            config.set_string(|c| &mut c.home, home)?;
        }
        None => config.set_string(|c| &mut c.program_name, BUILD_PYTHON)?,
    }
    options::configure(&mut config, &settings.options)?;
    let argv0 = CString::new("mod_wsgi").expect("no NUL");
    let mut argv = [argv0.as_ptr()];
    // SAFETY: argv holds one valid NUL-terminated string for the call's duration.
    Config::check(
        unsafe { ffi::PyConfig_SetBytesArgv(&mut config.0, 1, argv.as_mut_ptr()) },
        "sys.argv",
    )?;

    // SAFETY: the config is fully initialised; Python is not yet running.
    Config::check(
        unsafe { ffi::Py_InitializeFromConfig(&config.0) },
        "Py_InitializeFromConfig",
    )?;
    drop(config);

    // SAFETY: Py_InitializeFromConfig succeeded, so this thread holds the GIL.
    let py = unsafe { Python::assume_attached() };
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
        .and_then(|()| add_python_path(py, &settings.python_path));
    if let Err(e) = &setup {
        sink(
            Level::Error,
            &messages::process_line(messages::PYTHON_PATH_FAILED, &format!("{e}")),
        );
    }
    if let Err(e) = options::apply_after_start(py, &settings.options, sink) {
        sink(
            Level::Error,
            &messages::process_line(
                messages::PYTHON_OPTION_FAILED,
                &format!("WSGISwitchInterval or WSGIRestrictSignal could not be applied: {e}"),
            ),
        );
    }
    // Release the GIL: server threads take it per request. Without this the
    // threaded MPMs would wait forever on the first Python request.
    // SAFETY: this thread holds the GIL and its thread state stays alive (it
    // is the main thread state, restored in `finalize`).
    let main_state = unsafe { ffi::PyEval_SaveThread() };
    MAIN_THREAD_STATE.store(main_state, std::sync::atomic::Ordering::Release);
    Ok(())
}

static MAIN_THREAD_STATE: std::sync::atomic::AtomicPtr<ffi::PyThreadState> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

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

/// Runs `f` with the GIL held on the calling server thread.
///
/// Each thread gets one Python thread state the first time it gets here and
/// keeps it for its life: creating and destroying one per request (what a
/// bare `PyGILState_Ensure`/`Release` pair does) costs a third of a
/// hello-world request.
pub fn attach<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    // SAFETY: reading this thread's registered state is a TLS lookup.
    if unsafe { ffi::PyGILState_GetThisThreadState() }.is_null() {
        // SAFETY: Python is initialised (callers run only after `initialize`);
        // PyThreadState_New registers the new state as this thread's, with a
        // gilstate count of one, so the Ensure/Release pair below never
        // frees it.
        unsafe { ffi::PyThreadState_New(ffi::PyInterpreterState_Main()) };
    }
    Python::attach(f)
}

/// Stops Python: runs `atexit` handlers and flushes the log streams.
/// Called when a server process exits, on the thread that initialised it.
pub fn finalize() -> Result<(), String> {
    // SAFETY: querying initialisation state is always allowed.
    if unsafe { ffi::Py_IsInitialized() } == 0 {
        return Ok(());
    }
    let main_state =
        MAIN_THREAD_STATE.swap(std::ptr::null_mut(), std::sync::atomic::Ordering::AcqRel);
    // SAFETY: the GIL is released at this point (every request has returned);
    // restoring the main thread state makes this the thread Python finalises
    // from, as Py_FinalizeEx expects. If no main state is recorded we take a
    // state for this thread instead.
    unsafe {
        if main_state.is_null() {
            ffi::PyGILState_Ensure();
        } else {
            ffi::PyEval_RestoreThread(main_state);
        }
        Python::assume_attached().run(c"import sys\nfor s in (sys.stdout, sys.stderr):\n    try: s.flush()\n    except Exception: pass\n", None, None).ok();
        if ffi::Py_FinalizeEx() != 0 {
            return Err("Py_FinalizeEx reported an error while flushing".to_owned());
        }
    }
    Ok(())
}
