//! The process: identity and privileges, signals, limits, time.

use std::ffi::CString;
use std::io;

use super::check;

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

/// `chroot(root)`, then `chdir("/")` so that no directory outside the new
/// root stays reachable through the working directory.
pub fn change_root(root: &str) -> io::Result<()> {
    let root = CString::new(root).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: chroot and chdir read NUL-terminated paths.
    unsafe {
        check(libc::chroot(root.as_ptr()))?;
        check(libc::chdir(c"/".as_ptr()))?;
    }
    Ok(())
}

/// `setpriority(PRIO_PROCESS, 0, nice)`: this process's nice value, as
/// mod_wsgi's `cpu-priority=`.
pub fn set_cpu_priority(nice: i32) -> io::Result<()> {
    // SAFETY: setpriority has no memory preconditions.
    check(unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) }).map(|_| ())
}

/// RLIMIT_AS, soft and hard, as mod_wsgi's `virtual-memory-limit=`.
pub fn set_address_space_limit(bytes: u64) -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: a valid pointer to an rlimit.
    check(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }).map(|_| ())
}

/// The stack the C library gives a thread created without a size (what
/// mod_wsgi's daemon threads and Apache's own get): glibc takes the soft
/// RLIMIT_STACK, or 2 MiB when that is unlimited.
pub fn default_thread_stack_size() -> usize {
    const UNLIMITED_DEFAULT: usize = 2 << 20;
    // SAFETY: rlimit is plain data that getrlimit fills.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to an rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return UNLIMITED_DEFAULT;
    }
    usize::try_from(limit.rlim_cur).unwrap_or(UNLIMITED_DEFAULT)
}

/// The name of `uid` in the password database.
pub fn user_name(uid: u32) -> Option<String> {
    passwd_entry(Who::Uid(uid)).map(|p| p.name)
}

/// The name of `gid` in the group database.
pub fn group_name(gid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: group is plain data; getgrgid_r writes into our buffers.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: all pointers refer to live buffers of the stated sizes.
    let rv = unsafe { libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rv != 0 || result.is_null() || grp.gr_name.is_null() {
        return None;
    }
    // SAFETY: a non-NULL gr_name points into `buf`, NUL-terminated.
    Some(
        unsafe { std::ffi::CStr::from_ptr(grp.gr_name) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// The home directory of `uid` from the password database.
pub fn home_of(uid: u32) -> Option<String> {
    passwd_entry(Who::Uid(uid))?.home
}

pub fn set_umask(mask: u32) {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) };
}

/// The kernel's command-line memory of this process (what
/// /proc/PID/cmdline, `ps -o args` and `top -c` show): from `arg_start` to
/// `arg_end` of /proc/self/stat, provided it starts at `argv0`.
///
/// # Safety
/// `argv0` is this process's `argv[0]`, and the caller is the only user of
/// the memory from now on (nothing reads the program's arguments again).
pub unsafe fn command_line_area(argv0: *mut u8) -> Option<&'static mut [u8]> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields 48 and 49 (Linux 3.5+); comm, field 2, may hold spaces and
    // parentheses, so count from the last ')': field 3 comes first there.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let start: usize = fields.get(48 - 3)?.parse().ok()?;
    let end: usize = fields.get(49 - 3)?.parse().ok()?;
    if start != argv0 as usize || end <= start {
        return None;
    }
    // SAFETY: the kernel reports [start, end) as this process's argument
    // strings, mapped and writable for its whole life; the caller promises
    // nobody else uses them.
    Some(unsafe { std::slice::from_raw_parts_mut(argv0, end - start) })
}

/// Sets the process title as mod_wsgi's `display-name` does, and more
/// fully: `area` (from [`command_line_area`]) gets `title`, cut to fit,
/// and NULs after it, so `ps -o args`, `top -c` and /proc/PID/cmdline show
/// the title alone (mod_wsgi pads argv[0] with spaces, which cuts a title
/// longer than Apache's binary path and leaves Apache's other arguments
/// shown). The kernel's `comm` (`ps -o comm`, 15 bytes) is set too.
pub fn set_process_title(area: Option<&mut [u8]>, title: &str) {
    if let Some(area) = area.filter(|a| !a.is_empty()) {
        // One byte is kept for the terminating NUL.
        let n = title.len().min(area.len() - 1);
        area[..n].copy_from_slice(&title.as_bytes()[..n]);
        area[n..].fill(0);
    }
    set_process_name(title);
}

/// Sets the thread/process name shown by `ps -o comm` and `top` (15 bytes).
pub fn set_process_name(name: &str) {
    let name = CString::new(name.chars().take(15).collect::<String>()).unwrap_or_default();
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr(), 0, 0, 0) };
}

/// `setlocale(LC_ALL, name)`, as mod_wsgi does for a daemon's `locale=`;
/// false when the C library has no such locale (nothing then changes).
pub fn set_locale(name: &str) -> bool {
    let Ok(name) = CString::new(name) else {
        return false;
    };
    // SAFETY: setlocale reads a NUL-terminated string; called while the
    // daemon is still single-threaded.
    !unsafe { libc::setlocale(libc::LC_ALL, name.as_ptr()) }.is_null()
}

/// The signals that stop or restart a daemon: Apache's, and the kernel's
/// SIGXCPU when cpu-time-limit is reached.
const CONTROL_SIGNALS: [i32; 5] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGUSR1,
    libc::SIGXCPU,
];

/// Blocks the shutdown and restart signals in this thread (and threads it
/// starts later), so a dedicated thread can wait for them with `sigwait`.
pub fn block_control_signals() -> libc::sigset_t {
    // SAFETY: sigset manipulation on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in CONTROL_SIGNALS {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Restores default dispositions for signals Apache's parent handles, so
/// the daemon does not run Apache's handlers.
pub fn reset_signal_handlers() {
    let others = [libc::SIGCHLD, libc::SIGALRM, libc::SIGWINCH];
    for s in CONTROL_SIGNALS.into_iter().chain(others) {
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

/// The effective (uid, gid) when the process is not root, None when it is.
pub fn unprivileged_ids() -> Option<(u32, u32)> {
    // SAFETY: geteuid and getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    (uid != 0).then_some((uid, gid))
}

/// Which password-database entry to look up.
enum Who<'a> {
    Name(&'a str),
    Uid(u32),
}

struct Passwd {
    name: String,
    uid: u32,
    gid: u32,
    home: Option<String>,
}

fn passwd_entry(who: Who<'_>) -> Option<Passwd> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: passwd is plain data; the lookup writes into our buffers.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    let rv = match who {
        Who::Name(name) => {
            let c_name = CString::new(name).ok()?;
            // SAFETY: all pointers refer to live buffers of the stated sizes.
            unsafe {
                libc::getpwnam_r(
                    c_name.as_ptr(),
                    &mut pwd,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut result,
                )
            }
        }
        // SAFETY: as above.
        Who::Uid(uid) => unsafe {
            libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result)
        },
    };
    if rv != 0 || result.is_null() {
        return None;
    }
    // SAFETY: a non-NULL pw_dir points into `buf`, NUL-terminated.
    let home = (!pwd.pw_dir.is_null()).then(|| {
        unsafe { std::ffi::CStr::from_ptr(pwd.pw_dir) }
            .to_string_lossy()
            .into_owned()
    });
    let name = if pwd.pw_name.is_null() {
        String::new()
    } else {
        // SAFETY: a non-NULL pw_name points into `buf`, NUL-terminated.
        unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) }
            .to_string_lossy()
            .into_owned()
    };
    Some(Passwd {
        name,
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
        home,
    })
}

/// A user name (or `#uid`) to (uid, primary gid).
pub fn lookup_user(name: &str) -> Option<(u32, u32)> {
    match name.strip_prefix('#') {
        Some(number) => {
            let uid: u32 = number.parse().ok()?;
            Some((uid, passwd_entry(Who::Uid(uid)).map_or(uid, |p| p.gid)))
        }
        None => passwd_entry(Who::Name(name)).map(|p| (p.uid, p.gid)),
    }
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

/// Microseconds on CLOCK_MONOTONIC, for times one process stamps and
/// another compares (heartbeats, queue-timeout). That clock is one for the
/// whole machine and never steps: the wall clock can jump by seconds when
/// it is set (at boot, or a virtual machine's resume), and a jump forward
/// made every daemon look deadlocked and every queued request overdue.
pub fn monotonic_micros() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to fill; CLOCK_MONOTONIC always
    // exists on Linux, so the call cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000 + now.tv_nsec as u64 / 1_000
}
