//! The Apache parent's side of daemon mode: creates each group's socket,
//! forks the daemons after configuration, restarts them when they die (with
//! a back-off so that a daemon that cannot start does not fork-bomb), kills
//! the ones that stop answering, and stops them with Apache.

use std::ffi::{CString, c_int, c_void};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wsgi::config::{DaemonGroup, Location};
use wsgi::messages::{self, Level};

use super::{GroupRuntime, Registry, set_registry, socket_path};
use crate::apache::bindings::{self, apr_pool_t, apr_proc_t, server_rec};
use crate::apache::{log, pool};
use crate::config::server_settings;
use crate::unix;

/// One daemon process slot: which group and process, and its restarts.
pub struct Slot {
    /// Noted once with the pool (`apr_pool_note_subprocess`) and reused by
    /// every daemon of the slot, so its pid must always be a real one: APR's
    /// cleanup signals it, and pid 0 would be Apache's whole process group.
    /// In pool memory: APR reads it after the cleanup that frees the slot.
    proc_: *mut apr_proc_t,
    /// `proc_.pid` is our unreaped child; false once it died (the pid may be
    /// reused by any process then, which the heartbeat check must not kill).
    running: bool,
    noted: bool,
    group: usize,
    index: usize,
    started: Instant,
    quick_deaths: u32,
    pool: *mut apr_pool_t,
}

/// This generation's slots, for the periodic check (`monitor`): pool-owned
/// slots, as addresses; emptied with the generation.
static SLOTS: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());

fn log_parent(level: Level, text: &str) {
    log::server(level, std::ptr::null(), text);
}

/// Every daemon group configured anywhere, with duplicate names refused.
///
/// # Safety
/// `main` must be the live main server during post_config.
unsafe fn collect_groups(main: *mut server_rec) -> Result<Vec<DaemonGroup>, String> {
    let mut groups: Vec<DaemonGroup> = Vec::new();
    let mut s = main;
    while !s.is_null() {
        // SAFETY: the server list is live (caller).
        let settings = unsafe { server_settings(s) };
        for group in &settings.daemon_groups {
            if groups.iter().any(|g| g.name == group.name) {
                return Err(format!(
                    "the daemon process group '{}' is defined more than once",
                    group.name
                ));
            }
            groups.push(group.clone());
        }
        // SAFETY: as above.
        s = unsafe { (*s).next };
    }
    Ok(groups)
}

/// Process groups named by aliases and `WSGIProcessGroup`, which must exist.
///
/// # Safety
/// As for `collect_groups`.
unsafe fn check_references(main: *mut server_rec, groups: &[DaemonGroup]) -> Result<(), String> {
    let mut s = main;
    while !s.is_null() {
        // SAFETY: the server list is live (caller).
        let settings = unsafe { server_settings(s) };
        for name in &settings.referenced_process_groups {
            if !groups.iter().any(|g| &g.name == name) {
                return Err(format!(
                    "the process group '{name}' is used, but no WSGIDaemonProcess defines it"
                ));
            }
        }
        // SAFETY: as above.
        s = unsafe { (*s).next };
    }
    Ok(())
}

/// Scripts a group loads at start: aliases with both process-group= and
/// application-group= (mod_wsgi's preloading rule).
///
/// # Safety
/// As for `collect_groups`.
unsafe fn preload_scripts(main: *mut server_rec, group: &str) -> Vec<String> {
    let mut scripts = Vec::new();
    let mut s = main;
    while !s.is_null() {
        // SAFETY: the server list is live (caller).
        let settings = unsafe { server_settings(s) };
        for alias in &settings.aliases {
            let fixed_target =
                matches!(alias.location, Location::Prefix(_)) && !alias.target.contains('$');
            if fixed_target
                && alias.options.process_group.as_deref() == Some(group)
                && alias.options.application_group.is_some()
                && !scripts.contains(&alias.target)
            {
                scripts.push(alias.target.clone());
            }
        }
        // SAFETY: as above.
        s = unsafe { (*s).next };
    }
    scripts
}

/// Who Apache's children run as: `User` and `Group` when Apache starts as
/// root. Started as another user, Apache ignores them and its children keep
/// the parent's ids (`User` is then often unset: uid -1), and so do the
/// daemons, which must accept those children.
fn apache_identity() -> (u32, u32, String) {
    if let Some((uid, gid)) = unix::unprivileged_ids() {
        return (uid, gid, format!("#{uid}"));
    }
    // SAFETY: ap_unixd_config is initialised by the time post_config runs.
    unsafe {
        let cfg = std::ptr::addr_of!(bindings::ap_unixd_config);
        (
            (*cfg).user_id,
            (*cfg).group_id,
            crate::apache::strings::text((*cfg).user_name).into_owned(),
        )
    }
}

fn resolve(group: &DaemonGroup) -> Result<(u32, u32, String, Vec<u32>), String> {
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

/// Checks the daemon configuration without starting anything, so that
/// Apache's first (foreground) configuration pass reports what would stop
/// the daemons: `apachectl start` then fails with the message instead of
/// detaching and dying.
///
/// # Safety
/// As for `collect_groups`.
pub unsafe fn check(main: *mut server_rec) -> Result<(), String> {
    // SAFETY: forwarded from the caller.
    let groups = unsafe { collect_groups(main)? };
    // SAFETY: forwarded from the caller.
    unsafe { check_references(main, &groups)? };
    for group in &groups {
        resolve(group)?;
        if let Some(user) = &group.socket_user {
            unix::lookup_user(user).ok_or_else(|| format!("unknown socket-user '{user}'"))?;
        }
    }
    Ok(())
}

/// Creates this generation's groups and forks their daemons. Returns an
/// error message for a configuration that cannot run.
///
/// # Safety
/// Called from post_config (second pass) with the live pool and main server.
pub unsafe fn start(pconf: *mut apr_pool_t, main: *mut server_rec) -> Result<(), String> {
    // SAFETY: forwarded from the caller.
    let groups = unsafe { collect_groups(main)? };
    // SAFETY: forwarded from the caller.
    unsafe { check_references(main, &groups)? };
    if groups.is_empty() {
        set_registry(std::ptr::null_mut());
        return Ok(());
    }
    // SAFETY: the main server's configuration is live.
    let main_settings = unsafe { server_settings(main) };
    let prefix = main_settings
        .socket_prefix
        .clone()
        .unwrap_or_else(|| "wsgi".to_owned());
    let prefix = if prefix.starts_with('/') {
        prefix
    } else {
        let c = CString::new(prefix).map_err(|_| "WSGISocketPrefix contains a NUL byte")?;
        // SAFETY: the pool is live; the result is a pool string.
        unsafe {
            crate::apache::strings::text(bindings::ap_runtime_dir_relative(pconf, c.as_ptr()))
                .into_owned()
        }
    };
    // SAFETY: the main server is live.
    let apache_timeout =
        Duration::from_micros(u64::try_from(unsafe { (*main).timeout }).unwrap_or(60_000_000));
    let parent_pid = unix::getpid();
    let mut runtimes = Vec::new();
    let mut slots = 0;
    for settings in groups {
        let (uid, gid, user_name, extra_gids) = resolve(&settings)?;
        let (apache_uid, apache_gid, _) = apache_identity();
        let socket_uid = match &settings.socket_user {
            Some(user) => {
                unix::lookup_user(user)
                    .ok_or_else(|| format!("unknown socket-user '{user}'"))?
                    .0
            }
            None => apache_uid,
        };
        let path = socket_path(&prefix, parent_pid, &settings.name);
        let listener = unix::listen(
            &path,
            settings.listen_backlog,
            Some((socket_uid, apache_gid)),
        )
        .map_err(|e| {
            format!(
                "cannot create the socket '{path}' for daemon process group '{}': {e}",
                settings.name
            )
        })?;
        // SAFETY: forwarded from the caller.
        let preload = unsafe { preload_scripts(main, &settings.name) };
        let read_timeout = if settings.socket_timeout > 0 {
            Duration::from_secs(settings.socket_timeout)
        } else {
            apache_timeout
        };
        let first_slot = slots;
        slots += settings.processes as usize;
        runtimes.push(GroupRuntime {
            settings,
            socket_path: path,
            listener,
            uid,
            gid,
            user_name,
            extra_gids,
            socket_uid,
            preload,
            read_timeout,
            first_slot,
            idle: Mutex::new(Vec::new()),
        });
    }
    let heartbeats =
        unix::SharedSlots::new(slots).map_err(|e| format!("cannot map daemon heartbeats: {e}"))?;
    // SAFETY: the pool is live; the registry is freed with it.
    let registry = unsafe {
        pool::pool_box(
            pconf,
            Registry {
                groups: runtimes,
                heartbeats,
                python_options: main_settings.python_options(),
            },
        )
    };
    set_registry(registry);
    SLOTS.lock().unwrap_or_else(|e| e.into_inner()).clear();
    // SAFETY: the pool is live.
    unsafe { pool::on_cleanup(pconf, end_generation) };
    // SAFETY: the registry lives as long as the pool.
    let registry = unsafe { &*registry };
    for (g, group) in registry.groups.iter().enumerate() {
        for index in 0..group.settings.processes as usize {
            let slot = Slot {
                // SAFETY: the pool is live.
                proc_: unsafe { pool::pool_copy(pconf, apr_proc_t::default()) },
                running: false,
                noted: false,
                group: g,
                index,
                started: Instant::now(),
                quick_deaths: 0,
                pool: pconf,
            };
            // SAFETY: the pool is live; the slot is freed with it.
            let slot = unsafe { pool::pool_box(pconf, slot) };
            SLOTS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(slot as usize);
            // SAFETY: the slot is live and owned by the pool.
            unsafe { spawn(slot, Duration::ZERO) };
        }
    }
    Ok(())
}

/// On restart or stop: the sockets go (the daemons get SIGTERM and are
/// reaped by APR, as noted with apr_pool_note_subprocess).
fn end_generation() {
    SLOTS.lock().unwrap_or_else(|e| e.into_inner()).clear();
    if let Some(registry) = super::registry() {
        for group in &registry.groups {
            let _ = std::fs::remove_file(&group.socket_path);
        }
    }
    set_registry(std::ptr::null_mut());
}

/// Forks the daemon of `slot`; in the child, never returns.
///
/// # Safety
/// `slot` must be a live, pool-owned slot.
unsafe fn spawn(slot: *mut Slot, delay: Duration) {
    // SAFETY: the slot is live (caller).
    let slot_ref = unsafe { &mut *slot };
    // apr_proc_fork zeroes the struct before forking, so a failed fork must
    // not touch the noted one (see `Slot::proc_`).
    let mut forked = apr_proc_t::default();
    // SAFETY: apr_proc_fork fills the proc struct; the pool is live.
    let rv = unsafe { bindings::apr_proc_fork(&mut forked, slot_ref.pool) };
    let registry = super::registry().expect("registry set before spawning");
    let group = &registry.groups[slot_ref.group];
    if rv == bindings::APR_INCHILD as i32 {
        super::process::run(registry, slot_ref.group, slot_ref.index, delay);
    }
    if rv != bindings::APR_INPARENT as i32 {
        log_parent(
            Level::Error,
            &messages::format_line(
                group.context(),
                messages::DAEMON_SPAWN_FAILED,
                "could not fork a daemon process",
            ),
        );
        return;
    }
    // SAFETY: the proc is pool memory, live for the generation.
    unsafe { *slot_ref.proc_ = forked };
    slot_ref.running = true;
    // The daemon sleeps `delay` before it starts: its life begins after.
    slot_ref.started = Instant::now() + delay;
    registry
        .heartbeats
        .slot(group.first_slot + slot_ref.index)
        .store(
            unix::monotonic_micros() + delay.as_micros() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    if !std::mem::replace(&mut slot_ref.noted, true) {
        // SAFETY: the pool is live, and the proc is its memory (see
        // `Slot::proc_`).
        unsafe {
            bindings::apr_pool_note_subprocess(
                slot_ref.pool,
                slot_ref.proc_,
                bindings::apr_kill_conditions_e_APR_KILL_AFTER_TIMEOUT,
            )
        };
    }
    // SAFETY: the proc and pool are live; the maintenance callback matches
    // APR's signature and gets the slot back as its data.
    unsafe {
        bindings::apr_proc_other_child_register(
            slot_ref.proc_,
            Some(crate::entry::wsgi_rs_daemon_maintenance),
            slot.cast(),
            std::ptr::null_mut(),
            slot_ref.pool,
        );
    }
}

fn mpm_stopping() -> bool {
    let mut state = 0;
    // SAFETY: writes one int.
    let rv = unsafe { bindings::ap_mpm_query(bindings::AP_MPMQ_MPM_STATE as i32, &mut state) };
    rv != 0 || state == bindings::AP_MPMQ_STOPPING as i32
}

/// APR's other-child callback: a daemon died, was lost, or Apache is restarting.
///
/// # Safety
/// `data` is the slot registered in `spawn`.
pub unsafe fn maintain(reason: c_int, data: *mut c_void, status: c_int) {
    let slot = data.cast::<Slot>();
    // SAFETY: the slot is live for the generation (pool-owned).
    let slot_ref = unsafe { &mut *slot };
    let Some(registry) = super::registry() else {
        return;
    };
    let group = &registry.groups[slot_ref.group];
    match reason as u32 {
        bindings::APR_OC_REASON_DEATH | bindings::APR_OC_REASON_LOST => {
            // SAFETY: unregistering the proc we registered.
            unsafe { bindings::apr_proc_other_child_unregister(data) };
            // The pid stays in `proc_` for APR's cleanup, which only signals
            // a pid that waitpid still reports as our running child.
            slot_ref.running = false;
            // SAFETY: pool memory, live for the generation.
            let pid = unsafe { (*slot_ref.proc_).pid };
            if mpm_stopping() {
                return;
            }
            // The MPM passes APR's exit code: the exit status, or the number
            // of the signal that killed the process, which cannot be told
            // apart here. 0 is a daemon that recycled itself.
            let how = match status {
                0 => "exited normally".to_owned(),
                n => format!("ended with exit status or signal {n}"),
            };
            let lived = slot_ref.started.elapsed();
            // A daemon that fails young is probably failing at start-up: wait
            // longer before each new attempt. One that recycled itself
            // (maximum-requests, a changed script...) did not fail.
            slot_ref.quick_deaths = if status != 0 && lived < Duration::from_secs(10) {
                slot_ref.quick_deaths + 1
            } else {
                0
            };
            let delay = if slot_ref.quick_deaths <= 1 {
                Duration::ZERO
            } else {
                Duration::from_secs((1u64 << (slot_ref.quick_deaths - 2).min(5)).min(30))
            };
            log_parent(
                Level::Notice,
                &messages::format_line(
                    format!("{}, daemon pid={pid}", group.context()),
                    messages::DAEMON_RESTARTED,
                    &format!(
                        "the daemon process {how} after {:.1} s; starting a new one{}",
                        lived.as_secs_f64(),
                        if delay.is_zero() {
                            String::new()
                        } else {
                            format!(" in {} s", delay.as_secs())
                        }
                    ),
                ),
            );
            // SAFETY: the slot is live.
            unsafe { spawn(slot, delay) };
        }
        bindings::APR_OC_REASON_RUNNING => check_heartbeat(registry, slot_ref),
        bindings::APR_OC_REASON_RESTART => {
            // SAFETY: unregistering the proc we registered.
            unsafe { bindings::apr_proc_other_child_unregister(data) };
        }
        _ => {}
    }
}

/// Kills the daemon of `slot` if its heartbeat is older than deadlock-timeout:
/// it is stopped, or its Python is blocked.
fn check_heartbeat(registry: &Registry, slot: &Slot) {
    let group = &registry.groups[slot.group];
    if !slot.running {
        return;
    }
    // SAFETY: pool memory, live for the generation.
    let pid = unsafe { (*slot.proc_).pid };
    let deadlock = group.settings.deadlock_timeout;
    let heartbeat = registry.heartbeats.slot(group.first_slot + slot.index);
    let beat = heartbeat.load(std::sync::atomic::Ordering::Relaxed);
    if pid > 0 && super::heartbeat_is_stale(beat, deadlock) {
        log_parent(
            Level::Error,
            &messages::format_line(
                format!("{}, daemon pid={pid}", group.context()),
                messages::DAEMON_UNRESPONSIVE,
                &format!(
                    "the daemon process has not answered for more than deadlock-timeout ({deadlock} s): stopped, or its Python is deadlocked; killing it"
                ),
            ),
        );
        unix::kill(pid, libc::SIGKILL);
        // Count from now, so the kill is not repeated before the death is seen.
        heartbeat.store(
            unix::monotonic_micros(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }
}

/// Apache's monitor hook, run by the MPM in the parent about every ten
/// seconds: finds the daemons that stopped answering. (httpd 2.4 never
/// gives other-children the periodic RUNNING call APR provides for this.)
pub fn monitor() {
    let Some(registry) = super::registry() else {
        return;
    };
    let slots = SLOTS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for slot in slots {
        // SAFETY: the listed slots are live for the current generation (the
        // list is emptied with it), and only this thread touches them.
        let slot = unsafe { &*(slot as *const Slot) };
        check_heartbeat(registry, slot);
    }
}
