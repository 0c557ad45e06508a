//! The thin layer over the operating system that daemon mode needs beyond
//! std: UNIX sockets with credentials and descriptor passing, privileges,
//! signals, epoll, and shared memory. Every `unsafe` block here is a plain
//! libc call with its preconditions stated.

mod event;
mod heartbeat;
mod process;
mod socket;

pub use event::{Epoll, Waker};
pub use heartbeat::{HeartbeatPages, HeartbeatSlot};
pub use process::*;
pub use socket::*;

use std::io;

fn check(rv: libc::c_int) -> io::Result<libc::c_int> {
    if rv < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rv)
    }
}

/// Points each descriptor at /dev/null (close-on-exec), so that this
/// process no longer holds what they referred to (a listening socket, say)
/// while their owner, which may still close them, keeps valid descriptors.
pub fn release_to_dev_null(fds: impl IntoIterator<Item = std::os::fd::RawFd>) -> io::Result<()> {
    // SAFETY: opening /dev/null; checked.
    let null =
        check(unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })?;
    for fd in fds {
        // SAFETY: replaces the descriptor atomically; `fd` stays open, so
        // its owner's later close is still right.
        unsafe { libc::dup3(null, fd, libc::O_CLOEXEC) };
    }
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(null) };
    Ok(())
}

/// Fills `buf` from the kernel's random source (getrandom(2), which blocks
/// only until the pool is first seeded, early at boot).
pub fn random_bytes(buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: writes at most rest.len() bytes into `rest`.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        filled += n as usize;
    }
    Ok(())
}
