//! The main server's Python start-up options (`WSGIPythonOptimize`,
//! `WSGIDontWriteBytecode`, `WSGIPythonHashSeed`, `WSGIPythonWarnings`,
//! `WSGISwitchInterval`, `WSGIRestrictSignal`): most go into the `PyConfig`
//! Python starts from, the last two are applied right after start-up. The
//! same options reach the Apache children and the daemon processes.

use pyo3::prelude::*;

use super::ffi::Config;
use super::log::LogSink;

/// How Python starts in every process; the default is mod_wsgi's.
#[derive(Clone, Debug, PartialEq)]
pub struct StartupOptions {
    /// `WSGIPythonOptimize`: `PyConfig.optimization_level` (0, 1 or 2).
    pub optimize: u8,
    /// False with `WSGIDontWriteBytecode On`: no `__pycache__` files.
    pub write_bytecode: bool,
    /// `WSGIPythonHashSeed N`; `None` is Python's random seed per process.
    pub hash_seed: Option<u32>,
    /// `WSGIPythonWarnings`: `-W` options, in the order given.
    pub warnings: Vec<String>,
    /// `WSGISwitchInterval`, seconds; `None` keeps Python's 5 ms.
    pub switch_interval: Option<f64>,
    /// `WSGIRestrictSignal` (On by default): `signal.signal` installs nothing.
    pub restrict_signal: bool,
    /// `WSGIRestrictStdin` (Off by default): `sys.stdin` refuses every use.
    pub restrict_stdin: bool,
    /// `WSGIRestrictStdout` (Off by default): `sys.stdout` refuses every use.
    pub restrict_stdout: bool,
    /// `WSGIDestroyInterpreter` (On by default): Python is finalised at
    /// process exit (atexit handlers run). Off skips it, as mod_wsgi's
    /// `wsgi_python_term` does, for extensions that crash in finalisation.
    pub destroy_interpreter: bool,
}

impl Default for StartupOptions {
    fn default() -> Self {
        StartupOptions {
            optimize: 0,
            write_bytecode: true,
            hash_seed: None,
            warnings: Vec::new(),
            switch_interval: None,
            restrict_signal: true,
            restrict_stdin: false,
            restrict_stdout: false,
            destroy_interpreter: true,
        }
    }
}

/// Puts the options that Python reads at start-up into `config`.
pub(super) fn configure(config: &mut Config, options: &StartupOptions) -> Result<(), String> {
    config.set_optimization_level(options.optimize);
    config.set_write_bytecode(options.write_bytecode);
    if let Some(seed) = options.hash_seed {
        config.set_hash_seed(seed);
    }
    for option in &options.warnings {
        config
            .add_warn_option(option)
            .map_err(|e| format!("WSGIPythonWarnings {e}"))?;
    }
    Ok(())
}

/// Applies the options that need a running Python, with the GIL held: at
/// start-up in the main interpreter, and in each new sub-interpreter
/// (`main` false), where the switch interval, the process's, is not set
/// again.
pub(super) fn apply_after_start(
    py: Python<'_>,
    options: &StartupOptions,
    sink: LogSink,
    main: bool,
) -> PyResult<()> {
    if let Some(seconds) = options.switch_interval.filter(|_| main) {
        py.import("sys")?
            .call_method1("setswitchinterval", (seconds,))?;
    }
    if options.restrict_signal {
        super::restrict_signal::install(py, sink)?;
    }
    super::restrict_stdio::install(py, options.restrict_stdin, options.restrict_stdout)?;
    Ok(())
}
