//! State kept per interpreter: Python objects must not pass from one
//! interpreter to another, so what the module made once per process
//! (subscriber lists, the environ's constant objects, its key caches, the
//! loaded scripts) is made once per interpreter.
//!
//! The main interpreter (`%{GLOBAL}`) keeps the fast path it had: a
//! [`PerInterpreter`] holds its value in a `PyOnceLock` as before, reached
//! after one pointer comparison; the other interpreters' values sit in a
//! short list behind a lock. Interpreters live until the process exits, so
//! their values are leaked, never dropped: nothing drops a Python object
//! after its interpreter ended.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

pub(crate) use super::ffi::InterpreterKey;
use super::ffi::{current_interpreter, main_interpreter};
use crate::sync::lock;

/// Set before this process makes its first sub-interpreter: until then
/// every thread is in the main interpreter, and asking which costs one
/// atomic load (a process that runs only `%{GLOBAL}` pays nothing more).
static SUB_INTERPRETERS: AtomicBool = AtomicBool::new(false);

/// The main interpreter's key, read once.
static MAIN: AtomicUsize = AtomicUsize::new(0);

/// Called before the process's first sub-interpreter is made.
pub(crate) fn note_sub_interpreter() {
    SUB_INTERPRETERS.store(true, Ordering::SeqCst);
}

#[inline]
fn main_key() -> InterpreterKey {
    match MAIN.load(Ordering::Relaxed) {
        0 => {
            let key = main_interpreter();
            MAIN.store(key, Ordering::Relaxed);
            key
        }
        key => key,
    }
}

/// The calling thread's current interpreter.
#[inline]
pub(crate) fn current(py: Python<'_>) -> InterpreterKey {
    if SUB_INTERPRETERS.load(Ordering::Acquire) {
        current_interpreter(py)
    } else {
        main_key()
    }
}

/// The application group of the current sub-interpreter if `error` (or an
/// exception it was raised from) says that an extension module refuses to
/// run in a sub-interpreter: pyo3-based modules ("PyO3 modules do not yet
/// support subinterpreters", pydantic-core's, ...), numpy's "cannot load
/// module more than once per process". `None` in the main interpreter.
pub(crate) fn refusing_group(py: Python<'_>, error: &PyErr) -> Option<String> {
    if current(py) == main_key() {
        return None;
    }
    let mut next = Some(error.value(py).clone().into_any());
    let mut refused = false;
    for _ in 0..8 {
        let Some(e) = next.take() else { break };
        let text = e.str().map(|t| t.to_string()).unwrap_or_default();
        if [
            "subinterpreter",
            "sub-interpreter",
            "more than once per process",
        ]
        .iter()
        .any(|needle| text.contains(needle))
        {
            refused = true;
            break;
        }
        next = ["__cause__", "__context__"]
            .iter()
            .filter_map(|a| e.getattr(*a).ok())
            .find(|c| !c.is_none());
    }
    if !refused {
        return None;
    }
    let group = py
        .import("mod_wsgi")
        .and_then(|m| m.getattr("application_group"))
        .and_then(|g| g.extract::<String>())
        .unwrap_or_default();
    Some(group)
}

/// A value made once per interpreter, on first use in it.
pub(crate) struct PerInterpreter<T: 'static> {
    main: PyOnceLock<T>,
    others: Mutex<Vec<(InterpreterKey, &'static T)>>,
}

impl<T: Send + Sync + 'static> PerInterpreter<T> {
    pub(crate) const fn new() -> Self {
        PerInterpreter {
            main: PyOnceLock::new(),
            others: Mutex::new(Vec::new()),
        }
    }

    /// The current interpreter's value, made with `init` the first time.
    #[inline]
    pub(crate) fn get_or_init<'a>(&'a self, py: Python<'_>, init: impl FnOnce() -> T) -> &'a T {
        let key = current(py);
        if key == main_key() {
            return self.main.get_or_init(py, init);
        }
        self.other_or_init(key, init)
    }

    /// The current interpreter's value, if it was made.
    #[inline]
    pub(crate) fn get<'a>(&'a self, py: Python<'_>) -> Option<&'a T> {
        let key = current(py);
        if key == main_key() {
            return self.main.get(py);
        }
        lock(&self.others)
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    #[cold]
    fn other_or_init(&self, key: InterpreterKey, init: impl FnOnce() -> T) -> &T {
        if let Some((_, v)) = lock(&self.others).iter().find(|(k, _)| *k == key) {
            return v;
        }
        // Made outside the lock: `init` allocates Python objects, which can
        // run a garbage collection and other threads' Python code. The GIL
        // is held, so no other thread of this interpreter can race us to
        // insert between the check above and the push below without
        // running Python, which `init` may let happen: keep the first.
        let value: &'static T = Box::leak(Box::new(init()));
        let mut others = lock(&self.others);
        if let Some((_, v)) = others.iter().find(|(k, _)| *k == key) {
            return v;
        }
        others.push((key, value));
        value
    }
}

/// A thread's own value per interpreter (thread-local caches of Python
/// objects): the main interpreter's in place, others in a short list.
#[derive(Default)]
pub(crate) struct ByInterpreter<T> {
    main: T,
    others: Vec<(InterpreterKey, T)>,
}

impl<T: Default> ByInterpreter<T> {
    /// The value for the calling thread's current interpreter.
    #[inline]
    pub(crate) fn get_mut(&mut self, py: Python<'_>) -> &mut T {
        let key = current(py);
        if key == main_key() {
            return &mut self.main;
        }
        self.other(key)
    }

    #[cold]
    fn other(&mut self, key: InterpreterKey) -> &mut T {
        let at = match self.others.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                self.others.push((key, T::default()));
                self.others.len() - 1
            }
        };
        &mut self.others[at].1
    }
}
