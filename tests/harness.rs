//! The harness's own promises: its reader survives interrupted reads, a
//! start-up whose port was taken tries another, and a stage goes when its
//! test passes and stays when it fails (Apache not starting included).

mod common;
use common::*;

use std::io::{ErrorKind, Read};
use std::net::TcpListener;

/// Hands out `data` a few bytes at a time, failing every other read() with
/// EINTR, as a socket with a receive timeout does when a signal arrives.
struct Interrupting {
    data: Vec<u8>,
    at: usize,
    calls: usize,
}

impl Read for Interrupting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.calls += 1;
        if self.calls % 2 == 1 {
            return Err(ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(3).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn interrupting(data: &[u8]) -> Interrupting {
    Interrupting {
        data: data.to_vec(),
        at: 0,
        calls: 0,
    }
}

#[test]
fn the_reader_retries_interrupted_reads() {
    let mut s = interrupting(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A: b\r\n\r\nhello world");
    let r = read_response(&mut s);
    assert_eq!((r.status, r.reason.as_str()), (200, "OK"));
    assert_eq!(r.header("x-a"), Some("b"));
    assert_eq!(r.body, b"hello world");
    assert!(r.complete);

    let mut s = interrupting(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    let r = read_response(&mut s);
    assert_eq!(r.body, b"hello");
    assert!(r.complete);

    let mut s = interrupting(b"a line\r\n");
    assert_eq!(expect_line(&mut s), "a line");
}

#[test]
fn a_taken_port_is_skipped() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let server = Server::try_start_on(
        Stage::new("harness-port"),
        &Config::new(
            Mpm::Event,
            "WSGIScriptAlias /hello @STAGE@/apps/hello.wsgi\n",
        ),
        [port, free_port()],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(server.port, port);
    let r = server.get("/hello");
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert_eq!(r.body, b"Hello World");
    // The failed attempt's log went with it.
    assert!(
        !server.error_log().contains("AH00072"),
        "{}",
        server.error_log()
    );
}

#[test]
fn a_stage_goes_when_its_test_passes_and_stays_when_it_fails() {
    let stage = Stage::new("harness-pass");
    let dir = stage.dir.clone();
    assert!(dir.join("mod_wsgi_rs.so").exists());
    drop(stage);
    assert!(!dir.exists(), "{} is still there", dir.display());

    let failing = std::thread::spawn(|| {
        let stage = Stage::new("harness-fail");
        let dir = stage.dir.clone();
        std::panic::panic_any(dir);
    });
    let dir = *failing
        .join()
        .unwrap_err()
        .downcast::<std::path::PathBuf>()
        .unwrap();
    let kept = dir.exists();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        kept,
        "the failed test's stage {} was removed",
        dir.display()
    );
}

#[test]
fn a_server_that_does_not_start_keeps_its_stage() {
    let failing = std::thread::spawn(|| {
        let stage = Stage::new("harness-no-start");
        let dir = stage.dir.clone();
        let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Server::start(stage, &Config::new(Mpm::Event, "NoSuchDirective here\n"))
        }));
        (started.is_err(), dir)
    });
    let (panicked, dir) = failing.join().unwrap();
    let kept = dir.exists();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(panicked, "Apache started with a bad configuration");
    assert!(
        kept,
        "the stage {} of a server that failed to start was removed",
        dir.display()
    );
}
