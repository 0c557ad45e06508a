//! Test harness: a real Apache (Debian's apache2, found through apxs) on a
//! free loopback port, started from a generated configuration in a staging
//! directory the worker user can read, and a small raw HTTP client.
//!
//! Servers run in their own session (setsid) and are stopped by the pid in
//! their PidFile, never by name.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mpm {
    Event,
    Prefork,
    Worker,
}

impl Mpm {
    fn module(self) -> &'static str {
        match self {
            Mpm::Event => "event",
            Mpm::Prefork => "prefork",
            Mpm::Worker => "worker",
        }
    }

    fn settings(self) -> &'static str {
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

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A directory under /tmp readable by Apache's worker user, with the test
/// applications (tests/apps) and the module copied in.
pub struct Stage {
    pub dir: PathBuf,
}

impl Stage {
    pub fn new(name: &str) -> Stage {
        let base = PathBuf::from("/tmp/mod_wsgi_rs-tests");
        std::fs::create_dir_all(&base).unwrap();
        set_mode(&base, 0o755);
        let dir = base.join(format!(
            "{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("apps")).unwrap();
        std::fs::create_dir_all(dir.join("run")).unwrap();
        for entry in std::fs::read_dir(repo_dir().join("tests/apps")).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), dir.join("apps").join(entry.file_name())).unwrap();
            }
        }
        std::fs::copy(module_path(), dir.join("mod_wsgi_rs.so")).unwrap();
        let stage = Stage { dir };
        stage.make_readable();
        stage
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        self.make_readable();
        p
    }

    /// Everything readable, and the run/ directory writable, by the worker user.
    pub fn make_readable(&self) {
        Command::new("chmod")
            .args(["-R", "a+rX"])
            .arg(&self.dir)
            .status()
            .unwrap();
        Command::new("chmod")
            .args(["a+rwx"])
            .arg(self.dir.join("run"))
            .status()
            .unwrap();
    }
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What goes into a generated httpd.conf.
pub struct Config {
    pub mpm: Mpm,
    /// Directives for the server, after the module is loaded.
    pub body: String,
    /// `LoadModule` the module under test (off to test a config without it).
    pub load_module: bool,
    /// Extra lines before our LoadModule (e.g. another module).
    pub preamble: String,
    pub timeout_seconds: u32,
    /// Environment variables Apache is started with.
    pub env: Vec<(String, String)>,
    /// Start Apache itself as this user (as root only), with no `User`
    /// line: the stage then belongs to that user.
    pub run_as: Option<&'static str>,
}

impl Config {
    pub fn new(mpm: Mpm, body: &str) -> Config {
        Config {
            mpm,
            body: body.to_owned(),
            load_module: true,
            preamble: String::new(),
            timeout_seconds: 20,
            env: Vec::new(),
            run_as: None,
        }
    }

    pub fn render(&self, stage: &Stage, port: u16) -> String {
        let d = stage.dir.display();
        let m = apache_modules_dir();
        let m = m.display();
        let user = if is_root() && self.run_as.is_none() {
            "User www-data\nGroup www-data\n"
        } else {
            ""
        };
        let load = if self.load_module {
            format!("LoadModule wsgi_module {d}/mod_wsgi_rs.so\n")
        } else {
            String::new()
        };
        format!(
            "ServerRoot {d}\nServerName 127.0.0.1\nListen 127.0.0.1:{port}\nPidFile {d}/run/httpd.pid\n\
             DefaultRuntimeDir {d}/run\nMutex file:{d}/run default\nErrorLog {d}/error.log\nLogLevel info\n{user}\
             Timeout {timeout}\nKeepAlive On\nServerTokens Full\nCoreDumpDirectory {d}/run\n\
             LoadModule mpm_{mpm}_module {m}/mod_mpm_{mpm}.so\n{mpm_settings}\
             LoadModule authz_core_module {m}/mod_authz_core.so\n\
             LoadModule mime_module {m}/mod_mime.so\nTypesConfig /etc/mime.types\n\
             {preamble}{load}\
             <Directory {d}/apps>\n  Require all granted\n</Directory>\n{body}\n",
            timeout = self.timeout_seconds,
            mpm = self.mpm.module(),
            mpm_settings = self.mpm.settings(),
            preamble = self.preamble,
            body = self.body.replace("@STAGE@", &d.to_string()),
        )
    }
}

/// Servers still running when the test process exits are stopped by an
/// atexit handler (statics are never dropped).
static RUNNING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

extern "C" fn stop_all_at_exit() {
    if let Ok(list) = RUNNING.lock() {
        for pidfile in list.iter() {
            stop_by_pidfile(pidfile);
        }
    }
}

fn read_pid(pidfile: &Path) -> Option<i32> {
    std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Server-side TCP sockets on `port` still owned by a process (inode not 0),
/// other than the listener, from /proc/net/tcp.
fn open_server_connections(port: u16) -> usize {
    const LISTEN: &str = "0A";
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            local_port == Some(port)
                && fields.get(3) != Some(&LISTEN)
                && fields.get(9).is_some_and(|inode| *inode != "0")
        })
        .count()
}

fn stop_by_pidfile(pidfile: &Path) {
    let Some(pid) = read_pid(pidfile) else { return };
    // SAFETY: plain kill on the recorded parent pid.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(15);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if alive(pid) {
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

pub struct Server {
    pub stage: Stage,
    pub port: u16,
    pub conf: PathBuf,
    pub pid: i32,
}

/// Result of `apache2 -t`: Ok, or the error text Apache printed.
pub fn config_test(stage: &Stage, config: &Config) -> Result<String, String> {
    let conf = stage.write("httpd.conf", &config.render(stage, free_port()));
    let out = Command::new(apache_binary())
        .arg("-t")
        .arg("-f")
        .arg(&conf)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

impl Server {
    /// Starts Apache; panics with Apache's own output if it does not start.
    pub fn start(stage: Stage, config: &Config) -> Server {
        match Server::try_start(stage, config) {
            Ok(s) => s,
            Err(e) => panic!("apache did not start:\n{e}"),
        }
    }

    pub fn try_start(stage: Stage, config: &Config) -> Result<Server, String> {
        static REGISTER: std::sync::Once = std::sync::Once::new();
        // SAFETY: registering a plain extern "C" fn with atexit.
        REGISTER.call_once(|| unsafe {
            libc::atexit(stop_all_at_exit);
        });
        let port = free_port();
        let conf = stage.write("httpd.conf", &config.render(&stage, port));
        let pidfile = stage.path("run/httpd.pid");
        let mut as_user = Vec::new();
        if let Some(user) = config.run_as.filter(|_| is_root()) {
            Command::new("chown")
                .args(["-R", user])
                .arg(&stage.dir)
                .status()
                .unwrap();
            as_user = vec![
                "setpriv".to_owned(),
                format!("--reuid={user}"),
                format!("--regid={user}"),
                "--init-groups".to_owned(),
            ];
        }
        let out = Command::new("setsid")
            .args(&as_user)
            .arg(apache_binary())
            .arg("-f")
            .arg(&conf)
            .args(["-k", "start"])
            .envs(config.env.iter().map(|(k, v)| (k, v)))
            .output()
            .map_err(|e| e.to_string())?;
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            return Err(format!(
                "{output}\n{}",
                std::fs::read_to_string(stage.path("error.log")).unwrap_or_default()
            ));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(pid) = read_pid(&pidfile) {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    RUNNING.lock().unwrap().push(pidfile.clone());
                    return Ok(Server {
                        stage,
                        port,
                        conf,
                        pid,
                    });
                }
                if !alive(pid) {
                    break;
                }
            }
            if Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(format!(
            "{output}\nserver not answering; error log:\n{}",
            std::fs::read_to_string(stage.path("error.log")).unwrap_or_default()
        ))
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.stage.path("error.log")).unwrap_or_default()
    }

    /// Waits until the error log contains `needle`; returns the log.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.error_log();
            if log.contains(needle) {
                return log;
            }
            if Instant::now() > deadline {
                panic!("error log never contained {needle:?}:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `apache2 -k <signal>` (graceful, restart) against this server.
    pub fn signal(&self, action: &str) {
        if action == "stop" {
            self.wait_until_no_connections();
        }
        let status = Command::new(apache_binary())
            .arg("-f")
            .arg(&self.conf)
            .args(["-k", action])
            .status()
            .unwrap();
        assert!(status.success(), "apache2 -k {action} failed");
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    }

    /// Sends raw bytes, reads one response.
    pub fn raw(&self, request: &[u8]) -> Response {
        let mut s = self.connect();
        s.write_all(request).unwrap();
        read_response(&mut s)
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut req =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty()
            && !headers.iter().any(|(k, _)| {
                k.eq_ignore_ascii_case("content-length")
                    || k.eq_ignore_ascii_case("transfer-encoding")
            })
        {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.raw(&bytes)
    }

    /// A GET, sent again when no response could be read. The harness's reader
    /// takes a failed read() for the end of the response, and a read on a
    /// socket with a receive timeout is not restarted after an interruption:
    /// under load it fails with EINTR now and then, while the server answers
    /// the request all the same (seen in Apache's trace log).
    pub fn get_retried(&self, path: &str) -> Response {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match std::panic::catch_unwind(|| self.get(path)) {
                Ok(r) => return r,
                Err(e) if Instant::now() > deadline => std::panic::resume_unwind(e),
                Err(_) => {
                    eprintln!("no response read for {path}; sending it again");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    pub fn post(&self, path: &str, body: &[u8]) -> Response {
        self.request("POST", path, &[], body)
    }

    /// Stops Apache (SIGTERM, by the PidFile) once no connection is open.
    pub fn stop(self) {
        self.wait_until_no_connections();
        drop(self)
    }

    /// Waits (up to 5 s) until no Apache process holds a TCP connection on
    /// the server's port. An ungraceful stop while a worker thread still
    /// holds one (a lingering close, say) can crash the event MPM child:
    /// httpd's close_worker_sockets() reads a socket whose pool the
    /// listener thread is freeing (seen in a core dump, with no module code
    /// on the stack). Tests that check the log after a stop wait first, so
    /// that what they find is this module's doing.
    pub fn wait_until_no_connections(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while open_server_connections(self.port) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pidfile = self.stage.path("run/httpd.pid");
        stop_by_pidfile(&pidfile);
        RUNNING.lock().unwrap().retain(|p| p != &pidfile);
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body ended as framed (Content-Length reached or final chunk seen);
    /// false when the connection closed early.
    pub complete: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn read_line(s: &mut impl Read) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match s.read(&mut byte) {
            // A signal to the test process must not look like a closed connection.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Ok(0) | Err(_) => {
                return if line.is_empty() {
                    None
                } else {
                    Some(String::from_utf8_lossy(&line).into_owned())
                };
            }
            Ok(_) => {
                if byte[0] == b'\n' {
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return Some(String::from_utf8_lossy(&line).into_owned());
                }
                line.push(byte[0]);
            }
        }
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

/// GETs `path` (sent again if no response could be read) and returns the
/// `key=value` lines it answers with.
pub fn facts(server: &Server, path: &str) -> HashMap<String, String> {
    let r = server.get_retried(path);
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

/// The path of the stage's copy of tests/apps/`name`.
pub fn script(server: &Server, name: &str) -> String {
    server
        .stage
        .path(&format!("apps/{name}"))
        .display()
        .to_string()
}

/// One CRLF-terminated line from a raw connection, which must not close
/// before its end.
pub fn expect_line(s: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        assert_eq!(
            s.read(&mut byte).expect("read"),
            1,
            "connection closed mid-line after {line:?}"
        );
        if byte[0] == b'\n' {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return String::from_utf8_lossy(&line).into_owned();
        }
        line.push(byte[0]);
    }
}

/// One chunk of a chunked response body (empty: the final chunk).
pub fn read_chunk(s: &mut TcpStream) -> Vec<u8> {
    let size = usize::from_str_radix(expect_line(s).trim(), 16).unwrap();
    let mut data = vec![0; size];
    s.read_exact(&mut data).unwrap();
    assert_eq!(expect_line(s), "");
    data
}

/// Waits up to `timeout` for the file run/`name` a test application
/// writes (complete once it ends with a newline); returns its text.
pub fn wait_for_file(server: &Server, name: &str, timeout: Duration) -> String {
    let path = server.stage.path(&format!("run/{name}"));
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(&path)
            && text.ends_with('\n')
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "nothing written to run/{name} within {timeout:?}:\n{}",
            server.error_log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
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

/// Reads one HTTP/1.1 response (status, headers, body by its framing).
pub fn read_response(s: &mut TcpStream) -> Response {
    let status_line = read_line(s).expect("no response (connection closed)");
    let mut parts = status_line.splitn(3, ' ');
    let _version = parts.next();
    let status = parts
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let reason = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    while let Some(line) = read_line(s) {
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let mut resp = Response {
        status,
        reason,
        headers,
        body: Vec::new(),
        complete: false,
    };
    let chunked = resp
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let length: Option<usize> = resp.header("content-length").and_then(|v| v.parse().ok());
    if status == 304 || status == 204 || (100..200).contains(&status) {
        resp.complete = true;
    } else if chunked {
        while let Some(size_line) = read_line(s) {
            let size =
                usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16).unwrap_or(0);
            if size == 0 {
                // trailers
                while let Some(l) = read_line(s) {
                    if l.is_empty() {
                        break;
                    }
                }
                resp.complete = true;
                break;
            }
            let mut chunk = vec![0; size];
            if s.read_exact(&mut chunk).is_err() {
                break;
            }
            resp.body.extend_from_slice(&chunk);
            let _ = read_line(s);
        }
    } else if let Some(n) = length {
        let mut body = vec![0; n];
        let mut got = 0;
        while got < n {
            match s.read(&mut body[got..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Ok(0) | Err(_) => break,
                Ok(k) => got += k,
            }
        }
        body.truncate(got);
        resp.complete = got == n;
        resp.body = body;
    } else {
        let _ = s.read_to_end(&mut resp.body);
        resp.complete = true;
    }
    resp
}

/// A HEAD response has headers only: read them without expecting a body.
pub fn read_head_response(s: &mut TcpStream) -> Response {
    let status_line = read_line(s).expect("no response");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap();
    let mut headers = Vec::new();
    while let Some(line) = read_line(s) {
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    Response {
        status,
        reason: String::new(),
        headers,
        body: Vec::new(),
        complete: true,
    }
}

impl Server {
    /// The error log's current length: with `log_since`, what later
    /// requests wrote and nothing before.
    pub fn log_mark(&self) -> usize {
        self.error_log().len()
    }

    /// Waits until the error log written after `mark` contains `needle`;
    /// returns that part of the log.
    pub fn log_since(&self, mark: usize, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.error_log();
            let since = log.get(mark..).unwrap_or("").to_owned();
            if since.contains(needle) {
                return since;
            }
            if Instant::now() > deadline {
                panic!("error log never got {needle:?} after byte {mark}; it has:\n{since}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
