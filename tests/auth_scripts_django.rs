//! Django's documented `django.contrib.auth.handlers.modwsgi`
//! (`check_password`, `groups_for_user`) as `WSGIAuthUserScript` and
//! `WSGIAuthGroupScript`, with the configuration of Django's "How to
//! authenticate against Django's user database from Apache", protecting
//! static directories that Apache serves against a Django user database
//! (sqlite, made with `manage.py migrate`), in the Django site's own
//! interpreter. Skipped, with a note, when Django is not installed.

mod auth_support;
mod common;

use auth_support::*;
use common::*;

fn run(program: &str, args: &[&str]) {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `django-admin startproject mysite` into `<stage>/mysite.com`, its
/// sqlite database migrated, with users and a group made as a site's
/// administrator would; `wsgi.py` as Django's "Authenticating against
/// Django's user database from Apache" shows it, except that the
/// application is made (django.setup()) before the handlers are imported:
/// the page's order raises AppRegistryNotReady with the Django installed.
fn make_django_site(stage: &Stage) -> String {
    let root = stage.path("mysite.com");
    std::fs::create_dir_all(&root).unwrap();
    let root_str = root.to_str().unwrap();
    run(
        "/usr/bin/python3",
        &["-m", "django", "startproject", "mysite", root_str],
    );
    let settings = root.join("mysite/settings.py");
    let mut text = std::fs::read_to_string(&settings)
        .unwrap()
        .replace("DEBUG = True", "DEBUG = False")
        .replace("ALLOWED_HOSTS = []", "ALLOWED_HOSTS = ['127.0.0.1']");
    // Fast hashing keeps the test quick; the check is the same.
    text.push_str("\nPASSWORD_HASHERS = ['django.contrib.auth.hashers.MD5PasswordHasher']\n");
    std::fs::write(&settings, text).unwrap();
    std::fs::write(
        root.join("mysite/wsgi.py"),
        "import os\n\n\
         os.environ['DJANGO_SETTINGS_MODULE'] = 'mysite.settings'\n\n\
         from django.core.wsgi import get_wsgi_application\n\n\
         application = get_wsgi_application()\n\n\
         from django.contrib.auth.handlers.modwsgi import check_password, groups_for_user\n",
    )
    .unwrap();
    let manage = root.join("manage.py");
    let manage = manage.to_str().unwrap();
    run("/usr/bin/python3", &[manage, "migrate", "--verbosity", "0"]);
    run(
        "/usr/bin/python3",
        &[
            manage,
            "shell",
            "-c",
            "from django.contrib.auth.models import Group, User\n\
             agents = Group.objects.create(name='secret-agents')\n\
             User.objects.create_user('bond', password='shaken').groups.add(agents)\n\
             User.objects.create_user('moneypenny', password='desk')\n\
             gone = User.objects.create_user('gone', password='away')\n\
             gone.is_active = False\n\
             gone.save()\n",
        ],
    );
    stage.write("secret/plans.txt", "the plans\n");
    stage.write("agents/list.txt", "007\n");
    stage.make_readable();
    root.display().to_string()
}

/// Django's documented handlers protect static directories, Apache
/// serving the files, against the site's own user database.
fn django_users_protect_static_files(mpm: Mpm) {
    if !has_python_module("django") {
        return;
    }
    let stage = Stage::new("auth-django");
    let site = make_django_site(&stage);
    let wsgi = format!("{site}/mysite/wsgi.py");
    let body = format!(
        "WSGIScriptAlias / {wsgi}\n\
         WSGIPythonPath {site}\n\
         <Directory {site}/mysite>\n  <Files wsgi.py>\n    Require all granted\n  </Files>\n</Directory>\n\
         WSGIProcessGroup %{{GLOBAL}}\n\
         WSGIApplicationGroup %{{GLOBAL}}\n\
         Alias /secret/ @STAGE@/secret/\n\
         Alias /agents/ @STAGE@/agents/\n\
         <Directory @STAGE@/secret>\n  Require all granted\n</Directory>\n\
         <Directory @STAGE@/agents>\n  Require all granted\n</Directory>\n\
         <Location \"/secret\">\n  AuthType Basic\n  AuthName \"Top Secret\"\n  Require valid-user\n\
         \x20 AuthBasicProvider wsgi\n  WSGIAuthUserScript {wsgi}\n</Location>\n\
         <Location \"/agents\">\n  AuthType Basic\n  AuthName \"Agents\"\n  AuthBasicProvider wsgi\n\
         \x20 WSGIAuthUserScript {wsgi}\n  WSGIAuthGroupScript {wsgi}\n  Require wsgi-group secret-agents\n</Location>\n"
    );
    let mut config = Config::new(mpm, &body);
    config.preamble = format!(
        "{}LoadModule alias_module {}/mod_alias.so\n",
        preamble(),
        apache_modules_dir().display()
    );
    let server = Server::start(stage, &config);

    assert_eq!(server.get("/secret/plans.txt").status, 401);
    let r = basic(&server, "/secret/plans.txt", "moneypenny", "desk");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.text(), "the plans\n");
    for (user, password) in [("moneypenny", "wrong"), ("nobody", "x"), ("gone", "away")] {
        let r = basic(&server, "/secret/plans.txt", user, password);
        assert_eq!(r.status, 401, "{user}: {}", r.text());
    }
    let r = basic(&server, "/agents/list.txt", "bond", "shaken");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), server.error_log());
    assert_eq!(r.text(), "007\n");
    assert_eq!(
        basic(&server, "/agents/list.txt", "moneypenny", "desk").status,
        401,
        "not a secret agent"
    );
    // The site itself is Django's, unprotected: its 404 for an unknown URL.
    assert_eq!(server.get("/nowhere/").status, 404);
    let log = server.error_log();
    assert_no_crash(&log);
    assert!(!log.contains("Traceback"), "{log}");
    assert!(
        log.contains("WSGIRS0235: Authorization of user 'moneypenny' to access '/agents/list.txt' failed. User is not a member of any groups."),
        "{log}"
    );
    server.stop();
}

under_event_and_prefork!(django_users_protect_static_files);
