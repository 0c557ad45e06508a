//! Rules over all the servers of a configuration (the main server and each
//! virtual host), which no single server's settings can check: the host
//! collects every server's settings, main server first, and asks here.

use super::{DaemonGroup, ImportScript, Location, ScriptAlias, ServerSettings};

/// Every daemon group configured anywhere, with duplicate names refused.
pub fn daemon_groups<R>(servers: &[&ServerSettings<R>]) -> Result<Vec<DaemonGroup>, String> {
    let mut groups: Vec<DaemonGroup> = Vec::new();
    for group in servers.iter().flat_map(|s| &s.daemon_groups) {
        if groups.iter().any(|g| g.name == group.name) {
            return Err(format!(
                "the daemon process group '{}' is defined more than once",
                group.name
            ));
        }
        groups.push(group.clone());
    }
    Ok(groups)
}

/// Process groups named by aliases and `WSGIProcessGroup` that no
/// `WSGIDaemonProcess` defines. As in mod_wsgi, such a configuration
/// starts, and the requests routed to them get 500 with a log line.
pub fn undefined_process_groups<R>(
    servers: &[&ServerSettings<R>],
    groups: &[DaemonGroup],
) -> Vec<String> {
    let mut undefined: Vec<String> = Vec::new();
    for name in servers.iter().flat_map(|s| &s.referenced_process_groups) {
        if !groups.iter().any(|g| &g.name == name) && !undefined.contains(name) {
            undefined.push(name.clone());
        }
    }
    undefined
}

/// The daemon group an alias's script is loaded into at start, if any:
/// mod_wsgi's preloading rule, both process-group= and application-group=
/// given and a fixed target.
pub fn preload_group<R>(alias: &ScriptAlias<R>) -> Option<&str> {
    let fixed_target = matches!(alias.location, Location::Prefix(_)) && !alias.target.contains('$');
    let group = alias.options.process_group.as_deref()?;
    // As mod_wsgi: a fixed application group too (%{GLOBAL} is "").
    let fixed_application = alias
        .options
        .application_group
        .as_deref()
        .is_some_and(|a| a == "%{GLOBAL}" || !a.contains("%{"));
    (fixed_target && fixed_application && !group.starts_with("%{")).then_some(group)
}

/// An alias that preloads into a daemon group needs the group defined on
/// an earlier line, as mod_wsgi insists (its message is kept, for users
/// who search for it).
pub fn check_preload_group_defined<R>(
    alias: &ScriptAlias<R>,
    defined_so_far: &[String],
) -> Result<(), String> {
    match preload_group(alias) {
        Some(group) if !defined_so_far.iter().any(|g| g == group) => Err(format!(
            "WSGI process group not yet configured: no WSGIDaemonProcess before this line \
             defines '{group}' (process-group= with application-group= loads the script \
             into the group at start, so the group must come first)"
        )),
        _ => Ok(()),
    }
}

/// A `WSGIImportScript` for a daemon group needs the group defined on an
/// earlier line (mod_wsgi's message is kept).
pub fn check_import_group_defined(
    import: &ImportScript,
    defined_so_far: &[String],
) -> Result<(), String> {
    let group = &import.process_group;
    if group.is_empty() || defined_so_far.iter().any(|g| g == group) {
        return Ok(());
    }
    Err(format!(
        "WSGI process group not yet configured: no WSGIDaemonProcess before this line \
         defines '{group}' (WSGIImportScript loads the script into the group's processes \
         at start, so the group must come first; process-group=%{{GLOBAL}} loads it in \
         the Apache children)"
    ))
}

/// Scripts the processes of `group` (empty: the Apache children) load at
/// start, once each, in the order of their lines: `WSGIImportScript`, and
/// aliases with both process-group= and application-group= (mod_wsgi's
/// import list).
pub fn preload_scripts<R>(servers: &[&ServerSettings<R>], group: &str) -> Vec<(String, String)> {
    let mut scripts: Vec<(String, String)> = Vec::new();
    for import in servers.iter().flat_map(|s| &s.imports) {
        let entry = (import.script.clone(), import.application_group.clone());
        if import.process_group == group && !scripts.contains(&entry) {
            scripts.push(entry);
        }
    }
    scripts
}

/// Application groups other than %{GLOBAL} named in any server's settings.
pub fn named_application_groups<R>(servers: &[&ServerSettings<R>]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in servers.iter().flat_map(|s| &s.named_application_groups) {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DirSettings, apply_directive};

    /// A server's settings from directive lines ("Name arguments").
    fn server(lines: &[&str]) -> ServerSettings<String> {
        let mut server = ServerSettings::default();
        let mut dir = DirSettings::default();
        for line in lines {
            let (name, raw) = line.split_once(' ').unwrap();
            let mut compile = |p: &str| Ok(p.to_owned());
            apply_directive(name, raw, &mut server, &mut dir, &mut compile).unwrap();
        }
        server
    }

    #[test]
    fn a_group_defined_in_two_servers_is_refused() {
        let main = server(&["WSGIDaemonProcess site"]);
        let vhost = server(&["WSGIDaemonProcess other", "WSGIDaemonProcess site"]);
        let error = daemon_groups(&[&main, &vhost]).unwrap_err();
        assert!(
            error.contains("'site' is defined more than once"),
            "{error}"
        );
        let names: Vec<_> = daemon_groups(&[&main, &server(&["WSGIDaemonProcess other"])])
            .unwrap()
            .into_iter()
            .map(|g| g.name)
            .collect();
        assert_eq!(names, ["site", "other"]);
    }

    #[test]
    fn groups_used_but_defined_nowhere_are_listed_once() {
        let main = server(&["WSGIDaemonProcess site"]);
        let vhost = server(&["WSGIProcessGroup site"]);
        let groups = daemon_groups(&[&main, &vhost]).unwrap();
        assert!(undefined_process_groups(&[&main, &vhost], &groups).is_empty());
        let stray = server(&[
            "WSGIProcessGroup missing",
            "WSGIScriptAlias /x /srv/x.wsgi process-group=missing",
            "WSGIScriptAlias /y /srv/y.wsgi process-group=other",
        ]);
        assert_eq!(
            undefined_process_groups(&[&main, &stray], &groups),
            ["missing", "other"]
        );
    }

    #[test]
    fn a_preloading_alias_needs_its_group_defined_before_it() {
        let aliases = server(&[
            "WSGIScriptAlias /a /srv/a.wsgi process-group=site application-group=%{GLOBAL}",
            "WSGIScriptAlias /b /srv/b.wsgi process-group=site",
            "WSGIScriptAlias /c /srv/c.wsgi process-group=%{ENV:G} application-group=x",
            "WSGIScriptAlias /d /srv/d.wsgi process-group=%{GLOBAL} application-group=x",
        ])
        .aliases;
        let none: &[String] = &[];
        let error = check_preload_group_defined(&aliases[0], none).unwrap_err();
        assert!(
            error.starts_with("WSGI process group not yet configured") && error.contains("'site'"),
            "{error}"
        );
        assert!(check_preload_group_defined(&aliases[0], &["site".to_owned()]).is_ok());
        for alias in &aliases[1..] {
            assert!(
                check_preload_group_defined(alias, none).is_ok(),
                "{alias:?}"
            );
        }
    }

    #[test]
    fn preloading_needs_both_groups_and_a_fixed_target_once() {
        let main = server(&[
            "WSGIScriptAlias /a /srv/a.wsgi process-group=site application-group=%{GLOBAL}",
            "WSGIScriptAlias /b /srv/b.wsgi process-group=site",
            "WSGIScriptAlias /c /srv/c.wsgi process-group=other application-group=%{GLOBAL}",
            "WSGIScriptAliasMatch ^/e(.*) /srv/e.wsgi process-group=site application-group=%{GLOBAL}",
        ]);
        let vhost = server(&[
            "WSGIScriptAlias /a2 /srv/a.wsgi process-group=site application-group=%{GLOBAL}",
            "WSGIScriptAlias /d /srv/d.wsgi process-group=site application-group=%{GLOBAL}",
        ]);
        let global = |s: &str| (s.to_owned(), String::new());
        assert_eq!(
            preload_scripts(&[&main, &vhost], "site"),
            [global("/srv/a.wsgi"), global("/srv/d.wsgi")]
        );
        assert!(preload_scripts(&[&main], "none").is_empty());
    }

    #[test]
    fn import_scripts_join_the_preloading_aliases_in_line_order() {
        let main = server(&[
            "WSGIImportScript /srv/first.py process-group=site application-group=%{GLOBAL}",
            "WSGIScriptAlias /a /srv/a.wsgi process-group=site application-group=%{GLOBAL}",
            "WSGIImportScript /srv/kids.py process-group=%{GLOBAL} application-group=%{GLOBAL}",
            "WSGIImportScript /srv/a.wsgi process-group=site application-group=x",
            "WSGIImportScript /srv/other.py process-group=other application-group=%{GLOBAL}",
        ]);
        let global = |s: &str| (s.to_owned(), String::new());
        // A script named for two application groups loads in each.
        assert_eq!(
            preload_scripts(&[&main], "site"),
            [
                global("/srv/first.py"),
                global("/srv/a.wsgi"),
                ("/srv/a.wsgi".to_owned(), "x".to_owned())
            ]
        );
        assert_eq!(preload_scripts(&[&main], ""), [global("/srv/kids.py")]);
        let none: &[String] = &[];
        let error = check_import_group_defined(&main.imports[0], none).unwrap_err();
        assert!(
            error.starts_with("WSGI process group not yet configured") && error.contains("'site'"),
            "{error}"
        );
        assert!(check_import_group_defined(&main.imports[0], &["site".to_owned()]).is_ok());
        assert!(check_import_group_defined(&main.imports[2], none).is_ok());
    }

    #[test]
    fn application_groups_are_listed_once_across_servers() {
        let main = server(&["WSGIApplicationGroup one", "WSGIApplicationGroup two"]);
        let vhost = server(&["WSGIApplicationGroup two", "WSGIApplicationGroup three"]);
        assert_eq!(
            named_application_groups(&[&main, &vhost]),
            ["one", "two", "three"]
        );
    }
}
