//! Generates Rust bindings for Apache's and APR's headers and compiles the
//! small C shim. Both must see exactly the same preprocessor defines, or the
//! struct layouts bindgen computes could differ from what Apache was built with.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn tool_output(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `{program}`: {e}; install apache2-dev (see README)")
        });
    assert!(
        output.status.success(),
        "`{program} {}` failed",
        args.join(" ")
    );
    String::from_utf8(output.stdout)
        .expect("tool output is UTF-8")
        .trim()
        .to_owned()
}

fn main() {
    let apxs = env::var("APXS").unwrap_or_else(|_| "apxs".to_owned());
    let apr_config = env::var("APR_CONFIG").unwrap_or_else(|_| "apr-1-config".to_owned());
    println!("cargo:rerun-if-env-changed=APXS");
    println!("cargo:rerun-if-env-changed=APR_CONFIG");
    println!("cargo:rerun-if-changed=src/shim");

    let apache_include = tool_output(&apxs, &["-q", "INCLUDEDIR"]);
    let apr_flags = tool_output(&apr_config, &["--includes", "--cppflags"]);
    let mut clang_args = vec![format!("-I{apache_include}"), "-Isrc/shim".to_owned()];
    clang_args.extend(apr_flags.split_whitespace().map(str::to_owned));

    let mut shim = cc::Build::new();
    shim.file("src/shim/mod_wsgi.c")
        .warnings(true)
        .extra_warnings(true);
    for flag in &clang_args {
        shim.flag(flag);
    }
    shim.compile("wsgi_shim");

    let bindings = bindgen::Builder::default()
        .header("src/shim/wrapper.h")
        .clang_args(&clang_args)
        .allowlist_function("(ap|apr|wsgi_shim)_.*")
        .allowlist_type("(request_rec|conn_rec|server_rec|cmd_parms|module|ap_filter_t|apr_.*|ap_.*|authn_provider|authz_provider)")
        .allowlist_var("ap_top_module|ap_unixd_config|ap_server_conf")
        .allowlist_var("(AP|APR|HTTP|APLOG|M|OPT|MODULE|DECLINED|DONE|OK|RSRC|ACCESS|OR|GLOBAL|NOT_IN|REQUEST|AUTHN|AUTHZ|SATISFY|REMOTE)_?.*")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("bindgen could not read Apache's headers");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("apache_bindings.rs");
    bindings.write_to_file(&out).expect("write bindings");
}
