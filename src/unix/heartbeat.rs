//! The daemons' heartbeats: memory shared between the Apache parent and
//! each daemon it forks, one page per daemon process.
//!
//! The parent maps every page and reads them all. Right after the fork,
//! each daemon unmaps every page but its own, and each Apache child unmaps
//! them all, before any application code runs: an application can then
//! write over its own daemon's heartbeat at most, and cannot make the
//! parent kill another daemon as deadlocked (nor hide another's deadlock).
//! Pages, not words of one page: a mapping is given up whole pages at a
//! time.

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// What one daemon writes and the parent reads.
#[repr(C)]
pub struct HeartbeatSlot {
    /// `monotonic_micros` when the daemon last proved its Python answers
    /// (0: none yet).
    pub beat: AtomicU64,
    /// Nonzero once the daemon has completed a request: the parent's
    /// restart back-off tells a crash loop from a daemon that ran.
    pub served: AtomicU64,
}

/// `mapped` when this process maps every page (the parent).
const ALL: usize = usize::MAX;
/// `mapped` when it maps none (an Apache child).
const NONE: usize = usize::MAX - 1;

/// One page per daemon process, in one anonymous shared mapping.
pub struct HeartbeatPages {
    base: *mut u8,
    page: usize,
    len: usize,
    /// Which pages this process still maps: ALL, NONE, or the index of the
    /// one it kept.
    mapped: AtomicUsize,
}

// SAFETY: the slots are atomics; the mapping lives as long as the value,
// and what is unmapped is recorded in `mapped` before anyone could use it.
unsafe impl Send for HeartbeatPages {}
// SAFETY: as above.
unsafe impl Sync for HeartbeatPages {}

fn page_size() -> usize {
    // SAFETY: sysconf cannot fail for _SC_PAGESIZE.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// Unmaps `bytes` (whole pages) from `start`, if any.
fn unmap(start: *mut u8, bytes: usize) {
    if bytes > 0 {
        // SAFETY: the range is whole pages of the mapping this process
        // still maps (the callers keep `mapped` right).
        unsafe { libc::munmap(start.cast(), bytes) };
    }
}

impl HeartbeatPages {
    pub fn new(len: usize) -> io::Result<HeartbeatPages> {
        let page = page_size();
        let bytes = len.max(1) * page;
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
        Ok(HeartbeatPages {
            base: ptr.cast(),
            page,
            len: len.max(1),
            mapped: AtomicUsize::new(ALL),
        })
    }

    /// Daemon `index`'s slot. Panics if this process gave that page up.
    pub fn slot(&self, index: usize) -> &HeartbeatSlot {
        assert!(index < self.len, "heartbeat slot out of range");
        let mapped = self.mapped.load(Ordering::Acquire);
        assert!(
            mapped == ALL || mapped == index,
            "heartbeat page {index} is not mapped in this process"
        );
        // SAFETY: the start of a page still mapped (checked above) of the
        // zero-initialised mapping; atomics are valid for any bit pattern.
        unsafe { &*self.base.add(index * self.page).cast::<HeartbeatSlot>() }
    }

    /// In daemon `index`, right after the fork: gives up every other
    /// daemon's page. Only from a process that maps them all.
    pub fn keep_only(&self, index: usize) {
        assert!(index < self.len, "heartbeat slot out of range");
        if self.mapped.swap(index, Ordering::AcqRel) != ALL {
            panic!("heartbeat pages given up twice");
        }
        unmap(self.base, index * self.page);
        // SAFETY: within the mapping (index < len).
        let after = unsafe { self.base.add((index + 1) * self.page) };
        unmap(after, (self.len - index - 1) * self.page);
    }

    /// In an Apache child, right after the fork: gives up every page.
    pub fn release_all(&self) {
        match self.mapped.swap(NONE, Ordering::AcqRel) {
            ALL => unmap(self.base, self.len * self.page),
            NONE => {}
            kept => {
                // SAFETY: within the mapping (kept < len).
                unmap(unsafe { self.base.add(kept * self.page) }, self.page);
            }
        }
    }
}

impl Drop for HeartbeatPages {
    fn drop(&mut self) {
        self.release_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `addr` is mapped in this process, as the kernel says.
    fn is_mapped(addr: *const u8) -> bool {
        let mut vec = 0u8;
        let page = page_size();
        let start = (addr as usize) & !(page - 1);
        // SAFETY: mincore only reports (ENOMEM: unmapped) into one byte.
        (unsafe { libc::mincore(start as *mut libc::c_void, 1, &mut vec) }) == 0
    }

    #[test]
    fn a_daemon_keeps_only_its_own_page() {
        let pages = HeartbeatPages::new(3).unwrap();
        let addrs: Vec<*const u8> = (0..3)
            .map(|i| std::ptr::from_ref(pages.slot(i)).cast())
            .collect();
        pages.slot(1).beat.store(7, Ordering::Relaxed);
        assert!(addrs.iter().all(|a| is_mapped(*a)));
        pages.keep_only(1);
        assert!(!is_mapped(addrs[0]));
        assert!(is_mapped(addrs[1]));
        assert!(!is_mapped(addrs[2]));
        assert_eq!(pages.slot(1).beat.load(Ordering::Relaxed), 7);
        pages.release_all();
        assert!(!is_mapped(addrs[1]));
    }

    #[test]
    #[should_panic(expected = "not mapped")]
    fn another_daemons_slot_is_refused() {
        let pages = HeartbeatPages::new(2).unwrap();
        pages.keep_only(0);
        pages.slot(1);
    }

    #[test]
    fn a_child_gives_up_every_page() {
        let pages = HeartbeatPages::new(2).unwrap();
        let first: *const u8 = std::ptr::from_ref(pages.slot(0)).cast();
        pages.release_all();
        assert!(!is_mapped(first));
        pages.release_all();
    }
}
