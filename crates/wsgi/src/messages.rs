//! Stable message ids. Every error line the module writes carries one, so
//! users can search for it; docs/messages.md lists them with what to do.

/// Severity of a log line, mapped to Apache's levels by the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
    Info,
    Debug,
}

macro_rules! message_ids {
    ($($name:ident = $id:literal;)*) => {
        $(pub const $name: &str = $id;)*
        /// Every id, for the documentation test.
        pub const ALL: &[&str] = &[$($id),*];
    };
}

message_ids! {
    APPLICATION_GROUPS_SHARED = "WSGIRS0001";
    INTERNAL_ERROR = "WSGIRS0004";
    STRUCT_LAYOUT_MISMATCH = "WSGIRS0002";
    DUPLICATE_MODULE = "WSGIRS0003";
    OBSOLETE_DIRECTIVE = "WSGIRS0005";
    ACCEPT_MUTEX_UNUSED = "WSGIRS0006";
    OPTIONS_SECTION_UNMATCHED = "WSGIRS0007";
    PYTHON_INIT_FAILED = "WSGIRS0010";
    PYTHON_PATH_FAILED = "WSGIRS0011";
    PYTHON_FINALIZE_FAILED = "WSGIRS0012";
    PYTHON_OPTION_FAILED = "WSGIRS0013";
    PYTHON_HOME_UNUSABLE = "WSGIRS0015";
    INTERPRETER_FAILED = "WSGIRS0016";
    SCRIPT_NOT_FOUND = "WSGIRS0101";
    SCRIPT_IS_DIRECTORY = "WSGIRS0102";
    EXECCGI_OFF = "WSGIRS0103";
    CHUNKED_NOT_ENABLED = "WSGIRS0104";
    TRANSFER_ENCODING_UNSUPPORTED = "WSGIRS0105";
    BAD_CONTENT_LENGTH = "WSGIRS0106";
    PATH_INFO_REJECTED = "WSGIRS0108";
    PYTHON_UNAVAILABLE = "WSGIRS0109";
    SIGNAL_IGNORED = "WSGIRS0110";
    PROXY_ADDRESS_INVALID = "WSGIRS0111";
    PROXY_HEADER_UNKNOWN = "WSGIRS0112";
    SCRIPT_LOAD_FAILED = "WSGIRS0201";
    CALLABLE_MISSING = "WSGIRS0202";
    APPLICATION_EXCEPTION = "WSGIRS0203";
    EXCEPTION_AFTER_HEADERS = "WSGIRS0204";
    INVALID_RESPONSE_HEAD = "WSGIRS0205";
    BAD_RESPONSE_CHUNK = "WSGIRS0206";
    NO_START_RESPONSE = "WSGIRS0207";
    CONTENT_LENGTH_EXCEEDED = "WSGIRS0208";
    CONTENT_LENGTH_SHORT = "WSGIRS0209";
    CLIENT_GONE = "WSGIRS0210";
    CLIENT_STOPPED_READING = "WSGIRS0345";
    CLOSE_FAILED = "WSGIRS0211";
    REQUEST_BODY_FAILED = "WSGIRS0212";
    CHANNEL_READ_TIMEOUT = "WSGIRS0216";
    REQUEST_TIMEOUT_RAISED = "WSGIRS0220";
    RELOAD_HOOK_FAILED = "WSGIRS0221";
    AUTH_SCRIPT_LOAD_FAILED = "WSGIRS0230";
    AUTH_FUNCTION_MISSING = "WSGIRS0231";
    AUTH_FUNCTION_RAISED = "WSGIRS0232";
    AUTH_BAD_RESULT = "WSGIRS0233";
    ACCESS_DENIED_BY_SCRIPT = "WSGIRS0234";
    GROUP_AUTHORIZATION_FAILED = "WSGIRS0235";
    AUTH_SCRIPT_NOT_CONFIGURED = "WSGIRS0236";
    AUTH_PYTHON_UNAVAILABLE = "WSGIRS0237";
    DISPATCH_SCRIPT_LOAD_FAILED = "WSGIRS0240";
    DISPATCH_FUNCTION_FAILED = "WSGIRS0241";
    DISPATCH_BAD_RESULT = "WSGIRS0242";
    DISPATCH_PYTHON_UNAVAILABLE = "WSGIRS0243";
    SUB_INTERPRETER_REFUSED = "WSGIRS0222";
    DAEMON_SPAWN_FAILED = "WSGIRS0301";
    DAEMON_RESTARTED = "WSGIRS0302";
    DAEMON_UNRESPONSIVE = "WSGIRS0303";
    DAEMON_CONNECT_FAILED = "WSGIRS0304";
    DAEMON_GONE_BEFORE_HEADERS = "WSGIRS0305";
    DAEMON_GONE_AFTER_HEADERS = "WSGIRS0306";
    DAEMON_TIMEOUT = "WSGIRS0307";
    DAEMON_PROTOCOL_ERROR = "WSGIRS0308";
    QUEUE_TIMEOUT = "WSGIRS0309";
    REQUEST_TIMEOUT = "WSGIRS0310";
    DAEMON_RECYCLING = "WSGIRS0311";
    DAEMON_STARTUP_FAILED = "WSGIRS0312";
    PEER_REFUSED = "WSGIRS0313";
    DAEMON_STARTED = "WSGIRS0314";
    UNKNOWN_PROCESS_GROUP = "WSGIRS0315";
    EMBEDDED_RESTRICTED = "WSGIRS0316";
    PROCESS_GROUP_RESTRICTED = "WSGIRS0317";
    PROCESS_GROUP_OF_OTHER_HOST = "WSGIRS0318";
    DAEMON_LOCALE_UNSUPPORTED = "WSGIRS0330";
    SOCKET_BUFFER_UNSET = "WSGIRS0325";
    RESPONSE_HEADER_TOO_LONG = "WSGIRS0326";
    DAEMON_HEAD_INVALID = "WSGIRS0335";
    CLIENT_WRITE_TIMEOUT = "WSGIRS0327";
    DAEMON_ORIGIN_UNPROVEN = "WSGIRS0331";
    EVENT_CALLBACK_FAILED = "WSGIRS0401";
    MODULE_NOT_INSTALLED = "WSGIRS0402";
    TELEMETRY_TARGET_UNUSABLE = "WSGIRS0403";
    TELEMETRY_STARTED = "WSGIRS0404";
    REQUEST_INTERRUPTED = "WSGIRS0320";
    DAEMON_PRIORITY_FAILED = "WSGIRS0319";
    DAEMON_VIRTUAL_MEMORY_LIMIT_FAILED = "WSGIRS0321";
    SCRIPT_OWNER_REFUSED = "WSGIRS0322";
    SCRIPT_OUTSIDE_CHROOT = "WSGIRS0323";
    DAEMON_EVICTION = "WSGIRS0324";
}

/// Whom a log line is about, besides the process that writes it: the daemon
/// process group (with the daemon's pid, which differs from the writer's
/// when an Apache child or the parent reports on a daemon) and the script.
/// Hosts build it where they know these facts and pass it down, so that no
/// layer has to splice them into text that another one formatted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogContext {
    pub group: Option<String>,
    pub daemon_pid: Option<u32>,
    pub script: Option<String>,
}

impl LogContext {
    /// Lines about a daemon process group.
    pub fn group(name: &str) -> LogContext {
        LogContext {
            group: Some(name.to_owned()),
            ..LogContext::default()
        }
    }

    /// Lines about one script, outside any daemon group.
    pub fn script(path: &str) -> LogContext {
        LogContext {
            script: Some(path.to_owned()),
            ..LogContext::default()
        }
    }

    pub fn with_daemon_pid(mut self, pid: u32) -> LogContext {
        self.daemon_pid = Some(pid);
        self
    }

    pub fn with_script(mut self, path: &str) -> LogContext {
        self.script = Some(path.to_owned());
        self
    }
}

impl std::fmt::Display for LogContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut separator = "";
        if let Some(group) = &self.group {
            write!(f, "group='{group}'")?;
            separator = ", ";
        }
        if let Some(pid) = self.daemon_pid {
            write!(f, "{separator}daemon pid={pid}")?;
            separator = ", ";
        }
        if let Some(script) = &self.script {
            write!(f, "{separator}script='{script}'")?;
        }
        Ok(())
    }
}

/// Whom this process's own lines are about: a daemon's group and pid, set
/// once when the process becomes that daemon (unset in Apache's processes).
static PROCESS_CONTEXT: std::sync::OnceLock<LogContext> = std::sync::OnceLock::new();

/// Sets the context of lines about the whole process (not about a request),
/// such as the interpreter's start-up errors; the first call wins.
pub fn set_process_context(context: LogContext) {
    let _ = PROCESS_CONTEXT.set(context);
}

/// Formats a line about the whole process, in its context.
pub fn process_line(id: &str, text: &str) -> String {
    match PROCESS_CONTEXT.get() {
        Some(context) => format_line(context, id, text),
        None => format_line("", id, text),
    }
}

/// Formats an informational line about the whole process that needs no id
/// (mod_wsgi's own "Loading WSGI script" line has none either).
pub fn process_note(text: &str) -> String {
    let pid = std::process::id();
    match PROCESS_CONTEXT.get().map(ToString::to_string) {
        Some(context) if !context.is_empty() => {
            format!("mod_wsgi_rs (pid={pid}, {context}): {text}")
        }
        _ => format!("mod_wsgi_rs (pid={pid}): {text}"),
    }
}

/// Formats one error-log line: module, pid, context (group, script), id.
pub fn format_line(context: impl std::fmt::Display, id: &str, text: &str) -> String {
    let pid = std::process::id();
    let context = context.to_string();
    if context.is_empty() {
        format!("mod_wsgi_rs (pid={pid}): {id}: {text}")
    } else {
        format!("mod_wsgi_rs (pid={pid}, {context}): {id}: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for id in ALL {
            assert!(id.starts_with("WSGIRS") && id.len() == 10, "{id}");
            assert!(seen.insert(id), "duplicate id {id}");
        }
    }

    #[test]
    fn line_names_module_pid_context_and_id() {
        let line = format_line("script='/srv/app.wsgi'", SCRIPT_LOAD_FAILED, "boom");
        let pid = std::process::id();
        assert_eq!(
            line,
            format!("mod_wsgi_rs (pid={pid}, script='/srv/app.wsgi'): WSGIRS0201: boom")
        );
    }

    #[test]
    fn context_names_group_daemon_and_script_in_that_order() {
        let context = LogContext::group("site")
            .with_daemon_pid(42)
            .with_script("/srv/app.wsgi");
        assert_eq!(
            context.to_string(),
            "group='site', daemon pid=42, script='/srv/app.wsgi'"
        );
        assert_eq!(
            LogContext::script("/a.wsgi").to_string(),
            "script='/a.wsgi'"
        );
        assert_eq!(LogContext::default().to_string(), "");
        let pid = std::process::id();
        assert_eq!(
            format_line(LogContext::default(), SCRIPT_LOAD_FAILED, "x"),
            format!("mod_wsgi_rs (pid={pid}): WSGIRS0201: x")
        );
    }

    #[test]
    fn every_id_is_documented() {
        let doc = include_str!("../../../docs/messages.md");
        for id in ALL {
            assert!(doc.contains(id), "{id} missing from docs/messages.md");
        }
    }
}
