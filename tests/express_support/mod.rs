//! Running `mod_wsgi_rs-express` as a user does: `/usr/bin/python3 -m
//! mod_wsgi_rs.express` from a copy of python/ in the test's stage
//! (PYTHONPATH), with MOD_WSGI_RS_MODULE naming the stage's copy of the
//! module, so that Apache's www-data can read both. The Apache it starts
//! runs in its own session and is stopped by its pid (the CLI exec's
//! apachectl, which exec's Apache: the spawned pid is Apache's parent), by
//! a Drop guard even when the test fails.

#![allow(dead_code)]

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::common::*;

/// A minimal WSGI application reporting what the tests look at, one
/// `key=value` a line.
pub const FACTS_APP: &str = r#"
import os, sys, pwd, grp

def application(environ, start_response):
    lines = [
        'pid=%d' % os.getpid(),
        'user=%s' % pwd.getpwuid(os.getuid()).pw_name,
        'group=%s' % grp.getgrgid(os.getgid()).gr_name,
        'process_group=%s' % environ.get('mod_wsgi.process_group'),
        'application_group=%s' % environ.get('mod_wsgi.application_group'),
        'script_name=%s' % environ.get('SCRIPT_NAME'),
        'path_info=%s' % environ.get('PATH_INFO'),
        'remote_addr=%s' % environ.get('REMOTE_ADDR'),
        'scheme=%s' % environ.get('wsgi.url_scheme'),
        'multiprocess=%s' % environ.get('wsgi.multiprocess'),
        'multithread=%s' % environ.get('wsgi.multithread'),
        'cwd=%s' % os.getcwd(),
        'prefix=%s' % sys.prefix,
        'express=%s' % os.environ.get('MOD_WSGI_EXPRESS'),
        'server_name_env=%s' % os.environ.get('MOD_WSGI_SERVER_NAME'),
        'reloader=%s' % os.environ.get('MOD_WSGI_RELOADER_ENABLED'),
        'setenv=%s' % environ.get('EXPRESS_TEST'),
        'locale=%s' % os.environ.get('LC_ALL'),
        'sys_path=%s' % ':'.join(sys.path),
    ]
    body = ('\n'.join(lines) + '\n').encode()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]
"#;

/// A new stage with python/ and the facts application at site/app.wsgi.
pub fn express_stage(name: &str) -> Stage {
    let stage = Stage::new(name);
    stage_python_package(&stage);
    stage.write("site/app.wsgi", FACTS_APP);
    stage
}

/// `python3 -m mod_wsgi_rs.express ARGS` in the stage, with the
/// environment the tests run it in.
pub fn express(stage: &Stage) -> Command {
    let mut command = Command::new("/usr/bin/python3");
    command
        .args(["-B", "-m", "mod_wsgi_rs.express"])
        // Not the stage itself: its mod_wsgi_rs.so would shadow the package.
        .current_dir(stage.path("site"))
        .env("PYTHONPATH", stage.path("python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("MOD_WSGI_RS_MODULE", stage.path("mod_wsgi_rs.so"))
        .env_remove("HTTPD");
    command
}

/// The options every test server gets: loopback only, the stage's server
/// root, and (as root) Apache's usual user, as mod_wsgi-express requires.
pub fn base_args(stage: &Stage, port: u16) -> Vec<String> {
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

/// Runs a command that ends (setup-server, a refused start-server); one
/// that does not end within a minute (a server started by mistake) is
/// stopped by its pid and fails the test.
pub fn run(stage: &Stage, args: &[&str]) -> Output {
    let out_path = stage.path("run/cli.out");
    let err_path = stage.path("run/cli.err");
    let mut child = express(stage)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .process_group(0)
        .spawn()
        .expect("python3 runs");
    let status = poll(Duration::from_secs(60), || child.try_wait().unwrap());
    let Some(status) = status else {
        // SAFETY: a signal to the pid this test spawned.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let _ = child.wait();
        panic!("{args:?} did not end within 60 s");
    };
    Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A start-server under test.
pub struct Express {
    /// None only once a failed start handed it back.
    stage: Option<Stage>,
    pub port: u16,
    child: Child,
    stopped: bool,
}

impl Express {
    /// `start-server` with `args` (after the base ones); waits until Apache
    /// answers on the port. Err with the command's output and error log if
    /// it ends first.
    pub fn try_start(stage: Stage, args: &[&str]) -> Result<Express, (String, Stage)> {
        Express::try_start_blocking(stage, args, &[])
    }

    /// As `try_start`, with the command started with `blocked` signals
    /// blocked.
    pub fn try_start_blocking(
        mut stage: Stage,
        args: &[&str],
        blocked: &'static [i32],
    ) -> Result<Express, (String, Stage)> {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let _ = std::fs::remove_file(stage.path("out.txt"));
            let out = std::fs::File::create(stage.path("out.txt")).unwrap();
            let err = std::fs::File::create(stage.path("err.txt")).unwrap();
            let mut command = express(&stage);
            start_with_signals_blocked(&mut command, blocked);
            let child = command
                .arg("start-server")
                .args(base_args(&stage, port))
                .args(args)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .process_group(0)
                .spawn()
                .expect("python3 runs");
            let mut express = Express {
                stage: Some(stage),
                port,
                child,
                stopped: false,
            };
            match express.wait_up() {
                Ok(()) => return Ok(express),
                Err(e) if e.contains("already in use") => {
                    last = e;
                    stage = express.take_stage();
                }
                Err(e) => {
                    let stage = express.take_stage();
                    return Err((e, stage));
                }
            }
        }
        Err((format!("no free port in 5 attempts:\n{last}"), stage))
    }

    pub fn start(stage: Stage, args: &[&str]) -> Express {
        Express::start_blocking(stage, args, &[])
    }

    /// As `start`, with the command started with `blocked` signals blocked.
    pub fn start_blocking(stage: Stage, args: &[&str], blocked: &'static [i32]) -> Express {
        match Express::try_start_blocking(stage, args, blocked) {
            Ok(e) => e,
            Err((e, _stage)) => panic!("start-server did not serve:\n{e}"),
        }
    }

    fn wait_up(&mut self) -> Result<(), String> {
        let port = self.port;
        let up = poll(Duration::from_secs(30), || {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Some(false);
            }
            TcpStream::connect(("127.0.0.1", port))
                .is_ok()
                .then_some(true)
        });
        match up {
            Some(true) => Ok(()),
            _ => {
                self.stop_now();
                Err(format!(
                    "{}\n{}\nerror log:\n{}",
                    self.stdout(),
                    self.stderr(),
                    self.error_log()
                ))
            }
        }
    }

    /// Gives the stage back after a failed start (the process is gone).
    fn take_stage(mut self) -> Stage {
        self.stop_now();
        self.stage.take().expect("the stage")
    }

    pub fn stage(&self) -> &Stage {
        self.stage.as_ref().expect("the stage")
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn root(&self) -> PathBuf {
        self.stage().path("root")
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.stage().path("out.txt")).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stage().path("err.txt")).unwrap_or_default()
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.root().join("error_log")).unwrap_or_default()
    }

    pub fn conf(&self) -> String {
        std::fs::read_to_string(self.root().join("httpd.conf")).unwrap()
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        let headers: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (*k, v.as_bytes())).collect();
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(&raw_request(method, path, &headers, b"", false))
            .unwrap();
        read_response(&mut s)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[])
    }

    /// GET `path`, which must answer 200 with `key=value` lines.
    pub fn facts(&self, path: &str) -> std::collections::HashMap<String, String> {
        let r = self.get(path);
        assert_eq!(
            r.status,
            200,
            "{path}: {}\nerror log:\n{}",
            r.text(),
            self.error_log()
        );
        key_values(&r)
    }

    /// Sends `signal` to Apache's parent and waits for the command to end;
    /// returns its exit status.
    pub fn stop_with(&mut self, signal: i32) -> std::process::ExitStatus {
        // SAFETY: a signal to the pid this test spawned.
        unsafe { libc::kill(self.pid(), signal) };
        let status = wait_until(Duration::from_secs(20), "start-server to end", || {
            self.child.try_wait().unwrap()
        });
        self.stopped = true;
        status
    }

    fn stop_now(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        // SAFETY: signals to the pid this test spawned.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        if poll(Duration::from_secs(15), || self.child.try_wait().unwrap()).is_none() {
            // The whole process group: killing the parent alone would leave
            // its children running. SAFETY: the group this test created.
            unsafe { libc::kill(-self.pid(), libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

impl Drop for Express {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// The daemon processes (children named `(wsgi:...`) of Apache's parent.
pub fn daemons(express: &Express) -> Vec<i32> {
    let out = Command::new("ps")
        .args(["-o", "pid=,comm=", "--ppid", &express.pid().to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(wsgi:"))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}
