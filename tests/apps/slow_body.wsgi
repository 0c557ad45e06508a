# For tests/hardening_timeouts.rs: reads the whole body and answers what
# read() did; a body cut off by mod_reqtimeout gives OSError.


def application(environ, start_response):
    try:
        data = environ["wsgi.input"].read()
        outcome = "read %d" % len(data)
    except OSError:
        outcome = "OSError"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [outcome.encode()]
