//! Loading next to the original mod_wsgi (Debian's libapache2-mod-wsgi-py3),
//! which registers the same module name, and loading our module twice.

mod common;
use common::*;

use std::path::Path;

const REAL_MOD_WSGI: &str = "/usr/lib/apache2/modules/mod_wsgi.so";

fn real_mod_wsgi() -> Option<&'static Path> {
    let p = Path::new(REAL_MOD_WSGI);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("{REAL_MOD_WSGI} missing (apt-get install libapache2-mod-wsgi-py3): skipped");
        None
    }
}

/// The original mod_wsgi first: mod_so skips our `LoadModule wsgi_module`
/// before opening our file (it compares the module's symbol name), so none of
/// our code runs and nothing of ours can object. Apache's own warning is the
/// only message; the original mod_wsgi serves. This pins that behaviour.
#[test]
fn real_mod_wsgi_first_wins_with_apache_warning() {
    let Some(real) = real_mod_wsgi() else { return };
    let stage = Stage::new("life-real-first");
    let mut config = Config::new(
        Mpm::Event,
        "WSGIScriptAlias /hello @STAGE@/apps/hello.wsgi\n",
    );
    config.preamble = format!("LoadModule wsgi_module {}\n", real.display());
    let out = config_test(&stage, &config).expect("apache2 -t");
    assert!(
        out.contains("module wsgi_module is already loaded, skipping"),
        "{out}"
    );
    assert!(!out.contains("mod_wsgi_rs"), "{out}");
    let server = Server::start(stage, &config);
    let r = server.get("/hello");
    assert_eq!(r.status, 200, "{}", server.error_log());
    assert_eq!(r.body, b"Hello World");
    let banner = r.header("server").unwrap_or_default().to_owned();
    assert!(
        banner.contains("mod_wsgi/") && !banner.contains("mod_wsgi_rs"),
        "{banner}"
    );
    assert_no_crash(&server.error_log());
}

/// Ours first: mod_so skips the original's `LoadModule wsgi_module` with a
/// warning. Our module sees that warning while the configuration is read
/// and refuses to start, with a message that says what to do.
fn assert_duplicate_refused(config: &Config, stage_name: &str) {
    let stage = Stage::new(stage_name);
    let out = config_test(&stage, config).expect_err("apache2 -t accepted two wsgi_modules");
    assert!(
        out.contains("module wsgi_module is already loaded, skipping"),
        "{out}"
    );
    assert!(
        out.contains("mod_wsgi_rs (pid=") && out.contains("WSGIRS0003"),
        "{out}"
    );
    assert!(out.contains("load only one"), "{out}");
    let err = Server::try_start(stage, config)
        .err()
        .expect("apache started with two wsgi_modules");
    assert!(err.contains("WSGIRS0003"), "{err}");
    assert!(!err.contains("Segmentation fault"), "{err}");
}

#[test]
fn real_mod_wsgi_after_ours_is_refused() {
    let Some(real) = real_mod_wsgi() else { return };
    let config = Config::new(
        Mpm::Event,
        &format!(
            "LoadModule wsgi_module {}\nWSGIScriptAlias /hello @STAGE@/apps/hello.wsgi\n",
            real.display()
        ),
    );
    assert_duplicate_refused(&config, "life-ours-first");
}

/// mod_so's warning does not say which file it skipped, so loading our own
/// module twice is refused the same way (Apache alone would only warn).
#[test]
fn our_module_loaded_twice_is_refused() {
    let config = Config::new(
        Mpm::Event,
        "LoadModule wsgi_module @STAGE@/mod_wsgi_rs.so\nWSGIScriptAlias /hello @STAGE@/apps/hello.wsgi\n",
    );
    assert_duplicate_refused(&config, "life-ours-twice");
}
