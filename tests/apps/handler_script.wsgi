# For tests/handler_script.rs: a WSGIHandlerScript. Requests whose handler
# names it run handle_request (not application), whatever file the URL maps to.
import os

LABEL = "main"


def handle_request(environ, start_response):
    lines = [
        "label=%s" % LABEL,
        "pid=%d" % os.getpid(),
        "file=%s" % __file__,
        "handler=%s" % environ.get("mod_wsgi.request_handler"),
        "process_group=%s" % environ.get("mod_wsgi.process_group"),
        "script_name=%s" % environ.get("SCRIPT_NAME"),
        "path_info=%s" % environ.get("PATH_INFO"),
        "authorization=%s" % environ.get("HTTP_AUTHORIZATION", ""),
    ]
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def application(environ, start_response):
    start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
    return [b"application called instead of handle_request\n"]
