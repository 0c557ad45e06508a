//! The module structure Apache looks up by the exported symbol
//! `wsgi_module`. Apache writes into it (`module_index`, `next`, ...), so it
//! is a mutable static, touched only by Apache.

use std::ffi::c_void;

use crate::apache::bindings::{self, module};
use crate::entry;

/// The directive table and hook registration live in the C shim, whose
/// macros build them.
#[unsafe(no_mangle)]
pub static mut wsgi_module: module = module {
    version: bindings::MODULE_MAGIC_NUMBER_MAJOR as i32,
    minor_version: bindings::MODULE_MAGIC_NUMBER_MINOR as i32,
    module_index: -1,
    name: c"mod_wsgi.c".as_ptr(),
    dynamic_load_handle: std::ptr::null_mut::<c_void>(),
    next: std::ptr::null_mut(),
    magic: bindings::MODULE_MAGIC_COOKIE as std::ffi::c_ulong,
    rewrite_args: None,
    create_dir_config: Some(entry::wsgi_rs_create_dir_config),
    merge_dir_config: Some(entry::wsgi_rs_merge_dir_config),
    create_server_config: Some(entry::wsgi_rs_create_server_config),
    merge_server_config: Some(entry::wsgi_rs_merge_server_config),
    // Only the address of the shim's table is taken (no unsafe needed).
    cmds: (&raw const bindings::wsgi_shim_command_table).cast(),
    register_hooks: Some(bindings::wsgi_shim_register_hooks),
    flags: 0,
};
