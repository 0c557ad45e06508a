//! `mod_wsgi.RequestTimeout`: what a request thread gets when its request
//! runs past `request-timeout` (raised in it asynchronously), and what an
//! application may raise itself to ask for a 504. A `SystemExit` subclass,
//! as in mod_wsgi 6, so that `except Exception:` in the application does
//! not swallow it.

pyo3::create_exception!(
    mod_wsgi,
    RequestTimeout,
    pyo3::exceptions::PySystemExit,
    "The request ran longer than the daemon process group's request-timeout."
);
