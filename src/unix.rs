//! The thin layer over the operating system that daemon mode needs beyond
//! std: UNIX sockets with credentials and descriptor passing, privileges,
//! signals, epoll, and the process title. Every `unsafe` block here is a
//! plain libc call with its preconditions stated.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

fn check(rv: libc::c_int) -> io::Result<libc::c_int> {
    if rv < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rv)
    }
}

fn sockaddr(path: &str) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: sockaddr_un is plain data; all-zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_bytes();
    if bytes.len() >= addr.sun_path.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("socket path too long: {path}"),
        ));
    }
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    Ok((
        addr,
        std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
    ))
}

/// Creates a listening UNIX socket at `path` (replacing a stale one), owned
/// by `owner` and accessible only to it (mode 0600).
pub fn listen(path: &str, backlog: u32, owner: Option<(u32, u32)>) -> io::Result<OwnedFd> {
    let (addr, len) = sockaddr(path)?;
    let _ = std::fs::remove_file(path);
    // SAFETY: creating a socket has no memory preconditions.
    let fd =
        check(unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` was just created and is owned from here on.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: addr/len describe a valid sockaddr_un.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_un).cast(),
            len,
        )
    })?;
    let c_path = CString::new(path)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    if let Some((uid, gid)) = owner {
        // SAFETY: c_path is a valid C string.
        check(unsafe { libc::chown(c_path.as_ptr(), uid, gid) })?;
    }
    // SAFETY: as above.
    check(unsafe { libc::chmod(c_path.as_ptr(), 0o600) })?;
    // SAFETY: `fd` is a bound socket.
    check(unsafe { libc::listen(fd.as_raw_fd(), backlog.min(i32::MAX as u32) as libc::c_int) })?;
    Ok(fd)
}

/// Connects to the UNIX socket at `path`, retrying while the daemon is not
/// there yet (ENOENT, ECONNREFUSED) or its backlog is full (EAGAIN), until
/// `timeout` has passed.
pub fn connect(path: &str, timeout: Duration) -> io::Result<UnixStream> {
    let (addr, len) = sockaddr(path)?;
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        // SAFETY: no memory preconditions.
        let fd = check(unsafe {
            libc::socket(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        })?;
        // SAFETY: freshly created, owned from here on.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: addr/len describe a valid sockaddr_un.
        let rv = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_un).cast(),
                len,
            )
        };
        if rv == 0 {
            set_blocking(fd.as_raw_fd())?;
            return Ok(UnixStream::from(fd));
        }
        let err = io::Error::last_os_error();
        let retry = matches!(
            err.raw_os_error(),
            Some(libc::ENOENT | libc::ECONNREFUSED | libc::EAGAIN)
        );
        if !retry || Instant::now() + pause > deadline {
            return Err(err);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

fn set_blocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a valid descriptor.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) })?;
    Ok(())
}

/// The uid of the process at the other end of a UNIX socket.
pub fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    // SAFETY: ucred is plain data.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred/len describe a buffer of the size SO_PEERCRED writes.
    check(unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    })?;
    Ok(cred.uid)
}

/// Accepts one connection; `None` when none is pending (non-blocking listener).
pub fn accept(listener: RawFd) -> io::Result<Option<UnixStream>> {
    // SAFETY: accept4 on a listening socket; NULL address is allowed.
    let fd = unsafe {
        libc::accept4(
            listener,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_CLOEXEC,
        )
    };
    if fd < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::EAGAIN | libc::EINTR | libc::ECONNABORTED) => Ok(None),
            _ => Err(err),
        };
    }
    // SAFETY: accept4 returned a new descriptor we now own.
    Ok(Some(UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) })))
}

pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a valid descriptor.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    Ok(())
}

/// True when a pooled connection is still usable: nothing to read (the peer
/// has not closed it nor said goodbye).
pub fn is_idle_and_open(stream: &UnixStream) -> bool {
    let mut byte = [0u8; 1];
    // SAFETY: recv into a 1-byte buffer, peeking, without blocking.
    let rv = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            byte.as_mut_ptr().cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    rv < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN)
}

/// Sends `data` with `fd` attached as SCM_RIGHTS.
pub fn send_with_fd(stream: &UnixStream, data: &[u8], fd: RawFd) -> io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: msghdr is plain data.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: the control buffer has room for one cmsg carrying one fd.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
    }
    let sent = loop {
        // SAFETY: msg points at live iov and control buffers.
        let n = unsafe { libc::sendmsg(stream.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if n >= 0 {
            break n as usize;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    };
    // The descriptor went with the first bytes; the rest follows plainly.
    use std::io::Write;
    (&*stream).write_all(&data[sent..])
}

/// Reads into `buf`, collecting any descriptors passed with the data.
pub fn recv_with_fds(
    stream: &UnixStream,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: pure size computation.
    let space = unsafe { libc::CMSG_SPACE((4 * std::mem::size_of::<RawFd>()) as u32) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: msghdr is plain data.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space;
    let n = loop {
        // SAFETY: msg points at live buffers of the stated sizes.
        let n = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    };
    // SAFETY: walking the control messages the kernel wrote into `control`.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                let count =
                    ((*cmsg).cmsg_len - libc::CMSG_LEN(0) as usize) / std::mem::size_of::<RawFd>();
                for i in 0..count {
                    fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i))));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(n)
}

/// Drops root: group, supplementary groups, then user.
pub fn drop_privileges(
    uid: u32,
    gid: u32,
    user_name: &str,
    extra_groups: &[u32],
) -> io::Result<()> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    // SAFETY: setgid/initgroups/setgroups/setuid with valid arguments.
    unsafe {
        check(libc::setgid(gid))?;
        let name = CString::new(user_name).unwrap_or_default();
        check(libc::initgroups(name.as_ptr(), gid))?;
        if !extra_groups.is_empty() {
            let mut groups: Vec<libc::gid_t> = Vec::new();
            let n = libc::getgroups(0, std::ptr::null_mut());
            if n > 0 {
                groups.resize(n as usize, 0);
                libc::getgroups(n, groups.as_mut_ptr());
            }
            groups.extend_from_slice(extra_groups);
            check(libc::setgroups(groups.len(), groups.as_ptr()))?;
        }
        check(libc::setuid(uid))?;
    }
    Ok(())
}

/// The home directory of `uid` from the password database.
pub fn home_of(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: passwd is plain data; getpwuid_r writes into our buffers.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: all pointers are to live buffers of the stated sizes.
    let rv = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rv != 0 || result.is_null() || pwd.pw_dir.is_null() {
        return None;
    }
    // SAFETY: pw_dir points into `buf`, NUL-terminated.
    Some(
        unsafe { std::ffi::CStr::from_ptr(pwd.pw_dir) }
            .to_string_lossy()
            .into_owned(),
    )
}

pub fn set_umask(mask: u32) {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) };
}

/// Sets the thread/process name shown by `ps -o comm` and `top` (15 bytes).
pub fn set_process_name(name: &str) {
    let name = CString::new(name.chars().take(15).collect::<String>()).unwrap_or_default();
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr(), 0, 0, 0) };
}

/// Blocks the shutdown and restart signals in this thread (and threads it
/// starts later), so a dedicated thread can wait for them with `sigwait`.
pub fn block_control_signals() -> libc::sigset_t {
    // SAFETY: sigset manipulation on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGHUP,
            libc::SIGUSR1,
            libc::SIGXCPU,
        ] {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Restores default dispositions for signals Apache's parent handles, so
/// the daemon does not run Apache's handlers.
pub fn reset_signal_handlers() {
    for s in [
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGXCPU,
        libc::SIGCHLD,
        libc::SIGALRM,
        libc::SIGWINCH,
    ] {
        // SAFETY: installing the default disposition.
        unsafe { libc::signal(s, libc::SIG_DFL) };
    }
    // SAFETY: ignoring SIGPIPE: writes to a closed socket return EPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // SAFETY: unblock everything the parent may have blocked.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Waits for one of the signals in `set` (blocked beforehand).
pub fn wait_signal(set: &libc::sigset_t) -> i32 {
    let mut sig = 0;
    // SAFETY: `set` is an initialised signal set.
    unsafe { libc::sigwait(set, &mut sig) };
    sig
}

pub fn kill(pid: i32, signal: i32) -> bool {
    // SAFETY: kill has no memory preconditions.
    unsafe { libc::kill(pid, signal) == 0 }
}

pub fn getpid() -> i32 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

/// Ends the process at once: a forked daemon must not run the pool
/// cleanups it inherited from Apache's parent.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and has no preconditions.
    unsafe { libc::_exit(code) }
}

/// Resident set size of this process, in bytes.
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf cannot fail for _SC_PAGESIZE.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

/// CPU time (user + system) used by this process, in seconds.
pub fn cpu_seconds() -> u64 {
    // SAFETY: rusage is plain data that getrusage fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    // Added up in microseconds: truncating each part to whole seconds first
    // would lose up to two seconds.
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    (micros(usage.ru_utime) + micros(usage.ru_stime)) / 1_000_000
}

/// A minimal epoll set: readiness of connections (one-shot) and the listener.
pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: no memory preconditions.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: freshly created and owned.
        Ok(Epoll {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    fn ctl(&self, op: i32, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: token };
        // SAFETY: a valid epoll descriptor and event struct.
        check(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut event) })?;
        Ok(())
    }

    pub fn add_listener(&self, fd: RawFd, token: u64) -> io::Result<()> {
        self.ctl(
            libc::EPOLL_CTL_ADD,
            fd,
            (libc::EPOLLIN | libc::EPOLLEXCLUSIVE) as u32,
            token,
        )
    }

    pub fn add_oneshot(&self, fd: RawFd, token: u64) -> io::Result<()> {
        self.ctl(
            libc::EPOLL_CTL_ADD,
            fd,
            (libc::EPOLLIN | libc::EPOLLONESHOT | libc::EPOLLRDHUP) as u32,
            token,
        )
    }

    pub fn rearm(&self, fd: RawFd, token: u64) -> io::Result<()> {
        self.ctl(
            libc::EPOLL_CTL_MOD,
            fd,
            (libc::EPOLLIN | libc::EPOLLONESHOT | libc::EPOLLRDHUP) as u32,
            token,
        )
    }

    pub fn remove(&self, fd: RawFd) {
        let _ = self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0);
    }

    /// Waits up to `timeout` and returns the ready tokens.
    pub fn wait(&self, timeout: Duration, tokens: &mut Vec<u64>) -> io::Result<()> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 64];
        // SAFETY: the buffer holds 64 events.
        let n = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                events.as_mut_ptr(),
                64,
                timeout.as_millis().min(i32::MAX as u128) as i32,
            )
        };
        tokens.clear();
        if n < 0 {
            let err = io::Error::last_os_error();
            return if err.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(err)
            };
        }
        tokens.extend(events[..n as usize].iter().map(|e| e.u64));
        Ok(())
    }
}

/// An eventfd used to wake the epoll loop from another thread.
pub struct Waker {
    fd: OwnedFd,
}

impl Waker {
    pub fn new() -> io::Result<Waker> {
        // SAFETY: no memory preconditions.
        let fd = check(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: freshly created and owned.
        Ok(Waker {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writing 8 bytes from a live u64.
        unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }
    pub fn drain(&self) {
        let mut value: u64 = 0;
        // SAFETY: reading 8 bytes into a live u64.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }
}

/// Sets a receive timeout on a socket (0 = none).
pub fn set_read_timeout(stream: &UnixStream, timeout: Option<Duration>) -> io::Result<()> {
    stream.set_read_timeout(timeout.filter(|t| !t.is_zero()))
}

/// A user name (or `#uid`) to (uid, primary gid).
pub fn lookup_user(name: &str) -> Option<(u32, u32)> {
    if let Some(number) = name.strip_prefix('#') {
        let uid: u32 = number.parse().ok()?;
        return Some((uid, primary_gid_of(uid).unwrap_or(uid)));
    }
    let c_name = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: passwd is plain data; getpwnam_r writes into our buffers.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: all pointers refer to live buffers of the stated sizes.
    let rv = unsafe {
        libc::getpwnam_r(
            c_name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rv == 0 && !result.is_null()).then_some((pwd.pw_uid, pwd.pw_gid))
}

fn primary_gid_of(uid: u32) -> Option<u32> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: as in lookup_user.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: as in lookup_user.
    let rv = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    (rv == 0 && !result.is_null()).then_some(pwd.pw_gid)
}

/// A group name (or `#gid`) to its gid.
pub fn lookup_group(name: &str) -> Option<u32> {
    if let Some(number) = name.strip_prefix('#') {
        return number.parse().ok();
    }
    let c_name = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: group is plain data; getgrnam_r writes into our buffers.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: all pointers refer to live buffers of the stated sizes.
    let rv = unsafe {
        libc::getgrnam_r(
            c_name.as_ptr(),
            &mut grp,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rv == 0 && !result.is_null()).then_some(grp.gr_gid)
}

/// Counters shared between the Apache parent and the processes it forks
/// (daemon heartbeats), in an anonymous shared mapping.
pub struct SharedSlots {
    ptr: *mut std::sync::atomic::AtomicU64,
    len: usize,
}

// SAFETY: the slots are atomics; the mapping lives as long as the value.
unsafe impl Send for SharedSlots {}
// SAFETY: as above.
unsafe impl Sync for SharedSlots {}

impl SharedSlots {
    pub fn new(len: usize) -> io::Result<SharedSlots> {
        let bytes = (len.max(1) * 8).next_multiple_of(4096);
        // SAFETY: an anonymous shared mapping; checked for MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(SharedSlots {
            ptr: ptr.cast(),
            len,
        })
    }

    pub fn slot(&self, index: usize) -> &std::sync::atomic::AtomicU64 {
        assert!(index < self.len, "heartbeat slot out of range");
        // SAFETY: in bounds of the zero-initialised mapping; AtomicU64 is
        // valid for any bit pattern.
        unsafe { &*self.ptr.add(index) }
    }
}

impl Drop for SharedSlots {
    fn drop(&mut self) {
        let bytes = (self.len.max(1) * 8).next_multiple_of(4096);
        // SAFETY: unmapping exactly what `new` mapped.
        unsafe { libc::munmap(self.ptr.cast(), bytes) };
    }
}

/// Seconds since the epoch, for heartbeats.
pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
