use super::*;

fn apply(name: &str, raw: &str) -> Result<(ServerSettings<String>, DirSettings), String> {
    let mut server = ServerSettings::default();
    let mut dir = DirSettings::default();
    apply_directive(name, raw, &mut server, &mut dir, &mut |p: &str| {
        if p.contains('(') && !p.contains(')') {
            Err("bad regex".into())
        } else {
            Ok(format!("re:{p}"))
        }
    })?;
    Ok((server, dir))
}

#[test]
fn script_alias_with_options() {
    let (server, _) = apply(
        "WSGIScriptAlias",
        "/app /srv/app.wsgi process-group=site application-group=%{GLOBAL} callable-object=app pass-authorization=On",
    )
    .unwrap();
    let alias = &server.aliases[0];
    assert_eq!(alias.location, Location::Prefix("/app".into()));
    assert_eq!(alias.target, "/srv/app.wsgi");
    assert_eq!(alias.options.process_group.as_deref(), Some("site"));
    assert_eq!(
        alias.options.application_group.as_deref(),
        Some("%{GLOBAL}")
    );
    assert_eq!(alias.options.callable_object.as_deref(), Some("app"));
    assert_eq!(alias.options.pass_authorization, Some(true));
    assert!(server.named_application_groups.is_empty());
}

#[test]
fn script_alias_match_compiles_its_pattern() {
    let (server, _) = apply("WSGIScriptAliasMatch", "^/apps/([^/]+) /srv/$1.wsgi").unwrap();
    assert_eq!(
        server.aliases[0].location,
        Location::Pattern {
            source: "^/apps/([^/]+)".into(),
            compiled: "re:^/apps/([^/]+)".into()
        }
    );
    assert!(
        apply("WSGIScriptAliasMatch", "^/(x /srv/x.wsgi")
            .unwrap_err()
            .contains("bad regex")
    );
}

#[test]
fn script_alias_errors_name_the_problem() {
    assert!(
        apply("WSGIScriptAlias", "/app")
            .unwrap_err()
            .contains("needs a URL path")
    );
    assert!(
        apply("WSGIScriptAlias", "/app /x.wsgi proces-group=x")
            .unwrap_err()
            .contains("unknown option 'proces-group'")
    );
    assert!(
        apply("WSGIScriptAlias", "/app /x.wsgi standalone")
            .unwrap_err()
            .contains("name=value")
    );
    assert!(
        apply("WSGIScriptAlias", "/app /x.wsgi pass-authorization=maybe")
            .unwrap_err()
            .contains("On or Off")
    );
    assert!(
        apply("WSGIScriptAlias", "app /x.wsgi")
            .unwrap_err()
            .contains("must start with '/'")
    );
    assert!(
        apply("WSGIScriptAlias", "/app /x.wsgi application-group=%{NOPE}")
            .unwrap_err()
            .contains("invalid application group")
    );
}

#[test]
fn flags() {
    assert_eq!(
        apply("WSGIScriptReloading", "off")
            .unwrap()
            .1
            .script_reloading,
        Some(false)
    );
    assert_eq!(
        apply("WSGIChunkedRequest", "On").unwrap().1.chunked_request,
        Some(true)
    );
    assert_eq!(
        apply("WSGIMapHEADToGET", "Auto").unwrap().1.map_head_to_get,
        Some(HeadToGet::Auto)
    );
    assert_eq!(
        apply("WSGIMapHEADToGET", "off").unwrap().1.map_head_to_get,
        Some(HeadToGet::Off)
    );
    assert_eq!(
        apply("WSGIEnableSendfile", "On").unwrap().1.enable_sendfile,
        Some(true)
    );
    assert!(
        apply("WSGIErrorOverride", "yes")
            .unwrap_err()
            .contains("must be On or Off, not 'yes'")
    );
    assert!(
        apply("WSGIPassAuthorization", "On Off")
            .unwrap_err()
            .contains("takes one argument")
    );
    assert!(
        apply("WSGIPassAuthorization", "")
            .unwrap_err()
            .contains("takes one argument")
    );
}

#[test]
fn named_groups_are_recorded_for_the_startup_notice() {
    let (server, dir) = apply("WSGIApplicationGroup", "%{RESOURCE}").unwrap();
    assert_eq!(server.named_application_groups, ["%{RESOURCE}"]);
    assert_eq!(dir.application_group.as_deref(), Some("%{RESOURCE}"));
    let (server, _) = apply("WSGIApplicationGroup", "%{GLOBAL}").unwrap();
    assert!(server.named_application_groups.is_empty());
}

#[test]
fn python_home_must_be_an_existing_absolute_directory() {
    assert!(
        apply("WSGIPythonHome", "relative/venv")
            .unwrap_err()
            .contains("absolute")
    );
    assert!(
        apply("WSGIPythonHome", "/definitely/not/here")
            .unwrap_err()
            .contains("not a directory")
    );
    assert_eq!(
        apply("WSGIPythonHome", "/usr")
            .unwrap()
            .0
            .python_home
            .as_deref(),
        Some("/usr")
    );
}

#[test]
fn callable_object_must_be_an_identifier() {
    assert!(
        apply("WSGICallableObject", "app-1")
            .unwrap_err()
            .contains("not a Python identifier")
    );
    assert_eq!(
        apply("WSGICallableObject", "app_1")
            .unwrap()
            .1
            .callable_object
            .as_deref(),
        Some("app_1")
    );
}

#[test]
fn daemon_groups_are_recorded_and_unique() {
    let mut server = ServerSettings::<String>::default();
    let mut dir = DirSettings::default();
    let mut compile = |p: &str| Ok::<_, String>(p.to_owned());
    apply_directive(
        "WSGIDaemonProcess",
        "site processes=2",
        &mut server,
        &mut dir,
        &mut compile,
    )
    .unwrap();
    assert_eq!(server.daemon_groups[0].processes, 2);
    let err = apply_directive(
        "WSGIDaemonProcess",
        "site",
        &mut server,
        &mut dir,
        &mut compile,
    )
    .unwrap_err();
    assert!(err.contains("already defined"), "{err}");
    assert_eq!(
        apply("WSGIRestrictEmbedded", "On")
            .unwrap()
            .0
            .restrict_embedded,
        Some(true)
    );
    assert_eq!(
        apply("WSGISocketPrefix", "/var/run/wsgi")
            .unwrap()
            .0
            .socket_prefix
            .as_deref(),
        Some("/var/run/wsgi")
    );
}

#[test]
fn every_mod_wsgi_directive_is_supported_and_others_are_refused() {
    // mod_wsgi 6.1.1's whole table: none is left refused by name.
    let refused: Vec<_> = super::super::DIRECTIVES
        .iter()
        .filter(|d| !d.is_supported())
        .map(|d| d.name())
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    let err = apply("WSGINoSuchDirective", "x").unwrap_err();
    assert!(err.contains("not a mod_wsgi directive"), "{err}");
}

#[test]
fn a_dispatch_script_is_a_directory_setting_that_needs_python_in_the_children() {
    let (server, dir) = apply("WSGIDispatchScript", "/srv/d.py application-group=x").unwrap();
    let dispatch = dir.dispatch_script.unwrap();
    assert_eq!(dispatch.script, "/srv/d.py");
    assert_eq!(dispatch.application_group.as_deref(), Some("x"));
    assert!(server.scripts_in_children);
    assert_eq!(server.named_application_groups, ["x"]);
    let (server, _) = apply("WSGIScriptReloading", "On").unwrap();
    assert!(!server.scripts_in_children);
}

#[test]
fn pass_apache_request_accepts_off_and_refuses_on_saying_why() {
    assert!(apply("WSGIPassApacheRequest", "Off").is_ok());
    assert!(apply("WSGIPassApacheRequest", "off").is_ok());
    let on = apply("WSGIPassApacheRequest", "On").unwrap_err();
    assert!(
        on.contains("request_rec") && on.contains("set it Off"),
        "{on}"
    );
    let bad = apply("WSGIPassApacheRequest", "maybe").unwrap_err();
    assert!(bad.contains("must be one of: Off | On"), "{bad}");
}
