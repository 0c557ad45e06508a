//! UNIX stream sockets: listening, connecting with a deadline, peer
//! credentials, and passing descriptors.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::check;

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
    peer_credentials(stream).map(|cred| cred.uid)
}

/// The pid of the process at the other end of a UNIX socket (as the
/// kernel saw it connect, unlike the pid a peer claims in its Hello).
pub fn peer_pid(stream: &UnixStream) -> io::Result<u32> {
    peer_credentials(stream).map(|cred| cred.pid as u32)
}

fn peer_credentials(stream: &UnixStream) -> io::Result<libc::ucred> {
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
    Ok(cred)
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

/// Room for the control messages of one `sendmsg`/`recvmsg`: up to
/// `MAX_FDS` descriptors, on the stack (cmsg headers need 8-byte alignment).
const MAX_FDS: usize = 4;
type ControlBuffer = [u64; 8];

/// A message header for one buffer and `space` bytes of `control`.
fn message_header(iov: &mut libc::iovec, control: &mut ControlBuffer, fds: usize) -> libc::msghdr {
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE((fds * std::mem::size_of::<RawFd>()) as u32) } as usize;
    debug_assert!(space <= std::mem::size_of::<ControlBuffer>());
    // SAFETY: msghdr is plain data.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space;
    msg
}

/// Sends `data` with `fd` attached as SCM_RIGHTS.
pub fn send_with_fd(stream: &UnixStream, data: &[u8], fd: RawFd) -> io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let mut control: ControlBuffer = [0; 8];
    let msg = message_header(&mut iov, &mut control, 1);
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
    // On the stack: this runs for every read of a channel connection.
    let mut control: ControlBuffer = [0; 8];
    let mut msg = message_header(&mut iov, &mut control, MAX_FDS);
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

/// Sets a receive timeout on a socket (0 = none).
pub fn set_read_timeout(stream: &UnixStream, timeout: Option<Duration>) -> io::Result<()> {
    stream.set_read_timeout(timeout.filter(|t| !t.is_zero()))
}

/// Which of a socket's kernel buffers.
#[derive(Clone, Copy, Debug)]
pub enum SocketBuffer {
    Send,
    Receive,
}

/// Sets SO_SNDBUF or SO_RCVBUF (the kernel doubles the value, and caps it
/// at net.core.wmem_max/rmem_max).
pub fn set_buffer_size(fd: RawFd, which: SocketBuffer, size: u32) -> io::Result<()> {
    let option = match which {
        SocketBuffer::Send => libc::SO_SNDBUF,
        SocketBuffer::Receive => libc::SO_RCVBUF,
    };
    let value = size.min(i32::MAX as u32) as libc::c_int;
    // SAFETY: `value` is a c_int that lives across the call, of the size given.
    check(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// Whether `fd` has something to read (or its peer closed) within
/// `timeout`; a zero timeout only looks.
pub fn wait_readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    let mut pollfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    loop {
        // SAFETY: one valid pollfd, as the count says.
        let n = unsafe { libc::poll(&mut pollfd, 1, millis) };
        if n >= 0 {
            return Ok(n > 0);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}
