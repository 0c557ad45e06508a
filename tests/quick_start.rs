//! The README's "Quick start with pip", run as written (the line is read
//! from README.md) in a copy of the checkout's tracked files: a virtual
//! environment of Debian's python3, `pip install .`, then the console
//! script `mod_wsgi_rs-express start-server app.wsgi`, with only a loopback
//! host, a free port and a server root in the test's stage added (and, as
//! root, the user the README says to add). The build shares tests/pip_package.rs's cargo target directory,
//! so that it is quick after that test's.

mod common;
mod foreground_support;
use common::*;
use foreground_support::*;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The indented command line of the README's quick start.
fn quick_start_line() -> String {
    let readme = std::fs::read_to_string(repo_dir().join("README.md")).unwrap();
    readme
        .lines()
        .find(|l| l.starts_with("    python3 -m venv env && "))
        .expect("the quick start's command in README.md")
        .trim()
        .to_owned()
}

/// A copy of the repository's tracked files, as a clone has them; without
/// git's view (the test image's build context leaves .git out), the
/// working tree less what is built or generated.
fn clone_into(stage: &Stage, rel: &str) -> PathBuf {
    let to = stage.path(rel);
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo_dir())
        .output();
    match out {
        Ok(out) if out.status.success() => {
            for file in String::from_utf8(out.stdout).unwrap().split('\0') {
                let from = repo_dir().join(file);
                if !file.is_empty() && from.is_file() {
                    std::fs::create_dir_all(to.join(file).parent().unwrap()).unwrap();
                    std::fs::copy(&from, to.join(file)).unwrap();
                }
            }
        }
        _ => copy_source(&repo_dir(), &to),
    }
    to
}

fn copy_source(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if ["target", ".git", "__pycache__", "env", "build"]
            .iter()
            .any(|skip| name == *skip)
        {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_source(&entry.path(), &to.join(&name));
        } else if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

/// A fresh Debian machine's PATH (its python3 first), with the cargo that
/// runs this test after it, for the module's build.
fn debian_path() -> String {
    let mut path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned();
    if let Some(dir) = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .and_then(|cargo| cargo.parent().map(Path::to_path_buf))
    {
        path = format!("{path}:{}", dir.display());
    }
    path
}

fn in_clone(command: &mut Command, clone: &Path) {
    command
        .current_dir(clone)
        .env("PATH", debian_path())
        .env("CARGO_TARGET_DIR", repo_dir().join("target/pip-package"))
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        // The venv's own module, not one a test environment points at;
        // setup.py chooses the Python; a jobserver of the test's cargo is
        // not this build's.
        .env_remove("MOD_WSGI_RS_MODULE")
        .env_remove("PYO3_PYTHON")
        .env_remove("PYTHONPATH")
        .env_remove("VIRTUAL_ENV")
        .env_remove("MAKEFLAGS")
        .env_remove("CARGO_MAKEFLAGS");
}

#[test]
fn the_readme_quick_start_installs_and_serves_in_daemon_mode() {
    let line = quick_start_line();
    let (install, serve) = line.rsplit_once(" && ").unwrap();
    assert!(
        serve.starts_with("env/bin/mod_wsgi_rs-express start-server app.wsgi"),
        "{serve}"
    );
    let stage = Stage::new("quick-start");
    let clone = clone_into(&stage, "clone");
    std::fs::copy(
        repo_dir().join("apache-conf/example/app.wsgi"),
        clone.join("app.wsgi"),
    )
    .unwrap();

    let mut command = Command::new("bash");
    command.args(["-euo", "pipefail", "-c", install]);
    in_clone(&mut command, &clone);
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{install} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    stage.make_readable();

    let server = Foreground::start(&stage, |port| {
        let mut command = Command::new("bash");
        command.args([
            "-c",
            &format!(
                "exec {serve} --host 127.0.0.1 --port {port} --server-root {} {}",
                stage.path("server").display(),
                run_as().join(" ")
            ),
        ]);
        in_clone(&mut command, &clone);
        command
    });
    let page = server.get_ok("/").text();
    assert!(page.contains("Hello from mod_wsgi_rs!"), "{page}");
    // The venv's Python, and the module pip built into it.
    let python = clone.join("env/bin/python");
    assert!(page.contains(&format!("({})", python.display())), "{page}");
    let summary = server.output();
    assert!(summary.contains("Operating Mode     : daemon"), "{summary}");
    let conf = std::fs::read_to_string(summary_conf(&summary)).unwrap();
    let installed = clone.join("env/lib/");
    assert!(
        conf.lines().any(|l| l.starts_with("LoadModule wsgi_module")
            && l.contains(&installed.display().to_string())),
        "the module is not the venv's:\n{conf}"
    );
}

/// The httpd.conf the start-up summary names.
fn summary_conf(summary: &str) -> String {
    summary
        .lines()
        .find_map(|l| l.strip_prefix("Server Conf        : "))
        .unwrap_or_else(|| panic!("no Server Conf in:\n{summary}"))
        .trim()
        .to_owned()
}
