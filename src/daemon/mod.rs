//! Daemon mode: WSGI applications in long-lived processes that Apache's
//! parent forks and supervises, reached from the Apache children over a
//! UNIX socket per process group.
//!
//! - `supervisor`: in the Apache parent: sockets, forking, restarting.
//! - `process` and `server`: in a daemon: privileges, Python, the accept
//!   loop; `worker`: the threads that run requests; `monitor`: recycling
//!   and the heartbeat; `shared`: the state these threads share.
//! - `channel_transport`: the daemon's `Transport` for the shared adapter.
//! - `client`: in the Apache children: relays a request to a daemon.
//! - `conn`: framed reading and writing on either end.
//! - `socket_buffers`: send-buffer-size and receive-buffer-size.

pub mod channel_transport;
pub mod client;
pub mod conn;
pub mod identity;
mod monitor;
pub mod process;
pub mod script_owner;
pub mod secret;
pub mod server;
mod shared;
mod socket_buffers;
pub mod supervisor;
mod worker;

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Duration;

use wsgi::config::DaemonGroup;
use wsgi::messages::LogContext;
use wsgi::python::StartupOptions;

use crate::unix::HeartbeatPages;

/// A daemon process group as this generation runs it.
pub struct GroupRuntime {
    pub settings: DaemonGroup,
    /// How Python starts in the group's daemons: the main server's options
    /// (mod_wsgi 6's wsgi_python_init reads them in the children and the
    /// daemons alike), with the `<WSGIInterpreterOptions>` sections that
    /// select the group over them and its `switch-interval=` over all.
    pub python_options: StartupOptions,
    /// `WSGIPythonPath` entries of the sections that select the group, added
    /// after its `python-path=`.
    pub python_path_layers: Vec<String>,
    /// The `<WSGIInterpreterOptions>` sections its sub-interpreters'
    /// options are resolved from.
    pub interpreter_sections: wsgi::config::InterpreterSections,
    pub socket_path: String,
    pub listener: OwnedFd,
    pub uid: u32,
    pub gid: u32,
    pub user_name: String,
    pub extra_gids: Vec<u32>,
    /// The only uid allowed to connect (socket-user, or Apache's User).
    pub socket_uid: u32,
    /// What a connection proves it knows before the daemon runs anything
    /// for it (`secret.rs`): in memory that outlives the generation.
    pub secret: &'static wsgi::channel::Secret,
    /// Scripts to load when a daemon starts, each with its application
    /// group (WSGIImportScript, WSGIScriptAlias with both process-group=
    /// and application-group=).
    pub preload: Vec<(String, String)>,
    /// How long a child waits for the daemon's next frame.
    pub read_timeout: Duration,
    /// How long a child waits for the response head (see [`header_wait`]).
    pub header_wait: Duration,
    /// Index of this group's first process in the heartbeat slots.
    pub first_slot: usize,
    /// The server whose configuration defines the group: which hosts'
    /// requests it serves (`routing`).
    pub home: GroupHome,
    /// In an Apache child: connections to the group's daemons kept open
    /// between requests.
    pub idle: Mutex<Vec<conn::Conn>>,
}

/// The server that defines a group, as the request-time check needs it.
pub struct GroupHome {
    /// The `server_rec`'s address, compared with a request's server.
    pub server: usize,
    pub in_main_server: bool,
    pub hostname: String,
}

/// How long a child waits for the response head: `read_timeout`, or less
/// with request-timeout. The daemon acts on request-timeout as scaled by its
/// threads (mod_wsgi 6), and an interrupted request has interrupt-timeout to
/// answer 504 itself; past both, the child answers 504 rather than wait for
/// the recycled daemon to close (mod_wsgi's child waits socket-timeout,
/// then gives 502). Computed once: it holds a logarithm.
pub(crate) fn header_wait(settings: &DaemonGroup, read_timeout: Duration) -> Duration {
    match settings.request_fire_threshold() {
        None => read_timeout,
        Some(threshold) => {
            read_timeout.min(threshold + Duration::from_secs(settings.interrupt_timeout))
        }
    }
}

impl GroupRuntime {
    pub fn listener_fd(&self) -> RawFd {
        self.listener.as_raw_fd()
    }

    /// Log context naming the group.
    pub fn context(&self) -> LogContext {
        LogContext::group(&self.settings.name)
    }
}

/// Every daemon group of this configuration generation. Built by the
/// parent in post_config and inherited, by fork, by the Apache children
/// and the daemons.
pub struct Registry {
    pub groups: Vec<GroupRuntime>,
    /// One heartbeat page per daemon process (`unix::monotonic_micros`),
    /// written by the daemon, read by the parent to find stopped or
    /// deadlocked daemons and to tell a crash loop from a daemon that ran.
    /// Each daemon keeps only its own page, the Apache children none.
    pub heartbeats: HeartbeatPages,
    /// `WSGIPythonHome`, for the groups without `python-home=`.
    pub python_home: Option<String>,
}

/// Whether a heartbeat (`unix::monotonic_micros` when it was written, 0:
/// none yet) is older than `deadlock_timeout` seconds. The one test of
/// staleness, for the daemon's own monitor and the parent alike.
pub fn heartbeat_is_stale(beat: u64, deadlock_timeout: u64) -> bool {
    deadlock_timeout > 0
        && beat > 0
        && crate::unix::monotonic_micros() > beat + deadlock_timeout * 1_000_000
}

static REGISTRY: AtomicPtr<Registry> = AtomicPtr::new(std::ptr::null_mut());

pub fn registry() -> Option<&'static Registry> {
    // SAFETY: the pointer is either NULL or a Registry owned by the current
    // configuration pool, which outlives every request and daemon of it.
    unsafe { REGISTRY.load(Ordering::Acquire).as_ref() }
}

pub(crate) fn set_registry(registry: *mut Registry) {
    REGISTRY.store(registry, Ordering::Release);
}

/// In an Apache child: the daemons' listening sockets are theirs alone, so
/// that code running in the child cannot accept connections meant for a
/// daemon group (as mod_wsgi closes them too). Each descriptor is pointed
/// at /dev/null rather than closed: the registry still owns it.
pub fn release_listeners() {
    if let Some(registry) = registry() {
        let _ = crate::unix::release_to_dev_null(registry.groups.iter().map(|g| g.listener_fd()));
    }
}

/// In an Apache child: the daemons' heartbeats are the parent's and their
/// own; code running in the child must not be able to write them (it would
/// make the parent kill a daemon as deadlocked, or hide a deadlock).
pub fn release_heartbeats() {
    if let Some(registry) = registry() {
        registry.heartbeats.release_all();
    }
}

pub fn find_group(name: &str) -> Option<&'static GroupRuntime> {
    registry()?.groups.iter().find(|g| g.settings.name == name)
}

/// The group's socket, named as mod_wsgi names it (with a hash of the group
/// name where mod_wsgi puts the group's index): `rotation` is the restart
/// generation (`WSGISocketRotation On`) or `u` and the daemons' uid (Off:
/// the same name across restarts, so an old generation's children reach
/// the new daemons).
pub fn socket_path(prefix: &str, parent_pid: i32, rotation: &str, group: &str) -> String {
    let hash = wsgi::fnv::fnv1a(group.as_bytes());
    format!("{prefix}.{parent_pid}.{rotation}.{hash:08x}.sock")
}
