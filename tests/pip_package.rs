//! The pip package, as a user gets it: `pip install` of a copy of the
//! repository's tracked files (a clean clone), and of the sdist built from
//! it, into a virtual environment of Debian's Python; then the commands
//! that hand the module to a system Apache (module-location, module-config,
//! install-module) through the `mod_wsgi_rs-express` console script, with
//! module-config's lines loaded into a harness Apache that serves from the
//! venv in embedded and daemon mode; and the venv's `start-server SCRIPT`
//! serving in daemon mode.
//!
//! The builds share one cargo target directory, target/pip-package (not
//! target/release, whose module the other tests load while these run), so
//! only the first run on a machine compiles the dependencies; each later
//! build compiles the two crates of the copy (a minute of CPU; this file
//! took 3 to 5 minutes on a loaded 2-core machine, 4 more on the first run).
//! Needs PyPI (pip's build isolation fetches setuptools and
//! setuptools-rust; the sdist is made with `build`).

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use common::*;

/// One pip build at a time: they share the target directory, and a build
/// must not replace the module another has yet to copy.
static PIP_BUILDS: Mutex<()> = Mutex::new(());

const HELLO: &str = r#"
import os
import sys

import mod_wsgi_rs


def application(environ, start_response):
    facts = {
        "prefix": sys.prefix,
        "package": mod_wsgi_rs.__file__,
        "version": mod_wsgi_rs.__version__,
        "group": environ.get("mod_wsgi.process_group"),
        "pid": os.getpid(),
    }
    body = "".join("%s=%s\n" % item for item in facts.items()).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
"#;

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `command`, which must succeed; returns its stdout.
fn run(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}",
        output_text(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A copy of the repository's tracked files (as `git clone` would give,
/// with the working tree's content) at `rel` in the stage. Where the
/// repository is no git checkout (the test image's copy, which
/// .dockerignore made without .git/ and target/), the tree without what
/// .gitignore leaves out.
fn clone_into(stage: &Stage, rel: &str) -> PathBuf {
    let to = stage.path(rel);
    for file in tracked_files(&repo_dir()) {
        let from = repo_dir().join(&file);
        // A tracked file deleted in the working tree is not in a clone of it.
        if from.is_file() {
            std::fs::create_dir_all(to.join(&file).parent().unwrap()).unwrap();
            std::fs::copy(&from, to.join(&file)).unwrap();
        }
    }
    to
}

fn tracked_files(repo: &Path) -> Vec<PathBuf> {
    if repo.join(".git").exists() {
        let listed = run(Command::new("git")
            .args(["ls-files", "-z"])
            .current_dir(repo));
        return listed
            .split('\0')
            .filter(|f| !f.is_empty())
            .map(PathBuf::from)
            .collect();
    }
    let ignored = |rel: &Path| {
        let name = rel.file_name().unwrap().to_string_lossy();
        let top = rel.components().count() == 1;
        name == "target"
            || name == "__pycache__"
            || name.ends_with(".egg-info")
            || (top && (name == "build" || name == "dist"))
    };
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(repo.join(&dir)).unwrap() {
            let rel = dir.join(entry.unwrap().file_name());
            if ignored(&rel) {
                continue;
            }
            if repo.join(&rel).is_dir() {
                pending.push(rel);
            } else {
                found.push(rel);
            }
        }
    }
    found
}

/// A fresh virtual environment of Debian's Python at `rel` in the stage.
fn venv(stage: &Stage, rel: &str) -> PathBuf {
    let dir = stage.path(rel);
    run(Command::new("/usr/bin/python3")
        .args(["-m", "venv"])
        .arg(&dir));
    dir
}

/// The cargo target directory the builds share (see the top).
fn pip_target_dir() -> PathBuf {
    repo_dir().join("target/pip-package")
}

/// `pip install` of `what` into `venv`, as a user runs it (build isolation,
/// no wheel cache), with the shared cargo target directory.
fn pip_install(venv: &Path, what: &Path) -> Output {
    let _one_at_a_time = wsgi::sync::lock(&PIP_BUILDS);
    pip_install_command(venv, what).output().expect("run pip")
}

fn pip_install_command(venv: &Path, what: &Path) -> Command {
    let mut pip = Command::new(venv.join("bin/pip"));
    pip.args([
        "install",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "-v",
    ])
    .arg(what)
    .env("CARGO_TARGET_DIR", repo_dir().join("target/pip-package"))
    // setup.py chooses the Python; a jobserver of the test's cargo is
    // not this build's.
    .env_remove("PYO3_PYTHON")
    .env_remove("MAKEFLAGS")
    .env_remove("CARGO_MAKEFLAGS");
    pip
}

/// `mod_wsgi_rs-express ARGS` of `venv` (the console script pip wrote).
fn express(venv: &Path, args: &[&str]) -> String {
    run(Command::new(venv.join("bin/mod_wsgi_rs-express"))
        .args(args)
        .env_remove("MOD_WSGI_RS_MODULE"))
}

/// What `venv`'s Python says for `expression`.
fn python_says(venv: &Path, expression: &str) -> String {
    run(Command::new(venv.join("bin/python")).args(["-c", &format!("print({expression})")]))
        .trim()
        .to_owned()
}

/// A `mod_wsgi_rs-express start-server` the test spawned (in its own
/// process group), stopped by its pid when dropped.
struct StartServer(Child);

impl Drop for StartServer {
    fn drop(&mut self) {
        // SAFETY: a signal to the pid this test spawned.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        if poll(Duration::from_secs(15), || self.0.try_wait().unwrap()).is_none() {
            // SAFETY: as above.
            unsafe { libc::kill(self.0.id() as i32, libc::SIGKILL) };
            let _ = self.0.wait();
        }
    }
}

/// The issue's first check: the venv's `mod_wsgi_rs-express start-server
/// SCRIPT --port P` serves, in daemon mode, from the venv.
fn start_server_serves_from_the_venv(stage: &Stage, venv: &Path, package_dir: &str) {
    let root = stage.path("express-root");
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port();
        let mut command = Command::new(venv.join("bin/mod_wsgi_rs-express"));
        command
            .arg("start-server")
            .arg(stage.path("apps/pkg_hello.wsgi"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--server-root")
            .arg(&root)
            .env_remove("MOD_WSGI_RS_MODULE")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(stage.path("run/express.out")).unwrap())
            .stderr(std::fs::File::create(stage.path("run/express.err")).unwrap())
            .process_group(0);
        if is_root() {
            command.args(["--user", "www-data", "--group", "www-data"]);
        }
        let mut server = StartServer(command.spawn().expect("run mod_wsgi_rs-express"));
        let up = poll(Duration::from_secs(30), || {
            if let Ok(Some(_)) = server.0.try_wait() {
                return Some(false);
            }
            std::net::TcpStream::connect(("127.0.0.1", port))
                .is_ok()
                .then_some(true)
        });
        let said = || {
            let read = |rel: &str| std::fs::read_to_string(stage.path(rel)).unwrap_or_default();
            format!(
                "{}{}\nerror log:\n{}",
                read("run/express.out"),
                read("run/express.err"),
                read("express-root/error_log")
            )
        };
        if up != Some(true) {
            last = said();
            if last.contains("already in use") {
                continue;
            }
            panic!("start-server did not serve:\n{last}");
        }
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        std::io::Write::write_all(&mut s, &raw_request("GET", "/", &[], b"", false)).unwrap();
        let r = read_response(&mut s);
        assert_eq!(r.status, 200, "{}\n{}", r.text(), said());
        let facts = key_values(&r);
        assert_eq!(fact(&facts, "prefix"), venv.display().to_string());
        assert_eq!(
            fact(&facts, "package"),
            format!("{package_dir}/__init__.py")
        );
        assert_eq!(
            fact(&facts, "group"),
            format!("127.0.0.1:{port}"),
            "not daemon mode"
        );
        drop(server);
        assert_no_crash(&said());
        return;
    }
    panic!("no free port in 3 attempts:\n{last}");
}

/// The checks every installed package passes: where the module is, and that
/// module-config's lines serve from the venv in embedded and daemon mode.
/// Returns the module's path.
fn check_installed(stage: Stage, venv: &Path) -> PathBuf {
    let location = PathBuf::from(express(venv, &["module-location"]).trim());
    let package_dir = python_says(
        venv,
        "__import__('os').path.dirname(__import__('mod_wsgi_rs').__file__)",
    );
    let name = python_says(
        venv,
        "'mod_wsgi_rs-py%d%d' % __import__('sys').version_info[:2] \
         + __import__('sysconfig').get_config_var('EXT_SUFFIX')",
    );
    assert!(
        package_dir.starts_with(&venv.display().to_string()),
        "{package_dir}"
    );
    assert_eq!(location, Path::new(&package_dir).join(&name));
    assert!(location.is_file(), "{}", location.display());

    let config = express(venv, &["module-config"]);
    assert_eq!(
        config.lines().collect::<Vec<_>>(),
        [
            format!("LoadModule wsgi_module \"{}\"", location.display()),
            format!("WSGIPythonHome \"{}\"", venv.display()),
        ],
        "{config}"
    );

    stage.write("apps/pkg_hello.wsgi", HELLO);
    stage.make_readable();
    start_server_serves_from_the_venv(&stage, venv, &package_dir);
    let mut apache = Config::new(
        Mpm::Event,
        &format!(
            "{config}\
             WSGISocketPrefix @STAGE@/run/wsgi\n\
             WSGIDaemonProcess pkg processes=1 threads=2\n\
             WSGIScriptAlias /embedded @STAGE@/apps/pkg_hello.wsgi\n\
             WSGIScriptAlias /daemon @STAGE@/apps/pkg_hello.wsgi process-group=pkg\n"
        ),
    );
    apache.load_module = false;
    let server = Server::start(stage, &apache);
    for (path, group) in [("/embedded", ""), ("/daemon", "pkg")] {
        let r = get_ok(&server, path);
        let banner = r.header("server").unwrap_or_default().to_owned();
        assert!(
            banner.contains(&format!("mod_wsgi_rs/{}", env!("CARGO_PKG_VERSION"))),
            "the installed module is not this version: {banner}"
        );
        let facts = key_values(&r);
        assert_eq!(fact(&facts, "prefix"), venv.display().to_string(), "{path}");
        assert_eq!(
            fact(&facts, "package"),
            format!("{package_dir}/__init__.py"),
            "{path}: the package is not the venv's"
        );
        assert_eq!(fact(&facts, "version"), env!("CARGO_PKG_VERSION"));
        assert_eq!(fact(&facts, "group"), group, "{path}");
    }
    assert_no_crash(&server.error_log());
    location
}

#[test]
fn a_clone_installs_with_pip_and_module_config_serves_from_its_venv() {
    let stage = Stage::new("pip_clone");
    let source = clone_into(&stage, "clone");
    let venv = venv(&stage, "venv");
    // The module pip installs is the one `cargo build --release` of the
    // same tree gives (which finds it built: same inputs, same cache). One
    // hold of the lock for both: another test's build in between would
    // leave the cache to another tree, whose paths the debug info names.
    let built = {
        let _one_at_a_time = wsgi::sync::lock(&PIP_BUILDS);
        let out = pip_install_command(&venv, &source)
            .output()
            .expect("run pip");
        assert!(
            out.status.success(),
            "pip install failed:\n{}",
            output_text(&out)
        );
        run(
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "--release", "--quiet"])
                .current_dir(&source)
                .env("CARGO_TARGET_DIR", pip_target_dir())
                .env_remove("PYO3_PYTHON")
                .env_remove("MAKEFLAGS")
                .env_remove("CARGO_MAKEFLAGS"),
        );
        std::fs::read(pip_target_dir().join("release/libmod_wsgi_rs.so")).unwrap()
    };
    let location = PathBuf::from(express(&venv, &["module-location"]).trim());
    assert!(
        std::fs::read(&location).unwrap() == built,
        "{} differs from cargo build --release's module",
        location.display()
    );
    let script = std::fs::read_to_string(venv.join("bin/mod_wsgi_rs-express")).unwrap();
    assert!(
        script.contains("from mod_wsgi_rs.express.cli import main"),
        "{script}"
    );

    // install-module copies the module and prints the lines for the copy,
    // which Apache loads.
    let modules = stage.path("modules");
    std::fs::create_dir(&modules).unwrap();
    let printed = express(
        &venv,
        &[
            "install-module",
            "--modules-directory",
            &modules.display().to_string(),
        ],
    );
    let copy = modules.join(location.file_name().unwrap());
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(&location).unwrap()
    );
    assert_eq!(
        printed.lines().collect::<Vec<_>>(),
        [
            format!("LoadModule wsgi_module \"{}\"", copy.display()),
            format!("WSGIPythonHome \"{}\"", venv.display()),
        ]
    );
    let mut loads_copy = Config::new(Mpm::Event, &printed);
    loads_copy.load_module = false;
    stage.make_readable();
    config_test(&stage, &loads_copy).expect("the installed copy loads");

    check_installed(stage, &venv);
}

#[test]
fn the_sdist_holds_the_sources_and_installs_with_pip() {
    let stage = Stage::new("pip_sdist");
    let source = clone_into(&stage, "clone");
    let tools = venv(&stage, "tools");
    run(Command::new(tools.join("bin/pip")).args([
        "install",
        "-q",
        "--disable-pip-version-check",
        "build",
    ]));
    let dist = stage.path("dist");
    run(Command::new(tools.join("bin/python"))
        .args(["-m", "build", "--sdist", "--outdir"])
        .arg(&dist)
        .arg(&source));
    let sdist = dist.join(format!("mod_wsgi_rs-{}.tar.gz", env!("CARGO_PKG_VERSION")));
    let listing = run(Command::new("tar").arg("tzf").arg(&sdist));
    let top = format!("mod_wsgi_rs-{}", env!("CARGO_PKG_VERSION"));
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        ".cargo/config.toml",
        "src/lib.rs",
        "src/shim/mod_wsgi.c",
        "crates/wsgi/Cargo.toml",
        "crates/wsgi/src/lib.rs",
        "python/mod_wsgi_rs/__init__.py",
        "python/mod_wsgi_rs/module.py",
        "setup.py",
        "pyproject.toml",
    ] {
        assert!(
            listing.lines().any(|l| l == format!("{top}/{needed}")),
            "{needed} missing from the sdist:\n{listing}"
        );
    }
    for left_out in ["tests/", "fuzz/", "target/", "docs/", "crates/wsgi/tests/"] {
        assert!(
            !listing
                .lines()
                .any(|l| l.starts_with(&format!("{top}/{left_out}"))),
            "the sdist holds {left_out}:\n{listing}"
        );
    }

    let venv = venv(&stage, "venv");
    let out = pip_install(&venv, &sdist);
    assert!(
        out.status.success(),
        "pip install of the sdist failed:\n{}",
        output_text(&out)
    );
    check_installed(stage, &venv);
}

#[test]
fn without_apxs_pip_install_says_to_install_apache2_dev() {
    let stage = Stage::new("pip_no_apxs");
    let source = clone_into(&stage, "clone");
    let venv = venv(&stage, "venv");
    // It fails before cargo runs: no need to wait for the other builds.
    let out = pip_install_command(&venv, &source)
        .env("APXS", "/nonexistent/apxs")
        .output()
        .expect("run pip");
    let text = output_text(&out);
    assert!(
        !out.status.success(),
        "pip install succeeded without apxs:\n{text}"
    );
    assert!(
        text.contains("error: mod_wsgi_rs: cannot find '/nonexistent/apxs' (Apache's apxs)")
            && text.contains("install apache2-dev (apt-get install apache2-dev)"),
        "{text}"
    );
    assert!(
        !venv.join("bin/mod_wsgi_rs-express").exists(),
        "a failed build installed the package"
    );
}
