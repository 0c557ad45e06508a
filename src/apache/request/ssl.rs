//! mod_ssl's optional functions for a request (`ssl_is_https`,
//! `ssl_var_lookup`), as mod_wsgi's auth objects call them for
//! `mod_ssl.is_https` and `mod_ssl.var_lookup`: looked up each call, as
//! mod_wsgi does, so that without mod_ssl they answer 0 and None.

use std::ffi::{CString, c_char, c_int};

use super::super::bindings::{self, apr_pool_t, conn_rec, request_rec, server_rec};
use super::super::strings::bytes;
use super::Request;

/// mod_ssl.h's `ssl_is_https`.
type IsHttps = unsafe extern "C" fn(*mut conn_rec) -> c_int;
/// mod_ssl.h's `ssl_var_lookup`.
type VarLookup = unsafe extern "C" fn(
    *mut apr_pool_t,
    *mut server_rec,
    *mut conn_rec,
    *mut request_rec,
    *mut c_char,
) -> *mut c_char;

impl Request {
    /// mod_ssl's `ssl_is_https` for the request's connection; false
    /// without mod_ssl.
    pub fn ssl_is_https(&self) -> bool {
        // SAFETY: a lookup in APR's table of optional functions.
        let Some(function) =
            (unsafe { bindings::apr_dynamic_fn_retrieve(c"ssl_is_https".as_ptr()) })
        else {
            return false;
        };
        // SAFETY: mod_ssl registers this name with mod_ssl.h's signature.
        let is_https: IsHttps = unsafe { std::mem::transmute(function) };
        // SAFETY: the request and its connection are live.
        unsafe { is_https(self.connection()) != 0 }
    }

    /// mod_ssl's `ssl_var_lookup` for variable `name` (up to a NUL, as a C
    /// string ends): mod_ssl answers "" for a variable it does not know;
    /// None without mod_ssl.
    pub fn ssl_var_lookup(&self, name: &[u8]) -> Option<Vec<u8>> {
        // SAFETY: a lookup in APR's table of optional functions.
        let function = unsafe { bindings::apr_dynamic_fn_retrieve(c"ssl_var_lookup".as_ptr()) }?;
        // SAFETY: mod_ssl registers this name with mod_ssl.h's signature.
        let var_lookup: VarLookup = unsafe { std::mem::transmute(function) };
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        let name = CString::new(&name[..end]).ok()?;
        let r = self.r();
        // SAFETY: the request, its pool, server and connection are live;
        // mod_ssl only reads the name; the result is NULL or a string of
        // the request's pool.
        let value = unsafe {
            var_lookup(
                r.pool,
                r.server,
                r.connection,
                self.raw,
                name.as_ptr().cast_mut(),
            )
        };
        // SAFETY: NUL-terminated, in the request's pool.
        (!value.is_null()).then(|| unsafe { bytes(value) }.to_vec())
    }
}

/// What the scripts' `mod_ssl.is_https` and `mod_ssl.var_lookup` ask.
impl wsgi::python::mod_ssl::SslLookup for Request {
    fn is_https(&self) -> bool {
        self.ssl_is_https()
    }
    fn var_lookup(&self, name: &[u8]) -> Option<Vec<u8>> {
        self.ssl_var_lookup(name)
    }
}
