//! `wsgi.file_wrapper`, which is `mod_wsgi.FileWrapper` (wsgi_stream.c):
//! lets the server send a real file with sendfile, and iterates any other
//! file-like object in `blksize` reads. Subclassable, as mod_wsgi's.

use std::os::fd::RawFd;
use std::sync::Mutex;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::python::ffi::heap_type::{self, Args, Flags, HeapType, Kind};
use crate::sync::lock;

pub struct FileWrapper {
    /// `None` once `close()` ran.
    filelike: Mutex<Option<Py<PyAny>>>,
    blksize: usize,
}

static FILE_WRAPPER: HeapType<FileWrapper> = HeapType::new(
    Kind::FileWrapper,
    c"mod_wsgi.FileWrapper",
    None,
    Flags {
        subclass: true,
        mapping: false,
    },
    || {
        vec![
            heap_type::new!(FileWrapper, FileWrapper::new),
            heap_type::iter_self!(),
            heap_type::next!(FileWrapper, FileWrapper::next),
            heap_type::method!(c"close", FileWrapper, FileWrapper::close),
            heap_type::unary!(Getter(c"filelike"), FileWrapper, FileWrapper::filelike),
            heap_type::unary!(Getter(c"blksize"), FileWrapper, FileWrapper::blksize),
        ]
    },
);

heap_type::type_info!(FileWrapper, FILE_WRAPPER);

/// A regular file the transport can send directly.
pub(crate) struct RegularFile {
    pub(crate) fd: RawFd,
    /// The file's current position: what the application has not read yet.
    pub(crate) offset: u64,
    pub(crate) size: u64,
}

fn closed() -> PyErr {
    PyValueError::new_err("I/O operation on closed file")
}

impl FileWrapper {
    fn filelike_of<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        lock(&self.filelike).as_ref().map(|f| f.bind(py).clone())
    }

    /// The wrapped object as a regular file, or `None` if it is anything else
    /// (a socket, a pipe, a BytesIO), which is then iterated instead.
    pub(crate) fn regular_file(&self, py: Python<'_>) -> Option<RegularFile> {
        let filelike = self.filelike_of(py)?;
        let fd: RawFd = filelike.call_method0("fileno").ok()?.extract().ok()?;
        let os = py.import("os").ok()?;
        let stat = os.call_method1("fstat", (fd,)).ok()?;
        let mode: u32 = stat.getattr("st_mode").ok()?.extract().ok()?;
        if mode & libc::S_IFMT != libc::S_IFREG {
            return None;
        }
        let size: u64 = stat.getattr("st_size").ok()?.extract().ok()?;
        // tell() accounts for Python-level buffering; lseek does not.
        let offset: u64 = match filelike.call_method0("tell") {
            Ok(pos) => pos.extract().ok()?,
            Err(_) => os.call_method1("lseek", (fd, 0, 1)).ok()?.extract().ok()?,
        };
        Some(RegularFile { fd, offset, size })
    }
}

/// What Python calls.
impl FileWrapper {
    /// `FileWrapper(filelike, blksize=8192)`.
    fn new(_py: Python<'_>, args: &Args<'_, '_>) -> PyResult<Self> {
        let [filelike, blksize] =
            args.parse("FileWrapper.__new__", ["filelike", "blksize"], 1, 0)?;
        let filelike = filelike.expect("required").to_owned().unbind();
        let blksize: isize = match blksize {
            Some(blksize) => heap_type::extract("blksize", blksize)?,
            None => 8192,
        };
        let blksize = usize::try_from(blksize)
            .map_err(|_| PyValueError::new_err("blksize must not be negative"))?;
        Ok(FileWrapper {
            filelike: Mutex::new(Some(filelike)),
            blksize,
        })
    }

    fn next<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let filelike = self.filelike_of(py).ok_or_else(closed)?;
        let data = filelike.call_method1("read", (self.blksize,))?;
        let bytes = data.cast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err(format!(
                "file wrapper read() must return bytes, not {}",
                data.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        Ok(if bytes.as_bytes().is_empty() {
            None
        } else {
            Some(data)
        })
    }

    /// Closes the wrapped object; as in mod_wsgi, its errors are ignored
    /// and the wrapper cannot be read afterwards.
    fn close(&self, py: Python<'_>, args: &Args<'_, '_>) -> PyResult<()> {
        args.parse("FileWrapper.close", [], 0, 0)?;
        let filelike = lock(&self.filelike).take();
        if let Some(filelike) = filelike {
            let filelike = filelike.bind(py);
            if !filelike.is_none()
                && let Ok(close) = filelike.getattr("close")
            {
                let _ = close.call0();
            }
        }
        Ok(())
    }

    fn filelike<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.filelike_of(py).ok_or_else(closed)
    }

    fn blksize(&self, _py: Python<'_>) -> PyResult<usize> {
        Ok(self.blksize)
    }
}
