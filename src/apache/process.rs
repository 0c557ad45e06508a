//! Processes as APR and Apache see them: forking a daemon, noting it with a
//! pool so that APR stops it with the generation, the "other child"
//! callbacks that report its death, and the identity Apache's children run as.

use std::ffi::{c_int, c_void};

use super::bindings::{self, apr_proc_t};
use super::guard::guarded;
use super::pool::Pool;
use super::strings;

/// An `apr_proc_t` in pool memory: APR reads it during the pool's cleanup
/// (to signal and reap a noted process), after any Rust value the pool owns
/// is gone, so it cannot live in one.
/// Like a [`Pool`], the handle must not be used after its pool is cleared.
#[derive(Clone, Copy)]
pub struct PoolProc {
    raw: *mut apr_proc_t,
    pool: Pool,
}

impl PoolProc {
    /// A zeroed process struct in `pool`.
    pub fn new(pool: Pool) -> PoolProc {
        PoolProc {
            raw: pool.alloc_copy(apr_proc_t::default()),
            pool,
        }
    }

    pub fn pid(self) -> i32 {
        // SAFETY: pool memory, live while the pool is (`Pool`).
        unsafe { (*self.raw).pid }
    }

    /// Stores `forked` here, the struct APR sees from now on.
    pub fn adopt(self, forked: Forked) {
        // SAFETY: as in `pid`; nothing holds a reference into it.
        unsafe { *self.raw = forked.0 };
    }

    /// Has APR signal and reap the process when the pool is cleared
    /// (SIGTERM, then SIGKILL after a timeout). Note it once: APR keeps a
    /// list.
    pub fn note_subprocess(self) {
        // SAFETY: the pool is live and the proc is its memory (`new`), as
        // APR requires: it reads the struct during the pool's cleanup.
        unsafe {
            bindings::apr_pool_note_subprocess(
                self.pool.as_ptr(),
                self.raw,
                bindings::apr_kill_conditions_e_APR_KILL_AFTER_TIMEOUT,
            )
        };
    }
}

/// A process `fork` created, not yet stored anywhere APR looks.
pub struct Forked(apr_proc_t);

pub enum Fork {
    /// In the new process.
    Child,
    Parent(Forked),
    Failed,
}

/// Forks this process through APR (which runs its own fork bookkeeping).
pub fn fork(pool: Pool) -> Fork {
    // apr_proc_fork zeroes the struct before forking: a local one, so that a
    // failed fork does not touch a noted one (see `PoolProc`).
    let mut forked = apr_proc_t::default();
    // SAFETY: apr_proc_fork fills the struct; the pool is live (`Pool`).
    let rv = unsafe { bindings::apr_proc_fork(&mut forked, pool.as_ptr()) };
    if rv == bindings::APR_INCHILD as i32 {
        Fork::Child
    } else if rv == bindings::APR_INPARENT as i32 {
        Fork::Parent(Forked(forked))
    } else {
        Fork::Failed
    }
}

/// What APR reports about a registered other child.
pub enum ChildEvent {
    /// It died (APR passes the exit status or the signal number), or it was
    /// lost: waitpid no longer knows it.
    Gone { status: i32 },
    /// APR's periodic check.
    Running,
    /// Apache is restarting.
    Restart,
    /// Anything else (unregistered, unwritable pipe): nothing to do.
    Other,
}

/// The owner of an other-child registration: `event` is called with the
/// pointer given to `register_other_child`.
pub trait OtherChild {
    /// # Safety
    /// `this` is the pointer registered, live while it is registered.
    unsafe fn event(this: *mut Self, event: ChildEvent);
}

unsafe extern "C" fn maintenance<T: OtherChild>(reason: c_int, data: *mut c_void, status: c_int) {
    let event = match reason as u32 {
        bindings::APR_OC_REASON_DEATH | bindings::APR_OC_REASON_LOST => ChildEvent::Gone { status },
        bindings::APR_OC_REASON_RUNNING => ChildEvent::Running,
        bindings::APR_OC_REASON_RESTART => ChildEvent::Restart,
        _ => ChildEvent::Other,
    };
    // SAFETY: APR passes back the pointer registered with this callback,
    // live while registered (`register_other_child`).
    guarded("daemon maintenance", (), || unsafe {
        T::event(data.cast::<T>(), event)
    });
}

/// Asks APR to report on the process in `proc_` through `T::event(data, _)`,
/// until unregistered or the proc's pool is cleared.
///
/// # Safety
/// `data` must stay valid until then.
pub unsafe fn register_other_child<T: OtherChild>(proc_: PoolProc, data: *mut T) {
    // SAFETY: the proc and its pool are live (`PoolProc`) and `data`
    // outlives the registration (caller); the callback matches APR's
    // signature.
    unsafe {
        bindings::apr_proc_other_child_register(
            proc_.raw,
            Some(maintenance::<T>),
            data.cast(),
            std::ptr::null_mut(),
            proc_.pool.as_ptr(),
        )
    };
}

/// Ends the registration made with `data`.
pub fn unregister_other_child<T>(data: *mut T) {
    // SAFETY: APR only compares the pointer with its registrations.
    unsafe { bindings::apr_proc_other_child_unregister(data.cast()) };
}

/// In a forked daemon: closes Apache's own listening sockets (port 80 ...),
/// which are the Apache children's business.
pub fn close_listeners() {
    // SAFETY: closes this process's copies of Apache's listeners; no
    // listener is used in a daemon.
    unsafe { bindings::ap_close_listeners() };
}

/// The `User` and `Group` Apache's children switch to when Apache starts
/// as root: (uid, gid, user name). Read in post_config or later.
pub fn configured_identity() -> (u32, u32, String) {
    // SAFETY: ap_unixd_config is initialised while the configuration is
    // read, before post_config, and is not written afterwards.
    unsafe {
        let cfg = std::ptr::addr_of!(bindings::ap_unixd_config);
        (
            (*cfg).user_id,
            (*cfg).group_id,
            strings::text((*cfg).user_name).into_owned(),
        )
    }
}

/// Apache's `argv[0]`, the start of the kernel's command-line memory
/// (Apache replaces its other `argv` entries with copies when it rewrites
/// the arguments for the MPM, so only this one is the kernel's).
pub fn argv0() -> Option<*mut u8> {
    let main = super::server::main_server();
    // SAFETY: the main server and its process_rec live for the process's
    // life; argv holds argc pointers.
    unsafe {
        let process = main.as_ref()?.process.as_ref()?;
        if process.argv.is_null() || process.argc < 1 {
            return None;
        }
        let first = *process.argv;
        (!first.is_null()).then_some(first.cast_mut().cast::<u8>())
    }
}
