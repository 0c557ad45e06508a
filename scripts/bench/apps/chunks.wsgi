# A generator of 10,000 small chunks (10 bytes each), no Content-Length:
# the response goes out chunked.
CHUNK = b"012345678\n"


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    for _ in range(10000):
        yield CHUNK
