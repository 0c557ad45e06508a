//! What a daemon sends an Apache child (src/daemon/client.rs reads it):
//! Hello, Retry, Read, Head, Data, DataFlush, File, End. A daemon runs
//! applications, which may write anything on the connection, so nothing
//! here may be trusted. A Head that decodes is checked as the child checks
//! it, and must survive being encoded again; so must an End.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mod_wsgi_rs_fuzz::{frames, only_payload};
use wsgi::adapter::ResponseHead;
use wsgi::channel::{EndFrame, Hello, Kind, Reader, decode_head, encode_head, overlong_line};
use wsgi::validate::check_forwarded_head;

fuzz_target!(|data: &[u8]| {
    for (kind, payload) in frames(data) {
        match kind {
            Kind::Hello => {
                let _ = Hello::check(payload);
            }
            Kind::Read => {
                // As the child does: a short Read asks for one byte.
                let want = Reader::new(payload).u32().unwrap_or(0) as usize;
                assert!((1..=1 << 20).contains(&want.clamp(1, 1 << 20)));
            }
            Kind::Head => {
                if let Ok(head) = decode_head(payload) {
                    check_head(&head);
                }
            }
            Kind::File => {
                let mut reader = Reader::new(payload);
                let _ = (reader.u64().unwrap_or(0), reader.u64().unwrap_or(0));
            }
            Kind::End => {
                if let Ok(outcome) = EndFrame::decode(payload) {
                    let mut out = Vec::new();
                    EndFrame::encode(&mut out, outcome);
                    assert_eq!(EndFrame::decode(only_payload(&out)), Ok(outcome));
                }
            }
            _ => {}
        }
    }
});

fn check_head(head: &ResponseHead) {
    let mut out = Vec::new();
    encode_head(&mut out, head);
    assert_eq!(&decode_head(only_payload(&out)).expect("re-encoded"), head);

    if check_forwarded_head(head.status, &head.status_line, &head.headers).is_ok() {
        // What reaches Apache can neither split the response nor smuggle
        // a header, whatever the daemon sent.
        let breaks = |b: &u8| matches!(b, 0 | b'\r' | b'\n');
        assert!(!head.status_line.iter().any(breaks));
        assert!((100..=999).contains(&head.status));
        let mut lengths = 0;
        for (name, value) in &head.headers {
            assert!(!name.is_empty() && !name.iter().any(breaks) && !value.iter().any(breaks));
            assert!(!name.contains(&b' '), "a space in a header name");
            lengths += usize::from(name.eq_ignore_ascii_case(b"content-length"));
        }
        assert!(lengths <= 1);
    }
    // header-buffer-size: a line too long for a buffer is too long for
    // every smaller one.
    let mut too_long = false;
    for buffer in [32768usize, 8192, 256, 2, 0] {
        let found = overlong_line(head, buffer).is_some();
        assert!(
            found || !too_long,
            "fits {buffer} bytes but not a larger buffer"
        );
        too_long = found;
    }
}
