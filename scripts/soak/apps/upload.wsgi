# Reads the request body through wsgi.input in 16 KiB reads and answers with
# the number of bytes read and their sum modulo 2**32 (so a lost or repeated
# block shows).
def application(environ, start_response):
    remaining = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    total = checksum = 0
    while remaining > 0:
        block = stream.read(min(16384, remaining))
        if not block:
            break
        total += len(block)
        checksum = (checksum + sum(block)) & 0xFFFFFFFF
        remaining -= len(block)
    body = f"{total} {checksum}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
