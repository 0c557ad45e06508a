//! Where the directives' settings live: per-server and per-directory
//! configuration objects owned by Apache's configuration pools.

use std::ffi::{c_char, c_void};

use wsgi::config::{DirSettings, ServerSettings, apply_directive, lookup_directive, servers};

use crate::apache::bindings::{apr_pool_t, cmd_parms, server_rec};
use crate::apache::commands::Command;
use crate::apache::log;
use crate::apache::pool::pool_box;
use crate::apache::regex;
pub use crate::apache::regex::CompiledRegex;
use crate::apache::server::{self, Server};
use crate::apache::strings::text;
use crate::daemon::identity;
use wsgi::messages::{self, Level};

pub type ServerConfig = ServerSettings<CompiledRegex>;
pub type DirConfig = DirSettings;

/// # Safety
/// `pool` must be a live configuration pool.
pub unsafe fn create_server(pool: *mut apr_pool_t) -> *mut c_void {
    // SAFETY: forwarded from the caller.
    unsafe { pool_box(pool, ServerConfig::default()).cast() }
}

/// # Safety
/// `base` and `add` must come from `create_server`/`merge_server`.
pub unsafe fn merge_server(
    pool: *mut apr_pool_t,
    base: *mut c_void,
    add: *mut c_void,
) -> *mut c_void {
    // SAFETY: both are live ServerConfig values (caller).
    let merged =
        unsafe { ServerConfig::merge(&*base.cast::<ServerConfig>(), &*add.cast::<ServerConfig>()) };
    // SAFETY: the pool is live.
    unsafe { pool_box(pool, merged).cast() }
}

/// # Safety
/// `pool` must be a live configuration pool.
pub unsafe fn create_dir(pool: *mut apr_pool_t) -> *mut c_void {
    // SAFETY: forwarded from the caller.
    unsafe { pool_box(pool, DirConfig::default()).cast() }
}

/// # Safety
/// `base` and `add` must come from `create_dir`/`merge_dir`.
pub unsafe fn merge_dir(pool: *mut apr_pool_t, base: *mut c_void, add: *mut c_void) -> *mut c_void {
    // SAFETY: both are live DirConfig values (caller).
    let merged = unsafe { DirConfig::merge(&*base.cast::<DirConfig>(), &*add.cast::<DirConfig>()) };
    // SAFETY: the pool is live.
    unsafe { pool_box(pool, merged).cast() }
}

/// The settings of server `s`.
///
/// # Safety
/// `s` must be a live server whose configuration this module created.
pub unsafe fn server_settings<'a>(s: *const server_rec) -> &'a ServerConfig {
    // SAFETY: the module's slot holds a ServerConfig for every server.
    unsafe { &*server::module_config(s).cast::<ServerConfig>() }
}

/// The settings of a server of a configuration that has been read.
pub fn settings<'a>(s: Server<'a>) -> &'a ServerConfig {
    // SAFETY: the server is live for 'a (`Server`), and Apache made a
    // ServerConfig for each (create_server or merge_server).
    unsafe { server_settings(s.as_ptr()) }
}

/// The settings of every server of the configuration, main server first,
/// each once. A virtual host without any WSGI directive has no settings of
/// its own: Apache gives it the main server's object, which must not count
/// twice (its daemon groups would be "defined more than once").
pub fn all_server_settings(main: Server<'_>) -> Vec<&ServerConfig> {
    servers_with_settings(main)
        .into_iter()
        .map(|(_, server_settings)| server_settings)
        .collect()
}

/// [`all_server_settings`], each with the server that owns it (the first
/// server that has it: the main server for the object it lends).
pub fn servers_with_settings(main: Server<'_>) -> Vec<(Server<'_>, &ServerConfig)> {
    let mut all: Vec<(Server<'_>, &ServerConfig)> = Vec::new();
    for server in main.servers() {
        let server_settings = settings(server);
        if !all
            .iter()
            .any(|(_, seen)| std::ptr::eq(*seen, server_settings))
        {
            all.push((server, server_settings));
        }
    }
    all
}

/// Handles one `WSGI*` directive; returns NULL or an error message that
/// Apache prints with the file name and line.
///
/// # Safety
/// Called by Apache's configuration reader with live arguments.
pub unsafe fn directive(
    cmd: *mut cmd_parms,
    dir_config: *mut c_void,
    raw: *const c_char,
) -> *const c_char {
    // SAFETY: Apache passes the live cmd_parms of this call.
    let cmd = unsafe { Command::new(cmd) };
    let name = cmd.name();
    // SAFETY: the raw argument string is NUL-terminated.
    let raw = unsafe { text(raw) };
    // A directive refused by name says so wherever it appears, so only
    // supported ones get Apache's "cannot occur within <VirtualHost>".
    if lookup_directive(&name).is_some_and(|d| d.is_supported() && d.main_server_only)
        && let Err(error) = cmd.check_main_server_only()
    {
        return error;
    }
    // SAFETY: the server's slot holds our ServerConfig; `dir_config` is our
    // DirConfig (Apache passes the one for the section being read).
    let (server, dir) = unsafe {
        (
            &mut *cmd.server_config().cast::<ServerConfig>(),
            &mut *dir_config.cast::<DirConfig>(),
        )
    };
    if cmd
        .section()
        .is_some_and(|s| s.eq_ignore_ascii_case("<WSGIInterpreterOptions"))
        && let Some(applied) = wsgi::config::apply_in_options_section(&name, &raw, server)
    {
        return match applied {
            Ok(()) => std::ptr::null(),
            Err(message) => cmd.error(&message),
        };
    }
    let pool = cmd.pool();
    let mut compile = |pattern: &str| {
        // SAFETY: the configuration pool is live and outlives the settings.
        unsafe { regex::compile(pool, pattern) }
    };
    let applied = apply_directive(&name, &raw, server, dir, &mut compile)
        .and_then(|()| check_against_system(&name, server));
    match applied {
        // A section's directives are run by its handler (Apache's rule),
        // each reporting its own line.
        Ok(()) if name.eq_ignore_ascii_case("<WSGIInterpreterOptions") => {
            cmd.walk_section().err().unwrap_or(std::ptr::null())
        }
        Ok(()) => {
            warn_unknown_proxy_headers(&cmd, &name, &raw);
            std::ptr::null()
        }
        Err(message) => cmd.error(&message),
    }
}

/// mod_wsgi ignores a `WSGITrustedProxyHeaders` name it does not know, so
/// a misspelt one starts; it should not go unnoticed.
fn warn_unknown_proxy_headers(cmd: &Command, name: &str, raw: &str) {
    use wsgi::config::{Directive, Status};
    if !matches!(
        lookup_directive(name).map(|d| &d.status),
        Some(Status::Supported(Directive::TrustedProxyHeaders))
    ) {
        return;
    }
    let Ok(parsed) = wsgi::config::split_arguments(raw)
        .and_then(|words| wsgi::proxy::parse_trusted_proxy_headers(name, words))
    else {
        return;
    };
    if parsed.unknown.is_empty() {
        return;
    }
    let (file, line) = cmd.location();
    let known: Vec<&str> = wsgi::proxy::REGISTRY
        .iter()
        .map(|h| h.header.to_str().unwrap_or_default())
        .collect();
    for unknown in parsed.unknown {
        log::server(
            Level::Warning,
            cmd.server(),
            &messages::format_line(
                "",
                messages::PROXY_HEADER_UNKNOWN,
                &format!(
                    "{name} on line {line} of {file}: '{unknown}' is not a proxy header mod_wsgi \
                     knows, and is ignored as mod_wsgi ignores it; the known ones are {}",
                    known.join(", ")
                ),
            ),
        );
    }
}

/// What a directive's line can only be checked against outside its own
/// settings, while the line is still known: the users and groups a daemon
/// group names, and the group a preloading alias or `WSGIImportScript`
/// needs defined before it.
fn check_against_system(name: &str, server: &ServerConfig) -> Result<(), String> {
    use wsgi::config::{Directive, Status};
    match lookup_directive(name).map(|d| &d.status) {
        Some(Status::Supported(Directive::DaemonProcess)) => server
            .daemon_groups
            .last()
            .map_or(Ok(()), identity::check_names),
        Some(Status::Supported(Directive::ScriptAlias | Directive::ScriptAliasMatch)) => {
            match server.aliases.last() {
                Some(alias) => {
                    servers::check_preload_group_defined(alias, &groups_defined_so_far())
                }
                None => Ok(()),
            }
        }
        Some(Status::Supported(Directive::ImportScript)) => match server.imports.last() {
            Some(import) => servers::check_import_group_defined(import, &groups_defined_so_far()),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The daemon groups of the lines read so far, in every server. Apache runs
/// the directives after pre_config, with `ap_server_conf` set, and links
/// each virtual host into the main server's list as its section opens; but
/// a host gets this module's settings only with its first WSGI directive
/// (until the merge, its slot is NULL: Debian's 000-default has none).
fn groups_defined_so_far() -> Vec<String> {
    let main = server::main_server();
    if main.is_null() {
        return Vec::new();
    }
    // SAFETY: the main server and the hosts linked to it so far live as
    // long as the configuration being read, and nothing else changes the
    // list while this directive runs.
    let main = unsafe { Server::from_raw(main) };
    let mut names = Vec::new();
    for s in main.servers() {
        // SAFETY: the slot is NULL or a ServerConfig this module created.
        let Some(settings) = (unsafe {
            server::module_config(s.as_ptr())
                .cast::<ServerConfig>()
                .as_ref()
        }) else {
            continue;
        };
        names.extend(settings.daemon_groups.iter().map(|g| g.name.clone()));
    }
    names
}
