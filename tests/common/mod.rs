//! Test harness: a real Apache (Debian's apache2, found through apxs) on a
//! free loopback port, started from a generated configuration in a staging
//! directory the worker user can read, and a small raw HTTP client.
//!
//! - `stage`: the staging directory, removed when its test passes;
//! - `server`: the configuration, start-up, error log and stop of an Apache;
//! - `http`: the one request builder and the one response reader;
//! - here: the MPMs, paths, polling, and checks many test files share.

#![allow(dead_code)]

mod http;
mod server;
mod stage;

pub use http::*;
pub use server::*;
pub use stage::*;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mpm {
    Event,
    Prefork,
    Worker,
}

impl Mpm {
    pub(crate) fn module(self) -> &'static str {
        match self {
            Mpm::Event => "event",
            Mpm::Prefork => "prefork",
            Mpm::Worker => "worker",
        }
    }

    pub(crate) fn settings(self) -> &'static str {
        match self {
            Mpm::Event | Mpm::Worker => {
                "StartServers 1\nServerLimit 2\nThreadsPerChild 8\nMaxRequestWorkers 16\nMinSpareThreads 1\nMaxSpareThreads 16\n"
            }
            Mpm::Prefork => {
                "StartServers 2\nMinSpareServers 1\nMaxSpareServers 4\nMaxRequestWorkers 8\n"
            }
        }
    }
}

/// Runs each listed test function under the event and prefork MPMs.
#[macro_export]
macro_rules! under_event_and_prefork {
    ($($name:ident),* $(,)?) => {
        mod event {
            $( #[test] fn $name() { super::$name($crate::common::Mpm::Event) } )*
        }
        mod prefork {
            $( #[test] fn $name() { super::$name($crate::common::Mpm::Prefork) } )*
        }
    };
}

fn tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (install apache2-dev)"));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub fn apache_binary() -> PathBuf {
    let sbin = tool("apxs", &["-q", "SBINDIR"]);
    let target = tool("apxs", &["-q", "TARGET"]);
    PathBuf::from(sbin).join(target)
}

pub fn apache_modules_dir() -> PathBuf {
    PathBuf::from(tool("apxs", &["-q", "LIBEXECDIR"]))
}

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The module under test: `MOD_WSGI_RS_SO`, or the release build.
pub fn module_path() -> PathBuf {
    if let Ok(p) = std::env::var("MOD_WSGI_RS_SO") {
        return PathBuf::from(p);
    }
    let p = repo_dir().join("target/release/libmod_wsgi_rs.so");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --release` first (scripts/dev.sh test does)",
        p.display()
    );
    p
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Polls `check` (every 20 ms) until it returns Some, for up to `timeout`.
pub fn poll<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits up to `timeout` for `check` to return Some; panics naming `what`.
pub fn wait_until<T>(timeout: Duration, what: &str, check: impl FnMut() -> Option<T>) -> T {
    poll(timeout, check).unwrap_or_else(|| panic!("timed out after {timeout:?} waiting for {what}"))
}

/// Checks `holds` (every 20 ms) throughout `window`, and panics naming
/// `what` as soon as it fails. For tests whose point is that nothing
/// happens for a while: the window's length is what is under test.
pub fn assert_holds(window: Duration, what: &str, mut holds: impl FnMut() -> bool) {
    let start = Instant::now();
    loop {
        assert!(
            holds(),
            "{what} stopped holding after {:?}",
            start.elapsed()
        );
        if start.elapsed() >= window {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `key=value` lines of a test application's answer, which must be a 200.
pub fn key_values(r: &Response) -> HashMap<String, String> {
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// GETs `path` and returns the `key=value` lines it answers with.
pub fn facts(server: &Server, path: &str) -> HashMap<String, String> {
    let r = server.get(path);
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    key_values(&r)
}

pub fn fact<'a>(facts: &'a HashMap<String, String>, key: &str) -> &'a str {
    facts
        .get(key)
        .unwrap_or_else(|| panic!("no fact {key:?} in {facts:#?}"))
}

/// The 1-based line of the rendered configuration that contains `needle`.
pub fn line_of(rendered: &str, needle: &str) -> usize {
    rendered
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in:\n{rendered}"))
        + 1
}

/// Runs configtest on `config` and asserts that it fails on the line that
/// contains `offending`, with each of `fragments` in Apache's message.
pub fn assert_configtest_fails(
    stage: &Stage,
    config: &Config,
    offending: &str,
    fragments: &[&str],
) {
    let line = line_of(&config.render(stage, 0), offending);
    let error = config_test(stage, config).expect_err(offending);
    assert!(
        error.contains(&format!("Syntax error on line {line} of")),
        "expected an error on line {line} ({offending:?}):\n{error}"
    );
    for fragment in fragments {
        assert!(
            error.contains(fragment),
            "{fragment:?} missing for {offending:?}:\n{error}"
        );
    }
}

/// GETs `path` and asserts 200, showing the body and the error log if not.
pub fn get_ok(server: &Server, path: &str) -> Response {
    let r = server.get(path);
    assert_eq!(
        r.status,
        200,
        "{path}: {}\n{}",
        r.text(),
        server.error_log()
    );
    r
}

/// Whether Debian's Python can import `name`; says what to install if not.
pub fn has_python_module(name: &str) -> bool {
    let ok = std::process::Command::new("/usr/bin/python3")
        .args(["-c", &format!("import {name}")])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "{name} is not installed for /usr/bin/python3 (apt-get install python3-{name}): skipped"
        );
    }
    ok
}

/// The path of the stage's copy of tests/apps/`name`.
pub fn script(server: &Server, name: &str) -> String {
    server
        .stage()
        .path(&format!("apps/{name}"))
        .display()
        .to_string()
}

/// The line with message `id`, checked to name the module, its pid and the script.
pub fn module_line<'a>(log: &'a str, id: &str, script: &str) -> &'a str {
    let line = log
        .lines()
        .find(|l| l.contains(&format!(": {id}: ")))
        .unwrap_or_else(|| panic!("no {id} line in:\n{log}"));
    assert!(line.contains("mod_wsgi_rs (pid="), "{line}");
    assert!(line.contains(&format!("script='{script}'")), "{line}");
    line
}

/// Deterministic bytes with no short period, so an offset error shows.
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// No process crashed, panicked or hung at exit, by what Apache, Python and
/// this module write to the error log ("still did not exit": a child that
/// hung at exit and that Apache then killed).
pub fn assert_no_crash(log: &str) {
    for bad in [
        "Segmentation fault",
        "exit signal",
        "Aborted",
        "panic",
        "Fatal Python error",
        "still did not exit",
    ] {
        assert!(!log.contains(bad), "{bad:?} in the error log:\n{log}");
    }
}

/// Copies a directory tree, without Python's bytecode caches.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

/// Copies python/mod_wsgi_rs (the package, not its tests) into the stage's
/// python/, which it returns, readable by the worker user: the PYTHONPATH
/// of a runner under test and the python-path of its daemons.
pub fn stage_python_package(stage: &Stage) -> PathBuf {
    let python = stage.path("python");
    copy_tree(
        &repo_dir().join("python/mod_wsgi_rs"),
        &python.join("mod_wsgi_rs"),
    );
    stage.make_readable();
    python
}

/// Makes `command` start with `signals` blocked, as some supervisors and CI
/// runners start their children: a blocked mask survives fork and exec.
pub fn start_with_signals_blocked(command: &mut Command, signals: &'static [i32]) {
    use std::os::unix::process::CommandExt;
    if signals.is_empty() {
        // No pre_exec hook, which would rule out posix_spawn.
        return;
    }
    // SAFETY: the closure runs in the child between fork and exec, and
    // calls only sigemptyset, sigaddset and pthread_sigmask, which are
    // async-signal-safe, on a set on its own stack.
    unsafe {
        command.pre_exec(move || {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &signal in signals {
                libc::sigaddset(&mut set, signal);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
}
