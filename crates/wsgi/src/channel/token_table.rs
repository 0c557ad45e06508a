//! A daemon's open connections, by token. The accept loop puts each new
//! connection in a slot and the slot's token in the workers' epoll set
//! (one-shot); the worker whose `epoll_wait` returns the token takes the
//! connection out, serves the request and puts it back. No thread hands a
//! request to another, and no lock is shared by all requests: a slot's mutex
//! is contended only when a drain takes the idle connections out.
//!
//! Generic over the connection type, so that it is tested without sockets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

const CHUNK: usize = 64;
const CHUNKS: usize = 1024;
/// The first token of a connection; smaller ones are the sets' own.
pub const FIRST_TOKEN: u64 = 16;

struct Slot<Conn> {
    conn: Mutex<Option<Conn>>,
    /// Accepted, and its first request not yet taken by a worker.
    fresh: AtomicBool,
}

impl<Conn> Slot<Conn> {
    fn empty() -> Slot<Conn> {
        Slot {
            conn: Mutex::new(None),
            fresh: AtomicBool::new(false),
        }
    }
}

type Chunk<Conn> = OnceLock<Box<[Slot<Conn>]>>;

/// Slots are allocated a chunk at a time and never move, so that workers
/// find theirs without a table-wide lock.
pub struct TokenTable<Conn> {
    chunks: Box<[Chunk<Conn>]>,
    tokens: Mutex<TokenAllocator>,
}

#[derive(Default)]
struct TokenAllocator {
    free: Vec<usize>,
    next: usize,
}

impl<Conn> Default for TokenTable<Conn> {
    fn default() -> Self {
        TokenTable {
            chunks: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
            tokens: Mutex::new(TokenAllocator::default()),
        }
    }
}

impl<Conn> TokenTable<Conn> {
    fn slot(&self, index: usize) -> Option<&Slot<Conn>> {
        self.chunks
            .get(index / CHUNK)?
            .get()
            .map(|chunk| &chunk[index % CHUNK])
    }

    fn index(token: u64) -> Option<usize> {
        usize::try_from(token.checked_sub(FIRST_TOKEN)?).ok()
    }

    /// Stores a new connection; returns its token, or gives the connection
    /// back when every slot is taken.
    pub fn insert(&self, conn: Conn) -> Result<u64, Conn> {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let index = match tokens.free.pop() {
            Some(index) => index,
            None if tokens.next < CHUNK * CHUNKS => {
                tokens.next += 1;
                tokens.next - 1
            }
            None => return Err(conn),
        };
        let chunk =
            self.chunks[index / CHUNK].get_or_init(|| (0..CHUNK).map(|_| Slot::empty()).collect());
        let slot = &chunk[index % CHUNK];
        slot.fresh.store(true, Ordering::Release);
        *slot.conn.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn);
        Ok(index as u64 + FIRST_TOKEN)
    }

    /// Takes the connection out of its slot (None if someone else did);
    /// the flag says whether it had not served a request yet.
    pub fn take(&self, token: u64) -> Option<(Conn, bool)> {
        let slot = self.slot(Self::index(token)?)?;
        let conn = slot.conn.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        Some((conn, slot.fresh.swap(false, Ordering::AcqRel)))
    }

    /// Takes the connection out if it has not served a request yet and
    /// `expired` says so of it (a token may have been reused for a newer
    /// connection: the check is made on the connection in the slot now).
    /// The token stays allocated: the caller releases it.
    pub fn take_fresh_if(&self, token: u64, expired: impl FnOnce(&Conn) -> bool) -> Option<Conn> {
        let slot = self.slot(Self::index(token)?)?;
        let mut guard = slot.conn.lock().unwrap_or_else(|e| e.into_inner());
        if !slot.fresh.load(Ordering::Acquire) || !expired(guard.as_ref()?) {
            return None;
        }
        slot.fresh.store(false, Ordering::Release);
        guard.take()
    }

    pub fn put_back(&self, token: u64, conn: Conn) {
        if let Some(slot) = Self::index(token).and_then(|i| self.slot(i)) {
            *slot.conn.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn);
        }
    }

    /// Frees the token of a connection that was taken out and closed.
    pub fn release(&self, token: u64) {
        if let Some(index) = Self::index(token) {
            self.tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .free
                .push(index);
        }
    }

    /// Takes out every connection sitting in its slot (idle, or with a
    /// request no worker has taken yet), freeing their tokens.
    pub fn take_all(&self) -> Vec<(u64, Conn, bool)> {
        let next = self.tokens.lock().unwrap_or_else(|e| e.into_inner()).next;
        let taken: Vec<_> = (0..next as u64)
            .filter_map(|i| {
                let token = i + FIRST_TOKEN;
                self.take(token).map(|(conn, fresh)| (token, conn, fresh))
            })
            .collect();
        for (token, _, _) in &taken {
            self.release(*token);
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> String {
        "a connection".to_owned()
    }

    #[test]
    fn a_token_is_taken_once_and_reused_after_release() {
        let table = TokenTable::default();
        let a = table.insert(conn()).ok().unwrap();
        let b = table.insert(conn()).ok().unwrap();
        assert_ne!(a, b);
        let (first, fresh) = table.take(a).unwrap();
        assert!(fresh);
        assert!(table.take(a).is_none(), "a second taker gets nothing");
        table.put_back(a, first);
        let (_, fresh) = table.take(a).unwrap();
        assert!(!fresh, "fresh only until the first request");
        table.release(a);
        assert_eq!(table.insert(conn()).ok().unwrap(), a);
        assert!(
            table.take(3).is_none(),
            "tokens below FIRST_TOKEN are not slots"
        );
        assert!(table.take(FIRST_TOKEN + 1_000_000).is_none());
    }

    #[test]
    fn take_all_leaves_the_connections_workers_hold() {
        let table = TokenTable::default();
        let tokens: Vec<u64> = (0..100)
            .map(|_| table.insert(conn()).ok().unwrap())
            .collect();
        let held = table.take(tokens[70]).unwrap();
        let taken = table.take_all();
        assert_eq!(taken.len(), 99);
        assert!(taken.iter().all(|(t, _, fresh)| *t != tokens[70] && *fresh));
        drop(held);
        assert!(table.take_all().is_empty());
    }

    #[test]
    fn only_a_fresh_connection_that_expired_is_taken() {
        let table = TokenTable::default();
        let a = table.insert("old".to_owned()).ok().unwrap();
        let b = table.insert("young".to_owned()).ok().unwrap();
        assert!(table.take_fresh_if(b, |c| c == "old").is_none());
        assert_eq!(table.take_fresh_if(a, |c| c == "old").unwrap(), "old");
        assert!(table.take(a).is_none(), "taken out");
        let (served, _) = table.take(b).unwrap();
        table.put_back(b, served);
        assert!(
            table.take_fresh_if(b, |_| true).is_none(),
            "a connection that served a request is not fresh"
        );
        assert!(table.take(b).is_some(), "and is left in place");
    }
}
