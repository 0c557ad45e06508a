# The user and group database of tests/auth_scripts.rs, as mod_wsgi's
# documentation shapes an authentication script: check_password for
# AuthBasicProvider wsgi, get_realm_hash for AuthDigestProvider wsgi,
# groups_for_user for Require wsgi-group. A few user names ask for each
# kind of failure. Each call notes what it saw in the error log.
import hashlib

USERS = {"alice": "wonderland", "bob": "builder", "carol": "singer"}
GROUPS = {"alice": [b"admins", "staff"], "bob": ["staff"], "carol": []}


def note(environ, function, user):
    print(
        "auth-note %s user=%s group=%r process_group=%r has_authorization=%s remote_addr=%s"
        % (
            function,
            user,
            environ["mod_wsgi.application_group"],
            environ["mod_wsgi.process_group"],
            "HTTP_AUTHORIZATION" in environ,
            environ["REMOTE_ADDR"],
        ),
        file=environ["wsgi.errors"],
    )


def check_password(environ, user, password):
    note(environ, "check_password", user)
    if user == "raises":
        raise RuntimeError("check_password fails on purpose")
    if user == "wrongtype":
        return 1
    if user == "renamed":
        return "alice"
    if user not in USERS:
        return None
    return USERS[user] == password


def get_realm_hash(environ, user, realm):
    note(environ, "get_realm_hash", user)
    if user == "raises":
        raise RuntimeError("get_realm_hash fails on purpose")
    if user == "wrongtype":
        return 42
    if user not in USERS:
        return None
    return hashlib.md5(("%s:%s:%s" % (user, realm, USERS[user])).encode()).hexdigest()


def groups_for_user(environ, user):
    note(environ, "groups_for_user", user)
    if user == "bob" and environ["REQUEST_URI"].startswith("/groups-raise"):
        raise RuntimeError("groups_for_user fails on purpose")
    if user == "bob" and environ["REQUEST_URI"].startswith("/groups-wrongtype"):
        return 7
    return GROUPS.get(user, [])
