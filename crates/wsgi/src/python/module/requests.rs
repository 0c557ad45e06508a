//! The requests in flight: `mod_wsgi.request_data()` (a dict for the
//! current request, which event subscribers share) and
//! `mod_wsgi.active_requests` (request id to that dict, for every request
//! this process is running).
//!
//! mod_wsgi makes the dict and registers it for every request. Here each
//! thread has a slot, made once, that holds the request's environ while it
//! runs: the dict is made only when someone asks for it, and
//! `active_requests` is a live read-only mapping over the slots. A request
//! then costs a slot update, not three dict operations and an allocation.
//!
//! Every slot lock is held only with the GIL held and never around code
//! that could run Python (`__del__` of a dropped object, a garbage
//! collection started by an allocation), which could try to take it again.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyKeyError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::python::ffi::heap_type::{self, Args, Flags, HeapType, Kind};
use crate::python::per_interpreter::{self, InterpreterKey};
use crate::sync::lock;

/// One request running on a thread.
struct Running {
    /// The interpreter it runs in: its objects are shown only there.
    interpreter: InterpreterKey,
    /// Set once built: the script is loaded (imported, the first time)
    /// before, and `request_data()` already works then, as in mod_wsgi.
    environ: Option<Py<PyDict>>,
    /// `request_data()`, made on first use.
    data: Option<Py<PyDict>>,
}

#[derive(Default)]
struct Slot {
    running: Mutex<Option<Running>>,
}

/// Every thread's slot, so that `active_requests` can see them all. A
/// thread registers once; serving threads live as long as the process.
static SLOTS: Mutex<Vec<Arc<Slot>>> = Mutex::new(Vec::new());

thread_local! {
    static SLOT: Arc<Slot> = {
        let slot = Arc::new(Slot::default());
        lock(&SLOTS).push(slot.clone());
        slot
    };
}

/// Marks the start of a request on this thread.
pub fn begin(py: Python<'_>) {
    let running = Running {
        interpreter: per_interpreter::current(py),
        environ: None,
        data: None,
    };
    let previous = SLOT.with(|slot| lock(&slot.running).replace(running));
    drop(previous);
}

/// Gives this thread's request its environ, once built.
pub fn set_environ(environ: &Bound<'_, PyDict>) {
    let environ = environ.clone().unbind();
    let previous = SLOT.with(|slot| {
        lock(&slot.running)
            .as_mut()
            .and_then(|running| running.environ.replace(environ))
    });
    drop(previous);
}

/// Marks the end of this thread's request (with the GIL held: the
/// references are released here).
pub fn end(_py: Python<'_>) {
    let finished = SLOT.with(|slot| lock(&slot.running).take());
    drop(finished);
}

/// This thread's request data, made on first use, or `None` outside a request.
pub fn current_data<'py>(py: Python<'py>) -> Option<Bound<'py, PyDict>> {
    SLOT.with(|slot| data_of(py, slot))
}

fn data_of<'py>(py: Python<'py>, slot: &Slot) -> Option<Bound<'py, PyDict>> {
    {
        let running = lock(&slot.running);
        let running = running.as_ref()?;
        if let Some(data) = &running.data {
            return Some(data.bind(py).clone());
        }
    }
    // Made outside the lock: an allocation can run a garbage collection.
    let fresh = PyDict::new(py);
    let mut running = lock(&slot.running);
    let running = running.as_mut()?;
    let data = running.data.get_or_insert_with(|| fresh.clone().unbind());
    Some(data.bind(py).clone())
}

/// The environ of this thread's request, or `None` outside a request.
pub fn current_environ<'py>(py: Python<'py>) -> Option<Bound<'py, PyDict>> {
    SLOT.with(|slot| {
        lock(&slot.running)
            .as_ref()
            .and_then(|running| running.environ.as_ref())
            .map(|environ| environ.bind(py).clone())
    })
}

/// `mod_wsgi.request_data()`.
#[pyfunction]
pub(crate) fn request_data(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    current_data(py).ok_or_else(|| PyRuntimeError::new_err("no active request for thread"))
}

/// A request's id, as mod_wsgi keys `active_requests` and names it in its
/// events: the environ's `mod_wsgi.request_id` (Apache's log id).
pub fn request_id<'py>(environ: &Bound<'py, PyDict>) -> Option<Bound<'py, PyAny>> {
    environ
        .get_item(pyo3::intern!(environ.py(), "mod_wsgi.request_id"))
        .ok()
        .flatten()
}

/// The running requests of the current interpreter that have an id, as
/// (id, data) pairs.
fn entries(py: Python<'_>) -> Vec<(Bound<'_, PyAny>, Bound<'_, PyDict>)> {
    let slots: Vec<Arc<Slot>> = lock(&SLOTS).clone();
    let here = per_interpreter::current(py);
    let mut out = Vec::new();
    for slot in slots {
        let environ = match lock(&slot.running)
            .as_ref()
            .filter(|running| running.interpreter == here)
            .and_then(|running| running.environ.as_ref())
        {
            Some(environ) => environ.clone_ref(py),
            None => continue,
        };
        let Some(id) = request_id(environ.bind(py)) else {
            continue;
        };
        if let Some(data) = data_of(py, &slot) {
            out.push((id, data));
        }
    }
    out
}

/// `mod_wsgi.active_requests`: a live, read-only mapping from request id
/// to that request's `request_data()` dict, for the requests running in
/// this interpreter (as mod_wsgi's, which is per interpreter). `copy()`
/// gives a plain dict.
pub(crate) struct ActiveRequests;

static ACTIVE_REQUESTS: HeapType<ActiveRequests> = HeapType::new(
    Kind::ActiveRequests,
    c"mod_wsgi.ActiveRequests",
    None,
    Flags {
        subclass: false,
        mapping: true,
    },
    || {
        vec![
            heap_type::len!(ActiveRequests, ActiveRequests::len),
            heap_type::keyed!(GetItem, ActiveRequests, ActiveRequests::getitem),
            heap_type::keyed!(Contains, ActiveRequests, ActiveRequests::contains),
            heap_type::unary!(Iter, ActiveRequests, ActiveRequests::iter),
            heap_type::unary!(Repr, ActiveRequests, ActiveRequests::repr),
            heap_type::method!(c"get", ActiveRequests, ActiveRequests::get),
            heap_type::method!(c"copy", ActiveRequests, ActiveRequests::py_copy),
            heap_type::method!(c"keys", ActiveRequests, ActiveRequests::py_keys),
            heap_type::method!(c"values", ActiveRequests, ActiveRequests::values),
            heap_type::method!(c"items", ActiveRequests, ActiveRequests::items),
        ]
    },
);

impl ActiveRequests {
    /// The mapping the `mod_wsgi` module exposes, of the current interpreter.
    pub(crate) fn new_object(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        ACTIVE_REQUESTS.instance(py, ActiveRequests)
    }

    fn len(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(entries(py).len())
    }

    fn getitem<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        for (id, data) in entries(py) {
            if id.eq(key)? {
                return Ok(data);
            }
        }
        Err(PyKeyError::new_err(key.clone().unbind()))
    }

    fn contains(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        for (id, _) in entries(py) {
            if id.eq(key)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn iter<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.keys(py)?.try_iter().map(Bound::into_any)
    }

    fn get<'py>(&self, py: Python<'py>, args: &Args<'_, 'py>) -> PyResult<Bound<'py, PyAny>> {
        let [key, default] = args.parse("ActiveRequests.get", ["key", "default"], 1, 0)?;
        let key = key.expect("required").to_owned();
        for (id, data) in entries(py) {
            if id.eq(&key)? {
                return Ok(data.into_any());
            }
        }
        Ok(default.map_or_else(|| py.None().into_bound(py), |d| d.to_owned()))
    }

    fn py_copy<'py>(&self, py: Python<'py>, args: &Args<'_, 'py>) -> PyResult<Bound<'py, PyDict>> {
        args.parse("ActiveRequests.copy", [], 0, 0)?;
        self.copy(py)
    }

    fn copy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (id, data) in entries(py) {
            dict.set_item(id, data)?;
        }
        Ok(dict)
    }

    fn py_keys<'py>(&self, py: Python<'py>, args: &Args<'_, 'py>) -> PyResult<Bound<'py, PyList>> {
        args.parse("ActiveRequests.keys", [], 0, 0)?;
        self.keys(py)
    }

    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, entries(py).into_iter().map(|(id, _)| id))
    }

    fn values<'py>(&self, py: Python<'py>, args: &Args<'_, 'py>) -> PyResult<Bound<'py, PyList>> {
        args.parse("ActiveRequests.values", [], 0, 0)?;
        PyList::new(py, entries(py).into_iter().map(|(_, data)| data))
    }

    fn items<'py>(&self, py: Python<'py>, args: &Args<'_, 'py>) -> PyResult<Bound<'py, PyList>> {
        args.parse("ActiveRequests.items", [], 0, 0)?;
        PyList::new(py, entries(py))
    }

    fn repr(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.copy(py)?.repr()?.to_string())
    }
}
