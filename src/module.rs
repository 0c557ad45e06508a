//! The module structure Apache looks up by the exported symbol
//! `wsgi_module`, with its directive table and hook registration. Apache
//! writes into the structure (`module_index`, `next`, ...), so it is a
//! mutable static, touched only by Apache. It is defined in Rust rather than
//! in the C shim so that rustc exports it from the cdylib with any linker;
//! a C definition would need a second version script, which GNU ld refuses.

use std::ffi::c_void;
use std::panic::catch_unwind;

use wsgi::messages::Level;

use crate::apache::bindings::{self, apr_pool_t, module};
use crate::apache::commands::CommandTable;
use crate::apache::{hooks, log};
use crate::entry;

/// Built at compile time: Apache reads it while mod_so loads the module.
static COMMANDS: CommandTable = CommandTable::new(entry::wsgi_rs_directive);

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
    cmds: COMMANDS.as_ptr(),
    register_hooks: Some(register_hooks),
    flags: 0,
};

extern "C" fn register_hooks(pool: *mut apr_pool_t) {
    let registered = catch_unwind(|| {
        hooks::register(
            pool,
            &hooks::Hooks {
                pre_config: Some(entry::wsgi_rs_pre_config),
                post_config: Some(entry::wsgi_rs_post_config),
                child_init: Some(entry::wsgi_rs_child_init),
                translate_name: Some(entry::wsgi_rs_translate_name),
                handler: Some(entry::wsgi_rs_handler),
                monitor: Some(entry::wsgi_rs_monitor),
                access_checker: Some(entry::wsgi_rs_access_checker),
            },
            &hooks::AuthProviders {
                check_password: Some(entry::wsgi_rs_check_password),
                get_realm_hash: Some(entry::wsgi_rs_get_realm_hash),
                check_authorization: Some(entry::wsgi_rs_check_authorization),
            },
        )
    });
    if registered.is_err() {
        log::server(
            Level::Error,
            std::ptr::null(),
            "mod_wsgi_rs: internal error (panic) while registering hooks",
        );
    }
}
