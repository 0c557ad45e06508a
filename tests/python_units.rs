//! The pure logic of the Python package (python/mod_wsgi_rs: option
//! parsing, configuration generation, module lookup), unit-tested by the
//! Python files in python/tests with Debian's interpreter, the one the
//! module embeds. Behaviour through a real Apache is tested elsewhere.

use std::path::Path;
use std::process::Command;

#[test]
fn the_python_package_unit_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("/usr/bin/python3")
        .args([
            "-B",
            "-m",
            "unittest",
            "discover",
            "-v",
            "-s",
            "python/tests",
            "-t",
            "python",
        ])
        .current_dir(root)
        .env("PYTHONPATH", root.join("python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("MOD_WSGI_RS_MODULE")
        .output()
        .expect("run /usr/bin/python3 -m unittest");
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python/tests failed:\n{report}");
    // discover finding nothing passes; it must have run the tests.
    assert!(
        report.contains("test_the_environment_wins"),
        "no test ran:\n{report}"
    );
}
