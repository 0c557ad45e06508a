//! The embedded CPython: start-up and shutdown, one interpreter per
//! application group (with the main server's
//! start-up options, and `signal.signal` restricted), per-thread state,
//! script loading, the error-log streams (`sys.stdout`, `sys.stderr`,
//! `wsgi.errors`), and the few raw C-API calls pyo3's safe API does not cover.

pub mod auth;
pub mod dispatch;
pub(crate) mod ffi;
mod gate;
pub mod interpreter;
pub mod interpreters;
pub mod loader;
pub mod log;
pub mod mod_ssl;
pub mod module;
mod options;
pub(crate) mod per_interpreter;
pub mod request_timeout;
mod restrict_signal;
mod restrict_stdio;

pub use interpreter::{
    InterpreterSettings, attach, initialize, python_full_version, python_version,
};
pub use interpreters::{attach_group, finalize, publish_process_stopping, run_in};
pub use options::StartupOptions;
