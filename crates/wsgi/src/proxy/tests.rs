use std::net::IpAddr;

use super::*;

fn headers(names: &str) -> Vec<&'static ProxyHeader> {
    let words = names.split_whitespace().map(str::to_owned).collect();
    let parsed = parse_trusted_proxy_headers("WSGITrustedProxyHeaders", words).unwrap();
    assert!(parsed.unknown.is_empty(), "{:?}", parsed.unknown);
    parsed.known
}

fn proxies(words: &str) -> Vec<Subnet> {
    let words: Vec<String> = words.split_whitespace().map(str::to_owned).collect();
    parse_trusted_proxies(&words).unwrap()
}

/// Runs the rules over a request from `peer` with `sent` headers.
fn run(names: &str, trusted: Option<&str>, peer: &str, sent: &[(&str, &str)]) -> ProxyOutcome {
    let headers = headers(names);
    let subnets = trusted.map(proxies);
    let value_of = |h: &ProxyHeader| {
        sent.iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(h.header.to_bytes()))
            .map(|(_, v)| v.as_bytes())
    };
    apply_proxy_headers(
        &headers,
        subnets.as_deref(),
        &ProxyRequest {
            remote_addr: peer.as_bytes(),
            value_of: &value_of,
        },
    )
}

fn text(outcome: &ProxyOutcome, key: &str) -> Option<Option<String>> {
    outcome
        .get(key.as_bytes())
        .map(|v| v.map(|v| String::from_utf8(v.to_vec()).unwrap()))
}

fn set(value: &str) -> Option<Option<String>> {
    Some(Some(value.to_owned()))
}

const REMOVED: Option<Option<String>> = Some(None);

#[test]
fn header_names_match_as_mod_wsgi_maps_them() {
    let parsed = parse_trusted_proxy_headers(
        "WSGITrustedProxyHeaders",
        vec![
            "x-forwarded-for".into(),
            "X-FORWARDED-PROTO".into(),
            "X-Custom".into(),
        ],
    )
    .unwrap();
    assert_eq!(parsed.known.len(), 2);
    assert_eq!(parsed.known[0].key_str(), "HTTP_X_FORWARDED_FOR");
    assert_eq!(parsed.known[1].key_str(), "HTTP_X_FORWARDED_PROTO");
    assert_eq!(parsed.unknown, ["X-Custom"]);
    let err =
        parse_trusted_proxy_headers("WSGITrustedProxyHeaders", vec!["X_Forwarded_For".into()])
            .unwrap_err();
    assert!(
        err.contains("'X_Forwarded_For' is not a request header name"),
        "{err}"
    );
}

#[test]
fn without_trusted_proxies_the_first_forwarded_address_is_the_client() {
    let o = run(
        "X-Forwarded-For",
        None,
        "127.0.0.1",
        &[("X-Forwarded-For", " , 1.2.3.4, 5.6.7.8")],
    );
    assert_eq!(text(&o, "REMOTE_ADDR"), set("1.2.3.4"));
    // The header itself is left as sent; its synonyms are removed.
    assert_eq!(text(&o, "HTTP_X_FORWARDED_FOR"), None);
    assert_eq!(text(&o, "HTTP_X_REAL_IP"), REMOVED);
    assert_eq!(text(&o, "HTTP_X_CLIENT_IP"), REMOVED);
}

#[test]
fn trusted_proxies_are_skipped_from_the_end() {
    let sent = [("X-Forwarded-For", "9.9.9.9, 1.2.3.4, 10.0.0.2, 10.0.0.1")];
    let o = run(
        "X-Forwarded-For",
        Some("10.0.0.0/8 127.0.0.1"),
        "127.0.0.1",
        &sent,
    );
    assert_eq!(text(&o, "REMOTE_ADDR"), set("1.2.3.4"));
    assert_eq!(
        text(&o, "HTTP_X_FORWARDED_FOR"),
        set("1.2.3.4, 10.0.0.2, 10.0.0.1")
    );
    // The last one untrusted: it is the client, and all the header keeps.
    let sent = [("X-Forwarded-For", "10.0.0.2, 1.2.3.4")];
    let o = run(
        "X-Forwarded-For",
        Some("10.0.0.0/8 127.0.0.1"),
        "127.0.0.1",
        &sent,
    );
    assert_eq!(text(&o, "REMOTE_ADDR"), set("1.2.3.4"));
    assert_eq!(text(&o, "HTTP_X_FORWARDED_FOR"), set("1.2.3.4"));
    // All trusted: the first is taken.
    let sent = [("X-Forwarded-For", "10.0.0.3,10.0.0.2")];
    let o = run(
        "X-Forwarded-For",
        Some("10.0.0.0/8 127.0.0.1"),
        "127.0.0.1",
        &sent,
    );
    assert_eq!(text(&o, "REMOTE_ADDR"), set("10.0.0.3"));
    assert_eq!(text(&o, "HTTP_X_FORWARDED_FOR"), set("10.0.0.3, 10.0.0.2"));
}

#[test]
fn a_name_in_the_list_stops_the_walk_with_a_note() {
    let sent = [("X-Forwarded-For", "1.2.3.4, proxy.example, 10.0.0.1")];
    let o = run(
        "X-Forwarded-For",
        Some("10.0.0.0/8 127.0.0.1"),
        "127.0.0.1",
        &sent,
    );
    assert_eq!(text(&o, "REMOTE_ADDR"), set("proxy.example"));
    assert_eq!(
        text(&o, "HTTP_X_FORWARDED_FOR"),
        set("proxy.example, 10.0.0.1")
    );
    assert_eq!(
        o.notes,
        ["Forwarded IP of \"proxy.example\" is not a valid IP address."]
    );
}

#[test]
fn an_untrusted_peer_changes_nothing_and_loses_the_category() {
    let sent = [
        ("X-Forwarded-For", "1.2.3.4"),
        ("X-Real-IP", "5.6.7.8"),
        ("X-Forwarded-Proto", "https"),
    ];
    let o = run("X-Forwarded-For", Some("10.0.0.1"), "127.0.0.1", &sent);
    assert_eq!(text(&o, "REMOTE_ADDR"), None);
    assert_eq!(text(&o, "HTTP_X_FORWARDED_FOR"), REMOVED);
    assert_eq!(text(&o, "HTTP_X_REAL_IP"), REMOVED);
    // A category not named is left alone.
    assert_eq!(text(&o, "HTTP_X_FORWARDED_PROTO"), None);
    assert_eq!(o.https(), None);
}

#[test]
fn the_last_applied_synonym_wins_and_survives() {
    let sent = [("X-Real-IP", "5.6.7.8"), ("X-Client-IP", "1.1.1.1")];
    let o = run(
        "X-Client-IP X-Real-IP X-Forwarded-For",
        None,
        "127.0.0.1",
        &sent,
    );
    assert_eq!(text(&o, "REMOTE_ADDR"), set("5.6.7.8"));
    assert_eq!(text(&o, "HTTP_X_REAL_IP"), None);
    assert_eq!(text(&o, "HTTP_X_CLIENT_IP"), REMOVED);
    assert_eq!(text(&o, "HTTP_X_FORWARDED_FOR"), REMOVED);
}

#[test]
fn host_server_port_and_script_name() {
    let sent = [
        ("X-Forwarded-Host", "example.com:8443"),
        ("X-Host", "spoofed"),
        ("X-Forwarded-Server", "front"),
        ("X-Forwarded-Port", "8443"),
        ("X-Script-Name", "/mount"),
    ];
    let o = run(
        "X-Forwarded-Host X-Forwarded-Server X-Forwarded-Port X-Script-Name",
        None,
        "127.0.0.1",
        &sent,
    );
    assert_eq!(text(&o, "HTTP_HOST"), set("example.com:8443"));
    assert_eq!(text(&o, "HTTP_X_HOST"), REMOVED);
    assert_eq!(text(&o, "SERVER_NAME"), set("front"));
    assert_eq!(text(&o, "SERVER_PORT"), set("8443"));
    assert_eq!(text(&o, "SCRIPT_NAME"), set("/mount"));
    assert_eq!(text(&o, "mod_wsgi.mount_point"), set("/mount"));
    assert_eq!(text(&o, "HTTP_X_FORWARDED_SCRIPT_NAME"), REMOVED);
}

#[test]
fn scheme_headers() {
    let https = |names: &str, header: &str, value: &str| {
        run(names, None, "127.0.0.1", &[(header, value)]).https()
    };
    assert_eq!(
        https("X-Forwarded-Proto", "X-Forwarded-Proto", "HTTPS"),
        Some(true)
    );
    assert_eq!(
        https("X-Forwarded-Proto", "X-Forwarded-Proto", "http"),
        Some(false)
    );
    assert_eq!(https("X-Forwarded-Proto", "X-Forwarded-Proto", "ftp"), None);
    assert_eq!(
        https("X-Forwarded-Scheme", "X-Forwarded-Scheme", "https"),
        Some(true)
    );
    assert_eq!(https("X-Scheme", "X-Scheme", "https"), Some(true));
    assert_eq!(
        https("X-Forwarded-HTTPS", "X-Forwarded-HTTPS", "on"),
        Some(true)
    );
    assert_eq!(
        https("X-Forwarded-SSL", "X-Forwarded-SSL", "true"),
        Some(true)
    );
    assert_eq!(
        https("X-Forwarded-SSL", "X-Forwarded-SSL", "0"),
        Some(false)
    );
    assert_eq!(https("X-HTTPS", "X-HTTPS", "1"), Some(true));
    // Named but not sent: nothing decided, and every synonym removed.
    let o = run(
        "X-Forwarded-Proto",
        None,
        "127.0.0.1",
        &[("X-Scheme", "https")],
    );
    assert_eq!(o.https(), None);
    assert_eq!(text(&o, "HTTP_X_SCHEME"), REMOVED);
    assert_eq!(text(&o, "HTTP_X_FORWARDED_SSL"), REMOVED);
}

#[test]
fn visit_set_leaves_https_and_removed_keys_out() {
    let sent = [("X-Forwarded-Proto", "https"), ("X-Real-IP", "5.6.7.8")];
    let o = run("X-Forwarded-Proto X-Real-IP", None, "127.0.0.1", &sent);
    let mut seen = Vec::new();
    o.visit_set(&mut |k, v| seen.push((String::from_utf8_lossy(k).into_owned(), v.to_vec())));
    assert_eq!(seen, [("REMOTE_ADDR".to_owned(), b"5.6.7.8".to_vec())]);
    assert!(o.replaces(b"HTTP_X_SCHEME"));
    assert!(!o.replaces(b"HTTP_X_FORWARDED_PROTO"));
}

fn subnet(word: &str) -> Subnet {
    parse_trusted_proxy(word).unwrap_or_else(|e| panic!("{word}: {e}"))
}

fn ip(text: &str) -> IpAddr {
    parse_client_ip(text.as_bytes()).unwrap_or_else(|| panic!("{text}"))
}

#[test]
fn subnets_in_apr_forms() {
    assert!(subnet("10.0.0.1").contains(ip("10.0.0.1")));
    assert!(!subnet("10.0.0.1").contains(ip("10.0.0.2")));
    assert!(subnet("10.0.0.0/8").contains(ip("10.200.1.1")));
    assert!(
        subnet("10.9.9.9/8").contains(ip("10.200.1.1")),
        "host bits cleared"
    );
    assert!(subnet("10.1.0.0/255.255.0.0").contains(ip("10.1.7.7")));
    assert!(!subnet("10.1.0.0/255.255.0.0").contains(ip("10.2.7.7")));
    assert!(
        subnet("10.1").contains(ip("10.1.7.7")),
        "legacy network form"
    );
    assert!(subnet("10.1.").contains(ip("10.1.7.7")));
    assert!(!subnet("10.1").contains(ip("10.2.7.7")));
    assert!(subnet("2001:db8::/32").contains(ip("2001:db8:1::5")));
    assert!(!subnet("2001:db8::/32").contains(ip("2001:db9::5")));
    assert!(subnet("::1").contains(ip("::1")));
    // An IPv4 subnet holds the mapped form; an IPv6 one never does.
    assert!(subnet("127.0.0.0/8").contains(ip("::ffff:127.0.0.1")));
    assert!(!subnet("::/1").contains(ip("::ffff:1.2.3.4")));
    assert!(!subnet("::1").contains(ip("127.0.0.1")));
}

#[test]
fn bad_subnets_are_refused_with_aprs_reason() {
    let err = |word: &str| parse_trusted_proxy(word).unwrap_err();
    assert!(
        err("proxy.example").starts_with(
            "Unable to parse trusted proxy IP address/subnet of \"proxy.example\". Give"
        )
    );
    assert!(
        err("2001:DB8::1").contains("of \"2001:DB8::1\". Give"),
        "upper case hex"
    );
    assert!(err("10.0.0.0/33").contains("The specified network mask is invalid."));
    assert!(err("10.0.0.0/0").contains("The specified network mask is invalid."));
    assert!(err("10.0.0.0/").contains("The specified network mask is invalid."));
    assert!(err("2001:db8::/129").contains("The specified network mask is invalid."));
    assert!(err("10.1/8").contains("The specified IP address is invalid."));
    assert!(err("256.1.1.1").contains("The specified IP address is invalid."));
    assert!(err("1.2.3.4.5").contains("The specified IP address is invalid."));
    assert!(err("10..1").contains("The specified IP address is invalid."));
    assert!(err("/8").contains("Invalid argument"));
}

#[test]
fn client_addresses_as_getaddrinfo_reads_them() {
    assert_eq!(ip("127.1"), ip("127.0.0.1"));
    assert_eq!(ip("0x7f.0.0.1"), ip("127.0.0.1"));
    assert_eq!(ip("0177.0.0.1"), ip("127.0.0.1"));
    assert_eq!(ip("2130706433"), ip("127.0.0.1"));
    assert_eq!(ip("fe80::1%eth0"), ip("fe80::1"));
    for bad in [
        "",
        "1.2.3.4.5",
        "256.0.0.1",
        "08.0.0.1",
        "host",
        "1.2.3.4:80",
        "[::1]",
        "0x",
    ] {
        assert_eq!(parse_client_ip(bad.as_bytes()), None, "{bad}");
    }
}

#[test]
fn an_unparsable_peer_is_not_trusted() {
    let o = run(
        "X-Real-IP",
        Some("10.0.0.1"),
        "nonsense",
        &[("X-Real-IP", "1.2.3.4")],
    );
    assert_eq!(text(&o, "REMOTE_ADDR"), None);
    assert_eq!(text(&o, "HTTP_X_REAL_IP"), REMOVED);
    assert_eq!(
        o.notes,
        ["REMOTE_ADDR of \"nonsense\" is not a valid IP address."]
    );
}
