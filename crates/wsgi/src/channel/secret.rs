//! A daemon group's secret: what an Apache child proves it knows, once per
//! connection (in its `Hello`), before a daemon runs anything for it.
//!
//! The socket's owner and mode, and the daemon's check of the peer's uid,
//! keep other users out; they cannot tell Apache's children from any other
//! process of Apache's `User` (a CGI script, a PHP page, another module). The
//! secret can: Apache's parent makes it before it forks, so only its
//! children and the group's daemons inherit it (processes whose memory other
//! processes of the same user cannot read, as they changed their
//! credentials). mod_wsgi does the same with a per-group random number
//! hashed into a "magic token" on every request (wsgi_remote.c,
//! wsgi_daemon.c); here a connection proves it once and then carries any
//! number of requests, so a request costs nothing for it.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes of secret: 256 bits from the kernel's random source.
pub const SECRET_LEN: usize = 32;

const WORDS: usize = SECRET_LEN / 8;

/// One group's secret, in memory that outlives configuration generations
/// (the same socket keeps the same secret, so that the children of an older
/// generation still reach the new daemons). Atomic words, so that a daemon
/// can wipe the other groups' secrets through shared references.
#[repr(C)]
pub struct Secret([AtomicU64; WORDS]);

impl Secret {
    /// No secret yet (it matches nothing): to `fill` in place.
    pub const fn zeroed() -> Secret {
        Secret([const { AtomicU64::new(0) }; WORDS])
    }

    /// Sets the secret from `word`, called once per 64 bits (the kernel's
    /// random source, in the host).
    pub fn fill<E>(&self, mut word: impl FnMut() -> Result<u64, E>) -> Result<(), E> {
        for w in &self.0 {
            w.store(word()?, Ordering::Relaxed);
        }
        Ok(())
    }

    pub fn new(bytes: &[u8; SECRET_LEN]) -> Secret {
        let secret = Secret::zeroed();
        for (word, chunk) in secret.0.iter().zip(bytes.chunks_exact(8)) {
            let value = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            word.store(value, Ordering::Relaxed);
        }
        secret
    }

    /// The secret's bytes, to send as proof.
    pub fn bytes(&self) -> [u8; SECRET_LEN] {
        let mut out = [0; SECRET_LEN];
        for (word, chunk) in self.0.iter().zip(out.chunks_exact_mut(8)) {
            chunk.copy_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
        }
        out
    }

    /// Whether `proof` is this secret. Takes the same time whatever the
    /// proof's content, so that timing tells a guesser nothing. A wiped
    /// secret matches nothing.
    pub fn matches(&self, proof: &[u8]) -> bool {
        if proof.len() != SECRET_LEN {
            return false;
        }
        let mut difference = 0u64;
        let mut any = 0u64;
        for (word, chunk) in self.0.iter().zip(proof.chunks_exact(8)) {
            let mine = word.load(Ordering::Relaxed);
            let theirs = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            difference |= mine ^ theirs;
            any |= mine;
        }
        difference == 0 && any != 0
    }

    /// Forgets the secret (in this process): a daemon does so for every
    /// group but its own, so that the application it runs cannot find the
    /// other groups' secrets in its memory (as mod_wsgi's daemons do).
    pub fn wipe(&self) {
        for word in &self.0 {
            word.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> [u8; SECRET_LEN] {
        std::array::from_fn(|i| i as u8 + 1)
    }

    #[test]
    fn a_secret_matches_only_itself() {
        let secret = Secret::new(&sample());
        assert_eq!(secret.bytes(), sample());
        assert!(secret.matches(&sample()));
        let mut other = sample();
        other[31] ^= 1;
        assert!(!secret.matches(&other));
        assert!(!secret.matches(&sample()[..31]));
        assert!(!secret.matches(b""));
    }

    #[test]
    fn a_secret_filled_in_place_is_its_words() {
        let secret = Secret::zeroed();
        assert!(!secret.matches(&[0; SECRET_LEN]));
        let mut next = 0u64;
        secret
            .fill(|| -> Result<u64, ()> {
                next += 1;
                Ok(next)
            })
            .unwrap();
        let expected: Vec<u8> = (1u64..=4).flat_map(u64::to_le_bytes).collect();
        assert!(secret.matches(&expected));
        assert_eq!(
            Secret::zeroed().fill(|| Err::<u64, _>("no randomness")),
            Err("no randomness")
        );
    }

    #[test]
    fn a_wiped_secret_matches_nothing() {
        let secret = Secret::new(&sample());
        secret.wipe();
        assert_eq!(secret.bytes(), [0; SECRET_LEN]);
        assert!(!secret.matches(&sample()));
        assert!(!secret.matches(&[0; SECRET_LEN]));
    }
}
