//! `WSGIImportScript`, `WSGIHandlerScript` and the authentication and
//! access scripts: scripts named outside any `WSGIScriptAlias`, parsed as
//! mod_wsgi 6.1.1's `wsgi_add_import_script`, `wsgi_add_handler_script`
//! and `wsgi_set_auth_user_script` (and its two siblings) do (its messages
//! start each error, for users who search for them).

use super::args::split_arguments;
use super::groups::{check_application_group, is_global_group};
use super::settings::{AuthScript, HandlerScript, ImportScript, ScriptAliasOptions};

/// Options come as `name=value` words, as mod_wsgi's `wsgi_parse_option`.
fn option<'a>(word: &'a str, invalid: &str, known: &str) -> Result<(&'a str, &'a str), String> {
    word.split_once('=')
        .filter(|(key, _)| known.split(", ").any(|k| k == *key))
        .ok_or_else(|| format!("{invalid} '{word}' is not one of its options ({known}=...)"))
}

fn process_group(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("Invalid name for WSGI process group: process-group= needs a name".into());
    }
    Ok(if is_global_group(value) {
        String::new()
    } else {
        value.to_owned()
    })
}

fn application_group(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(
            "Invalid name for WSGI application group: application-group= needs a name".into(),
        );
    }
    check_application_group(value)
}

/// `WSGIImportScript SCRIPT process-group=G application-group=A`.
pub fn parse_import_script(raw: &str) -> Result<ImportScript, String> {
    const INVALID: &str = "Invalid option to WSGI import script definition:";
    const KNOWN: &str = "process-group, application-group";
    let words = split_arguments(raw)?;
    let Some(script) = words.first().filter(|s| !s.is_empty()) else {
        return Err(
            "Location of import script not supplied: WSGIImportScript needs the \
                    path of a Python script, then process-group= and application-group="
                .into(),
        );
    };
    let (mut process, mut app) = (None, None);
    for word in &words[1..] {
        match option(word, INVALID, KNOWN)? {
            ("process-group", value) => process = Some(process_group(value)?),
            (_, value) => {
                application_group(value)?;
                app = Some(if is_global_group(value) {
                    String::new()
                } else {
                    value.to_owned()
                });
            }
        }
    }
    let application_group = app.ok_or(
        "Name of WSGI application group required: add application-group=%{GLOBAL} \
         (or the group the application runs in)",
    )?;
    let process_group = process.ok_or(
        "Name of WSGI process group required: add process-group=%{GLOBAL} to load the \
         script in the Apache children, or process-group=NAME for a daemon group",
    )?;
    Ok(ImportScript {
        script: script.clone(),
        process_group,
        application_group,
    })
}

/// `WSGIHandlerScript NAME SCRIPT [process-group=G] [application-group=A]
/// [pass-authorization=On|Off]`.
pub fn parse_handler_script(raw: &str) -> Result<HandlerScript, String> {
    const INVALID: &str = "Invalid option to WSGI handler script definition:";
    const KNOWN: &str = "process-group, application-group, pass-authorization";
    let words = split_arguments(raw)?;
    let Some(name) = words.first().filter(|s| !s.is_empty()) else {
        return Err(
            "Name for handler script not supplied: WSGIHandlerScript needs a \
                    handler name (as SetHandler gives it), then the script's path"
                .into(),
        );
    };
    let Some(script) = words.get(1).filter(|s| !s.is_empty()) else {
        return Err(format!(
            "Location of handler script not supplied: give the path of the script whose \
             handle_request serves the '{name}' handler"
        ));
    };
    let mut handler = HandlerScript {
        name: name.clone(),
        script: script.clone(),
        options: ScriptAliasOptions {
            callable_object: Some("handle_request".to_owned()),
            ..ScriptAliasOptions::default()
        },
    };
    for word in &words[2..] {
        match option(word, INVALID, KNOWN)? {
            ("process-group", value) => {
                if value.is_empty() {
                    process_group(value)?;
                }
                handler.options.process_group = Some(value.to_owned());
            }
            ("application-group", value) => {
                application_group(value)?;
                handler.options.application_group = Some(value.to_owned());
            }
            (_, value) => {
                handler.options.pass_authorization = Some(if value.eq_ignore_ascii_case("on") {
                    true
                } else if value.eq_ignore_ascii_case("off") {
                    false
                } else {
                    return Err(format!(
                        "Invalid value for authorization flag: pass-authorization must be \
                         On or Off, not '{value}'"
                    ));
                });
            }
        }
    }
    Ok(handler)
}

/// `WSGIAccessScript`, `WSGIAuthUserScript`, `WSGIAuthGroupScript`:
/// `SCRIPT [application-group=NAME]`. `what` is mod_wsgi's word for the
/// script in its messages ("access", "auth user", "auth group"). As in
/// mod_wsgi the group is taken as written: only an empty one is refused.
pub fn parse_auth_script(what: &str, raw: &str) -> Result<AuthScript, String> {
    let invalid = format!("Invalid option to WSGI {what} script definition:");
    let words = split_arguments(raw)?;
    let Some(script) = words.first().filter(|s| !s.is_empty()) else {
        return Err(format!(
            "Location of {what} script not supplied: give the path of the Python script \
             (then, optionally, application-group=NAME)"
        ));
    };
    let mut parsed = AuthScript {
        script: script.clone(),
        application_group: None,
    };
    for word in &words[1..] {
        let (_, value) = option(word, &invalid, "application-group")?;
        application_group_name(value)?;
        parsed.application_group = Some(value.to_owned());
    }
    Ok(parsed)
}

fn application_group_name(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(
            "Invalid name for WSGI application group: application-group= needs a name".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_auth_script_takes_a_path_and_an_application_group() {
        let bare = parse_auth_script("auth user", "/srv/auth.wsgi").unwrap();
        assert_eq!(bare.script, "/srv/auth.wsgi");
        assert_eq!(bare.application_group, None);
        let grouped =
            parse_auth_script("access", "/srv/a.wsgi application-group=%{GLOBAL}").unwrap();
        assert_eq!(grouped.application_group.as_deref(), Some("%{GLOBAL}"));
        for (raw, message) in [
            ("", "Location of auth group script not supplied"),
            (
                "/a.wsgi application-group=",
                "Invalid name for WSGI application group",
            ),
            (
                "/a.wsgi process-group=x",
                "Invalid option to WSGI auth group script definition",
            ),
            (
                "/a.wsgi stray",
                "Invalid option to WSGI auth group script definition",
            ),
        ] {
            let error = parse_auth_script("auth group", raw).unwrap_err();
            assert!(error.starts_with(message), "{raw}: {error}");
        }
    }

    #[test]
    fn an_import_script_needs_both_groups_and_global_is_empty() {
        let import =
            parse_import_script("/srv/a.py process-group=%{GLOBAL} application-group=%{GLOBAL}")
                .unwrap();
        assert_eq!(import.script, "/srv/a.py");
        assert_eq!(import.process_group, "");
        assert_eq!(import.application_group, "");
        let daemon =
            parse_import_script("/srv/a.py application-group=x process-group=site").unwrap();
        assert_eq!(daemon.process_group, "site");
        assert_eq!(daemon.application_group, "x");
        for (raw, message) in [
            ("", "Location of import script not supplied"),
            (
                "/a.py process-group=site",
                "Name of WSGI application group required",
            ),
            (
                "/a.py application-group=%{GLOBAL}",
                "Name of WSGI process group required",
            ),
            (
                "/a.py process-group=site application-group=",
                "Invalid name for WSGI application group",
            ),
            (
                "/a.py process-group= application-group=x",
                "Invalid name for WSGI process group",
            ),
            (
                "/a.py threads=2",
                "Invalid option to WSGI import script definition",
            ),
            (
                "/a.py stray",
                "Invalid option to WSGI import script definition",
            ),
            (
                "/a.py process-group=x application-group=%{BOGUS}",
                "invalid application group",
            ),
        ] {
            let error = parse_import_script(raw).unwrap_err();
            assert!(error.starts_with(message), "{raw}: {error}");
        }
    }

    #[test]
    fn a_handler_script_takes_a_name_a_script_and_options() {
        let handler = parse_handler_script(
            "wsgi-resource /srv/h.wsgi process-group=site application-group=%{GLOBAL} pass-authorization=On",
        )
        .unwrap();
        assert_eq!(handler.name, "wsgi-resource");
        assert_eq!(handler.script, "/srv/h.wsgi");
        let options = &handler.options;
        assert_eq!(options.process_group.as_deref(), Some("site"));
        assert_eq!(options.application_group.as_deref(), Some("%{GLOBAL}"));
        assert_eq!(options.pass_authorization, Some(true));
        assert_eq!(options.callable_object.as_deref(), Some("handle_request"));
        let bare = parse_handler_script("h /srv/h.wsgi").unwrap().options;
        assert_eq!((bare.process_group, bare.application_group), (None, None));
        for (raw, message) in [
            ("", "Name for handler script not supplied"),
            ("h", "Location of handler script not supplied"),
            (
                "h /x.wsgi pass-authorization=maybe",
                "Invalid value for authorization flag",
            ),
            (
                "h /x.wsgi callable-object=x",
                "Invalid option to WSGI handler script definition",
            ),
            (
                "h /x.wsgi process-group=",
                "Invalid name for WSGI process group",
            ),
        ] {
            let error = parse_handler_script(raw).unwrap_err();
            assert!(error.starts_with(message), "{raw}: {error}");
        }
    }
}
