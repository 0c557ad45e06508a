//! `WSGITrustedProxyHeaders` and `WSGITrustedProxies`: what a front-end
//! proxy's headers change in a request's CGI variables, by mod_wsgi 6.1.1's
//! rules (`wsgi_process_proxy_headers` in wsgi_environ.c).
//!
//! - Only the headers the configuration names are honoured, and only when
//!   the peer is a trusted proxy (any peer when `WSGITrustedProxies` is not
//!   set). Each rewrites a variable: `REMOTE_ADDR` (X-Forwarded-For,
//!   X-Client-IP, X-Real-IP), `HTTP_HOST` (X-Forwarded-Host, X-Host),
//!   `SERVER_NAME` (X-Forwarded-Server), `SERVER_PORT` (X-Forwarded-Port),
//!   `SCRIPT_NAME` and `mod_wsgi.mount_point` (X-Script-Name,
//!   X-Forwarded-Script-Name), `HTTPS` and so `wsgi.url_scheme`
//!   (X-Forwarded-Proto, X-Forwarded-Scheme, X-Scheme, X-Forwarded-HTTPS,
//!   X-Forwarded-SSL, X-HTTPS).
//! - Every header of a category that a named header belongs to is removed
//!   from environ, except the one that was applied: a client cannot spoof
//!   `X-Real-IP` past a proxy that only sets X-Forwarded-For, nor send its
//!   own X-Forwarded-For past an untrusted peer check.
//!
//! The host reads the values from the request and applies the result
//! ([`ProxyOutcome`]) to the variables it passes on; nothing here runs for a
//! request whose context names no header.

mod address;

pub use address::{Subnet, parse_client_ip, parse_trusted_proxy};

use std::ffi::CStr;

/// The group of variables a header rewrites; within one, only the applied
/// header survives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Category {
    Client,
    Host,
    Server,
    Port,
    ScriptName,
    Scheme,
}

/// How a header's value is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Apply {
    ForwardedFor,
    /// The value is the client's address, as it is.
    ClientIp,
    Host,
    Server,
    Port,
    ScriptName,
    /// `https` or `http`.
    SchemeString,
    /// `On`/`true`/`1` or `Off`/`false`/`0`.
    SchemeBool,
}

/// One header mod_wsgi knows as a proxy header.
#[derive(Debug, PartialEq, Eq)]
pub struct ProxyHeader {
    /// The request header, as a client sends it.
    pub header: &'static CStr,
    /// Its CGI variable (`HTTP_...`).
    pub key: &'static CStr,
    category: Category,
    apply: Apply,
}

impl ProxyHeader {
    pub fn key_str(&self) -> &'static str {
        self.key.to_str().expect("registry keys are ASCII")
    }
}

const fn header(
    header: &'static CStr,
    key: &'static CStr,
    category: Category,
    apply: Apply,
) -> ProxyHeader {
    ProxyHeader {
        header,
        key,
        category,
        apply,
    }
}

/// mod_wsgi 6.1.1's registry (`wsgi_proxy_header_registry`), in its order.
#[rustfmt::skip]
pub static REGISTRY: [ProxyHeader; 15] = [
    header(c"X-Forwarded-For", c"HTTP_X_FORWARDED_FOR", Category::Client, Apply::ForwardedFor),
    header(c"X-Client-IP", c"HTTP_X_CLIENT_IP", Category::Client, Apply::ClientIp),
    header(c"X-Real-IP", c"HTTP_X_REAL_IP", Category::Client, Apply::ClientIp),
    header(c"X-Forwarded-Host", c"HTTP_X_FORWARDED_HOST", Category::Host, Apply::Host),
    header(c"X-Host", c"HTTP_X_HOST", Category::Host, Apply::Host),
    header(c"X-Forwarded-Server", c"HTTP_X_FORWARDED_SERVER", Category::Server, Apply::Server),
    header(c"X-Forwarded-Port", c"HTTP_X_FORWARDED_PORT", Category::Port, Apply::Port),
    header(c"X-Script-Name", c"HTTP_X_SCRIPT_NAME", Category::ScriptName, Apply::ScriptName),
    header(c"X-Forwarded-Script-Name", c"HTTP_X_FORWARDED_SCRIPT_NAME", Category::ScriptName, Apply::ScriptName),
    header(c"X-Forwarded-Proto", c"HTTP_X_FORWARDED_PROTO", Category::Scheme, Apply::SchemeString),
    header(c"X-Forwarded-Scheme", c"HTTP_X_FORWARDED_SCHEME", Category::Scheme, Apply::SchemeString),
    header(c"X-Scheme", c"HTTP_X_SCHEME", Category::Scheme, Apply::SchemeString),
    header(c"X-Forwarded-HTTPS", c"HTTP_X_FORWARDED_HTTPS", Category::Scheme, Apply::SchemeBool),
    header(c"X-Forwarded-SSL", c"HTTP_X_FORWARDED_SSL", Category::Scheme, Apply::SchemeBool),
    header(c"X-HTTPS", c"HTTP_X_HTTPS", Category::Scheme, Apply::SchemeBool),
];

/// `WSGITrustedProxyHeaders`' words: the known headers, in order, and the
/// names mod_wsgi does not know (it ignores them; the host warns).
#[derive(Debug, Default, PartialEq)]
pub struct ParsedHeaders {
    pub known: Vec<&'static ProxyHeader>,
    pub unknown: Vec<String>,
}

/// Parses `WSGITrustedProxyHeaders`' words (`name` is the directive's, for
/// the message). A name is matched as
/// mod_wsgi matches it: turned into its CGI variable (`wsgi_http2env`), so
/// case does not matter. A name with characters other than letters, digits
/// and `-` can never be a request header's (Apache drops those headers);
/// mod_wsgi 6.1.1 crashes on the first request with one, so it is refused.
pub fn parse_trusted_proxy_headers(
    name: &str,
    words: Vec<String>,
) -> Result<ParsedHeaders, String> {
    let mut parsed = ParsedHeaders::default();
    for word in words {
        if word.is_empty() || !word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!(
                "{name}: '{word}' is not a request header name (letters, digits and '-' only); \
                 name the headers as the proxy sends them, e.g. X-Forwarded-For X-Forwarded-Proto"
            ));
        }
        let key = format!("HTTP_{}", word.to_ascii_uppercase().replace('-', "_"));
        match REGISTRY.iter().find(|h| h.key_str() == key) {
            Some(known) => parsed.known.push(known),
            None => parsed.unknown.push(word),
        }
    }
    Ok(parsed)
}

/// `WSGITrustedProxies`' words: addresses and subnets, as mod_wsgi parses
/// them (`wsgi_set_trusted_proxies`, `apr_ipsubnet_create`).
pub fn parse_trusted_proxies(words: &[String]) -> Result<Vec<Subnet>, String> {
    words.iter().map(|word| parse_trusted_proxy(word)).collect()
}

/// What the proxy headers change: variables set, and variables removed.
#[derive(Debug, Default, PartialEq)]
pub struct ProxyOutcome {
    changes: Vec<(&'static str, Option<Vec<u8>>)>,
    /// Why a value was not used, for the request's debug log
    /// (mod_wsgi logs these at TRACE1).
    pub notes: Vec<String>,
}

impl ProxyOutcome {
    fn set(&mut self, key: &'static str, value: Option<Vec<u8>>) {
        match self.changes.iter_mut().find(|(k, _)| *k == key) {
            Some(change) => change.1 = value,
            None => self.changes.push((key, value)),
        }
    }

    /// `Some(None)` when `key` was removed, `Some(Some(value))` when set,
    /// `None` when the headers left it alone.
    pub fn get(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.changes
            .iter()
            .find(|(k, _)| k.as_bytes() == key)
            .map(|(_, v)| v.as_deref())
    }

    /// Whether the variable's own value is replaced or removed.
    pub fn replaces(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Visits the variables the headers set (`HTTPS` is left out: it
    /// becomes `wsgi.url_scheme`).
    pub fn visit_set(&self, visit: &mut dyn FnMut(&[u8], &[u8])) {
        for (key, value) in &self.changes {
            if let Some(value) = value
                && *key != "HTTPS"
            {
                visit(key.as_bytes(), value);
            }
        }
    }

    /// `Some(true)` when the headers said https, `Some(false)` http,
    /// `None` when the connection's own scheme stands.
    pub fn https(&self) -> Option<bool> {
        self.get(b"HTTPS").map(|v| v.is_some())
    }
}

/// The request facts the rules read.
pub struct ProxyRequest<'a> {
    /// `REMOTE_ADDR` as Apache has it (`useragent_ip`).
    pub remote_addr: &'a [u8],
    /// A header's value: the request header, or else the variable of that
    /// name other modules set (mod_wsgi reads `subprocess_env`, where a
    /// request header's value wins over SetEnv's).
    pub value_of: &'a dyn Fn(&ProxyHeader) -> Option<&'a [u8]>,
}

/// Applies `headers` (a context's `WSGITrustedProxyHeaders`) with
/// `proxies` (its `WSGITrustedProxies`) to a request.
pub fn apply_proxy_headers(
    headers: &[&'static ProxyHeader],
    proxies: Option<&[Subnet]>,
    request: &ProxyRequest<'_>,
) -> ProxyOutcome {
    let mut outcome = ProxyOutcome::default();
    let trusted_peer = match proxies {
        None => true,
        Some(proxies) => match parse_client_ip(request.remote_addr) {
            Some(ip) => proxies.iter().any(|s| s.contains(ip)),
            None => {
                outcome.notes.push(format!(
                    "REMOTE_ADDR of \"{}\" is not a valid IP address.",
                    String::from_utf8_lossy(request.remote_addr)
                ));
                false
            }
        },
    };
    let mut matched: Vec<Category> = Vec::new();
    let mut kept: Vec<(Category, &'static ProxyHeader)> = Vec::new();
    for &header in headers {
        if !matched.contains(&header.category) {
            matched.push(header.category);
        }
        if !trusted_peer {
            continue;
        }
        // A value X-Forwarded-For rewrote is what a later mention reads.
        let value = match outcome.get(header.key.to_bytes()) {
            Some(value) => value.map(<[u8]>::to_vec),
            None => (request.value_of)(header).map(<[u8]>::to_vec),
        };
        let Some(value) = value else { continue };
        apply(header, &value, proxies, &mut outcome);
        match kept.iter_mut().find(|(c, _)| *c == header.category) {
            Some(k) => k.1 = header,
            None => kept.push((header.category, header)),
        }
    }
    for category in matched {
        let keep = kept.iter().find(|(c, _)| *c == category).map(|k| k.1);
        for other in REGISTRY.iter().filter(|h| h.category == category) {
            if keep.is_none_or(|k| !std::ptr::eq(k, other)) {
                outcome.set(other.key_str(), None);
            }
        }
    }
    outcome
}

fn apply(
    header: &ProxyHeader,
    value: &[u8],
    proxies: Option<&[Subnet]>,
    outcome: &mut ProxyOutcome,
) {
    let value_owned = || Some(value.to_vec());
    match header.apply {
        Apply::ForwardedFor => forwarded_for(value, proxies, outcome),
        Apply::ClientIp => outcome.set("REMOTE_ADDR", value_owned()),
        Apply::Host => outcome.set("HTTP_HOST", value_owned()),
        Apply::Server => outcome.set("SERVER_NAME", value_owned()),
        Apply::Port => outcome.set("SERVER_PORT", value_owned()),
        Apply::ScriptName => {
            outcome.set("mod_wsgi.mount_point", value_owned());
            outcome.set("SCRIPT_NAME", value_owned());
        }
        Apply::SchemeString => {
            if value.eq_ignore_ascii_case(b"https") {
                outcome.set("HTTPS", Some(b"1".to_vec()));
            } else if value.eq_ignore_ascii_case(b"http") {
                outcome.set("HTTPS", None);
            }
        }
        Apply::SchemeBool => {
            let is = |words: [&[u8]; 3]| words.iter().any(|w| value.eq_ignore_ascii_case(w));
            if is([b"on", b"true", b"1"]) {
                outcome.set("HTTPS", Some(b"1".to_vec()));
            } else if is([b"off", b"false", b"0"]) {
                outcome.set("HTTPS", None);
            }
        }
    }
}

/// The list's elements, trimmed, empty ones skipped (RFC 9110 §5.6.1).
fn list_items(value: &[u8]) -> Vec<&[u8]> {
    value
        .split(|&b| b == b',')
        .map(|item| item.trim_ascii())
        .filter(|item| !item.is_empty())
        .collect()
}

/// X-Forwarded-For. Without trusted proxies the first address is the
/// client's. With them, the list is walked from its end past the trusted
/// proxies: the address before the first of them (or that one, when all
/// are trusted) is the client's, and the header keeps only the list from
/// there; when the last is not trusted, it is the client's and all that
/// the header keeps.
fn forwarded_for(value: &[u8], proxies: Option<&[Subnet]>, outcome: &mut ProxyOutcome) {
    let items = list_items(value);
    let Some(proxies) = proxies else {
        if let Some(first) = items.first() {
            outcome.set("REMOTE_ADDR", Some(first.to_vec()));
        }
        return;
    };
    if items.is_empty() {
        return;
    }
    let mut first = None;
    for (i, item) in items.iter().enumerate().rev() {
        match parse_client_ip(item) {
            Some(ip) if proxies.iter().any(|s| s.contains(ip)) => first = Some(i),
            Some(_) => break,
            None => {
                outcome.notes.push(format!(
                    "Forwarded IP of \"{}\" is not a valid IP address.",
                    String::from_utf8_lossy(item)
                ));
                break;
            }
        }
    }
    let client = match first {
        Some(first) => first.saturating_sub(1),
        None => items.len() - 1,
    };
    let kept = if first.is_some() {
        &items[client..]
    } else {
        &items[client..=client]
    };
    outcome.set("REMOTE_ADDR", Some(items[client].to_vec()));
    outcome.set("HTTP_X_FORWARDED_FOR", Some(kept.join(&b", "[..])));
}

#[cfg(test)]
mod tests;
