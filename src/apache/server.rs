//! Apache's servers: the main server and its virtual hosts, and the
//! configuration this module keeps for each.

use std::ffi::{CString, c_void};
use std::marker::PhantomData;
use std::time::Duration;

use super::bindings::{self, server_rec};
use super::pool::Pool;
use super::strings;

/// A server (the main one or a virtual host) of a configuration that has
/// been read: its list of servers no longer changes.
#[derive(Clone, Copy)]
pub struct Server<'a> {
    raw: *mut server_rec,
    life: PhantomData<&'a server_rec>,
}

impl<'a> Server<'a> {
    /// # Safety
    /// `raw` must be a live server whose configuration has been read
    /// (post_config or later), live for `'a`.
    pub unsafe fn from_raw(raw: *mut server_rec) -> Server<'a> {
        Server {
            raw,
            life: PhantomData,
        }
    }

    pub fn as_ptr(self) -> *mut server_rec {
        self.raw
    }

    /// This server and the ones after it in Apache's list: from the main
    /// server, every server, in the order of the configuration files.
    pub fn servers(self) -> Servers<'a> {
        Servers {
            next: self.raw,
            life: PhantomData,
        }
    }

    /// The server's `ServerName` (Apache fills it in for every server once
    /// the configuration is read).
    pub fn hostname(self) -> String {
        // SAFETY: the server is live (`from_raw`); the name is NUL-terminated.
        unsafe { strings::text((*self.raw).server_hostname) }.into_owned()
    }

    /// The server's `Timeout`.
    pub fn timeout(self) -> Duration {
        // SAFETY: the server is live (`from_raw`).
        let micros = unsafe { (*self.raw).timeout };
        Duration::from_micros(u64::try_from(micros).unwrap_or(60_000_000))
    }
}

/// The servers from one on: see [`Server::servers`].
pub struct Servers<'a> {
    next: *mut server_rec,
    life: PhantomData<&'a server_rec>,
}

impl<'a> Iterator for Servers<'a> {
    type Item = Server<'a>;

    fn next(&mut self) -> Option<Server<'a>> {
        let s = self.next;
        if s.is_null() {
            return None;
        }
        // SAFETY: the list is live and no longer changes (`Server::from_raw`),
        // so every server in it is as live as the first.
        self.next = unsafe { (*s).next };
        Some(Server {
            raw: s,
            life: PhantomData,
        })
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

/// `path` resolved against Apache's `DefaultRuntimeDir`, as Apache does for
/// its own run-time files; None if it holds a NUL byte.
///
pub fn runtime_dir_relative(pool: Pool, path: &str) -> Option<String> {
    let c = CString::new(path).ok()?;
    // SAFETY: the pool is live (`Pool`); the result is a pool string, copied.
    let resolved = unsafe { bindings::ap_runtime_dir_relative(pool.as_ptr(), c.as_ptr()) };
    // SAFETY: NULL or a NUL-terminated pool string.
    Some(unsafe { strings::text(resolved) }.into_owned())
}
