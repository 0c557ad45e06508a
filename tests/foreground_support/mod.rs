//! What tests/examples.rs and tests/quick_start.rs share: servers that run
//! in the foreground (the express runner, scripts/dev.sh serve,
//! apache-conf/example/serve.sh), started on a free loopback port in a
//! process group of their own and stopped by the pid the test spawned;
//! and copies of the checkout's files that Apache's worker user can read.
#![allow(dead_code)]

use crate::common::*;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A server started in the foreground (start-server, dev.sh serve), in
/// its own process group; stopped by its pid (SIGTERM, as Ctrl-C's
/// SIGINT, which Apache's parent handles alike) when dropped.
pub struct Foreground {
    pub child: Child,
    pub port: u16,
    output: std::path::PathBuf,
}

impl Foreground {
    /// Runs `command` with `port` until it answers on it; another port
    /// when the chosen one was taken first.
    pub fn start(stage: &Stage, mut command: impl FnMut(u16) -> Command) -> Foreground {
        let mut last = String::new();
        for attempt in 0..3 {
            let port = free_port();
            let output = stage.path(&format!("foreground-{attempt}.out"));
            let file = std::fs::File::create(&output).unwrap();
            use std::os::unix::process::CommandExt;
            let child = command(port)
                .stdin(Stdio::null())
                .stdout(file.try_clone().unwrap())
                .stderr(file)
                .process_group(0)
                .spawn()
                .unwrap();
            let mut server = Foreground {
                child,
                port,
                output,
            };
            let up = poll(Duration::from_secs(60), || {
                if let Ok(Some(_)) = server.child.try_wait() {
                    return Some(false);
                }
                TcpStream::connect(("127.0.0.1", port))
                    .is_ok()
                    .then_some(true)
            });
            if up == Some(true) {
                return server;
            }
            last = server.output();
            if !last.contains("in use") && !last.contains("AH00072") {
                break;
            }
        }
        panic!("the server did not start:\n{last}");
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }

    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> Response {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        std::io::Write::write_all(&mut s, &raw_request(method, path, &[], body, false)).unwrap();
        read_response(&mut s)
    }

    pub fn get_ok(&self, path: &str) -> Response {
        let r = self.request("GET", path, b"");
        assert_eq!(r.status, 200, "{path}: {}\n{}", r.text(), self.output());
        r
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: a signal to the process this test spawned (and reaps).
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let stopped = poll(Duration::from_secs(15), || {
            self.child.try_wait().ok().flatten()
        });
        if stopped.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The environment the runner gets: the package from a copy of python/
/// in the stage's `checkout/`, where it runs, and the module the stage
/// holds, all readable by Apache's user. Not the stage itself: the
/// runner's working directory is first on the daemon's sys.path (as
/// mod_wsgi-express's `home=`), where the stage's mod_wsgi_rs.so would
/// shadow the package.
pub fn runner_env(command: &mut Command, stage: &Stage) {
    let checkout = stage.path("checkout");
    copy_tree(&repo_dir().join("python"), &checkout.join("python"));
    stage.make_readable();
    command
        .env("PYTHONPATH", checkout.join("python"))
        .env("MOD_WSGI_RS_MODULE", stage.path("mod_wsgi_rs.so"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(&checkout);
}

/// Apache refuses to serve as root: as root, the runner is told a user.
pub fn run_as() -> Vec<&'static str> {
    if is_root() {
        vec!["--user", "www-data", "--group", "www-data"]
    } else {
        Vec::new()
    }
}
