//! What tests/auth_scripts.rs and tests/auth_scripts_django.rs share: the
//! Apache modules of its authentication framework, and clients for basic
//! and digest authentication.
#![allow(dead_code)]

use crate::common::*;

pub const MODULES: &[&str] = &["authn_core", "auth_basic", "auth_digest", "authz_user"];

pub fn preamble() -> String {
    let m = apache_modules_dir();
    MODULES
        .iter()
        .map(|name| format!("LoadModule {name}_module {}/mod_{name}.so\n", m.display()))
        .collect()
}

pub fn base64(data: &[u8]) -> String {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// GETs `path` with basic credentials.
pub fn basic(server: &Server, path: &str, user: &str, password: &str) -> Response {
    let credentials = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
    server.request("GET", path, &[("Authorization", &credentials)], b"")
}

pub fn md5_hex(text: &str) -> String {
    let out = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import hashlib, sys; print(hashlib.md5(sys.argv[1].encode()).hexdigest())",
            text,
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `name="value"` from a WWW-Authenticate header.
pub fn parameter(header: &str, name: &str) -> String {
    let start = header
        .find(&format!("{name}=\""))
        .unwrap_or_else(|| panic!("no {name} in {header}"))
        + name.len()
        + 2;
    header[start..][..header[start..].find('"').unwrap()].to_owned()
}

/// GETs `path` with digest credentials (RFC 2617, qop=auth), answering
/// the challenge of a first, unauthenticated GET.
pub fn digest(server: &Server, path: &str, user: &str, password: &str) -> Response {
    let challenge = server.get(path);
    assert_eq!(challenge.status, 401, "{}", challenge.text());
    let header = challenge.header("www-authenticate").unwrap().to_owned();
    assert!(header.starts_with("Digest "), "{header}");
    let (realm, nonce) = (parameter(&header, "realm"), parameter(&header, "nonce"));
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex(&format!("GET:{path}"));
    let (nc, cnonce) = ("00000001", "0a4f113b");
    let response = md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
    let credentials = format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{path}\", \
         algorithm=MD5, response=\"{response}\", qop=auth, nc={nc}, cnonce=\"{cnonce}\""
    );
    server.request("GET", path, &[("Authorization", &credentials)], b"")
}

pub fn protected(location: &str, kind: &str, lines: &str) -> String {
    format!(
        "<Location {location}>\n  AuthType {kind}\n  AuthName \"{location}\"\n{lines}</Location>\n"
    )
}
