//! The one wrapper around every function Apache or APR calls into Rust: a
//! panic must never unwind into their C frames.

use std::panic::{AssertUnwindSafe, catch_unwind};

use wsgi::messages::{self, Level};

use super::log;

/// Runs `f`; on panic logs it (naming `what`) and returns `fallback`.
pub fn guarded<R>(what: &str, fallback: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            log::server(
                Level::Error,
                std::ptr::null(),
                &messages::format_line(
                    "",
                    messages::INTERNAL_ERROR,
                    &format!("internal error (panic) in {what}: {detail}"),
                ),
            );
            fallback
        }
    }
}
