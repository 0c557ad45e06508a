# For tests/dispatch_script.rs: reports where it ran and which callable ran.
import os
import sys


def _facts(environ, start_response, which):
    lines = [
        "callable=%s" % which,
        "pid=%d" % os.getpid(),
        "process_group=%s" % environ.get("mod_wsgi.process_group"),
        "application_group=%s" % environ.get("mod_wsgi.application_group"),
        "callable_object=%s" % environ.get("mod_wsgi.callable_object"),
        "request_rec=%s" % ("apache.request_rec" in environ),
    ]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("\n".join(lines) + "\n").encode()]


def application(environ, start_response):
    return _facts(environ, start_response, "application")


def alt_app(environ, start_response):
    return _facts(environ, start_response, "alt_app")
