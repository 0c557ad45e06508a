//! The main server's Python start-up options (`WSGIPythonOptimize`,
//! `WSGIDontWriteBytecode`, `WSGIPythonHashSeed`, `WSGIPythonWarnings`,
//! `WSGISwitchInterval`, `WSGIRestrictSignal`): most go into the `PyConfig`
//! Python starts from, the last two are applied right after start-up. The
//! same options reach the Apache children and the daemon processes.

use pyo3::ffi;
use pyo3::prelude::*;

use super::interpreter::Config;
use crate::adapter::LogSink;

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
        }
    }
}

/// A NUL-terminated wide string: on Linux `wchar_t` is a 32-bit code point.
fn wide(text: &str) -> Result<Vec<libc::wchar_t>, String> {
    if text.contains('\0') {
        return Err(format!("contains a NUL byte: {text:?}"));
    }
    Ok(text
        .chars()
        .map(|c| c as libc::wchar_t)
        .chain(std::iter::once(0))
        .collect())
}

/// Puts the options that Python reads at start-up into `config`.
pub(super) fn configure(config: &mut Config, options: &StartupOptions) -> Result<(), String> {
    config.0.optimization_level = libc::c_int::from(options.optimize);
    config.0.write_bytecode = libc::c_int::from(options.write_bytecode);
    if let Some(seed) = options.hash_seed {
        config.0.use_hash_seed = 1;
        config.0.hash_seed = libc::c_ulong::from(seed);
    }
    for option in &options.warnings {
        let item = wide(option).map_err(|e| format!("WSGIPythonWarnings {e}"))?;
        // SAFETY: the list belongs to our initialised PyConfig; the item is a
        // NUL-terminated wide string that CPython copies before returning.
        let status =
            unsafe { ffi::PyWideStringList_Append(&mut config.0.warnoptions, item.as_ptr()) };
        Config::check(status, "WSGIPythonWarnings")?;
    }
    Ok(())
}

/// Applies the options that need a running Python; called once, on the
/// thread that started it, with the GIL held.
pub(super) fn apply_after_start(
    py: Python<'_>,
    options: &StartupOptions,
    sink: LogSink,
) -> PyResult<()> {
    if let Some(seconds) = options.switch_interval {
        py.import("sys")?
            .call_method1("setswitchinterval", (seconds,))?;
    }
    if options.restrict_signal {
        super::restrict_signal::install(py, sink)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_strings_are_code_points_with_a_terminator() {
        assert_eq!(
            wide("é:x").unwrap(),
            [
                0xe9 as libc::wchar_t,
                ':' as libc::wchar_t,
                'x' as libc::wchar_t,
                0
            ]
        );
        assert!(wide("a\0b").is_err());
    }
}
