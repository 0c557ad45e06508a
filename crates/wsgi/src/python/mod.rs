//! The embedded CPython: start-up and shutdown, per-thread state, script
//! loading, and the few raw C-API calls pyo3's safe API does not cover.

pub(crate) mod ffi;
pub mod interpreter;
pub mod loader;

pub use interpreter::{InterpreterSettings, attach, finalize, initialize, python_version};
