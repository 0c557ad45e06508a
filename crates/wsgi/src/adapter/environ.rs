//! Building the `environ` dict: the transport's CGI variables, decoded as
//! latin-1, plus the `wsgi.*` and `mod_wsgi.*` keys.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple};
use pyo3::{Py, intern};

use super::errors::Log;
use super::file_wrapper::FileWrapper;
use super::input::Input;
use super::transport::Transport;
use crate::python::ffi::latin1_str;

/// Facts about the serving process, fixed for its life.
#[derive(Clone, Debug)]
pub struct ProcessInfo {
    pub multithread: bool,
    pub multiprocess: bool,
    /// Apache's version, for `apache.version`; `None` outside Apache.
    pub apache_version: Option<(u32, u32, u32)>,
}

/// Per-request values the adapter puts into environ besides the CGI ones.
pub struct EnvironExtras<'a> {
    pub url_scheme: &'a str,
    pub process_group: &'a str,
    pub application_group: &'a str,
    pub callable_object: &'a str,
    pub script_reloading: bool,
}

/// Python objects that are the same for every request, built once.
struct Constants {
    wsgi_version: Py<PyTuple>,
    mod_wsgi_version: Py<PyTuple>,
    apache_version: Option<Py<PyTuple>>,
    http: Py<PyString>,
    https: Py<PyString>,
    one: Py<PyString>,
    zero: Py<PyString>,
}

static CONSTANTS: PyOnceLock<Constants> = PyOnceLock::new();

/// The mod_wsgi release whose behaviour this module follows; applications
/// test `mod_wsgi.version` to detect features.
const MOD_WSGI_COMPATIBLE_VERSION: (u32, u32, u32) = (6, 1, 1);

fn constants<'py>(py: Python<'py>, process: &ProcessInfo) -> &'py Constants {
    CONSTANTS.get_or_init(py, || Constants {
        wsgi_version: PyTuple::new(py, [1, 0]).expect("tuple").unbind(),
        mod_wsgi_version: PyTuple::new(
            py,
            [
                MOD_WSGI_COMPATIBLE_VERSION.0,
                MOD_WSGI_COMPATIBLE_VERSION.1,
                MOD_WSGI_COMPATIBLE_VERSION.2,
            ],
        )
        .expect("tuple")
        .unbind(),
        apache_version: process
            .apache_version
            .map(|(a, b, c)| PyTuple::new(py, [a, b, c]).expect("tuple").unbind()),
        http: PyString::intern(py, "http").unbind(),
        https: PyString::intern(py, "https").unbind(),
        one: PyString::intern(py, "1").unbind(),
        zero: PyString::intern(py, "0").unbind(),
    })
}

pub(crate) fn build_environ<'py>(
    py: Python<'py>,
    process: &ProcessInfo,
    transport: &dyn Transport,
    extras: &EnvironExtras<'_>,
    input: Bound<'py, Input>,
    errors: Bound<'py, Log>,
) -> PyResult<Bound<'py, PyDict>> {
    let environ = PyDict::new(py);
    let mut failure = None;
    transport.cgi_variables(&mut |key, value| {
        if failure.is_none()
            && let Err(e) = environ.set_item(latin1_str(py, key), latin1_str(py, value))
        {
            failure = Some(e);
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let c = constants(py, process);
    let scheme = if extras.url_scheme == "https" {
        c.https.bind(py).clone()
    } else if extras.url_scheme == "http" {
        c.http.bind(py).clone()
    } else {
        PyString::new(py, extras.url_scheme)
    };
    environ.set_item(intern!(py, "wsgi.version"), c.wsgi_version.bind(py))?;
    environ.set_item(intern!(py, "wsgi.url_scheme"), scheme)?;
    environ.set_item(intern!(py, "wsgi.input"), input)?;
    environ.set_item(intern!(py, "wsgi.errors"), errors)?;
    environ.set_item(intern!(py, "wsgi.multithread"), process.multithread)?;
    environ.set_item(intern!(py, "wsgi.multiprocess"), process.multiprocess)?;
    environ.set_item(intern!(py, "wsgi.run_once"), false)?;
    environ.set_item(intern!(py, "wsgi.input_terminated"), true)?;
    environ.set_item(
        intern!(py, "wsgi.file_wrapper"),
        py.get_type::<FileWrapper>(),
    )?;
    environ.set_item(intern!(py, "mod_wsgi.process_group"), extras.process_group)?;
    environ.set_item(
        intern!(py, "mod_wsgi.application_group"),
        extras.application_group,
    )?;
    environ.set_item(
        intern!(py, "mod_wsgi.callable_object"),
        extras.callable_object,
    )?;
    environ.set_item(
        intern!(py, "mod_wsgi.script_reloading"),
        if extras.script_reloading {
            c.one.bind(py)
        } else {
            c.zero.bind(py)
        },
    )?;
    environ.set_item(intern!(py, "mod_wsgi.version"), c.mod_wsgi_version.bind(py))?;
    if let Some(v) = &c.apache_version {
        environ.set_item(intern!(py, "apache.version"), v.bind(py))?;
    }
    Ok(environ)
}
