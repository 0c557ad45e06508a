//! The machinery behind [`super::heap_type`]: the tables of type objects
//! per interpreter, the specs, allocation and deallocation.

use std::cell::Cell;
use std::ffi::{CStr, c_int, c_uint, c_void};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use pyo3::PyTypeInfo;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The types this crate makes; each one's index in an interpreter's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Restricted,
    Log,
    RestrictedSignal,
    StartResponse,
    Write,
    Input,
    FileWrapper,
    ActiveRequests,
    RequestTimeout,
    /// The generic layer's own unit tests.
    #[cfg(test)]
    UnitTest,
}

/// Room for every kind, the test one included.
const KINDS: usize = 10;

/// One interpreter's type objects (strong references), filled on first
/// use. Only threads running in that interpreter touch it, with its GIL.
struct Table {
    interpreter: usize,
    types: [Cell<*mut ffi::PyObject>; KINDS],
}

/// Every interpreter's table; a table is freed by [`forget_interpreter`].
struct Tables(Vec<*mut Table>);

// SAFETY: the raw pointers are owned boxes; the list itself is only read
// or changed under the mutex, and a table's contents only with its
// interpreter's GIL.
unsafe impl Send for Tables {}

static TABLES: Mutex<Tables> = Mutex::new(Tables(Vec::new()));

/// Bumped by [`forget_interpreter`]: a thread's cached table is stale once
/// the epoch it was cached in has passed (an interpreter created later may
/// be allocated where a forgotten one was).
static EPOCH: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// (interpreter, epoch, its table) as this thread last looked it up.
    static CACHE: Cell<(usize, u64, *const Table)> =
        const { Cell::new((0, 0, std::ptr::null())) };
}

fn current_interpreter() -> usize {
    // SAFETY: called with the GIL held (every caller has `py`), so the
    // thread has a current thread state and an interpreter.
    unsafe { ffi::PyInterpreterState_Get() as usize }
}

/// The current interpreter's table, made on first use.
fn table(_py: Python<'_>) -> &'static Table {
    let interpreter = current_interpreter();
    let epoch = EPOCH.load(Ordering::Acquire);
    let (cached, cached_epoch, found) = CACHE.with(Cell::get);
    if cached == interpreter && cached_epoch == epoch && !found.is_null() {
        // SAFETY: tables are freed only by forget_interpreter, which bumps
        // the epoch first; this one was cached in the current epoch.
        return unsafe { &*found };
    }
    let found = {
        let mut tables = crate::sync::lock(&TABLES);
        // SAFETY: every pointer in the list is a live box (removed before
        // it is freed).
        match tables
            .0
            .iter()
            .find(|t| unsafe { (***t).interpreter } == interpreter)
        {
            Some(table) => *table,
            None => {
                let table = Box::into_raw(Box::new(Table {
                    interpreter,
                    types: std::array::from_fn(|_| Cell::new(std::ptr::null_mut())),
                }));
                tables.0.push(table);
                table
            }
        }
    };
    CACHE.with(|c| c.set((interpreter, epoch, found)));
    // SAFETY: live until forget_interpreter (see above).
    unsafe { &*found }
}

/// The current interpreter's type of `kind`, made by `create` the first
/// time (which returns a new reference to a type object).
fn type_of<'py>(
    py: Python<'py>,
    kind: Kind,
    create: impl FnOnce(Python<'py>) -> PyResult<*mut ffi::PyObject>,
) -> PyResult<Borrowed<'static, 'py, PyType>> {
    let cell = &table(py).types[kind as usize];
    let mut object = cell.get();
    if object.is_null() {
        object = create(py)?;
        // Creating ran Python code (type creation can): another frame of
        // this thread may have filled the cell meanwhile. Keep the first.
        if cell.get().is_null() {
            cell.set(object);
        } else {
            // SAFETY: `object` is our new reference, not stored.
            unsafe { ffi::Py_DecRef(object) };
            object = cell.get();
        }
    }
    // SAFETY: the table holds a strong reference to a type object for as
    // long as the interpreter lives, which outlasts `'py`.
    Ok(unsafe { Borrowed::from_ptr(py, object).cast_unchecked() })
}

/// Releases the types of interpreter `interpreter` (its
/// `PyInterpreterState` address): call it from a thread running in that
/// interpreter, with its GIL, before `Py_EndInterpreter`. Its objects
/// still alive keep their types alive until the interpreter ends them.
pub(crate) fn forget_interpreter(_py: Python<'_>, interpreter: usize) {
    let table = {
        let mut tables = crate::sync::lock(&TABLES);
        // SAFETY: live boxes, as in `table`.
        let Some(at) = tables
            .0
            .iter()
            .position(|t| unsafe { (**t).interpreter } == interpreter)
        else {
            return;
        };
        tables.0.swap_remove(at)
    };
    EPOCH.fetch_add(1, Ordering::AcqRel);
    // SAFETY: removed from the list, so this is the only pointer to it
    // (thread caches are stale from the new epoch on).
    let table = unsafe { Box::from_raw(table) };
    for cell in &table.types {
        let object = cell.replace(std::ptr::null_mut());
        if !object.is_null() {
            // SAFETY: the table's own reference; the interpreter's GIL is
            // held (`_py`, the caller's promise).
            unsafe { ffi::Py_DecRef(object) };
        }
    }
}

/// An exception class made per interpreter (`PyErr_NewExceptionWithDoc`),
/// deriving from `BaseException`.
pub(crate) struct HeapException {
    kind: Kind,
    /// Dotted, as for a type.
    name: &'static CStr,
    doc: &'static CStr,
}

impl HeapException {
    pub(crate) const fn new(kind: Kind, name: &'static CStr, doc: &'static CStr) -> Self {
        HeapException { kind, name, doc }
    }

    /// The current interpreter's class, made on first use.
    pub(crate) fn get<'py>(&self, py: Python<'py>) -> PyResult<Borrowed<'static, 'py, PyType>> {
        type_of(py, self.kind, |py| {
            // SAFETY: the GIL is held; name and doc are static C strings
            // (CPython copies both); the base is a live type object.
            let class = unsafe {
                ffi::PyErr_NewExceptionWithDoc(
                    self.name.as_ptr(),
                    self.doc.as_ptr(),
                    ffi::PyExc_BaseException,
                    std::ptr::null_mut(),
                )
            };
            if class.is_null() {
                Err(PyErr::fetch(py))
            } else {
                Ok(class)
            }
        })
    }

    /// As [`HeapType::type_ptr`], for `PyTypeInfo`.
    pub(crate) fn type_ptr(&self, py: Python<'_>) -> *mut ffi::PyTypeObject {
        match self.get(py) {
            Ok(ty) => ty.as_type_ptr(),
            Err(e) => panic!("the exception {:?} could not be made: {e}", self.name),
        }
    }
}

/// An instance: the object header, then the Rust payload.
#[repr(C)]
struct Object<T> {
    base: ffi::PyObject,
    payload: T,
}

/// The `PyType_Spec` of a type and the tables it points into, built once
/// per process and never freed: every interpreter's type object refers to
/// its name and method tables for its whole life.
struct Spec {
    spec: ffi::PyType_Spec,
}

// SAFETY: the spec and what it points to are never written after they are
// built, and CPython only reads them.
unsafe impl Send for Spec {}
// SAFETY: as above.
unsafe impl Sync for Spec {}

/// What a type has, besides its name: its slots, as pyo3's trampolines
/// made by the macros below.
pub(crate) enum Slot {
    /// A method called with positional and keyword arguments.
    Method(&'static CStr, ffi::PyCFunctionFastWithKeywords),
    /// A read-only attribute.
    Getter(&'static CStr, ffi::getiterfunc),
    Call(ffi::ternaryfunc),
    GetAttr(ffi::getattrofunc),
    Iter(ffi::getiterfunc),
    Next(ffi::iternextfunc),
    Repr(ffi::reprfunc),
    Len(ffi::lenfunc),
    GetItem(ffi::binaryfunc),
    Contains(ffi::objobjproc),
    /// `T(...)` from Python, and what makes the type subclassable.
    New(ffi::newfunc),
}

/// The flags of a type beyond the defaults.
#[derive(Clone, Copy, Default)]
pub(crate) struct Flags {
    /// Python classes may derive from it.
    pub(crate) subclass: bool,
    /// `match` treats it as a mapping (`collections.abc.Mapping` too, once
    /// registered).
    pub(crate) mapping: bool,
}

/// One of this crate's types, with a payload `T`: declared as a `static`
/// beside `T`, made per interpreter.
pub(crate) struct HeapType<T> {
    kind: Kind,
    name: &'static CStr,
    doc: Option<&'static CStr>,
    flags: Flags,
    slots: fn() -> Vec<Slot>,
    spec: OnceLock<Spec>,
    payload: PhantomData<fn() -> T>,
}

impl<T: Send + Sync + 'static> HeapType<T> {
    /// `name` is dotted (`mod_wsgi.Log`): the part before the last dot
    /// becomes `__module__`.
    pub(crate) const fn new(
        kind: Kind,
        name: &'static CStr,
        doc: Option<&'static CStr>,
        flags: Flags,
        slots: fn() -> Vec<Slot>,
    ) -> Self {
        HeapType {
            kind,
            name,
            doc,
            flags,
            slots,
            spec: OnceLock::new(),
            payload: PhantomData,
        }
    }

    /// The current interpreter's type object, made on first use.
    pub(crate) fn get<'py>(&self, py: Python<'py>) -> PyResult<Borrowed<'static, 'py, PyType>> {
        type_of(py, self.kind, |py| {
            let spec = self.spec.get_or_init(|| self.build());
            // SAFETY: the spec and everything it points to live for the
            // process (see `Spec`); the GIL is held.
            let object = unsafe { ffi::PyType_FromSpec(std::ptr::from_ref(&spec.spec).cast_mut()) };
            if object.is_null() {
                Err(PyErr::fetch(py))
            } else {
                Ok(object)
            }
        })
    }

    /// The current interpreter's type object, as pyo3's `PyTypeInfo` wants
    /// it: a borrowed pointer, infallibly (pyo3 too panics when it cannot
    /// make a `#[pyclass]`'s type).
    pub(crate) fn type_ptr(&self, py: Python<'_>) -> *mut ffi::PyTypeObject {
        match self.get(py) {
            Ok(ty) => ty.as_type_ptr(),
            Err(e) => panic!("the type {:?} could not be made: {e}", self.name),
        }
    }

    /// A new instance of the current interpreter's type holding `payload`.
    pub(crate) fn instance<'py>(&self, py: Python<'py>, payload: T) -> PyResult<Bound<'py, PyAny>> {
        let ty = self.get(py)?;
        // SAFETY: `ty` is one of our types, whose instances are Object<T>.
        unsafe { allocate(py, ty.as_type_ptr(), payload) }
            // SAFETY: `allocate` returns a new reference.
            .map(|object| unsafe { Bound::from_owned_ptr(py, object) })
    }

    fn build(&self) -> Spec {
        let mut methods = Vec::new();
        let mut getters = Vec::new();
        let mut slots = vec![slot(ffi::Py_tp_dealloc, dealloc::<T> as *mut c_void)];
        if let Some(doc) = self.doc {
            slots.push(slot(ffi::Py_tp_doc, doc.as_ptr() as *mut c_void));
        }
        let mut constructible = false;
        for s in (self.slots)() {
            match s {
                Slot::Method(name, f) => methods.push(ffi::PyMethodDef {
                    ml_name: name.as_ptr(),
                    ml_meth: ffi::PyMethodDefPointer {
                        PyCFunctionFastWithKeywords: f,
                    },
                    ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
                    ml_doc: std::ptr::null(),
                }),
                Slot::Getter(name, f) => getters.push(ffi::PyGetSetDef {
                    name: name.as_ptr(),
                    get: Some(getter_entry),
                    set: None,
                    doc: std::ptr::null(),
                    closure: f as *mut c_void,
                }),
                Slot::Call(f) => slots.push(slot(ffi::Py_tp_call, f as *mut c_void)),
                Slot::GetAttr(f) => slots.push(slot(ffi::Py_tp_getattro, f as *mut c_void)),
                Slot::Iter(f) => slots.push(slot(ffi::Py_tp_iter, f as *mut c_void)),
                Slot::Next(f) => slots.push(slot(ffi::Py_tp_iternext, f as *mut c_void)),
                Slot::Repr(f) => slots.push(slot(ffi::Py_tp_repr, f as *mut c_void)),
                Slot::Len(f) => slots.push(slot(ffi::Py_mp_length, f as *mut c_void)),
                Slot::GetItem(f) => slots.push(slot(ffi::Py_mp_subscript, f as *mut c_void)),
                Slot::Contains(f) => slots.push(slot(ffi::Py_sq_contains, f as *mut c_void)),
                Slot::New(f) => {
                    constructible = true;
                    slots.push(slot(ffi::Py_tp_new, f as *mut c_void));
                }
            }
        }
        if !methods.is_empty() {
            methods.push(ffi::PyMethodDef::zeroed());
            let methods = Box::leak(methods.into_boxed_slice());
            slots.push(slot(ffi::Py_tp_methods, methods.as_mut_ptr().cast()));
        }
        if !getters.is_empty() {
            getters.push(ffi::PyGetSetDef::default());
            let getters = Box::leak(getters.into_boxed_slice());
            slots.push(slot(ffi::Py_tp_getset, getters.as_mut_ptr().cast()));
        }
        slots.push(ffi::PyType_Slot::default());
        let mut flags = ffi::Py_TPFLAGS_DEFAULT;
        if self.flags.subclass {
            flags |= ffi::Py_TPFLAGS_BASETYPE;
        }
        if self.flags.mapping {
            flags |= ffi::Py_TPFLAGS_MAPPING;
        }
        if !constructible {
            flags |= ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION;
        }
        Spec {
            spec: ffi::PyType_Spec {
                name: self.name.as_ptr(),
                basicsize: c_int::try_from(std::mem::size_of::<Object<T>>())
                    .expect("a payload of reasonable size"),
                itemsize: 0,
                flags: flags as c_uint,
                slots: Box::leak(slots.into_boxed_slice()).as_mut_ptr(),
            },
        }
    }
}

fn slot(slot: c_int, pfunc: *mut c_void) -> ffi::PyType_Slot {
    ffi::PyType_Slot { slot, pfunc }
}

/// A payload type whose `PyTypeInfo` is its `HeapType` (see
/// [`type_info`]): a `Bound<T>` is an instance of that type.
///
/// # Safety
/// Only [`type_info`] implements it, together with `PyTypeInfo`.
pub(crate) unsafe trait HeapPayload: PyTypeInfo {}

/// The payload of a `Bound<'_, T>` (`cast::<T>()`, `cast_exact::<T>()`).
pub(crate) trait Instance<T> {
    fn payload(&self) -> &T;
}

impl<T: HeapPayload> Instance<T> for Bound<'_, T> {
    fn payload(&self) -> &T {
        // SAFETY: a Bound<T> passed pyo3's type check against T's heap
        // type (HeapPayload), whose instances start with Object<T>.
        unsafe { payload_of::<T>(self.as_ptr()) }
    }
}

/// The payload of an instance of a type made from `HeapType<T>`.
///
/// # Safety
/// `object` is a live instance of that type or of a subclass of it, and
/// stays alive for `'a`.
pub(crate) unsafe fn payload_of<'a, T>(object: *mut ffi::PyObject) -> &'a T {
    // SAFETY: the caller's promise: the object starts with Object<T>,
    // whose payload was written when it was made.
    unsafe { &(*object.cast::<Object<T>>()).payload }
}

/// Allocates an instance of `ty` (ours, or a Python subclass of it) and
/// moves `payload` into it; a new reference.
///
/// # Safety
/// `ty` is a type made from `HeapType<T>` or a subclass of one; the GIL is
/// held.
pub(crate) unsafe fn allocate<T>(
    py: Python<'_>,
    ty: *mut ffi::PyTypeObject,
    payload: T,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: every type has tp_alloc (PyType_GenericAlloc by default); the
    // result is zeroed memory of the type's size, which starts with
    // Object<T>; writing the payload initialises it before anyone sees it.
    unsafe {
        let alloc = (*ty).tp_alloc.unwrap_or(ffi::PyType_GenericAlloc);
        let object = alloc(ty, 0);
        if object.is_null() {
            return Err(PyErr::fetch(py));
        }
        std::ptr::write(&raw mut (*object.cast::<Object<T>>()).payload, payload);
        Ok(object)
    }
}

/// The payload is dropped inside pyo3's trampoline, so that `Py<T>`s in it
/// are released at once (pyo3 counts the frame as attached).
struct DropPayload<T>(PhantomData<T>);

impl<T> pyo3::impl_::trampoline::MethodDef<pyo3::impl_::trampoline::inquiry::Func>
    for DropPayload<T>
{
    const METH: pyo3::impl_::trampoline::inquiry::Func = drop_payload::<T>;
}

unsafe fn drop_payload<T>(_py: Python<'_>, object: *mut ffi::PyObject) -> PyResult<c_int> {
    // SAFETY: called once, from tp_dealloc, on an instance whose payload
    // was written when it was made.
    unsafe { std::ptr::drop_in_place(&raw mut (*object.cast::<Object<T>>()).payload) };
    Ok(0)
}

/// `tp_dealloc`: drops the payload, frees the memory, and releases the
/// instance's reference to its (heap) type, as every heap type must.
unsafe extern "C" fn dealloc<T>(object: *mut ffi::PyObject) {
    // SAFETY: CPython calls this once, with the GIL, for an instance of our
    // type or of a subclass (whose own dealloc already did its part and
    // leaves the type's reference to us, as its base is a heap type).
    unsafe {
        let ty = ffi::Py_TYPE(object);
        if pyo3::impl_::trampoline::inquiry::<DropPayload<T>>(object) != 0 {
            ffi::PyErr_WriteUnraisable(std::ptr::null_mut());
        }
        let free = (*ty).tp_free.unwrap_or(ffi::PyObject_Free);
        free(object.cast());
        ffi::Py_DecRef(ty.cast());
    }
}

/// A getter's C entry point: the closure is the getter's trampoline.
unsafe extern "C" fn getter_entry(
    object: *mut ffi::PyObject,
    closure: *mut c_void,
) -> *mut ffi::PyObject {
    // SAFETY: the closure was set from a `getiterfunc` (Slot::Getter), a
    // pyo3 trampoline that catches panics itself.
    unsafe {
        let f: ffi::getiterfunc = std::mem::transmute(closure);
        f(object)
    }
}

#[cfg(test)]
#[path = "heap_object_tests.rs"]
mod tests;
