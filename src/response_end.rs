//! The end of an HTTP exchange once the application is done (and the GIL
//! released), shared by the embedded and daemon executors so that neither
//! imports the other.

use std::ffi::c_int;

use wsgi::adapter::Outcome;

use crate::apache::bindings::{self, apr_bucket_brigade};
use crate::apache::request::Request;

/// Passes what `brigade` holds and ends the response as `outcome` says;
/// returns the handler's status.
pub fn finish(r: &mut Request, brigade: *mut apr_bucket_brigade, outcome: Outcome) -> c_int {
    match outcome {
        Outcome::Complete => {
            let _ = r.pass_end(brigade);
            bindings::OK as c_int
        }
        Outcome::Truncated => {
            let _ = r.pass_broken_end(brigade);
            bindings::OK as c_int
        }
        Outcome::ClientGone => bindings::OK as c_int,
        Outcome::Failed => bindings::HTTP_INTERNAL_SERVER_ERROR as c_int,
        Outcome::ErrorOverride(status) => c_int::from(status),
    }
}
