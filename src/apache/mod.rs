//! The thin layer over Apache and APR: generated bindings plus the few safe
//! wrappers the rest of the module uses. Every call of an Apache, APR or
//! shim function lives under here.

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

pub mod client_socket;
pub mod commands;
pub mod guard;
pub mod hooks;
pub mod httpd;
pub mod lasting;
pub mod log;
pub mod pool;
pub mod process;
pub mod regex;
pub mod request;
pub mod scoreboard;
pub mod server;
pub mod strings;
