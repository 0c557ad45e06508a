//! Writes the seed corpus of the channel and head targets with the
//! module's own encoders, so that the seeds are the frames a real Apache
//! child and daemon exchange (the CGI variables are those Apache sets for
//! the requests below). The directive, option and CGI seeds are text and
//! are kept in corpus/ as they are. Run from fuzz/:
//!     cargo run --release --example write_seeds
//! (The fuzzer adds its own finds beside these; scripts/fuzz.sh keeps
//! them out of the repository.)

use std::fs;
use std::path::Path;
use wsgi::adapter::{Outcome, ResponseHead};
use wsgi::channel::{
    EndFrame, Hello, Kind, RequestFrame, SECRET_LEN, Writer, encode_head, push_frame,
};
use wsgi::request::{RequestMeta, RequestTimes, ScriptReloading};

const SECRET: [u8; SECRET_LEN] = [0x5a; SECRET_LEN];

fn main() {
    let corpus = Path::new("corpus");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = corpus.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    };

    // Apache child -> daemon.
    let get = request(false, "GET", "/app/hello", b"", None);
    let post = request(
        true,
        "POST",
        "/app/upload?x=1",
        b"application/x-www-form-urlencoded",
        Some(11),
    );
    let mut hello = Vec::new();
    Hello::encode_proving(&mut hello, 4242, &SECRET);
    let mut stream = hello.clone();
    stream.extend_from_slice(&get);
    write("channel_to_daemon", "get", &stream);
    let mut stream = hello.clone();
    stream.extend_from_slice(&post);
    push_frame(&mut stream, Kind::Body, b"hello=world");
    push_frame(&mut stream, Kind::Body, b"");
    write("channel_to_daemon", "post", &stream);
    let mut stream = hello.clone();
    stream.extend_from_slice(&post);
    push_frame(&mut stream, Kind::BodyError, b"Connection reset by peer");
    write("channel_to_daemon", "body-error", &stream);
    let mut unproven = Vec::new();
    Hello::encode(&mut unproven, 4243);
    unproven.extend_from_slice(&get);
    write("channel_to_daemon", "unproven", &unproven);
    let mut old = Vec::new();
    let mut w = Writer::begin(&mut old, Kind::Hello);
    w.bytes(b"WSGIRS").u16(4).u32(1);
    w.finish();
    write("channel_to_daemon", "old-version", &old);
    write(
        "channel_to_daemon",
        "http",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    );

    // Daemon -> Apache child.
    let mut daemon_hello = Vec::new();
    Hello::encode(&mut daemon_hello, 5151);
    let ok = head(
        200,
        "200 OK",
        &[("Content-Type", "text/plain"), ("Content-Length", "12")],
    );
    let mut stream = daemon_hello.clone();
    stream.extend_from_slice(&encoded_head(&ok));
    push_frame(&mut stream, Kind::Data, b"Hello world!");
    EndFrame::encode(&mut stream, Outcome::Complete);
    write("channel_to_child", "hello-world", &stream);
    let mut stream = daemon_hello.clone();
    let mut w = Writer::begin(&mut stream, Kind::Read);
    w.u32(65536);
    w.finish();
    let created = head(
        201,
        "201 Created",
        &[("Location", "/app/1"), ("Set-Cookie", "a=b; HttpOnly")],
    );
    stream.extend_from_slice(&encoded_head(&created));
    push_frame(&mut stream, Kind::DataFlush, b"chunk one");
    push_frame(&mut stream, Kind::DataFlush, b"chunk two");
    EndFrame::encode(&mut stream, Outcome::ErrorOverride(503));
    write("channel_to_child", "upload-stream", &stream);
    let mut stream = daemon_hello.clone();
    stream.extend_from_slice(&encoded_head(&head(
        200,
        "200 OK",
        &[("Content-Type", "application/pdf")],
    )));
    let mut w = Writer::begin(&mut stream, Kind::File);
    w.u64(0).u64(1 << 20);
    w.finish();
    EndFrame::encode(&mut stream, Outcome::Truncated);
    write("channel_to_child", "file", &stream);
    let mut stream = daemon_hello.clone();
    push_frame(&mut stream, Kind::Retry, b"");
    write("channel_to_child", "retry", &stream);

    // Heads, good and bad (validate.rs's unit tests), for both targets.
    let heads = [
        ("ok", ok),
        ("created", created),
        ("no-reason", head(204, "204", &[])),
        ("crlf-status", head(200, "200 OK\r\nX-Injected: 1", &[])),
        ("nul-status", head(200, "200 OK\0", &[])),
        ("mismatch", head(200, "404 Not Found", &[])),
        ("four-digits", head(200, "2000 OK", &[])),
        (
            "crlf-value",
            head(200, "200 OK", &[("X-A", "b\r\nSet-Cookie: x=1")]),
        ),
        ("space-name", head(200, "200 OK", &[("Bad Name", "v")])),
        ("empty-name", head(200, "200 OK", &[("", "v")])),
        ("nul-value", head(200, "200 OK", &[("X", "v\0")])),
        (
            "hop-by-hop",
            head(200, "200 OK", &[("Transfer-Encoding", "chunked")]),
        ),
        (
            "bad-length",
            head(200, "200 OK", &[("Content-Length", " +7")]),
        ),
        (
            "two-lengths",
            head(
                200,
                "200 OK",
                &[("Content-Length", "5"), ("content-length", "20")],
            ),
        ),
        (
            "long-header",
            head(200, "200 OK", &[("X-Big", &"x".repeat(300))]),
        ),
    ];
    for (name, h) in &heads {
        let frame = encoded_head(h);
        write("response_head", name, &frame[5..]);
        let mut stream = daemon_hello.clone();
        stream.extend_from_slice(&frame);
        EndFrame::encode(&mut stream, Outcome::Complete);
        write("channel_to_child", &format!("head-{name}"), &stream);
    }
    for line in [
        "200 OK",
        "099 Low",
        "200OK",
        "200 tab\tok",
        "299 Caf\u{e9}",
        "-0",
        "  18446744073709551615",
    ] {
        write(
            "response_head",
            &format!("line-{}", line.len()),
            line.as_bytes(),
        );
    }
}

fn head(status: u16, line: &str, headers: &[(&str, &str)]) -> ResponseHead {
    ResponseHead {
        status,
        status_line: line.as_bytes().to_vec(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect(),
    }
}

fn encoded_head(head: &ResponseHead) -> Vec<u8> {
    let mut out = Vec::new();
    encode_head(&mut out, head);
    out
}

/// A request frame as an Apache child encodes one, with the variables
/// Apache 2.4 sets for it.
fn request(
    https: bool,
    method: &str,
    uri: &str,
    content_type: &[u8],
    length: Option<u64>,
) -> Vec<u8> {
    let meta = RequestMeta {
        script: "/srv/site/app.wsgi".into(),
        script_mtime: 1_795_000_000,
        script_reloading: ScriptReloading::Process,
        callable_object: "application".into(),
        body_length: length,
        error_override: false,
        discard_body: method == "HEAD",
        ignore_activity: false,
        url_scheme: if https { "https" } else { "http" }.into(),
        process_group: "site".into(),
        application_group: "".into(),
        times: RequestTimes {
            request_start: 1_795_000_000_000_001,
            queue_start: 1_795_000_000_000_002,
            daemon_start: 0,
        },
    };
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let length = length.map(|n| n.to_string()).unwrap_or_default();
    let mut variables: Vec<(&[u8], &[u8])> = vec![
        (b"HTTP_HOST", b"localhost:8080"),
        (b"HTTP_USER_AGENT", b"curl/7.88.1"),
        (b"HTTP_ACCEPT", b"*/*"),
        (b"PATH", b"/usr/local/bin:/usr/bin:/bin"),
        (b"SERVER_SIGNATURE", b""),
        (b"SERVER_SOFTWARE", b"Apache/2.4.62 (Debian)"),
        (b"SERVER_NAME", b"localhost"),
        (b"SERVER_ADDR", b"127.0.0.1"),
        (b"SERVER_PORT", b"8080"),
        (b"REMOTE_ADDR", b"127.0.0.1"),
        (b"DOCUMENT_ROOT", b"/var/www/html"),
        (b"REQUEST_SCHEME", if https { b"https" } else { b"http" }),
        (b"CONTEXT_PREFIX", b""),
        (b"CONTEXT_DOCUMENT_ROOT", b"/var/www/html"),
        (b"SERVER_ADMIN", b"webmaster@localhost"),
        (b"SCRIPT_FILENAME", b"/srv/site/app.wsgi"),
        (b"REMOTE_PORT", b"53012"),
        (b"GATEWAY_INTERFACE", b"CGI/1.1"),
        (b"SERVER_PROTOCOL", b"HTTP/1.1"),
        (b"REQUEST_METHOD", method.as_bytes()),
        (b"QUERY_STRING", query.as_bytes()),
        (b"REQUEST_URI", uri.as_bytes()),
        (b"SCRIPT_NAME", b"/app"),
        (
            b"PATH_INFO",
            path.strip_prefix("/app").unwrap_or(path).as_bytes(),
        ),
        (b"PATH_TRANSLATED", b"/srv/site/app.wsgi"),
    ];
    if https {
        variables.push((b"HTTPS", b"1"));
    }
    if !content_type.is_empty() {
        variables.push((b"CONTENT_TYPE", content_type));
        variables.push((b"CONTENT_LENGTH", length.as_bytes()));
    }
    let mut out = Vec::new();
    RequestFrame::encode(
        &mut out,
        &meta,
        1_700_000_000_000_000,
        1_795_000_000_000_002,
        &mut |visit| {
            for (k, v) in &variables {
                visit(k, v);
            }
        },
    );
    out
}
