//! Helpers for unit tests that need a Python interpreter.

use std::path::PathBuf;
use std::sync::Once;

use pyo3::prelude::*;

static START: Once = Once::new();

pub(crate) fn with_python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    START.call_once(|| {
        crate::python::initialize(&Default::default(), |_, line| eprintln!("{line}"))
            .expect("python starts");
    });
    crate::python::attach(f)
}

pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mod_wsgi_rs-unit-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
