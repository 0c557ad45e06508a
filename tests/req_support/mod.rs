//! Helpers shared by the request-side and configuration tests (environ.rs,
//! input.rs, config.rs): requests on kept-alive connections, the
//! environ dump of tests/apps/req_environ.wsgi, and error-log checks.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;

use crate::common::{Response, Server, read_response};

/// Sends one request on an open (kept-alive) connection and reads the response.
pub fn exchange(stream: &mut TcpStream, request: &[u8]) -> Response {
    stream.write_all(request).unwrap();
    read_response(stream)
}

/// A body in HTTP/1.1 chunked framing, cut into pieces of the given sizes
/// (the last piece takes the rest).
pub fn chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut sizes = sizes.iter().copied();
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(rest.len()).min(rest.len()).max(1);
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// CRC-32 (IEEE), the same as Python's `zlib.crc32`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A deterministic, non-repeating-looking body of `len` bytes.
pub fn pattern(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// The environ as tests/apps/req_environ.wsgi reports it: each key with the
/// Python `ascii()` of its value (so `'GET'`, `True`, `(1, 0)`).
#[derive(Debug)]
pub struct Environ {
    pub vars: BTreeMap<String, String>,
}

impl Environ {
    pub fn parse(response: &Response) -> Environ {
        assert_eq!(
            response.status,
            200,
            "environ request failed: {}",
            response.text()
        );
        let vars = response
            .text()
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Environ { vars }
    }

    /// The value's `ascii()` text, or panics naming the missing key.
    pub fn get(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("environ has no {key}: {:#?}", self.vars))
    }

    pub fn has(&self, key: &str) -> bool {
        self.vars.contains_key(key)
    }

    /// Asserts that `key` is the Python str `value` (plain ASCII, no quotes in it).
    pub fn assert_str(&self, key: &str, value: &str) {
        assert_eq!(self.get(key), format!("'{value}'"), "environ[{key:?}]");
    }
}

/// The error-log lines that carry message `id`.
pub fn lines_with<'a>(log: &'a str, id: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(id)).collect()
}

/// Waits for a line with message `id` and checks it has the module's shape:
/// `mod_wsgi_rs (pid=N, script='...<script>...'): <id>: ...`. Returns the line.
pub fn assert_logged(server: &Server, id: &str, script: &str) -> String {
    let log = server.wait_for_log(id, std::time::Duration::from_secs(10));
    let line = lines_with(&log, id)
        .into_iter()
        .find(|l| l.contains(script))
        .unwrap_or_else(|| panic!("no {id} line names {script:?}:\n{log}"));
    assert!(line.contains("mod_wsgi_rs (pid="), "{line}");
    assert!(line.contains("script='"), "{line}");
    assert!(line.contains(&format!("): {id}: ")), "{line}");
    line.to_owned()
}

/// Every line the module wrote with a message id names the module and pid.
pub fn assert_id_lines_well_formed(log: &str) {
    for line in log.lines().filter(|l| l.contains(": WSGIRS")) {
        assert!(line.contains("mod_wsgi_rs (pid="), "malformed line: {line}");
    }
}
