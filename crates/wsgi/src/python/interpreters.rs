//! Application groups as interpreters, as mod_wsgi 6 (wsgi_interp.c):
//! `%{GLOBAL}` (the empty name) is the main interpreter; every other group
//! gets a sub-interpreter of its own, made with `Py_NewInterpreter` the
//! first time a request (or an import script) of that group runs in this
//! process, and set up as the main one was (see [`create`]).
//!
//! **Attaching.** Requests take the GIL as before, with `Python::attach` on
//! the thread's main-interpreter thread state (pyo3 counts its attach depth
//! only through that, and must never call `PyGILState_Ensure` while a
//! sub-interpreter's state is current: in 3.11 that deadlocks). For a group
//! other than `%{GLOBAL}`, [`run_in`] then swaps (`PyThreadState_Swap`) to
//! this thread's own thread state of that interpreter, made once with
//! `PyThreadState_New` and kept in a thread-local, and swaps back before it
//! returns, also when `f` panics. `py.detach()` inside works: it saves and
//! restores whatever state is current. `%{GLOBAL}` costs one string
//! length test.
//!
//! **The end** ([`finalize`]): as mod_wsgi's wsgi_python_child_cleanup,
//! with `WSGIDestroyInterpreter On` each sub-interpreter is ended first
//! (`Py_EndInterpreter`, which runs its `atexit` handlers, from this
//! thread's state of it, the others cleared), then the main one is
//! finalised.

use std::cell::RefCell;
use std::sync::{Mutex, PoisonError, RwLock};

use pyo3::prelude::*;

use super::gate::Gate;

use super::ffi::{self, InterpreterKey, ThreadState};
use super::{interpreter, module};
use crate::messages::{self, Level};
use crate::python::log::process_log;
use crate::sync::lock;

/// A sub-interpreter of this process.
struct Registered {
    name: String,
    key: InterpreterKey,
}

/// The sub-interpreters made in this process, in the order they were made.
/// Touched with the GIL held, never across a call into Python.
static REGISTRY: Mutex<Vec<Registered>> = Mutex::new(Vec::new());

thread_local! {
    /// This thread's own thread state of each sub-interpreter it ran in,
    /// by group name: a thread's `threading.local` data and the like stay
    /// from one request to the next, as in mod_wsgi.
    static STATES: RefCell<Vec<(Box<str>, ThreadState)>> = const { RefCell::new(Vec::new()) };
}

/// One thread at a time makes an interpreter or a thread state: setting up
/// an interpreter runs Python, which can release the GIL, and two threads
/// must not both make the same group's interpreter.
static GATE: Gate = Gate::new();

/// True once Python begins to stop. Threads that enter Python in the
/// background ([`in_background`]: a daemon's heartbeat and monitor) no
/// longer do, and [`finalize`] waits for those inside: a thread state made
/// for a thread while `Py_FinalizeEx` tears the interpreter's states down
/// aborts the process ("init_threadstate: thread state already
/// initialized"), and one kept by such a thread points to freed memory.
static STOPPING: RwLock<bool> = RwLock::new(false);

/// Runs `f` (which enters Python) unless Python has begun to stop; `None`
/// if it has. For threads outside the requests' life (the heartbeat, the
/// monitor), which nothing else stops before Python is finalised.
pub fn in_background<R>(f: impl FnOnce() -> R) -> Option<R> {
    let stopping = STOPPING.read().unwrap_or_else(PoisonError::into_inner);
    (!*stopping).then(f)
}

/// An interpreter of this process, as a daemon's monitor records the one a
/// request runs in: a pointer's copy, no string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interpreter(InterpreterKey);

impl Interpreter {
    /// The interpreter the calling thread runs in.
    pub fn current(py: Python<'_>) -> Interpreter {
        Interpreter(ffi::current_interpreter(py))
    }
}

/// The application groups that have an interpreter of their own in this
/// process (`%{GLOBAL}` is not among them), in the order they were made,
/// but the first `skip`: the list only grows until Python stops.
pub fn groups_after(skip: usize) -> Vec<String> {
    lock(&REGISTRY)
        .iter()
        .skip(skip)
        .map(|r| r.name.clone())
        .collect()
}

/// Makes the thread state it holds current again when dropped.
struct SwapBack(ThreadState);

impl Drop for SwapBack {
    fn drop(&mut self) {
        // SAFETY: the GIL is still held (a SwapBack lives inside a
        // `Python::attach` closure), and the state is this thread's: the
        // one that was current before the swap that made this value.
        unsafe { ffi::swap(self.0) };
    }
}

/// The words mod_wsgi uses for an interpreter in its log lines.
fn describe(group: &str) -> String {
    if group.is_empty() {
        "the main interpreter".to_owned()
    } else {
        format!("sub-interpreter '{group}'")
    }
}

/// Runs `f` in application group `group`'s interpreter: at once for
/// `%{GLOBAL}` (""), otherwise with this thread's thread state of the
/// group's sub-interpreter current, which is made first if needed. The
/// error is a log line's text: the interpreter could not be made.
pub fn run_in<R>(
    py: Python<'_>,
    group: &str,
    f: impl FnOnce(Python<'_>) -> R,
) -> Result<R, String> {
    if group.is_empty() {
        return Ok(f(py));
    }
    let own = own_state(group);
    let state = match own {
        Some(state) => state,
        None => acquire(py, group)?,
    };
    // SAFETY: the GIL is held (`py`) and `state` is this thread's own.
    let back = SwapBack(unsafe { ffi::swap(state) });
    let result = f(py);
    drop(back);
    Ok(result)
}

/// This thread's own thread state of `group`'s interpreter, if it has one.
fn own_state(group: &str) -> Option<ThreadState> {
    STATES.with(|states| {
        states
            .borrow()
            .iter()
            .find(|(name, _)| &**name == group)
            .map(|(_, state)| *state)
    })
}

/// Takes the GIL and runs `f` in group `group`'s interpreter. A thread
/// that has a state in that interpreter waits for the GIL with it: in 3.11
/// a waiting thread asks only its own interpreter's threads to drop the
/// GIL, so waiting with the main one, a request could never take the turn
/// of another request of its group running pure Python. Called by a
/// thread that does not hold the GIL (a server thread starting a request,
/// start-up's import scripts).
pub fn attach_group<R>(
    group: &str,
    f: impl for<'py> FnOnce(Python<'py>) -> R,
) -> Result<R, String> {
    if group.is_empty() {
        return crate::python::attach(|py| run_in(py, group, f));
    }
    let own = own_state(group);
    let state = match own {
        Some(state) => state,
        None => match own_state_without_gil(group)? {
            Some(state) => state,
            // The interpreter is made under the GIL, as the main one's thread.
            None => return crate::python::attach(|py| run_in(py, group, f)),
        },
    };
    /// Releases the GIL taken below, also when `f` panics.
    struct Held;
    impl Drop for Held {
        fn drop(&mut self) {
            // SAFETY: the GIL is held with the main state current (pyo3's
            // attach returned, run_in swapped back).
            unsafe { ffi::release() };
        }
    }
    // SAFETY: this thread does not hold the GIL (this function's
    // precondition), `state` is its own, and it has a main state (it made
    // `state` inside an attach, which gave it one).
    unsafe { ffi::acquire_as(state) };
    let held = Held;
    // pyo3's PyGILState_Ensure finds the main state current: it only counts.
    let result = crate::python::attach(|py| run_in(py, group, f));
    drop(held);
    result
}

/// This thread's new thread state of `group`'s interpreter if the process
/// has made that interpreter, made without the GIL, so that the thread's
/// first request of the group already waits for the GIL as one of the
/// group's threads (waiting as a main-interpreter thread, it would never
/// get its turn from a request of the group running pure Python).
#[cold]
fn own_state_without_gil(group: &str) -> Result<Option<ThreadState>, String> {
    let Some(key) = lock(&REGISTRY)
        .iter()
        .find(|r| r.name == group)
        .map(|r| r.key)
    else {
        return Ok(None);
    };
    // SAFETY: Python is initialised (a sub-interpreter exists); the main
    // state first, so that it stays this thread's PyGILState state.
    unsafe { ffi::ensure_thread_state() };
    // SAFETY: the interpreter lives until exit, and this thread has its
    // main state (above).
    let state = unsafe { ffi::new_thread_state(key) }
        .ok_or_else(|| format!("no thread state could be made for {}", describe(group)))?;
    STATES.with(|states| states.borrow_mut().push((group.into(), state)));
    Ok(Some(state))
}

/// This thread's new thread state of `group`'s interpreter, which is made
/// if this process has none yet.
#[cold]
fn acquire(py: Python<'_>, group: &str) -> Result<ThreadState, String> {
    let _ticket = GATE.enter(py);
    let existing = lock(&REGISTRY)
        .iter()
        .find(|r| r.name == group)
        .map(|r| r.key);
    let state = match existing {
        // SAFETY: the GIL is held and the interpreter lives until exit.
        Some(key) => unsafe { ffi::new_thread_state(key) }
            .ok_or_else(|| format!("no thread state could be made for {}", describe(group)))?,
        None => create(py, group)?,
    };
    STATES.with(|states| states.borrow_mut().push((group.into(), state)));
    Ok(state)
}

/// Makes `group`'s sub-interpreter and sets it up as start-up set up the
/// main one: `threading` imported, the log streams, the Python path, the
/// egg cache, `WSGIRestrictSignal`/`WSGIRestrictStdin`/`WSGIRestrictStdout`
/// (with the `<WSGIInterpreterOptions>` sections that select the group; the
/// switch interval is the process's, set once), then the `mod_wsgi`
/// and `apache` modules with this group's `application_group`. A step that
/// fails is logged and the interpreter serves anyway, as the main one
/// does. Returns the thread state it was made with, this thread's.
fn create(py: Python<'_>, group: &str) -> Result<ThreadState, String> {
    super::per_interpreter::note_sub_interpreter();
    // SAFETY: the GIL is held (`py`) with this thread's main-interpreter
    // thread state (run_in is entered from `attach`, and sub-interpreters
    // are only made from there).
    let (state, previous) = unsafe { ffi::new_interpreter() }.map_err(|e| {
        format!(
            "{} could not be created ({e}); its requests get 500",
            describe(group)
        )
    })?;
    let back = SwapBack(previous);
    process_log(
        Level::Info,
        &messages::process_note(&format!("Creating {}.", describe(group))),
    );
    interpreter::prepare_sub_interpreter(py, group);
    module::install_here(py, group);
    drop(back);
    lock(&REGISTRY).push(Registered {
        name: group.to_owned(),
        key: ffi::interpreter_of(state),
    });
    Ok(state)
}

/// Takes the GIL as a thread of `interpreter` (the main one if `None`, or
/// if it is not this process's) and runs `f` in it, from a thread that has
/// never used Python and will not again: the daemon monitor's short-lived
/// threads. Waiting as a thread of the interpreter whose request it wants
/// to reach is what makes, in 3.11, a thread of it running pure Python
/// drop the GIL (a waiter asks only its own interpreter's threads). Both
/// thread states (the main one pyo3 needs and the interpreter's) are made
/// for the call and deleted after it, also when `f` panics: kept, they
/// would pile up, and a later thread given the same id would share it in
/// `PyThreadState_SetAsyncExc`. `None` if Python has begun to stop.
pub fn attach_once<R>(
    interpreter: Option<Interpreter>,
    f: impl for<'py> FnOnce(Python<'py>) -> R,
) -> Option<R> {
    in_background(|| {
        // SAFETY: Python is initialised (the process serves) and does not
        // stop meanwhile (in_background). This thread has no state yet.
        unsafe { ffi::ensure_thread_state() };
        let key = interpreter
            .map(|Interpreter(key)| key)
            .filter(|key| lock(&REGISTRY).iter().any(|r| r.key == *key));
        // SAFETY: a registered interpreter lives until Python stops, which
        // it does not do meanwhile; this thread has its main state (above).
        let own = key.and_then(|key| unsafe { ffi::new_thread_state(key) });
        /// Deletes the call's thread states and releases the GIL.
        struct Once(Option<ThreadState>);
        impl Drop for Once {
            fn drop(&mut self) {
                // SAFETY: the GIL is held with this thread's main state
                // current (pyo3's attach has returned, and the swap to
                // `own` has been undone); both states are this thread's,
                // made above, and nothing else refers to them.
                unsafe {
                    if let Some(own) = self.0 {
                        ffi::delete_thread_state(own);
                    }
                    ffi::delete_current_thread_state();
                }
            }
        }
        // SAFETY: this thread does not hold the GIL (it never used Python)
        // and has its main state; `own` is this thread's.
        unsafe {
            match own {
                Some(own) => ffi::acquire_as(own),
                None => ffi::acquire_main(),
            }
        }
        let once = Once(own);
        let result = crate::python::attach(|py| match own {
            Some(own) => {
                // SAFETY: the GIL is held; `own` is this thread's.
                let _back = SwapBack(unsafe { ffi::swap(own) });
                f(py)
            }
            None => f(py),
        });
        drop(once);
        result
    })
}

/// Runs `f` in the main interpreter and then in each sub-interpreter of
/// this process, with the group's name (what mod_wsgi does to publish
/// `process_stopping`). A thread that has no state of its own in an
/// interpreter gets one for the call only, so that none piles up.
pub fn in_each(py: Python<'_>, mut f: impl FnMut(Python<'_>, &str)) {
    f(py, "");
    let registered: Vec<(String, InterpreterKey)> = lock(&REGISTRY)
        .iter()
        .map(|r| (r.name.clone(), r.key))
        .collect();
    for (group, key) in registered {
        let own = own_state(&group);
        let state = match own {
            Some(state) => state,
            // SAFETY: the GIL is held; interpreters live until exit.
            None => match unsafe { ffi::new_thread_state(key) } {
                Some(state) => {
                    {
                        // SAFETY: the GIL is held; `state` is this thread's.
                        let _back = SwapBack(unsafe { ffi::swap(state) });
                        f(py, &group);
                    }
                    // SAFETY: the GIL is held; `state` is this thread's and
                    // no longer current.
                    unsafe { ffi::delete_thread_state(state) };
                    continue;
                }
                None => continue,
            },
        };
        // SAFETY: the GIL is held; `state` is this thread's own.
        let _back = SwapBack(unsafe { ffi::swap(state) });
        f(py, &group);
    }
}

/// Publishes `process_stopping` in every interpreter, as mod_wsgi 6's
/// wsgi_publish_process_stopping.
pub fn publish_process_stopping(reason: &str) {
    crate::python::attach(|py| {
        in_each(py, |py, _| {
            module::publish_process_stopping_here(py, reason)
        })
    });
}

/// Stops Python at process exit: with `WSGIDestroyInterpreter On`, each
/// sub-interpreter is ended (its `atexit` handlers run), then the main one
/// is finalised. Called on the thread that started Python, once no other
/// thread uses Python.
pub fn finalize() -> Result<(), String> {
    // Waits for the background threads inside Python to come out.
    *STOPPING.write().unwrap_or_else(PoisonError::into_inner) = true;
    interpreter::finalize_with(end_sub_interpreters)
}

/// With the GIL held on the main thread state: ends every sub-interpreter.
fn end_sub_interpreters(py: Python<'_>) {
    let registered = std::mem::take(&mut *lock(&REGISTRY));
    if registered.is_empty() {
        return;
    }
    process_log(
        Level::Info,
        &messages::process_note("Destroying Python sub-interpreters."),
    );
    let mut own = STATES.with(|states| std::mem::take(&mut *states.borrow_mut()));
    for interpreter in registered {
        let mine = own
            .iter()
            .position(|(name, _)| **name == *interpreter.name)
            .map(|at| own.swap_remove(at).1);
        // SAFETY: the GIL is held; the interpreter is alive.
        let state = mine.or_else(|| unsafe { ffi::new_thread_state(interpreter.key) });
        let Some(state) = state else {
            process_log(
                Level::Error,
                &messages::process_line(
                    messages::INTERPRETER_FAILED,
                    &format!(
                        "no thread state could be made to end {}; it is not shut down cleanly",
                        describe(&interpreter.name)
                    ),
                ),
            );
            continue;
        };
        process_log(
            Level::Info,
            &messages::process_note(&format!("Destroying {}.", describe(&interpreter.name))),
        );
        {
            // SAFETY: the GIL is held and `state` is now this thread's.
            let _back = SwapBack(unsafe { ffi::swap(state) });
            interpreter::flush_streams(py);
            // Its type objects are released in it, before it ends.
            crate::python::ffi::heap_type::forget_interpreter(py, interpreter.key);
        }
        // SAFETY: the GIL is held with the main thread state; no other
        // thread uses Python any more (the caller's promise).
        unsafe { ffi::end_interpreter(state) };
    }
}
