//! One function per directive family: the raw argument string in, typed
//! settings (or an error naming the problem) out. Apache prefixes errors with
//! the file and line.

use super::args::{self, exactly_one, on_off, split_arguments};
use super::daemon::parse_daemon_process;
use super::groups::{check_application_group, is_global_group};
use super::python_options::{
    check_warning_option, parse_hash_seed, parse_optimize, parse_switch_interval,
};
use super::scripts::{
    parse_auth_script, parse_dispatch_script, parse_handler_script, parse_import_script,
};
use super::servers::preload_group;
use super::settings::{
    DirSettings, HeadToGet, ImportScript, Location, ScriptAlias, ScriptAliasOptions, ServerSettings,
};
use super::table::{Directive, Status, lookup_directive};
use crate::proxy::{parse_trusted_proxies, parse_trusted_proxy_headers};

/// Applies one directive. `compile` turns a `WSGIScriptAliasMatch` pattern
/// into the host's compiled form (Apache's regex engine).
pub fn apply_directive<R: Clone>(
    name: &str,
    raw: &str,
    server: &mut ServerSettings<R>,
    dir: &mut DirSettings,
    compile: &mut dyn FnMut(&str) -> Result<R, String>,
) -> Result<(), String> {
    let directive = match lookup_directive(name).map(|info| info.status) {
        Some(Status::Supported(directive)) => directive,
        Some(Status::NotYet) => {
            return Err(format!(
                "{name} is a mod_wsgi directive that mod_wsgi_rs does not support yet (see the status table in mod_wsgi_rs's README)"
            ));
        }
        None => return Err(format!("{name} is not a mod_wsgi directive")),
    };
    match directive {
        d @ (Directive::ScriptAlias | Directive::ScriptAliasMatch) => {
            let alias = parse_script_alias(name, raw, d == Directive::ScriptAliasMatch, compile)?;
            if let Some(group) = &alias.options.application_group
                && !is_global_group(group)
            {
                server.named_application_groups.push(group.clone());
            }
            if let Some(group) = &alias.options.process_group {
                note_process_group(server, group);
            }
            // mod_wsgi keeps one import list, in the order of the lines.
            if let Some(group) = preload_group(&alias) {
                let application = alias.options.application_group.as_deref();
                server.imports.push(ImportScript {
                    script: alias.target.clone(),
                    process_group: group.to_owned(),
                    application_group: match application {
                        Some("%{GLOBAL}") | None => String::new(),
                        Some(name) => name.to_owned(),
                    },
                });
            }
            server.aliases.push(alias);
            Ok(())
        }
        Directive::ImportScript => {
            let import = parse_import_script(raw)?;
            if !import.application_group.is_empty() {
                server
                    .named_application_groups
                    .push(import.application_group.clone());
            }
            note_process_group(server, &import.process_group);
            server.imports.push(import);
            Ok(())
        }
        Directive::HandlerScript => {
            let handler = parse_handler_script(raw)?;
            if let Some(group) = &handler.options.process_group {
                check_process_group(name, group)?;
                note_process_group(server, group);
            }
            if let Some(group) = &handler.options.application_group
                && !is_global_group(group)
            {
                server.named_application_groups.push(group.clone());
            }
            // mod_wsgi keeps server-level lines in the server's table and
            // lays the directory's over it per request. Apache hands a
            // server-level line the server's default directory settings,
            // which every section of that server (and a virtual host's,
            // the main server's) is merged over: the same precedence.
            dir.handler_scripts.retain(|h| h.name != handler.name);
            dir.handler_scripts.push(handler);
            Ok(())
        }
        d @ (Directive::AccessScript | Directive::AuthUserScript | Directive::AuthGroupScript) => {
            let auth = std::sync::Arc::make_mut(dir.auth.get_or_insert_with(Default::default));
            let (what, slot) = match d {
                Directive::AccessScript => ("access", &mut auth.access_script),
                Directive::AuthUserScript => ("auth user", &mut auth.auth_user_script),
                _ => ("auth group", &mut auth.auth_group_script),
            };
            *slot = Some(parse_auth_script(what, raw)?);
            server.scripts_in_children = true;
            Ok(())
        }
        Directive::GroupAuthoritative => {
            let value = args::off_or_on(name, &exactly_one(name, raw)?)?;
            std::sync::Arc::make_mut(dir.auth.get_or_insert_with(Default::default))
                .group_authoritative = Some(value);
            server.group_authoritative_seen = true;
            Ok(())
        }
        Directive::DispatchScript => {
            let dispatch = parse_dispatch_script(raw)?;
            if let Some(group) = &dispatch.application_group
                && !is_global_group(group)
            {
                server.named_application_groups.push(group.clone());
            }
            server.scripts_in_children = true;
            dir.dispatch_script = Some(dispatch);
            Ok(())
        }
        // mod_wsgi's On puts a capsule of the raw request_rec pointer in
        // the environ (`apache.request_rec`), for C extensions built against
        // Apache's headers; used wrongly it crashes the server, and no
        // Python code can use it safely. Off is mod_wsgi's default.
        Directive::PassApacheRequest => {
            let value = exactly_one(name, raw)?;
            let on = if value.eq_ignore_ascii_case("on") {
                true
            } else if value.eq_ignore_ascii_case("off") {
                false
            } else {
                return Err(format!("{name} must be one of: Off | On (not '{value}')"));
            };
            if on {
                return Err(format!(
                    "{name} On would hand Python a raw pointer to Apache's request_rec \
                     (mod_wsgi's 'apache.request_rec' capsule), which only a C extension \
                     built against Apache's headers can use and which crashes the server \
                     when misused; mod_wsgi_rs does not expose it. Remove the line or set \
                     it Off, and pass what the application needs through the WSGI environ \
                     (SetEnv, RequestHeader, mod_rewrite's [E=...])"
                ));
            }
            Ok(())
        }
        Directive::PythonHome => {
            server.python_home = Some(args::python_home(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        Directive::PythonPath => {
            server.python_path = Some(exactly_one(name, raw)?);
            Ok(())
        }
        Directive::DaemonProcess => {
            let group = parse_daemon_process(raw)?;
            if server.daemon_groups.iter().any(|g| g.name == group.name) {
                return Err(format!(
                    "{name}: the daemon process group '{}' is already defined",
                    group.name
                ));
            }
            server.daemon_groups.push(group);
            Ok(())
        }
        Directive::SocketPrefix => {
            server.socket_prefix = Some(exactly_one(name, raw)?);
            Ok(())
        }
        Directive::RestrictEmbedded => {
            server.restrict_embedded = Some(on_off(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        Directive::PythonOptimize => {
            server.python_optimize = Some(parse_optimize(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        Directive::DontWriteBytecode => {
            server.dont_write_bytecode = Some(on_off(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        Directive::PythonHashSeed => {
            server.python_hash_seed = Some(parse_hash_seed(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        Directive::PythonWarnings => {
            let option = exactly_one(name, raw)?;
            check_warning_option(name, &option)?;
            server.python_warnings.push(option);
            Ok(())
        }
        Directive::SwitchInterval => {
            server.switch_interval = Some(parse_switch_interval(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        Directive::DestroyInterpreter => {
            server.destroy_interpreter = Some(on_off(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        Directive::PythonEggs => {
            server.python_eggs = Some(exactly_one(name, raw)?);
            Ok(())
        }
        Directive::ServerMetrics => {
            server.server_metrics = Some(on_off(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        Directive::VerboseDebugging => {
            server.verbose_debugging = Some(on_off(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        // Off is the only setting this interpreter can honour; On asks for
        // what it lacks, which the user must hear at configtest, not find
        // silently ignored.
        Directive::PerInterpreterGil => {
            if on_off(name, &exactly_one(name, raw)?)? {
                return Err(format!(
                    "{name} On needs Python 3.12 or later with each application group in \
                     its own sub-interpreter, which mod_wsgi_rs does not have yet; remove \
                     the line or set it Off"
                ));
            }
            Ok(())
        }
        Directive::FreeThreading => {
            if on_off(name, &exactly_one(name, raw)?)? {
                return Err(format!(
                    "{name} On needs a free-threaded build of Python 3.13 or later \
                     (python3.13t), which this build of mod_wsgi_rs does not embed; remove \
                     the line or set it Off"
                ));
            }
            Ok(())
        }
        d @ (Directive::TelemetryService
        | Directive::SlowRequests
        | Directive::TelemetryOptions) => super::telemetry::apply(d, name, raw, server),
        Directive::RestrictSignal => {
            server.restrict_signal = Some(on_off(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        d @ (Directive::RestrictStdin
        | Directive::RestrictStdout
        | Directive::CaseSensitivity
        | Directive::SocketRotation
        | Directive::AcceptMutex
        | Directive::IgnoreActivity
        | Directive::InterpreterOptions) => {
            super::process_directives::apply(d, name, raw, server, dir)
        }
        Directive::CallableObject => {
            let value = exactly_one(name, raw)?;
            check_identifier(name, &value)?;
            dir.callable_object = Some(value);
            Ok(())
        }
        Directive::ApplicationGroup => {
            let value = exactly_one(name, raw)?;
            check_application_group(&value)?;
            if !is_global_group(&value) {
                server.named_application_groups.push(value.clone());
            }
            dir.application_group = Some(value);
            Ok(())
        }
        Directive::ProcessGroup => {
            let value = exactly_one(name, raw)?;
            check_process_group(name, &value)?;
            note_process_group(server, &value);
            dir.process_group = Some(value);
            Ok(())
        }
        Directive::RestrictProcess => {
            let groups = split_arguments(raw)?;
            if let Some(bad) = groups
                .iter()
                .find(|g| g.starts_with("%{") && !is_global_group(g))
            {
                return Err(format!(
                    "{name}: '{bad}': list process group names, or %{{GLOBAL}} for embedded mode"
                ));
            }
            dir.restrict_process = Some(groups);
            Ok(())
        }
        Directive::ScriptReloading => {
            dir.script_reloading = Some(on_off(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        Directive::PassAuthorization => {
            dir.pass_authorization = Some(on_off(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        Directive::ChunkedRequest => {
            dir.chunked_request = Some(on_off(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        Directive::EnableSendfile => {
            dir.enable_sendfile = Some(on_off(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        Directive::ErrorOverride => {
            dir.error_override = Some(on_off(name, &exactly_one(name, raw)?)?);
            Ok(())
        }
        Directive::MapHeadToGet => {
            let value = exactly_one(name, raw)?;
            dir.map_head_to_get = Some(if value.eq_ignore_ascii_case("auto") {
                HeadToGet::Auto
            } else if on_off(name, &value)? {
                HeadToGet::On
            } else {
                HeadToGet::Off
            });
            Ok(())
        }
        // Each line adds to its section's list; an inner section's list
        // replaces the outer one (mod_wsgi's merge).
        Directive::TrustedProxyHeaders => {
            let parsed = parse_trusted_proxy_headers(name, split_arguments(raw)?)?;
            dir.trusted_proxy_headers
                .get_or_insert_with(Vec::new)
                .extend(parsed.known);
            Ok(())
        }
        Directive::TrustedProxies => {
            let subnets = parse_trusted_proxies(&split_arguments(raw)?)?;
            dir.trusted_proxies
                .get_or_insert_with(Vec::new)
                .extend(subnets);
            Ok(())
        }
    }
}

/// Remembers a literal daemon group name so start-up can check it exists.
fn note_process_group<R>(server: &mut ServerSettings<R>, group: &str) {
    if !is_global_group(group)
        && !group.starts_with("%{")
        && !server.referenced_process_groups.iter().any(|g| g == group)
    {
        server.referenced_process_groups.push(group.to_owned());
    }
}

fn check_identifier(name: &str, value: &str) -> Result<(), String> {
    let mut chars = value.chars();
    let valid = chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(format!("{name}: '{value}' is not a Python identifier"))
    }
}

fn check_process_group(name: &str, value: &str) -> Result<(), String> {
    if let Some(rest) = value.strip_prefix("%{") {
        let known = rest == "GLOBAL}"
            || (rest.starts_with("ENV:") && rest.len() > 5 && rest.ends_with('}'));
        if !known {
            return Err(format!(
                "{name}: invalid process group '{value}': expected %{{GLOBAL}}, %{{ENV:variable}} or a group name"
            ));
        }
    }
    Ok(())
}

fn parse_script_alias<R>(
    name: &str,
    raw: &str,
    is_pattern: bool,
    compile: &mut dyn FnMut(&str) -> Result<R, String>,
) -> Result<ScriptAlias<R>, String> {
    let words = split_arguments(raw)?;
    if words.len() < 2 {
        return Err(format!(
            "{name} needs a URL {} and a script path",
            if is_pattern { "pattern" } else { "path" }
        ));
    }
    let mut options = ScriptAliasOptions::default();
    for option in &words[2..] {
        let Some((key, value)) = option.split_once('=') else {
            return Err(format!(
                "{name}: '{option}' is not an option of the form name=value"
            ));
        };
        match key {
            "process-group" => {
                check_process_group(name, value)?;
                options.process_group = Some(value.to_owned());
            }
            "application-group" => {
                check_application_group(value).map_err(|e| format!("{name}: {e}"))?;
                options.application_group = Some(value.to_owned());
            }
            "callable-object" => {
                check_identifier(name, value)?;
                options.callable_object = Some(value.to_owned());
            }
            "pass-authorization" => options.pass_authorization = Some(on_off(name, value)?),
            _ => {
                return Err(format!(
                    "{name}: unknown option '{key}' (known: process-group, application-group, callable-object, pass-authorization)"
                ));
            }
        }
    }
    let location = if is_pattern {
        let compiled = compile(&words[0]).map_err(|e| format!("{name}: {e}"))?;
        Location::Pattern {
            source: words[0].clone(),
            compiled,
        }
    } else {
        if !words[0].starts_with('/') {
            return Err(format!(
                "{name}: the URL path '{}' must start with '/'",
                words[0]
            ));
        }
        Location::Prefix(words[0].clone())
    };
    Ok(ScriptAlias {
        location,
        target: words[1].clone(),
        options,
    })
}

#[cfg(test)]
mod tests;
