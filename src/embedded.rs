//! Embedded mode: an Apache request in, the WSGI adapter, the response
//! back to Apache, all inside the Apache child.

use std::ffi::c_int;
use std::io;
use std::os::fd::RawFd;

use wsgi::adapter::{self, EnvironExtras, Outcome, ResponseHead, Transport};
use wsgi::alias::{alias_matches, mapped_filename};
use wsgi::channel::RequestFrame;
use wsgi::config::{
    GroupContext, HeadToGet, Location, ScriptAlias, expand_application_group, is_global_group,
};
use wsgi::messages::{self, Level};
use wsgi::validate::parse_content_length;

use crate::apache::bindings::{self, apr_bucket_brigade};
use crate::apache::log;
use crate::apache::request::{FileKind, Request};
use crate::child;
use crate::config::{CompiledRegex, DirConfig, ServerConfig};
use crate::environ::{CgiOptions, visit_cgi_variables};

const HANDLER: &std::ffi::CStr = c"wsgi-script";
const HANDLER_MIME: &[u8] = b"application/x-httpd-wsgi";

const OK: c_int = bindings::OK as c_int;
const DECLINED: c_int = bindings::DECLINED as c_int;

/// Maps a URL under a `WSGIScriptAlias` to its script (translate_name).
pub fn translate_name(mut r: Request) -> c_int {
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
            Location::Pattern { compiled, .. } => {
                match regex_target(&r, *compiled, &alias.target) {
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

/// `WSGIScriptAliasMatch`: the matched part of the URI is SCRIPT_NAME and
/// the target may use `$1`-style back-references.
fn regex_target(r: &Request, regex: CompiledRegex, target: &str) -> Option<Vec<u8>> {
    // SAFETY: the request's pool is live; the regex lives for the generation.
    unsafe { crate::apache::regex::substitute_match((*r.as_ptr()).pool, regex, r.uri(), target) }
}

fn refuse(r: &Request, status: u32, id: &str, text: &str) -> c_int {
    refuse_for(r, None, status, id, text)
}

/// `refuse`, naming the daemon process group the request was routed to.
fn refuse_for(r: &Request, group: Option<&str>, status: u32, id: &str, text: &str) -> c_int {
    let script = String::from_utf8_lossy(r.filename()).into_owned();
    let context = match group {
        Some(group) => format!("script='{script}', group='{group}'"),
        None => format!("script='{script}'"),
    };
    // SAFETY: the request is live.
    unsafe {
        log::request(
            Level::Error,
            r.as_ptr(),
            &messages::format_line(&context, id, text),
        )
    };
    status as c_int
}

/// The response handler: runs the WSGI application for `wsgi-script` requests.
pub fn handler(mut r: Request) -> c_int {
    let handler = r.handler();
    if handler != HANDLER.to_bytes() && handler != HANDLER_MIME {
        return DECLINED;
    }
    let alias = r.request_config().cast::<ScriptAlias<CompiledRegex>>();
    // SAFETY: when set, it points at an alias of this generation's configuration.
    let alias = unsafe { alias.as_ref() };
    if alias.is_none() && !r.is_script_aliased() && !r.exec_cgi_allowed() {
        return refuse(
            &r,
            bindings::HTTP_FORBIDDEN,
            messages::EXECCGI_OFF,
            "Options ExecCGI is off in this directory",
        );
    }
    match r.script_kind() {
        FileKind::Missing => {
            return refuse(
                &r,
                bindings::HTTP_NOT_FOUND,
                messages::SCRIPT_NOT_FOUND,
                "target WSGI script not found or unable to stat",
            );
        }
        FileKind::Directory => {
            return refuse(
                &r,
                bindings::HTTP_FORBIDDEN,
                messages::SCRIPT_IS_DIRECTORY,
                "attempt to invoke a directory as a WSGI application",
            );
        }
        FileKind::File => {}
    }
    if r.rejects_path_info() && !r.path_info().is_empty() {
        return refuse(
            &r,
            bindings::HTTP_NOT_FOUND,
            messages::PATH_INFO_REJECTED,
            "AcceptPathInfo Off disallows the request's extra path",
        );
    }
    // SAFETY: the per-directory slot holds our merged DirConfig.
    let dir = unsafe { &*r.dir_config().cast::<DirConfig>() };
    let options = alias.map(|a| &a.options);

    let env_request = r;
    let env_lookup = move |name: &str| {
        std::ffi::CString::new(name)
            .ok()
            .and_then(|n| env_request.subprocess_env(&n))
    };
    let process_group = options
        .and_then(|o| o.process_group.as_deref())
        .or(dir.process_group.as_deref());
    let process_group =
        process_group.map(
            |g| match g.strip_prefix("%{ENV:").and_then(|v| v.strip_suffix('}')) {
                Some(var) => env_lookup(var).unwrap_or_default(),
                None => g.to_owned(),
            },
        );
    let daemon_group = match process_group.as_deref().filter(|g| !is_global_group(g)) {
        Some(name) => match crate::daemon::find_group(name) {
            Some(group) => Some(group),
            None => {
                return refuse(
                    &r,
                    bindings::HTTP_INTERNAL_SERVER_ERROR,
                    messages::UNKNOWN_PROCESS_GROUP,
                    &format!(
                        "the request is routed to the daemon process group '{name}', which no WSGIDaemonProcess defines"
                    ),
                );
            }
        },
        None => None,
    };
    let process = match (daemon_group, child::process()) {
        (Some(_), _) => None,
        (None, Some(process)) => Some(process),
        (None, None) if child::embedded_restricted() => {
            return refuse(
                &r,
                bindings::HTTP_INTERNAL_SERVER_ERROR,
                messages::EMBEDDED_RESTRICTED,
                "the request would run in embedded mode, which WSGIRestrictEmbedded On disables; route it to a daemon process group",
            );
        }
        (None, None) => {
            return refuse(
                &r,
                bindings::HTTP_INTERNAL_SERVER_ERROR,
                messages::PYTHON_UNAVAILABLE,
                "Python failed to start in this child; see the start-up error",
            );
        }
    };

    let group_name = daemon_group.map(|g| g.settings.name.as_str());
    let body_length = match check_request_body(&mut r, dir, group_name) {
        Ok(length) => length,
        Err(status) => return status,
    };

    let callable = options
        .and_then(|o| o.callable_object.as_deref())
        .unwrap_or(dir.callable_object());
    let pass_authorization = options
        .and_then(|o| o.pass_authorization)
        .unwrap_or(dir.pass_authorization());
    let head_as_get = r.is_head()
        && r.is_get_method()
        && match dir.map_head_to_get() {
            HeadToGet::On => true,
            HeadToGet::Off => false,
            HeadToGet::Auto => r.has_content_filters(),
        };
    let facts = r.server_facts();
    let script_name_len = if r.path_info().is_empty() {
        r.uri().len()
    } else {
        r.script_name_length()
    };
    let script_name = String::from_utf8_lossy(&r.uri()[..script_name_len]).into_owned();
    let hostname = String::from_utf8_lossy(facts.hostname).into_owned();
    let requested_host = String::from_utf8_lossy(r.hostname()).into_owned();
    let scheme = String::from_utf8_lossy(facts.scheme).into_owned();
    let application_group = expand_application_group(
        options
            .and_then(|o| o.application_group.as_deref())
            .or(dir.application_group.as_deref()),
        &GroupContext {
            server_hostname: &hostname,
            requested_host: &requested_host,
            server_port: facts.port,
            script_name: &script_name,
            env: &env_lookup,
        },
    );
    let script = String::from_utf8_lossy(r.filename()).into_owned();
    let cgi = CgiOptions {
        pass_authorization,
        head_as_get,
    };
    let Some(process) = process else {
        let group = daemon_group.expect("no process means a daemon group");
        let frame = RequestFrame {
            script,
            script_mtime: r.script_mtime(),
            callable_object: callable.to_owned(),
            script_reloading: dir.script_reloading(),
            error_override: dir.error_override(),
            discard_body: r.is_head(),
            body_length,
            url_scheme: scheme,
            application_group,
            queue_start: 0,
            variables: Default::default(),
        };
        return crate::daemon::client::handle(
            r,
            crate::daemon::client::DaemonRequest {
                frame,
                cgi,
                group,
                sendfile: dir.enable_sendfile(),
            },
        );
    };
    let request = adapter::Request {
        script: &script,
        script_mtime: r.script_mtime(),
        script_reloading: dir.script_reloading(),
        callable_object: callable,
        body_length,
        error_override: dir.error_override(),
        discard_body: r.is_head(),
        environ: EnvironExtras {
            url_scheme: &scheme,
            process_group: "",
            application_group: &application_group,
            callable_object: callable,
            script_reloading: dir.script_reloading(),
        },
    };
    let transport = ApacheTransport {
        request: r,
        brigade: r.new_brigade(),
        cgi,
        sendfile: dir.enable_sendfile(),
    };
    let (outcome, transport) =
        wsgi::python::attach(|py| adapter::handle_request(py, process, &request, transport));
    finish_response(r, transport.brigade, outcome)
}

/// Checks how the body is framed and prepares to read it. Returns the
/// declared length, or `None` for a chunked body.
fn check_request_body(
    r: &mut Request,
    dir: &DirConfig,
    group: Option<&str>,
) -> Result<Option<u64>, c_int> {
    let refuse = |r: &Request, status, id, text: &str| refuse_for(r, group, status, id, text);
    let content_length = r
        .header_in(c"Content-Length")
        .map(|v| String::from_utf8_lossy(v).into_owned());
    if let Some(encoding) = r.header_in(c"Transfer-Encoding") {
        if !encoding.eq_ignore_ascii_case(b"chunked") {
            let text = format!(
                "unsupported Transfer-Encoding '{}'; only chunked is",
                String::from_utf8_lossy(encoding)
            );
            return Err(refuse(
                r,
                bindings::HTTP_NOT_IMPLEMENTED,
                messages::TRANSFER_ENCODING_UNSUPPORTED,
                &text,
            ));
        }
        if !dir.chunked_request() {
            return Err(refuse(
                r,
                bindings::HTTP_LENGTH_REQUIRED,
                messages::CHUNKED_NOT_ENABLED,
                "the request body is chunked, but WSGIChunkedRequest is Off",
            ));
        }
        if content_length.is_some() {
            return Err(refuse(
                r,
                bindings::HTTP_BAD_REQUEST,
                messages::BAD_CONTENT_LENGTH,
                "both Content-Length and chunked Transfer-Encoding were sent",
            ));
        }
    }
    let length = match content_length {
        Some(value) => match parse_content_length(&value) {
            Ok(length) => Some(length),
            Err(e) => {
                return Err(refuse(
                    r,
                    bindings::HTTP_BAD_REQUEST,
                    messages::BAD_CONTENT_LENGTH,
                    &e,
                ));
            }
        },
        None if r.header_in(c"Transfer-Encoding").is_some() => None,
        None => Some(0),
    };
    let limit = r.body_limit();
    if limit > 0 && length.is_some_and(|l| l > limit) {
        return Err(bindings::HTTP_REQUEST_ENTITY_TOO_LARGE as c_int);
    }
    r.setup_body()?;
    Ok(length)
}

/// Ends the HTTP exchange once the application is done (and the GIL
/// released), in embedded and daemon mode alike.
pub fn finish_response(r: Request, brigade: *mut apr_bucket_brigade, outcome: Outcome) -> c_int {
    match outcome {
        Outcome::Complete => {
            let _ = r.pass_end(brigade);
            OK
        }
        Outcome::Truncated => {
            let _ = r.pass_broken_end(brigade);
            OK
        }
        Outcome::ClientGone => OK,
        Outcome::Failed => bindings::HTTP_INTERNAL_SERVER_ERROR as c_int,
        Outcome::ErrorOverride(status) => c_int::from(status),
    }
}

/// The adapter's view of an Apache request.
struct ApacheTransport {
    request: Request,
    /// Holds the queued response until it is passed to Apache's filters.
    brigade: *mut apr_bucket_brigade,
    cgi: CgiOptions,
    /// `WSGIEnableSendfile`.
    sendfile: bool,
}

// SAFETY: used by one thread at a time (see `Request`); the brigade belongs
// to the request.
unsafe impl Send for ApacheTransport {}

impl Transport for ApacheTransport {
    fn cgi_variables(&self, visit: &mut dyn FnMut(&[u8], &[u8])) {
        visit_cgi_variables(&self.request, &self.cgi, visit);
    }

    fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.request.read_body(buf)
    }

    fn set_head(&mut self, head: &ResponseHead) {
        self.request
            .set_response_head(head.status, &head.status_line, &head.headers);
    }

    fn queue_body(&mut self, data: &[u8]) -> io::Result<()> {
        self.request.brigade_copy(self.brigade, data)
    }

    fn send_body(&mut self, data: &[u8]) -> io::Result<()> {
        self.request.pass_now(self.brigade, data)
    }

    fn send_file(&mut self, fd: RawFd, offset: u64, len: u64) -> io::Result<()> {
        self.request
            .pass_file(self.brigade, fd, offset, len, self.sendfile)
    }

    fn log(&self, level: Level, message: &str) {
        // SAFETY: the request is live while the transport exists.
        unsafe { log::request(level, self.request.as_ptr(), message) }
    }
}
