//! How request headers become CGI variables: the names (cgi.rs, with
//! Apache's and mod_wsgi's anti-spoofing rules), the client addresses
//! forwarded by proxies (proxy/, `WSGITrustedProxyHeaders` and
//! `WSGITrustedProxies`), and the application group a request's variables
//! select. The input is text, a line each:
//!
//! ```text
//! REMOTE_ADDR
//! WSGITrustedProxies' words (empty: none configured)
//! WSGITrustedProxyHeaders' words
//! Name: value        (request headers, any number)
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use wsgi::cgi::{HeaderVariable, header_variable};
use wsgi::config::{GroupContext, expand_application_group};
use wsgi::proxy::{
    ProxyRequest, apply_proxy_headers, parse_client_ip, parse_trusted_proxies,
    parse_trusted_proxy_headers,
};

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let remote_addr = lines.next().unwrap_or_default();
    let proxies = words(lines.next().unwrap_or_default());
    let trusted = words(lines.next().unwrap_or_default());
    let headers: Vec<(&[u8], &[u8])> = lines
        .map(|line| match line.iter().position(|&b| b == b':') {
            Some(colon) => (&line[..colon], line[colon + 1..].trim_ascii()),
            None => (line, &b""[..]),
        })
        .collect();

    check_address(remote_addr);
    let mut variables: Vec<(Vec<u8>, &[u8])> = Vec::new();
    let mut key = Vec::new();
    for &(name, value) in &headers {
        check_address(value);
        match header_variable(name, &mut key) {
            HeaderVariable::Plain(variable) => {
                assert!(variable == "CONTENT_TYPE" || variable == "CONTENT_LENGTH");
                variables.push((variable.as_bytes().to_vec(), value));
            }
            kind @ (HeaderVariable::Prefixed | HeaderVariable::Authorization) => {
                // Only letters, digits and '-' make a variable, so that no
                // two header spellings can produce the same one save by case.
                assert!(key.starts_with(b"HTTP_") && key.len() > 5);
                assert!(
                    key[5..]
                        .iter()
                        .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                );
                assert_eq!(key.len(), name.len() + 5);
                assert_eq!(
                    kind == HeaderVariable::Authorization,
                    name.eq_ignore_ascii_case(b"authorization")
                );
                variables.push((key.clone(), value));
            }
            HeaderVariable::Dropped => {
                assert!(
                    name.is_empty()
                        || name
                            .iter()
                            .any(|&b| !(b.is_ascii_alphanumeric() || b == b'-'))
                        || name.eq_ignore_ascii_case(b"proxy")
                        || name.eq_ignore_ascii_case(b"proxy-authorization")
                );
            }
        }
    }

    let subnets = parse_trusted_proxies(&proxies).ok();
    if let Ok(parsed) = parse_trusted_proxy_headers("WSGITrustedProxyHeaders", trusted) {
        let value_of = |header: &wsgi::proxy::ProxyHeader| {
            let key = header.key.to_bytes();
            variables.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
        };
        let request = ProxyRequest {
            remote_addr,
            value_of: &value_of,
        };
        let outcome = apply_proxy_headers(
            &parsed.known,
            (!proxies.is_empty()).then_some(()).and(subnets.as_deref()),
            &request,
        );
        outcome.visit_set(&mut |k, _| assert_ne!(k, b"HTTPS"));
        assert_eq!(outcome.https(), outcome.get(b"HTTPS").map(|v| v.is_some()));
    }

    // %{ENV:...} application groups read the request's variables.
    let text = String::from_utf8_lossy(remote_addr);
    let env = |name: &str| {
        variables
            .iter()
            .find(|(k, _)| k == name.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    let context = GroupContext {
        server_hostname: "example.com",
        requested_host: &text,
        server_port: 8080,
        script_name: "/app",
        env: &env,
    };
    let _ = expand_application_group(Some(&text), &context);
});

fn words(line: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(line)
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect()
}

/// A forwarded address reads as getaddrinfo reads a numeric host: what the
/// standard library accepts as an address, it reads the same.
fn check_address(text: &[u8]) {
    let parsed = parse_client_ip(text);
    if let Ok(text) = std::str::from_utf8(text) {
        if let Ok(v4) = text.parse::<Ipv4Addr>() {
            assert_eq!(parsed, Some(IpAddr::V4(v4)), "{text}");
        }
        if let Ok(v6) = text.parse::<Ipv6Addr>() {
            assert_eq!(parsed, Some(IpAddr::V6(v6)), "{text}");
        }
    }
}
