//! The status and header rules (crates/wsgi/src/validate.rs) that
//! `start_response` applies in both modes and the Apache child applies
//! again to a daemon's head. The input is a Head frame's payload (the
//! corpus holds real ones); one that does not decode is taken as a bare
//! status line. The one-pass check of a forwarded head must agree with
//! the detailed checks `start_response` makes, header by header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsgi::channel::decode_head;
use wsgi::validate::{
    check_forwarded_head, check_header_name, check_header_value, is_content_length,
    parse_content_length, parse_response_content_length, parse_status, up_to_nul,
};

fuzz_target!(|data: &[u8]| {
    match decode_head(data) {
        Ok(head) => {
            check_status(&head.status_line);
            let fast = check_forwarded_head(head.status, &head.status_line, &head.headers);
            let slow = reference(head.status, &head.status_line, &head.headers);
            assert_eq!(fast.is_ok(), slow, "{fast:?}");
            for (name, value) in &head.headers {
                check_content_length(value);
                let _ = (check_header_name(name), check_header_value(value));
            }
        }
        Err(_) => {
            check_status(data);
            check_status(up_to_nul(data));
            check_content_length(data);
        }
    }
});

fn check_status(line: &[u8]) {
    if let Ok(code) = parse_status(line) {
        assert!((100..=999).contains(&code));
        assert_eq!(&line[..3], code.to_string().as_bytes());
        assert!(line.len() == 3 || line[3] == b' ');
        assert!(!line[3..].iter().any(|&b| b < 0x20 || b == 0x7f));
    }
}

/// `Content-Length`, as a response (mod_wsgi's apr_strtoff) and as a
/// request (routing's) header.
fn check_content_length(value: &[u8]) {
    if let Some(n) = parse_response_content_length(value) {
        let text = std::str::from_utf8(value).expect("digits and white space");
        let digits = text.trim_start().trim_start_matches(['+', '-']);
        assert_eq!(digits.parse::<u64>(), Ok(n));
        // An off_t, as mod_wsgi's wsgi_strtoff reads it.
        assert!(i64::try_from(n).is_ok(), "{n} is past an off_t");
    }
    if let Ok(text) = std::str::from_utf8(value)
        && let Ok(n) = parse_content_length(text)
    {
        assert_eq!(text.trim().parse::<u64>(), Ok(n));
        assert!(i64::try_from(n).is_ok(), "{n} is past an off_t");
    }
}

/// The rules of `check_forwarded_head`, spelt out with the checks that
/// `start_response` makes (a C string ends at its NUL: a NUL anywhere in a
/// forwarded head is refused, since the daemon's adapter never sends one).
fn reference(status: u16, line: &[u8], headers: &[(Vec<u8>, Vec<u8>)]) -> bool {
    if line.contains(&0) || parse_status(line) != Ok(status) {
        return false;
    }
    let mut content_length = false;
    for (name, value) in headers {
        if name.contains(&0) || value.contains(&0) {
            return false;
        }
        if check_header_name(name).is_err() || check_header_value(value).is_err() {
            return false;
        }
        if is_content_length(name) {
            if content_length || parse_response_content_length(value).is_none() {
                return false;
            }
            content_length = true;
        }
    }
    true
}
