//! Who a daemon process group runs as: the names of its `user=`, `group=`,
//! `supplementary-groups=` and `socket-user=` options resolved to ids.

use wsgi::config::DaemonGroup;
use wsgi::messages::{self, Level, LogContext};

use crate::apache::{log, process};
use crate::unix;

/// The names a group's options give must exist, as mod_wsgi's
/// `ap_uname2id`/`ap_gname2id` insist while the configuration is read:
/// checked there, so that `apachectl configtest` reports a typo with its
/// line instead of the daemons failing to start in a loop.
pub fn check_names(group: &DaemonGroup) -> Result<(), String> {
    let name = &group.name;
    for user in group.user.iter().chain(&group.socket_user) {
        if unix::lookup_user(user).is_none() {
            return Err(format!(
                "the user '{user}' of the daemon process group '{name}' does not exist"
            ));
        }
    }
    // As mod_wsgi's parser: only root can chroot.
    if group.chroot.is_some() && unix::unprivileged_ids().is_some() {
        return Err(format!(
            "cannot chroot the daemon process group '{name}' when Apache does not start as root"
        ));
    }
    // Scripts are compared by owner name, so a `#uid` must have one too
    // (mod_wsgi: "Couldn't determine uid from script user.").
    if let Some(user) = &group.script_user {
        let named = match user.strip_prefix('#') {
            Some(uid) => uid.parse().ok().and_then(unix::user_name).is_some(),
            None => unix::lookup_user(user).is_some(),
        };
        if !named {
            return Err(format!(
                "the script-user '{user}' of the daemon process group '{name}' does not exist"
            ));
        }
    }
    if let Some(gname) = &group.script_group {
        let named = match gname.strip_prefix('#') {
            Some(gid) => gid.parse().ok().and_then(unix::group_name).is_some(),
            None => unix::lookup_group(gname).is_some(),
        };
        if !named {
            return Err(format!(
                "the script-group '{gname}' of the daemon process group '{name}' does not exist"
            ));
        }
    }
    for gname in group.group.iter().chain(&group.supplementary_groups) {
        if unix::lookup_group(gname).is_none() {
            return Err(format!(
                "the group '{gname}' of the daemon process group '{name}' does not exist"
            ));
        }
    }
    Ok(())
}

/// Who Apache's children run as: `User` and `Group` when Apache starts as
/// root. Started as another user, Apache ignores them and its children keep
/// the parent's ids (`User` is then often unset: uid -1), and so do the
/// daemons, which must accept those children.
pub fn apache_identity() -> (u32, u32, String) {
    if let Some((uid, gid)) = unix::unprivileged_ids() {
        return (uid, gid, format!("#{uid}"));
    }
    process::configured_identity()
}

/// The uid, gid, user name and supplementary gids a group's daemons run as.
pub fn resolve(group: &DaemonGroup) -> Result<(u32, u32, String, Vec<u32>), String> {
    let (apache_uid, apache_gid, apache_user) = apache_identity();
    // Not root, the daemons cannot switch user: as with mod_wsgi, `user=`
    // and `group=` then change nothing.
    let switching = unix::unprivileged_ids().is_none();
    let (uid, mut gid, user_name) = match &group.user {
        Some(user) if switching => {
            let (uid, gid) = unix::lookup_user(user).ok_or_else(|| {
                format!(
                    "unknown user '{user}' for daemon process group '{}'",
                    group.name
                )
            })?;
            if uid == 0 {
                return Err(format!(
                    "the daemon process group '{}' may not run as root",
                    group.name
                ));
            }
            (uid, gid, user.trim_start_matches('#').to_owned())
        }
        _ => (apache_uid, apache_gid, apache_user),
    };
    if let Some(name) = group.group.as_ref().filter(|_| switching) {
        gid = unix::lookup_group(name).ok_or_else(|| {
            format!(
                "unknown group '{name}' for daemon process group '{}'",
                group.name
            )
        })?;
    }
    let mut extra = Vec::new();
    for name in &group.supplementary_groups {
        extra.push(
            unix::lookup_group(name)
                .ok_or_else(|| format!("unknown supplementary group '{name}'"))?,
        );
    }
    Ok((uid, gid, user_name, extra))
}

fn warn(context: &LogContext, id: &str, text: &str) {
    log::process_sink(Level::Warning, &messages::format_line(context, id, text));
}

/// What a daemon does while it is still root, in mod_wsgi's order
/// (wsgi_start_process, wsgi_setup_access): `cpu-priority=` (a negative
/// nice value needs root), then `chroot=`. A failed priority is a warning;
/// a failed chroot is the error returned, which ends the daemon as in
/// mod_wsgi.
pub fn apply_limits_as_root(settings: &DaemonGroup, context: &LogContext) -> Result<(), String> {
    if settings.cpu_priority != 0
        && let Err(e) = unix::set_cpu_priority(settings.cpu_priority)
    {
        warn(
            context,
            messages::DAEMON_PRIORITY_FAILED,
            &format!(
                "Unable to set CPU priority of {} for daemon process '{}'; daemon will run with default priority: {e}",
                settings.cpu_priority, settings.name
            ),
        );
    }
    if let Some(root) = &settings.chroot {
        unix::change_root(root).map_err(|e| {
            format!("Unable to change root directory to '{root}': {e}. Daemon process will exit.")
        })?;
    }
    Ok(())
}

/// After the switch of user, before Python starts: `virtual-memory-limit=`
/// (RLIMIT_AS, soft and hard), as mod_wsgi; a failure is a warning.
pub fn apply_limits_as_user(settings: &DaemonGroup, context: &LogContext) {
    if settings.virtual_memory_limit > 0
        && let Err(e) = unix::set_address_space_limit(settings.virtual_memory_limit)
    {
        warn(
            context,
            messages::DAEMON_VIRTUAL_MEMORY_LIMIT_FAILED,
            &format!(
                "Unable to set virtual memory limit of {} for daemon process '{}'; daemon will run without the configured limit: {e}",
                settings.virtual_memory_limit, settings.name
            ),
        );
    }
}
