//! URL-to-script matching for `WSGIScriptAlias`, with mod_alias's rules.

/// Returns how many bytes of `uri` the alias `location` matches, or `None`.
///
/// As in mod_alias (and so mod_wsgi): any run of `/` in the alias matches any
/// non-empty run of `/` in the URI, other bytes compare literally, and the
/// match must end at a path-segment boundary. The count can exceed the
/// alias's length when the URI has doubled slashes.
pub fn alias_matches(uri: &str, location: &str) -> Option<usize> {
    let uri = uri.as_bytes();
    let alias = location.as_bytes();
    let (mut a, mut u) = (0, 0);
    while a < alias.len() {
        if alias[a] == b'/' {
            if uri.get(u) != Some(&b'/') {
                return None;
            }
            while alias.get(a) == Some(&b'/') {
                a += 1;
            }
            while uri.get(u) == Some(&b'/') {
                u += 1;
            }
        } else {
            if uri.get(u) != Some(&alias[a]) {
                return None;
            }
            a += 1;
            u += 1;
        }
    }
    let alias_ends_in_slash = alias.last() == Some(&b'/');
    if !alias_ends_in_slash && u < uri.len() && uri[u] != b'/' {
        return None;
    }
    if u == 0 { None } else { Some(u) }
}

/// The file Apache should map the request to: the script followed by the
/// rest of the URI, so that Apache's own directory walk splits off PATH_INFO.
/// An alias of `/` keeps the whole URI, as mod_wsgi does.
pub fn mapped_filename(script: &str, location: &str, uri: &str, matched: usize) -> String {
    if location == "/" {
        format!("{script}{uri}")
    } else {
        format!("{script}{}", &uri[matched..])
    }
}

/// Collapses runs of `/` into one, as mod_wsgi does for SCRIPT_NAME and
/// PATH_INFO because some applications mishandle doubled slashes. Works on
/// bytes: a decoded path need not be UTF-8.
pub fn collapse_slashes(path: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !path.windows(2).any(|w| w == b"//") {
        return std::borrow::Cow::Borrowed(path);
    }
    let mut out = Vec::with_capacity(path.len());
    for &b in path {
        if !(b == b'/' && out.last() == Some(&b'/')) {
            out.push(b);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_matches_at_segment_boundaries() {
        assert_eq!(alias_matches("/app", "/app"), Some(4));
        assert_eq!(alias_matches("/app/x/y", "/app"), Some(4));
        assert_eq!(alias_matches("/application", "/app"), None);
        assert_eq!(alias_matches("/ap", "/app"), None);
        assert_eq!(alias_matches("/other", "/app"), None);
    }

    #[test]
    fn root_alias_matches_everything() {
        assert_eq!(alias_matches("/", "/"), Some(1));
        assert_eq!(alias_matches("/anything/here", "/"), Some(1));
    }

    #[test]
    fn doubled_slashes_match_single_ones() {
        assert_eq!(
            alias_matches("//app//x", "/app"),
            Some(5),
            "//app is five bytes"
        );
        assert_eq!(alias_matches("/a//b/c", "/a/b"), Some(5));
    }

    #[test]
    fn alias_with_trailing_slash_needs_the_slash() {
        assert_eq!(alias_matches("/app/", "/app/"), Some(5));
        assert_eq!(alias_matches("/app", "/app/"), None);
    }

    #[test]
    fn filename_keeps_remainder_for_apache_to_split() {
        assert_eq!(
            mapped_filename("/srv/a.wsgi", "/app", "/app/x/y", 4),
            "/srv/a.wsgi/x/y"
        );
        assert_eq!(
            mapped_filename("/srv/a.wsgi", "/app", "/app", 4),
            "/srv/a.wsgi"
        );
        assert_eq!(
            mapped_filename("/srv/a.wsgi", "/", "/x", 1),
            "/srv/a.wsgi/x"
        );
    }

    #[test]
    fn slashes_collapse() {
        assert_eq!(&*collapse_slashes(b"/a//b///c"), b"/a/b/c");
        assert_eq!(&*collapse_slashes(b"//\xff//"), b"/\xff/");
        assert!(matches!(
            collapse_slashes(b"/a/b"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
