//! The interpreter's life in a server process: whether it runs, the main
//! thread state kept for shutdown, and one thread state per server thread.

use std::ffi::CStr;
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3::ffi;
use pyo3::prelude::*;

/// The full version string of the linked Python, e.g. `3.11.2 (main, ...)`;
/// callable before start-up.
pub(crate) fn version() -> &'static str {
    // SAFETY: Py_GetVersion returns a static NUL-terminated string and may be
    // called before the interpreter is initialised.
    unsafe { CStr::from_ptr(ffi::Py_GetVersion()) }
        .to_str()
        .unwrap_or("")
}

pub(crate) fn is_initialized() -> bool {
    // SAFETY: querying initialisation state is always allowed.
    unsafe { ffi::Py_IsInitialized() != 0 }
}

/// The thread state of the thread that started Python, while that thread
/// does not hold the GIL.
static MAIN_THREAD_STATE: AtomicPtr<ffi::PyThreadState> = AtomicPtr::new(std::ptr::null_mut());

/// Releases the GIL that start-up left with this thread, keeping its thread
/// state for [`finalize`].
///
/// # Safety
/// This thread holds the GIL (`py`), and nothing uses Python on it
/// afterwards until `finalize`: `py` and everything bound to it are dead.
pub(crate) unsafe fn release_main_thread(py: Python<'_>) {
    let _ = py;
    // SAFETY: this thread holds the GIL (the caller's promise) and its thread
    // state stays alive: it is the main thread state, restored in `finalize`.
    let state = unsafe { ffi::PyEval_SaveThread() };
    MAIN_THREAD_STATE.store(state, Ordering::Release);
}

/// Gives the calling thread its own Python thread state if it has none
/// yet, kept for the thread's life (pyo3's attach then reuses it).
///
/// # Safety
/// Python must be initialised.
// Inlined into `attach`, which every request goes through, as before the
// call moved here.
#[inline]
pub(crate) unsafe fn ensure_thread_state() {
    // SAFETY: reading this thread's registered state is a TLS lookup.
    if unsafe { ffi::PyGILState_GetThisThreadState() }.is_null() {
        // SAFETY: Python is initialised (the caller's promise);
        // PyThreadState_New registers the new state as this thread's, with a
        // gilstate count of one, so pyo3's Ensure/Release pairs never free it.
        unsafe { ffi::PyThreadState_New(ffi::PyInterpreterState_Main()) };
    }
}

/// Takes the GIL on this thread (with the main thread state if start-up
/// recorded one, so Python finalises from the thread it expects), runs
/// `before` and stops Python.
///
/// # Safety
/// Python must be initialised, this thread must not hold the GIL, and no
/// other thread may use Python any more.
pub(crate) unsafe fn finalize(before: impl for<'py> FnOnce(Python<'py>)) -> Result<(), String> {
    let main_state = MAIN_THREAD_STATE.swap(std::ptr::null_mut(), Ordering::AcqRel);
    // SAFETY: the GIL is not held here (the caller's promise); restoring the
    // main thread state, or taking a state for this thread when none is
    // recorded, attaches this thread.
    unsafe {
        if main_state.is_null() {
            ffi::PyGILState_Ensure();
        } else {
            ffi::PyEval_RestoreThread(main_state);
        }
    }
    // SAFETY: this thread now holds the GIL (above).
    before(unsafe { Python::assume_attached() });
    // SAFETY: the GIL is held and no other thread uses Python any more.
    if unsafe { ffi::Py_FinalizeEx() } != 0 {
        return Err("Py_FinalizeEx reported an error while flushing".to_owned());
    }
    Ok(())
}
