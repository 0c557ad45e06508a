//! The one list of mod_wsgi's directives: what each is called, where Apache
//! lets it appear, the argument form mod_wsgi 6.1.1 declares, its help text
//! and whether this module implements it. The `command_rec` array Apache
//! reads (src/apache/commands.rs), the lookup, the main-server-only check and
//! the "not supported yet" refusal all come from here, and a unit test holds
//! README.md's status table to it (config/readme.rs).
//!
//! Names, scopes and forms are mod_wsgi 6.1.1's (`wsgi_commands` in
//! src/server/mod_wsgi.c); `main_server_only` marks the directives whose
//! handler calls `ap_check_cmd_context(cmd, GLOBAL_ONLY)` there.

use std::ffi::CStr;

// Apache's override bits (http_config.h). This crate links without Apache,
// so they are spelt out here; src/apache/commands.rs checks at compile time
// that they equal the headers' values.
/// Allowed in .htaccess where `AllowOverride FileInfo` is set.
pub const OR_FILEINFO: u32 = 4;
/// Allowed in .htaccess where `AllowOverride AuthConfig` is set.
pub const OR_AUTHCFG: u32 = 8;
/// Allowed in `<Directory>`, `<Location>` and `<Files>` sections.
pub const ACCESS_CONF: u32 = 64;
/// Allowed in the server configuration and in `<VirtualHost>`.
pub const RSRC_CONF: u32 = 128;

/// How mod_wsgi asks Apache to split the arguments (`args_how`). Apache hands
/// this module every directive as RAW_ARGS and the Rust parser splits them;
/// the form is kept as the reference for that parser and for new directives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgsForm {
    /// The whole argument string, unsplit.
    RawArgs,
    /// Exactly one argument.
    Take1,
    /// One or two arguments.
    Take12,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Parsed into settings by [`super::apply_directive`].
    Supported(Directive),
    /// Known by name and refused, so a configuration that uses it fails to
    /// start with a clear message instead of "Invalid command".
    NotYet,
}

/// The directives this module implements, each parsed by its own arm of
/// [`super::apply_directive`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Directive {
    ScriptAlias,
    ScriptAliasMatch,
    PythonHome,
    PythonPath,
    CallableObject,
    ApplicationGroup,
    ProcessGroup,
    ScriptReloading,
    PassAuthorization,
    ChunkedRequest,
    MapHeadToGet,
    ErrorOverride,
    EnableSendfile,
    DaemonProcess,
    SocketPrefix,
    RestrictEmbedded,
    PythonOptimize,
    DontWriteBytecode,
    PythonHashSeed,
    PythonWarnings,
    SwitchInterval,
    RestrictSignal,
    RestrictProcess,
    VerboseDebugging,
    PerInterpreterGil,
    FreeThreading,
    PythonEggs,
    DestroyInterpreter,
    ServerMetrics,
    TrustedProxyHeaders,
    TrustedProxies,
    ImportScript,
    HandlerScript,
    RestrictStdin,
    RestrictStdout,
    CaseSensitivity,
    AcceptMutex,
    SocketRotation,
    IgnoreActivity,
    InterpreterOptions,
    TelemetryService,
    SlowRequests,
    TelemetryOptions,
    AccessScript,
    AuthUserScript,
    AuthGroupScript,
    GroupAuthoritative,
}

/// Where a directive's value is kept, which follows from where it may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectiveScope {
    /// Per server or virtual host.
    Server,
    /// Only in the main server configuration (mod_wsgi's GLOBAL_ONLY).
    Global,
    /// Per directory, location or .htaccess.
    Dir,
}

#[derive(Debug)]
pub struct DirectiveInfo {
    pub name: &'static CStr,
    pub form: ArgsForm,
    /// Apache's `req_override` bits: where the directive may appear.
    pub allowed: u32,
    /// Refused inside `<VirtualHost>` (mod_wsgi's GLOBAL_ONLY check).
    pub main_server_only: bool,
    pub status: Status,
    /// mod_wsgi's help text.
    pub help: &'static CStr,
}

impl DirectiveInfo {
    pub fn name(&self) -> &'static str {
        self.name.to_str().expect("directive names are ASCII")
    }

    pub fn is_supported(&self) -> bool {
        matches!(self.status, Status::Supported(_))
    }

    pub fn scope(&self) -> DirectiveScope {
        if self.main_server_only {
            DirectiveScope::Global
        } else if self.allowed & !RSRC_CONF != 0 {
            DirectiveScope::Dir
        } else {
            DirectiveScope::Server
        }
    }
}

use ArgsForm::{RawArgs, Take1, Take12};
use Directive as D;
use Status::{NotYet, Supported};

const MAIN: bool = true;
const ANY: bool = false;

const fn entry(
    name: &'static CStr,
    form: ArgsForm,
    allowed: u32,
    main_server_only: bool,
    status: Status,
    help: &'static CStr,
) -> DirectiveInfo {
    DirectiveInfo {
        name,
        form,
        allowed,
        main_server_only,
        status,
        help,
    }
}

/// Every mod_wsgi 6.1.1 directive, in mod_wsgi's order.
#[rustfmt::skip]
pub const DIRECTIVES: &[DirectiveInfo] = &[
    entry(c"WSGIScriptAlias", RawArgs, RSRC_CONF, ANY, Supported(D::ScriptAlias), c"Map location to target WSGI script file."),
    entry(c"WSGIScriptAliasMatch", RawArgs, RSRC_CONF, ANY, Supported(D::ScriptAliasMatch), c"Map location pattern to target WSGI script file."),
    entry(c"WSGIDaemonProcess", RawArgs, RSRC_CONF, ANY, Supported(D::DaemonProcess), c"Specify details of daemon processes to start."),
    entry(c"WSGISocketPrefix", Take1, RSRC_CONF, MAIN, Supported(D::SocketPrefix), c"Path prefix for the daemon process sockets."),
    entry(c"WSGISocketRotation", Take1, RSRC_CONF, MAIN, Supported(D::SocketRotation), c"Enable/Disable rotation of daemon process sockets."),
    entry(c"WSGIAcceptMutex", Take1, RSRC_CONF, MAIN, Supported(D::AcceptMutex), c"Set accept mutex type for daemon processes."),
    entry(c"WSGIVerboseDebugging", Take1, RSRC_CONF, MAIN, Supported(D::VerboseDebugging), c"Enable/Disable verbose debugging messages."),
    entry(c"WSGIDontWriteBytecode", Take1, RSRC_CONF, MAIN, Supported(D::DontWriteBytecode), c"Enable/Disable writing of byte code."),
    entry(c"WSGIPythonWarnings", Take1, RSRC_CONF, MAIN, Supported(D::PythonWarnings), c"Control Python warning messages."),
    entry(c"WSGIPythonOptimize", Take1, RSRC_CONF, MAIN, Supported(D::PythonOptimize), c"Set level of Python compiler optimisations."),
    entry(c"WSGIPythonHome", Take1, RSRC_CONF, MAIN, Supported(D::PythonHome), c"Python prefix/exec_prefix absolute path names."),
    entry(c"WSGIPythonPath", Take1, RSRC_CONF, MAIN, Supported(D::PythonPath), c"Python module search path."),
    entry(c"WSGIPythonEggs", Take1, RSRC_CONF, MAIN, Supported(D::PythonEggs), c"Python eggs cache directory."),
    entry(c"WSGIPythonHashSeed", Take1, RSRC_CONF, MAIN, Supported(D::PythonHashSeed), c"Python hash seed."),
    entry(c"WSGISwitchInterval", Take1, RSRC_CONF, MAIN, Supported(D::SwitchInterval), c"Override Python GIL switch interval (seconds)."),
    entry(c"WSGIDestroyInterpreter", Take1, RSRC_CONF, MAIN, Supported(D::DestroyInterpreter), c"Enable/Disable destruction of Python interpreter."),
    entry(c"WSGIPerInterpreterGIL", Take1, RSRC_CONF, MAIN, Supported(D::PerInterpreterGil), c"Enable/Disable per-interpreter GIL for sub-interpreters (Python 3.12+)."),
    entry(c"WSGIFreeThreading", Take1, RSRC_CONF, MAIN, Supported(D::FreeThreading), c"Enable/Disable free-threaded Python (GIL disabled) for the matched process (Python 3.13+ free-threaded build)."),
    entry(c"<WSGIInterpreterOptions", RawArgs, RSRC_CONF, MAIN, Supported(D::InterpreterOptions), c"Container scoping per-interpreter options to a named process-group and/or application-group."),
    entry(c"WSGIRestrictEmbedded", Take1, RSRC_CONF, MAIN, Supported(D::RestrictEmbedded), c"Enable/Disable use of embedded mode."),
    entry(c"WSGIRestrictStdin", Take1, RSRC_CONF, MAIN, Supported(D::RestrictStdin), c"Enable/Disable restrictions on use of STDIN."),
    entry(c"WSGIRestrictStdout", Take1, RSRC_CONF, MAIN, Supported(D::RestrictStdout), c"Enable/Disable restrictions on use of STDOUT."),
    entry(c"WSGIRestrictSignal", Take1, RSRC_CONF, MAIN, Supported(D::RestrictSignal), c"Enable/Disable restrictions on use of signal()."),
    entry(c"WSGICaseSensitivity", Take1, RSRC_CONF, MAIN, Supported(D::CaseSensitivity), c"Define whether file system is case sensitive."),
    entry(c"WSGIRestrictProcess", RawArgs, ACCESS_CONF | RSRC_CONF, ANY, Supported(D::RestrictProcess), c"Limit selectable WSGI process groups."),
    entry(c"WSGIProcessGroup", Take1, ACCESS_CONF | RSRC_CONF, ANY, Supported(D::ProcessGroup), c"Name of the WSGI process group."),
    entry(c"WSGIApplicationGroup", Take1, ACCESS_CONF | RSRC_CONF, ANY, Supported(D::ApplicationGroup), c"Application interpreter group."),
    entry(c"WSGICallableObject", Take1, OR_FILEINFO, ANY, Supported(D::CallableObject), c"Name of entry point in WSGI script file."),
    entry(c"WSGIImportScript", RawArgs, RSRC_CONF, ANY, Supported(D::ImportScript), c"Location of WSGI import script."),
    entry(c"WSGIDispatchScript", RawArgs, ACCESS_CONF | RSRC_CONF, ANY, NotYet, c"Location of WSGI dispatch script."),
    entry(c"WSGIPassApacheRequest", Take1, ACCESS_CONF | RSRC_CONF, ANY, NotYet, c"Enable/Disable Apache request object."),
    entry(c"WSGIPassAuthorization", Take1, OR_FILEINFO, ANY, Supported(D::PassAuthorization), c"Enable/Disable WSGI authorization."),
    entry(c"WSGIScriptReloading", Take1, OR_FILEINFO, ANY, Supported(D::ScriptReloading), c"Enable/Disable script reloading mechanism."),
    entry(c"WSGIErrorOverride", Take1, OR_FILEINFO, ANY, Supported(D::ErrorOverride), c"Enable/Disable overriding of error pages."),
    entry(c"WSGIChunkedRequest", Take1, OR_FILEINFO, ANY, Supported(D::ChunkedRequest), c"Enable/Disable support for chunked requests."),
    entry(c"WSGIMapHEADToGET", Take1, OR_FILEINFO, ANY, Supported(D::MapHeadToGet), c"Enable/Disable mapping of HEAD to GET."),
    entry(c"WSGIIgnoreActivity", Take1, OR_FILEINFO, ANY, Supported(D::IgnoreActivity), c"Enable/Disable reset of inactvity timeout."),
    entry(c"WSGITrustedProxyHeaders", RawArgs, OR_FILEINFO, ANY, Supported(D::TrustedProxyHeaders), c"Specify a list of trusted proxy headers."),
    entry(c"WSGITrustedProxies", RawArgs, OR_FILEINFO, ANY, Supported(D::TrustedProxies), c"Specify a list of trusted proxies."),
    entry(c"WSGIEnableSendfile", Take1, OR_FILEINFO, ANY, Supported(D::EnableSendfile), c"Enable/Disable support for kernel sendfile."),
    entry(c"WSGIAccessScript", RawArgs, OR_AUTHCFG, ANY, Supported(D::AccessScript), c"Location of WSGI host access script file."),
    entry(c"WSGIAuthUserScript", RawArgs, OR_AUTHCFG, ANY, Supported(D::AuthUserScript), c"Location of WSGI user auth script file."),
    entry(c"WSGIAuthGroupScript", RawArgs, OR_AUTHCFG, ANY, Supported(D::AuthGroupScript), c"Location of WSGI group auth script file."),
    entry(c"WSGIGroupAuthoritative", Take1, OR_AUTHCFG, ANY, Supported(D::GroupAuthoritative), c"Enable/Disable as being authoritative on groups."),
    entry(c"WSGIHandlerScript", RawArgs, ACCESS_CONF | RSRC_CONF, ANY, Supported(D::HandlerScript), c"Location of WSGI handler script file."),
    entry(c"WSGIServerMetrics", Take1, RSRC_CONF, MAIN, Supported(D::ServerMetrics), c"Enabled/Disable access to server metrics."),
    entry(c"WSGITelemetryService", Take12, RSRC_CONF, MAIN, Supported(D::TelemetryService), c"Push telemetry to a metrics service. Args: unix:/path [interval=N]"),
    entry(c"WSGISlowRequests", Take1, RSRC_CONF, MAIN, Supported(D::SlowRequests), c"Enable slow-request reporting. Arg: threshold in seconds."),
    entry(c"WSGITelemetryOptions", RawArgs, RSRC_CONF, MAIN, Supported(D::TelemetryOptions), c"Toggle metrics capture options. Args: [+|-]Flag... | None | All. Flags: CaptureUserAgent."),
];

/// Finds a directive by the name Apache matched (case-insensitively, as
/// Apache matches it).
pub fn lookup_directive(name: &str) -> Option<&'static DirectiveInfo> {
    DIRECTIVES
        .iter()
        .find(|d| d.name.to_bytes().eq_ignore_ascii_case(name.as_bytes()))
}

/// A `WSGIDaemonProcess` option (`name=value`) as mod_wsgi 6.1.1 spells it.
#[derive(Debug)]
pub struct DaemonOption {
    pub name: &'static str,
    pub supported: bool,
}

const fn option(name: &'static str, supported: bool) -> DaemonOption {
    DaemonOption { name, supported }
}

const YES: bool = true;

/// Every option of mod_wsgi 6.1.1's `WSGIDaemonProcess`
/// (`wsgi_add_daemon_process` in src/server/wsgi_daemon.c), in its order.
/// The parser (config/daemon.rs) handles the supported ones and refuses the
/// others by name.
#[rustfmt::skip]
pub const DAEMON_OPTIONS: &[DaemonOption] = &[
    option("user", YES),
    option("group", YES),
    option("supplementary-groups", YES),
    option("processes", YES),
    option("threads", YES),
    option("umask", YES),
    option("chroot", YES),
    option("home", YES),
    option("lang", YES),
    option("locale", YES),
    option("python-home", YES),
    option("python-path", YES),
    option("python-eggs", YES),
    option("switch-interval", YES),
    option("stack-size", YES),
    option("maximum-requests", YES),
    option("startup-timeout", YES),
    option("shutdown-timeout", YES),
    option("deadlock-timeout", YES),
    option("inactivity-timeout", YES),
    option("request-timeout", YES),
    option("interrupt-timeout", YES),
    option("graceful-timeout", YES),
    option("eviction-timeout", YES),
    option("restart-interval", YES),
    option("connect-timeout", YES),
    option("socket-timeout", YES),
    option("queue-timeout", YES),
    option("listen-backlog", YES),
    option("display-name", YES),
    option("send-buffer-size", YES),
    option("receive-buffer-size", YES),
    option("header-buffer-size", YES),
    option("response-buffer-size", YES),
    option("response-socket-timeout", YES),
    option("response-flush-delay", YES),
    option("socket-user", YES),
    option("script-user", YES),
    option("script-group", YES),
    option("cpu-time-limit", YES),
    option("cpu-priority", YES),
    option("memory-limit", YES),
    option("virtual-memory-limit", YES),
    option("server-metrics", YES),
];

/// Finds a daemon option by name (case-sensitively, as mod_wsgi does).
pub fn lookup_daemon_option(name: &str) -> Option<&'static DaemonOption> {
    DAEMON_OPTIONS.iter().find(|o| o.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        for (i, d) in DIRECTIVES.iter().enumerate() {
            assert!(
                DIRECTIVES[i + 1..]
                    .iter()
                    .all(|other| !other.name().eq_ignore_ascii_case(d.name())),
                "{} twice",
                d.name()
            );
        }
        for (i, o) in DAEMON_OPTIONS.iter().enumerate() {
            assert!(
                DAEMON_OPTIONS[i + 1..]
                    .iter()
                    .all(|other| other.name != o.name),
                "{} twice",
                o.name
            );
        }
    }

    #[test]
    fn every_supported_directive_has_one_entry() {
        let supported: Vec<Directive> = DIRECTIVES
            .iter()
            .filter_map(|d| match d.status {
                Status::Supported(directive) => Some(directive),
                Status::NotYet => None,
            })
            .collect();
        for (i, d) in supported.iter().enumerate() {
            assert!(!supported[i + 1..].contains(d), "{d:?} twice");
        }
        assert_eq!(supported.len(), 47);
    }

    #[test]
    fn lookup_ignores_case() {
        let info = lookup_directive("wsgiscriptalias").unwrap();
        assert_eq!(info.status, Status::Supported(Directive::ScriptAlias));
        assert_eq!(info.scope(), DirectiveScope::Server);
        assert!(lookup_directive("WSGINoSuchThing").is_none());
    }

    #[test]
    fn scopes_follow_where_mod_wsgi_allows_the_directive() {
        let scope = |name| lookup_directive(name).unwrap().scope();
        assert_eq!(scope("WSGIPythonHome"), DirectiveScope::Global);
        assert_eq!(scope("WSGIDaemonProcess"), DirectiveScope::Server);
        assert_eq!(scope("WSGIApplicationGroup"), DirectiveScope::Dir);
        assert_eq!(scope("WSGICallableObject"), DirectiveScope::Dir);
        assert_eq!(scope("WSGIAccessScript"), DirectiveScope::Dir);
    }

    #[test]
    fn the_daemon_option_is_receive_buffer_size() {
        // mod_wsgi's option is receive-buffer-size; recv-buffer-size is no
        // option of mod_wsgi at all.
        assert!(
            lookup_daemon_option("receive-buffer-size")
                .unwrap()
                .supported
        );
        assert!(lookup_daemon_option("recv-buffer-size").is_none());
    }
}
