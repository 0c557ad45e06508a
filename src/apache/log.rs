//! Writing to Apache's error log under this module's name.

use std::ffi::CString;
use std::sync::atomic::{AtomicPtr, Ordering};

use wsgi::messages::Level;

use super::bindings::{self, request_rec, server_rec};

fn apache_level(level: Level) -> i32 {
    (match level {
        Level::Error => bindings::APLOG_ERR,
        Level::Warning => bindings::APLOG_WARNING,
        Level::Notice => bindings::APLOG_NOTICE,
        Level::Info => bindings::APLOG_INFO,
        Level::Debug => bindings::APLOG_DEBUG,
    }) as i32
}

fn c_message(message: &str) -> CString {
    CString::new(message.replace('\0', "\\0")).expect("NUL bytes were replaced")
}

/// Logs against a server (or the main server when `server` is NULL).
pub fn server(level: Level, server: *const server_rec, message: &str) {
    let message = c_message(message);
    // SAFETY: Apache accepts a NULL or live server_rec; the message is a
    // valid C string that outlives the call.
    unsafe { bindings::wsgi_shim_log_server(apache_level(level), 0, server, message.as_ptr()) }
}

/// Logs in a request's context (client address, and so on).
///
/// # Safety
/// `r` must be a live request.
pub unsafe fn request(level: Level, r: *const request_rec, message: &str) {
    let message = c_message(message);
    // SAFETY: `r` is live (caller); the message outlives the call.
    unsafe { bindings::wsgi_shim_log_request(apache_level(level), 0, r, message.as_ptr()) }
}

/// The main server of this process, for lines with no request around them
/// (Python's sys.stdout and sys.stderr). Set in each child at start-up.
static MAIN_SERVER: AtomicPtr<server_rec> = AtomicPtr::new(std::ptr::null_mut());

pub fn set_main_server(s: *mut server_rec) {
    MAIN_SERVER.store(s, Ordering::Release);
}

/// A [`wsgi::adapter::LogSink`] that writes to the main server's log.
pub fn process_sink(level: Level, line: &str) {
    server(level, MAIN_SERVER.load(Ordering::Acquire), line);
}
