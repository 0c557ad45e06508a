//! Helpers shared by the daemon-mode tests (tests/daemon*.rs):
//! configurations with a daemon group whose socket is in the stage's run/
//! directory, finding the daemon processes, the facts
//! tests/apps/daemon_app.wsgi reports, the deterministic stream of the
//! size tests, and checks of the module's log lines.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use crate::common::{Config, Mpm, Response, Server, Stage, get_ok, wait_until};

/// The daemon processes get this title (`display-name=%{GROUP}`), so that
/// a test can tell them from Apache's children in /proc.
pub fn title(group: &str) -> String {
    format!("(wsgi:{group})")
}

/// A configuration with the daemon group `site` (`options` added to its
/// WSGIDaemonProcess line), its socket under the stage's run/ directory and
/// /app routed to tests/apps/daemon_app.wsgi in it; `extra` follows.
pub fn config(mpm: Mpm, options: &str, extra: &str) -> Config {
    Config::new(
        mpm,
        &format!(
            "WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess site display-name=%{{GROUP}} {options}\n\
             WSGIScriptAlias /app @STAGE@/apps/daemon_app.wsgi process-group=site\n{extra}"
        ),
    )
}

pub fn start(mpm: Mpm, name: &str, options: &str, extra: &str) -> Server {
    Server::start(Stage::new(name), &config(mpm, options, extra))
}

/// `key=value` lines, as /app/info writes them.
/// The pid of the daemon that answers /app/pid.
pub fn get_pid(server: &Server) -> i32 {
    pid_of(&server.get("/app/pid"))
}

/// GETs `path` of tests/apps/daemon_app.wsgi, which must answer 200 and end
/// its answer with the serving daemon's pid ("PID", "slept 0.1 in PID").
pub fn served_pid(server: &Server, path: &str) -> i32 {
    let r = get_ok(server, path);
    r.text().rsplit(' ').next().unwrap().parse().unwrap()
}

/// The pid of the daemon that served a request whose answer is its pid
/// alone, like /app/pid.
pub fn pid_of(r: &Response) -> i32 {
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a pid: {:?}", r.text()))
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The parent pid of `pid`, from /proc.
pub fn parent_of(pid: i32) -> Option<i32> {
    let stat = read(PathBuf::from(format!("/proc/{pid}/stat")));
    // pid (comm) state ppid ...: comm may contain spaces, so split after ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The processes whose parent is `parent`.
pub fn children_of(parent: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>()
            && parent_of(pid) == Some(parent)
        {
            out.push(pid);
        }
    }
    out.sort_unstable();
    out
}

pub fn comm(pid: i32) -> String {
    read(PathBuf::from(format!("/proc/{pid}/comm")))
        .trim()
        .to_owned()
}

/// The live daemon processes of `group` under the server (by their title).
pub fn daemon_pids(server: &Server, group: &str) -> Vec<i32> {
    let title = title(group);
    children_of(server.pid)
        .into_iter()
        .filter(|p| comm(*p) == title && !is_zombie(*p))
        .collect()
}

/// Waits until `group` has `n` live daemons (each sets its title early in
/// its start-up, so right after Apache starts some may not show yet).
pub fn wait_for_daemons(server: &Server, group: &str, n: usize) -> Vec<i32> {
    wait_until(
        Duration::from_secs(10),
        &format!("{n} daemons of {group}"),
        || {
            let pids = daemon_pids(server, group);
            (pids.len() == n).then_some(pids)
        },
    )
}

/// Apache's own children (not daemons) under the server.
pub fn apache_children(server: &Server) -> Vec<i32> {
    children_of(server.pid)
        .into_iter()
        .filter(|p| !comm(*p).starts_with("(wsgi:") && !is_zombie(*p))
        .collect()
}

/// The state letter of /proc/<pid>/stat (or of a task's stat file).
fn state_in(stat_file: PathBuf) -> Option<String> {
    let stat = read(stat_file);
    let i = stat.rfind(')')?;
    stat[i + 1..].split_whitespace().next().map(str::to_owned)
}

pub fn is_zombie(pid: i32) -> bool {
    state_in(PathBuf::from(format!("/proc/{pid}/stat"))).is_none_or(|s| s == "Z")
}

/// Stops a process with SIGSTOP and waits until every one of its threads
/// has stopped. kill() returns before the stop takes effect: a worker thread
/// that a request wakes first could still answer it on a busy machine.
pub fn stop_process(pid: i32) {
    signal(pid, libc::SIGSTOP);
    let tasks = PathBuf::from(format!("/proc/{pid}/task"));
    let all_stopped = || {
        std::fs::read_dir(&tasks).is_ok_and(|entries| {
            entries.flatten().all(|task| {
                state_in(task.path().join("stat")).is_some_and(|s| s == "T" || s == "t")
            })
        })
    };
    wait_until(Duration::from_secs(10), "the process to stop", || {
        all_stopped().then_some(())
    });
}

pub fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let exists = unsafe { libc::kill(pid, 0) == 0 };
    exists && !is_zombie(pid)
}

pub fn signal(pid: i32, sig: i32) {
    // SAFETY: a plain kill of a process this test started (through Apache).
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill({pid}, {sig})");
}

/// A field of /proc/<pid>/status in kB (e.g. VmRSS).
pub fn status_kb(pid: i32, field: &str) -> Option<u64> {
    read(PathBuf::from(format!("/proc/{pid}/status")))
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A counter of /proc/<pid>/io (rchar, wchar, ...).
pub fn io_counter(pid: i32, field: &str) -> u64 {
    read(PathBuf::from(format!("/proc/{pid}/io")))
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/io"))
}

/// Socket files under the stage's run/ directory.
pub fn socket_files(server: &Server) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(server.stage().path("run"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sock"))
        .collect();
    out.sort();
    out
}

/// The socket path of `group`, as
/// src/daemon/mod.rs names it `PREFIX.PID.ROTATION.HASH.sock`, where
/// ROTATION depends on `WSGISocketRotation`: found by the parent's pid and
/// the group's hash.
pub fn socket_path(server: &Server, group: &str) -> PathBuf {
    let hash = wsgi::fnv::fnv1a(group.as_bytes());
    let (head, tail) = (format!("wsgi.{}.", server.pid), format!(".{hash:08x}.sock"));
    let run = server.stage().path("run");
    wait_until(WAIT, &format!("the socket of group {group}"), || {
        std::fs::read_dir(&run).ok()?.flatten().find_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            (name.starts_with(&head) && name.ends_with(&tail)).then(|| entry.path())
        })
    })
}

/// How many lines of the error log carry message `id`.
pub fn count(log: &str, id: &str) -> usize {
    log.lines()
        .filter(|l| l.contains(&format!(": {id}: ")))
        .count()
}

/// Every line the module wrote with a message id has the module's shape,
/// and those about daemons name a group (`group` for the ones of this test's
/// requests) and the daemon's pid. (An exception's text in a traceback may
/// quote an id too: those lines are Python's.)
pub fn assert_lines_well_formed(log: &str, group: &str) {
    for line in log
        .lines()
        .filter(|l| l.contains("): WSGIRS") || l.contains("WSGIRS03"))
    {
        assert!(line.contains("mod_wsgi_rs (pid="), "malformed line: {line}");
        let id = &line[line.find("WSGIRS").unwrap()..][..10];
        if id.starts_with("WSGIRS03") && !["WSGIRS0315", "WSGIRS0316"].contains(&id) {
            assert!(line.contains("group='"), "no group in: {line}");
        }
        if ["WSGIRS0305", "WSGIRS0306", "WSGIRS0309", "WSGIRS0310"].contains(&id) {
            assert!(
                line.contains(&format!("group='{group}'")),
                "not group {group}: {line}"
            );
        }
        if [
            "WSGIRS0302",
            "WSGIRS0303",
            "WSGIRS0305",
            "WSGIRS0306",
            "WSGIRS0309",
            "WSGIRS0310",
            "WSGIRS0311",
            "WSGIRS0312",
            "WSGIRS0313",
            "WSGIRS0314",
        ]
        .contains(&id)
        {
            assert!(line.contains("daemon pid="), "no daemon pid in: {line}");
        }
    }
}

// The deterministic stream of the size tests: 64 KiB blocks, each its index
// (8 bytes, little-endian) followed by a fixed xorshift64 block, as
// block() in daemon_app.wsgi makes them.

pub const BLOCK: usize = 65536;

pub fn base_block() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(BLOCK);
    for _ in 0..BLOCK / 8 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

pub fn fill_block(base: &[u8], index: u64, out: &mut [u8]) {
    out.copy_from_slice(base);
    out[..8].copy_from_slice(&index.to_le_bytes());
}

/// The inode of the listening UNIX socket bound at `path` (/proc/net/unix).
pub fn socket_inode(path: &std::path::Path) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/unix").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.len() >= 8 && std::path::Path::new(fields[7]) == path)
            .then(|| fields[6].parse().ok())?
    })
}

/// Whether process `pid` has the socket of inode `inode` open.
pub fn holds_socket(pid: i32, inode: u64) -> bool {
    let target = format!("socket:[{inode}]");
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.flatten()
                .any(|e| std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy() == target))
        })
        .unwrap_or(false)
}

/// How long the tests wait for things that normally take well under a second.
pub const WAIT: Duration = Duration::from_secs(10);

/// `path` asked for as `host` answers 200 from the process group `group`
/// (as `mod_wsgi.process_group` reports it, quoted: `'site'`, `''`).
pub fn assert_process_group(server: &Server, host: &str, path: &str, group: &str) {
    let r = server.request("GET", path, &[("Host", host)], b"");
    assert_eq!(
        r.status,
        200,
        "{host}{path}: {}\n{}",
        r.text(),
        server.error_log()
    );
    assert_eq!(
        crate::common::fact(&crate::common::key_values(&r), "mod_wsgi.process_group"),
        group,
        "{host}{path}"
    );
}

/// Runs tests/apps/daemon_client.py (a raw speaker of the daemon channel)
/// with `args`, as `user` when given (through runuser), else as the tests'
/// own user; asserts it ran and returns the line it printed.
pub fn daemon_client(server: &Server, user: Option<&str>, args: &[&std::ffi::OsStr]) -> String {
    let client = server.stage().path("apps/daemon_client.py");
    let mut command = match user {
        Some(user) => {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", user, "--", "/usr/bin/python3"]);
            c
        }
        None => std::process::Command::new("/usr/bin/python3"),
    };
    let out = command.arg(&client).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}
