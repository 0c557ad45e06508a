//! Registering this module's hooks with Apache, in the order and with the
//! neighbours mod_wsgi 6.1.1 uses (`wsgi_register_hooks`).

use std::ffi::c_char;
use std::sync::OnceLock;

use super::bindings::{self, APR_HOOK_MIDDLE, apr_pool_t, authn_provider, authz_provider};

/// The functions to register; each is an `extern "C"` entry point that
/// catches panics (src/entry.rs).
pub struct Hooks {
    pub pre_config: bindings::ap_HOOK_pre_config_t,
    pub post_config: bindings::ap_HOOK_post_config_t,
    pub child_init: bindings::ap_HOOK_child_init_t,
    pub translate_name: bindings::ap_HOOK_translate_name_t,
    pub handler: bindings::ap_HOOK_handler_t,
    pub monitor: bindings::ap_HOOK_monitor_t,
    pub access_checker: bindings::ap_HOOK_access_checker_t,
}

/// The functions of the `wsgi` authn provider and the `wsgi-group` authz
/// provider (mod_wsgi's `wsgi_authn_provider`, `wsgi_authz_provider`).
pub struct AuthProviders {
    pub check_password: Option<
        unsafe extern "C" fn(
            *mut bindings::request_rec,
            *const c_char,
            *const c_char,
        ) -> bindings::authn_status,
    >,
    pub get_realm_hash: Option<
        unsafe extern "C" fn(
            *mut bindings::request_rec,
            *const c_char,
            *const c_char,
            *mut *mut c_char,
        ) -> bindings::authn_status,
    >,
    pub check_authorization: Option<
        unsafe extern "C" fn(
            *mut bindings::request_rec,
            *const c_char,
            *const std::ffi::c_void,
        ) -> bindings::authz_status,
    >,
}

/// Apache keeps the provider structures' addresses: they live as long as
/// the module is loaded (a restart loads it, and these, anew).
static AUTHN_PROVIDER: OnceLock<authn_provider> = OnceLock::new();
static AUTHZ_PROVIDER: OnceLock<authz_provider> = OnceLock::new();

/// A NULL-terminated list of module names, as the hook sorter reads it. The
/// sorter keeps the pointer, so the list must be 'static.
struct ModuleNames<const N: usize>([*const c_char; N]);

// SAFETY: immutable pointers to 'static C strings.
unsafe impl<const N: usize> Sync for ModuleNames<N> {}

// mod_wsgi's `p7` and `n5`: the access checker runs after mod_ssl's and
// before mod_authz_host's.
static ACCESS_PREDECESSORS: ModuleNames<2> = ModuleNames([c"mod_ssl.c".as_ptr(), std::ptr::null()]);
static ACCESS_SUCCESSORS: ModuleNames<2> =
    ModuleNames([c"mod_authz_host.c".as_ptr(), std::ptr::null()]);

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
pub fn register(pool: *mut apr_pool_t, hooks: &Hooks, providers: &AuthProviders) {
    let authn = AUTHN_PROVIDER.get_or_init(|| authn_provider {
        check_password: providers.check_password,
        get_realm_hash: providers.get_realm_hash,
    });
    let authz = AUTHZ_PROVIDER.get_or_init(|| authz_provider {
        check_authorization: providers.check_authorization,
        parse_require_line: None,
    });
    let middle = APR_HOOK_MIDDLE as i32;
    let none = std::ptr::null();
    // SAFETY: Apache is registering this module's hooks; the functions are
    // 'static and the name lists are 'static NULL-terminated arrays; the
    // providers live in statics and the group names are NUL-terminated
    // constants of mod_auth.h; `pool` is the configuration pool Apache
    // passes to register_hooks.
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
        bindings::ap_hook_access_checker(
            hooks.access_checker,
            ACCESS_PREDECESSORS.0.as_ptr(),
            ACCESS_SUCCESSORS.0.as_ptr(),
            middle,
        );
        // As mod_wsgi: plain providers (ap_register_provider), named `wsgi`
        // for AuthBasicProvider/AuthDigestProvider and `wsgi-group` for
        // Require.
        bindings::ap_register_provider(
            pool,
            bindings::AUTHN_PROVIDER_GROUP.as_ptr().cast(),
            c"wsgi".as_ptr(),
            bindings::AUTHN_PROVIDER_VERSION.as_ptr().cast(),
            std::ptr::from_ref(authn).cast(),
        );
        bindings::ap_register_provider(
            pool,
            bindings::AUTHZ_PROVIDER_GROUP.as_ptr().cast(),
            c"wsgi-group".as_ptr(),
            bindings::AUTHZ_PROVIDER_VERSION.as_ptr().cast(),
            std::ptr::from_ref(authz).cast(),
        );
        bindings::wsgi_shim_watch_load_module();
    }
}
