//! `mod_ssl.is_https` and `mod_ssl.var_lookup` in the environ of the
//! authentication and access scripts, as mod_wsgi 6.1.1 gives them
//! (wsgi_auth.c: `Auth_ssl_is_https`, `Auth_ssl_var_lookup`), and of the
//! dispatch scripts, as mod_wsgi 4 did. They ask mod_ssl about the request
//! while the script's call lasts, and raise `RuntimeError` once it is over
//! (mod_wsgi's "called after request completed"): a script that keeps them
//! cannot reach a request that is gone.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCFunction, PyDict, PyString, PyTuple};

use crate::python::ffi::latin1_str;
use crate::sync::lock;

/// mod_ssl's view of a request, as the host (Apache) answers it.
pub trait SslLookup {
    /// mod_ssl's `ssl_is_https` for the request's connection (false
    /// without mod_ssl).
    fn is_https(&self) -> bool;
    /// mod_ssl's `ssl_var_lookup` (`HTTPS`, `SSL_PROTOCOL`,
    /// `SSL_CLIENT_S_DN`, ...), as mod_ssl answers it ("" for a variable it
    /// does not know); None without mod_ssl.
    fn var_lookup(&self, name: &[u8]) -> Option<Vec<u8>>;
}

/// The request lent to the functions for one call, its lifetime erased.
struct Lent(*const (dyn SslLookup + 'static));

// SAFETY: the pointer is only followed under `Live`'s lock, by a thread
// holding the GIL, while the borrow it was made from lasts (`lend` takes it
// back under that lock before the borrow ends). The host's request is used
// from a thread other than the one that lent it only if the script hands
// the functions to a thread of its own and calls them during its call, as
// mod_wsgi allows too.
unsafe impl Send for Lent {}

/// What the two functions of one call share: the request while it lasts.
struct Live(Mutex<Option<Lent>>);

impl Live {
    fn with<R>(&self, function: &str, f: impl FnOnce(&dyn SslLookup) -> R) -> PyResult<R> {
        let lent = lock(&self.0);
        let Some(Lent(request)) = lent.as_ref() else {
            return Err(PyRuntimeError::new_err(format!(
                "{function}() called after request completed"
            )));
        };
        // SAFETY: set, so the borrow it came from still lasts (see `Lent`).
        Ok(f(unsafe { &**request }))
    }
}

/// The two functions of one call, to be put in its environ(s).
pub(crate) struct SslFunctions(Arc<Live>);

/// Runs `f` with the functions answering for `request`; after it returns
/// (or panics) they raise `RuntimeError`.
pub(crate) fn lend<R>(request: &dyn SslLookup, f: impl FnOnce(&SslFunctions) -> R) -> R {
    let request: *const (dyn SslLookup + '_) = request;
    // SAFETY: only the trait object's lifetime bound changes; `TakeBack`
    // clears the pointer before `request`'s borrow ends.
    let request: *const (dyn SslLookup + 'static) = unsafe { std::mem::transmute(request) };
    let live = Arc::new(Live(Mutex::new(Some(Lent(request)))));
    struct TakeBack(Arc<Live>);
    impl Drop for TakeBack {
        fn drop(&mut self) {
            *lock(&(self.0).0) = None;
        }
    }
    let _take_back = TakeBack(live.clone());
    f(&SslFunctions(live))
}

impl SslFunctions {
    /// Sets `mod_ssl.is_https` and `mod_ssl.var_lookup` in `environ`.
    pub(crate) fn add_to(&self, environ: &Bound<'_, PyDict>) -> PyResult<()> {
        let py = environ.py();
        let live = self.0.clone();
        let is_https = PyCFunction::new_closure(
            py,
            Some(c"ssl_is_https"),
            None,
            move |args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>| {
                let https = live.with("ssl_is_https", |r| r.is_https())?;
                no_keywords("ssl_is_https", kwargs)?;
                if !args.is_empty() {
                    return Err(PyTypeError::new_err(format!(
                        "ssl_is_https() takes no arguments ({} given)",
                        args.len()
                    )));
                }
                PyResult::Ok(i32::from(https))
            },
        )?;
        let live = self.0.clone();
        let var_lookup = PyCFunction::new_closure(
            py,
            Some(c"ssl_var_lookup"),
            None,
            move |args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>| {
                let py = args.py();
                // As mod_wsgi: the request first, then the argument.
                live.with("ssl_var_lookup", |_| ())?;
                no_keywords("ssl_var_lookup", kwargs)?;
                if args.len() != 1 {
                    return Err(PyTypeError::new_err(format!(
                        "ssl_var_lookup() takes exactly one argument ({} given)",
                        args.len()
                    )));
                }
                let name = variable_name(&args.get_item(0)?)?;
                let value = live.with("ssl_var_lookup", |r| r.var_lookup(&name))?;
                PyResult::Ok(value.map(|v| latin1_str(py, &v).into_any().unbind()))
            },
        )?;
        environ.set_item("mod_ssl.is_https", is_https)?;
        environ.set_item("mod_ssl.var_lookup", var_lookup)
    }
}

fn no_keywords(function: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
    match kwargs {
        Some(kwargs) if !kwargs.is_empty() => Err(PyTypeError::new_err(format!(
            "{function}() takes no keyword arguments"
        ))),
        _ => Ok(()),
    }
}

/// The variable's name as mod_wsgi reads it: bytes, or a str latin-1 can
/// encode; as a C string, it ends at a NUL.
fn variable_name(name: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let mut bytes: Vec<u8> = if let Ok(text) = name.cast::<PyString>() {
        let text = text.to_cow()?;
        text.chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect::<Option<_>>()
            .ok_or_else(|| {
                PyTypeError::new_err("ssl_var_lookup() argument must be bytes or a latin-1 str")
            })?
    } else if let Ok(bytes) = name.cast::<PyBytes>() {
        bytes.as_bytes().to_vec()
    } else {
        let kind = name.get_type().name()?;
        return Err(PyTypeError::new_err(format!(
            "ssl_var_lookup() argument must be bytes, not {kind}"
        )));
    };
    if let Some(end) = bytes.iter().position(|&b| b == 0) {
        bytes.truncate(end);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::with_python;

    struct Fake;

    impl SslLookup for Fake {
        fn is_https(&self) -> bool {
            true
        }
        fn var_lookup(&self, name: &[u8]) -> Option<Vec<u8>> {
            (name == b"SSL_PROTOCOL").then(|| b"TLSv1.3\xe9".to_vec())
        }
    }

    #[test]
    fn the_functions_answer_during_the_call_and_raise_after() {
        with_python(|py| {
            let environ = PyDict::new(py);
            let checks = c"
assert environ['mod_ssl.is_https']() == 1
lookup = environ['mod_ssl.var_lookup']
assert lookup('SSL_PROTOCOL') == 'TLSv1.3\\xe9'
assert lookup(b'SSL_PROTOCOL') == 'TLSv1.3\\xe9'
assert lookup('SSL_PROTOCOL\\0ignored') == 'TLSv1.3\\xe9'
assert lookup('SSL_CIPHER') is None
for bad, error in [(1, 'argument must be bytes, not int'),
                   ('\\u20ac', 'argument must be bytes or a latin-1 str')]:
    try:
        lookup(bad)
    except TypeError as e:
        assert error in str(e), e
    else:
        raise AssertionError(bad)
try:
    lookup()
except TypeError as e:
    assert 'exactly one argument (0 given)' in str(e), e
else:
    raise AssertionError('no argument')
";
            lend(&Fake, |functions| {
                functions.add_to(&environ).unwrap();
                let globals = PyDict::new(py);
                globals.set_item("environ", &environ).unwrap();
                py.run(checks, Some(&globals), None)
                    .map_err(|e| e.to_string())
                    .unwrap();
            });
            let globals = PyDict::new(py);
            globals.set_item("environ", &environ).unwrap();
            let after = c"
for name, call in [('ssl_is_https', lambda: environ['mod_ssl.is_https']()),
                   ('ssl_var_lookup', lambda: environ['mod_ssl.var_lookup']('HTTPS'))]:
    try:
        call()
    except RuntimeError as e:
        assert str(e) == name + '() called after request completed', e
    else:
        raise AssertionError(name)
";
            py.run(after, Some(&globals), None)
                .map_err(|e| e.to_string())
                .unwrap();
        });
    }
}
