//! `script-user=` and `script-group=`: the Apache child runs a group's
//! script only if it, and the directory holding it, belong to the named
//! user (or group) and cannot be changed by others, as mod_wsgi checks in
//! wsgi_execute_remote before it sends the request (403 otherwise, with
//! mod_wsgi's reasons). A group with neither option costs one branch.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use wsgi::config::DaemonGroup;

use crate::unix;

const GROUP_WRITE: u32 = 0o020;
const WORLD_WRITE: u32 = 0o002;

/// Whether an owner id is the one an option names (`name` or `#id`).
fn is_named(wanted: &str, id: u32, name: &str) -> bool {
    match wanted.strip_prefix('#') {
        Some(number) => number.parse() == Ok(id),
        None => wanted == name,
    }
}

/// Why the group may not run `script`, in mod_wsgi's words; Ok when it may.
pub fn check(settings: &DaemonGroup, script: &Path) -> Result<(), String> {
    if settings.script_user.is_none() && settings.script_group.is_none() {
        return Ok(());
    }
    let file =
        std::fs::metadata(script).map_err(|e| format!("Unable to stat WSGI script file: {e}."))?;
    let parent = script.parent().unwrap_or(Path::new("/"));
    let stat_parent = || {
        std::fs::metadata(parent).map_err(|_| {
            format!(
                "Unable to stat parent directory '{}' of WSGI script.",
                parent.display()
            )
        })
    };
    if let Some(wanted) = &settings.script_group {
        let name = unix::group_name(file.gid()).ok_or_else(|| {
            format!(
                "Unable to determine group of WSGI script file from gid {}.",
                file.gid()
            )
        })?;
        if !is_named(wanted, file.gid(), &name) {
            return Err(format!(
                "WSGI script file group '{name}' does not match group required for daemon process."
            ));
        }
        if file.mode() & WORLD_WRITE != 0 {
            return Err("WSGI script file is writable to world.".to_owned());
        }
        let dir = stat_parent()?;
        let name = unix::group_name(dir.gid()).ok_or_else(|| {
            format!(
                "Unable to determine group of parent directory of WSGI script file from gid {}.",
                dir.gid()
            )
        })?;
        if !is_named(wanted, dir.gid(), &name) {
            return Err(format!(
                "Parent directory of WSGI script file has group '{name}' which does not match group required for daemon process."
            ));
        }
        if dir.mode() & WORLD_WRITE != 0 {
            return Err("Parent directory of WSGI script file is writable to world.".to_owned());
        }
    }
    if let Some(wanted) = &settings.script_user {
        let name = unix::user_name(file.uid()).ok_or_else(|| {
            format!(
                "Unable to determine owner of WSGI script file from uid {}.",
                file.uid()
            )
        })?;
        if !is_named(wanted, file.uid(), &name) {
            return Err(format!(
                "WSGI script file owner '{name}' does not match user required for daemon process."
            ));
        }
        if file.mode() & GROUP_WRITE != 0 {
            return Err("WSGI script file is writable to group.".to_owned());
        }
        if file.mode() & WORLD_WRITE != 0 {
            return Err("WSGI script file is writable to world.".to_owned());
        }
        let dir = stat_parent()?;
        let name = unix::user_name(dir.uid()).ok_or_else(|| {
            format!(
                "Unable to determine owner of parent directory of WSGI script file from uid {}.",
                dir.uid()
            )
        })?;
        if !is_named(wanted, dir.uid(), &name) {
            return Err(format!(
                "Parent directory of WSGI script file has owner '{name}' which does not match user required for daemon process."
            ));
        }
        if dir.mode() & WORLD_WRITE != 0 {
            return Err("Parent directory of WSGI script file is writable to world.".to_owned());
        }
        if dir.mode() & GROUP_WRITE != 0 {
            return Err("Parent directory of WSGI script file is writable to group.".to_owned());
        }
    }
    Ok(())
}
