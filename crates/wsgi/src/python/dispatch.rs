//! `WSGIDispatchScript`, as mod_wsgi 6.1.1's `wsgi_execute_dispatch`
//! (wsgi_dispatch.c): in the Apache child, before a request is run, the
//! script's `process_group(environ)`, `application_group(environ)` and
//! `callable_object(environ)`, each where the script defines it, in that
//! order, may replace the configured choice. They share one environ: the
//! request's CGI variables and `mod_wsgi.*` keys, with
//! `mod_wsgi.process_group` "" and `mod_wsgi.application_group` the
//! interpreter the script itself runs in (the context it runs in, not the
//! request's), no `mod_wsgi.callable_object`, and `wsgi.errors`.
//!
//! A function that raises, or returns anything but None, `str` of latin-1
//! characters or `bytes`, fails the request (500) and the ones after it are
//! not called. Unlike mod_wsgi, a script that cannot be loaded fails it
//! too: mod_wsgi logs that and routes with the configured groups, which on
//! a multi-tenant site would run one tenant's requests in another's process.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::messages::{self, Level, LogContext};
use crate::python::ffi::latin1_str;
use crate::python::loader;
use crate::python::mod_ssl::{self, SslFunctions, SslLookup};
use crate::python::module::events::traceback_lines;

/// One request's call of a dispatch script.
pub struct Dispatch<'a> {
    pub script: &'a str,
    /// The script file's modification time when reloading is on (else 0).
    pub mtime: i64,
    /// `WSGIScriptReloading`: a changed script is loaded again, in place.
    pub reloading: bool,
    /// The interpreter the script runs in, expanded (`application-group=`,
    /// as mod_wsgi's `wsgi_server_group`): its `mod_wsgi.application_group`.
    pub group: &'a str,
}

/// What the script chose; `None` keeps the configured value. The names are
/// as returned: the host expands them as mod_wsgi does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Choice {
    pub process_group: Option<String>,
    pub application_group: Option<String>,
    pub callable_object: Option<String>,
}

/// The request must fail with 500; why has been logged.
#[derive(Debug)]
pub struct Failed;

/// Hands each of the request's variables (name, value) to the visitor.
pub type Variables<'a> = &'a dyn Fn(&mut dyn FnMut(&[u8], &[u8]));

/// The three functions, in mod_wsgi's order, with the words of its
/// `TypeError` for a wrong return type.
const FUNCTIONS: [(&str, &str); 3] = [
    ("process_group", "Process group must be a byte string"),
    (
        "application_group",
        "Application group must be a string object",
    ),
    ("callable_object", "Callable object must be a string object"),
];

/// Runs the script for one request. `visit_variables` hands over the
/// request's CGI variables (and `mod_wsgi.*` keys); `ssl` answers
/// `mod_ssl.is_https` and `mod_ssl.var_lookup`; `log` writes a line to the
/// request's error log.
pub fn run(
    py: Python<'_>,
    dispatch: &Dispatch<'_>,
    visit_variables: Variables<'_>,
    ssl: &dyn SslLookup,
    log: &mut dyn FnMut(Level, &str),
) -> Result<Choice, Failed> {
    mod_ssl::lend(ssl, |ssl| run_lent(py, dispatch, visit_variables, ssl, log))
}

fn run_lent(
    py: Python<'_>,
    dispatch: &Dispatch<'_>,
    visit_variables: Variables<'_>,
    ssl: &SslFunctions,
    log: &mut dyn FnMut(Level, &str),
) -> Result<Choice, Failed> {
    let context = LogContext::script(dispatch.script);
    let mut report = |id: &str, text: &str, error: Option<&PyErr>| {
        log(Level::Error, &messages::format_line(&context, id, text));
        for line in error.map(|e| traceback_lines(py, e)).unwrap_or_default() {
            log(Level::Error, &line);
        }
    };
    let mut hook_error = None;
    let loaded = loader::load_script(
        py,
        dispatch.script,
        dispatch.mtime,
        dispatch.reloading,
        &mut |e| hook_error = Some(e),
    );
    if let Some(e) = hook_error {
        report(
            messages::RELOAD_HOOK_FAILED,
            "the dispatch script's reload_required() raised; the loaded script is kept",
            Some(&e),
        );
    }
    let module = match loaded {
        Ok(module) => module,
        Err(e) => {
            report(
                messages::DISPATCH_SCRIPT_LOAD_FAILED,
                &format!(
                    "Failed to exec Python script file '{}' as the WSGI dispatch script; \
                     the request gets 500 rather than the configured groups",
                    dispatch.script
                ),
                Some(&e),
            );
            return Err(Failed);
        }
    };
    let functions = module.dict();
    let mut environ = None;
    let mut choice = Choice::default();
    for (name, wrong_type) in FUNCTIONS {
        let Ok(Some(function)) = functions.get_item(name) else {
            continue;
        };
        let environ = match &environ {
            Some(environ) => environ,
            None => match build_environ(py, dispatch.group, visit_variables, ssl) {
                Ok(built) => environ.insert(built),
                Err(e) => {
                    report(
                        messages::DISPATCH_FUNCTION_FAILED,
                        "could not build the dispatch script's environ",
                        Some(&e),
                    );
                    return Err(Failed);
                }
            },
        };
        let result = match function.call1((environ,)) {
            Ok(result) => result,
            Err(e) => {
                report(
                    messages::DISPATCH_FUNCTION_FAILED,
                    &format!(
                        "Exception occurred processing WSGI script '{}': the dispatch \
                         script's {name}() raised {}",
                        dispatch.script,
                        e.get_type(py)
                            .name()
                            .map_or_else(|_| "an exception".to_owned(), |n| n.to_string())
                    ),
                    Some(&e),
                );
                return Err(Failed);
            }
        };
        match name_from(&result, wrong_type) {
            Ok(value) => {
                let slot = match name {
                    "process_group" => &mut choice.process_group,
                    "application_group" => &mut choice.application_group,
                    _ => &mut choice.callable_object,
                };
                *slot = value;
            }
            Err(why) => {
                report(
                    messages::DISPATCH_BAD_RESULT,
                    &format!(
                        "the dispatch script's {name}() returned {}: TypeError: {why} \
                         (return a str, bytes or None)",
                        type_name(&result)
                    ),
                    None,
                );
                return Err(Failed);
            }
        }
    }
    Ok(choice)
}

/// A returned name: None, `bytes` (taken as latin-1, as mod_wsgi's C
/// string) or a `str` that latin-1 can encode.
fn name_from(result: &Bound<'_, PyAny>, wrong_type: &str) -> Result<Option<String>, String> {
    if result.is_none() {
        return Ok(None);
    }
    if let Ok(bytes) = result.cast::<PyBytes>() {
        return Ok(Some(
            bytes.as_bytes().iter().map(|&b| char::from(b)).collect(),
        ));
    }
    if let Ok(text) = result.cast::<PyString>() {
        let text = text.to_cow().map_err(|e| e.to_string())?;
        if text.chars().any(|c| u32::from(c) > 0xff) {
            return Err(format!(
                "{wrong_type}, value containing non 'latin-1' characters found"
            ));
        }
        return Ok(Some(text.into_owned()));
    }
    Err(wrong_type.to_owned())
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "an object".to_owned(), |n| n.to_string())
}

/// mod_wsgi's `Dispatch_environ`: every variable a `str` (latin-1; the two
/// paths in the file system's encoding, as mod_wsgi decodes them), and
/// mod_ssl's two functions (mod_wsgi 4's dispatch environ had them; 6.1.1
/// dropped them, which only takes from scripts written for 4).
fn build_environ<'py>(
    py: Python<'py>,
    group: &str,
    visit_variables: Variables<'_>,
    ssl: &SslFunctions,
) -> PyResult<Bound<'py, PyDict>> {
    let environ = PyDict::new(py);
    let mut failed = None;
    visit_variables(&mut |key, value| {
        if failed.is_some() {
            return;
        }
        let value = match (key, std::str::from_utf8(value)) {
            (b"DOCUMENT_ROOT" | b"SCRIPT_FILENAME", Ok(path)) => PyString::new(py, path),
            _ => latin1_str(py, value),
        };
        if let Err(e) = environ.set_item(latin1_str(py, key), value) {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    environ.set_item(intern!(py, "mod_wsgi.process_group"), "")?;
    environ.set_item(intern!(py, "mod_wsgi.application_group"), group)?;
    if environ.contains(intern!(py, "mod_wsgi.callable_object"))? {
        environ.del_item(intern!(py, "mod_wsgi.callable_object"))?;
    }
    let errors = py.import("sys")?.getattr(intern!(py, "stderr"))?;
    environ.set_item(intern!(py, "wsgi.errors"), errors)?;
    ssl.add_to(&environ)?;
    Ok(environ)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::with_python;

    /// Runs `source` as a dispatch script for a request with `variables`,
    /// returning its choice and the lines it logged.
    fn dispatch(source: &str, variables: &[(&str, &str)]) -> (Result<Choice, Failed>, String) {
        // A directory per call, removed at the end: the loader keeps a
        // script by its path, so each script gets a new one.
        let dir = crate::test_support::ScratchDir::new("dispatch");
        let path = dir.path().join("d.py");
        std::fs::write(&path, source).unwrap();
        let path = path.display().to_string();
        let visit = |visit: &mut dyn FnMut(&[u8], &[u8])| {
            for (k, v) in variables {
                visit(k.as_bytes(), v.as_bytes());
            }
        };
        let mut logged = String::new();
        let call = Dispatch {
            script: &path,
            mtime: 0,
            reloading: false,
            group: "dispatcher",
        };
        struct Https;
        impl SslLookup for Https {
            fn is_https(&self) -> bool {
                true
            }
            fn var_lookup(&self, name: &[u8]) -> Option<Vec<u8>> {
                (name == b"HTTPS").then(|| b"on".to_vec())
            }
        }
        let result = with_python(|py| {
            run(py, &call, &visit, &Https, &mut |_, line| {
                logged.push_str(line);
                logged.push('\n');
            })
        });
        (result, logged)
    }

    #[test]
    fn each_function_may_replace_the_configured_name() {
        let (choice, logged) = dispatch(
            "def process_group(environ):\n    return b'tenant-' + environ['HTTP_HOST'][0].encode()\n\
             def application_group(environ):\n    return None\n\
             def callable_object(environ):\n    return 'app_' + environ['mod_wsgi.application_group']\n",
            &[("HTTP_HOST", "a.test")],
        );
        assert_eq!(
            choice.unwrap(),
            Choice {
                process_group: Some("tenant-a".into()),
                application_group: None,
                callable_object: Some("app_dispatcher".into()),
            },
            "{logged}"
        );
        // No function at all: nothing changes.
        assert_eq!(dispatch("X = 1\n", &[]).0.unwrap(), Choice::default());
    }

    #[test]
    fn the_environ_is_the_scripts_own_context() {
        let (choice, logged) = dispatch(
            "def callable_object(environ):\n    return repr(sorted(\n        (k, v) for k, v in environ.items()\n        if k not in ('wsgi.errors', 'mod_ssl.is_https', 'mod_ssl.var_lookup')))\n\
             def process_group(environ):\n    assert environ['wsgi.errors'] is __import__('sys').stderr\n\
             \x20   assert environ['mod_ssl.is_https']() == 1\n\
             \x20   assert environ['mod_ssl.var_lookup']('HTTPS') == 'on'\n\
             \x20   assert environ['mod_ssl.var_lookup']('SSL_CIPHER') is None\n",
            &[
                ("REQUEST_URI", "/x"),
                ("mod_wsgi.process_group", "site"),
                ("mod_wsgi.callable_object", "application"),
                ("HTTP_X_LATIN", "caf\u{e9}"),
            ],
        );
        let seen = choice.unwrap().callable_object.unwrap();
        assert_eq!(
            seen,
            "[('HTTP_X_LATIN', 'cafÃ©'), ('REQUEST_URI', '/x'), \
             ('mod_wsgi.application_group', 'dispatcher'), ('mod_wsgi.process_group', '')]",
            "{logged}"
        );
    }

    #[test]
    fn failures_are_logged_and_stop_the_request() {
        let (result, logged) = dispatch(
            "def process_group(environ):\n    raise ValueError('no tenant')\n\
             def application_group(environ):\n    raise AssertionError('not reached')\n",
            &[],
        );
        assert!(result.is_err());
        assert!(
            logged.contains(": WSGIRS0241: ")
                && logged.contains("process_group() raised ValueError"),
            "{logged}"
        );
        assert!(
            logged.contains("ValueError: no tenant") && !logged.contains("not reached"),
            "{logged}"
        );

        for (function, value, words) in [
            (
                "process_group",
                "42",
                "returned int: TypeError: Process group must be a byte string",
            ),
            (
                "application_group",
                "['x']",
                "returned list: TypeError: Application group must be a string object",
            ),
            (
                "callable_object",
                "'\\u20ac'",
                "non 'latin-1' characters found",
            ),
        ] {
            let source = format!("def {function}(environ):\n    return {value}\n");
            let (result, logged) = dispatch(&source, &[]);
            assert!(result.is_err(), "{function}");
            assert!(
                logged.contains(": WSGIRS0242: ") && logged.contains(words),
                "{logged}"
            );
        }

        let (result, logged) = dispatch("def process_group(environ)\n    return 'x'\n", &[]);
        assert!(result.is_err());
        assert!(
            logged.contains(": WSGIRS0240: ") && logged.contains("SyntaxError"),
            "{logged}"
        );
    }
}
