//! `WSGIScriptAliasMatch` patterns, compiled and matched by Apache's own
//! regex engine (PCRE through `ap_pregcomp`), as mod_alias and mod_wsgi do,
//! so a pattern means the same here as in the rest of the configuration.

use std::ffi::CString;

use super::bindings::{self, apr_pool_t};
use super::strings::bytes;

/// A compiled pattern; it lives in the configuration pool, as long as the
/// settings that hold it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompiledRegex(*mut bindings::ap_regex_t);

// SAFETY: the compiled pattern is immutable after configuration and
// ap_regexec may be called from several threads at once.
unsafe impl Send for CompiledRegex {}
// SAFETY: as above.
unsafe impl Sync for CompiledRegex {}

/// Compiles `pattern` (POSIX extended syntax) into `pool`.
///
/// # Safety
/// `pool` must be a live pool that outlives every use of the result.
pub unsafe fn compile(pool: *mut apr_pool_t, pattern: &str) -> Result<CompiledRegex, String> {
    let c_pattern = CString::new(pattern).map_err(|_| "pattern contains a NUL byte".to_owned())?;
    // SAFETY: the pool is live (caller); ap_pregcomp registers its own cleanup.
    let compiled = unsafe {
        bindings::ap_pregcomp(pool, c_pattern.as_ptr(), bindings::AP_REG_EXTENDED as i32)
    };
    if compiled.is_null() {
        Err(format!(
            "the regular expression '{pattern}' could not be compiled"
        ))
    } else {
        Ok(CompiledRegex(compiled))
    }
}

/// Matches `subject` against `regex`; on a match, returns `template` with
/// its `$N` references substituted, followed by what the match left over of
/// `subject` (the URL's rest, which becomes PATH_INFO).
///
/// # Safety
/// `pool` must be a live pool (the request's); the regex must be live.
pub unsafe fn substitute_match(
    pool: *mut apr_pool_t,
    regex: CompiledRegex,
    subject: &[u8],
    template: &str,
) -> Option<Vec<u8>> {
    const MAX_MATCHES: usize = bindings::AP_MAX_REG_MATCH as usize;
    let subject_c = CString::new(subject).ok()?;
    let template_c = CString::new(template).ok()?;
    let mut matches = [bindings::ap_regmatch_t::default(); MAX_MATCHES];
    // SAFETY: the regex is live (caller); `matches` has room for
    // MAX_MATCHES entries; ap_pregsub allocates from the live pool.
    unsafe {
        if bindings::ap_regexec(
            regex.0,
            subject_c.as_ptr(),
            MAX_MATCHES,
            matches.as_mut_ptr(),
            0,
        ) != 0
        {
            return None;
        }
        let substituted = bindings::ap_pregsub(
            pool,
            template_c.as_ptr(),
            subject_c.as_ptr(),
            MAX_MATCHES,
            matches.as_mut_ptr(),
        );
        if substituted.is_null() {
            return None;
        }
        let matched_end = usize::try_from(matches[0].rm_eo).ok()?.min(subject.len());
        let mut result = bytes(substituted).to_vec();
        result.extend_from_slice(&subject[matched_end..]);
        Some(result)
    }
}
