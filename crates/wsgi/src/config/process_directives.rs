//! The directives about how processes run (mod_wsgi 6.1.1's messages):
//! `WSGIRestrictStdin`, `WSGIRestrictStdout`, `WSGICaseSensitivity`,
//! `WSGISocketRotation`, `WSGIAcceptMutex`, `WSGIIgnoreActivity`, and the
//! opening tag of `<WSGIInterpreterOptions>`.

use super::args::{exactly_one, off_or_on as on_off};
use super::interpreter_options::parse_section;
use super::settings::{DirSettings, ServerSettings};
use super::table::Directive;

/// The lock mechanisms APR has on Linux, as mod_wsgi lists them.
const ACCEPT_MUTEXES: &[&str] = &[
    "default", "flock", "fcntl", "sysvsem", "posixsem", "pthread",
];

fn accept_mutex(value: &str) -> Result<String, String> {
    let lower = value.to_ascii_lowercase();
    if ACCEPT_MUTEXES.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(format!(
            "Accept mutex lock mechanism '{value}' is invalid. Valid accept mutex mechanisms for this platform are: {}.",
            ACCEPT_MUTEXES.join(", ")
        ))
    }
}

/// Applies one of this file's directives.
pub(super) fn apply<R>(
    directive: Directive,
    name: &str,
    raw: &str,
    server: &mut ServerSettings<R>,
    dir: &mut DirSettings,
) -> Result<(), String> {
    if directive == Directive::InterpreterOptions {
        server.interpreter_options.push(parse_section(raw)?);
        return Ok(());
    }
    let value = exactly_one(name, raw)?;
    match directive {
        Directive::RestrictStdin => server.restrict_stdin = Some(on_off(name, &value)?),
        Directive::RestrictStdout => server.restrict_stdout = Some(on_off(name, &value)?),
        Directive::CaseSensitivity => server.case_sensitivity = Some(on_off(name, &value)?),
        Directive::SocketRotation => server.socket_rotation = Some(on_off(name, &value)?),
        Directive::IgnoreActivity => dir.ignore_activity = Some(on_off(name, &value)?),
        Directive::AcceptMutex => server.accept_mutex = Some(accept_mutex(&value)?),
        other => unreachable!("{other:?} is not a process directive"),
    }
    Ok(())
}

/// Applies a directive read inside the `<WSGIInterpreterOptions>` section
/// last opened; `None` if it is not one a section scopes.
pub fn apply_in_options_section<R>(
    name: &str,
    raw: &str,
    server: &mut ServerSettings<R>,
) -> Option<Result<(), String>> {
    let block = server.interpreter_options.last_mut()?;
    let value = match exactly_one(name, raw) {
        Ok(value) => value,
        Err(e) => {
            return super::interpreter_options::apply_in_block(name, "", block).map(|_| Err(e));
        }
    };
    super::interpreter_options::apply_in_block(name, &value, block)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply_one(name: &str, raw: &str) -> Result<(ServerSettings<()>, DirSettings), String> {
        let mut server = ServerSettings::default();
        let mut dir = DirSettings::default();
        let mut compile = |_: &str| Ok(());
        super::super::apply_directive(name, raw, &mut server, &mut dir, &mut compile)?;
        Ok((server, dir))
    }

    #[test]
    fn values_are_read_and_bad_ones_refused_in_mod_wsgi_words() {
        let (server, dir) = apply_one("WSGIIgnoreActivity", "on").unwrap();
        assert_eq!(dir.ignore_activity, Some(true));
        assert!(server.restrict_stdout.is_none());
        let (server, _) = apply_one("WSGIRestrictStdout", "On").unwrap();
        assert_eq!(server.restrict_stdout, Some(true));
        let (server, _) = apply_one("WSGISocketRotation", "Off").unwrap();
        assert_eq!(server.socket_rotation, Some(false));
        let (server, _) = apply_one("WSGIAcceptMutex", "FCNTL").unwrap();
        assert_eq!(server.accept_mutex.as_deref(), Some("fcntl"));
        assert_eq!(
            apply_one("WSGICaseSensitivity", "maybe").unwrap_err(),
            "WSGICaseSensitivity must be one of: Off | On, not 'maybe'"
        );
        assert!(
            apply_one("WSGIAcceptMutex", "spin")
                .unwrap_err()
                .starts_with("Accept mutex lock mechanism 'spin' is invalid. Valid accept mutex mechanisms for this platform are: default, flock")
        );
        assert!(apply_one("WSGIRestrictStdin", "On Off").is_err());
    }

    #[test]
    fn a_section_collects_the_directives_inside_it() {
        let (mut server, _) = apply_one("<WSGIInterpreterOptions", "process-group=site>").unwrap();
        assert!(apply_in_options_section("WSGIRestrictStdin", "On", &mut server).is_some());
        assert!(
            apply_in_options_section("WSGIRestrictStdin", "On Off", &mut server)
                .unwrap()
                .is_err()
        );
        assert!(apply_in_options_section("WSGIScriptAlias", "/ /x", &mut server).is_none());
        assert_eq!(server.interpreter_options[0].restrict_stdin, Some(true));
        assert!(server.restrict_stdin.is_none());
    }
}
