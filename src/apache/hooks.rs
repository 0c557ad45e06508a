//! Registering this module's hooks with Apache, in the order and with the
//! neighbours mod_wsgi 6.1.1 uses (`wsgi_register_hooks`).

use std::ffi::c_char;

use super::bindings::{self, APR_HOOK_MIDDLE};

/// The functions to register; each is an `extern "C"` entry point that
/// catches panics (src/entry.rs).
pub struct Hooks {
    pub pre_config: bindings::ap_HOOK_pre_config_t,
    pub post_config: bindings::ap_HOOK_post_config_t,
    pub child_init: bindings::ap_HOOK_child_init_t,
    pub translate_name: bindings::ap_HOOK_translate_name_t,
    pub handler: bindings::ap_HOOK_handler_t,
    pub monitor: bindings::ap_HOOK_monitor_t,
}

/// A NULL-terminated list of module names, as the hook sorter reads it. The
/// sorter keeps the pointer, so the list must be 'static.
struct ModuleNames<const N: usize>([*const c_char; N]);

// SAFETY: immutable pointers to 'static C strings.
unsafe impl<const N: usize> Sync for ModuleNames<N> {}

// mod_wsgi's `p1` and `n1`, the predecessors and successors of its
// translate_name hook; the same lists give the same order among the URL
// mappers as mod_wsgi.
static TRANSLATE_PREDECESSORS: ModuleNames<2> =
    ModuleNames([c"mod_alias.c".as_ptr(), std::ptr::null()]);
static TRANSLATE_SUCCESSORS: ModuleNames<3> = ModuleNames([
    c"mod_userdir.c".as_ptr(),
    c"mod_vhost_alias.c".as_ptr(),
    std::ptr::null(),
]);

/// Registers `hooks`, and starts watching the error log for a skipped
/// duplicate `LoadModule wsgi_module` (the shim's
/// `wsgi_shim_take_skipped_load_module` reports it at pre_config).
///
/// Apache calls the module's `register_hooks` once per configuration read,
/// from `ap_add_module`, so this runs as the `LoadModule` line is read.
pub fn register(hooks: &Hooks) {
    let middle = APR_HOOK_MIDDLE as i32;
    let none = std::ptr::null();
    // SAFETY: Apache is registering this module's hooks; the functions are
    // 'static and the name lists are 'static NULL-terminated arrays.
    unsafe {
        bindings::ap_hook_pre_config(hooks.pre_config, none, none, middle);
        bindings::ap_hook_post_config(hooks.post_config, none, none, middle);
        bindings::ap_hook_child_init(hooks.child_init, none, none, middle);
        bindings::ap_hook_translate_name(
            hooks.translate_name,
            TRANSLATE_PREDECESSORS.0.as_ptr(),
            TRANSLATE_SUCCESSORS.0.as_ptr(),
            middle,
        );
        bindings::ap_hook_handler(hooks.handler, none, none, middle);
        bindings::ap_hook_monitor(hooks.monitor, none, none, middle);
        bindings::wsgi_shim_watch_load_module();
    }
}
