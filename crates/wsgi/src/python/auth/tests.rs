//! The scripts' answers read as mod_wsgi 6.1.1 reads them, and every
//! failure answered as a failure (never as access), with real Python.

use std::cell::RefCell;

use super::*;
use crate::test_support::{ScratchDir, with_python};

#[derive(Default)]
struct FakeRequest {
    lines: RefCell<Vec<String>>,
}

impl AuthRequest for FakeRequest {
    fn visit_variables(&self, visit: &mut dyn FnMut(&str, &[u8])) {
        visit("REMOTE_ADDR", b"10.0.0.7");
        visit("HTTP_X_NAME", b"caf\xe9");
        visit("REQUEST_URI", b"/secret/x");
    }
    fn apache_version(&self) -> (u32, u32, u32) {
        (2, 4, 99)
    }
    fn log(&self, _level: Level, line: &str) {
        self.lines.borrow_mut().push(line.to_owned());
    }
    fn ssl(&self) -> &dyn SslLookup {
        self
    }
}

/// A plain-HTTP request: mod_ssl says no.
impl SslLookup for FakeRequest {
    fn is_https(&self) -> bool {
        false
    }
    fn var_lookup(&self, _name: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

impl FakeRequest {
    fn logged(&self, needle: &str) -> bool {
        self.lines.borrow().iter().any(|l| l.contains(needle))
    }
}

/// Writes `source` as a fresh script (its own path: the loader caches by
/// path) and returns the path.
fn script(dir: &ScratchDir, name: &str, source: &str) -> String {
    let path = dir.path().join(format!("{name}.wsgi"));
    std::fs::write(&path, source).unwrap();
    path.to_str().unwrap().to_owned()
}

fn call(path: &str) -> AuthScriptCall<'_> {
    AuthScriptCall {
        script: path,
        application_group: "",
        reloading: true,
    }
}

#[test]
fn check_password_answers_as_mod_wsgi() {
    let dir = ScratchDir::new("auth");
    let path = script(
        &dir,
        "passwords",
        "def check_password(environ, user, password):\n\
         \x20   import sys\n\
         \x20   print('checking', user, file=environ['wsgi.errors'])\n\
         \x20   return {'yes': True, 'no': False, 'none': None, 'rename': 'alice',\n\
         \x20           'empty': '', 'number': 1}[user]\n",
    );
    with_python(|py| {
        let request = FakeRequest::default();
        let check = |user: &[u8]| check_password(py, &call(&path), &request, user, b"pw");
        assert_eq!(check(b"yes"), PasswordCheck::Granted);
        assert!(
            request.logged("checking yes"),
            "wsgi.errors reaches the log"
        );
        assert_eq!(check(b"no"), PasswordCheck::Denied);
        assert_eq!(check(b"none"), PasswordCheck::UserNotFound);
        assert_eq!(check(b"rename"), PasswordCheck::GrantedAs("alice".into()));
        assert_eq!(check(b"empty"), PasswordCheck::Failed);
        assert!(request.logged("WSGIRS0233: Basic auth provider returned empty user name"));
        assert_eq!(check(b"number"), PasswordCheck::Failed);
        assert!(request.logged("must return True, False, None or user name as string, not 'int'"));
        // A KeyError: logged with its traceback, and a failure.
        assert_eq!(check(b"unknown"), PasswordCheck::Failed);
        assert!(request.logged("WSGIRS0232: Exception occurred processing check_password()"));
        assert!(request.logged("KeyError"));
    });
}

#[test]
fn the_environ_is_mod_wsgis_auth_environ() {
    let dir = ScratchDir::new("auth");
    let path = script(
        &dir,
        "environ",
        "def allow_access(environ, host):\n\
         \x20   assert host == '10.0.0.7', host\n\
         \x20   assert environ['REMOTE_ADDR'] == '10.0.0.7'\n\
         \x20   assert environ['HTTP_X_NAME'] == 'caf\\xe9', environ['HTTP_X_NAME']\n\
         \x20   assert environ['apache.version'] == (2, 4, 99)\n\
         \x20   assert environ['mod_wsgi.version'] == (6, 1, 1)\n\
         \x20   assert environ['mod_wsgi.process_group'] == ''\n\
         \x20   assert environ['mod_wsgi.application_group'] == 'admin'\n\
         \x20   assert environ['mod_ssl.is_https']() == 0\n\
         \x20   assert environ['mod_ssl.var_lookup']('HTTPS') is None\n\
         \x20   environ['wsgi.errors'].write('no newline at the end')\n\
         \x20   return True\n",
    );
    with_python(|py| {
        let request = FakeRequest::default();
        let call = AuthScriptCall {
            application_group: "admin",
            ..call(&path)
        };
        let answer = allow_access(py, &call, &request, b"10.0.0.7");
        assert_eq!(answer, Access::Allow, "{:?}", request.lines.borrow());
        assert!(
            request.logged("no newline at the end"),
            "flushed at the end"
        );
    });
}

#[test]
fn allow_access_reads_booleans_and_none_only() {
    let dir = ScratchDir::new("auth");
    let path = script(
        &dir,
        "access",
        "def allow_access(environ, host):\n\
         \x20   return {'a': True, 'd': False, 'n': None, 's': 'yes', 'i': 1}[host]\n",
    );
    with_python(|py| {
        let request = FakeRequest::default();
        let access = |host: &[u8]| allow_access(py, &call(&path), &request, host);
        assert_eq!(access(b"a"), Access::Allow);
        assert_eq!(access(b"d"), Access::Deny);
        assert_eq!(access(b"n"), Access::Decline);
        // A truthy non-boolean is not access.
        assert_eq!(access(b"s"), Access::Failed);
        assert_eq!(access(b"i"), Access::Failed);
        assert!(request.logged("must be a boolean or None, not 'int'"));
        assert_eq!(access(b"raises"), Access::Failed);
    });
}

#[test]
fn groups_for_user_takes_bytes_and_latin1_strings() {
    let dir = ScratchDir::new("auth");
    let path = script(
        &dir,
        "groups",
        "def bad_iter():\n\
         \x20   yield b'first'\n\
         \x20   raise ValueError('half way')\n\
         def groups_for_user(environ, user):\n\
         \x20   return {'ok': [b'staff', 'caf\\xe9'], 'none': (), 'int': 3, 'item': [b'x', 3],\n\
         \x20           'wide': ['\\u20ac'], 'iter': bad_iter()}[user]\n",
    );
    with_python(|py| {
        let request = FakeRequest::default();
        let groups = |user: &[u8]| groups_for_user(py, &call(&path), &request, user);
        assert_eq!(
            groups(b"ok"),
            Some(vec![b"staff".to_vec(), b"caf\xe9".to_vec()])
        );
        assert_eq!(groups(b"none"), Some(vec![]));
        assert_eq!(groups(b"int"), None);
        assert!(request.logged("is not iterable"));
        assert_eq!(groups(b"item"), None);
        assert!(request.logged("is not a byte string"));
        assert_eq!(groups(b"wide"), None);
        assert!(request.logged("cannot be encoded as latin-1"));
        // mod_wsgi keeps the groups read before an iterator raised; here
        // the whole answer fails.
        assert_eq!(groups(b"iter"), None);
        assert!(request.logged("half way"));
    });
}

#[test]
fn get_realm_hash_takes_bytes_or_str() {
    let dir = ScratchDir::new("auth");
    let path = script(
        &dir,
        "digest",
        "def get_realm_hash(environ, user, realm):\n\
         \x20   assert realm == 'Realm'\n\
         \x20   return {'b': b'0123abcd', 's': '0123abcd', 'n': None, 'e': b'', 'l': [1]}[user]\n",
    );
    with_python(|py| {
        let request = FakeRequest::default();
        let hash = |user: &[u8]| get_realm_hash(py, &call(&path), &request, user, b"Realm");
        assert_eq!(hash(b"b"), RealmHash::Found(b"0123abcd".to_vec()));
        assert_eq!(hash(b"s"), RealmHash::Found(b"0123abcd".to_vec()));
        assert_eq!(hash(b"n"), RealmHash::UserNotFound);
        assert_eq!(hash(b"e"), RealmHash::Failed);
        assert!(request.logged("empty realm hash"));
        assert_eq!(hash(b"l"), RealmHash::Failed);
        assert!(request.logged("must return None or string object, not 'list'"));
    });
}

#[test]
fn scripts_that_cannot_answer_fail() {
    let dir = ScratchDir::new("auth");
    let broken = script(
        &dir,
        "broken",
        "def check_password(environ, user, password:\n",
    );
    let empty = script(&dir, "empty", "x = 1\n");
    let missing = dir.path().join("no-such-script.wsgi");
    with_python(|py| {
        let request = FakeRequest::default();
        assert_eq!(
            check_password(py, &call(&broken), &request, b"u", b"p"),
            PasswordCheck::Failed
        );
        assert!(request.logged("WSGIRS0230"));
        assert!(request.logged("SyntaxError"));
        assert_eq!(
            get_realm_hash(py, &call(&empty), &request, b"u", b"r"),
            RealmHash::Failed
        );
        assert!(request.logged("WSGIRS0231"));
        assert!(request.logged("does not provide 'Digest' auth provider"));
        assert_eq!(
            allow_access(py, &call(missing.to_str().unwrap()), &request, b"h"),
            Access::Failed
        );
        assert!(request.logged("cannot read"));
    });
}
