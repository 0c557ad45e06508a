//! What an Apache child sends a daemon (or what anything that reaches the
//! daemon's socket sends): Hello with its proof, Request, Body, BodyError.
//! Every frame is decoded whatever came before it, so that the fuzzer
//! reaches each decoder without first solving the handshake. A decoded
//! request must survive being encoded again, and its CGI variables must
//! read back as the pairs the frame holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mod_wsgi_rs_fuzz::{frames, only_payload};
use wsgi::channel::{Hello, HelloRefusal, Kind, RequestFrame, SECRET_LEN, Secret};

/// The seeds' children prove this secret.
const SECRET: [u8; SECRET_LEN] = [0x5a; SECRET_LEN];

fuzz_target!(|data: &[u8]| {
    let secret = Secret::new(&SECRET);
    for (kind, payload) in frames(data) {
        match kind {
            Kind::Hello => {
                let plain = Hello::check(payload);
                match Hello::check_proof(payload, &secret) {
                    Ok(pid) => assert_eq!(plain, Ok(pid)),
                    Err(HelloRefusal::Unproven { pid, .. }) => assert_eq!(plain, Ok(pid)),
                    Err(HelloRefusal::Protocol(text)) => assert_eq!(plain, Err(text)),
                }
            }
            Kind::Request => {
                if let Ok(request) = RequestFrame::decode(payload) {
                    check_request(&request);
                }
            }
            Kind::Body | Kind::BodyError => {
                let _ = String::from_utf8_lossy(payload);
            }
            _ => {}
        }
    }
});

fn check_request(request: &RequestFrame) {
    let mut out = Vec::new();
    RequestFrame::encode(
        &mut out,
        &request.meta,
        request.queue_start,
        request.meta.times.queue_start,
        &mut |visit| request.variables.visit(visit),
    );
    let again = RequestFrame::decode(only_payload(&out)).expect("a re-encoded request decodes");
    assert_eq!(&again, request);

    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    request
        .variables
        .visit(&mut |k, v| pairs.push((k.to_vec(), v.to_vec())));
    for (name, _) in &pairs {
        let first = pairs.iter().find(|(k, _)| k == name).map(|(_, v)| &v[..]);
        assert_eq!(request.variables.get(name), first);
    }
    // chroot= rewrites SCRIPT_FILENAME and friends this way.
    if let Some((name, _)) = pairs.first() {
        let mut replaced = request.variables.clone();
        replaced.replace(name, Some(b"/srv/replaced"));
        assert_eq!(replaced.get(name), Some(&b"/srv/replaced"[..]));
        let mut count = 0;
        replaced.visit(&mut |_, _| count += 1);
        assert_eq!(count, pairs.len());
        replaced.replace(name, None);
        assert_eq!(replaced.get(name), None);
    }
}
