//! mod_wsgi_rs: the Apache httpd 2.4 module.
//!
//! `apache/` is the only code that touches Apache and APR; `entry.rs` holds
//! the functions Apache calls, each of which catches panics; `config.rs`
//! stores the directives' settings; `child.rs` starts and stops Python in
//! each child; `routing.rs` turns each request into a plan, which
//! `embedded.rs` (in the child, through the transport-independent adapter of
//! crates/wsgi) or `daemon/client.rs` (through a daemon process) carries out;
//! `auth.rs` runs the authentication and access scripts in Apache's
//! authn, authz and access steps.

mod apache;
mod auth;
mod child;
mod config;
mod daemon;
mod embedded;
mod entry;
mod environ;
mod module;
mod process_facts;
mod response_end;
mod routing;
mod telemetry;
mod unix;
