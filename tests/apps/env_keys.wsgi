# Reports mod_wsgi's own environ keys, and what the test compares them
# with: this process's pid, the time now, the parent of the reported
# server pid. One "key=ascii(value)" line each, as req_environ.wsgi.
import os
import time


def application(environ, start_response):
    now = time.time()
    lines = ["__pid__=%d" % os.getpid(), "__now__=%r" % now]
    for key in sorted(environ):
        if key.startswith("mod_wsgi.") or key in ("wsgi.url_scheme", "HTTPS", "UNIQUE_ID", "REQUEST_SCHEME", "SCRIPT_NAME", "PATH_INFO"):
            value = environ[key]
            lines.append("%s=%s" % (key, ascii(value)))
            lines.append("%s:type=%s" % (key, type(value).__name__))
    body = ("\n".join(lines) + "\n").encode("ascii")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
