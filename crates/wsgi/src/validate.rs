//! PEP 3333's rules for what `start_response` accepts, plus HTTP's: a status
//! line, header names that are tokens, values without line breaks, and no
//! hop-by-hop headers (those belong to the server, not the application).

/// A validated status line.
#[derive(Debug, PartialEq, Eq)]
pub struct Status {
    pub code: u16,
}

pub fn parse_status(status: &str) -> Result<Status, String> {
    let bytes = status.as_bytes();
    if bytes.len() < 4 || !bytes[..3].iter().all(u8::is_ascii_digit) || bytes[3] != b' ' {
        return Err(format!(
            "invalid status '{}': it must be three digits, a space and a reason phrase, such as '200 OK'",
            status.escape_debug()
        ));
    }
    let code: u16 = status[..3].parse().expect("three ASCII digits");
    if code < 100 {
        return Err(format!(
            "invalid status '{}': the code must be 100 or more",
            status.escape_debug()
        ));
    }
    if status.chars().any(|c| c.is_control()) {
        return Err(format!(
            "invalid status '{}': control characters are not allowed",
            status.escape_debug()
        ));
    }
    if status.chars().any(|c| c as u32 > 0xff) {
        return Err(format!(
            "invalid status '{}': it must be encodable as latin-1",
            status.escape_debug()
        ));
    }
    Ok(Status { code })
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
];

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

pub fn check_header_name(name: &str) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(is_token_char) {
        return Err(format!(
            "invalid header name '{}': it must be an HTTP token",
            name.escape_debug()
        ));
    }
    if HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name)) {
        return Err(format!(
            "hop-by-hop header '{name}' is not allowed in a WSGI response"
        ));
    }
    Ok(())
}

pub fn check_header_value(name: &str, value: &str) -> Result<(), String> {
    if let Some(c) = value.chars().find(|&c| c == '\r' || c == '\n' || c == '\0') {
        return Err(format!(
            "header '{name}' has a value containing {:?}, which could split the response",
            c
        ));
    }
    if value.chars().any(|c| c as u32 > 0xff) {
        return Err(format!(
            "header '{name}' has a value that is not encodable as latin-1"
        ));
    }
    Ok(())
}

/// `Content-Length` as the application declared it.
pub fn parse_content_length(value: &str) -> Result<u64, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid Content-Length '{}'", value.escape_debug()));
    }
    trimmed
        .parse()
        .map_err(|_| format!("invalid Content-Length '{}'", value.escape_debug()))
}

/// Latin-1 bytes of a string already checked to be latin-1.
pub fn latin1_bytes(s: &str) -> Vec<u8> {
    s.chars().map(|c| c as u32 as u8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_statuses() {
        assert_eq!(parse_status("200 OK").unwrap().code, 200);
        assert_eq!(parse_status("404 Not Found").unwrap().code, 404);
        assert_eq!(parse_status("299 Caf\u{e9}").unwrap().code, 299);
    }

    #[test]
    fn bad_statuses() {
        for bad in [
            "200",
            "200OK",
            "20 OK",
            "abc OK",
            "099 Low",
            "200 OK\r\nX: y",
            "200 \u{1}",
            "200 \u{20ac}",
            "",
        ] {
            assert!(parse_status(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn header_names() {
        assert!(check_header_name("Content-Type").is_ok());
        assert!(check_header_name("X-Custom_Header").is_ok());
        for bad in ["", "Bad Name", "Bad:Name", "X\nY", "caf\u{e9}"] {
            assert!(check_header_name(bad).is_err(), "{bad:?} accepted");
        }
        for hop in [
            "Connection",
            "keep-alive",
            "Transfer-Encoding",
            "Upgrade",
            "TE",
        ] {
            assert!(
                check_header_name(hop).unwrap_err().contains("hop-by-hop"),
                "{hop}"
            );
        }
    }

    #[test]
    fn header_values() {
        assert!(check_header_value("X", "fine value\t with tab").is_ok());
        assert!(check_header_value("X", "caf\u{e9}").is_ok());
        assert!(check_header_value("X", "a\r\nSet-Cookie: x").is_err());
        assert!(check_header_value("X", "a\nb").is_err());
        assert!(check_header_value("X", "a\0b").is_err());
        assert!(check_header_value("X", "\u{20ac}").is_err());
    }

    #[test]
    fn content_length() {
        assert_eq!(parse_content_length("11").unwrap(), 11);
        assert_eq!(parse_content_length(" 0 ").unwrap(), 0);
        for bad in ["", "-1", "1.5", "12a", "99999999999999999999999"] {
            assert!(parse_content_length(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn latin1() {
        assert_eq!(latin1_bytes("caf\u{e9}"), b"caf\xe9");
    }
}
