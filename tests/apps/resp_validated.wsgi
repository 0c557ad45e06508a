# An application behind wsgiref.validate.validator, for tests/response.rs.
# The validator raises AssertionError on any PEP 3333 violation by the
# server or the application; its warnings are made errors too.

import warnings
from wsgiref.validate import WSGIWarning, validator

warnings.simplefilter("error", WSGIWarning)


def text(start_response, body, status="200 OK"):
    body = body.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def inner(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/get":
        environ["wsgi.errors"].write("validated app wrote to wsgi.errors\n")
        environ["wsgi.errors"].flush()
        return text(start_response, "GET ok: " + environ["QUERY_STRING"])
    if path == "/post":
        stream = environ["wsgi.input"]
        length = int(environ["CONTENT_LENGTH"])
        parts = [stream.readline(), stream.readline(), stream.read(10)]
        parts.append(stream.read(length - sum(len(p) for p in parts)))
        parts.append(stream.read(10))
        return text(start_response, repr([p.decode() for p in parts]))
    if path == "/lines":
        lines = environ["wsgi.input"].readlines()
        return text(start_response, repr([line.decode() for line in lines]))
    if path == "/stream":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written;")

        def chunks():
            for i in range(3):
                yield b"chunk %d;" % i

        return chunks()
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    return text(start_response, "no such path", "404 Not Found")


application = validator(inner)
