# Streams up to 32 MiB in 64 KiB blocks, no Content-Length; the soak's
# client reads the first 128 KiB and then closes or resets the connection,
# so the server must notice the client is gone and close the generator.
BLOCK = b"e" * 65536


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    for _ in range(512):
        yield BLOCK
