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

/// A transport for unit tests: body reads follow a script, and it records
/// how many reads were made and every log line.
pub(crate) struct ScriptedTransport {
    pub(crate) reads: std::collections::VecDeque<std::io::Result<Vec<u8>>>,
    pub(crate) calls: std::sync::Arc<std::sync::Mutex<usize>>,
    pub(crate) log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ScriptedTransport {
    pub(crate) fn new(reads: Vec<std::io::Result<Vec<u8>>>) -> Self {
        ScriptedTransport {
            reads: reads.into(),
            calls: Default::default(),
            log: Default::default(),
        }
    }
}

impl crate::adapter::Transport for ScriptedTransport {
    fn cgi_variables(&self, _: &mut dyn FnMut(&[u8], &[u8])) {}
    fn read_body(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        *self.calls.lock().unwrap() += 1;
        let data = self
            .reads
            .pop_front()
            .expect("read past the scripted body")?;
        buf[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }
    fn set_head(&mut self, _: &crate::adapter::ResponseHead) {}
    fn queue_body(&mut self, _: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
    fn send_body(&mut self, _: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
    fn send_file(&mut self, _: std::os::fd::RawFd, _: u64, _: u64) -> std::io::Result<()> {
        Ok(())
    }
    fn log(&self, _: crate::messages::Level, message: &str) {
        self.log.lock().unwrap().push(message.to_owned());
    }
}
