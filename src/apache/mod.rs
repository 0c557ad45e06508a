//! The thin layer over Apache and APR: generated bindings plus the few safe
//! wrappers the rest of the module uses. All Apache FFI lives under here.

#[allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    unsafe_op_in_unsafe_fn
)]
#[allow(clippy::all)]
pub mod bindings {
    include!(concat!(env!("OUT_DIR"), "/apache_bindings.rs"));
}

pub mod commands;
pub mod hooks;
pub mod log;
pub mod pool;
pub mod regex;
pub mod request;
pub mod strings;
