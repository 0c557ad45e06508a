//! Building the `environ` dict: the transport's CGI variables, decoded as
//! latin-1, plus the `wsgi.*` and `mod_wsgi.*` keys.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyString, PyTuple};
use pyo3::{Py, intern};

use super::file_wrapper::FileWrapper;
use super::input::Input;
use super::recent_variables::RecentVariables;
use super::transport::Transport;
use crate::python::ffi::{dict_with_capacity, latin1_str};
use crate::python::per_interpreter::{ByInterpreter, PerInterpreter};
use crate::request::RequestTimes;

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
    pub times: RequestTimes,
    /// When the adapter started on the request (wall clock, microseconds).
    pub application_start: i64,
}

static NEXT_THREAD_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

thread_local! {
    static THREAD_ID: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// This thread's number in the process, as `mod_wsgi.thread_id`, numbered
/// as mod_wsgi does: 0 is the thread that started Python (in a prefork
/// child it serves the requests too), the others count from 1 in the order
/// they first serve a request. A log line or an APM trace can then tell a
/// process's threads apart with small stable numbers.
pub fn thread_id(py: Python<'_>) -> u64 {
    THREAD_ID.with(|id| {
        if id.get() == 0 {
            id.set(if started_python(py) {
                u64::MAX
            } else {
                NEXT_THREAD_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            });
        }
        // 0 marks "not numbered yet" in the cell, so the main thread is MAX there.
        match id.get() {
            u64::MAX => 0,
            n => n,
        }
    })
}

/// Whether this is the thread that started Python (threading's main
/// thread in the main interpreter; a sub-interpreter's is the thread that
/// made it). Asked once per thread.
fn started_python(py: Python<'_>) -> bool {
    let _ = py;
    crate::python::interpreter::started_python_here()
}

/// A wall-clock instant in microseconds as mod_wsgi's float seconds
/// (`apr_time_sec((double)t)`); 0 (a stage embedded mode does not have)
/// stays 0.0, one shared object.
fn seconds<'py>(py: Python<'py>, c: &Constants, micros: i64) -> Bound<'py, PyFloat> {
    if micros == 0 {
        c.no_time.bind(py).clone()
    } else {
        PyFloat::new(py, micros as f64 / 1_000_000.0)
    }
}

/// Python objects that are the same for every request, built once per
/// interpreter.
struct Constants {
    wsgi_version: Py<PyTuple>,
    mod_wsgi_version: Py<PyTuple>,
    apache_version: Option<Py<PyTuple>>,
    http: Py<PyString>,
    https: Py<PyString>,
    one: Py<PyString>,
    zero: Py<PyString>,
    no_time: Py<PyFloat>,
}

static CONSTANTS: PerInterpreter<Constants> = PerInterpreter::new();

/// The mod_wsgi release whose behaviour this module follows; applications
/// test `mod_wsgi.version` to detect features.
const MOD_WSGI_COMPATIBLE_VERSION: (u32, u32, u32) = (6, 1, 1);

fn constants(py: Python<'_>, process: &ProcessInfo) -> &'static Constants {
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
        no_time: PyFloat::new(py, 0.0).unbind(),
    })
}

/// Environ keys seen before, as interned `str` objects: the same few dozen
/// names come with every request, and reusing them saves decoding, an
/// allocation and hashing per key. Bounded, because clients choose header
/// names.
type KeyCache =
    std::collections::HashMap<Vec<u8>, Py<PyString>, std::hash::BuildHasherDefault<Fnv>>;

const KEY_CACHE_LIMIT: usize = 512;

/// What a thread keeps from one request to the next, per interpreter.
#[derive(Default)]
struct ThreadCaches {
    keys: KeyCache,
    /// The same for the thread's previous request's variables, by position.
    recent: RecentVariables,
}

thread_local! {
    // Per thread, so no lock is held while Python allocates (a garbage
    // collection could run code that lets another thread take the GIL).
    // Never dropped: the strings live as long as their interpreter.
    static CACHES: std::mem::ManuallyDrop<std::cell::RefCell<ByInterpreter<ThreadCaches>>> = Default::default();
    // How many keys this thread's last environ had: the next one is
    // created that large (requests to one application look alike).
    static ENVIRON_SIZE: std::cell::Cell<usize> = const { std::cell::Cell::new(64) };
}

/// FNV-1a: keys are short, and a keyed hash buys nothing here (the cache
/// is bounded, so colliding names cannot make it grow).
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

fn environ_key<'py>(py: Python<'py>, cache: &mut KeyCache, key: &[u8]) -> Bound<'py, PyString> {
    if let Some(k) = cache.get(key) {
        return k.bind(py).clone();
    }
    let k = latin1_str(py, key);
    if cache.len() < KEY_CACHE_LIMIT {
        let interned = PyString::intern(py, &k.to_string_lossy());
        cache.insert(key.to_vec(), interned.clone().unbind());
        return interned;
    }
    k
}

pub(crate) fn build_environ<'py>(
    py: Python<'py>,
    process: &ProcessInfo,
    transport: &dyn Transport,
    extras: &EnvironExtras<'_>,
    input: Bound<'py, Input>,
    errors: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut failure = None;
    let environ = CACHES.with(|caches| {
        let mut caches = caches.borrow_mut();
        let caches = caches.get_mut(py);
        let environ = dict_with_capacity(py, ENVIRON_SIZE.get());
        let ThreadCaches { keys, recent } = caches;
        let mut position = 0;
        transport.cgi_variables(&mut |key, value| {
            let (key, value) =
                recent.get(py, position, key, value, |key| environ_key(py, keys, key));
            position += 1;
            if failure.is_none()
                && let Err(e) = environ.set_item(key, value)
            {
                failure = Some(e);
            }
        });
        environ
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
    let times = &extras.times;
    environ.set_item(
        intern!(py, "mod_wsgi.request_start"),
        seconds(py, c, times.request_start),
    )?;
    environ.set_item(
        intern!(py, "mod_wsgi.queue_start"),
        seconds(py, c, times.queue_start),
    )?;
    environ.set_item(
        intern!(py, "mod_wsgi.daemon_start"),
        seconds(py, c, times.daemon_start),
    )?;
    environ.set_item(
        intern!(py, "mod_wsgi.application_start"),
        seconds(py, c, extras.application_start),
    )?;
    environ.set_item(intern!(py, "mod_wsgi.thread_id"), thread_id(py))?;
    if let Some(v) = &c.apache_version {
        environ.set_item(intern!(py, "apache.version"), v.bind(py))?;
    }
    ENVIRON_SIZE.set(environ.len());
    Ok(environ)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_reused_and_the_cache_is_bounded() {
        crate::test_support::with_python(|py| {
            let mut cache = KeyCache::default();
            let first = environ_key(py, &mut cache, b"REQUEST_METHOD");
            let second = environ_key(py, &mut cache, b"REQUEST_METHOD");
            assert!(first.is(&second), "a cached key is the same object");
            assert_eq!(first.to_str().unwrap(), "REQUEST_METHOD");
            assert_eq!(
                environ_key(py, &mut cache, b"HTTP_X_\xe9")
                    .to_str()
                    .unwrap(),
                "HTTP_X_\u{e9}"
            );
            for i in 0..KEY_CACHE_LIMIT * 2 {
                environ_key(py, &mut cache, format!("HTTP_X_{i}").as_bytes());
            }
            assert_eq!(cache.len(), KEY_CACHE_LIMIT);
            let uncached = environ_key(py, &mut cache, b"HTTP_NEW");
            assert_eq!(uncached.to_str().unwrap(), "HTTP_NEW");
        });
    }
}
