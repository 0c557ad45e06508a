//! The routing step: a request in, a plan out, in the spirit of mod_wsgi's
//! `wsgi_create_req_config`. The plan says where the request runs
//! (embedded, or which daemon process group) with every per-request
//! setting resolved once; the two executors (`embedded`, `daemon::client`)
//! only carry it out. A request that cannot run is a [`Refusal`], logged
//! once, here.

use std::borrow::Cow;
use std::ffi::{CString, c_int};
use std::fmt;

use wsgi::adapter::ProcessInfo;
use wsgi::alias::{alias_matches, mapped_filename};
use wsgi::config::{
    GroupContext, HandlerScript, HeadToGet, Location, ScriptAlias, ScriptAliasOptions,
    expand_application_group, is_global_group, restrict_process_allows,
};
use wsgi::messages::{self, Level};
use wsgi::proxy::ProxyOutcome;
use wsgi::python::loader;
use wsgi::request::{RequestMeta, RequestTimes, ScriptReloading};
use wsgi::validate::parse_content_length;

use crate::apache::bindings;
use crate::apache::request::{FileKind, Request};
use crate::config::{CompiledRegex, DirConfig, ServerConfig};
use crate::daemon::{GroupHome, GroupRuntime};
use crate::environ::{self, CgiOptions};
use crate::{child, daemon, embedded};

const HANDLER: &std::ffi::CStr = c"wsgi-script";
const HANDLER_MIME: &[u8] = b"application/x-httpd-wsgi";

const OK: c_int = bindings::OK as c_int;
const DECLINED: c_int = bindings::DECLINED as c_int;

/// Maps a URL under a `WSGIScriptAlias` to its script (translate_name), and
/// remembers the alias for the routing step.
pub fn translate_name(r: &mut Request) -> c_int {
    let uri = r.uri();
    if uri.first() != Some(&b'/') {
        return DECLINED;
    }
    // SAFETY: the server's configuration is ours and lives for the generation.
    let server = unsafe { &*r.server_config().cast::<ServerConfig>() };
    let uri_text = String::from_utf8_lossy(uri).into_owned();
    for alias in &server.aliases {
        let filename = match &alias.location {
            Location::Prefix(location) => match alias_matches(&uri_text, location) {
                Some(matched) => {
                    mapped_filename(&alias.target, location, &uri_text, matched).into_bytes()
                }
                None => continue,
            },
            // `WSGIScriptAliasMatch`: the matched part of the URI is
            // SCRIPT_NAME and the target may use `$1`-style back-references.
            Location::Pattern { compiled, .. } => {
                match r.regex_substitute(*compiled, &alias.target) {
                    Some(filename) => filename,
                    None => continue,
                }
            }
        };
        r.set_filename_and_handler(&filename, HANDLER);
        r.set_request_config(
            (alias as *const ScriptAlias<CompiledRegex>)
                .cast_mut()
                .cast(),
        );
        return OK;
    }
    DECLINED
}

/// Where a request runs.
pub enum Target {
    Embedded(&'static ProcessInfo),
    Daemon(&'static GroupRuntime),
}

/// A request's plan. `'c` is the configuration's lifetime (the generation),
/// which outlives the request.
pub struct Plan<'c> {
    pub target: Target,
    pub meta: RequestMeta<'c>,
    pub cgi: CgiOptions,
    /// `WSGIEnableSendfile`.
    pub sendfile: bool,
}

/// Why a request is not run: the status to answer with and, unless Apache
/// already explained it, the line to log.
pub struct Refusal {
    status: c_int,
    message: Option<(&'static str, Cow<'static, str>)>,
    /// The daemon process group the request was routed to, if any.
    group: Option<&'static str>,
}

impl Refusal {
    fn new(status: u32, id: &'static str, text: impl Into<Cow<'static, str>>) -> Refusal {
        Refusal {
            status: status as c_int,
            message: Some((id, text.into())),
            group: None,
        }
    }

    /// A status whose reason Apache has logged, or needs no log line.
    fn silent(status: c_int) -> Refusal {
        Refusal {
            status,
            message: None,
            group: None,
        }
    }

    /// Logs the refusal (if it has a line) and returns the handler status.
    fn explain(self, r: &Request) -> c_int {
        if let Some((id, text)) = &self.message {
            let context = RefusalContext {
                script: String::from_utf8_lossy(r.filename()),
                group: self.group,
            };
            r.log(Level::Error, &messages::format_line(context, id, text));
        }
        self.status
    }
}

/// `script='...'`, then the group when there is one (the order these lines
/// have always had).
struct RefusalContext<'a> {
    script: Cow<'a, str>,
    group: Option<&'a str>,
}

impl fmt::Display for RefusalContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "script='{}'", self.script)?;
        if let Some(group) = self.group {
            write!(f, ", group='{group}'")?;
        }
        Ok(())
    }
}

/// What made a request ours: its handler is `wsgi-script` (the script is
/// the request's file), or a `WSGIHandlerScript`'s name (the script is
/// that line's, whatever the URL maps to).
enum Route<'c> {
    Script,
    Handler(&'c HandlerScript),
}

/// The response handler: plans the requests that are ours and has them run.
pub fn handler(mut r: Request) -> c_int {
    let handler = r.handler();
    let route = if handler == HANDLER.to_bytes() || handler == HANDLER_MIME {
        Route::Script
    } else {
        // SAFETY: the per-directory slot holds our merged DirConfig, which
        // lives for the generation.
        let dir: &DirConfig = unsafe { &*r.dir_config().cast::<DirConfig>() };
        // Costs one empty-list check when no WSGIHandlerScript is configured.
        match dir
            .handler_scripts
            .iter()
            .find(|h| h.name.as_bytes() == handler)
        {
            Some(script) => Route::Handler(script),
            None => return DECLINED,
        }
    };
    match plan(&mut r, route) {
        Ok(plan) => match plan.target {
            Target::Embedded(process) => {
                embedded::execute(r, process, &plan.meta, plan.cgi, plan.sendfile)
            }
            Target::Daemon(group) => {
                daemon::client::execute(r, group, &plan.meta, &plan.cgi, plan.sendfile)
            }
        },
        Err(refusal) => refusal.explain(&r),
    }
}

/// Decides where and how `r` runs.
fn plan<'c>(r: &mut Request, route: Route<'c>) -> Result<Plan<'c>, Refusal> {
    // mod_wsgi checks ExecCGI and the file only for `wsgi-script`: a
    // handler script serves URLs that need not map to any file.
    let (options, script, script_mtime): (Option<&'c ScriptAliasOptions>, Cow<'c, str>, i64) =
        match route {
            Route::Script => {
                let alias = r.request_config().cast::<ScriptAlias<CompiledRegex>>();
                // SAFETY: when set, it points at an alias of this generation's configuration.
                let alias: Option<&'c ScriptAlias<CompiledRegex>> = unsafe { alias.as_ref() };
                check_script(r, alias.is_some())?;
                let script = String::from_utf8_lossy(r.filename()).into_owned().into();
                (alias.map(|a| &a.options), script, r.script_mtime())
            }
            Route::Handler(handler) => {
                check_path_info(r)?;
                let mtime = loader::file_mtime(&handler.script).unwrap_or(0);
                (
                    Some(&handler.options),
                    handler.script.as_str().into(),
                    mtime,
                )
            }
        };
    // SAFETY: the per-directory slot holds our merged DirConfig, which lives
    // for the generation.
    let dir: &'c DirConfig = unsafe { &*r.dir_config().cast::<DirConfig>() };
    let target = target(r, dir, options)?;
    if let Target::Daemon(group) = target {
        check_script_owner(r, group)?;
    }
    let process_group = match target {
        Target::Embedded(_) => "",
        Target::Daemon(group) => group.settings.name.as_str(),
    };
    let body_length = check_request_body(r, dir).map_err(|mut refusal| {
        refusal.group = (!process_group.is_empty()).then_some(process_group);
        refusal
    })?;
    let head_as_get = r.is_head()
        && r.is_get_method()
        && match dir.map_head_to_get() {
            HeadToGet::On => true,
            HeadToGet::Off => false,
            HeadToGet::Auto => r.has_content_filters(),
        };
    let cgi = CgiOptions {
        pass_authorization: options
            .and_then(|o| o.pass_authorization)
            .unwrap_or(dir.pass_authorization()),
        head_as_get,
        proxy: dir.trusted_proxy_headers.as_deref().map(|headers| {
            environ::trusted_proxy_headers(r, headers, dir.trusted_proxies.as_deref())
        }),
    };
    let script_reloading = match (dir.script_reloading(), &target) {
        (false, _) => ScriptReloading::Off,
        (true, Target::Embedded(_)) => ScriptReloading::Module,
        (true, Target::Daemon(_)) => ScriptReloading::Process,
    };
    let meta = RequestMeta {
        script,
        script_mtime,
        script_reloading,
        callable_object: options
            .and_then(|o| o.callable_object.as_deref())
            .unwrap_or(dir.callable_object())
            .into(),
        body_length,
        error_override: dir.error_override(),
        discard_body: r.is_head(),
        ignore_activity: dir.ignore_activity(),
        url_scheme: url_scheme(r, cgi.proxy.as_ref()),
        process_group: process_group.into(),
        application_group: application_group(r, dir, options).into(),
        times: RequestTimes {
            request_start: r.request_time(),
            ..RequestTimes::default()
        },
    };
    Ok(Plan {
        target,
        meta,
        cgi,
        sendfile: dir.enable_sendfile(),
    })
}

/// `script-user=` / `script-group=` of the daemon group (403 as mod_wsgi).
fn check_script_owner(r: &Request, group: &'static GroupRuntime) -> Result<(), Refusal> {
    use std::os::unix::ffi::OsStrExt;
    let script = std::path::Path::new(std::ffi::OsStr::from_bytes(r.filename()));
    daemon::script_owner::check(&group.settings, script).map_err(|text| Refusal {
        group: Some(group.settings.name.as_str()),
        ..Refusal::new(403, messages::SCRIPT_OWNER_REFUSED, text)
    })
}

/// The script exists, is a file, may be run here, and the URL's extra path
/// is allowed.
fn check_script(r: &Request, aliased: bool) -> Result<(), Refusal> {
    if !aliased && !r.is_script_aliased() && !r.exec_cgi_allowed() {
        return Err(Refusal::new(
            bindings::HTTP_FORBIDDEN,
            messages::EXECCGI_OFF,
            "Options ExecCGI is off in this directory",
        ));
    }
    match r.script_kind() {
        FileKind::Missing => {
            return Err(Refusal::new(
                bindings::HTTP_NOT_FOUND,
                messages::SCRIPT_NOT_FOUND,
                "target WSGI script not found or unable to stat",
            ));
        }
        FileKind::Directory => {
            return Err(Refusal::new(
                bindings::HTTP_FORBIDDEN,
                messages::SCRIPT_IS_DIRECTORY,
                "attempt to invoke a directory as a WSGI application",
            ));
        }
        FileKind::File => {}
    }
    check_path_info(r)
}

/// `AcceptPathInfo Off` refuses a URL with extra path.
fn check_path_info(r: &Request) -> Result<(), Refusal> {
    if r.rejects_path_info() && !r.path_info().is_empty() {
        return Err(Refusal::new(
            bindings::HTTP_NOT_FOUND,
            messages::PATH_INFO_REJECTED,
            "AcceptPathInfo Off disallows the request's extra path",
        ));
    }
    Ok(())
}

/// A request environment variable, for `%{ENV:...}`.
fn env(r: &Request, name: &str) -> Option<String> {
    CString::new(name).ok().and_then(|n| r.subprocess_env(&n))
}

/// Embedded, or the daemon group that `WSGIProcessGroup` (or the alias's
/// `process-group=`) names, `%{ENV:...}` expanded.
fn target(
    r: &Request,
    dir: &DirConfig,
    options: Option<&ScriptAliasOptions>,
) -> Result<Target, Refusal> {
    let configured = options
        .and_then(|o| o.process_group.as_deref())
        .or(dir.process_group.as_deref());
    let process_group: Option<Cow<'_, str>> =
        configured.map(
            |g| match g.strip_prefix("%{ENV:").and_then(|v| v.strip_suffix('}')) {
                Some(var) => env(r, var).unwrap_or_default().into(),
                None => g.into(),
            },
        );
    if !restrict_process_allows(dir.restrict_process.as_deref(), process_group.as_deref()) {
        let name = process_group.as_deref().unwrap_or("%{GLOBAL}");
        return Err(Refusal::new(
            bindings::HTTP_INTERNAL_SERVER_ERROR,
            messages::PROCESS_GROUP_RESTRICTED,
            format!(
                "the request is routed to the process group '{name}', which WSGIRestrictProcess does not list for it"
            ),
        ));
    }
    if let Some(name) = process_group.as_deref().filter(|g| !is_global_group(g)) {
        return match daemon::find_group(name) {
            Some(group) if serves(&group.home, r) => Ok(Target::Daemon(group)),
            Some(group) => Err(Refusal::new(
                bindings::HTTP_INTERNAL_SERVER_ERROR,
                messages::PROCESS_GROUP_OF_OTHER_HOST,
                format!(
                    "the request is routed to the daemon process group '{name}', which the virtual host '{}' defines for itself",
                    group.home.hostname
                ),
            )),
            None => Err(Refusal::new(
                bindings::HTTP_INTERNAL_SERVER_ERROR,
                messages::UNKNOWN_PROCESS_GROUP,
                format!(
                    "the request is routed to the daemon process group '{name}', which no WSGIDaemonProcess defines"
                ),
            )),
        };
    }
    // Restricted first: a child may have Python for the authentication
    // scripts alone.
    match child::process() {
        _ if child::embedded_restricted() => Err(Refusal::new(
            bindings::HTTP_INTERNAL_SERVER_ERROR,
            messages::EMBEDDED_RESTRICTED,
            "the request would run in embedded mode, which WSGIRestrictEmbedded On disables; route it to a daemon process group",
        )),
        Some(process) => Ok(Target::Embedded(process)),
        None => Err(Refusal::new(
            bindings::HTTP_INTERNAL_SERVER_ERROR,
            messages::PYTHON_UNAVAILABLE,
            "Python failed to start in this child; see the start-up error",
        )),
    }
}

/// mod_wsgi's rule (wsgi_remote.c): a group defined in the main server
/// serves every host; one defined in a virtual host serves that host and
/// the hosts with the same `ServerName` (its HTTP and HTTPS twins). The
/// name is compared last, as only a cross-host request gets that far.
fn serves(home: &GroupHome, r: &Request) -> bool {
    let server = r.server();
    home.in_main_server
        || home.server == server.as_ptr() as usize
        || server.hostname() == home.hostname
}

/// `wsgi.url_scheme` as mod_wsgi decides it: "https" when the request's
/// `HTTPS` variable is "on" (mod_ssl sets it on every TLS request) or "1"
/// (SetEnv, e.g. behind a TLS-terminating proxy), otherwise "http". The
/// variable itself is not passed on (see `environ`). A trusted proxy's
/// scheme header, when it said https or http, decides instead (mod_wsgi
/// then skips mod_ssl's view of the hop from the proxy).
fn url_scheme(r: &Request, proxy: Option<&ProxyOutcome>) -> Cow<'static, str> {
    if let Some(https) = proxy.and_then(ProxyOutcome::https) {
        return Cow::Borrowed(if https { "https" } else { "http" });
    }
    Cow::Borrowed(match r.subprocess_env_bytes(c"HTTPS") {
        Some(v) if v.eq_ignore_ascii_case(b"on") || v == b"1" => "https",
        _ => "http",
    })
}

/// `WSGIApplicationGroup` (or `application-group=`), expanded.
fn application_group(r: &Request, dir: &DirConfig, options: Option<&ScriptAliasOptions>) -> String {
    let facts = r.server_facts();
    let script_name_len = if r.path_info().is_empty() {
        r.uri().len()
    } else {
        r.script_name_length()
    };
    expand_application_group(
        options
            .and_then(|o| o.application_group.as_deref())
            .or(dir.application_group.as_deref()),
        &GroupContext {
            server_hostname: &String::from_utf8_lossy(facts.hostname),
            requested_host: &String::from_utf8_lossy(r.hostname()),
            server_port: facts.port,
            script_name: &script_name(&r.uri()[..script_name_len]),
            env: &|name| env(r, name),
        },
    )
}

/// The script's URL as `%{RESOURCE}` names it: lower-cased with
/// `WSGICaseSensitivity Off`, as mod_wsgi's `wsgi_script_name`.
fn script_name(uri: &[u8]) -> std::borrow::Cow<'_, str> {
    let name = String::from_utf8_lossy(uri);
    if wsgi::python::loader::case_sensitive() {
        name
    } else {
        name.to_ascii_lowercase().into()
    }
}

/// Checks how the body is framed and prepares to read it. Returns the
/// declared length, or `None` for a chunked body.
fn check_request_body(r: &mut Request, dir: &DirConfig) -> Result<Option<u64>, Refusal> {
    let encoding = r.header_in(c"Transfer-Encoding");
    let content_length = r.header_in(c"Content-Length");
    if let Some(encoding) = encoding {
        if !encoding.eq_ignore_ascii_case(b"chunked") {
            return Err(Refusal::new(
                bindings::HTTP_NOT_IMPLEMENTED,
                messages::TRANSFER_ENCODING_UNSUPPORTED,
                format!(
                    "unsupported Transfer-Encoding '{}'; only chunked is",
                    String::from_utf8_lossy(encoding)
                ),
            ));
        }
        if !dir.chunked_request() {
            return Err(Refusal::new(
                bindings::HTTP_LENGTH_REQUIRED,
                messages::CHUNKED_NOT_ENABLED,
                "the request body is chunked, but WSGIChunkedRequest is Off",
            ));
        }
        if content_length.is_some() {
            return Err(Refusal::new(
                bindings::HTTP_BAD_REQUEST,
                messages::BAD_CONTENT_LENGTH,
                "both Content-Length and chunked Transfer-Encoding were sent",
            ));
        }
    }
    let length = match content_length {
        Some(value) => match parse_content_length(&String::from_utf8_lossy(value)) {
            Ok(length) => Some(length),
            Err(e) => {
                return Err(Refusal::new(
                    bindings::HTTP_BAD_REQUEST,
                    messages::BAD_CONTENT_LENGTH,
                    e,
                ));
            }
        },
        None if encoding.is_some() => None,
        None => Some(0),
    };
    let limit = r.body_limit();
    if limit > 0 && length.is_some_and(|l| l > limit) {
        return Err(Refusal::silent(
            bindings::HTTP_REQUEST_ENTITY_TOO_LARGE as c_int,
        ));
    }
    r.setup_body().map_err(Refusal::silent)?;
    Ok(length)
}
