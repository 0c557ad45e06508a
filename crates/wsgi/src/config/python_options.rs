//! Values of the directives that set how Python starts in every process
//! (main server only): `WSGIPythonOptimize`, `WSGIPythonHashSeed`,
//! `WSGIPythonWarnings` and `WSGISwitchInterval`. (`WSGIDontWriteBytecode`
//! and `WSGIRestrictSignal` are plain On/Off.) Each bad value is refused
//! here, at start-up, rather than by Python in every process.

use super::settings::HashSeed;

/// `WSGIPythonOptimize`: Python's `-O` level, 0, 1 or 2.
pub(super) fn parse_optimize(name: &str, value: &str) -> Result<u8, String> {
    match value {
        "0" => Ok(0),
        "1" => Ok(1),
        "2" => Ok(2),
        _ => Err(format!("{name} must be 0, 1 or 2, not '{value}'")),
    }
}

/// `WSGIPythonHashSeed`: `random`, or a seed from 0 to 4294967295 (the
/// range `PYTHONHASHSEED` accepts).
pub(super) fn parse_hash_seed(name: &str, value: &str) -> Result<HashSeed, String> {
    if value.eq_ignore_ascii_case("random") {
        return Ok(HashSeed::Random);
    }
    value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse::<u32>().ok())
        .flatten()
        .map(HashSeed::Fixed)
        .ok_or_else(|| {
            format!("{name} must be 'random' or an integer from 0 to 4294967295, not '{value}'")
        })
}

/// `WSGISwitchInterval`: a positive, finite number of seconds.
pub(super) fn parse_switch_interval(name: &str, value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => Ok(seconds),
        _ => Err(format!(
            "{name} must be a positive number of seconds, not '{value}'"
        )),
    }
}

/// The actions a `-W` option may name, or abbreviate (Python's
/// `warnings._getaction`; `all` is an alias of `always`).
const WARNING_ACTIONS: &[&str] = &[
    "default", "always", "all", "ignore", "module", "once", "error",
];

/// `WSGIPythonWarnings`: one `-W` option, `action:message:category:module:lineno`
/// with any trailing fields left out. The action, the number of fields and
/// the line number are checked as Python checks them; the category can only
/// be looked up once Python runs (an unknown one makes Python write
/// "Invalid -W option ignored" to the error log).
pub(super) fn check_warning_option(name: &str, value: &str) -> Result<(), String> {
    let fields: Vec<&str> = value.split(':').map(str::trim).collect();
    let problem = if fields.len() > 5 {
        Some("it has more than 5 ':'-separated fields".to_owned())
    } else if !fields[0].is_empty() && !WARNING_ACTIONS.iter().any(|a| a.starts_with(fields[0])) {
        Some(format!(
            "unknown action '{}' (expected default, error, ignore, always, module or once)",
            fields[0]
        ))
    } else {
        match fields.get(4) {
            Some(line) if !line.is_empty() && line.parse::<u64>().is_err() => Some(format!(
                "the line number '{line}' is not a non-negative integer"
            )),
            _ => None,
        }
    };
    match problem {
        Some(problem) => Err(format!(
            "{name}: '{value}' is not a valid warning option: {problem}"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        DirSettings, DirectiveScope, ServerSettings, apply_directive, lookup_directive,
    };

    /// The main server's settings after `lines` of (directive, arguments).
    fn server_after(lines: &[(&str, &str)]) -> Result<ServerSettings<()>, String> {
        let mut server = ServerSettings::default();
        let mut dir = DirSettings::default();
        for (name, raw) in lines {
            apply_directive(name, raw, &mut server, &mut dir, &mut |_: &str| Ok(()))?;
        }
        Ok(server)
    }

    const NAMES: [&str; 6] = [
        "WSGIPythonOptimize",
        "WSGIDontWriteBytecode",
        "WSGIPythonHashSeed",
        "WSGIPythonWarnings",
        "WSGISwitchInterval",
        "WSGIRestrictSignal",
    ];

    #[test]
    fn the_directives_are_supported_and_main_server_only() {
        for name in NAMES {
            let info = lookup_directive(name).unwrap();
            assert!(info.is_supported(), "{name}");
            assert_eq!(info.scope(), DirectiveScope::Global, "{name}");
            assert!(std::ptr::eq(
                lookup_directive(&name.to_lowercase()).unwrap(),
                info
            ));
        }
    }

    #[test]
    fn the_directives_set_the_server_settings() {
        let server = server_after(&[
            ("WSGIPythonOptimize", "2"),
            ("WSGIDontWriteBytecode", "On"),
            ("WSGIPythonHashSeed", "4294967295"),
            ("WSGIPythonWarnings", "ignore::DeprecationWarning"),
            ("WSGIPythonWarnings", "\"error:some text\""),
            ("WSGISwitchInterval", "0.0025"),
            ("WSGIRestrictSignal", "off"),
        ])
        .unwrap();
        assert_eq!(server.python_optimize, Some(2));
        assert_eq!(server.dont_write_bytecode, Some(true));
        assert_eq!(server.python_hash_seed, Some(HashSeed::Fixed(u32::MAX)));
        assert_eq!(
            server.python_warnings,
            ["ignore::DeprecationWarning", "error:some text"],
            "each WSGIPythonWarnings adds one option, in order"
        );
        assert_eq!(server.switch_interval, Some(0.0025));
        assert_eq!(server.restrict_signal, Some(false));
        let options = server.python_options();
        assert!(!options.write_bytecode && !options.restrict_signal);
        assert_eq!(options.hash_seed, Some(u32::MAX));

        let server = server_after(&[
            ("WSGIPythonHashSeed", "random"),
            ("WSGIDontWriteBytecode", "Off"),
            ("WSGIRestrictSignal", "On"),
        ])
        .unwrap();
        assert_eq!(server.python_hash_seed, Some(HashSeed::Random));
        assert_eq!(server.dont_write_bytecode, Some(false));
        assert_eq!(server.restrict_signal, Some(true));
        assert_eq!(server.python_options().hash_seed, None);
    }

    #[test]
    fn bad_values_are_errors_naming_directive_and_value() {
        let cases = [
            ("WSGIPythonOptimize", "3", "must be 0, 1 or 2, not '3'"),
            ("WSGIPythonHashSeed", "-1", "not '-1'"),
            ("WSGIPythonHashSeed", "4294967296", "not '4294967296'"),
            (
                "WSGISwitchInterval",
                "0",
                "positive number of seconds, not '0'",
            ),
            ("WSGISwitchInterval", "-1", "not '-1'"),
            (
                "WSGIRestrictSignal",
                "maybe",
                "must be On or Off, not 'maybe'",
            ),
            (
                "WSGIDontWriteBytecode",
                "yes",
                "must be On or Off, not 'yes'",
            ),
            (
                "WSGIPythonWarnings",
                "hush",
                "'hush' is not a valid warning option",
            ),
        ];
        for (name, value, expected) in cases {
            let err = server_after(&[(name, value)]).unwrap_err();
            assert!(
                err.starts_with(name) && err.contains(expected),
                "{name} {value}: {err}"
            );
        }
        for name in NAMES {
            let err = server_after(&[(name, "")]).unwrap_err();
            assert!(err.contains("takes one argument"), "{name}: {err}");
            let err = server_after(&[(name, "1 2")]).unwrap_err();
            assert!(err.contains("takes one argument"), "{name}: {err}");
        }
    }

    #[test]
    fn optimize_levels() {
        assert_eq!(parse_optimize("WSGIPythonOptimize", "0"), Ok(0));
        assert_eq!(parse_optimize("WSGIPythonOptimize", "2"), Ok(2));
        for bad in ["3", "-1", "one", "", "1.0"] {
            let err = parse_optimize("WSGIPythonOptimize", bad).unwrap_err();
            assert_eq!(
                err,
                format!("WSGIPythonOptimize must be 0, 1 or 2, not '{bad}'")
            );
        }
    }

    #[test]
    fn hash_seeds() {
        let parse = |v| parse_hash_seed("WSGIPythonHashSeed", v);
        assert_eq!(parse("random"), Ok(HashSeed::Random));
        assert_eq!(parse("0"), Ok(HashSeed::Fixed(0)));
        assert_eq!(parse("4294967295"), Ok(HashSeed::Fixed(u32::MAX)));
        for bad in ["-1", "4294967296", "+5", "0x10", "12a", "", "randomly"] {
            let err = parse(bad).unwrap_err();
            assert!(
                err.starts_with("WSGIPythonHashSeed must be 'random' or an integer")
                    && err.ends_with(&format!("not '{bad}'")),
                "{err}"
            );
        }
    }

    #[test]
    fn switch_intervals() {
        let parse = |v| parse_switch_interval("WSGISwitchInterval", v);
        assert_eq!(parse("0.001"), Ok(0.001));
        assert_eq!(parse("2"), Ok(2.0));
        assert_eq!(parse("5e-3"), Ok(0.005));
        for bad in ["0", "0.0", "-0.5", "inf", "NaN", "fast", ""] {
            assert_eq!(
                parse(bad).unwrap_err(),
                format!("WSGISwitchInterval must be a positive number of seconds, not '{bad}'")
            );
        }
    }

    #[test]
    fn warning_options() {
        let check = |v| check_warning_option("WSGIPythonWarnings", v);
        for good in [
            "ignore",
            "error::DeprecationWarning",
            "default::DeprecationWarning:django.utils:12",
            "i",
            "all",
            ":msg",
            " once : text : UserWarning ",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        let err = check("silence").unwrap_err();
        assert!(
            err.starts_with("WSGIPythonWarnings: 'silence' is not a valid warning option")
                && err.contains("unknown action 'silence'"),
            "{err}"
        );
        assert!(
            check("ignore:a:b:c:d:e")
                .unwrap_err()
                .contains("more than 5"),
        );
        assert!(
            check("ignore::Warning:mod:-3")
                .unwrap_err()
                .contains("line number '-3'"),
        );
    }
}
