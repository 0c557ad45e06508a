//! The authentication and access scripts through Apache's own framework,
//! as mod_wsgi 6.1.1 (wsgi_auth.c) hooks them in: the `wsgi` authn
//! provider (`AuthBasicProvider wsgi`: `check_password`; `AuthDigestProvider
//! wsgi`: `get_realm_hash`), the `wsgi-group` authz provider (`Require
//! wsgi-group NAME...`: `groups_for_user`) and the access checker
//! (`WSGIAccessScript`: `allow_access`). They run here, in the Apache
//! child, also when the application runs in a daemon.
//!
//! Every failure (no script configured, Python unavailable, a script that
//! does not answer properly) is an error status, never access: the
//! statuses below are Apache's for an error (500).

use std::ffi::c_int;

use wsgi::config::{AuthScript, DirSettings, GroupContext, expand_application_group};
use wsgi::messages::{self, Level, LogContext};
use wsgi::python::auth::{
    self as calls, Access, AuthRequest, AuthScriptCall, PasswordCheck, RealmHash,
};

use crate::apache::bindings::{self, authn_status, authz_status};
use crate::apache::request::Request;
use crate::apache::{httpd, log};
use crate::child;
use crate::config::DirConfig;

/// The one place the scripts enter Python: the interpreter of `group`
/// (`""`: the main one), made on first use; its failure is the `Err`.
fn in_interpreter<R>(
    group: &str,
    f: impl for<'py> FnOnce(pyo3::Python<'py>) -> R,
) -> Result<R, String> {
    wsgi::python::attach_group(group, f)
}

fn dir_settings(r: &Request) -> Option<&DirConfig> {
    // SAFETY: the module's slot in a request's directory configuration
    // holds the DirConfig this module created (create_dir/merge_dir), live
    // for the request.
    unsafe { r.dir_config().cast::<DirConfig>().as_ref() }
}

/// Why a script could not be called at all.
enum Unavailable {
    NotConfigured,
    NoPython,
}

/// Runs `f` with the script `pick` chooses from the request's settings, in
/// its interpreter; logs why it cannot when it cannot.
fn with_script<R>(
    r: &Request,
    pick: fn(&DirSettings) -> Option<&AuthScript>,
    not_configured: &str,
    f: impl for<'py> FnOnce(pyo3::Python<'py>, &AuthScriptCall<'_>, &dyn AuthRequest) -> R,
) -> Result<R, Unavailable> {
    let Some((dir, script)) = dir_settings(r).and_then(|d| Some((d, pick(d)?))) else {
        // mod_wsgi logs this one against the server: the configuration,
        // not the request, is at fault.
        log::server(
            Level::Error,
            r.server().as_ptr(),
            &messages::format_line("", messages::AUTH_SCRIPT_NOT_CONFIGURED, not_configured),
        );
        return Err(Unavailable::NotConfigured);
    };
    if child::process().is_none() {
        r.log(
            Level::Error,
            &messages::format_line(
                LogContext::script(&script.script),
                messages::AUTH_PYTHON_UNAVAILABLE,
                "Python failed to start in this child (see the start-up error), so the \
                 authentication or access script cannot run; the request is refused with 500",
            ),
        );
        return Err(Unavailable::NoPython);
    }
    let group = script_group(r, script.application_group.as_deref());
    let call = AuthScriptCall {
        script: &script.script,
        application_group: &group,
        reloading: dir.script_reloading(),
    };
    let view = AuthView { r };
    in_interpreter(&group, |py| f(py, &call, &view)).map_err(|why| {
        r.log(
            Level::Error,
            &messages::format_line(
                LogContext::script(&script.script),
                messages::AUTH_PYTHON_UNAVAILABLE,
                &format!(
                    "Unable to acquire the interpreter '{group}' for the authentication or \
                     access script: {why}; the request is refused with 500"
                ),
            ),
        );
        Unavailable::NoPython
    })
}

/// mod_wsgi's `wsgi_server_group`: the scripts' `application-group=`
/// with `%{GLOBAL}` (the default), `%{SERVER}` and `%{HOST}` expanded;
/// anything else is a name as written.
fn script_group(r: &Request, value: Option<&str>) -> String {
    match value {
        None | Some("%{GLOBAL}") => String::new(),
        Some(v @ ("%{SERVER}" | "%{HOST}")) => {
            let facts = r.server_facts();
            expand_application_group(
                Some(v),
                &GroupContext {
                    server_hostname: &String::from_utf8_lossy(facts.hostname),
                    requested_host: &String::from_utf8_lossy(r.hostname()),
                    server_port: facts.port,
                    script_name: "",
                    env: &|_| None,
                },
            )
        }
        Some(v) => v.to_owned(),
    }
}

/// The `wsgi` authn provider's `check_password`.
pub fn check_password(mut r: Request, user: &[u8], password: &[u8]) -> authn_status {
    let answer = with_script(
        &r,
        |d| d.auth.as_ref()?.auth_user_script.as_ref(),
        "Location of WSGI user authentication script not provided: AuthBasicProvider wsgi \
         needs a WSGIAuthUserScript in the same section",
        |py, call, view| calls::check_password(py, call, view, user, password),
    );
    match answer {
        Ok(PasswordCheck::Granted) => bindings::authn_status_AUTH_GRANTED,
        Ok(PasswordCheck::GrantedAs(name)) => {
            r.set_user(name.as_bytes());
            bindings::authn_status_AUTH_GRANTED
        }
        Ok(PasswordCheck::Denied) => bindings::authn_status_AUTH_DENIED,
        Ok(PasswordCheck::UserNotFound) => bindings::authn_status_AUTH_USER_NOT_FOUND,
        Ok(PasswordCheck::Failed) | Err(_) => bindings::authn_status_AUTH_GENERAL_ERROR,
    }
}

/// The `wsgi` authn provider's `get_realm_hash`: the status, and on
/// AUTH_USER_FOUND the hash in the request's pool.
pub fn get_realm_hash(
    r: Request,
    user: &[u8],
    realm: &[u8],
) -> (authn_status, *mut std::ffi::c_char) {
    let answer = with_script(
        &r,
        |d| d.auth.as_ref()?.auth_user_script.as_ref(),
        "Location of WSGI user authentication script not provided: AuthDigestProvider wsgi \
         needs a WSGIAuthUserScript in the same section",
        |py, call, view| calls::get_realm_hash(py, call, view, user, realm),
    );
    match answer {
        Ok(RealmHash::Found(hash)) => {
            (bindings::authn_status_AUTH_USER_FOUND, r.pool_string(&hash))
        }
        Ok(RealmHash::UserNotFound) => (
            bindings::authn_status_AUTH_USER_NOT_FOUND,
            std::ptr::null_mut(),
        ),
        Ok(RealmHash::Failed) | Err(_) => (
            bindings::authn_status_AUTH_GENERAL_ERROR,
            std::ptr::null_mut(),
        ),
    }
}

/// The `wsgi-group` authz provider: `Require wsgi-group NAME...`.
pub fn check_authorization(r: Request, require_args: &str) -> authz_status {
    let Some(user) = r.user().map(<[u8]>::to_vec) else {
        return bindings::authz_status_AUTHZ_DENIED_NO_USER;
    };
    let answer = with_script(
        &r,
        |d| d.auth.as_ref()?.auth_group_script.as_ref(),
        "Location of WSGI group authorization script not provided: Require wsgi-group needs a \
         WSGIAuthGroupScript in the same section",
        |py, call, view| calls::groups_for_user(py, call, view, &user),
    );
    let groups = match answer {
        Ok(Some(groups)) => groups,
        Ok(None) | Err(_) => return bindings::authz_status_AUTHZ_GENERAL_ERROR,
    };
    let user = String::from_utf8_lossy(&user);
    let uri = String::from_utf8_lossy(r.uri());
    let refuse = |why: &str| {
        r.log(
            Level::Error,
            &messages::format_line(
                "",
                messages::GROUP_AUTHORIZATION_FAILED,
                &format!("Authorization of user '{user}' to access '{uri}' failed. {why}"),
            ),
        );
        bindings::authz_status_AUTHZ_DENIED
    };
    if groups.is_empty() {
        return refuse("User is not a member of any groups.");
    }
    // ap_getword_conf's words, as mod_wsgi reads the Require line.
    let wanted = wsgi::config::split_arguments(require_args).unwrap_or_default();
    if wanted
        .iter()
        .any(|w| groups.iter().any(|g| g.as_slice() == w.as_bytes()))
    {
        return bindings::authz_status_AUTHZ_GRANTED;
    }
    refuse("User is not a member of designated groups.")
}

/// The access checker: `WSGIAccessScript`'s `allow_access`. Requests
/// without an access script cost a look at the directory settings.
pub fn access_checker(r: Request) -> c_int {
    if dir_settings(&r)
        .and_then(|d| d.auth.as_ref())
        .is_none_or(|a| a.access_script.is_none())
    {
        return bindings::DECLINED as c_int;
    }
    let host = r.remote_host().unwrap_or(r.useragent_ip()).to_vec();
    let answer = with_script(
        &r,
        |d| d.auth.as_ref()?.access_script.as_ref(),
        "Location of WSGI host access script not provided.",
        |py, call, view| calls::allow_access(py, call, view, &host),
    );
    match answer {
        Ok(Access::Allow) => bindings::OK as c_int,
        Ok(Access::Decline) => bindings::DECLINED as c_int,
        Ok(Access::Deny) => {
            if !r.satisfies_any() || !r.some_auth_required() {
                r.log(
                    Level::Error,
                    &messages::format_line(
                        "",
                        messages::ACCESS_DENIED_BY_SCRIPT,
                        &format!(
                            "Client denied by server configuration: '{}'.",
                            String::from_utf8_lossy(r.filename())
                        ),
                    ),
                );
            }
            bindings::HTTP_FORBIDDEN as c_int
        }
        Ok(Access::Failed) | Err(_) => bindings::HTTP_INTERNAL_SERVER_ERROR as c_int,
    }
}

/// The request as the scripts see it: mod_wsgi's auth environ.
struct AuthView<'a> {
    r: &'a Request,
}

impl AuthRequest for AuthView<'_> {
    fn ssl(&self) -> &dyn wsgi::python::mod_ssl::SslLookup {
        self.r
    }
    fn visit_variables(&self, visit: &mut dyn FnMut(&str, &[u8])) {
        use wsgi::cgi::{HeaderVariable, header_variable};
        let r = self.r;
        let mut key = Vec::with_capacity(64);
        // The credentials never reach the script: mod_wsgi leaves out
        // Authorization and Proxy-Authorization.
        r.visit_headers_in(&mut |name, value| match header_variable(name, &mut key) {
            HeaderVariable::Plain(plain) => visit(plain, value),
            HeaderVariable::Prefixed => visit(&String::from_utf8_lossy(&key), value),
            HeaderVariable::Authorization | HeaderVariable::Dropped => {}
        });
        let facts = r.server_facts();
        visit("SERVER_SIGNATURE", r.signature());
        visit("SERVER_SOFTWARE", facts.banner);
        visit("SERVER_NAME", r.escaped_server_name());
        visit("SERVER_ADDR", facts.local_ip);
        visit("SERVER_PORT", facts.port.to_string().as_bytes());
        if let Some(host) = r.remote_host() {
            visit("REMOTE_HOST", host);
        }
        visit("REMOTE_ADDR", r.useragent_ip());
        visit("DOCUMENT_ROOT", facts.document_root);
        if let Some(admin) = facts.admin {
            visit("SERVER_ADMIN", admin);
        }
        visit("REMOTE_PORT", facts.client_port.to_string().as_bytes());
        visit("SERVER_PROTOCOL", r.protocol());
        visit("REQUEST_METHOD", r.method());
        visit("QUERY_STRING", r.args());
        visit("REQUEST_URI", r.original_unparsed_uri());
        let uri = r.uri();
        let path_info = r.path_info();
        let script_name = if path_info.is_empty() {
            uri
        } else {
            &uri[..r.script_name_length()]
        };
        visit("SCRIPT_NAME", script_name);
        visit("PATH_INFO", path_info);
    }

    fn apache_version(&self) -> (u32, u32, u32) {
        httpd::version()
    }

    fn log(&self, level: Level, line: &str) {
        self.r.log(level, line);
    }
}
