//! `header-buffer-size`: mod_wsgi's Apache child reads a daemon's response
//! head line by line (`Status: 200 OK`, then `Name: value` per header) into
//! a buffer of that size (default 32768), and answers 500 for a line that
//! does not fit. The head travels here as one frame, so the child applies
//! the same limit to the lines mod_wsgi's daemon would have written.

use crate::adapter::ResponseHead;

/// A line of the head that does not fit: what it is, and its length.
#[derive(Debug, PartialEq, Eq)]
pub struct OverlongLine {
    /// `Status`, or the header's name.
    pub name: String,
    /// The line's length without its CRLF.
    pub length: usize,
}

/// The first line of `head` that mod_wsgi's `wsgi_read_header_line` would
/// truncate with a buffer of `buffer` bytes. It keeps a byte for the NUL
/// and stops as soon as the rest is full, before it could see the line's
/// end: a line of L bytes (CR and LF not counted) fits when L + 2 <= buffer.
pub fn overlong_line(head: &ResponseHead, buffer: usize) -> Option<OverlongLine> {
    let limit = buffer.saturating_sub(2);
    let status = "Status: ".len() + head.status_line.len();
    if status > limit {
        return Some(OverlongLine {
            name: "Status".to_owned(),
            length: status,
        });
    }
    head.headers.iter().find_map(|(name, value)| {
        let length = name.len() + 2 + value.len();
        (length > limit).then(|| OverlongLine {
            name: String::from_utf8_lossy(name).into_owned(),
            length,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(status_line: &str, headers: &[(&str, usize)]) -> ResponseHead {
        ResponseHead {
            status: 200,
            status_line: status_line.as_bytes().to_vec(),
            headers: headers
                .iter()
                .map(|(n, len)| (n.as_bytes().to_vec(), vec![b'x'; *len]))
                .collect(),
        }
    }

    #[test]
    fn a_line_fits_with_two_bytes_to_spare_as_in_mod_wsgi() {
        // "X-Big: " is 7 bytes: 8183 + 7 = 8190 = 8192 - 2 fits, one more does not.
        assert_eq!(
            overlong_line(&head("200 OK", &[("X-Big", 8183)]), 8192),
            None
        );
        assert_eq!(
            overlong_line(&head("200 OK", &[("A", 1), ("X-Big", 8184)]), 8192),
            Some(OverlongLine {
                name: "X-Big".to_owned(),
                length: 8191
            })
        );
        assert_eq!(
            overlong_line(&head("200 OK", &[("X-Big", 30000)]), 32768),
            None
        );
    }

    #[test]
    fn the_status_line_counts_too() {
        let long = format!("200 {}", "y".repeat(8200));
        let line = overlong_line(&head(&long, &[]), 8192).unwrap();
        assert_eq!(line.name, "Status");
        assert_eq!(line.length, 8 + long.len());
    }
}
