//! For tests/express_apps.rs and tests/django_runmodwsgi.rs: the Python
//! package copied into a stage (Apache's www-data must read it), and a
//! runner (`mod_wsgi_rs-express start-server`, or `manage.py runmodwsgi`,
//! which calls it) serving until the test stops it. The runner exec's
//! apachectl, which exec's Apache: the pid the test spawns is Apache's
//! parent, in its own process group, stopped by a Drop guard even when the
//! test fails.

#![allow(dead_code)]

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;

pub const WAIT: Duration = Duration::from_secs(30);

/// `/usr/bin/python3 ARGS` in `dir`, as a user runs the package: from the
/// stage's copy, with the stage's copy of the module.
pub fn python(stage: &Stage, dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("/usr/bin/python3");
    command
        .arg("-B")
        .args(args)
        .current_dir(dir)
        .env("PYTHONPATH", stage.path("python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("MOD_WSGI_RS_MODULE", stage.path("mod_wsgi_rs.so"))
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("HTTPD");
    command
}

/// The runner's options every test passes: loopback only, the stage's
/// server root, and (as root) Apache's usual user, which the runner
/// requires of root.
pub fn runner_args(stage: &Stage, port: u16) -> Vec<String> {
    let mut args = vec![
        "--host".to_owned(),
        "127.0.0.1".to_owned(),
        "--port".to_owned(),
        port.to_string(),
        "--server-root".to_owned(),
        stage.path("root").display().to_string(),
        "--log-level".to_owned(),
        "info".to_owned(),
    ];
    if is_root() {
        args.extend(["--user", "www-data", "--group", "www-data"].map(str::to_owned));
    }
    args
}

/// The pids whose process group is `pgid` (from /proc).
pub fn processes_in_group(pgid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The fields after the command's closing parenthesis: state,
            // ppid, pgrp.
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(2)?.parse::<i32>().ok())
                == Some(pgid)
        })
        .collect()
}

/// A runner serving; stopped by its pid when dropped.
pub struct Running {
    stage: Option<Stage>,
    pub port: u16,
    child: Child,
    stopped: bool,
}

impl Running {
    /// Spawns `command` (which must take `port` in its arguments) and waits
    /// until Apache answers; panics with its output and error log if it
    /// ends first.
    pub fn start(stage: Stage, mut command: Command, port: u16) -> Running {
        let out = std::fs::File::create(stage.path("out.txt")).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("python3 runs");
        let mut running = Running {
            stage: Some(stage),
            port,
            child,
            stopped: false,
        };
        let up = poll(WAIT, || {
            if let Ok(Some(status)) = running.child.try_wait() {
                return Some(Err(status));
            }
            TcpStream::connect(("127.0.0.1", port))
                .is_ok()
                .then_some(Ok(()))
        });
        match up {
            Some(Ok(())) => running,
            other => panic!(
                "the runner did not serve ({other:?}):\n{}\nerror log:\n{}",
                running.output(),
                running.error_log()
            ),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn stage(&self) -> &Stage {
        self.stage.as_ref().expect("the stage")
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(self.stage().path("out.txt")).unwrap_or_default()
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.stage().path("root/error_log")).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> Response {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.write_all(&simple_request("GET", path, false)).unwrap();
        read_response(&mut s)
    }

    pub fn get_ok(&self, path: &str) -> Response {
        let r = self.get(path);
        assert_eq!(
            r.status,
            200,
            "{path}: {}\nerror log:\n{}",
            r.text(),
            self.error_log()
        );
        r
    }

    /// SIGTERM to Apache's parent; its exit status once it and every
    /// process it started (children, daemons) ended.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.stopped = true;
        let pid = self.pid();
        // SAFETY: a signal to the pid this test spawned.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let status = wait_until(WAIT, "the runner's Apache to stop", || {
            self.child.try_wait().unwrap()
        });
        wait_until(WAIT, "Apache's children and daemons to end", || {
            processes_in_group(pid).is_empty().then_some(())
        });
        status
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        let pid = self.pid();
        // SAFETY: signals to the pid this test spawned.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        if poll(Duration::from_secs(15), || self.child.try_wait().unwrap()).is_none() {
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}
