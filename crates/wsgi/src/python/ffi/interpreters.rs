//! Sub-interpreters: creating one, switching this thread between its
//! interpreters' thread states, and ending one (mod_wsgi 6's
//! wsgi_interp.c: newInterpreterObject, wsgi_acquire_interpreter,
//! wsgi_destroy_interpreter). pyo3 has no safe form of any of these.

use pyo3::ffi;
use pyo3::prelude::*;

/// An interpreter, as the address of its `PyInterpreterState`: the key of
/// everything kept per interpreter.
pub(crate) type InterpreterKey = usize;

/// A thread state, held by the thread it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ThreadState(pub(crate) *mut ffi::PyThreadState);

// SAFETY: a thread state is only made current by the thread that made it
// (the registry keeps them per thread), or, once that thread has stopped
// using Python for good, by the thread that ends its interpreter.
unsafe impl Send for ThreadState {}

/// The main interpreter (`%{GLOBAL}`).
#[inline]
pub(crate) fn main_interpreter() -> InterpreterKey {
    // SAFETY: returns the runtime's main interpreter; a pure read once
    // Python is initialised, which every caller holding a token has.
    unsafe { ffi::PyInterpreterState_Main() as InterpreterKey }
}

/// The interpreter of the calling thread's current thread state.
#[inline]
pub(crate) fn current_interpreter(py: Python<'_>) -> InterpreterKey {
    let _ = py;
    // SAFETY: the GIL is held (`py`), so this thread has a current thread
    // state, whose interpreter this reads.
    unsafe { ffi::PyInterpreterState_Get() as InterpreterKey }
}

/// Creates a sub-interpreter and makes its first thread state current on
/// this thread; returns that state and the one that was current, which the
/// caller restores with [`swap`] once the interpreter is set up. On
/// failure the previous state is current again.
///
/// # Safety
/// This thread holds the GIL with a main-interpreter thread state.
pub(crate) unsafe fn new_interpreter() -> Result<(ThreadState, ThreadState), String> {
    // SAFETY: the GIL is held (the caller's promise); Py_NewInterpreter
    // wants no current state, makes its own current, and on failure leaves
    // none current.
    unsafe {
        let previous = ffi::PyThreadState_Swap(std::ptr::null_mut());
        let state = ffi::Py_NewInterpreter();
        if state.is_null() {
            ffi::PyThreadState_Swap(previous);
            return Err("Py_NewInterpreter() failed".to_owned());
        }
        Ok((ThreadState(state), ThreadState(previous)))
    }
}

/// The interpreter a thread state belongs to.
pub(crate) fn interpreter_of(state: ThreadState) -> InterpreterKey {
    // SAFETY: `state` is a live thread state (ThreadState values are only
    // made from live ones and never outlive their interpreter's end).
    unsafe { ffi::PyThreadState_GetInterpreter(state.0) as InterpreterKey }
}

/// A new thread state of `interpreter` for the calling thread, not made
/// current. (CPython registers it as the thread's `PyGILState` state only
/// if the thread has none; every serving thread already has its main one.)
///
/// # Safety
/// `interpreter` is alive. The GIL need not be held (CPython's
/// `PyThreadState_New` takes its own lock), but the thread must already
/// have its main-interpreter state, or this one would become its
/// `PyGILState` state.
pub(crate) unsafe fn new_thread_state(interpreter: InterpreterKey) -> Option<ThreadState> {
    // SAFETY: the caller's promise.
    let state = unsafe { ffi::PyThreadState_New(interpreter as *mut ffi::PyInterpreterState) };
    (!state.is_null()).then_some(ThreadState(state))
}

/// Clears and deletes `state`, a thread state of this thread's that is not
/// current, with the GIL held.
///
/// # Safety
/// The GIL is held; `state` is this thread's and not current.
pub(crate) unsafe fn delete_thread_state(state: ThreadState) {
    // SAFETY: the caller's promise; it is made current while it is cleared,
    // so the finalizers that run see the right thread state.
    unsafe {
        let back = ffi::PyThreadState_Swap(state.0);
        ffi::PyThreadState_Clear(state.0);
        ffi::PyThreadState_Swap(back);
        ffi::PyThreadState_Delete(state.0);
    }
}

/// Takes the GIL as a thread of `state`'s interpreter (so that, in 3.11,
/// whoever holds it there is asked to drop it: a waiting thread asks only
/// its own interpreter's), then makes this thread's main-interpreter state
/// current, as `Python::attach` expects. Returns that main state.
///
/// # Safety
/// This thread does not hold the GIL; `state` is this thread's; the thread
/// has a main-interpreter state (`ensure_thread_state`).
pub(crate) unsafe fn acquire_as(state: ThreadState) {
    // SAFETY: the caller's promise.
    unsafe {
        ffi::PyEval_RestoreThread(state.0);
        ffi::PyThreadState_Swap(ffi::PyGILState_GetThisThreadState());
    }
}

/// Releases the GIL this thread holds (`acquire_as`'s).
///
/// # Safety
/// This thread holds the GIL, with its main-interpreter state current.
pub(crate) unsafe fn release() {
    // SAFETY: the caller's promise.
    unsafe {
        ffi::PyEval_SaveThread();
    }
}

/// Takes the GIL with this thread's main-interpreter (`PyGILState`) state.
///
/// # Safety
/// This thread does not hold the GIL and has a main-interpreter state
/// (`ensure_thread_state`).
pub(crate) unsafe fn acquire_main() {
    // SAFETY: the caller's promise.
    unsafe { ffi::PyEval_RestoreThread(ffi::PyGILState_GetThisThreadState()) };
}

/// Clears and deletes this thread's current thread state and releases the
/// GIL: the end of a thread that used Python for one call only. CPython
/// also forgets it as the thread's `PyGILState` state, so nothing of the
/// thread stays behind in the interpreter.
///
/// # Safety
/// The GIL is held with this thread's own main-interpreter state current,
/// which nothing else refers to, and no pyo3 attach is open on this thread.
pub(crate) unsafe fn delete_current_thread_state() {
    // SAFETY: the caller's promise; the state is cleared while current,
    // so the finalizers that run see the right one.
    unsafe {
        ffi::PyThreadState_Clear(ffi::PyThreadState_Get());
        ffi::PyThreadState_DeleteCurrent();
    }
}

/// Makes `state` this thread's current thread state, keeping the GIL, and
/// returns the one that was.
///
/// # Safety
/// The GIL is held, and `state` belongs to this thread (or is null).
#[inline]
pub(crate) unsafe fn swap(state: ThreadState) -> ThreadState {
    // SAFETY: the caller's promise.
    ThreadState(unsafe { ffi::PyThreadState_Swap(state.0) })
}

/// Ends `interpreter` from `state`, one of its thread states, as mod_wsgi
/// 6's wsgi_destroy_interpreter: every other thread state of it is cleared
/// (with itself current, so finalizers see the right one) and deleted,
/// then `Py_EndInterpreter` waits for its non-daemon threads, runs its
/// `atexit` handlers and frees it. The thread state current before is
/// current again after.
///
/// # Safety
/// The GIL is held with a thread state of another interpreter; no other
/// thread uses this interpreter any more.
pub(crate) unsafe fn end_interpreter(state: ThreadState) {
    // SAFETY: the caller's promise; the next state is read before one is
    // deleted, so the walk stays on the list.
    unsafe {
        let back = ffi::PyThreadState_Get();
        let interpreter = ffi::PyThreadState_GetInterpreter(state.0);
        ffi::PyThreadState_Swap(state.0);
        let mut other = ffi::PyInterpreterState_ThreadHead(interpreter);
        while !other.is_null() {
            let next = ffi::PyThreadState_Next(other);
            if other != state.0 {
                ffi::PyThreadState_Swap(other);
                ffi::PyThreadState_Clear(other);
                ffi::PyThreadState_Swap(state.0);
                ffi::PyThreadState_Delete(other);
            }
            other = next;
        }
        ffi::Py_EndInterpreter(state.0);
        ffi::PyThreadState_Swap(back);
    }
}
