//! Rust values owned by APR pools: freed by the pool's cleanup.

use std::ffi::c_void;

use super::bindings::{
    apr_palloc, apr_pool_cleanup_null, apr_pool_cleanup_register, apr_pool_t, apr_status_t,
};

unsafe extern "C" fn drop_boxed<T>(data: *mut c_void) -> apr_status_t {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: `data` came from Box::into_raw in `pool_box` and this
        // cleanup runs once, when the pool is cleared or destroyed.
        drop(unsafe { Box::from_raw(data.cast::<T>()) });
    });
    0
}

/// Moves `value` into memory freed with `pool`.
///
/// # Safety
/// `pool` must be a live APR pool; the pointer must not be used after it.
pub unsafe fn pool_box<T>(pool: *mut apr_pool_t, value: T) -> *mut T {
    let ptr = Box::into_raw(Box::new(value));
    // SAFETY: the pool is live (caller); the cleanup matches the allocation.
    unsafe {
        apr_pool_cleanup_register(
            pool,
            ptr.cast(),
            Some(drop_boxed::<T>),
            Some(apr_pool_cleanup_null),
        )
    };
    ptr
}

/// Copies `value` into the pool's own memory, which (unlike a `pool_box`,
/// freed by a cleanup) stays valid through the whole clear: for structs APR
/// itself reads after the cleanups, such as a proc noted with
/// `apr_pool_note_subprocess`.
///
/// # Safety
/// `pool` must be a live APR pool; the pointer must not be used after it.
pub unsafe fn pool_copy<T: Copy>(pool: *mut apr_pool_t, value: T) -> *mut T {
    // SAFETY: the pool is live (caller); apr_palloc aborts rather than
    // return NULL, and aligns to 8 bytes, enough for APR's structs.
    let ptr = unsafe { apr_palloc(pool, std::mem::size_of::<T>()) }.cast::<T>();
    debug_assert!(ptr.align_offset(std::mem::align_of::<T>()) == 0);
    // SAFETY: fresh, aligned, large enough.
    unsafe { ptr.write(value) };
    ptr
}

/// Runs `f` when `pool` is destroyed.
///
/// # Safety
/// `pool` must be a live APR pool.
pub unsafe fn on_cleanup(pool: *mut apr_pool_t, f: fn()) {
    unsafe extern "C" fn run(data: *mut c_void) -> apr_status_t {
        let _ = std::panic::catch_unwind(|| {
            // SAFETY: `data` is the fn pointer registered below.
            let f: fn() = unsafe { std::mem::transmute::<*mut c_void, fn()>(data) };
            f();
        });
        0
    }
    // SAFETY: a fn pointer fits in a data pointer on every platform Apache
    // runs on; the pool is live (caller).
    unsafe {
        apr_pool_cleanup_register(
            pool,
            f as *mut c_void,
            Some(run),
            Some(apr_pool_cleanup_null),
        )
    };
}

/// A live APR pool: the safe face of the functions above for code outside
/// src/apache. Made once, where Apache hands the pool over (entry.rs).
#[derive(Clone, Copy)]
pub struct Pool(*mut apr_pool_t);

impl Pool {
    /// # Safety
    /// `raw` must be a live APR pool, and neither the handle nor any copy
    /// of it (nor anything allocated through it) may be used after the pool
    /// is cleared or destroyed.
    pub unsafe fn from_raw(raw: *mut apr_pool_t) -> Pool {
        Pool(raw)
    }

    pub fn as_ptr(self) -> *mut apr_pool_t {
        self.0
    }

    /// Moves `value` into memory freed with the pool (see `pool_box`).
    pub fn alloc<T>(self, value: T) -> *mut T {
        // SAFETY: the pool is live (`from_raw`).
        unsafe { pool_box(self.0, value) }
    }

    /// Copies `value` into the pool's own memory (see `pool_copy`).
    pub fn alloc_copy<T: Copy>(self, value: T) -> *mut T {
        // SAFETY: the pool is live (`from_raw`).
        unsafe { pool_copy(self.0, value) }
    }

    /// Runs `f` when the pool is cleared or destroyed.
    pub fn on_cleanup(self, f: fn()) {
        // SAFETY: the pool is live (`from_raw`).
        unsafe { on_cleanup(self.0, f) }
    }
}
