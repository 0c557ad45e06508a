//! `WSGITelemetryService`, `WSGISlowRequests` and `WSGITelemetryOptions`,
//! parsed as mod_wsgi 6.1.1's wsgi_telemetry.c parses them, with its
//! messages. Numbers are read strictly where mod_wsgi's `atof` would take
//! "abc" for 0: a typo should fail configtest, not switch a feature off.

use super::args::{exactly_one, split_arguments};
use super::settings::ServerSettings;
use super::table::Directive;

/// `WSGITelemetryOptions +CaptureUserAgent`: slow-request records carry
/// the User-Agent header (mod_wsgi's WSGI_TELEMETRY_OPT_CAPTURE_USER_AGENT).
pub const OPT_CAPTURE_USER_AGENT: u32 = 0x01;
const OPT_ALL: u32 = OPT_CAPTURE_USER_AGENT;

/// The reporter's target and interval.
#[derive(Clone, Debug, PartialEq)]
pub struct TelemetryService {
    /// The socket path (the target without its `unix:`).
    pub path: String,
    /// Seconds between samples (mod_wsgi's default 1.0, at least 0.5).
    pub interval: f64,
}

fn number(name: &str, what: &str, text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{name} {what} must be a number of seconds, not '{text}'"))
}

fn service(name: &str, raw: &str) -> Result<TelemetryService, String> {
    let args = split_arguments(raw)?;
    let target = match args.as_slice() {
        [] => return Err(format!("{name} target required")),
        [target] | [target, _] => target,
        _ => {
            return Err(format!(
                "{name} takes one or two arguments: unix:/path [interval=N]"
            ));
        }
    };
    let Some(path) = target.strip_prefix("unix:") else {
        return Err(format!(
            "{name} target must be 'unix:/path' (remote 'udp:host:port' targets are no longer supported)"
        ));
    };
    // sockaddr_un's sun_path: mod_wsgi's reporter cannot open a longer one.
    if path.is_empty() || path.len() >= 108 {
        return Err(format!(
            "{name} target '{target}' needs a socket path of 1 to 107 bytes"
        ));
    }
    let mut interval = 1.0;
    if let Some(arg) = args.get(1) {
        let Some(value) = arg.strip_prefix("interval=") else {
            return Err(format!("{name} second argument must be 'interval=N'"));
        };
        interval = number(name, "interval", value)?;
        if interval < 0.5 {
            return Err(format!("{name} interval must be at least 0.5 seconds"));
        }
    }
    Ok(TelemetryService {
        path: path.to_owned(),
        interval,
    })
}

fn slow_requests(name: &str, raw: &str) -> Result<f64, String> {
    let value = exactly_one(name, raw)?;
    let seconds = number(name, "threshold", &value)?;
    if seconds < 0.0 {
        return Err(format!("{name} threshold must be non-negative"));
    }
    Ok(seconds)
}

/// mod_wsgi's `wsgi_set_telemetry_options`: `+Flag`/`-Flag` change the
/// flags so far, names (and `None`, `All`) replace them; not both forms in
/// one line.
fn options(name: &str, raw: &str, current: u32) -> Result<u32, String> {
    let tokens = split_arguments(raw)?;
    if tokens.is_empty() {
        return Err(format!("{name}: at least one flag required"));
    }
    let (mut incremental, mut absolute) = (current, 0);
    let (mut seen_incremental, mut seen_absolute) = (false, false);
    for token in &tokens {
        let (flag_name, negate) = if let Some(rest) = token.strip_prefix('+') {
            seen_incremental = true;
            (rest, false)
        } else if let Some(rest) = token.strip_prefix('-') {
            seen_incremental = true;
            (rest, true)
        } else {
            seen_absolute = true;
            (token.as_str(), false)
        };
        if flag_name.is_empty() {
            return Err(format!("{name}: bare '+' / '-' is not a flag"));
        }
        if seen_incremental && seen_absolute {
            return Err(format!(
                "{name}: cannot mix +/- form with absolute names in a single directive"
            ));
        }
        let prefixed = flag_name.len() != token.len();
        if flag_name.eq_ignore_ascii_case("None") || flag_name.eq_ignore_ascii_case("All") {
            if prefixed {
                return Err(format!("{name}: '{flag_name}' may not have a +/- prefix"));
            }
            absolute = if flag_name.eq_ignore_ascii_case("All") {
                OPT_ALL
            } else {
                0
            };
            continue;
        }
        let flag = if flag_name.eq_ignore_ascii_case("CaptureUserAgent") {
            OPT_CAPTURE_USER_AGENT
        } else {
            return Err(format!("{name}: unknown flag '{flag_name}'"));
        };
        if !seen_incremental {
            absolute |= flag;
        } else if negate {
            incremental &= !flag;
        } else {
            incremental |= flag;
        }
    }
    Ok(if seen_incremental {
        incremental
    } else {
        absolute
    })
}

/// Applies one of this file's directives.
pub(super) fn apply<R>(
    directive: Directive,
    name: &str,
    raw: &str,
    server: &mut ServerSettings<R>,
) -> Result<(), String> {
    match directive {
        Directive::TelemetryService => server.telemetry_service = Some(service(name, raw)?),
        Directive::SlowRequests => server.slow_requests = Some(slow_requests(name, raw)?),
        Directive::TelemetryOptions => {
            let current = server.telemetry_options.unwrap_or(0);
            server.telemetry_options = Some(options(name, raw, current)?);
        }
        other => unreachable!("{other:?} is not a telemetry directive"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_takes_a_unix_target_and_an_interval() {
        let s = service("WSGITelemetryService", "unix:/run/t.sock").unwrap();
        assert_eq!((s.path.as_str(), s.interval), ("/run/t.sock", 1.0));
        let s = service("WSGITelemetryService", "unix:/t interval=2.5").unwrap();
        assert_eq!(s.interval, 2.5);
        let err = |raw| service("WSGITelemetryService", raw).unwrap_err();
        assert!(err("udp:127.0.0.1:9").contains("must be 'unix:/path'"));
        assert_eq!(
            err("unix:/t interval=0.1"),
            "WSGITelemetryService interval must be at least 0.5 seconds"
        );
        assert!(err("unix:/t interval=soon").contains("not 'soon'"));
        assert!(err("unix:/t every=2").contains("'interval=N'"));
        assert!(err("unix:").contains("1 to 107 bytes"));
    }

    #[test]
    fn the_threshold_is_non_negative_seconds() {
        assert_eq!(slow_requests("WSGISlowRequests", "0.25").unwrap(), 0.25);
        assert!(
            slow_requests("WSGISlowRequests", "-1")
                .unwrap_err()
                .contains("non-negative")
        );
        assert!(slow_requests("WSGISlowRequests", "slow").is_err());
    }

    #[test]
    fn options_follow_apaches_options_rules() {
        let o = |raw, current| options("WSGITelemetryOptions", raw, current);
        assert_eq!(o("CaptureUserAgent", 0).unwrap(), OPT_CAPTURE_USER_AGENT);
        assert_eq!(o("+captureuseragent", 0).unwrap(), OPT_CAPTURE_USER_AGENT);
        assert_eq!(o("-CaptureUserAgent", OPT_ALL).unwrap(), 0);
        assert_eq!(o("All", 0).unwrap(), OPT_ALL);
        assert_eq!(o("None", OPT_ALL).unwrap(), 0);
        assert!(
            o("+All", 0)
                .unwrap_err()
                .contains("may not have a +/- prefix")
        );
        assert!(
            o("CaptureUserAgent +CaptureUserAgent", 0)
                .unwrap_err()
                .contains("cannot mix")
        );
        assert_eq!(
            o("+Cookies", 0).unwrap_err(),
            "WSGITelemetryOptions: unknown flag 'Cookies'"
        );
        assert!(o("+", 0).unwrap_err().contains("bare"));
        assert!(o("", 0).unwrap_err().contains("at least one flag"));
    }
}
