# The dispatch script of tests/script_mod_ssl.rs: writes what
# mod_ssl.is_https and mod_ssl.var_lookup answer to wsgi.errors and keeps
# the configured route.


def application_group(environ):
    print(
        "ssl-note dispatch is_https=%r HTTPS=%r"
        % (environ["mod_ssl.is_https"](), environ["mod_ssl.var_lookup"]("HTTPS")),
        file=environ["wsgi.errors"],
    )
    return None
