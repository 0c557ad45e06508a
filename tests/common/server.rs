//! A real Apache for one test: its generated configuration, start-up (on a
//! free port, tried again when another process takes the port first), the
//! error log, signals and stop. Servers run in their own session (setsid)
//! and are stopped by the pid in their PidFile, never by name.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use super::http::{Response, raw_request, read_response, try_read_response};
use super::stage::Stage;
use super::{Mpm, apache_binary, apache_modules_dir, is_root, poll};

/// A port nobody listens on now. Another process may take it before Apache
/// binds it: `Server::try_start` then tries another.
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
    /// Environment variables of the test removed from Apache's (before
    /// `env` is applied).
    pub env_remove: Vec<&'static str>,
    /// Start Apache itself as this user (as root only), with no `User`
    /// line: the stage then belongs to that user.
    pub run_as: Option<&'static str>,
    /// A whole configuration written elsewhere (mod_wsgi-express's), used
    /// instead of the generated one; `@PORT@` becomes the port. It must
    /// keep its PidFile at run/httpd.pid and its ErrorLog at error.log.
    pub full: Option<String>,
    /// Arguments for `apache2` after `-f FILE` (`-D NAME`, as an apachectl
    /// script passes them).
    pub args: Vec<String>,
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
            env_remove: Vec::new(),
            run_as: None,
            full: None,
            args: Vec::new(),
        }
    }

    pub fn render(&self, stage: &Stage, port: u16) -> String {
        if let Some(full) = &self.full {
            return full.replace("@PORT@", &port.to_string());
        }
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

/// Result of `apache2 -t`: Ok, or the error text Apache printed.
pub fn config_test(stage: &Stage, config: &Config) -> Result<String, String> {
    let conf = stage.write("httpd.conf", &config.render(stage, free_port()));
    let out = Command::new(apache_binary())
        .arg("-t")
        .arg("-f")
        .arg(&conf)
        .args(&config.args)
        .envs(config.env.iter().map(|(k, v)| (k, v)))
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

/// Servers still running when the test process exits are stopped by an
/// atexit handler (statics are never dropped).
static RUNNING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

extern "C" fn stop_all_at_exit() {
    // A panic must not unwind out of an extern "C" function.
    let _ = std::panic::catch_unwind(|| {
        for pidfile in wsgi::sync::lock(&RUNNING).iter() {
            stop_by_pidfile(pidfile);
        }
    });
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
    if poll(Duration::from_secs(15), || (!alive(pid)).then_some(())).is_none() {
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// How often start-up picks another port when Apache could not bind one.
const BIND_ATTEMPTS: usize = 5;

/// What one start-up attempt came to.
enum Launch {
    Up(i32),
    /// Another process took the port between `free_port` and Apache's bind.
    PortTaken(String),
    Failed(String),
}

/// Apache's "could not bind" (AH00072, "Address already in use").
fn port_taken(text: &str) -> bool {
    text.contains("AH00072") || text.contains("Address already in use")
}

pub struct Server {
    /// None only once `stop` has handed the stage back.
    stage: Option<Stage>,
    pub port: u16,
    pub conf: PathBuf,
    pub pid: i32,
    pidfile: PathBuf,
}

impl Server {
    /// Starts Apache; panics with Apache's own output if it does not start.
    /// The stage is kept (and its path printed) when Apache does not start.
    pub fn start(stage: Stage, config: &Config) -> Server {
        match Server::start_on(stage, config, std::iter::repeat_with(free_port)) {
            Ok(s) => s,
            // The stage is still alive while this panics, so it is kept.
            Err((e, _stage)) => panic!("apache did not start:\n{e}"),
        }
    }

    /// Starts Apache, on another port when the chosen one was taken before
    /// Apache bound it; Err with Apache's output and error log otherwise.
    pub fn try_start(stage: Stage, config: &Config) -> Result<Server, String> {
        Server::try_start_on(stage, config, std::iter::repeat_with(free_port))
    }

    /// `try_start` on the first of `ports` Apache can bind (at most
    /// BIND_ATTEMPTS of them).
    pub fn try_start_on(
        stage: Stage,
        config: &Config,
        ports: impl IntoIterator<Item = u16>,
    ) -> Result<Server, String> {
        // A start that fails where the test expects it: the stage goes.
        Server::start_on(stage, config, ports).map_err(|(e, _stage)| e)
    }

    /// `try_start_on`, handing the stage back with the error.
    fn start_on(
        stage: Stage,
        config: &Config,
        ports: impl IntoIterator<Item = u16>,
    ) -> Result<Server, (String, Stage)> {
        static REGISTER: std::sync::Once = std::sync::Once::new();
        // SAFETY: registering a plain extern "C" fn with atexit.
        REGISTER.call_once(|| unsafe {
            libc::atexit(stop_all_at_exit);
        });
        let pidfile = stage.path("run/httpd.pid");
        let mut taken = String::new();
        for port in ports.into_iter().take(BIND_ATTEMPTS) {
            match launch(&stage, config, port) {
                Launch::Up(pid) => {
                    wsgi::sync::lock(&RUNNING).push(pidfile.clone());
                    return Ok(Server {
                        conf: stage.path("httpd.conf"),
                        stage: Some(stage),
                        port,
                        pid,
                        pidfile,
                    });
                }
                Launch::PortTaken(text) => {
                    eprintln!("port {port} was taken before Apache bound it; trying another");
                    // The next attempt's log starts clean.
                    let _ = std::fs::remove_file(stage.path("error.log"));
                    let _ = std::fs::remove_file(&pidfile);
                    taken = text;
                }
                Launch::Failed(text) => return Err((text, stage)),
            }
        }
        Err((
            format!("no port could be bound in {BIND_ATTEMPTS} attempts; the last:\n{taken}"),
            stage,
        ))
    }

    pub fn stage(&self) -> &Stage {
        self.stage.as_ref().expect("the server's stage")
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.stage().path("error.log")).unwrap_or_default()
    }

    /// Waits until the error log contains `needle`; returns the log.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        poll(timeout, || {
            Some(self.error_log()).filter(|log| log.contains(needle))
        })
        .unwrap_or_else(|| {
            panic!(
                "error log never contained {needle:?}:\n{}",
                self.error_log()
            )
        })
    }

    /// The error log's current length: with `log_since`, what later
    /// requests wrote and nothing before.
    pub fn log_mark(&self) -> usize {
        self.error_log().len()
    }

    /// Waits until the error log written after `mark` contains `needle`;
    /// returns that part of the log.
    pub fn log_since(&self, mark: usize, needle: &str, timeout: Duration) -> String {
        let since = || self.error_log().get(mark..).unwrap_or("").to_owned();
        poll(timeout, || Some(since()).filter(|s| s.contains(needle))).unwrap_or_else(|| {
            panic!(
                "error log never got {needle:?} after byte {mark}; it has:\n{}",
                since()
            )
        })
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
        let headers: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (*k, v.as_bytes())).collect();
        self.raw(&raw_request(method, path, &headers, body, false))
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    /// A GET that may find no server (while it restarts, say): None when
    /// the connection is refused or closes without a response.
    pub fn try_get(&self, path: &str) -> Option<Response> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        s.write_all(&raw_request("GET", path, &[], b"", false))
            .ok()?;
        try_read_response(&mut s).ok()
    }

    pub fn post(&self, path: &str, body: &[u8]) -> Response {
        self.request("POST", path, &[], body)
    }

    /// Stops Apache (SIGTERM, by the PidFile) once no connection is open,
    /// and hands back the stage, for a look at what the server left.
    pub fn stop(mut self) -> Stage {
        self.wait_until_no_connections();
        let stage = self.stage.take().expect("the server's stage");
        drop(self);
        stage
    }

    /// Waits (up to 5 s) until no Apache process holds a TCP connection on
    /// the server's port. An ungraceful stop while a worker thread still
    /// holds one (a lingering close, say) can crash the event MPM child:
    /// httpd's close_worker_sockets() reads a socket whose pool the
    /// listener thread is freeing (seen in a core dump, with no module code
    /// on the stack). Tests that check the log after a stop wait first, so
    /// that what they find is this module's doing.
    pub fn wait_until_no_connections(&self) {
        poll(Duration::from_secs(5), || {
            (open_server_connections(self.port) == 0).then_some(())
        });
    }
}

/// One start-up attempt on `port`.
fn launch(stage: &Stage, config: &Config, port: u16) -> Launch {
    let conf = stage.write("httpd.conf", &config.render(stage, port));
    let pidfile = stage.path("run/httpd.pid");
    let log = || std::fs::read_to_string(stage.path("error.log")).unwrap_or_default();
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
    let mut command = Command::new("setsid");
    for name in &config.env_remove {
        command.env_remove(name);
    }
    let out = match command
        .args(&as_user)
        .arg(apache_binary())
        .arg("-f")
        .arg(&conf)
        .args(&config.args)
        .args(["-k", "start"])
        .envs(config.env.iter().map(|(k, v)| (k, v)))
        .output()
    {
        Ok(out) => out,
        Err(e) => return Launch::Failed(e.to_string()),
    };
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        let text = format!("{output}\n{}", log());
        return if port_taken(&text) {
            Launch::PortTaken(text)
        } else {
            Launch::Failed(text)
        };
    }
    // Up once the PidFile names a live parent and the port answers. The
    // PidFile is written after the listeners are bound, so whoever answers
    // then is this Apache.
    let up = poll(Duration::from_secs(20), || {
        let pid = read_pid(&pidfile)?;
        if !alive(pid) {
            return Some(Err(()));
        }
        TcpStream::connect(("127.0.0.1", port))
            .is_ok()
            .then_some(Ok(pid))
    });
    match up {
        Some(Ok(pid)) => Launch::Up(pid),
        Some(Err(())) if port_taken(&log()) => Launch::PortTaken(log()),
        _ => {
            // Not answering (or gone): make sure it is gone before the
            // stage is removed or kept.
            stop_by_pidfile(&pidfile);
            Launch::Failed(format!(
                "{output}\nserver not answering; error log:\n{}",
                log()
            ))
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop_by_pidfile(&self.pidfile);
        wsgi::sync::lock(&RUNNING).retain(|p| p != &self.pidfile);
    }
}

/// Waits up to `timeout` for the file run/`name` a test application
/// writes (complete once it ends with a newline); returns its text.
pub fn wait_for_file(server: &Server, name: &str, timeout: Duration) -> String {
    let path = server.stage().path(&format!("run/{name}"));
    poll(timeout, || {
        std::fs::read_to_string(&path)
            .ok()
            .filter(|text| text.ends_with('\n'))
    })
    .unwrap_or_else(|| {
        panic!(
            "nothing written to run/{name} within {timeout:?}:\n{}",
            server.error_log()
        )
    })
}
