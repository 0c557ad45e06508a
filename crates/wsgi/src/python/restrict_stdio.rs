//! `WSGIRestrictStdin On` and `WSGIRestrictStdout On`: the stream becomes a
//! `mod_wsgi.Restricted` object, as in mod_wsgi 6 (wsgi_restrict.c), whose
//! every attribute raises `OSError("sys.stdout access restricted by
//! mod_wsgi")`, so `print()` or `input()` fails where it is called instead
//! of writing into Apache's log or reading Apache's standard input. Both
//! are Off by default, as in mod_wsgi 6.

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

#[pyclass(module = "mod_wsgi", name = "Restricted", frozen)]
struct Restricted {
    /// `sys.stdin` or `sys.stdout`, for the message.
    stream: &'static str,
}

#[pymethods]
impl Restricted {
    fn __getattribute__(&self, _name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Err(PyOSError::new_err(format!(
            "{} access restricted by mod_wsgi",
            self.stream
        )))
    }
}

/// Replaces the streams the options restrict; called once per process
/// after the log streams are installed.
pub(super) fn install(py: Python<'_>, stdin: bool, stdout: bool) -> PyResult<()> {
    let sys = py.import("sys")?;
    for (restrict, attribute, stream) in [
        (stdin, "stdin", "sys.stdin"),
        (stdout, "stdout", "sys.stdout"),
    ] {
        if restrict {
            sys.setattr(attribute, Bound::new(py, Restricted { stream })?)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_use_of_a_restricted_stream_raises_oserror_naming_it() {
        crate::test_support::with_python(|py| {
            let object = Bound::new(
                py,
                Restricted {
                    stream: "sys.stdout",
                },
            )
            .unwrap();
            let error = object.getattr("write").unwrap_err();
            assert!(error.is_instance_of::<PyOSError>(py));
            assert_eq!(
                error.value(py).to_string(),
                "sys.stdout access restricted by mod_wsgi"
            );
        });
    }
}
