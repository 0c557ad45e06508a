//! `WSGIRestrictStdin On` and `WSGIRestrictStdout On`: the stream becomes a
//! `mod_wsgi.Restricted` object, as in mod_wsgi 6 (wsgi_restrict.c), whose
//! every attribute raises `OSError("sys.stdout access restricted by
//! mod_wsgi")`, so `print()` or `input()` fails where it is called instead
//! of writing into Apache's log or reading Apache's standard input. Both
//! are Off by default, as in mod_wsgi 6.

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

use super::ffi::heap_type::{self, Flags, HeapType, Kind};

struct Restricted {
    /// `sys.stdin` or `sys.stdout`, for the message.
    stream: &'static str,
}

static RESTRICTED: HeapType<Restricted> = HeapType::new(
    Kind::Restricted,
    c"mod_wsgi.Restricted",
    None,
    Flags {
        subclass: false,
        mapping: false,
    },
    || vec![heap_type::getattr!(Restricted, Restricted::getattribute)],
);

impl Restricted {
    fn getattribute(&self, _py: Python<'_>, _name: &Bound<'_, PyAny>) -> PyResult<()> {
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
            sys.setattr(attribute, RESTRICTED.instance(py, Restricted { stream })?)?;
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
            let object = RESTRICTED
                .instance(
                    py,
                    Restricted {
                        stream: "sys.stdout",
                    },
                )
                .unwrap();
            assert_eq!(object.get_type().module().unwrap().to_string(), "mod_wsgi");
            let error = object.getattr("write").unwrap_err();
            assert!(error.is_instance_of::<PyOSError>(py));
            assert_eq!(
                error.value(py).to_string(),
                "sys.stdout access restricted by mod_wsgi"
            );
        });
    }
}
