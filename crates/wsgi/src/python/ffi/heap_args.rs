//! The arguments a heap type's method or `__call__` receives, parsed as
//! pyo3's `#[pyo3(signature = ...)]` parses them (with its messages), and
//! what a method may return.

use pyo3::IntoPyObjectExt;
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// The keywords of a call: vectorcall's names beside their values, or a
/// `tp_call` dict.
enum Keywords<'a, 'py> {
    None,
    Names(Borrowed<'a, 'py, PyTuple>, &'a [*mut ffi::PyObject]),
    Dict(Borrowed<'a, 'py, PyDict>),
}

/// A call's arguments, borrowed from the caller for the call.
pub(crate) struct Args<'a, 'py> {
    py: Python<'py>,
    positional: &'a [*mut ffi::PyObject],
    keywords: Keywords<'a, 'py>,
    /// The `tp_call` tuple, when called that way.
    tuple: Option<Borrowed<'a, 'py, PyTuple>>,
}

impl<'a, 'py> Args<'a, 'py> {
    /// Vectorcall's arguments (`METH_FASTCALL | METH_KEYWORDS`).
    ///
    /// # Safety
    /// `args` holds `nargs` live objects followed by one per name in
    /// `kwnames` (a tuple, or NULL), all alive for `'a`.
    pub(crate) unsafe fn fastcall(
        py: Python<'py>,
        args: *const *mut ffi::PyObject,
        nargs: ffi::Py_ssize_t,
        kwnames: *mut ffi::PyObject,
    ) -> Self {
        let nargs = usize::try_from(nargs).unwrap_or(0);
        // SAFETY: the caller's promise about `kwnames`.
        let names = unsafe { Borrowed::from_ptr_or_opt(py, kwnames) };
        let nkw = names.map_or(0, |n| {
            // SAFETY: `kwnames` is a tuple when not NULL.
            usize::try_from(unsafe { ffi::PyTuple_GET_SIZE(n.as_ptr()) }).unwrap_or(0)
        });
        let all: &'a [*mut ffi::PyObject] = if nargs + nkw == 0 {
            &[]
        } else {
            // SAFETY: the caller's promise about `args`.
            unsafe { std::slice::from_raw_parts(args, nargs + nkw) }
        };
        Args {
            py,
            positional: &all[..nargs],
            keywords: match names {
                // SAFETY: a vectorcall's kwnames is a tuple of str.
                Some(names) => Keywords::Names(unsafe { names.cast_unchecked() }, &all[nargs..]),
                None => Keywords::None,
            },
            tuple: None,
        }
    }

    /// `tp_call`'s arguments.
    ///
    /// # Safety
    /// `args` is a live tuple and `kwargs` a live dict or NULL, alive for `'a`.
    pub(crate) unsafe fn tuple_dict(
        py: Python<'py>,
        args: *mut ffi::PyObject,
        kwargs: *mut ffi::PyObject,
    ) -> Self {
        // SAFETY: the caller's promise; a tuple's items are contiguous.
        unsafe {
            let len = usize::try_from(ffi::PyTuple_GET_SIZE(args)).unwrap_or(0);
            let items = (*args.cast::<ffi::PyTupleObject>()).ob_item.as_ptr();
            Args {
                py,
                positional: if len == 0 {
                    &[]
                } else {
                    std::slice::from_raw_parts(items, len)
                },
                keywords: match Borrowed::from_ptr_or_opt(py, kwargs) {
                    Some(dict) => Keywords::Dict(dict.cast_unchecked()),
                    None => Keywords::None,
                },
                tuple: Some(Borrowed::from_ptr(py, args).cast_unchecked()),
            }
        }
    }

    /// The positional arguments as a tuple and the keywords as a dict,
    /// as `*args, **kwargs` receives them.
    pub(crate) fn star(&self) -> (Bound<'py, PyTuple>, Option<Bound<'py, PyDict>>) {
        let py = self.py;
        let tuple = match self.tuple {
            Some(tuple) => tuple.to_owned(),
            None => PyTuple::new(py, self.positional.iter().map(|p| self.borrow(*p)))
                .expect("a tuple of live objects"),
        };
        let kwargs = match &self.keywords {
            Keywords::None => None,
            Keywords::Dict(dict) => Some((*dict).to_owned()),
            Keywords::Names(names, values) => {
                let dict = PyDict::new(py);
                for (name, value) in names.iter().zip(values.iter()) {
                    // Setting str keys of live objects does not fail but on
                    // memory exhaustion.
                    let _ = dict.set_item(name, self.borrow(*value));
                }
                Some(dict)
            }
        };
        (tuple, kwargs)
    }

    fn borrow(&self, object: *mut ffi::PyObject) -> Borrowed<'a, 'py, PyAny> {
        // SAFETY: every pointer here is a live argument, alive for 'a.
        unsafe { Borrowed::from_ptr(self.py, object) }
    }

    /// The arguments by parameter, as pyo3's signature `(p0, p1=..., ...)`
    /// with the first `required` ones required and the first
    /// `positional_only` ones not nameable: each `Some` if given. `function`
    /// is `Class.method`, for the messages.
    pub(crate) fn parse<const N: usize>(
        &self,
        function: &str,
        names: [&str; N],
        required: usize,
        positional_only: usize,
    ) -> PyResult<[Option<Borrowed<'a, 'py, PyAny>>; N]> {
        let given = self.positional.len();
        if given > N {
            let expected = if required == N {
                format!("{N}")
            } else {
                format!("from {required} to {N}")
            };
            let plural = if N == 1 && required == N { "" } else { "s" };
            let were = if given == 1 { "was" } else { "were" };
            return Err(PyTypeError::new_err(format!(
                "{function}() takes {expected} positional argument{plural} but {given} {were} given"
            )));
        }
        let mut out: [Option<Borrowed<'a, 'py, PyAny>>; N] = [None; N];
        for (slot, object) in out.iter_mut().zip(self.positional) {
            *slot = Some(self.borrow(*object));
        }
        let mut place = |name: &Bound<'py, PyAny>, value: Borrowed<'a, 'py, PyAny>| {
            let text = name.extract::<String>().unwrap_or_default();
            match names.iter().position(|n| *n == text) {
                Some(i) if i >= positional_only => {
                    if out[i].is_some() {
                        return Err(PyTypeError::new_err(format!(
                            "{function}() got multiple values for argument '{text}'"
                        )));
                    }
                    out[i] = Some(value);
                    Ok(())
                }
                _ => Err(PyTypeError::new_err(format!(
                    "{function}() got an unexpected keyword argument '{text}'"
                ))),
            }
        };
        match &self.keywords {
            Keywords::None => {}
            Keywords::Names(kw, values) => {
                for (name, value) in kw.iter().zip(values.iter()) {
                    place(&name, self.borrow(*value))?;
                }
            }
            Keywords::Dict(dict) => {
                for (name, value) in dict.iter() {
                    // SAFETY: the dict holds the value for the call ('a).
                    let value = unsafe { Borrowed::from_ptr(self.py, value.as_ptr()) };
                    place(&name, value)?;
                }
            }
        }
        let missing: Vec<String> = names[..required]
            .iter()
            .zip(&out)
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| format!("'{n}'"))
            .collect();
        if !missing.is_empty() {
            let count = missing.len();
            let plural = if count == 1 { "" } else { "s" };
            let list = match missing.split_last() {
                Some((last, [])) => last.clone(),
                Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
                None => String::new(),
            };
            return Err(PyTypeError::new_err(format!(
                "{function}() missing {count} required positional argument{plural}: {list}"
            )));
        }
        Ok(out)
    }
}

/// An argument extracted as pyo3 does it: a `TypeError` names the argument.
pub(crate) fn extract<'a, 'py, T: FromPyObject<'a, 'py>>(
    name: &str,
    value: Borrowed<'a, 'py, PyAny>,
) -> PyResult<T> {
    value.extract::<T>().map_err(|e| {
        let e: PyErr = e.into();
        let py = value.py();
        if e.is_instance_of::<PyTypeError>(py) {
            let error = PyTypeError::new_err(format!("argument '{name}': {}", e.value(py)));
            error.set_cause(py, e.cause(py));
            error
        } else {
            e
        }
    })
}

/// What a method returns to Python: `()` is `None`, as in pyo3.
pub(crate) trait Output<'py> {
    /// A new reference.
    fn into_ptr(self, py: Python<'py>) -> PyResult<*mut ffi::PyObject>;
}

impl<'py> Output<'py> for () {
    fn into_ptr(self, py: Python<'py>) -> PyResult<*mut ffi::PyObject> {
        Ok(py.None().into_ptr())
    }
}

impl<'py, T> Output<'py> for Bound<'py, T> {
    fn into_ptr(self, _py: Python<'py>) -> PyResult<*mut ffi::PyObject> {
        Ok(Bound::into_ptr(self))
    }
}

impl<'py, T> Output<'py> for Py<T> {
    fn into_ptr(self, _py: Python<'py>) -> PyResult<*mut ffi::PyObject> {
        Ok(Py::into_ptr(self))
    }
}

macro_rules! output_by_conversion {
    ($($t:ty),*) => {$(
        impl<'py> Output<'py> for $t {
            fn into_ptr(self, py: Python<'py>) -> PyResult<*mut ffi::PyObject> {
                Ok(self.into_bound_py_any(py)?.into_ptr())
            }
        }
    )*};
}

output_by_conversion!(bool, usize, i32, &'static str, String);
