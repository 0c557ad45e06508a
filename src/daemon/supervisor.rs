//! The Apache parent's side of daemon mode: creates each group's socket,
//! forks the daemons after configuration, restarts them when they die (with
//! a back-off so that a daemon that cannot start does not fork-bomb), kills
//! the ones that stop answering, and stops them with Apache.

use std::os::fd::AsRawFd;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wsgi::config::servers;
use wsgi::messages::{self, Level};
use wsgi::sync::lock;

use super::identity::{apache_identity, resolve};
use super::{GroupHome, GroupRuntime, Registry, set_registry, socket_path};
use crate::apache::pool::Pool;
use crate::apache::process::{self, ChildEvent, Fork, OtherChild, PoolProc};
use crate::apache::server::{self, Server};
use crate::apache::{httpd, log};
use crate::config::{all_server_settings, servers_with_settings};
use crate::unix;

/// One daemon process slot: which group and process, and its restarts.
pub struct Slot {
    /// Noted once with the pool (`apr_pool_note_subprocess`) and reused by
    /// every daemon of the slot, so its pid must always be a real one: APR's
    /// cleanup signals it, and pid 0 would be Apache's whole process group.
    /// In pool memory: APR reads it after the cleanup that frees the slot.
    proc_: PoolProc,
    /// `proc_.pid` is our unreaped child; false once it died (the pid may be
    /// reused by any process then, which the heartbeat check must not kill).
    running: bool,
    noted: bool,
    group: usize,
    index: usize,
    started: Instant,
    quick_deaths: u32,
    pool: Pool,
}

/// This generation's slots, for the periodic check (`monitor`): pool-owned
/// slots, as addresses; emptied with the generation.
static SLOTS: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());

fn log_parent(level: Level, text: &str) {
    log::server(level, std::ptr::null(), text);
}

/// Checks the daemon configuration without starting anything, so that
/// Apache's first (foreground) configuration pass reports what would stop
/// the daemons: `apachectl start` then fails with the message instead of
/// detaching and dying.
pub fn check(main: Server<'_>) -> Result<(), String> {
    let all = all_server_settings(main);
    let groups = servers::daemon_groups(&all)?;
    for group in &groups {
        resolve(group)?;
        if let Some(user) = &group.socket_user {
            unix::lookup_user(user).ok_or_else(|| format!("unknown socket-user '{user}'"))?;
        }
    }
    Ok(())
}

/// The server whose own settings define group `name` (the main server's
/// settings may be lent to hosts without WSGI directives: still the main's).
fn home_of(main: Server<'_>, name: &str) -> GroupHome {
    let servers = servers_with_settings(main);
    let (index, server) = servers
        .iter()
        .enumerate()
        .find(|(_, (_, s))| s.daemon_groups.iter().any(|g| g.name == name))
        .map_or((0, main), |(i, (server, _))| (i, *server));
    GroupHome {
        server: server.as_ptr() as usize,
        in_main_server: index == 0,
        hostname: server.hostname(),
    }
}

/// Creates this generation's groups and forks their daemons. Returns an
/// error message for a configuration that cannot run. Called from
/// post_config (second pass): `pconf` lives as long as this generation.
pub fn start(pconf: Pool, main: Server<'_>) -> Result<(), String> {
    let all = all_server_settings(main);
    note_settings_without_effect(all[0]);
    // Inherited by every child and daemon forked from here on.
    wsgi::python::loader::set_case_sensitive(all[0].case_sensitivity.unwrap_or(true));
    let groups = servers::daemon_groups(&all)?;
    for name in servers::undefined_process_groups(&all, &groups) {
        log_parent(
            Level::Warning,
            &messages::format_line(
                format_args!("group='{name}'"),
                messages::UNKNOWN_PROCESS_GROUP,
                &format!(
                    "the process group '{name}' is used, but no WSGIDaemonProcess defines it: \
                     the requests routed to it get 500"
                ),
            ),
        );
    }
    if groups.is_empty() {
        set_registry(std::ptr::null_mut());
        return Ok(());
    }
    let main_settings = all[0];
    let prefix = main_settings
        .socket_prefix
        .clone()
        .unwrap_or_else(|| "wsgi".to_owned());
    let prefix = if prefix.starts_with('/') {
        prefix
    } else {
        server::runtime_dir_relative(pconf, &prefix)
            .ok_or("WSGISocketPrefix contains a NUL byte")?
    };
    let apache_timeout = main.timeout();
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
        // WSGISocketRotation On: a name per restart generation, so an old
        // generation's children never reach the new daemons (the requests
        // they still hold fail while the restart lasts, as under mod_wsgi).
        // Off, our default where mod_wsgi's is On: one name across
        // restarts, owned by the daemons' uid, so a graceful restart loses
        // no request.
        let rotation = if main_settings.socket_rotation.unwrap_or(false) {
            httpd::mpm_generation().to_string()
        } else {
            format!("u{uid}")
        };
        let path = socket_path(&prefix, parent_pid, &rotation, &settings.name);
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
        for warning in super::socket_buffers::apply(listener.as_raw_fd(), &settings) {
            log_parent(Level::Warning, &warning);
        }
        let secret = super::secret::for_socket(main, &path)?;
        let preload = servers::preload_scripts(&all, &settings.name);
        let read_timeout = if settings.socket_timeout > 0 {
            Duration::from_secs(settings.socket_timeout)
        } else {
            apache_timeout
        };
        let header_wait = super::header_wait(&settings, read_timeout);
        let first_slot = slots;
        slots += settings.processes as usize;
        let home = home_of(main, &settings.name);
        let mut python_options = main_settings.python_options_for(&settings.name);
        python_options.switch_interval =
            settings.switch_interval.or(python_options.switch_interval);
        let python_path_layers = main_settings.python_path_layers(&settings.name);
        let interpreter_sections =
            main_settings.interpreter_sections(&settings.name, settings.python_path.clone());
        runtimes.push(GroupRuntime {
            python_options,
            python_path_layers,
            interpreter_sections,
            settings,
            home,
            socket_path: path,
            listener,
            uid,
            gid,
            user_name,
            extra_gids,
            socket_uid,
            secret,
            preload,
            read_timeout,
            header_wait,
            first_slot,
            idle: Mutex::new(Vec::new()),
        });
    }
    let heartbeats = unix::HeartbeatPages::new(slots)
        .map_err(|e| format!("cannot map daemon heartbeats: {e}"))?;
    // Freed with the pool, when the generation ends.
    let registry = pconf.alloc(Registry {
        groups: runtimes,
        heartbeats,
        python_home: main_settings.python_home.clone(),
    });
    set_registry(registry);
    lock(&SLOTS).clear();
    pconf.on_cleanup(end_generation);
    // SAFETY: the registry lives as long as the pool.
    let registry = unsafe { &*registry };
    for (g, group) in registry.groups.iter().enumerate() {
        for index in 0..group.settings.processes as usize {
            let slot = Slot {
                proc_: PoolProc::new(pconf),
                running: false,
                noted: false,
                group: g,
                index,
                started: Instant::now(),
                quick_deaths: 0,
                pool: pconf,
            };
            // Freed with the pool, when the generation ends.
            let slot = pconf.alloc(slot);
            lock(&SLOTS).push(slot as usize);
            // SAFETY: the slot is live and owned by the pool.
            unsafe { spawn(slot, Duration::ZERO) };
        }
    }
    Ok(())
}

/// Once per start: the main server's settings that this module accepts
/// but that cannot act here, each with why.
fn note_settings_without_effect(main: &crate::config::ServerConfig) {
    if let Some(mechanism) = &main.accept_mutex {
        log_parent(
            Level::Notice,
            &messages::format_line(
                "",
                messages::ACCEPT_MUTEX_UNUSED,
                &format!(
                    "WSGIAcceptMutex {mechanism} has no effect: the daemon processes of a group \
                     accept from their shared socket without a lock (the kernel hands each \
                     connection to one of them)"
                ),
            ),
        );
    }
}

/// On restart or stop: the sockets go (the daemons get SIGTERM and are
/// reaped by APR, as noted with apr_pool_note_subprocess).
fn end_generation() {
    lock(&SLOTS).clear();
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
    let forked = process::fork(slot_ref.pool);
    let registry = super::registry().expect("registry set before spawning");
    let group = &registry.groups[slot_ref.group];
    let forked = match forked {
        Fork::Child => super::process::run(registry, slot_ref.group, slot_ref.index, delay),
        Fork::Parent(forked) => forked,
        Fork::Failed => {
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
    };
    slot_ref.proc_.adopt(forked);
    slot_ref.running = true;
    // The daemon sleeps `delay` before it starts: its life begins after.
    slot_ref.started = Instant::now() + delay;
    let heartbeat = registry.heartbeats.slot(group.first_slot + slot_ref.index);
    heartbeat.beat.store(
        unix::monotonic_micros() + delay.as_micros() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    heartbeat
        .served
        .store(0, std::sync::atomic::Ordering::Relaxed);
    if !std::mem::replace(&mut slot_ref.noted, true) {
        slot_ref.proc_.note_subprocess();
    }
    // SAFETY: the slot is in the proc's pool: live until the registration
    // ends with the generation.
    unsafe { process::register_other_child(slot_ref.proc_, slot) };
}

impl OtherChild for Slot {
    /// A daemon died, was lost, or Apache is restarting.
    unsafe fn event(slot: *mut Slot, event: ChildEvent) {
        // SAFETY: the slot is live for the generation (pool-owned).
        let slot_ref = unsafe { &mut *slot };
        let Some(registry) = super::registry() else {
            return;
        };
        match event {
            ChildEvent::Gone { status } => {
                process::unregister_other_child(slot);
                // The pid stays in `proc_` for APR's cleanup, which only
                // signals a pid that waitpid still reports as our running child.
                slot_ref.running = false;
                if httpd::mpm_stopping() {
                    return;
                }
                let lived = slot_ref.started.elapsed();
                let group = &registry.groups[slot_ref.group];
                let served = registry
                    .heartbeats
                    .slot(group.first_slot + slot_ref.index)
                    .served
                    .load(std::sync::atomic::Ordering::Relaxed)
                    != 0;
                slot_ref.quick_deaths = quick_deaths(slot_ref.quick_deaths, status, lived, served);
                let delay = restart_delay(slot_ref.quick_deaths);
                log_restart(registry, slot_ref, status, lived, delay);
                // SAFETY: the slot is live.
                unsafe { spawn(slot, delay) };
            }
            ChildEvent::Running => check_heartbeat(registry, slot_ref),
            ChildEvent::Restart => process::unregister_other_child(slot),
            ChildEvent::Other => {}
        }
    }
}

/// How long a daemon must live to have run fine even without completing a
/// request.
const RAN_FINE_AFTER: Duration = Duration::from_secs(10);

/// The restart back-off's count after a daemon of a slot ended with
/// `status` after `lived`, having completed a request (`served`) or not,
/// when `previous` daemons in a row had failed young.
///
/// The rule (README, docs/architecture.md): a daemon that failed young,
/// within 10 s and before completing any request, is probably failing at
/// start-up (a crash loop): each such death in a row waits longer before
/// the next attempt. A daemon that ran fine (it completed a request, or
/// lived 10 s) before dying is replaced at once and clears the count, so
/// an application that crashes now and then is never made to wait out a
/// back-off its start-up did not earn. One that recycled itself (status 0:
/// maximum-requests, a changed script...) did not fail.
fn quick_deaths(previous: u32, status: i32, lived: Duration, served: bool) -> u32 {
    if status != 0 && lived < RAN_FINE_AFTER && !served {
        previous.saturating_add(1)
    } else {
        0
    }
}

/// The wait before the next daemon after `quick_deaths` young failures in
/// a row: none for the first, then 1, 2, 4... up to 30 s.
fn restart_delay(quick_deaths: u32) -> Duration {
    if quick_deaths <= 1 {
        Duration::ZERO
    } else {
        Duration::from_secs((1u64 << (quick_deaths - 2).min(5)).min(30))
    }
}

fn log_restart(registry: &Registry, slot: &Slot, status: i32, lived: Duration, delay: Duration) {
    let group = &registry.groups[slot.group];
    // The MPM passes APR's exit code: the exit status, or the number of the
    // signal that killed the process, which cannot be told apart here. 0 is
    // a daemon that recycled itself.
    let how = match status {
        0 => "exited normally".to_owned(),
        n => format!("ended with exit status or signal {n}"),
    };
    log_parent(
        Level::Notice,
        &messages::format_line(
            group.context().with_daemon_pid(slot.proc_.pid() as u32),
            messages::DAEMON_RESTARTED,
            &format!(
                "the daemon process {how} after {:.1} s; starting a new one{}",
                lived.as_secs_f64(),
                if delay.is_zero() {
                    String::new()
                } else {
                    format!(
                        " in {} s ({} daemons in a row died within {} s without completing a request)",
                        delay.as_secs(),
                        slot.quick_deaths,
                        RAN_FINE_AFTER.as_secs()
                    )
                }
            ),
        ),
    );
}

/// Kills the daemon of `slot` if its heartbeat is older than deadlock-timeout:
/// it is stopped, or its Python is blocked.
fn check_heartbeat(registry: &Registry, slot: &Slot) {
    let group = &registry.groups[slot.group];
    if !slot.running {
        return;
    }
    let pid = slot.proc_.pid();
    let deadlock = group.settings.deadlock_timeout;
    let heartbeat = &registry.heartbeats.slot(group.first_slot + slot.index).beat;
    let beat = heartbeat.load(std::sync::atomic::Ordering::Relaxed);
    if pid > 0 && super::heartbeat_is_stale(beat, deadlock) {
        log_parent(
            Level::Error,
            &messages::format_line(
                group.context().with_daemon_pid(pid as u32),
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
    let slots = lock(&SLOTS).clone();
    for slot in slots {
        // SAFETY: the listed slots are live for the current generation (the
        // list is emptied with it), and only this thread touches them.
        let slot = unsafe { &*(slot as *const Slot) };
        check_heartbeat(registry, slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YOUNG: Duration = Duration::from_secs(2);

    #[test]
    fn a_crash_loop_backs_off() {
        let mut count = 0;
        let delays: Vec<u64> = (0..8)
            .map(|_| {
                count = quick_deaths(count, 7, YOUNG, false);
                restart_delay(count).as_secs()
            })
            .collect();
        assert_eq!(delays, [0, 1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn a_daemon_that_ran_fine_is_replaced_at_once() {
        // Deep in a back-off: a daemon that completed a request, or lived
        // long enough, clears it.
        assert_eq!(quick_deaths(6, 11, YOUNG, true), 0);
        assert_eq!(quick_deaths(6, 11, RAN_FINE_AFTER, false), 0);
        assert_eq!(restart_delay(0), Duration::ZERO);
        // Recycling itself is no failure.
        assert_eq!(quick_deaths(6, 0, YOUNG, false), 0);
    }
}
