//! The thin layer over the operating system that daemon mode needs beyond
//! std: UNIX sockets with credentials and descriptor passing, privileges,
//! signals, epoll, and shared memory. Every `unsafe` block here is a plain
//! libc call with its preconditions stated.

mod event;
mod process;
mod socket;

pub use event::{Epoll, SharedSlots, Waker};
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
