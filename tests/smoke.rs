//! The module loads into Apache and serves a hello-world application.

mod common;
use common::*;

fn serves_hello_world(mpm: Mpm) {
    let stage = Stage::new("smoke");
    let server = Server::start(
        stage,
        &Config::new(mpm, "WSGIScriptAlias /hello @STAGE@/apps/hello.wsgi\n"),
    );
    let r = server.get("/hello");
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert_eq!(r.body, b"Hello World");
    assert!(
        r.header("server").unwrap().contains("mod_wsgi_rs/"),
        "{:?}",
        r.header("server")
    );
}

under_event_and_prefork!(serves_hello_world);
