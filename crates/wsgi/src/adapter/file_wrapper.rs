//! `wsgi.file_wrapper`: lets the server send a real file with sendfile, and
//! iterates any other file-like object in `blksize` reads.

use std::os::fd::RawFd;

use pyo3::prelude::*;

#[pyclass(module = "mod_wsgi_rs", name = "FileWrapper", frozen)]
pub struct FileWrapper {
    filelike: Py<PyAny>,
    blksize: usize,
}

/// A regular file the transport can send directly.
pub(crate) struct RegularFile {
    pub(crate) fd: RawFd,
    /// The file's current position: what the application has not read yet.
    pub(crate) offset: u64,
    pub(crate) size: u64,
}

impl FileWrapper {
    /// The wrapped object as a regular file, or `None` if it is anything else
    /// (a socket, a pipe, a BytesIO), which is then iterated instead.
    pub(crate) fn regular_file(&self, py: Python<'_>) -> Option<RegularFile> {
        let filelike = self.filelike.bind(py);
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

#[pymethods]
impl FileWrapper {
    #[new]
    #[pyo3(signature = (filelike, blksize = 8192))]
    fn new(filelike: Py<PyAny>, blksize: usize) -> Self {
        FileWrapper {
            filelike,
            blksize: blksize.max(1),
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let data = self
            .filelike
            .bind(py)
            .call_method1("read", (self.blksize,))?;
        Ok(if data.is_truthy()? { Some(data) } else { None })
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let filelike = self.filelike.bind(py);
        if filelike.hasattr("close")? {
            filelike.call_method0("close")?;
        }
        Ok(())
    }

    #[getter]
    fn filelike(&self, py: Python<'_>) -> Py<PyAny> {
        self.filelike.clone_ref(py)
    }

    #[getter]
    fn blksize(&self) -> usize {
        self.blksize
    }
}
