# A generator of 64 blocks of 1 KiB, no Content-Length: the response goes
# out chunked, one block at a time.
BLOCKS = [bytes([65 + i % 26]) * 1024 for i in range(64)]


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    for block in BLOCKS:
        yield block
