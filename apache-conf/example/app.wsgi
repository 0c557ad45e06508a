"""The bundled example: a small PEP 3333 application that shows what it runs on."""

import sys


def application(environ, start_response):
    if environ["PATH_INFO"] == "/echo" and environ["REQUEST_METHOD"] == "POST":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))])
        return [body]
    lines = [
        "Hello from mod_wsgi_rs!",
        "",
        f"Python {sys.version.split()[0]} ({sys.executable})",
        f"Apache {'.'.join(map(str, environ.get('apache.version', ())))}",
        f"SCRIPT_NAME={environ['SCRIPT_NAME']!r} PATH_INFO={environ['PATH_INFO']!r}",
        f"multithread={environ['wsgi.multithread']} multiprocess={environ['wsgi.multiprocess']}",
        "",
        "POST a body to /echo to have it sent back.",
        "",
    ]
    body = "\n".join(lines).encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
