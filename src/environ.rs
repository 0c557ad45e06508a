//! The CGI variables of an Apache request, computed the way mod_wsgi 6 does
//! (without `ap_add_cgi_vars`, whose PATH_TRANSLATED costs a sub-request).

use wsgi::alias::collapse_slashes;
use wsgi::cgi::{HeaderVariable, header_variable};
use wsgi::messages::{self, Level, LogContext};
use wsgi::proxy::{ProxyHeader, ProxyOutcome, ProxyRequest, Subnet, apply_proxy_headers};

use crate::apache::request::Request;

/// Per-request choices that change the variables.
pub struct CgiOptions {
    pub pass_authorization: bool,
    /// Report a HEAD request as GET (`WSGIMapHEADToGET`).
    pub head_as_get: bool,
    /// What `WSGITrustedProxyHeaders` changed; `None` where none are named.
    pub proxy: Option<ProxyOutcome>,
}

/// Applies the context's `WSGITrustedProxyHeaders` to `r`, once, in the
/// Apache child (in daemon mode too, as mod_wsgi does: the daemon gets the
/// variables as rewritten). An address that could not be read is noted at
/// debug level, as mod_wsgi notes it at TRACE1.
pub fn trusted_proxy_headers(
    r: &Request,
    headers: &[&'static ProxyHeader],
    proxies: Option<&[Subnet]>,
) -> ProxyOutcome {
    // mod_wsgi reads the variables, where a request header wins over the
    // same name set by SetEnv or mod_rewrite.
    let value_of = |h: &ProxyHeader| {
        r.header_in(h.header)
            .or_else(|| r.subprocess_env_bytes(h.key))
    };
    let outcome = apply_proxy_headers(
        headers,
        proxies,
        &ProxyRequest {
            remote_addr: r.useragent_ip(),
            value_of: &value_of,
        },
    );
    if !outcome.notes.is_empty() {
        let context = LogContext::script(&String::from_utf8_lossy(r.filename()));
        for note in &outcome.notes {
            r.log(
                Level::Debug,
                &messages::format_line(&context, messages::PROXY_ADDRESS_INVALID, note),
            );
        }
    }
    outcome
}

/// This Apache child's pid in decimal, formatted on its first request
/// (the parent, which forks the children, never serves one).
fn server_pid() -> &'static [u8] {
    static PID: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    PID.get_or_init(|| crate::unix::getpid().to_string().into_bytes())
}

fn decimal(n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

pub fn visit_cgi_variables(r: &Request, options: &CgiOptions, visit: &mut dyn FnMut(&[u8], &[u8])) {
    match &options.proxy {
        None => visit_request_variables(r, options, visit),
        // The proxy's values replace the request's own, and the headers it
        // removed are not passed on.
        Some(proxy) => {
            visit_request_variables(r, options, &mut |key, value| {
                if !proxy.replaces(key) {
                    visit(key, value)
                }
            });
            proxy.visit_set(visit);
        }
    }
}

fn visit_request_variables(r: &Request, options: &CgiOptions, visit: &mut dyn FnMut(&[u8], &[u8])) {
    // Variables other modules set (SetEnv, mod_rewrite, mod_ssl) come first
    // so that the request's own values below win. HTTPS is left out, from
    // mod_ssl or SetEnv alike: as in mod_wsgi, `wsgi.url_scheme` carries it
    // (routing reads it for that), and a WSGI application should use that.
    r.visit_subprocess_env(&mut |key, value| {
        if key != b"HTTPS" {
            visit(key, value)
        }
    });

    let mut key = Vec::with_capacity(64);
    r.visit_headers_in(&mut |name, value| match header_variable(name, &mut key) {
        HeaderVariable::Plain(plain) => visit(plain.as_bytes(), value),
        HeaderVariable::Prefixed => visit(&key, value),
        HeaderVariable::Authorization if options.pass_authorization => visit(&key, value),
        HeaderVariable::Authorization | HeaderVariable::Dropped => {}
    });

    let facts = r.server_facts();
    let mut number = [0u8; 20];
    visit(b"SERVER_SOFTWARE", facts.banner);
    visit(b"SERVER_NAME", facts.name);
    visit(b"SERVER_ADDR", facts.local_ip);
    visit(b"SERVER_PORT", decimal(facts.port.into(), &mut number));
    visit(b"REMOTE_ADDR", r.useragent_ip());
    visit(
        b"REMOTE_PORT",
        decimal(facts.client_port.into(), &mut number),
    );
    visit(b"DOCUMENT_ROOT", facts.document_root);
    visit(b"REQUEST_SCHEME", facts.scheme);
    visit(b"CONTEXT_PREFIX", facts.context_prefix);
    visit(b"CONTEXT_DOCUMENT_ROOT", facts.context_document_root);
    if let Some(admin) = facts.admin {
        visit(b"SERVER_ADMIN", admin);
    }
    visit(b"SCRIPT_FILENAME", r.filename());
    if let Some(user) = r.user() {
        visit(b"REMOTE_USER", user);
    }
    if let Some(auth_type) = r.auth_type() {
        visit(b"AUTH_TYPE", auth_type);
    }
    visit(b"SERVER_PROTOCOL", r.protocol());
    visit(
        b"REQUEST_METHOD",
        if options.head_as_get {
            b"GET"
        } else {
            r.method()
        },
    );
    visit(b"QUERY_STRING", r.args());
    visit(b"REQUEST_URI", r.original_unparsed_uri());

    let uri = r.uri();
    let path_info = r.path_info();
    let script_name = if path_info.is_empty() {
        uri
    } else {
        &uri[..r.script_name_length()]
    };
    let script_name = collapse_slashes(script_name);
    let path_info = collapse_slashes(path_info);
    visit(b"SCRIPT_NAME", &script_name);
    visit(b"PATH_INFO", &path_info);

    // mod_wsgi 6's own keys. They travel with the CGI variables, as in
    // mod_wsgi, so a daemon reports the Apache child's facts: the values as
    // they were before any middleware rewrote SCRIPT_NAME and PATH_INFO,
    // the listener (to tell virtual hosts apart), the child's pid and the
    // request's log id (to match the error and access logs).
    visit(b"mod_wsgi.script_name", &script_name);
    visit(b"mod_wsgi.path_info", &path_info);
    visit(b"mod_wsgi.request_handler", r.handler());
    visit(b"mod_wsgi.handler_script", b"");
    visit(b"mod_wsgi.listener_host", facts.listener_host);
    visit(
        b"mod_wsgi.listener_port",
        decimal(facts.listener_port.into(), &mut number),
    );
    visit(b"mod_wsgi.server_pid", server_pid());
    if let Some(id) = r.log_id() {
        visit(b"mod_wsgi.request_id", id);
    }
    if let Some(id) = r.connection_log_id() {
        visit(b"mod_wsgi.connection_id", id);
    }
}
