//! Typed settings produced by the directives, and their merge rules.

use crate::proxy::{ProxyHeader, Subnet};
use crate::python::StartupOptions;

/// `WSGIMapHEADToGET`: Off, On, or Auto (map only when an output filter that
/// may need the body is present; mod_wsgi's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadToGet {
    Off,
    On,
    Auto,
}

/// `WSGIPythonHashSeed`: Python's default (a random seed per process) or
/// a fixed seed, which makes `hash()` of `str` and `bytes` the same in
/// every process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashSeed {
    Random,
    Fixed(u32),
}

/// Where a `WSGIScriptAlias` applies: a URL prefix, or a regular expression
/// compiled by the host (`R`) for `WSGIScriptAliasMatch`.
#[derive(Clone, Debug, PartialEq)]
pub enum Location<R> {
    Prefix(String),
    Pattern { source: String, compiled: R },
}

/// Options given on a `WSGIScriptAlias` line; they override the directory's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScriptAliasOptions {
    pub process_group: Option<String>,
    pub application_group: Option<String>,
    pub callable_object: Option<String>,
    pub pass_authorization: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScriptAlias<R> {
    pub location: Location<R>,
    /// The script path; for a pattern it may hold `$1`-style back-references.
    pub target: String,
    pub options: ScriptAliasOptions,
}

/// A script a process loads at its start (`WSGIImportScript`, or a
/// `WSGIScriptAlias` with both groups given), as mod_wsgi's import list.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportScript {
    pub script: String,
    /// The daemon group that loads it; empty for the Apache children.
    pub process_group: String,
    /// Empty for `%{GLOBAL}`.
    pub application_group: String,
}

/// `WSGIHandlerScript NAME SCRIPT [options]`: requests whose handler is
/// NAME run SCRIPT's `handle_request`. Its options override the
/// directory's as a `WSGIScriptAlias`'s do, so routing treats both alike.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HandlerScript {
    pub name: String,
    pub script: String,
    /// `callable_object` is always `handle_request`, as in mod_wsgi.
    pub options: ScriptAliasOptions,
}

/// `WSGIAccessScript`, `WSGIAuthUserScript` or `WSGIAuthGroupScript`: the
/// script whose `allow_access`, `check_password`/`get_realm_hash` or
/// `groups_for_user` Apache's access, authentication and authorisation
/// steps call, in the Apache child.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthScript {
    pub script: String,
    /// `application-group=` as written; none: `%{GLOBAL}`, as in mod_wsgi.
    pub application_group: Option<String>,
}

/// mod_wsgi's `apr_hash_overlay`: `add`'s entries, then `base`'s whose
/// names `add` does not have.
pub fn overlay_handler_scripts(
    base: &[HandlerScript],
    add: &[HandlerScript],
) -> Vec<HandlerScript> {
    // Apache merges directory settings on every request: the usual case,
    // no handler script anywhere, must cost no more than a check.
    if base.is_empty() {
        return add.to_vec();
    }
    let mut merged = add.to_vec();
    merged.extend(
        base.iter()
            .filter(|b| !add.iter().any(|a| a.name == b.name))
            .cloned(),
    );
    merged
}

/// Per-server settings (the main server or one virtual host).
#[derive(Clone, Debug, PartialEq)]
pub struct ServerSettings<R> {
    pub python_home: Option<String>,
    pub python_path: Option<String>,
    /// `WSGIDestroyInterpreter` (On by default): finalise Python at exit.
    pub destroy_interpreter: Option<bool>,
    /// `WSGIPythonEggs`: `PYTHON_EGG_CACHE` in the Apache children.
    pub python_eggs: Option<String>,
    /// `WSGIVerboseDebugging`: obsolete in mod_wsgi 6 too; only noted.
    pub verbose_debugging: Option<bool>,
    /// `WSGIServerMetrics` (main server only; Off by default): whether
    /// `mod_wsgi.server_metrics()` in the Apache children reads the
    /// scoreboard. Daemons follow their own `server-metrics=`.
    pub server_metrics: Option<bool>,
    pub aliases: Vec<ScriptAlias<R>>,
    /// Application groups other than %{GLOBAL} named anywhere in this
    /// server's configuration; they all share the main interpreter.
    pub named_application_groups: Vec<String>,
    /// `WSGIDaemonProcess` groups defined in this server's own section
    /// (not inherited: the host collects them from every server).
    pub daemon_groups: Vec<super::DaemonGroup>,
    /// `WSGISocketPrefix` (main server only).
    pub socket_prefix: Option<String>,
    /// `WSGIRestrictEmbedded On`: no Python in the Apache children.
    pub restrict_embedded: Option<bool>,
    /// Daemon groups named literally by `WSGIProcessGroup` or
    /// `process-group=`; each must be defined, which is checked at start-up.
    pub referenced_process_groups: Vec<String>,
    /// `WSGIPythonOptimize` (main server only, as are the five below).
    pub python_optimize: Option<u8>,
    /// `WSGIDontWriteBytecode`.
    pub dont_write_bytecode: Option<bool>,
    /// `WSGIPythonHashSeed`.
    pub python_hash_seed: Option<HashSeed>,
    /// `WSGIPythonWarnings`, one `-W` option per directive, in order.
    pub python_warnings: Vec<String>,
    /// `WSGISwitchInterval`, in seconds.
    pub switch_interval: Option<f64>,
    /// `WSGIRestrictSignal`.
    pub restrict_signal: Option<bool>,
    /// Scripts loaded at process start, in the order of their lines (this
    /// server's own lines: the host collects them from every server).
    pub imports: Vec<ImportScript>,
    /// `WSGIRestrictStdin` (Off by default): `sys.stdin` refuses every use.
    pub restrict_stdin: Option<bool>,
    /// `WSGIRestrictStdout` (Off by default): `sys.stdout` refuses every use.
    pub restrict_stdout: Option<bool>,
    /// `WSGICaseSensitivity` (On by default, as mod_wsgi on Linux).
    pub case_sensitivity: Option<bool>,
    /// `WSGISocketRotation` (Off by default here, On in mod_wsgi): a new
    /// socket name per restart.
    pub socket_rotation: Option<bool>,
    /// `WSGIAcceptMutex`: the mechanism named, lower case.
    pub accept_mutex: Option<String>,
    /// `<WSGIInterpreterOptions>` sections, in the order read.
    pub interpreter_options: Vec<super::InterpreterOptionsBlock>,
    /// `WSGITelemetryService` (main server only): where each process
    /// sends its samples.
    pub telemetry_service: Option<super::TelemetryService>,
    /// `WSGISlowRequests`, in seconds (0: no slow-request records).
    pub slow_requests: Option<f64>,
    /// `WSGITelemetryOptions` flags (`OPT_*`).
    pub telemetry_options: Option<u32>,
    /// An authentication or access script is named in this server's
    /// sections: the Apache children need Python even under
    /// `WSGIRestrictEmbedded On` (mod_wsgi's `wsgi_python_required`).
    pub auth_scripts: bool,
    /// `WSGIGroupAuthoritative` appears in this server's sections: obsolete
    /// in mod_wsgi 6 (Apache 2.4's `Require` lines decide), only noted.
    pub group_authoritative_seen: bool,
}

impl<R> Default for ServerSettings<R> {
    fn default() -> Self {
        ServerSettings {
            python_home: None,
            python_path: None,
            destroy_interpreter: None,
            python_eggs: None,
            verbose_debugging: None,
            server_metrics: None,
            aliases: Vec::new(),
            named_application_groups: Vec::new(),
            daemon_groups: Vec::new(),
            socket_prefix: None,
            restrict_embedded: None,
            referenced_process_groups: Vec::new(),
            python_optimize: None,
            dont_write_bytecode: None,
            python_hash_seed: None,
            python_warnings: Vec::new(),
            switch_interval: None,
            restrict_signal: None,
            imports: Vec::new(),
            restrict_stdin: None,
            restrict_stdout: None,
            case_sensitivity: None,
            socket_rotation: None,
            accept_mutex: None,
            interpreter_options: Vec::new(),
            telemetry_service: None,
            slow_requests: None,
            telemetry_options: None,
            auth_scripts: false,
            group_authoritative_seen: false,
        }
    }
}

impl<R: Clone> ServerSettings<R> {
    /// A virtual host's settings over the main server's: the host's aliases
    /// are tried first, then the main server's, as in mod_wsgi.
    pub fn merge(base: &Self, add: &Self) -> Self {
        let mut aliases = add.aliases.clone();
        aliases.extend(base.aliases.iter().cloned());
        let mut groups = base.named_application_groups.clone();
        groups.extend(add.named_application_groups.iter().cloned());
        ServerSettings {
            python_home: add.python_home.clone().or_else(|| base.python_home.clone()),
            python_path: add.python_path.clone().or_else(|| base.python_path.clone()),
            destroy_interpreter: add.destroy_interpreter.or(base.destroy_interpreter),
            python_eggs: add.python_eggs.clone().or_else(|| base.python_eggs.clone()),
            verbose_debugging: add.verbose_debugging.or(base.verbose_debugging),
            server_metrics: add.server_metrics.or(base.server_metrics),
            aliases,
            named_application_groups: groups,
            daemon_groups: add.daemon_groups.clone(),
            socket_prefix: add
                .socket_prefix
                .clone()
                .or_else(|| base.socket_prefix.clone()),
            restrict_embedded: add.restrict_embedded.or(base.restrict_embedded),
            referenced_process_groups: add.referenced_process_groups.clone(),
            python_optimize: add.python_optimize.or(base.python_optimize),
            dont_write_bytecode: add.dont_write_bytecode.or(base.dont_write_bytecode),
            python_hash_seed: add.python_hash_seed.or(base.python_hash_seed),
            python_warnings: if add.python_warnings.is_empty() {
                base.python_warnings.clone()
            } else {
                add.python_warnings.clone()
            },
            switch_interval: add.switch_interval.or(base.switch_interval),
            restrict_signal: add.restrict_signal.or(base.restrict_signal),
            imports: add.imports.clone(),
            restrict_stdin: add.restrict_stdin.or(base.restrict_stdin),
            restrict_stdout: add.restrict_stdout.or(base.restrict_stdout),
            case_sensitivity: add.case_sensitivity.or(base.case_sensitivity),
            socket_rotation: add.socket_rotation.or(base.socket_rotation),
            accept_mutex: add
                .accept_mutex
                .clone()
                .or_else(|| base.accept_mutex.clone()),
            // Main server only: a host's list is its main server's.
            interpreter_options: if add.interpreter_options.is_empty() {
                base.interpreter_options.clone()
            } else {
                add.interpreter_options.clone()
            },
            telemetry_service: add
                .telemetry_service
                .clone()
                .or_else(|| base.telemetry_service.clone()),
            slow_requests: add.slow_requests.or(base.slow_requests),
            telemetry_options: add.telemetry_options.or(base.telemetry_options),
            auth_scripts: add.auth_scripts,
            group_authoritative_seen: add.group_authoritative_seen,
        }
    }

    /// The Python start-up options these settings ask for, with mod_wsgi's
    /// defaults for directives not given (`WSGIRestrictSignal` is On).
    pub fn python_options(&self) -> StartupOptions {
        StartupOptions {
            optimize: self.python_optimize.unwrap_or(0),
            write_bytecode: !self.dont_write_bytecode.unwrap_or(false),
            hash_seed: match self.python_hash_seed {
                Some(HashSeed::Fixed(seed)) => Some(seed),
                Some(HashSeed::Random) | None => None,
            },
            warnings: self.python_warnings.clone(),
            switch_interval: self.switch_interval,
            restrict_signal: self.restrict_signal.unwrap_or(true),
            restrict_stdin: self.restrict_stdin.unwrap_or(false),
            restrict_stdout: self.restrict_stdout.unwrap_or(false),
            destroy_interpreter: self.destroy_interpreter.unwrap_or(true),
        }
    }

    /// `WSGIPythonPath` split into directories (`:`-separated, as in mod_wsgi).
    pub fn python_path_entries(&self) -> Vec<String> {
        self.python_path
            .as_deref()
            .map(|p| {
                p.split(':')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Per-directory settings; `None` means "not set here, inherit".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DirSettings {
    pub callable_object: Option<String>,
    pub application_group: Option<String>,
    pub process_group: Option<String>,
    /// `WSGIRestrictProcess`: the only process groups this context may use
    /// (`%{GLOBAL}` for embedded mode).
    pub restrict_process: Option<Vec<String>>,
    pub script_reloading: Option<bool>,
    pub pass_authorization: Option<bool>,
    pub chunked_request: Option<bool>,
    pub map_head_to_get: Option<HeadToGet>,
    pub error_override: Option<bool>,
    pub enable_sendfile: Option<bool>,
    /// `WSGITrustedProxyHeaders`, the headers mod_wsgi knows, in order.
    pub trusted_proxy_headers: Option<Vec<&'static ProxyHeader>>,
    /// `WSGITrustedProxies`.
    pub trusted_proxies: Option<Vec<Subnet>>,
    /// `WSGIHandlerScript` lines of this section (a server-level line is in
    /// the server's default directory settings).
    pub handler_scripts: Vec<HandlerScript>,
    /// `WSGIIgnoreActivity`: these requests do not reset a daemon's
    /// inactivity-timeout.
    pub ignore_activity: Option<bool>,
    /// The authentication and access directives of this section, if any.
    /// One pointer: Apache merges directory settings on every request, and
    /// sections without them must not pay for their size.
    pub auth: Option<std::sync::Arc<AuthSettings>>,
}

/// The authentication and access directives of a section.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthSettings {
    /// `WSGIAccessScript`.
    pub access_script: Option<AuthScript>,
    /// `WSGIAuthUserScript`.
    pub auth_user_script: Option<AuthScript>,
    /// `WSGIAuthGroupScript`.
    pub auth_group_script: Option<AuthScript>,
    /// `WSGIGroupAuthoritative` (On by default); kept as mod_wsgi 6 keeps
    /// it, which no longer reads it.
    pub group_authoritative: Option<bool>,
}

impl AuthSettings {
    /// mod_wsgi's merge: each directive of the inner section wins.
    fn merge(
        base: &Option<std::sync::Arc<Self>>,
        add: &Option<std::sync::Arc<Self>>,
    ) -> Option<std::sync::Arc<Self>> {
        fn pick<T: Clone>(base: &Option<T>, add: &Option<T>) -> Option<T> {
            add.clone().or_else(|| base.clone())
        }
        match (base, add) {
            (None, add) => add.clone(),
            (base, None) => base.clone(),
            (Some(base), Some(add)) => Some(std::sync::Arc::new(AuthSettings {
                access_script: pick(&base.access_script, &add.access_script),
                auth_user_script: pick(&base.auth_user_script, &add.auth_user_script),
                auth_group_script: pick(&base.auth_group_script, &add.auth_group_script),
                group_authoritative: pick(&base.group_authoritative, &add.group_authoritative),
            })),
        }
    }
}

impl DirSettings {
    /// Settings of an inner section (`add`) over an outer one (`base`).
    pub fn merge(base: &Self, add: &Self) -> Self {
        fn pick<T: Clone>(base: &Option<T>, add: &Option<T>) -> Option<T> {
            add.clone().or_else(|| base.clone())
        }
        DirSettings {
            callable_object: pick(&base.callable_object, &add.callable_object),
            application_group: pick(&base.application_group, &add.application_group),
            process_group: pick(&base.process_group, &add.process_group),
            restrict_process: pick(&base.restrict_process, &add.restrict_process),
            script_reloading: pick(&base.script_reloading, &add.script_reloading),
            pass_authorization: pick(&base.pass_authorization, &add.pass_authorization),
            chunked_request: pick(&base.chunked_request, &add.chunked_request),
            map_head_to_get: pick(&base.map_head_to_get, &add.map_head_to_get),
            error_override: pick(&base.error_override, &add.error_override),
            enable_sendfile: pick(&base.enable_sendfile, &add.enable_sendfile),
            trusted_proxy_headers: pick(&base.trusted_proxy_headers, &add.trusted_proxy_headers),
            trusted_proxies: pick(&base.trusted_proxies, &add.trusted_proxies),
            handler_scripts: overlay_handler_scripts(&base.handler_scripts, &add.handler_scripts),
            ignore_activity: pick(&base.ignore_activity, &add.ignore_activity),
            auth: AuthSettings::merge(&base.auth, &add.auth),
        }
    }

    pub fn callable_object(&self) -> &str {
        self.callable_object.as_deref().unwrap_or("application")
    }
    pub fn script_reloading(&self) -> bool {
        self.script_reloading.unwrap_or(true)
    }
    pub fn pass_authorization(&self) -> bool {
        self.pass_authorization.unwrap_or(false)
    }
    pub fn chunked_request(&self) -> bool {
        self.chunked_request.unwrap_or(false)
    }
    pub fn map_head_to_get(&self) -> HeadToGet {
        self.map_head_to_get.unwrap_or(HeadToGet::Auto)
    }
    pub fn error_override(&self) -> bool {
        self.error_override.unwrap_or(false)
    }
    /// mod_wsgi's default is Off: files go out with mmap and writev.
    pub fn enable_sendfile(&self) -> bool {
        self.enable_sendfile.unwrap_or(false)
    }
    /// The `WSGIHandlerScript` for a request whose handler is `handler`.
    pub fn handler_script(&self, handler: &str) -> Option<&HandlerScript> {
        self.handler_scripts.iter().find(|h| h.name == handler)
    }

    pub fn ignore_activity(&self) -> bool {
        self.ignore_activity.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_mod_wsgi() {
        let d = DirSettings::default();
        assert_eq!(d.callable_object(), "application");
        assert!(d.script_reloading());
        assert!(!d.pass_authorization());
        assert!(!d.chunked_request());
        assert_eq!(d.map_head_to_get(), HeadToGet::Auto);
        assert!(!d.error_override());
    }

    #[test]
    fn inner_settings_win_and_unset_ones_inherit() {
        let outer = DirSettings {
            script_reloading: Some(false),
            callable_object: Some("app".into()),
            ..Default::default()
        };
        let inner = DirSettings {
            callable_object: Some("inner".into()),
            ..Default::default()
        };
        let merged = DirSettings::merge(&outer, &inner);
        assert_eq!(merged.callable_object(), "inner");
        assert!(!merged.script_reloading());
    }

    #[test]
    fn auth_directives_merge_one_by_one() {
        let script = |path: &str| {
            Some(AuthScript {
                script: path.into(),
                application_group: None,
            })
        };
        let outer = DirSettings {
            auth: Some(std::sync::Arc::new(AuthSettings {
                auth_user_script: script("/outer-users.wsgi"),
                access_script: script("/outer-access.wsgi"),
                ..Default::default()
            })),
            ..Default::default()
        };
        let inner = DirSettings {
            auth: Some(std::sync::Arc::new(AuthSettings {
                auth_user_script: script("/inner-users.wsgi"),
                ..Default::default()
            })),
            ..Default::default()
        };
        let merged = DirSettings::merge(&outer, &inner);
        let auth = merged.auth.unwrap();
        assert_eq!(auth.auth_user_script, script("/inner-users.wsgi"));
        assert_eq!(auth.access_script, script("/outer-access.wsgi"));
        let none = DirSettings::merge(&DirSettings::default(), &DirSettings::default());
        assert!(none.auth.is_none());
        let inherited = DirSettings::merge(&outer, &DirSettings::default());
        assert_eq!(inherited.auth, outer.auth);
    }

    #[test]
    fn virtual_host_aliases_come_first() {
        let alias = |p: &str| ScriptAlias::<()> {
            location: Location::Prefix(p.into()),
            target: format!("/srv{p}.wsgi"),
            options: Default::default(),
        };
        let main = ServerSettings {
            aliases: vec![alias("/main")],
            python_home: Some("/venv".into()),
            ..Default::default()
        };
        let vhost = ServerSettings {
            aliases: vec![alias("/vhost")],
            ..Default::default()
        };
        let merged = ServerSettings::merge(&main, &vhost);
        assert_eq!(merged.aliases, vec![alias("/vhost"), alias("/main")]);
        assert_eq!(merged.python_home.as_deref(), Some("/venv"));
    }

    #[test]
    fn python_options_default_as_mod_wsgi_and_follow_the_directives() {
        let defaults = ServerSettings::<()>::default().python_options();
        assert_eq!(defaults, StartupOptions::default());
        assert_eq!(defaults.optimize, 0);
        assert!(defaults.write_bytecode);
        assert_eq!(defaults.hash_seed, None);
        assert!(defaults.warnings.is_empty());
        assert_eq!(defaults.switch_interval, None);
        assert!(
            defaults.restrict_signal,
            "WSGIRestrictSignal is On by default"
        );

        let main = ServerSettings::<()> {
            python_optimize: Some(2),
            dont_write_bytecode: Some(true),
            python_hash_seed: Some(HashSeed::Fixed(7)),
            python_warnings: vec!["ignore".into(), "error::DeprecationWarning".into()],
            switch_interval: Some(0.25),
            restrict_signal: Some(false),
            ..Default::default()
        };
        // A virtual host cannot set them (main server only): it inherits.
        let merged = ServerSettings::merge(&main, &ServerSettings::default());
        let options = merged.python_options();
        assert_eq!(options.optimize, 2);
        assert!(!options.write_bytecode);
        assert_eq!(options.hash_seed, Some(7));
        assert_eq!(options.warnings, ["ignore", "error::DeprecationWarning"]);
        assert_eq!(options.switch_interval, Some(0.25));
        assert!(!options.restrict_signal);
        let random = ServerSettings::<()> {
            python_hash_seed: Some(HashSeed::Random),
            ..Default::default()
        };
        assert_eq!(random.python_options().hash_seed, None);
    }

    #[test]
    fn python_path_splits_on_colons() {
        let s = ServerSettings::<()> {
            python_path: Some("/a::/b".into()),
            ..Default::default()
        };
        assert_eq!(s.python_path_entries(), ["/a", "/b"]);
    }
}
