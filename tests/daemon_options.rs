//! The daemon options that shape a daemon process itself, each through a
//! real Apache as mod_wsgi 6.1.1 gives them effect: `stack-size`,
//! `cpu-priority`, `virtual-memory-limit`, `chroot`, `script-user`,
//! `script-group` and `eviction-timeout`; and their bad values, which fail
//! configtest on their line.

mod common;
mod daemon_support;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use daemon_support::*;

fn facts_of(server: &Server, path: &str) -> HashMap<String, String> {
    let r = get_ok(server, path);
    key_values(&r)
}

fn default_thread_stack() -> u64 {
    // SAFETY: rlimit is plain data that getrlimit fills.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to an rlimit.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut limit) },
        0
    );
    if limit.rlim_cur == libc::RLIM_INFINITY {
        2 << 20
    } else {
        limit.rlim_cur
    }
}

/// `stack-size`, `cpu-priority` and `virtual-memory-limit` as the
/// application sees them, next to a group without them: the worker
/// thread's stack, the process's nice value, RLIMIT_AS, and an allocation
/// past the limit that raises MemoryError while the daemon goes on.
fn process_options_take_effect(mpm: Mpm) {
    const LIMIT: u64 = 1 << 30;
    let server = Server::start(
        Stage::new("daemon-process-options"),
        &Config::new(
            mpm,
            &format!(
                "WSGISocketPrefix @STAGE@/run/wsgi
WSGIDaemonProcess tuned threads=2 stack-size=524288 cpu-priority=7 virtual-memory-limit={LIMIT}
WSGIDaemonProcess plain threads=2
WSGIScriptAlias /tuned @STAGE@/apps/daemon_options.wsgi process-group=tuned
WSGIScriptAlias /plain @STAGE@/apps/daemon_options.wsgi process-group=plain
"
            ),
        ),
    );
    let tuned = facts_of(&server, "/tuned/facts");
    let plain = facts_of(&server, "/plain/facts");
    assert_eq!(fact(&tuned, "nice"), "7");
    assert_eq!(fact(&plain, "nice"), "0");
    assert_eq!(fact(&tuned, "as_soft"), LIMIT.to_string());
    assert_eq!(fact(&tuned, "as_hard"), LIMIT.to_string());
    // RLIM_INFINITY, as Python reports it.
    assert_eq!(fact(&plain, "as_soft"), "-1");

    let stack = |path: &str| -> u64 {
        let r = get_ok(&server, path);
        fact(&key_values(&r), "stack").parse().unwrap()
    };
    assert_eq!(stack("/tuned/stack"), 524_288);
    // Without it, the C library's default, as mod_wsgi's threads get (the
    // soft RLIMIT_STACK Apache inherited from this test, or 2 MiB).
    assert_eq!(stack("/plain/stack"), default_thread_stack());

    let pid = fact(&tuned, "pid").to_owned();
    let allocate = |bytes: u64| server.get(&format!("/tuned/allocate?{bytes}")).text();
    assert_eq!(allocate(2 * LIMIT), "MemoryError");
    assert_eq!(allocate(1 << 20), "allocated");
    assert_eq!(
        server.get("/plain/allocate?2147483648").text(),
        "allocated",
        "without the limit the same allocation succeeds"
    );
    assert_eq!(
        fact(&facts_of(&server, "/tuned/facts"), "pid"),
        pid,
        "the daemon survived the failed allocation"
    );
    assert!(!server.error_log().contains("WSGIRS0319"));
    assert!(!server.error_log().contains("WSGIRS0321"));
}

/// Unprivileged, a negative nice value cannot be set: mod_wsgi's warning,
/// and the daemon serves at the default priority.
fn a_priority_that_cannot_be_set_is_a_warning(mpm: Mpm) {
    if !is_root() {
        return;
    }
    let mut config = Config::new(
        mpm,
        "WSGISocketPrefix @STAGE@/run/wsgi
WSGIDaemonProcess site threads=1 cpu-priority=-5
WSGIScriptAlias /site @STAGE@/apps/daemon_options.wsgi process-group=site
",
    );
    config.run_as = Some("www-data");
    let server = Server::start(Stage::new("daemon-priority-unprivileged"), &config);
    assert_eq!(fact(&facts_of(&server, "/site/facts"), "nice"), "0");
    let log = server.wait_for_log("WSGIRS0319", Duration::from_secs(10));
    assert!(
        log.contains(
            "Unable to set CPU priority of -5 for daemon process 'site'; daemon will run with default priority"
        ),
        "{log}"
    );
}

fn chown(path: &Path, owner: &str) {
    let status = Command::new("chown").arg(owner).arg(path).status().unwrap();
    assert!(status.success(), "chown {owner} {}", path.display());
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `script-user` and `script-group`: the Apache child runs only scripts
/// (in directories) that belong to the named user or group and that others
/// cannot change, and refuses the rest with 403 and mod_wsgi's reason.
fn script_owner_options_refuse_other_scripts(mpm: Mpm) {
    if !is_root() {
        return;
    }
    let stage = Stage::new("daemon-script-owner");
    let app = std::fs::read_to_string(stage.path("apps/daemon_options.wsgi")).unwrap();
    for dir in ["owned", "owned-shared"] {
        stage.write(&format!("{dir}/app.wsgi"), &app);
        stage.write(&format!("{dir}/shared.wsgi"), &app);
        chown(&stage.path(dir), "www-data:www-data");
        chown(&stage.path(&format!("{dir}/app.wsgi")), "www-data:www-data");
        chown(
            &stage.path(&format!("{dir}/shared.wsgi")),
            "www-data:www-data",
        );
        chmod(&stage.path(&format!("{dir}/shared.wsgi")), 0o664);
    }
    chmod(&stage.path("owned-shared"), 0o775);
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGISocketPrefix @STAGE@/run/wsgi
WSGIDaemonProcess by-user threads=1 script-user=www-data
WSGIDaemonProcess by-uid threads=1 script-user=#33
WSGIDaemonProcess by-group threads=1 script-group=www-data
<Directory @STAGE@/owned>
  Require all granted
</Directory>
<Directory @STAGE@/owned-shared>
  Require all granted
</Directory>
WSGIScriptAlias /user/ok @STAGE@/owned/app.wsgi process-group=by-user
WSGIScriptAlias /uid/ok @STAGE@/owned/app.wsgi process-group=by-uid
WSGIScriptAlias /user/root @STAGE@/apps/daemon_options.wsgi process-group=by-user
WSGIScriptAlias /user/group-writable @STAGE@/owned/shared.wsgi process-group=by-user
WSGIScriptAlias /user/dir-group-writable @STAGE@/owned-shared/app.wsgi process-group=by-user
WSGIScriptAlias /group/ok @STAGE@/owned/app.wsgi process-group=by-group
WSGIScriptAlias /group/group-writable @STAGE@/owned-shared/shared.wsgi process-group=by-group
WSGIScriptAlias /group/root @STAGE@/apps/daemon_options.wsgi process-group=by-group
",
        ),
    );
    for ok in ["/user/ok", "/uid/ok", "/group/ok", "/group/group-writable"] {
        let r = server.get(&format!("{ok}/facts"));
        assert_eq!(r.status, 200, "{ok}: {}\n{}", r.text(), server.error_log());
    }
    for (path, group, reason) in [
        (
            "/user/root",
            "by-user",
            "WSGI script file owner 'root' does not match user required for daemon process.",
        ),
        (
            "/user/group-writable",
            "by-user",
            "WSGI script file is writable to group.",
        ),
        (
            "/user/dir-group-writable",
            "by-user",
            "Parent directory of WSGI script file is writable to group.",
        ),
        (
            "/group/root",
            "by-group",
            "WSGI script file group 'root' does not match group required for daemon process.",
        ),
    ] {
        let mark = server.log_mark();
        let r = server.get(&format!("{path}/facts"));
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        let log = server.log_since(mark, reason, Duration::from_secs(10));
        let line = log.lines().find(|l| l.contains(reason)).unwrap();
        assert!(
            line.contains("WSGIRS0322") && line.contains(&format!("group='{group}'")),
            "{path}: {line}"
        );
    }
    // World-writable is refused for both.
    chmod(&server.stage().path("owned/app.wsgi"), 0o646);
    for path in ["/user/ok", "/group/ok"] {
        assert_eq!(server.get(&format!("{path}/facts")).status, 403, "{path}");
    }
    assert!(
        server
            .error_log()
            .contains("WSGI script file is writable to world.")
    );
}

/// Hard links (or copies) of what Python needs to start, under `root`.
fn python_tree(root: &Path) {
    let version = format!(
        "python3.{}",
        String::from_utf8(
            Command::new("/usr/bin/python3")
                .args(["-c", "import sys; print(sys.version_info[1])"])
                .output()
                .unwrap()
                .stdout
        )
        .unwrap()
        .trim()
    );
    std::fs::create_dir_all(root.join("usr/lib")).unwrap();
    let source = format!("/usr/lib/{version}");
    let target = root.join("usr/lib");
    let linked = Command::new("cp")
        .args(["-al", &source])
        .arg(&target)
        .status()
        .unwrap()
        .success();
    if !linked {
        assert!(
            Command::new("cp")
                .args(["-a", &source])
                .arg(&target)
                .status()
                .unwrap()
                .success()
        );
    }
    std::fs::create_dir_all(root.join("etc")).unwrap();
    for file in ["passwd", "group"] {
        std::fs::copy(format!("/etc/{file}"), root.join("etc").join(file)).unwrap();
    }
}

/// `chroot`: the daemon runs inside the directory, sees the script and
/// DOCUMENT_ROOT by their paths there, and refuses a script outside it
/// with 500 (mod_wsgi's message).
fn chroot_runs_the_daemon_inside_its_root(mpm: Mpm) {
    if !is_root() {
        return;
    }
    let stage = Stage::new("daemon-chroot");
    let jail = stage.path("jail");
    python_tree(&jail);
    let app = std::fs::read_to_string(stage.path("apps/daemon_options.wsgi")).unwrap();
    stage.write("jail/srv/app.wsgi", &app);
    stage.write("jail/www/index.html", "static\n");
    // A python-home that exists only inside the root: looked for there.
    std::os::unix::fs::symlink("usr", jail.join("py")).unwrap();
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGISocketPrefix @STAGE@/run/wsgi
DocumentRoot @STAGE@/jail/www
WSGIDaemonProcess jailed threads=2 python-home=/py chroot=@STAGE@/jail
<Directory @STAGE@/jail/srv>
  Require all granted
</Directory>
WSGIScriptAlias /jailed @STAGE@/jail/srv/app.wsgi process-group=jailed
WSGIScriptAlias /outside @STAGE@/apps/daemon_options.wsgi process-group=jailed
",
        ),
    );
    let facts = facts_of(&server, "/jailed/facts");
    assert_eq!(fact(&facts, "file"), "/srv/app.wsgi");
    assert_eq!(fact(&facts, "script_filename"), "/srv/app.wsgi");
    assert_eq!(fact(&facts, "document_root"), "/www");
    assert_eq!(fact(&facts, "root_entries"), "etc,py,srv,usr,www");
    assert_eq!(fact(&facts, "prefix"), "/py");

    let mark = server.log_mark();
    let r = server.get("/outside/facts");
    assert_eq!(r.status, 500, "{}", r.text());
    let log = server.log_since(mark, "WSGIRS0323", Duration::from_secs(10));
    let script = server.stage().path("apps/daemon_options.wsgi");
    assert!(
        log.contains(&format!(
            "WSGI script '{}' is not located within chroot directory",
            script.display()
        )),
        "{log}"
    );
    // The daemon goes on serving.
    assert_eq!(
        fact(&facts_of(&server, "/jailed/facts"), "pid"),
        fact(&facts, "pid")
    );
}

/// `eviction-timeout`: Apache's graceful signal (SIGUSR1) to a daemon stops
/// it gracefully giving requests in flight eviction-timeout, not
/// graceful-timeout; without it the same signal gives graceful-timeout.
fn eviction_timeout_replaces_graceful_timeout(mpm: Mpm) {
    let server = Server::start(
        Stage::new("daemon-eviction"),
        &Config::new(
            mpm,
            "WSGISocketPrefix @STAGE@/run/wsgi
WSGIDaemonProcess evicted display-name=%{GROUP} threads=2 graceful-timeout=1 eviction-timeout=30
WSGIDaemonProcess graceful display-name=%{GROUP} threads=2 graceful-timeout=1
WSGIScriptAlias /evicted @STAGE@/apps/daemon_app.wsgi process-group=evicted
WSGIScriptAlias /graceful @STAGE@/apps/daemon_app.wsgi process-group=graceful
",
        ),
    );
    let run = |group: &str| {
        let before = wait_for_daemons(&server, group, 1)[0];
        let name = format!("{group}-slow");
        let request = {
            let port = server.port;
            let path = format!("/{group}/slow?4-{name}");
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                use std::io::Write;
                s.write_all(&simple_request("GET", &path, false)).unwrap();
                try_read_response(&mut s)
            })
        };
        wait_for_file(&server, &format!("started-{name}"), Duration::from_secs(10));
        signal(before, libc::SIGUSR1);
        let response = request.join().unwrap();
        let after = wait_until(Duration::from_secs(20), "a new daemon", || {
            daemon_pids(&server, group)
                .into_iter()
                .find(|p| *p != before)
        });
        assert!(!alive(before));
        (response, before, after)
    };
    let (response, pid, idle) = run("evicted");
    let response = response.expect("the evicted request completes");
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), format!("slept 4 in {pid}"));
    let log = server.error_log();
    assert!(
        log.contains(
            "Process eviction requested; waiting up to 30 s for in-flight requests to complete in daemon process 'evicted'."
        ) && log.contains("WSGIRS0324"),
        "{log}"
    );

    // An idle daemon goes at once (mod_wsgi's "triggering immediate
    // shutdown"), and is replaced, long before eviction-timeout (30 s).
    // (Once it serves: until it blocks the signal, SIGUSR1 would simply
    // kill it.) The request that showed it serves may still be finishing
    // in the daemon when its response reached us, as under mod_wsgi: then
    // the daemon says it waits, and goes as soon as that request is done.
    assert_eq!(pid_of(&server.get("/evicted/pid")), idle);
    let mark = server.log_mark();
    signal(idle, libc::SIGUSR1);
    server.log_since(
        mark,
        ": WSGIRS0324: Process eviction requested;",
        Duration::from_secs(10),
    );
    wait_until(Duration::from_secs(10), "the idle daemon replaced", || {
        daemon_pids(&server, "evicted")
            .into_iter()
            .find(|p| *p != idle)
    });
    assert!(!alive(idle));

    // graceful-timeout (1 s) cuts the same request short without it.
    let (response, _, _) = run("graceful");
    assert!(
        response.map_or(true, |r| r.status != 200),
        "{}",
        server.error_log()
    );
}

under_event_and_prefork!(
    process_options_take_effect,
    script_owner_options_refuse_other_scripts
);

mod event_only {
    use super::*;

    #[test]
    fn a_priority_that_cannot_be_set_is_a_warning() {
        super::a_priority_that_cannot_be_set_is_a_warning(Mpm::Event)
    }

    #[test]
    fn chroot_runs_the_daemon_inside_its_root() {
        super::chroot_runs_the_daemon_inside_its_root(Mpm::Event)
    }

    #[test]
    fn eviction_timeout_replaces_graceful_timeout() {
        super::eviction_timeout_replaces_graceful_timeout(Mpm::Event)
    }

    #[test]
    fn bad_values_fail_configtest_on_their_line() {
        super::bad_values_fail_configtest_on_their_line(Mpm::Event)
    }

    #[test]
    fn home_is_first_on_every_interpreter_s_path() {
        super::home_is_first_on_every_interpreter_s_path(Mpm::Event)
    }
}

const HOME_PATH_APP: &str = "\
import os, sys
def application(environ, start_response):
    try:
        import homemod
        found = homemod.WHERE
    except ImportError:
        found = 'no'
    lib = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'lib')
    lines = ['first=' + sys.path[0], 'found=' + found, 'cwd=' + os.getcwd(),
             'lib_after=%s' % (sys.path.index(lib) > 0 if lib in sys.path else 'absent')]
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('\\n'.join(lines) + '\\n').encode()]
";

/// As mod_wsgi 6 (newInterpreterObject): a daemon's `home=` is put first on
/// `sys.path`, after `python-path=`, in the main interpreter and in every
/// sub-interpreter, so that a module beside the application imports; a
/// group without `home=` gets nothing (its working directory, the user's
/// home, is not put on the path).
fn home_is_first_on_every_interpreter_s_path(mpm: Mpm) {
    let stage = Stage::new("daemon-home-path");
    stage.write("apps/home_path.wsgi", HOME_PATH_APP);
    stage.write("site/homemod.py", "WHERE = 'site'\n");
    stage.write("lib/placeholder.txt", "");
    let config = Config::new(
        mpm,
        "WSGISocketPrefix @STAGE@/run/wsgi\n\
         WSGIDaemonProcess homed threads=1 home=@STAGE@/site python-path=@STAGE@/lib\n\
         WSGIDaemonProcess plain threads=1 python-path=@STAGE@/lib\n\
         WSGIScriptAlias /homed @STAGE@/apps/home_path.wsgi process-group=homed application-group=%{GLOBAL}\n\
         WSGIScriptAlias /homed-sub @STAGE@/apps/home_path.wsgi process-group=homed application-group=sub\n\
         WSGIScriptAlias /plain @STAGE@/apps/home_path.wsgi process-group=plain application-group=%{GLOBAL}\n",
    );
    let server = Server::start(stage, &config);
    let site = server.stage().path("site").display().to_string();
    for path in ["/homed", "/homed-sub"] {
        let facts = facts_of(&server, path);
        assert_eq!(fact(&facts, "first"), site, "{path}");
        assert_eq!(fact(&facts, "found"), "site", "{path}");
        assert_eq!(fact(&facts, "cwd"), site, "{path}");
        assert_eq!(fact(&facts, "lib_after"), "True", "{path}");
    }
    let facts = facts_of(&server, "/plain");
    assert_ne!(fact(&facts, "first"), site);
    assert_eq!(fact(&facts, "found"), "no");
    assert_no_crash(&server.error_log());
}

/// Each option's bad value fails `apache2 -t` on the WSGIDaemonProcess
/// line, with what is wrong.
fn bad_values_fail_configtest_on_their_line(mpm: Mpm) {
    let stage = Stage::new("daemon-options-bad-values");
    let mut cases = vec![
        ("stack-size=0", "stack-size must be at least 1"),
        ("stack-size=big", "invalid value 'big' for stack-size"),
        ("cpu-priority=high", "invalid value 'high' for cpu-priority"),
        (
            "virtual-memory-limit=-1",
            "invalid value '-1' for virtual-memory-limit",
        ),
        ("chroot=jail", "invalid chroot directory 'jail'"),
        (
            "eviction-timeout=soon",
            "invalid value 'soon' for eviction-timeout",
        ),
        (
            "script-user=www-data script-group=www-data",
            "only one of script-user and script-group is allowed",
        ),
        (
            "script-user=no-such-user-here",
            "the script-user 'no-such-user-here' of the daemon process group 'site' does not exist",
        ),
        (
            "script-group=no-such-group-here",
            "the script-group 'no-such-group-here' of the daemon process group 'site' does not exist",
        ),
        (
            "script-user=#987654",
            "the script-user '#987654' of the daemon process group 'site' does not exist",
        ),
        (
            "script-group=#987654",
            "the script-group '#987654' of the daemon process group 'site' does not exist",
        ),
    ];
    if !is_root() {
        cases.push((
            "chroot=/srv",
            "cannot chroot the daemon process group 'site' when Apache does not start as root",
        ));
    }
    for (options, needle) in cases {
        let config = Config::new(mpm, &format!("WSGIDaemonProcess site {options}\n"));
        assert_configtest_fails(&stage, &config, "WSGIDaemonProcess", &[needle]);
    }
}
