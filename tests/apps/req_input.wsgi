# Exercises wsgi.input; what it does depends on PATH_INFO.
import zlib


def respond(start_response, text):
    body = text.encode("ascii", "backslashreplace")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def application(environ, start_response):
    inp = environ["wsgi.input"]
    path = environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    environ["wsgi.errors"].write("req_input called: %s?%s\n" % (path, query))

    if path == "/read":
        data = inp.read(-1) if query == "negative" else inp.read()
        # Past the end: every call returns b'' at once.
        after = [inp.read(), inp.read(10), inp.readline(), inp.readlines(), inp.read(0)]
        return respond(
            start_response,
            "len=%d crc=%08x after=%s" % (len(data), zlib.crc32(data), ascii(after)),
        )

    if path == "/chunks":
        size = int(query or 65536)
        total = reads = biggest = 0
        crc = 0
        while True:
            chunk = inp.read(size)
            if not chunk:
                break
            reads += 1
            total += len(chunk)
            biggest = max(biggest, len(chunk))
            crc = zlib.crc32(chunk, crc)
        after = [inp.read(size), inp.read()]
        return respond(
            start_response,
            "len=%d crc=%08x reads=%d biggest=%d after=%s" % (total, crc, reads, biggest, ascii(after)),
        )

    if path == "/ops":
        out = [
            inp.read(0),
            inp.readline(),
            inp.readline(5),
            inp.readline(),
            inp.read(3),
            inp.readline(100),
            inp.read(),
            inp.read(),
            inp.readline(),
            inp.read(5),
            inp.readlines(),
        ]
        return respond(start_response, "\n".join(ascii(x) for x in out))

    if path == "/readlines":
        return respond(start_response, ascii(inp.readlines()))

    if path == "/readlines-hint":
        first = inp.readlines(3)
        return respond(start_response, ascii([first, inp.read()]))

    if path == "/iter":
        return respond(start_response, ascii(list(inp)))

    if path == "/ignore":
        return respond(start_response, "ignored")

    if path == "/catch":
        try:
            data = inp.read()
        except OSError as e:
            return respond(start_response, "%s: %s" % (type(e).__name__, e))
        return respond(start_response, "no error: %d bytes" % len(data))

    return respond(start_response, "unknown path %r" % path)
