//! The authentication and access scripts (`WSGIAuthUserScript`,
//! `WSGIAuthGroupScript`, `WSGIAccessScript`), called as mod_wsgi 6.1.1's
//! wsgi_auth.c calls them, in the Apache child: the script is loaded (and
//! reloaded) by the same loader as a WSGI script, its function is looked up
//! in the module's namespace, called with an environ of the request, and
//! its answer is read strictly. Whatever goes wrong (the script does not
//! load, has no such function, raises, or answers with a wrong type) is
//! logged with its own id and answered as an error: the host turns it into
//! a 500, never into access.
//!
//! The host (src/auth.rs) attaches to the interpreter and hands in the
//! request through [`AuthRequest`]; this file knows nothing of Apache.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyString, PyTuple};

use super::log::{self, LineSink};
use super::mod_ssl::{self, SslFunctions, SslLookup};
use super::{loader, module};
use crate::messages::{self, Level, LogContext};
use crate::sync::lock;

/// mod_wsgi's version, as its auth environ reports it.
const MOD_WSGI_VERSION: (u32, u32, u32) = (6, 1, 1);

/// The request, as an authentication or access script sees it.
pub trait AuthRequest {
    /// mod_wsgi's auth environ variables (`Auth_environ`): the request
    /// headers but the credentials, and the server's and client's facts.
    fn visit_variables(&self, visit: &mut dyn FnMut(&str, &[u8]));
    /// Apache's version, for `apache.version`.
    fn apache_version(&self) -> (u32, u32, u32);
    /// Writes one line to the error log, about this request.
    fn log(&self, level: Level, line: &str);
    /// mod_ssl's view of the request, for `mod_ssl.is_https` and
    /// `mod_ssl.var_lookup`.
    fn ssl(&self) -> &dyn SslLookup;
}

/// One script and how to call it.
pub struct AuthScriptCall<'a> {
    pub script: &'a str,
    /// The interpreter's name (`""`: `%{GLOBAL}`), for
    /// `mod_wsgi.application_group`.
    pub application_group: &'a str,
    /// `WSGIScriptReloading`.
    pub reloading: bool,
}

/// `check_password(environ, user, password)`'s answer.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    /// True: the user is who they say.
    Granted,
    /// A str: granted, and the request's user becomes this name (mod_wsgi 6).
    GrantedAs(String),
    /// False.
    Denied,
    /// None.
    UserNotFound,
    /// Logged: a 500.
    Failed,
}

/// `get_realm_hash(environ, user, realm)`'s answer.
#[derive(Debug, PartialEq, Eq)]
pub enum RealmHash {
    Found(Vec<u8>),
    UserNotFound,
    Failed,
}

/// `allow_access(environ, host)`'s answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    Allow,
    Deny,
    /// None: Apache's other access rules decide.
    Decline,
    Failed,
}

/// Calls the script's `check_password`.
pub fn check_password(
    py: Python<'_>,
    call: &AuthScriptCall<'_>,
    request: &dyn AuthRequest,
    user: &[u8],
    password: &[u8],
) -> PasswordCheck {
    let missing = format!(
        "Target WSGI user authentication script '{}' does not provide 'Basic' auth provider: \
         define check_password(environ, user, password)",
        call.script
    );
    let args = |environ| {
        PyTuple::new(
            py,
            [
                environ,
                latin1(py, user).into_any(),
                latin1(py, password).into_any(),
            ],
        )
    };
    run(
        py,
        call,
        request,
        "check_password",
        &missing,
        args,
        |result| -> Result<_, String> {
            if result.is_none() {
                Ok(PasswordCheck::UserNotFound)
            } else if let Ok(answer) = result.cast::<PyBool>() {
                Ok(if answer.is_true() {
                    PasswordCheck::Granted
                } else {
                    PasswordCheck::Denied
                })
            } else if let Ok(name) = result.cast::<PyString>() {
                match name.to_str() {
                    Ok("") => Err("Basic auth provider returned empty user name string.".into()),
                    Ok(name) => Ok(PasswordCheck::GrantedAs(name.to_owned())),
                    Err(_) => Err(
                        "Basic auth provider returned a user name that is not valid UTF-8.".into(),
                    ),
                }
            } else {
                Err(format!(
                    "Basic auth provider must return True, False, None or user name as string, \
                 not {}.",
                    type_name(result)
                ))
            }
        },
    )
    .unwrap_or(PasswordCheck::Failed)
}

/// Calls the script's `get_realm_hash`.
pub fn get_realm_hash(
    py: Python<'_>,
    call: &AuthScriptCall<'_>,
    request: &dyn AuthRequest,
    user: &[u8],
    realm: &[u8],
) -> RealmHash {
    let missing = format!(
        "Target WSGI user authentication script '{}' does not provide 'Digest' auth provider: \
         define get_realm_hash(environ, user, realm)",
        call.script
    );
    let args = |environ| {
        PyTuple::new(
            py,
            [
                environ,
                latin1(py, user).into_any(),
                latin1(py, realm).into_any(),
            ],
        )
    };
    run(
        py,
        call,
        request,
        "get_realm_hash",
        &missing,
        args,
        |result| -> Result<_, String> {
            if result.is_none() {
                return Ok(RealmHash::UserNotFound);
            }
            let hash = if let Ok(bytes) = result.cast::<PyBytes>() {
                bytes.as_bytes().to_vec()
            } else if let Ok(text) = result.cast::<PyString>() {
                encode_latin1(text).ok_or_else(|| {
                    "Digest auth provider must return None or string object, value containing \
                 non 'latin-1' characters found."
                        .to_owned()
                })?
            } else {
                return Err(format!(
                    "Digest auth provider must return None or string object, not {}.",
                    type_name(result)
                ));
            };
            if hash.is_empty() {
                return Err("Digest auth provider returned empty realm hash.".into());
            }
            Ok(RealmHash::Found(hash))
        },
    )
    .unwrap_or(RealmHash::Failed)
}

/// Calls the script's `groups_for_user`; `None` when it failed (logged).
pub fn groups_for_user(
    py: Python<'_>,
    call: &AuthScriptCall<'_>,
    request: &dyn AuthRequest,
    user: &[u8],
) -> Option<Vec<Vec<u8>>> {
    let missing = format!(
        "Target WSGI group authentication script '{}' does not provide 'groups_for_user' \
         callable: define groups_for_user(environ, user)",
        call.script
    );
    let args = |environ| PyTuple::new(py, [environ, latin1(py, user).into_any()]);
    let script = call.script;
    run(
        py,
        call,
        request,
        "groups_for_user",
        &missing,
        args,
        |result| -> Result<_, BadResult> {
            let iterator = result.try_iter().map_err(|_| {
                BadResult::Wrong(format!(
                    "Result returned from 'groups_for_user' in '{script}' is not iterable; \
                 expected an iterable sequence of byte strings, not {}.",
                    type_name(result)
                ))
            })?;
            let mut groups = Vec::new();
            for item in iterator {
                // An iterator that raises fails the whole answer: a partial
                // list of groups is not what the script meant.
                let item = item.map_err(Raised)?;
                let name = if let Ok(bytes) = item.cast::<PyBytes>() {
                    bytes.as_bytes().to_vec()
                } else if let Ok(text) = item.cast::<PyString>() {
                    encode_latin1(text).ok_or_else(|| {
                        BadResult::Wrong(format!(
                            "Item returned from 'groups_for_user' in '{script}' is a string \
                         containing characters that cannot be encoded as latin-1; expected a \
                         byte string."
                        ))
                    })?
                } else {
                    return Err(format!(
                        "Item returned from 'groups_for_user' in '{script}' is not a byte string \
                     ({}).",
                        type_name(&item)
                    )
                    .into());
                };
                groups.push(name);
            }
            Ok(groups)
        },
    )
}

/// Calls the script's `allow_access`. `host` is the client's host name
/// (when Apache looked it up) or address.
pub fn allow_access(
    py: Python<'_>,
    call: &AuthScriptCall<'_>,
    request: &dyn AuthRequest,
    host: &[u8],
) -> Access {
    let missing = format!(
        "Target WSGI host access script '{}' does not provide 'allow_access' callable: define \
         allow_access(environ, host)",
        call.script
    );
    let args = |environ| PyTuple::new(py, [environ, latin1(py, host).into_any()]);
    let script = call.script;
    run(
        py,
        call,
        request,
        "allow_access",
        &missing,
        args,
        |result| -> Result<_, String> {
            if result.is_none() {
                Ok(Access::Decline)
            } else if let Ok(answer) = result.cast::<PyBool>() {
                Ok(if answer.is_true() {
                    Access::Allow
                } else {
                    Access::Deny
                })
            } else {
                Err(format!(
                    "Result returned from 'allow_access' in '{script}' must be a boolean or None, \
                 not {}.",
                    type_name(result)
                ))
            }
        },
    )
    .unwrap_or(Access::Failed)
}

/// What reading an answer can fail with: a wrong answer, or an exception
/// raised while reading it (an iterator's).
enum BadResult {
    Wrong(String),
    Raised(PyErr),
}
use BadResult::Raised;

impl From<String> for BadResult {
    fn from(text: String) -> Self {
        BadResult::Wrong(text)
    }
}

impl From<&str> for BadResult {
    fn from(text: &str) -> Self {
        BadResult::Wrong(text.to_owned())
    }
}

/// Loads the script, calls `function` with the arguments `args` builds
/// around the environ, and reads its answer with `read`. `None`: failed,
/// and logged.
fn run<'py, T, E: Into<BadResult>>(
    py: Python<'py>,
    call: &AuthScriptCall<'_>,
    request: &dyn AuthRequest,
    function: &str,
    missing: &str,
    args: impl FnOnce(Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>>,
    read: impl FnOnce(&Bound<'py, PyAny>) -> Result<T, E>,
) -> Option<T> {
    let context = LogContext::script(call.script);
    let log = |id: &str, text: &str| {
        request.log(Level::Error, &messages::format_line(&context, id, text));
    };
    let log_exception = |id: &str, text: &str, error: &PyErr| {
        log(id, text);
        for line in module::events::traceback_lines(py, error) {
            request.log(Level::Error, &line);
        }
    };
    let mtime = loader::file_mtime(call.script).unwrap_or(0);
    let loaded = loader::load_script(py, call.script, mtime, call.reloading, &mut |e| {
        log_exception(
            messages::RELOAD_HOOK_FAILED,
            "the script's reload_required() raised; the loaded script is kept",
            &e,
        )
    });
    let module = match loaded {
        Ok(module) => module,
        Err(e) => {
            log_exception(
                messages::AUTH_SCRIPT_LOAD_FAILED,
                &format!(
                    "Failed to exec Python script file '{script}'; the {function}() script \
                     '{script}' cannot be loaded as Python module ({e}); the request is refused \
                     with 500 and the script is loaded again on the next request",
                    script = call.script
                ),
                &e,
            );
            return None;
        }
    };
    // mod_wsgi looks in the module's namespace (PyDict_GetItemString), not
    // at attributes a module's __getattr__ could make up.
    let Some(callable) = module.dict().get_item(function).ok().flatten() else {
        log(messages::AUTH_FUNCTION_MISSING, missing);
        return None;
    };
    let sink = Arc::new(CollectedLines::default());
    let answer = mod_ssl::lend(request.ssl(), |ssl| {
        let errors = log::begin_request(py, sink.clone())?;
        let environ = environ(py, call, request, errors, ssl)?;
        callable.call1(args(environ.into_any())?)
    });
    log::end_request();
    for (level, line) in lock(&sink.lines).drain(..) {
        request.log(level, &line);
    }
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            log_exception(
                messages::AUTH_FUNCTION_RAISED,
                &format!(
                    "Exception occurred processing {function}() of '{}' ({e}); the request is \
                     refused with 500",
                    call.script
                ),
                &e,
            );
            return None;
        }
    };
    match read(&answer).map_err(Into::into) {
        Ok(value) => Some(value),
        Err(BadResult::Wrong(text)) => {
            log(
                messages::AUTH_BAD_RESULT,
                &format!("{text} The request is refused with 500."),
            );
            None
        }
        Err(BadResult::Raised(e)) => {
            log_exception(
                messages::AUTH_FUNCTION_RAISED,
                &format!(
                    "Exception occurred reading the answer of {function}() of '{}' ({e}); the \
                     request is refused with 500",
                    call.script
                ),
                &e,
            );
            None
        }
    }
}

/// `wsgi.errors` (and `sys.stdout`/`sys.stderr`) during the call: lines
/// are kept and written into the request's log once the call returned,
/// so no Python object ever holds on to the request.
#[derive(Default)]
struct CollectedLines {
    lines: Mutex<Vec<(Level, String)>>,
}

impl LineSink for CollectedLines {
    fn line(&self, level: Level, line: &str) {
        lock(&self.lines).push((level, line.to_owned()));
    }
}

/// mod_wsgi's `Auth_environ`: a new dict of `str` values (latin-1, as
/// mod_wsgi decodes them), with the versions, the groups, `wsgi.errors`
/// and mod_ssl's two functions.
fn environ<'py>(
    py: Python<'py>,
    call: &AuthScriptCall<'_>,
    request: &dyn AuthRequest,
    errors: Bound<'py, PyAny>,
    ssl: &SslFunctions,
) -> PyResult<Bound<'py, PyDict>> {
    let environ = PyDict::new(py);
    let mut failed = None;
    request.visit_variables(&mut |key, value| {
        if failed.is_none()
            && let Err(e) = environ.set_item(key, latin1(py, value))
        {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    environ.set_item("apache.version", request.apache_version())?;
    environ.set_item("mod_wsgi.version", MOD_WSGI_VERSION)?;
    // The Apache child is never a daemon process group.
    environ.set_item("mod_wsgi.process_group", "")?;
    environ.set_item("mod_wsgi.application_group", call.application_group)?;
    environ.set_item("wsgi.errors", errors)?;
    ssl.add_to(&environ)?;
    Ok(environ)
}

fn latin1<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    PyString::new(py, &text)
}

fn encode_latin1(text: &Bound<'_, PyString>) -> Option<Vec<u8>> {
    text.to_str()
        .ok()?
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect()
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| format!("'{n}'"))
        .unwrap_or_else(|_| "an object".into())
}

#[cfg(test)]
mod tests;
