# For tests/express_config.rs: the application mod_wsgi-express serves
# through its handler.wsgi (mod_wsgi.express.runtime.ApplicationHandler).
import os
import sys


def application(environ, start_response):
    import mod_wsgi

    lines = [
        "pid=%d" % os.getpid(),
        "process_group=%s" % environ.get("mod_wsgi.process_group"),
        "handler=%s" % environ.get("mod_wsgi.request_handler"),
        "script_name=%s" % environ.get("SCRIPT_NAME"),
        "path_info=%s" % environ.get("PATH_INFO"),
        "express=%s" % os.environ.get("MOD_WSGI_EXPRESS"),
        "runtime=%s" % ("mod_wsgi.express.runtime" in sys.modules),
        "mod_wsgi_path=%s" % bool(getattr(mod_wsgi, "__path__", None)),
        "prefix=%s" % sys.prefix,
    ]
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
