//! What `start_response` accepts, with mod_wsgi 6's rules (wsgi_validate.c)
//! on the latin-1 bytes of the status and headers: a status of three digits,
//! alone or followed by a space and a reason without control characters;
//! header names neither empty nor holding a control character or a space;
//! values without CR or LF. Like mod_wsgi, which reads them as C strings,
//! each stops at its first NUL. One rule is ours: no hop-by-hop headers
//! (PEP 3333 forbids them, and a `Transfer-Encoding` the application sets
//! would make Apache frame the body wrongly).
//!
//! The problems are values; the caller words them with Python's `repr` of
//! the bytes, as mod_wsgi's `%R` does.

/// Why a status line was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum StatusProblem {
    /// mod_wsgi: "status code must be a 3 digit integer: %R".
    NotThreeDigits,
    /// mod_wsgi: "no space following status code: %R".
    NoSpace,
    /// mod_wsgi: "control character in status reason phrase: %R".
    ControlInReason,
    /// Ours: a code below 100 ("099 x"), which no HTTP client accepts.
    BelowHundred,
}

/// Why a header was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum HeaderProblem {
    NameEmpty,
    ControlInName,
    SpaceInName,
    LineBreakInValue,
    HopByHop,
    /// A second `Content-Length` that says another length than the first:
    /// a proxy or cache that trusts one and a client that trusts the other
    /// would disagree on where the response ends.
    ConflictingContentLength,
}

/// The bytes up to the first NUL, as mod_wsgi's C strings see them.
pub fn up_to_nul(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(end) => &bytes[..end],
        None => bytes,
    }
}

/// C's `iscntrl` in the "C" locale.
fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// The status code of a status line (already cut at its NUL).
pub fn parse_status(status: &[u8]) -> Result<u16, StatusProblem> {
    if status.len() < 3 || !status[..3].iter().all(u8::is_ascii_digit) {
        return Err(StatusProblem::NotThreeDigits);
    }
    match status.get(3) {
        None | Some(b' ') => {}
        Some(b) if b.is_ascii_digit() => return Err(StatusProblem::NotThreeDigits),
        Some(_) => return Err(StatusProblem::NoSpace),
    }
    if status.len() > 4 && status[4..].iter().any(|&b| is_control(b)) {
        return Err(StatusProblem::ControlInReason);
    }
    let code = status[..3]
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    if code < 100 {
        return Err(StatusProblem::BelowHundred);
    }
    Ok(code)
}

const HOP_BY_HOP: &[&[u8]] = &[
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailer",
    b"trailers",
    b"transfer-encoding",
    b"upgrade",
];

pub fn check_header_name(name: &[u8]) -> Result<(), HeaderProblem> {
    if name.is_empty() {
        return Err(HeaderProblem::NameEmpty);
    }
    if name.iter().any(|&b| is_control(b)) {
        return Err(HeaderProblem::ControlInName);
    }
    if name.contains(&b' ') {
        return Err(HeaderProblem::SpaceInName);
    }
    if HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name)) {
        return Err(HeaderProblem::HopByHop);
    }
    Ok(())
}

pub fn check_header_value(value: &[u8]) -> Result<(), HeaderProblem> {
    if value.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Err(HeaderProblem::LineBreakInValue);
    }
    Ok(())
}

/// A name `check_header_name` accepts, decided in one pass: not empty, no
/// control byte, NUL or space, and not hop-by-hop (compared only when its
/// length is one of theirs).
fn is_plain_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.iter().all(|&b| b > b' ' && b != 0x7f)
        && !(HOP_BY_HOP.iter().any(|h| h.len() == name.len())
            && HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name)))
}

/// Whether a header is `Content-Length`.
pub fn is_content_length(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"content-length")
}

/// The Apache child's check of a head that a daemon sent: the same rules
/// as `start_response`, so that a daemon-side application that writes raw
/// frames on its channel connection gets no further than one that calls
/// `start_response` (the adapter sends at most one `Content-Length`, so a
/// second one here is refused whatever its value). The text says what is
/// wrong, with the offending bytes escaped.
pub fn check_forwarded_head(
    status: u16,
    status_line: &[u8],
    headers: &[(Vec<u8>, Vec<u8>)],
) -> Result<(), String> {
    let shown = |bytes: &[u8]| bytes.escape_ascii().to_string();
    if up_to_nul(status_line).len() != status_line.len() {
        return Err(format!("NUL in status line '{}'", shown(status_line)));
    }
    match parse_status(status_line) {
        Ok(code) if code == status => {}
        Ok(code) => {
            return Err(format!(
                "status {status} does not match its status line '{}' ({code})",
                shown(status_line)
            ));
        }
        Err(problem) => {
            return Err(format!(
                "invalid status line '{}' ({problem:?})",
                shown(status_line)
            ));
        }
    }
    let mut content_length = false;
    for (name, value) in headers {
        // Nearly every head is clean: one pass over each name and value
        // decides that, and only a suspect header goes through the
        // detailed checks that name its problem.
        let clean = is_plain_name(name) && !value.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n'));
        let problem = if clean {
            None
        } else if up_to_nul(name).len() != name.len() {
            Some(HeaderProblem::ControlInName)
        } else if up_to_nul(value).len() != value.len() {
            Some(HeaderProblem::LineBreakInValue)
        } else {
            check_header_name(name)
                .and_then(|()| check_header_value(value))
                .err()
        };
        if let Some(problem) = problem {
            return Err(format!(
                "invalid header '{}: {}' ({problem:?})",
                shown(name),
                shown(value)
            ));
        }
        if is_content_length(name) {
            if content_length {
                return Err("more than one Content-Length header".to_owned());
            }
            if parse_response_content_length(value).is_none() {
                return Err(format!("invalid Content-Length '{}'", shown(value)));
            }
            content_length = true;
        }
    }
    Ok(())
}

/// A request's `Content-Length` (routing refuses the request with 400).
pub fn parse_content_length(value: &str) -> Result<u64, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid Content-Length '{}'", value.escape_debug()));
    }
    // An off_t, as Apache and mod_wsgi (wsgi_strtoff) read it.
    trimmed
        .parse::<i64>()
        .map(|n| n as u64)
        .map_err(|_| format!("invalid Content-Length '{}'", value.escape_debug()))
}

/// A response's `Content-Length` as mod_wsgi reads it (`wsgi_strtoff`, base
/// 10): leading white space and a sign allowed, nothing after the digits,
/// not negative, and within an `off_t` (a larger one is ERANGE there).
pub fn parse_response_content_length(value: &[u8]) -> Option<u64> {
    let start = value
        .iter()
        .position(|b| !b" \t\n\x0b\x0c\r".contains(b))
        .unwrap_or(value.len());
    let (negative, digits) = match &value[start..] {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: i64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    (!negative || n == 0).then_some(n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_statuses() {
        assert_eq!(parse_status(b"200 OK"), Ok(200));
        assert_eq!(parse_status(b"404 Not Found"), Ok(404));
        assert_eq!(parse_status(b"299 Caf\xe9"), Ok(299));
        // No reason phrase: HTTP/2 sends none, and mod_wsgi 6 allows it.
        assert_eq!(parse_status(b"204"), Ok(204));
        assert_eq!(parse_status(b"200 "), Ok(200));
        assert_eq!(
            parse_status(b"200 tab\tok"),
            Err(StatusProblem::ControlInReason)
        );
    }

    #[test]
    fn bad_statuses_as_mod_wsgi_words_them() {
        use StatusProblem::*;
        for (bad, problem) in [
            (&b"2000 OK"[..], NotThreeDigits),
            (b"20 OK", NotThreeDigits),
            (b"abc OK", NotThreeDigits),
            (b"", NotThreeDigits),
            (b"200OK", NoSpace),
            (b"200-OK", NoSpace),
            (b"200 OK\r\nX: y", ControlInReason),
            (b"200 \x01", ControlInReason),
            (b"200 \x7f", ControlInReason),
            (b"099 Low", BelowHundred),
        ] {
            assert_eq!(parse_status(bad), Err(problem), "{bad:?}");
        }
    }

    #[test]
    fn nul_ends_a_value_as_in_c() {
        assert_eq!(up_to_nul(b"200 OK\0\r\nX: y"), b"200 OK");
        assert_eq!(up_to_nul(b"plain"), b"plain");
        assert_eq!(up_to_nul(b"\0x"), b"");
    }

    #[test]
    fn header_names() {
        use HeaderProblem::*;
        assert_eq!(check_header_name(b"Content-Type"), Ok(()));
        // mod_wsgi checks only what breaks the header line.
        assert_eq!(check_header_name(b"X:odd(name)"), Ok(()));
        assert_eq!(check_header_name(b"caf\xe9"), Ok(()));
        assert_eq!(check_header_name(b""), Err(NameEmpty));
        assert_eq!(check_header_name(b"Bad Name"), Err(SpaceInName));
        assert_eq!(check_header_name(b"X\nY"), Err(ControlInName));
        assert_eq!(check_header_name(b"X\tY"), Err(ControlInName));
        for hop in [
            &b"Connection"[..],
            b"keep-alive",
            b"Transfer-Encoding",
            b"Upgrade",
            b"TE",
        ] {
            assert_eq!(check_header_name(hop), Err(HopByHop), "{hop:?}");
        }
    }

    #[test]
    fn header_values() {
        assert_eq!(check_header_value(b"fine value\t with tab"), Ok(()));
        assert_eq!(check_header_value(b"caf\xe9"), Ok(()));
        for bad in [&b"a\r\nSet-Cookie: x"[..], b"a\nb", b"a\rb"] {
            assert_eq!(
                check_header_value(bad),
                Err(HeaderProblem::LineBreakInValue),
                "{bad:?}"
            );
        }
    }

    fn pairs(headers: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        headers
            .iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn a_forwarded_head_passes_the_same_rules() {
        let fine = pairs(&[("Content-Type", "text/plain"), ("Content-Length", "5")]);
        assert_eq!(check_forwarded_head(200, b"200 OK", &fine), Ok(()));
        assert_eq!(check_forwarded_head(204, b"204", &[]), Ok(()));
        for (status, line, headers) in [
            (200, &b"200 OK\r\nX-Injected: 1"[..], pairs(&[])),
            (200, b"200 OK\0", pairs(&[])),
            (200, b"404 Not Found", pairs(&[])),
            (200, b"2000 OK", pairs(&[])),
            (200, b"200 OK", pairs(&[("X-A", "b\r\nSet-Cookie: x=1")])),
            (200, b"200 OK", pairs(&[("Bad Name", "v")])),
            (200, b"200 OK", pairs(&[("", "v")])),
            (200, b"200 OK", pairs(&[("X\0", "v")])),
            (200, b"200 OK", pairs(&[("X", "v\0")])),
            (200, b"200 OK", pairs(&[("Transfer-Encoding", "chunked")])),
            (200, b"200 OK", pairs(&[("Content-Length", "x")])),
            (
                200,
                b"200 OK",
                pairs(&[("Content-Length", "5"), ("content-length", "5")]),
            ),
        ] {
            assert!(
                check_forwarded_head(status, line, &headers).is_err(),
                "{line:?} {headers:?}"
            );
        }
        let text = check_forwarded_head(200, b"200 OK\r\nX: 1", &[]).unwrap_err();
        assert!(text.contains("200 OK\\r\\nX: 1"), "{text}");
    }

    #[test]
    fn request_content_length() {
        assert_eq!(parse_content_length("11").unwrap(), 11);
        assert_eq!(parse_content_length(" 0 ").unwrap(), 0);
        assert_eq!(
            parse_content_length("9223372036854775807").unwrap(),
            i64::MAX as u64
        );
        for bad in [
            "",
            "-1",
            "1.5",
            "12a",
            "99999999999999999999999",
            "9223372036854775808",
        ] {
            assert!(parse_content_length(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn response_content_length() {
        assert_eq!(parse_response_content_length(b"11"), Some(11));
        assert_eq!(parse_response_content_length(b" +7"), Some(7));
        assert_eq!(parse_response_content_length(b"-0"), Some(0));
        assert_eq!(
            parse_response_content_length(b"9223372036854775807"),
            Some(i64::MAX as u64)
        );
        for bad in [
            &b""[..],
            b"-1",
            b"1.5",
            b"12a",
            b"12 ",
            b"99999999999999999999999",
            // Past an off_t: mod_wsgi's wsgi_strtoff fails with ERANGE.
            b"9223372036854775808",
            b"18446744073709551615",
        ] {
            assert_eq!(parse_response_content_length(bad), None, "{bad:?}");
        }
    }
}
