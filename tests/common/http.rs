//! The harness's HTTP client: one request builder (`raw_request`) and one
//! response reader (`read_head`, and `read_response` on top of it), on raw
//! TCP connections, so that tests see exactly what Apache sends.

use std::io::{ErrorKind, Read};
use std::net::TcpStream;

/// Builds a raw HTTP/1.1 request. Header values are bytes, so a test can
/// send non-ASCII ones. `Host` is added unless given; `Connection: close`
/// unless `keep_alive`; `Content-Length` for a non-empty body unless the
/// headers frame it already.
pub fn raw_request(
    method: &str,
    target: &str,
    headers: &[(&str, &[u8])],
    body: &[u8],
    keep_alive: bool,
) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        out.extend_from_slice(b"Host: 127.0.0.1\r\n");
    }
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    let framed = headers.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
    });
    if !body.is_empty() && !framed {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// A request with no headers or body of its own.
pub fn simple_request(method: &str, target: &str, keep_alive: bool) -> Vec<u8> {
    raw_request(method, target, &[], b"", keep_alive)
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body ended as framed (Content-Length reached or final chunk seen);
    /// false when the connection closed early.
    pub complete: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// read(), restarted when a signal interrupts it. A socket with a receive
/// timeout (every connection here has one) is never restarted by the
/// kernel, even for SA_RESTART handlers, so EINTR reaches the caller; taking
/// it for an error made the reader see a closed connection now and then
/// under load.
fn read_some(s: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match s.read(buf) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// One line without its CRLF; None when the connection ends (or fails)
/// before any byte of it.
fn read_line(s: &mut impl Read) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match read_some(s, &mut byte) {
            Ok(0) | Err(_) => {
                return (!line.is_empty()).then(|| String::from_utf8_lossy(&line).into_owned());
            }
            Ok(_) if byte[0] == b'\n' => {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(String::from_utf8_lossy(&line).into_owned());
            }
            Ok(_) => line.push(byte[0]),
        }
    }
}

/// One CRLF-terminated line from a raw connection, which must not close
/// before its end.
pub fn expect_line(s: &mut impl Read) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        assert_eq!(
            read_some(s, &mut byte).expect("read"),
            1,
            "connection closed mid-line after {line:?}"
        );
        if byte[0] == b'\n' {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return String::from_utf8_lossy(&line).into_owned();
        }
        line.push(byte[0]);
    }
}

/// One chunk of a chunked response body (empty: the final chunk).
pub fn read_chunk(s: &mut TcpStream) -> Vec<u8> {
    let size = usize::from_str_radix(expect_line(s).trim(), 16).unwrap();
    let mut data = vec![0; size];
    s.read_exact(&mut data).unwrap();
    assert_eq!(expect_line(s), "");
    data
}

/// A response's status line and headers, up to the blank line; the body,
/// if any, is left on the connection. Err when the connection ends first.
pub fn try_read_head(s: &mut impl Read) -> Result<Response, String> {
    let status_line = read_line(s).ok_or("no response (connection closed)")?;
    let mut parts = status_line.splitn(3, ' ');
    let _version = parts.next();
    let status = parts
        .next()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let reason = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let line = read_line(s)
            .ok_or_else(|| format!("connection closed in the head after {headers:?}"))?;
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    Ok(Response {
        status,
        reason,
        headers,
        body: Vec::new(),
        complete: true,
    })
}

/// The head of a response (for HEAD, or to read the body piece by piece).
pub fn read_head(s: &mut impl Read) -> Response {
    try_read_head(s).unwrap_or_else(|e| panic!("{e}"))
}

/// One HTTP/1.1 response (status, headers, body by its framing); Err when
/// its head does not come whole.
pub fn try_read_response(s: &mut impl Read) -> Result<Response, String> {
    let mut resp = try_read_head(s)?;
    let status = resp.status;
    let chunked = resp
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let length: Option<usize> = resp.header("content-length").and_then(|v| v.parse().ok());
    resp.complete = false;
    if status == 304 || status == 204 || (100..200).contains(&status) {
        resp.complete = true;
    } else if chunked {
        while let Some(size_line) = read_line(s) {
            let size =
                usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16).unwrap_or(0);
            if size == 0 {
                // Trailers, up to the blank line.
                while let Some(l) = read_line(s) {
                    if l.is_empty() {
                        break;
                    }
                }
                resp.complete = true;
                break;
            }
            let mut chunk = vec![0; size];
            if s.read_exact(&mut chunk).is_err() {
                break;
            }
            resp.body.extend_from_slice(&chunk);
            let _ = read_line(s);
        }
    } else if let Some(n) = length {
        let mut body = vec![0; n];
        let mut got = 0;
        while got < n {
            match read_some(s, &mut body[got..]) {
                Ok(0) | Err(_) => break,
                Ok(k) => got += k,
            }
        }
        body.truncate(got);
        resp.complete = got == n;
        resp.body = body;
    } else {
        let _ = s.read_to_end(&mut resp.body);
        resp.complete = true;
    }
    Ok(resp)
}

/// One HTTP/1.1 response; panics when none comes.
pub fn read_response(s: &mut impl Read) -> Response {
    try_read_response(s).unwrap_or_else(|e| panic!("{e}"))
}
