//! The functions Apache calls. Each one catches panics (`guarded`): a panic
//! must never unwind into Apache's C frames. (APR's other-child callback for
//! the daemons is in apache/process.rs, guarded the same way.)

use std::ffi::{c_char, c_int, c_void};

use wsgi::messages::{self, Level};

use crate::apache::bindings::{
    self, apr_pool_t, authn_status, authz_status, cmd_parms, request_rec, server_rec,
};
use crate::apache::guard::guarded;
use crate::apache::pool::Pool;
use crate::apache::request::Request;
use crate::apache::server::Server;
use crate::apache::strings::{bytes, text};
use crate::apache::{httpd, log};
use crate::{auth, child, config, routing};

const SERVER_ERROR: c_int = bindings::HTTP_INTERNAL_SERVER_ERROR as c_int;

#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_create_server_config(
    pool: *mut apr_pool_t,
    _s: *mut server_rec,
) -> *mut c_void {
    // SAFETY: Apache passes a live configuration pool.
    guarded("create_server_config", std::ptr::null_mut(), || unsafe {
        config::create_server(pool)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_merge_server_config(
    pool: *mut apr_pool_t,
    base: *mut c_void,
    add: *mut c_void,
) -> *mut c_void {
    // SAFETY: Apache passes configurations this module created.
    guarded("merge_server_config", add, || unsafe {
        config::merge_server(pool, base, add)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_create_dir_config(
    pool: *mut apr_pool_t,
    _dir: *mut c_char,
) -> *mut c_void {
    // SAFETY: Apache passes a live configuration pool.
    guarded("create_dir_config", std::ptr::null_mut(), || unsafe {
        config::create_dir(pool)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_merge_dir_config(
    pool: *mut apr_pool_t,
    base: *mut c_void,
    add: *mut c_void,
) -> *mut c_void {
    // SAFETY: Apache passes configurations this module created.
    guarded("merge_dir_config", add, || unsafe {
        config::merge_dir(pool, base, add)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_directive(
    cmd: *mut cmd_parms,
    dir_config: *mut c_void,
    args: *const c_char,
) -> *const c_char {
    // SAFETY: Apache's configuration reader passes live arguments.
    guarded(
        "a WSGI directive",
        c"mod_wsgi_rs: internal error while reading this directive".as_ptr(),
        || unsafe { config::directive(cmd, dir_config, args) },
    )
}

#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_pre_config(
    _pconf: *mut apr_pool_t,
    _plog: *mut apr_pool_t,
    _ptemp: *mut apr_pool_t,
) -> c_int {
    guarded("pre_config", SERVER_ERROR, || {
        // Both checks run: the second also stops watching the log.
        let checks = httpd::check_layout()
            .map_err(|e| (messages::STRUCT_LAYOUT_MISMATCH, e))
            .and(child::check_skipped_load_module().map_err(|e| (messages::DUPLICATE_MODULE, e)));
        match checks {
            Ok(()) => bindings::OK as c_int,
            Err((id, e)) => {
                log::server(
                    Level::Error,
                    std::ptr::null(),
                    &messages::format_line("", id, &e),
                );
                SERVER_ERROR
            }
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_post_config(
    pconf: *mut apr_pool_t,
    _plog: *mut apr_pool_t,
    _ptemp: *mut apr_pool_t,
    s: *mut server_rec,
) -> c_int {
    // SAFETY: Apache passes the configuration pool, live for this
    // generation, and the main server, its configuration read.
    let (pconf, main) = unsafe { (Pool::from_raw(pconf), Server::from_raw(s)) };
    guarded("post_config", SERVER_ERROR, || {
        child::post_config(pconf, main)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_child_init(pchild: *mut apr_pool_t, s: *mut server_rec) {
    // SAFETY: Apache passes the child's pool, live until the child exits,
    // and the main server, its configuration read.
    let (pchild, main) = unsafe { (Pool::from_raw(pchild), Server::from_raw(s)) };
    guarded("child_init", (), || child::child_init(pchild, main))
}

#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_translate_name(r: *mut request_rec) -> c_int {
    // SAFETY: Apache passes a live request.
    guarded("translate_name", bindings::DECLINED as c_int, || {
        routing::translate_name(&mut unsafe { Request::from_raw(r) })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_handler(r: *mut request_rec) -> c_int {
    // SAFETY: Apache passes a live request.
    guarded("handler", SERVER_ERROR, || {
        routing::handler(unsafe { Request::from_raw(r) })
    })
}

/// The parent's periodic maintenance: daemons that stopped answering.
#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_monitor(_p: *mut apr_pool_t, _s: *mut server_rec) -> c_int {
    guarded("monitor", bindings::DECLINED as c_int, || {
        crate::daemon::supervisor::monitor();
        bindings::DECLINED as c_int
    })
}

/// The `wsgi` authn provider's `check_password` (`AuthBasicProvider wsgi`).
#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_check_password(
    r: *mut request_rec,
    user: *const c_char,
    password: *const c_char,
) -> authn_status {
    guarded(
        "check_password",
        bindings::authn_status_AUTH_GENERAL_ERROR,
        || {
            // SAFETY: Apache passes a live request and NUL-terminated
            // strings that live as long as it.
            unsafe { auth::check_password(Request::from_raw(r), bytes(user), bytes(password)) }
        },
    )
}

/// The `wsgi` authn provider's `get_realm_hash` (`AuthDigestProvider wsgi`).
#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_get_realm_hash(
    r: *mut request_rec,
    user: *const c_char,
    realm: *const c_char,
    rethash: *mut *mut c_char,
) -> authn_status {
    guarded(
        "get_realm_hash",
        bindings::authn_status_AUTH_GENERAL_ERROR,
        || {
            // SAFETY: Apache passes a live request and NUL-terminated
            // strings that live as long as it.
            let (status, hash) =
                unsafe { auth::get_realm_hash(Request::from_raw(r), bytes(user), bytes(realm)) };
            if !hash.is_null() && !rethash.is_null() {
                // SAFETY: mod_auth_digest passes where the hash goes.
                unsafe { *rethash = hash };
            }
            status
        },
    )
}

/// The `wsgi-group` authz provider (`Require wsgi-group NAME...`).
#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_check_authorization(
    r: *mut request_rec,
    require_args: *const c_char,
    _parsed: *const c_void,
) -> authz_status {
    guarded(
        "check_authorization",
        bindings::authz_status_AUTHZ_GENERAL_ERROR,
        || {
            // SAFETY: Apache passes a live request and the Require line's
            // arguments, NUL-terminated.
            unsafe { auth::check_authorization(Request::from_raw(r), &text(require_args)) }
        },
    )
}

/// The access checker (`WSGIAccessScript`).
#[unsafe(no_mangle)]
pub extern "C" fn wsgi_rs_access_checker(r: *mut request_rec) -> c_int {
    guarded("access_checker", SERVER_ERROR, || {
        // SAFETY: Apache passes a live request.
        auth::access_checker(unsafe { Request::from_raw(r) })
    })
}
