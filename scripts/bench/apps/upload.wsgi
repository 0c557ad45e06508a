# Reads the request body through wsgi.input in 64 KiB reads and answers
# with the number of bytes read.
def application(environ, start_response):
    remaining = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    total = 0
    while remaining > 0:
        block = stream.read(min(65536, remaining))
        if not block:
            break
        total += len(block)
        remaining -= len(block)
    body = str(total).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
