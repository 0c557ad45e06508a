//! The files of apache-conf/ as shipped (example/ is served by
//! tests/examples.rs, slow-clients.conf by tests/hardening_timeouts.rs):
//!
//! - debian/wsgi_rs.load and wsgi_rs.conf load the module and serve, with
//!   only the module's path changed;
//! - daemon/site.conf, as a reader uses it: its set-up lines run
//!   as written (read from the file, so the text cannot drift from what is
//!   tested), then the file itself served by a real Apache. Only three
//!   things are changed, each everywhere: /srv becomes a directory of the
//!   stage, the user `app` one made for this test (and removed after), and
//!   the virtual host's `*:80` the test's port. `pip install django` runs
//!   offline from the wheels scripts/dev.sh downloads (scripts/
//!   django_wheels.sh), through pip's own PIP_NO_INDEX and PIP_FIND_LINKS.

mod common;
use common::*;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

const SITE_CONF: &str = "apache-conf/daemon/site.conf";
/// Where scripts/django_wheels.sh puts Django's wheels.
const DJANGO_WHEELS: &str = "/opt/mod_wsgi_rs-test/wheels-django";

/// The commands under "Set up the site": the `#   ` lines that follow it.
fn setup_steps(conf: &str) -> Vec<String> {
    conf.lines()
        .skip_while(|l| !l.starts_with("# Set up the site"))
        .skip(1)
        .take_while(|l| l.starts_with("#   "))
        .map(|l| l["#   ".len()..].to_owned())
        .collect()
}

/// `text` with every whole word `word` (not part of a longer name) replaced.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.';
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(is_name) || after.is_some_and(is_name) {
            out.push_str(word);
        } else {
            out.push_str(with);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// The system user the walk-through's `useradd` makes, removed (with its
/// group) when the test ends, after the server that runs as it.
struct TestUser(String);

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.0).status();
    }
}

fn get(server: &Server, host: &str, path: &str) -> Response {
    server.raw(&raw_request(
        "GET",
        path,
        &[("Host", host.as_bytes())],
        b"",
        false,
    ))
}

/// The uids of the processes whose command line is `title` (display-name).
fn uids_of(title: &str) -> Vec<u32> {
    let mut uids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).starts_with(title) {
            continue;
        }
        let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        if let Some(uid) = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|u| u.parse().ok())
        {
            uids.push(uid);
        }
    }
    uids
}

fn uid_of(user: &str) -> u32 {
    let out = Command::new("id").args(["-u", user]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn the_walk_through_sets_up_a_site_that_the_file_serves() {
    if !is_root() {
        eprintln!("skipped: site.conf's walk-through runs as root (useradd, chown)");
        return;
    }
    if !Path::new(DJANGO_WHEELS).is_dir() {
        eprintln!(
            "skipped: no Django wheels in {DJANGO_WHEELS} (scripts/dev.sh test downloads them)"
        );
        return;
    }
    let conf = std::fs::read_to_string(repo_dir().join(SITE_CONF)).unwrap();
    let steps = setup_steps(&conf);
    assert!(steps.len() >= 4, "no set-up steps found in {SITE_CONF}");

    let user = TestUser(format!("wsgirs-site-{}", std::process::id()));
    // One left by a test that was killed.
    let _ = Command::new("userdel")
        .arg(&user.0)
        .stderr(std::process::Stdio::null())
        .status();
    let stage = Stage::new("site-conf");
    let srv = stage.path("srv").display().to_string();
    let adapt =
        |text: &str| replace_word(&text.replace("/srv/", &format!("{srv}/")), "app", &user.0);

    for step in &steps {
        let step = adapt(step);
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &step])
            .current_dir(&stage.dir)
            // A fresh Debian machine's root: Debian's python3 (the one the
            // module embeds), not whatever the test's PATH finds first.
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", DJANGO_WHEELS)
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env_remove("PYTHONPATH")
            .env_remove("VIRTUAL_ENV")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{SITE_CONF}'s step failed:\n  {step}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let site = adapt(&conf).replace("<VirtualHost *:80>", "<VirtualHost *>");
    let mut config = Config::new(Mpm::Event, &site);
    config.preamble = format!(
        "LoadModule alias_module {}/mod_alias.so\n",
        apache_modules_dir().display()
    );
    let server = Server::start(stage, &config);

    let r = get(&server, "example.com", "/admin/login/");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert!(r.text().contains("Django administration"), "{}", r.text());
    assert!(
        r.text().contains("/static/admin/css/base.css"),
        "{}",
        r.text()
    );
    // The admin's CSS, from STATIC_ROOT by collectstatic, served by Apache.
    let r = get(&server, "example.com", "/static/admin/css/base.css");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("content-type").unwrap().starts_with("text/css"));
    // migrate made the tables the admin reads (its redirect needs the
    // session's), and DEBUG is off: ALLOWED_HOSTS refuses other hosts.
    let r = get(&server, "example.com", "/admin/");
    assert_eq!(r.status, 302, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.header("location"), Some("/admin/login/?next=/admin/"));
    assert_eq!(get(&server, "evil.example", "/admin/login/").status, 400);
    assert_eq!(get(&server, "example.com", "/nowhere/").status, 404);

    // The daemons run as the walk-through's user.
    let uid = uid_of(&user.0);
    let uids = wait_until(Duration::from_secs(10), "the daemons", || {
        Some(uids_of("(wsgi:example.com)"))
            .filter(|uids| uids.iter().filter(|u| **u == uid).count() == 2)
    });
    assert!(uids.contains(&uid), "{uids:?}");
    let log = server.error_log();
    assert_no_crash(&log);
    assert!(!log.contains("Traceback"), "{log}");
}

#[test]
fn the_debian_files_load_the_module_that_then_serves() {
    let stage = Stage::new("apache-conf-debian");
    let read = |name: &str| {
        std::fs::read_to_string(repo_dir().join("apache-conf/debian").join(name)).unwrap()
    };
    let load = read("wsgi_rs.load");
    let installed = "/usr/lib/apache2/modules/mod_wsgi_rs.so";
    assert!(load.contains(installed), "{load}");
    let load = load.replace(
        installed,
        &stage.path("mod_wsgi_rs.so").display().to_string(),
    );
    let body = format!(
        "{load}\n{}\nWSGIScriptAlias / @STAGE@/apps/hello.wsgi\n",
        read("wsgi_rs.conf")
    );
    let mut config = Config::new(Mpm::Event, &body);
    config.load_module = false;
    let server = Server::start(stage, &config);
    let r = get_ok(&server, "/");
    assert_eq!(r.text(), "Hello World");
    let banner = r.header("server").unwrap_or_default();
    assert!(banner.contains("mod_wsgi_rs/"), "{banner}");
}

#[test]
fn the_set_up_lines_are_found_and_need_no_existing_directory() {
    let conf = std::fs::read_to_string(repo_dir().join(SITE_CONF)).unwrap();
    let steps = setup_steps(&conf);
    let startproject = steps
        .iter()
        .find(|s| s.contains("startproject"))
        .expect("a startproject step");
    // Django refuses a project named after a Python module ("site"), and
    // wants the target directory to exist.
    assert!(
        !startproject.contains("startproject site "),
        "{startproject}"
    );
    assert!(startproject.starts_with("mkdir -p "), "{startproject}");
    assert!(
        steps.iter().any(|s| s.contains("ALLOWED_HOSTS")),
        "{steps:?}"
    );
}

#[test]
fn only_whole_words_are_replaced() {
    assert_eq!(
        replace_word(
            "chown -R app: x; user=app group=app apps happy app",
            "app",
            "u"
        ),
        "chown -R u: x; user=u group=u apps happy u"
    );
}
