//! wsgi.file_wrapper through a real Apache: real files (sent without
//! copying through Python) arrive intact from their current offset and up
//! to the declared Content-Length; other file-likes are read in `blksize`
//! blocks; the wrapper's close() closes the file.

mod common;
use common::*;

use std::io::Write;
use std::time::Duration;

const SMALL: usize = 100_000;
const LARGE: usize = 20 << 20;

struct Files {
    server: Server,
    small: Vec<u8>,
    large: Vec<u8>,
}

fn start(mpm: Mpm, name: &str) -> Files {
    let stage = Stage::new(name);
    let small = noise(SMALL, 0x9e37_79b9_7f4a_7c15);
    let large = noise(LARGE, 0x2545_f491_4f6c_dd1d);
    std::fs::create_dir_all(stage.path("data")).unwrap();
    std::fs::write(stage.path("data/small.bin"), &small).unwrap();
    std::fs::write(stage.path("data/large.bin"), &large).unwrap();
    stage.make_readable();
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGIScriptAlias /files @STAGE@/apps/resp_files.wsgi\n\
             WSGIScriptAlias /sendfile @STAGE@/apps/resp_files.wsgi\n\
             <Location /sendfile>\n  WSGIEnableSendfile On\n</Location>\n",
        ),
    );
    Files {
        server,
        small,
        large,
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        // A failed test keeps its stage for a look; the large file need
        // not stay with it.
        let _ = std::fs::remove_file(self.server.stage().path("data/large.bin"));
    }
}

/// What the application recorded in run/`name`, once it has.
fn recorded(server: &Server, name: &str) -> Vec<String> {
    let text = wait_for_file(server, name, Duration::from_secs(20));
    text.lines().map(str::to_owned).collect()
}

fn check(r: &Response, expected: &[u8], what: &str) {
    assert_eq!(r.status, 200, "{what}: {}", r.text());
    assert!(r.complete, "{what}: incomplete");
    assert_eq!(r.body.len(), expected.len(), "{what}: length");
    assert!(r.body == expected, "{what}: the body differs");
}

fn real_files_are_sent_intact(mpm: Mpm) {
    let f = start(mpm, "resp-files");
    let s = &f.server;
    check(
        &s.get("/files/chunked?small.bin"),
        &f.small,
        "small, chunked",
    );
    check(
        &s.get("/files/length?small.bin"),
        &f.small,
        "small, with length",
    );
    check(
        &s.get("/files/chunked?large.bin"),
        &f.large,
        "large, chunked",
    );
    let r = s.get("/files/length?large.bin");
    assert_eq!(r.header("Content-Length"), Some(LARGE.to_string().as_str()));
    check(&r, &f.large, "large, with length");
    // WSGIEnableSendfile On lets Apache use sendfile(2); same bytes.
    check(
        &s.get("/sendfile/length?large.bin"),
        &f.large,
        "large, sendfile",
    );
    check(
        &s.get("/sendfile/offset?small.bin"),
        &f.small[1000..],
        "offset, sendfile",
    );

    // The file's current position is where sending starts.
    check(
        &s.get("/files/offset?small.bin"),
        &f.small[1000..],
        "small, from offset 1000",
    );
    check(
        &s.get("/files/offset-chunked?large.bin"),
        &f.large[1000..],
        "large, after reading 1000 bytes",
    );
    assert!(!s.error_log().contains("WSGIRS02"), "{}", s.error_log());
}

fn content_length_limits_the_file(mpm: Mpm) {
    let f = start(mpm, "resp-files-length");
    let s = &f.server;
    for name in ["small.bin", "large.bin"] {
        let mut conn = s.connect();
        conn.write_all(&simple_request(
            "GET",
            &format!("/files/short-length?{name}"),
            true,
        ))
        .unwrap();
        let r = read_response(&mut conn);
        assert_eq!(r.header("Content-Length"), Some("5000"));
        let file = if name == "small.bin" {
            &f.small
        } else {
            &f.large
        };
        check(&r, &file[..5000], name);
        // Nothing past the 5000 bytes: the next response on this
        // connection starts right after them.
        conn.write_all(&simple_request("GET", "/files/length?small.bin", false))
            .unwrap();
        check(&read_response(&mut conn), &f.small, "the next response");
    }
}

fn other_file_likes_are_iterated_in_blocks(mpm: Mpm) {
    let f = start(mpm, "resp-files-bytesio");
    let s = &f.server;
    for blksize in [1000, 8192, 65536] {
        check(
            &s.get(&format!("/files/bytesio?{blksize}")),
            &f.small,
            &format!("BytesIO, blksize {blksize}"),
        );
        // close() of the wrapper closed the BytesIO; every read was of blksize.
        assert_eq!(
            recorded(s, &format!("bytesio-{blksize}")),
            [format!("read sizes [{blksize}]")]
        );
    }
}

fn closing_the_wrapper_closes_the_file(mpm: Mpm) {
    let f = start(mpm, "resp-files-close");
    let s = &f.server;
    check(&s.get("/files/close"), &f.small, "a FileIO subclass");
    // Another request through the server, so the one above has finished.
    check(&s.get("/files/length?small.bin"), &f.small, "small");
    assert_eq!(recorded(s, "file-closed"), ["closed"]);
}

under_event_and_prefork!(
    real_files_are_sent_intact,
    content_length_limits_the_file,
    other_file_likes_are_iterated_in_blocks,
    closing_the_wrapper_closes_the_file,
);
