//! The `command_rec` array Apache reads, built from the directive table
//! (crates/wsgi/src/config/table.rs), and the few `cmd_parms` accesses a
//! directive handler needs.
//!
//! Apache reads the array in `ap_add_module`, while mod_so handles the
//! `LoadModule` line: before any of this module's code has run. So the array
//! is a `static` built at compile time, never lazily.

use std::borrow::Cow;
use std::ffi::{c_char, c_void};

use wsgi::config::{self, DIRECTIVES};

use super::bindings::{self, apr_pool_t, cmd_func, cmd_parms, command_rec};
use super::strings::{pool_copy, text};

// The core crate spells Apache's override bits out; they must be the headers'.
const _: () = assert!(config::OR_FILEINFO == bindings::OR_FILEINFO);
const _: () = assert!(config::OR_AUTHCFG == bindings::OR_AUTHCFG);
const _: () = assert!(config::ACCESS_CONF == bindings::ACCESS_CONF);
const _: () = assert!(config::RSRC_CONF == bindings::RSRC_CONF);

/// A directive handler as Apache calls it for RAW_ARGS.
pub type RawArgsHandler =
    unsafe extern "C" fn(*mut cmd_parms, *mut c_void, *const c_char) -> *const c_char;

/// One entry per directive, and the terminating all-NULL entry.
pub const COMMAND_COUNT: usize = DIRECTIVES.len() + 1;

/// The array handed to Apache as the module's `cmds`.
pub struct CommandTable([command_rec; COMMAND_COUNT]);

// SAFETY: the array is immutable and its pointers point at 'static C
// strings; Apache only reads it.
unsafe impl Sync for CommandTable {}

/// What mod_so shows for a directive that is refused by name (`httpd -L`).
const NOT_YET_HELP: &std::ffi::CStr = c"Not supported yet by mod_wsgi_rs.";

impl CommandTable {
    /// Every directive goes to `handler` unsplit (RAW_ARGS): the Rust parser
    /// splits the arguments and names the directive in its errors.
    pub const fn new(handler: RawArgsHandler) -> Self {
        const END: command_rec = command_rec {
            name: std::ptr::null(),
            func: cmd_func { raw_args: None },
            cmd_data: std::ptr::null_mut(),
            req_override: 0,
            args_how: 0,
            errmsg: std::ptr::null(),
        };
        let mut commands = [END; COMMAND_COUNT];
        let mut i = 0;
        while i < DIRECTIVES.len() {
            let directive = &DIRECTIVES[i];
            let help = match directive.status {
                config::Status::Supported(_) => directive.help,
                config::Status::NotYet => NOT_YET_HELP,
            };
            commands[i] = command_rec {
                name: directive.name.as_ptr(),
                func: cmd_func {
                    raw_args: Some(handler),
                },
                cmd_data: std::ptr::null_mut(),
                req_override: directive.allowed as i32,
                args_how: bindings::cmd_how_RAW_ARGS,
                errmsg: help.as_ptr(),
            };
            i += 1;
        }
        CommandTable(commands)
    }

    pub const fn as_ptr(&self) -> *const command_rec {
        self.0.as_ptr()
    }
}

/// The `cmd_parms` of one directive being read.
#[derive(Clone, Copy)]
pub struct Command(*mut cmd_parms);

impl Command {
    /// # Safety
    /// `cmd` must be the live `cmd_parms` Apache passed to a handler, and the
    /// value must not outlive that call.
    pub unsafe fn new(cmd: *mut cmd_parms) -> Self {
        Command(cmd)
    }

    /// The directive's name as the table spells it.
    pub fn name(&self) -> Cow<'static, str> {
        // SAFETY: `cmd` is live (new) and `cmd->cmd` is one of this module's
        // command_rec entries, whose names are 'static.
        unsafe { text((*(*self.0).cmd).name) }
    }

    /// The configuration pool, which outlives the settings read from it.
    pub fn pool(&self) -> *mut apr_pool_t {
        // SAFETY: `cmd` is live (new).
        unsafe { (*self.0).pool }
    }

    /// This module's configuration object of the server being read.
    pub fn server_config(&self) -> *mut c_void {
        // SAFETY: `cmd` is live (new) and so is the server it is reading.
        unsafe { super::server::module_config((*self.0).server) }
    }

    /// The server whose section is being read.
    pub fn server(&self) -> *const bindings::server_rec {
        // SAFETY: `cmd` is live (new).
        unsafe { (*self.0).server }
    }

    /// The file and line of the directive being read, for a warning (an
    /// error gets them from Apache itself).
    pub fn location(&self) -> (Cow<'static, str>, u32) {
        // SAFETY: `cmd` is live (new); while a directive is read,
        // `cmd->directive` is its node of the configuration tree, whose
        // file name lives as long as the configuration.
        unsafe {
            let directive = (*self.0).directive;
            if directive.is_null() || (*directive).filename.is_null() {
                return (Cow::Borrowed("?"), 0);
            }
            (
                text((*directive).filename),
                (*directive).line_num.try_into().unwrap_or(0),
            )
        }
    }

    /// Apache's own refusal (naming the directive and the section) when the
    /// directive appears anywhere but the main server configuration.
    pub fn check_main_server_only(&self) -> Result<(), *const c_char> {
        // SAFETY: `cmd` is live (new); Apache returns NULL or a message
        // allocated from the configuration pool.
        let error = unsafe { bindings::ap_check_cmd_context(self.0, bindings::GLOBAL_ONLY) };
        if error.is_null() { Ok(()) } else { Err(error) }
    }

    /// The name of the section this directive sits in (`<Directory` ...),
    /// if any.
    pub fn section(&self) -> Option<Cow<'static, str>> {
        // SAFETY: `cmd` is live (new); `cmd->directive` is NULL or the node
        // being run, whose parent is NULL or a live node of the same tree,
        // kept for the whole configuration read.
        unsafe {
            let node = (*self.0).directive;
            if node.is_null() || (*node).parent.is_null() {
                return None;
            }
            Some(text((*(*node).parent).directive))
        }
    }

    /// Runs the directives inside this section (Apache leaves that to the
    /// section's handler), in the server being read.
    pub fn walk_section(&self) -> Result<(), *const c_char> {
        // SAFETY: `cmd` is live (new); its directive node is this section,
        // whose children Apache has parsed; the server is live.
        let error = unsafe {
            let node = (*self.0).directive;
            if node.is_null() {
                return Ok(());
            }
            bindings::ap_walk_config(
                (*node).first_child,
                self.0,
                (*(*self.0).server).lookup_defaults,
            )
        };
        if error.is_null() { Ok(()) } else { Err(error) }
    }

    /// `message` copied into the configuration pool, for Apache to print
    /// with the file name and line after the handler returns.
    pub fn error(&self, message: &str) -> *const c_char {
        // A NUL would cut the message short in C.
        let message = message.replace('\0', "");
        // SAFETY: the pool is live for the whole configuration read.
        unsafe { pool_copy(self.pool(), message.as_bytes()) }
    }
}
