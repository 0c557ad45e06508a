//! Raising an exception in another thread (`PyThreadState_SetAsyncExc`), as
//! mod_wsgi 6's daemon monitor does to unwind a request that ran past
//! `request-timeout`. pyo3 has no safe form of either call.

use std::ffi::c_long;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The calling thread's identifier as Python knows it (what a thread
/// state records when it is created, and `threading.get_ident()` returns).
/// Needs no GIL: it is the operating system's thread id.
// c_ulong is u64 here, u32 on 32-bit targets.
#[allow(clippy::useless_conversion)]
pub(crate) fn thread_ident() -> u64 {
    // SAFETY: PyThread_get_thread_ident only reads the calling thread's id
    // (pthread_self); it needs neither the GIL nor an initialised Python.
    u64::from(unsafe { ffi::PyThread_get_thread_ident() })
}

/// Makes the thread `ident` raise `exception` at its next bytecode, or
/// (with `None`) takes back one that has not fired yet. Returns how many
/// thread states matched (0: no thread of that id runs Python).
pub(crate) fn set_async_exc(
    py: Python<'_>,
    ident: u64,
    exception: Option<&Bound<'_, PyType>>,
) -> usize {
    let _ = py;
    let exception = exception.map_or(std::ptr::null_mut(), |e| e.as_ptr());
    // SAFETY: the GIL is held (`py`); `exception` is null or a live type
    // object that the call increfs for itself. The id is passed through as
    // CPython's unsigned long, whatever pyo3's declaration says.
    let found = unsafe { ffi::PyThreadState_SetAsyncExc(ident as c_long, exception) };
    usize::try_from(found).unwrap_or(0)
}
