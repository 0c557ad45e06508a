//! C strings from and to Apache.

use std::ffi::{CStr, c_char};

use super::bindings::{apr_pool_t, apr_pstrmemdup};

/// The bytes of a NUL-terminated string Apache owns; empty for NULL.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub unsafe fn bytes<'a>(ptr: *const c_char) -> &'a [u8] {
    if ptr.is_null() {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { CStr::from_ptr(ptr) }.to_bytes()
    }
}

/// Like [`bytes`], as text (lossily, for logs and paths Apache validated).
///
/// # Safety
/// As for [`bytes`].
pub unsafe fn text<'a>(ptr: *const c_char) -> std::borrow::Cow<'a, str> {
    // SAFETY: forwarded from the caller.
    String::from_utf8_lossy(unsafe { bytes(ptr) })
}

/// Copies `data` into `pool` as a NUL-terminated string.
///
/// # Safety
/// `pool` must be a live APR pool.
pub unsafe fn pool_copy(pool: *mut apr_pool_t, data: &[u8]) -> *mut c_char {
    // SAFETY: the slice is valid for its length; the pool is live (caller).
    unsafe { apr_pstrmemdup(pool, data.as_ptr().cast(), data.len()) }
}
