//! README.md's status tables checked against the directive and daemon option
//! tables, so that the README cannot drift from what the module does.

use super::table::{DAEMON_OPTIONS, DIRECTIVES};

const README: &str = include_str!("../../../../README.md");

/// The rows of the table under `heading`: (first column, status column).
fn rows(heading: &str) -> Vec<(String, String)> {
    let mut lines = README.lines().skip_while(|l| l.trim() != heading).skip(1);
    let table: Vec<&str> = lines
        .by_ref()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(table.len() > 2, "README.md has no table under '{heading}'");
    table[2..]
        .iter()
        .map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split(" | ").collect();
            assert_eq!(
                cells.len(),
                2,
                "README row with other than two cells: {row}"
            );
            (cells[0].trim().to_owned(), cells[1].trim().to_owned())
        })
        .collect()
}

/// The `code` spans of `cell`, leaving out parenthesised remarks (which
/// mention option values and other names in passing).
fn names(cell: &str) -> Vec<String> {
    let mut outside = String::new();
    let mut depth = 0usize;
    for c in cell.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    outside
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Whether a status cell says "supported": the README words it as
/// "supported" or "accepted", with remarks, or "not supported yet".
fn says_supported(status: &str) -> bool {
    !status.starts_with("not supported yet")
}

/// (name, supported) for every name in the table under `heading` that
/// `is_name` accepts.
fn listed(heading: &str, is_name: impl Fn(&str) -> bool) -> Vec<(String, bool)> {
    rows(heading)
        .iter()
        .flat_map(|(names_cell, status)| {
            names(names_cell)
                .into_iter()
                .filter(|n| is_name(n))
                .map(|n| (n, says_supported(status)))
        })
        .collect()
}

fn check(kind: &str, table: &[(&str, bool)], readme: &[(String, bool)]) {
    let mut problems = Vec::new();
    for (name, supported) in table {
        match readme.iter().find(|(n, _)| n == name) {
            None => problems.push(format!("{kind} {name} is not in README.md")),
            Some((_, listed)) if listed != supported => problems.push(format!(
                "README.md says {kind} {name} is {}supported",
                if *listed { "" } else { "not " }
            )),
            Some(_) => {}
        }
    }
    for (name, _) in readme {
        if !table.iter().any(|(n, _)| n == name) {
            problems.push(format!(
                "README.md names {kind} {name}, which is not in the table"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn readme_lists_every_directive_with_its_status() {
    let table: Vec<(&str, bool)> = DIRECTIVES
        .iter()
        .map(|d| (d.name(), d.is_supported()))
        .collect();
    // `<WSGIInterpreterOptions>` is written as a section in the README.
    let readme: Vec<(String, bool)> = listed("### mod_wsgi's directives", |n| {
        n.trim_start_matches('<').starts_with("WSGI")
    })
    .into_iter()
    .map(|(n, s)| (n.trim_end_matches('>').to_owned(), s))
    .collect();
    check("directive", &table, &readme);
}

#[test]
fn readme_lists_every_daemon_option_with_its_status() {
    let table: Vec<(&str, bool)> = DAEMON_OPTIONS
        .iter()
        .map(|o| (o.name, o.supported))
        .collect();
    let readme = listed("### `WSGIDaemonProcess` options", |n| {
        n.chars().all(|c| c.is_ascii_lowercase() || c == '-')
    });
    check("option", &table, &readme);
}

#[test]
fn the_check_finds_drift() {
    let table = [("WSGIA", true), ("WSGIB", false)];
    let readme = [("WSGIA".to_owned(), false), ("WSGIC".to_owned(), true)];
    let result = std::panic::catch_unwind(|| check("directive", &table, &readme));
    let message = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("WSGIA is not supported"), "{message}");
    assert!(message.contains("WSGIB is not in README.md"), "{message}");
    assert!(
        message.contains("WSGIC, which is not in the table"),
        "{message}"
    );
}
