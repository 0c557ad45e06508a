//! What the authentication and access steps read from a request and set
//! on it (mod_wsgi 6.1.1's wsgi_auth.c): beside request.rs, which holds
//! what the handler needs, so each file stays readable in one sitting.

use std::ffi::c_int;

use super::super::bindings;
use super::super::strings::{bytes, pool_copy};
use super::Request;

impl Request {
    /// Sets the authenticated user (`check_password` answered a name).
    pub fn set_user(&mut self, name: &[u8]) {
        let pool = self.pool();
        // SAFETY: the pool is live; the copy lives as long as the request.
        let copy = unsafe { pool_copy(pool, name) };
        self.r_mut().user = copy;
    }

    /// A copy of `data` in the request's pool, NUL-terminated, for Apache
    /// to keep (a digest realm hash).
    pub fn pool_string(&self, data: &[u8]) -> *mut std::ffi::c_char {
        // SAFETY: the request's pool is live.
        unsafe { pool_copy(self.pool(), data) }
    }

    /// `Satisfy Any` applies (mod_access_compat).
    pub fn satisfies_any(&self) -> bool {
        // SAFETY: the request is live.
        unsafe { bindings::ap_satisfies(self.raw) == bindings::SATISFY_ANY as c_int }
    }

    /// Some authentication is required for the request (as mod_wsgi asks,
    /// with the call Apache 2.4 still exports for it).
    pub fn some_auth_required(&self) -> bool {
        // SAFETY: the request is live.
        unsafe { bindings::ap_some_auth_required(self.raw) != 0 }
    }

    /// The client's host name, only if Apache looked it up
    /// (`HostnameLookups`), as mod_wsgi's REMOTE_HOST.
    pub fn remote_host(&self) -> Option<&[u8]> {
        let r = self.r();
        // SAFETY: the connection and the directory configuration are live;
        // the result is NULL or a string of the connection's pool.
        let host = unsafe {
            bindings::ap_get_remote_host(
                r.connection,
                r.per_dir_config.cast(),
                bindings::REMOTE_HOST as c_int,
                std::ptr::null_mut(),
            )
        };
        (!host.is_null()).then(|| self.string(host))
    }

    /// `ServerSignature`'s line (empty when Off).
    pub fn signature(&self) -> &[u8] {
        // SAFETY: the request is live; the result is a pool string.
        unsafe { bytes(bindings::ap_psignature(c"".as_ptr(), self.raw)) }
    }

    /// The server's name, HTML-escaped as mod_wsgi's auth SERVER_NAME.
    pub fn escaped_server_name(&self) -> &[u8] {
        // SAFETY: the request and its pool are live; both results are
        // strings that live as long as the request.
        unsafe {
            bytes(bindings::ap_escape_html2(
                self.pool(),
                bindings::ap_get_server_name(self.raw),
                0,
            ))
        }
    }
}
