//! The daemon groups' secrets (see `wsgi::channel::Secret`): made in
//! Apache's parent, kept by its children, and by each daemon for its own
//! group only.

use wsgi::channel::Secret;

use super::Registry;
use crate::apache::lasting;
use crate::apache::server::Server;
use crate::unix;

/// The secret of the group listening on `socket_path`: made the first time
/// this Apache parent uses that path, then the same across restarts, as the
/// path itself is (the children of an older generation, still finishing
/// their connections after a graceful restart, reach the new daemons with
/// what they inherited). A new path (another group, another parent) gets a
/// new secret.
pub fn for_socket(main: Server<'_>, socket_path: &str) -> Result<&'static Secret, String> {
    // "v1": the layout of `Secret` (see `lasting::process_value`).
    let key = format!("mod_wsgi_rs daemon secret v1 {socket_path}");
    lasting::process_value(main, &key, Secret::zeroed, |secret| {
        // Word by word straight into the kept memory: no copy of the whole
        // secret is left on the parent's stack for its daemons to inherit.
        secret.fill(|| {
            let mut word = [0u8; 8];
            unix::random_bytes(&mut word).map_err(|e| {
                format!("cannot read random bytes for the daemon socket '{socket_path}': {e}")
            })?;
            let value = u64::from_ne_bytes(word);
            word.fill(0);
            std::hint::black_box(&mut word);
            Ok(value)
        })
    })
}

/// In a daemon, right after the fork: forgets every other group's secret,
/// so that the application this daemon runs cannot find them in its memory
/// and reach the other groups' daemons with them (mod_wsgi's daemons wipe
/// the other groups' random numbers the same way).
pub fn keep_only(registry: &Registry, group_index: usize) {
    for (index, group) in registry.groups.iter().enumerate() {
        if index != group_index {
            group.secret.wipe();
        }
    }
}
