//! The transport-independent half of mod_wsgi_rs.
//!
//! Everything here works without Apache: directive parsing, path and header
//! rules, the Python interpreter's start-up, script loading, and the PEP 3333
//! adapter itself. The Apache module (the crate at the repository root) and,
//! later, the daemon processes supply a [`adapter::Transport`] and call
//! [`adapter::handle_request`]; only the transport differs between them.

pub mod adapter;
pub mod alias;
pub mod cgi;
pub mod channel;
pub mod config;
pub mod fnv;
pub mod messages;
pub mod proxy;
pub mod python;
pub mod request;
pub mod sync;
pub mod telemetry;
pub mod validate;

/// The module's version, as shown in the server banner.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
pub(crate) mod test_support;
