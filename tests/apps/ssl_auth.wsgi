# The authentication and access script of tests/script_mod_ssl.rs: writes
# what mod_ssl.is_https and mod_ssl.var_lookup answer to wsgi.errors, and
# what the functions of the previous call answer now that it is over.

PREVIOUS = {}


def report(step, environ):
    is_https = environ["mod_ssl.is_https"]
    var_lookup = environ["mod_ssl.var_lookup"]
    print(
        "ssl-note %s is_https=%r HTTPS=%r bytes-HTTPS=%r"
        % (step, is_https(), var_lookup("HTTPS"), var_lookup(b"HTTPS")),
        file=environ["wsgi.errors"],
    )
    old = PREVIOUS.get(step)
    if old is not None:
        try:
            old()
            stale = "answered"
        except RuntimeError as e:
            stale = "RuntimeError: %s" % e
        print("ssl-note %s stale=%s" % (step, stale), file=environ["wsgi.errors"])
    PREVIOUS[step] = is_https


def allow_access(environ, host):
    report("access", environ)
    return True


def check_password(environ, user, password):
    report("password", environ)
    return user == "alice" and password == "wonderland"
