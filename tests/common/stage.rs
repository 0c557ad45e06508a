//! The stage: a directory under /tmp that Apache's worker user can read,
//! holding the test applications, the module and everything a test or its
//! server writes. A passing test removes it; a failing one keeps it and
//! says where, so that its configuration and logs can be looked at.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{module_path, repo_dir};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Every stage's name starts with this. Each stage sits directly in /tmp
/// (no shared parent), so that removing one never races with another test
/// binary creating its own.
pub const PREFIX: &str = "mod_wsgi_rs-test.";

/// A directory under /tmp readable by Apache's worker user, with the test
/// applications (tests/apps) and the module copied in.
pub struct Stage {
    pub dir: PathBuf,
}

impl Stage {
    pub fn new(name: &str) -> Stage {
        let dir = std::env::temp_dir().join(format!(
            "{PREFIX}{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("apps")).unwrap();
        std::fs::create_dir_all(dir.join("run")).unwrap();
        // From here on a panic drops the stage, which keeps it and says so.
        let stage = Stage { dir };
        for entry in std::fs::read_dir(repo_dir().join("tests/apps")).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), stage.path("apps").join(entry.file_name())).unwrap();
            }
        }
        std::fs::copy(module_path(), stage.path("mod_wsgi_rs.so")).unwrap();
        set_mode(&stage.dir, 0o755);
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

impl Drop for Stage {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "the test failed: its stage is kept in {}",
                self.dir.display()
            );
            return;
        }
        // A process of the stopped server may still be removing its own
        // files (a daemon's socket, say): try again while entries vanish
        // under the walk.
        let mut last = None;
        for _ in 0..50 {
            match std::fs::remove_dir_all(&self.dir) {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(e) => last = Some(e),
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        eprintln!(
            "could not remove the stage {}: {}",
            self.dir.display(),
            last.map(|e| e.to_string()).unwrap_or_default()
        );
    }
}

pub(crate) fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
}
