//! CGI variable names for request headers, with the spoofing rules of
//! Apache 2.4 and mod_wsgi.

/// What a request header becomes in environ.
#[derive(Debug, PartialEq, Eq)]
pub enum HeaderVariable {
    /// `CONTENT_TYPE` or `CONTENT_LENGTH`, without the `HTTP_` prefix.
    Plain(&'static str),
    /// `HTTP_` + the name, upper-cased, with `-` as `_` (written to the buffer).
    Prefixed,
    /// Credentials: passed only with `WSGIPassAuthorization On`.
    Authorization,
    /// Never passed: `Proxy` (httpoxy), `Proxy-Authorization`, and names with
    /// characters other than letters, digits and `-` (an `_` could spoof a
    /// dashed header once mapped).
    Dropped,
}

/// Classifies `name`; for [`HeaderVariable::Prefixed`] and
/// [`HeaderVariable::Authorization`] the variable name is left in `key`.
pub fn header_variable(name: &[u8], key: &mut Vec<u8>) -> HeaderVariable {
    if name.eq_ignore_ascii_case(b"content-type") {
        return HeaderVariable::Plain("CONTENT_TYPE");
    }
    if name.eq_ignore_ascii_case(b"content-length") {
        return HeaderVariable::Plain("CONTENT_LENGTH");
    }
    if name.eq_ignore_ascii_case(b"proxy") || name.eq_ignore_ascii_case(b"proxy-authorization") {
        return HeaderVariable::Dropped;
    }
    if name.is_empty() || !name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-') {
        return HeaderVariable::Dropped;
    }
    key.clear();
    key.extend_from_slice(b"HTTP_");
    key.extend(name.iter().map(|&b| {
        if b == b'-' {
            b'_'
        } else {
            b.to_ascii_uppercase()
        }
    }));
    if name.eq_ignore_ascii_case(b"authorization") {
        HeaderVariable::Authorization
    } else {
        HeaderVariable::Prefixed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(name: &str) -> (HeaderVariable, String) {
        let mut key = Vec::new();
        let kind = header_variable(name.as_bytes(), &mut key);
        (kind, String::from_utf8(key).unwrap())
    }

    #[test]
    fn ordinary_headers_get_the_prefix() {
        assert_eq!(
            key_of("User-Agent"),
            (HeaderVariable::Prefixed, "HTTP_USER_AGENT".into())
        );
        assert_eq!(
            key_of("x-forwarded-for"),
            (HeaderVariable::Prefixed, "HTTP_X_FORWARDED_FOR".into())
        );
    }

    #[test]
    fn content_headers_do_not() {
        assert_eq!(
            key_of("Content-Type").0,
            HeaderVariable::Plain("CONTENT_TYPE")
        );
        assert_eq!(
            key_of("content-length").0,
            HeaderVariable::Plain("CONTENT_LENGTH")
        );
    }

    #[test]
    fn underscores_and_odd_characters_are_dropped() {
        assert_eq!(key_of("X_Forwarded_For").0, HeaderVariable::Dropped);
        assert_eq!(key_of("X.Dot").0, HeaderVariable::Dropped);
        assert_eq!(key_of("").0, HeaderVariable::Dropped);
    }

    #[test]
    fn proxy_headers_are_dropped_and_authorization_is_marked() {
        assert_eq!(key_of("Proxy").0, HeaderVariable::Dropped);
        assert_eq!(key_of("Proxy-Authorization").0, HeaderVariable::Dropped);
        assert_eq!(
            key_of("Authorization"),
            (HeaderVariable::Authorization, "HTTP_AUTHORIZATION".into())
        );
    }
}
