//! Configuration lines through `apply_directive`, as Apache's reading of
//! the configuration hands them to the module (src/config.rs): one line
//! per directive, its name then its raw arguments, into one server's and
//! one directory's settings, so that a directive meets the ones before it
//! (duplicate daemon groups, handler scripts, lists that add up). A
//! `<WSGIInterpreterOptions ...>` line opens a section whose lines go
//! first to `apply_in_options_section`, until `</WSGIInterpreterOptions>`.
//! Settings that parse must merge and give their start-up options.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsgi::config::{DirSettings, ServerSettings, apply_directive, apply_in_options_section};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut server = ServerSettings::<String>::default();
    let mut dir = DirSettings::default();
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim_start();
        let (name, raw) = line.split_once([' ', '\t']).unwrap_or((line, ""));
        if name.eq_ignore_ascii_case("</WSGIInterpreterOptions>") {
            in_section = false;
            continue;
        }
        if in_section && let Some(applied) = apply_in_options_section(name, raw, &mut server) {
            let _ = applied;
            continue;
        }
        let mut compile = |pattern: &str| {
            if pattern.contains('(') && !pattern.contains(')') {
                Err("unbalanced parenthesis".to_owned())
            } else {
                Ok(pattern.to_owned())
            }
        };
        let applied = apply_directive(name, raw, &mut server, &mut dir, &mut compile);
        if let Err(text) = &applied {
            assert!(!text.is_empty());
        }
        if applied.is_ok() && name.eq_ignore_ascii_case("<WSGIInterpreterOptions") {
            in_section = true;
        }
    }

    let empty = DirSettings::default();
    assert_eq!(DirSettings::merge(&empty, &dir), dir);
    assert_eq!(DirSettings::merge(&dir, &empty), dir);
    let _ = (dir.callable_object(), dir.map_head_to_get());
    let merged = ServerSettings::merge(&ServerSettings::default(), &server);
    let _ = ServerSettings::merge(&server, &merged);
    let _ = server.python_options();
    let _ = server.python_path_entries();
    for group in [""]
        .into_iter()
        .chain(server.daemon_groups.iter().map(|g| g.name.as_str()))
    {
        let _ = server.python_options_for(group);
        let _ = server.python_path_layers(group);
        let sections = server.interpreter_sections(group, server.python_path_entries());
        for application_group in ["", "site", "%{GLOBAL}"] {
            let _ = sections.resolve(application_group, &server.python_options_for(group));
        }
    }
});
