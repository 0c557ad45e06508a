//! Application group names: `%{GLOBAL}`, `%{RESOURCE}`, `%{SERVER}`,
//! `%{ENV:name}` and literal names, expanded as mod_wsgi does.

/// What a group name can refer to for one request.
pub struct GroupContext<'a> {
    pub server_hostname: &'a str,
    /// The host the client asked for (empty: none, the server's is used).
    pub requested_host: &'a str,
    pub server_port: u16,
    pub script_name: &'a str,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// Validates a group name at configuration time.
pub fn check_application_group(value: &str) -> Result<(), String> {
    if let Some(rest) = value.strip_prefix("%{") {
        let known = matches!(rest, "GLOBAL}" | "RESOURCE}" | "SERVER}" | "HOST}")
            || (rest.starts_with("ENV:") && rest.len() > 5 && rest.ends_with('}'));
        if !known {
            return Err(format!(
                "invalid application group '{value}': expected %{{GLOBAL}}, %{{RESOURCE}}, %{{SERVER}}, %{{HOST}}, %{{ENV:variable}} or a plain name"
            ));
        }
    }
    Ok(())
}

/// True for the names that mean the main interpreter.
pub fn is_global_group(value: &str) -> bool {
    value == "%{GLOBAL}" || value.is_empty()
}

/// Whether `WSGIRestrictProcess` (`allowed`, if the context has one) lets
/// a request use `process_group` (None or `%{GLOBAL}`: embedded mode, which
/// the list must then name as `%{GLOBAL}`, as in mod_wsgi).
pub fn restrict_process_allows(allowed: Option<&[String]>, process_group: Option<&str>) -> bool {
    let Some(allowed) = allowed else {
        return true;
    };
    let group = process_group.filter(|g| !is_global_group(g));
    allowed.iter().any(|entry| match group {
        None => is_global_group(entry),
        Some(group) => entry == group,
    })
}

/// The group's name for this request, as mod_wsgi reports it in
/// `mod_wsgi.application_group`. `None` means mod_wsgi's default, `%{RESOURCE}`.
pub fn expand_application_group(value: Option<&str>, ctx: &GroupContext<'_>) -> String {
    // Host and port, the port left out when it is the scheme's default.
    let with_port = |host: &str| {
        if ctx.server_port == 80 || ctx.server_port == 443 || ctx.server_port == 0 {
            host.to_owned()
        } else {
            format!("{host}:{}", ctx.server_port)
        }
    };
    match value {
        None | Some("%{RESOURCE}") => {
            format!("{}|{}", with_port(ctx.server_hostname), ctx.script_name)
        }
        Some("%{GLOBAL}") => String::new(),
        Some("%{SERVER}") => with_port(ctx.server_hostname),
        // mod_wsgi's %{HOST}: the name the client asked for (so one server
        // answering several names keeps one group per name).
        Some("%{HOST}") if !ctx.requested_host.is_empty() => with_port(ctx.requested_host),
        Some("%{HOST}") => with_port(ctx.server_hostname),
        Some(v) => match v.strip_prefix("%{ENV:").and_then(|r| r.strip_suffix('}')) {
            Some(name) => (ctx.env)(name).unwrap_or_default(),
            None => v.to_owned(),
        },
    }
}

/// A process group name a dispatch script returned, as mod_wsgi's
/// `wsgi_process_group` expands it: like an application group, except that
/// `%{ENV:name}` of an unset variable stays as written (so it names no
/// daemon group and the request fails, rather than running embedded), and
/// a variable's value that is itself a `%{...}` name (not `%{ENV:...}`) is
/// expanded once more.
pub fn expand_process_group(value: &str, ctx: &GroupContext<'_>) -> String {
    match value
        .strip_prefix("%{ENV:")
        .and_then(|r| r.strip_suffix('}'))
    {
        Some(name) => match (ctx.env)(name) {
            Some(v) if v.starts_with('%') && !v.starts_with("%{ENV:") => {
                expand_application_group(Some(&v), ctx)
            }
            Some(v) => v,
            None => value.to_owned(),
        },
        None => expand_application_group(Some(value), ctx),
    }
}

/// The interpreter a dispatch script runs in (`application-group=`), as
/// mod_wsgi's `wsgi_server_group`: none or `%{GLOBAL}` is the main
/// interpreter; `%{SERVER}` and `%{HOST}` are expanded; anything else is
/// taken as written.
pub fn expand_server_group(value: Option<&str>, ctx: &GroupContext<'_>) -> String {
    match value {
        None | Some("%{GLOBAL}") => String::new(),
        Some(v @ ("%{SERVER}" | "%{HOST}")) => expand_application_group(Some(v), ctx),
        Some(v) => v.to_owned(),
    }
}

/// A callable object name a dispatch script returned, as mod_wsgi's
/// `wsgi_callable_object`: a plain name as it is, `%{ENV:name}` the
/// variable's value, and any other `%` name (or an unset variable)
/// `application`.
pub fn expand_callable_object(value: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    if !value.starts_with('%') {
        return value.to_owned();
    }
    value
        .strip_prefix("%{ENV:")
        .and_then(|r| r.strip_suffix('}'))
        .and_then(env)
        .unwrap_or_else(|| "application".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(env: &'a dyn Fn(&str) -> Option<String>) -> GroupContext<'a> {
        GroupContext {
            server_hostname: "example.com",
            requested_host: "www.example.org",
            server_port: 8000,
            script_name: "/app",
            env,
        }
    }

    #[test]
    fn expansions() {
        let env = |name: &str| (name == "GROUP").then(|| "from-env".to_owned());
        let c = ctx(&env);
        assert_eq!(expand_application_group(None, &c), "example.com:8000|/app");
        assert_eq!(expand_application_group(Some("%{GLOBAL}"), &c), "");
        assert_eq!(
            expand_application_group(Some("%{SERVER}"), &c),
            "example.com:8000"
        );
        assert_eq!(
            expand_application_group(Some("%{ENV:GROUP}"), &c),
            "from-env"
        );
        assert_eq!(expand_application_group(Some("%{ENV:MISSING}"), &c), "");
        assert_eq!(expand_application_group(Some("mine"), &c), "mine");
        assert_eq!(
            expand_application_group(Some("%{HOST}"), &c),
            "www.example.org:8000"
        );
        let no_host = GroupContext {
            requested_host: "",
            ..ctx(&env)
        };
        assert_eq!(
            expand_application_group(Some("%{HOST}"), &no_host),
            "example.com:8000"
        );
    }

    #[test]
    fn dispatch_results_expand_as_mod_wsgi() {
        let env = |name: &str| match name {
            "GROUP" => Some("from-env".to_owned()),
            "INDIRECT" => Some("%{SERVER}".to_owned()),
            "APP" => Some("app2".to_owned()),
            _ => None,
        };
        let c = ctx(&env);
        assert_eq!(expand_process_group("site", &c), "site");
        assert_eq!(expand_process_group("%{GLOBAL}", &c), "");
        assert_eq!(expand_process_group("", &c), "");
        assert_eq!(expand_process_group("%{ENV:GROUP}", &c), "from-env");
        assert_eq!(
            expand_process_group("%{ENV:INDIRECT}", &c),
            "example.com:8000"
        );
        assert_eq!(expand_process_group("%{ENV:MISSING}", &c), "%{ENV:MISSING}");
        assert_eq!(
            expand_process_group("%{RESOURCE}", &c),
            "example.com:8000|/app"
        );

        assert_eq!(expand_server_group(None, &c), "");
        assert_eq!(expand_server_group(Some("%{GLOBAL}"), &c), "");
        assert_eq!(
            expand_server_group(Some("%{HOST}"), &c),
            "www.example.org:8000"
        );
        assert_eq!(
            expand_server_group(Some("%{SERVER}"), &c),
            "example.com:8000"
        );
        assert_eq!(expand_server_group(Some("tenants"), &c), "tenants");

        assert_eq!(expand_callable_object("app", &env), "app");
        assert_eq!(expand_callable_object("%{ENV:APP}", &env), "app2");
        assert_eq!(
            expand_callable_object("%{ENV:MISSING}", &env),
            "application"
        );
        assert_eq!(expand_callable_object("%{RESOURCE}", &env), "application");
    }

    #[test]
    fn default_ports_are_left_out() {
        let env = |_: &str| None;
        let c = GroupContext {
            server_port: 80,
            ..ctx(&env)
        };
        assert_eq!(expand_application_group(None, &c), "example.com|/app");
    }

    #[test]
    fn validation() {
        assert!(check_application_group("%{GLOBAL}").is_ok());
        assert!(check_application_group("%{ENV:X}").is_ok());
        assert!(check_application_group("%{HOST}").is_ok());
        assert!(check_application_group("plain").is_ok());
        assert!(check_application_group("%{BOGUS}").is_err());
        assert!(check_application_group("%{ENV:}").is_err());
    }

    #[test]
    fn restrict_process_names_the_usable_groups() {
        let list = vec!["site".to_owned(), "%{GLOBAL}".to_owned()];
        let only_site = vec!["site".to_owned()];
        assert!(restrict_process_allows(None, Some("any")));
        assert!(restrict_process_allows(Some(&list), Some("site")));
        assert!(restrict_process_allows(Some(&list), None));
        assert!(restrict_process_allows(Some(&list), Some("%{GLOBAL}")));
        assert!(!restrict_process_allows(Some(&list), Some("other")));
        assert!(!restrict_process_allows(Some(&only_site), None));
        assert!(!restrict_process_allows(Some(&[]), Some("site")));
    }
}
