//! Values that outlive configuration generations: kept in the memory of
//! Apache's process pool (`server->process->pool`), which lives as long as
//! the process, under a key of its user data. A restart unloads and reloads
//! this module, so neither a static nor the configuration pool would do;
//! this memory is APR's, and the next generation finds it by its key.

use std::ffi::{CString, c_void};

use super::bindings::{apr_palloc, apr_pool_userdata_get, apr_pool_userdata_set};
use super::server::Server;

/// The value kept under `key`, made the first time in this process by
/// `make`, then `init` in place (so that what `init` writes, a secret say,
/// is never copied through the stack) and kept only if `init` succeeded.
/// `T` is never dropped, and a later build of the module reads the same
/// memory after a restart: `key` must name its layout (change the key
/// whenever `T` changes). Only for Apache's parent, single-threaded in
/// post_config.
pub fn process_value<T: Sync + 'static>(
    main: Server<'_>,
    key: &str,
    make: impl FnOnce() -> T,
    init: impl FnOnce(&T) -> Result<(), String>,
) -> Result<&'static T, String> {
    const {
        assert!(!std::mem::needs_drop::<T>());
        assert!(std::mem::align_of::<T>() <= 8);
    }
    let key = CString::new(key).map_err(|_| format!("'{key}' contains a NUL byte"))?;
    // SAFETY: the server is live (`Server`); `process` is set for every
    // server and its pool lives as long as the process.
    let pool = unsafe { (*(*main.as_ptr()).process).pool };
    let mut found: *mut c_void = std::ptr::null_mut();
    // SAFETY: a live pool and a NUL-terminated key; APR writes one pointer.
    unsafe { apr_pool_userdata_get(&mut found, key.as_ptr(), pool) };
    if !found.is_null() {
        // SAFETY: stored below under this key, for a `T` (the key names
        // the layout), in memory that lives as long as the process.
        return Ok(unsafe { &*found.cast::<T>() });
    }
    // SAFETY: a live pool; apr_palloc aborts rather than return NULL and
    // aligns to 8 bytes, enough for `T` (checked above).
    let memory = unsafe { apr_palloc(pool, std::mem::size_of::<T>()) }.cast::<T>();
    // SAFETY: fresh, aligned, large enough; never dropped (needs no drop).
    unsafe { memory.write(make()) };
    // SAFETY: written above; lives as long as the process.
    let value = unsafe { &*memory };
    init(value)?;
    // SAFETY: APR copies a new key into the pool; no cleanup.
    unsafe { apr_pool_userdata_set(memory.cast(), key.as_ptr(), None, pool) };
    Ok(value)
}
