//! Raw CPython calls that pyo3's safe API does not offer. Every call into
//! `pyo3::ffi` in the core crate lives in this folder, behind a safe
//! function or an `unsafe fn` that documents what its caller must hold.

mod async_exc;
mod config;
mod heap_args;
mod heap_object;
pub(crate) mod heap_type;
mod interpreters;
mod objects;
mod runtime;

pub(crate) use async_exc::{set_async_exc, thread_ident};
pub(crate) use config::{Config, preinitialize_locale};
pub(crate) use interpreters::{
    InterpreterKey, ThreadState, acquire_as, acquire_main, current_interpreter,
    delete_current_thread_state, delete_thread_state, end_interpreter, interpreter_of,
    main_interpreter, new_interpreter, new_thread_state, release, swap,
};
pub(crate) use objects::{bytes_filled_by, dict_with_capacity, latin1_str};
pub(crate) use runtime::{
    ensure_thread_state, finalize, is_initialized, release_main_thread, version,
};
