//! Python objects built in place: latin-1 `str` for CGI values and
//! `bytes` filled by the request body without a copy.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

unsafe extern "C" {
    // Part of CPython's stable ABI for decades, but not wrapped by pyo3-ffi.
    fn _PyBytes_Resize(bytes: *mut *mut ffi::PyObject, size: ffi::Py_ssize_t) -> libc::c_int;
    // Exported by every CPython 3 (Cython's generated code calls it), but
    // not wrapped by pyo3-ffi.
    fn _PyDict_NewPresized(minused: ffi::Py_ssize_t) -> *mut ffi::PyObject;
}

/// An empty dict with room for `items` keys: filling a new dict with the
/// fifty-odd keys of an environ otherwise resizes (and rehashes) it five
/// times.
pub(crate) fn dict_with_capacity(py: Python<'_>, items: usize) -> Bound<'_, PyDict> {
    // SAFETY: the GIL is held (we have `py`); the result is a new dict, or
    // NULL on memory exhaustion, which `from_owned_ptr` turns into a panic.
    unsafe {
        Bound::from_owned_ptr(py, _PyDict_NewPresized(items as ffi::Py_ssize_t))
            .cast_into_unchecked()
    }
}

/// A `str` from latin-1 bytes, which is how PEP 3333 wants CGI values.
pub(crate) fn latin1_str<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    // SAFETY: the pointer and length describe a live slice; the GIL is held
    // (we have `py`); latin-1 decoding cannot fail, so the result is never
    // NULL except on memory exhaustion, which `from_owned_ptr` turns into a panic.
    unsafe {
        let ptr = ffi::PyUnicode_DecodeLatin1(
            bytes.as_ptr().cast(),
            bytes.len() as ffi::Py_ssize_t,
            std::ptr::null(),
        );
        Bound::from_owned_ptr(py, ptr).cast_into_unchecked()
    }
}

/// Creates a `bytes` object of up to `capacity` bytes, filled in place by
/// `fill` (which returns how many it wrote), so request bodies reach Python
/// without an intermediate copy.
pub(crate) fn bytes_filled_by<'py>(
    py: Python<'py>,
    capacity: usize,
    fill: impl FnOnce(Python<'py>, &mut [u8]) -> PyResult<usize>,
) -> PyResult<Bound<'py, PyBytes>> {
    // SAFETY: PyBytes_FromStringAndSize(NULL, n) returns a new, unshared
    // bytes object whose n-byte buffer we may write until it is published.
    let mut raw =
        unsafe { ffi::PyBytes_FromStringAndSize(std::ptr::null(), capacity as ffi::Py_ssize_t) };
    if raw.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `raw` is a valid bytes object of `capacity` bytes (above);
    // nothing else references it yet.
    let buffer = unsafe {
        std::slice::from_raw_parts_mut(ffi::PyBytes_AsString(raw).cast::<u8>(), capacity)
    };
    let written = match fill(py, buffer) {
        Ok(n) => n.min(capacity),
        Err(e) => {
            // SAFETY: we own the only reference.
            unsafe { ffi::Py_DecRef(raw) };
            return Err(e);
        }
    };
    if written != capacity {
        // SAFETY: _PyBytes_Resize may reallocate an unshared bytes object; on
        // failure it frees the object and sets `raw` to NULL.
        if unsafe { _PyBytes_Resize(&mut raw, written as ffi::Py_ssize_t) } != 0 {
            return Err(PyErr::fetch(py));
        }
    }
    // SAFETY: `raw` is a valid, owned bytes object.
    Ok(unsafe { Bound::from_owned_ptr(py, raw).cast_into_unchecked() })
}
