//! CPython's `PyConfig`, the structure Python starts from, behind setters
//! that keep it valid: strings go through CPython's own copy functions and
//! the structure is cleared when dropped.

use std::ffi::{CStr, CString};

use pyo3::ffi;

pub(crate) struct Config(ffi::PyConfig);

/// `PyStatus` as a `Result`; `what` names the step in the error.
fn check(status: ffi::PyStatus, what: &str) -> Result<(), String> {
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

/// Pre-initialises Python's runtime as `PyPreConfig_InitPythonConfig` would
/// for locales (what mod_wsgi 6 starts from), while the rest of the
/// configuration stays isolated: LC_CTYPE is set from the environment
/// (`LC_ALL`, `LC_CTYPE`, `LANG`), a "C" or "POSIX" LC_CTYPE is coerced to
/// C.UTF-8 (PEP 538, which also exports `LC_CTYPE=C.UTF-8`) and turns on
/// UTF-8 mode (PEP 540). An isolated pre-configuration leaves LC_CTYPE at
/// "C", so `open()` without an encoding and the file system encoding are
/// ASCII even under `LANG=C.UTF-8`. Environment variables such as
/// `PYTHONUTF8` stay ignored, as everything else from the environment.
///
/// Must run before anything decodes a string for the configuration
/// (`PyConfig_SetBytesString` pre-initialises Python itself, with the
/// isolated locale settings); a second call changes nothing.
pub(crate) fn preinitialize_locale() -> Result<(), String> {
    // SAFETY: PyPreConfig_InitIsolatedConfig fully initialises the struct;
    // Py_PreInitialize copies it, and ignores it once pre-initialised.
    unsafe {
        let mut pre = std::mem::MaybeUninit::<ffi::PyPreConfig>::uninit();
        ffi::PyPreConfig_InitIsolatedConfig(pre.as_mut_ptr());
        let mut pre = pre.assume_init();
        pre.configure_locale = 1;
        // -1: decided from the locale, as PyPreConfig_InitPythonConfig does.
        pre.coerce_c_locale = -1;
        pre.utf8_mode = -1;
        check(ffi::Py_PreInitialize(&pre), "Py_PreInitialize")
    }
}

impl Config {
    /// An isolated configuration: no environment variables, no user site
    /// directory, nothing from the command line.
    pub(crate) fn isolated() -> Self {
        // SAFETY: PyConfig_InitIsolatedConfig fully initialises the struct it is given.
        unsafe {
            let mut config = std::mem::MaybeUninit::<ffi::PyConfig>::uninit();
            ffi::PyConfig_InitIsolatedConfig(config.as_mut_ptr());
            Config(config.assume_init())
        }
    }

    pub(crate) fn set_install_signal_handlers(&mut self, on: bool) {
        self.0.install_signal_handlers = libc::c_int::from(on);
    }

    pub(crate) fn set_parse_argv(&mut self, on: bool) {
        self.0.parse_argv = libc::c_int::from(on);
    }

    pub(crate) fn set_buffered_stdio(&mut self, on: bool) {
        self.0.buffered_stdio = libc::c_int::from(on);
    }

    pub(crate) fn set_optimization_level(&mut self, level: u8) {
        self.0.optimization_level = libc::c_int::from(level);
    }

    pub(crate) fn set_write_bytecode(&mut self, on: bool) {
        self.0.write_bytecode = libc::c_int::from(on);
    }

    pub(crate) fn set_hash_seed(&mut self, seed: u32) {
        self.0.use_hash_seed = 1;
        self.0.hash_seed = libc::c_ulong::from(seed);
    }

    pub(crate) fn set_program_name(&mut self, value: &str) -> Result<(), String> {
        let slot: *mut *mut libc::wchar_t = &mut self.0.program_name;
        self.set_string(slot, value)
    }

    pub(crate) fn set_home(&mut self, value: &str) -> Result<(), String> {
        let slot: *mut *mut libc::wchar_t = &mut self.0.home;
        self.set_string(slot, value)
    }

    /// `slot` must be one of this config's own string fields.
    fn set_string(&mut self, slot: *mut *mut libc::wchar_t, value: &str) -> Result<(), String> {
        let value =
            CString::new(value).map_err(|_| format!("path contains a NUL byte: {value:?}"))?;
        // SAFETY: `slot` points into our initialised PyConfig (both callers
        // take it from `self.0`); the value is NUL-terminated and copied.
        let status = unsafe { ffi::PyConfig_SetBytesString(&mut self.0, slot, value.as_ptr()) };
        check(status, "PyConfig_SetBytesString")
    }

    /// Appends one `-W` option (`sys.warnoptions`).
    pub(crate) fn add_warn_option(&mut self, option: &str) -> Result<(), String> {
        let item = wide(option)?;
        // SAFETY: the list belongs to our initialised PyConfig; the item is a
        // NUL-terminated wide string that CPython copies before returning.
        let status =
            unsafe { ffi::PyWideStringList_Append(&mut self.0.warnoptions, item.as_ptr()) };
        check(status, "PyWideStringList_Append")
    }

    /// `sys.argv`, decoded as the locale decodes command-line arguments.
    pub(crate) fn set_argv(&mut self, argv: &[&str]) -> Result<(), String> {
        let owned = argv
            .iter()
            .map(|a| CString::new(*a).map_err(|_| format!("argument contains a NUL byte: {a:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut pointers: Vec<*const libc::c_char> = owned.iter().map(|a| a.as_ptr()).collect();
        // SAFETY: `pointers` holds valid NUL-terminated strings (owned by
        // `owned`) for the call's duration; CPython copies them.
        let status = unsafe {
            ffi::PyConfig_SetBytesArgv(
                &mut self.0,
                pointers.len() as ffi::Py_ssize_t,
                pointers.as_mut_ptr().cast(),
            )
        };
        check(status, "sys.argv")
    }

    /// Starts Python from this configuration. On success the calling thread
    /// holds the GIL, with the main thread state. Python must not be running.
    pub(crate) fn initialize(&self) -> Result<(), String> {
        if super::is_initialized() {
            return Err("Python is already initialised".to_owned());
        }
        // SAFETY: the config is fully initialised; Python is not yet running
        // (checked above; start-up happens on one thread).
        check(
            unsafe { ffi::Py_InitializeFromConfig(&self.0) },
            "Py_InitializeFromConfig",
        )
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        // SAFETY: the config was initialised by PyConfig_InitIsolatedConfig.
        unsafe { ffi::PyConfig_Clear(&mut self.0) };
    }
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
