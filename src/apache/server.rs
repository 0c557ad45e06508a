//! Apache's servers: the main server and its virtual hosts, and the
//! configuration this module keeps for each.

use std::ffi::{CString, c_void};
use std::marker::PhantomData;
use std::time::Duration;

use super::bindings::{self, apr_pool_t, server_rec};
use super::strings;

/// The servers of one configuration: the main server first, then each
/// virtual host, in the order of the configuration files.
pub struct Servers<'a> {
    next: *mut server_rec,
    life: PhantomData<&'a server_rec>,
}

/// The server list that starts at `main`.
///
/// # Safety
/// `main` must be the live main server, and its list must not change while
/// the iterator is used (true once the configuration is read).
pub unsafe fn servers<'a>(main: *mut server_rec) -> Servers<'a> {
    Servers {
        next: main,
        life: PhantomData,
    }
}

impl Iterator for Servers<'_> {
    type Item = *mut server_rec;

    fn next(&mut self) -> Option<*mut server_rec> {
        let s = self.next;
        if s.is_null() {
            return None;
        }
        // SAFETY: the list is live and stable (`servers`).
        self.next = unsafe { (*s).next };
        Some(s)
    }
}

/// This module's configuration slot of server `s`.
///
/// # Safety
/// `s` must be a live server.
pub unsafe fn module_config(s: *const server_rec) -> *mut c_void {
    // SAFETY: the server is live (caller).
    unsafe { bindings::wsgi_shim_server_config(s) }
}

/// The main server of this process (`ap_server_conf`), as a daemon inherits
/// it from the parent.
pub fn main_server() -> *mut server_rec {
    // SAFETY: Apache sets it before any module hook runs and does not
    // change it within a generation; this only reads the pointer.
    unsafe { bindings::ap_server_conf }
}

/// The server's `Timeout`.
///
/// # Safety
/// `s` must be a live server.
pub unsafe fn timeout(s: *const server_rec) -> Duration {
    // SAFETY: the server is live (caller).
    let micros = unsafe { (*s).timeout };
    Duration::from_micros(u64::try_from(micros).unwrap_or(60_000_000))
}

/// `path` resolved against Apache's `DefaultRuntimeDir`, as Apache does for
/// its own run-time files; None if it holds a NUL byte.
///
/// # Safety
/// `pool` must be a live APR pool.
pub unsafe fn runtime_dir_relative(pool: *mut apr_pool_t, path: &str) -> Option<String> {
    let c = CString::new(path).ok()?;
    // SAFETY: the pool is live (caller); the result is a pool string, copied.
    Some(unsafe { strings::text(bindings::ap_runtime_dir_relative(pool, c.as_ptr())) }.into_owned())
}
