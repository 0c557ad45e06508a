//! The module's Python types as heap types made per interpreter
//! (`PyType_FromSpec`), so that no type object is shared among
//! interpreters: mod_wsgi shares its static C types among them, which is
//! sound only while they share one GIL (CPython up to 3.11), and pyo3's
//! `#[pyclass]` makes one type object per process, which a second
//! interpreter must not see.
//!
//! A type is a `static` [`HeapType<T>`] in the file that defines it: its
//! dotted name, flags and slots (methods, getters, `__call__`, ...). Each
//! interpreter gets its own type object the first time a thread running in
//! it asks ([`HeapType::get`]); the objects are kept in one table per
//! interpreter, and every thread caches the table of the interpreter it ran
//! in last, keyed by `PyInterpreterState_Get()`: the hot path pays a
//! pointer compare. [`forget_interpreter`] releases a table before the
//! interpreter is ended.
//!
//! An instance is laid out as `#[repr(C)] { PyObject, T }`; its dealloc
//! drops `T`. The C entry points are pyo3's own trampolines (the ones its
//! `#[pymethods]` expand to: they catch panics, turn `PyResult` into a set
//! exception and keep pyo3's count of attached frames right, so a `Py<T>`
//! dropped inside is released at once instead of in pyo3's deferred pool).
//! None of the types holds Python objects that could form a cycle the
//! collector must see (as with the `#[pyclass]`es they replace), so none
//! takes part in garbage collection.
//!
//! The macros below make a type's slots: each wraps a Rust method taking
//! the payload in one of pyo3's trampolines.

pub(crate) use super::heap_args::{Args, Output, extract};
pub(crate) use super::heap_object::{
    Flags, HeapException, HeapPayload, HeapType, Instance, Kind, Slot, allocate, payload_of,
};
// For the interpreter registry, which calls it before Py_EndInterpreter.
pub(crate) use super::heap_object::forget_interpreter;

/// A method: `method!(c"read", Input, Input::read)` where `read` is
/// `fn(&Input, Python<'py>, &Args<'_, 'py>) -> PyResult<impl Output<'py>>`.
macro_rules! method {
    ($name:expr, $t:ty, $f:path) => {{
        unsafe fn body(
            py: ::pyo3::Python<'_>,
            object: *mut ::pyo3::ffi::PyObject,
            args: *const *mut ::pyo3::ffi::PyObject,
            nargs: ::pyo3::ffi::Py_ssize_t,
            kwnames: *mut ::pyo3::ffi::PyObject,
        ) -> ::pyo3::PyResult<*mut ::pyo3::ffi::PyObject> {
            // SAFETY: CPython calls a method of our type with an instance
            // of it (its descriptor checks) and vectorcall arguments.
            unsafe {
                let this = $crate::python::ffi::heap_type::payload_of::<$t>(object);
                let args = $crate::python::ffi::heap_type::Args::fastcall(py, args, nargs, kwnames);
                $crate::python::ffi::heap_type::Output::into_ptr($f(this, py, &args)?, py)
            }
        }
        $crate::python::ffi::heap_type::Slot::Method(
            $name,
            ::pyo3::get_trampoline_function!(fastcall_cfunction_with_keywords, body),
        )
    }};
}

/// A slot taking only the instance: `unary!(Getter(c"name"), Log, Log::name)`,
/// `unary!(Iter, ...)`, `unary!(Repr, ...)`, with
/// `fn(&T, Python<'py>) -> PyResult<impl Output<'py>>`.
macro_rules! unary {
    ($slot:ident $(($name:expr))?, $t:ty, $f:path) => {{
        unsafe fn body(
            py: ::pyo3::Python<'_>,
            object: *mut ::pyo3::ffi::PyObject,
        ) -> ::pyo3::PyResult<*mut ::pyo3::ffi::PyObject> {
            // SAFETY: CPython calls our slot with an instance of our type.
            unsafe {
                let this = $crate::python::ffi::heap_type::payload_of::<$t>(object);
                $crate::python::ffi::heap_type::Output::into_ptr($f(this, py)?, py)
            }
        }
        $crate::python::ffi::heap_type::Slot::$slot(
            $($name,)?
            ::pyo3::get_trampoline_function!(getiterfunc, body),
        )
    }};
}

/// `__iter__` returning the instance itself.
macro_rules! iter_self {
    () => {{
        unsafe fn body(
            _py: ::pyo3::Python<'_>,
            object: *mut ::pyo3::ffi::PyObject,
        ) -> ::pyo3::PyResult<*mut ::pyo3::ffi::PyObject> {
            // SAFETY: a new reference to the live instance we were given.
            unsafe { ::pyo3::ffi::Py_IncRef(object) };
            Ok(object)
        }
        $crate::python::ffi::heap_type::Slot::Iter(::pyo3::get_trampoline_function!(
            getiterfunc,
            body
        ))
    }};
}

/// `__next__`: `fn(&T, Python<'py>) -> PyResult<Option<impl Output<'py>>>`,
/// `None` ending the iteration.
macro_rules! next {
    ($t:ty, $f:path) => {{
        unsafe fn body(
            py: ::pyo3::Python<'_>,
            object: *mut ::pyo3::ffi::PyObject,
        ) -> ::pyo3::PyResult<*mut ::pyo3::ffi::PyObject> {
            // SAFETY: CPython calls our slot with an instance of our type.
            unsafe {
                let this = $crate::python::ffi::heap_type::payload_of::<$t>(object);
                match $f(this, py)? {
                    Some(item) => $crate::python::ffi::heap_type::Output::into_ptr(item, py),
                    // NULL without an exception: the iteration ended.
                    None => Ok(::std::ptr::null_mut()),
                }
            }
        }
        $crate::python::ffi::heap_type::Slot::Next(::pyo3::get_trampoline_function!(
            iternextfunc,
            body
        ))
    }};
}

/// `__call__`: `fn(&T, Python<'py>, &Args<'_, 'py>) -> PyResult<impl Output<'py>>`.
macro_rules! call {
    ($t:ty, $f:path) => {{
        unsafe fn body(
            py: ::pyo3::Python<'_>,
            object: *mut ::pyo3::ffi::PyObject,
            args: *mut ::pyo3::ffi::PyObject,
            kwargs: *mut ::pyo3::ffi::PyObject,
        ) -> ::pyo3::PyResult<*mut ::pyo3::ffi::PyObject> {
            // SAFETY: CPython calls tp_call with an instance of our type, a
            // tuple and a dict or NULL.
            unsafe {
                let this = $crate::python::ffi::heap_type::payload_of::<$t>(object);
                let args = $crate::python::ffi::heap_type::Args::tuple_dict(py, args, kwargs);
                $crate::python::ffi::heap_type::Output::into_ptr($f(this, py, &args)?, py)
            }
        }
        $crate::python::ffi::heap_type::Slot::Call(::pyo3::get_trampoline_function!(
            ternaryfunc,
            body
        ))
    }};
}

/// `__getattribute__`: `fn(&T, Python<'py>, &Bound<'py, PyAny>) -> PyResult<impl Output<'py>>`.
macro_rules! getattr {
    ($t:ty, $f:path) => {{
        unsafe fn body(
            py: ::pyo3::Python<'_>,
            object: *mut ::pyo3::ffi::PyObject,
            name: *mut ::pyo3::ffi::PyObject,
        ) -> ::pyo3::PyResult<*mut ::pyo3::ffi::PyObject> {
            // SAFETY: CPython calls tp_getattro with an instance of our type
            // and a live name.
            unsafe {
                let this = $crate::python::ffi::heap_type::payload_of::<$t>(object);
                let name = ::pyo3::Bound::from_borrowed_ptr(py, name);
                $crate::python::ffi::heap_type::Output::into_ptr($f(this, py, &name)?, py)
            }
        }
        $crate::python::ffi::heap_type::Slot::GetAttr(::pyo3::get_trampoline_function!(
            getattrofunc,
            body
        ))
    }};
}

/// `type_info!(FileWrapper, FILE_WRAPPER)`: pyo3 sees the payload type as
/// the current interpreter's heap type, so `py.get_type::<T>()`,
/// `is_instance_of::<T>()` and `cast::<T>()` work as with a `#[pyclass]`.
/// pyo3 wants "always the same type object": it is, within an
/// interpreter, and no object crosses interpreters.
macro_rules! type_info {
    ($t:ty, $heap:expr) => {
        // SAFETY: type_ptr is never null (it panics instead), and the
        // type's instances (and its subclasses') start with Object<$t>.
        unsafe impl ::pyo3::PyTypeInfo for $t {
            fn type_object_raw(py: ::pyo3::Python<'_>) -> *mut ::pyo3::ffi::PyTypeObject {
                $heap.type_ptr(py)
            }
        }
        // SAFETY: PyTypeInfo above is the heap type of $t.
        unsafe impl $crate::python::ffi::heap_type::HeapPayload for $t {}
    };
}

/// `__new__`: `fn(Python<'py>, &Args<'_, 'py>) -> PyResult<T>`; the
/// payload goes into an instance of the class called (ours or a Python
/// subclass of it).
macro_rules! new {
    ($t:ty, $f:path) => {{
        unsafe fn body(
            py: ::pyo3::Python<'_>,
            subtype: *mut ::pyo3::ffi::PyTypeObject,
            args: *mut ::pyo3::ffi::PyObject,
            kwargs: *mut ::pyo3::ffi::PyObject,
        ) -> ::pyo3::PyResult<*mut ::pyo3::ffi::PyObject> {
            // SAFETY: CPython calls tp_new with our type or a subclass of
            // it, a tuple and a dict or NULL.
            unsafe {
                let args = $crate::python::ffi::heap_type::Args::tuple_dict(py, args, kwargs);
                let payload: $t = $f(py, &args)?;
                $crate::python::ffi::heap_type::allocate::<$t>(py, subtype, payload)
            }
        }
        $crate::python::ffi::heap_type::Slot::New(::pyo3::get_trampoline_function!(newfunc, body))
    }};
}

/// `__len__`: `fn(&T, Python<'_>) -> PyResult<usize>`.
macro_rules! len {
    ($t:ty, $f:path) => {{
        unsafe fn body(
            py: ::pyo3::Python<'_>,
            object: *mut ::pyo3::ffi::PyObject,
        ) -> ::pyo3::PyResult<::pyo3::ffi::Py_ssize_t> {
            // SAFETY: CPython calls our slot with an instance of our type.
            let this = unsafe { $crate::python::ffi::heap_type::payload_of::<$t>(object) };
            let len: usize = $f(this, py)?;
            ::pyo3::ffi::Py_ssize_t::try_from(len)
                .map_err(|_| ::pyo3::exceptions::PyOverflowError::new_err("length too large"))
        }
        $crate::python::ffi::heap_type::Slot::Len(::pyo3::get_trampoline_function!(lenfunc, body))
    }};
}

/// `__getitem__` (`GetItem`) or `__contains__` (`Contains`):
/// `fn(&T, Python<'py>, &Bound<'py, PyAny>) -> PyResult<...>`, the latter
/// returning `bool`.
macro_rules! keyed {
    (GetItem, $t:ty, $f:path) => {{
        unsafe fn body(
            py: ::pyo3::Python<'_>,
            object: *mut ::pyo3::ffi::PyObject,
            key: *mut ::pyo3::ffi::PyObject,
        ) -> ::pyo3::PyResult<*mut ::pyo3::ffi::PyObject> {
            // SAFETY: CPython calls our slot with an instance of our type
            // and a live key.
            unsafe {
                let this = $crate::python::ffi::heap_type::payload_of::<$t>(object);
                let key = ::pyo3::Bound::from_borrowed_ptr(py, key);
                $crate::python::ffi::heap_type::Output::into_ptr($f(this, py, &key)?, py)
            }
        }
        $crate::python::ffi::heap_type::Slot::GetItem(::pyo3::get_trampoline_function!(
            binaryfunc, body
        ))
    }};
    (Contains, $t:ty, $f:path) => {{
        unsafe fn body(
            py: ::pyo3::Python<'_>,
            object: *mut ::pyo3::ffi::PyObject,
            key: *mut ::pyo3::ffi::PyObject,
        ) -> ::pyo3::PyResult<::std::ffi::c_int> {
            // SAFETY: CPython calls our slot with an instance of our type
            // and a live key.
            unsafe {
                let this = $crate::python::ffi::heap_type::payload_of::<$t>(object);
                let key = ::pyo3::Bound::from_borrowed_ptr(py, key);
                let found: bool = $f(this, py, &key)?;
                Ok(::std::ffi::c_int::from(found))
            }
        }
        $crate::python::ffi::heap_type::Slot::Contains(::pyo3::get_trampoline_function!(
            objobjproc, body
        ))
    }};
}

pub(crate) use {call, getattr, iter_self, keyed, len, method, new, next, type_info, unary};
