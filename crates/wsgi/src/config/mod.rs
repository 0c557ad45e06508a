//! `WSGI*` directives parsed into typed settings, and how settings merge.
//!
//! Apache hands every directive's raw argument string to
//! [`apply_directive`]; the host decides where the resulting settings live
//! (per server or per directory) and compiles regular expressions.

mod args;
mod daemon;
mod directive;
mod groups;
mod interpreter_options;
mod process_directives;
mod python_options;
#[cfg(test)]
mod readme;
mod scripts;
pub mod servers;
mod settings;
mod table;
mod telemetry;

pub use args::split_arguments;
pub use daemon::{DaemonGroup, parse_daemon_process};
pub use directive::apply_directive;
pub use groups::{
    GroupContext, expand_application_group, expand_callable_object, expand_process_group,
    expand_server_group, is_global_group, restrict_process_allows,
};
pub use interpreter_options::{InterpreterOptionsBlock, InterpreterSections};
pub use process_directives::apply_in_options_section;
pub use settings::{
    AuthScript, AuthSettings, DirSettings, DispatchScript, HandlerScript, HashSeed, HeadToGet,
    ImportScript, Location, ScriptAlias, ScriptAliasOptions, ServerSettings,
};
pub use table::{
    ACCESS_CONF, ArgsForm, DAEMON_OPTIONS, DIRECTIVES, DaemonOption, Directive, DirectiveInfo,
    DirectiveScope, OR_AUTHCFG, OR_FILEINFO, RSRC_CONF, Status, lookup_daemon_option,
    lookup_directive,
};
pub use telemetry::{OPT_CAPTURE_USER_AGENT, TelemetryService};
