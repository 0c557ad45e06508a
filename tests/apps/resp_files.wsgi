# wsgi.file_wrapper, for tests/file_wrapper.rs. The files to send are in the
# stage's data/ directory (the test creates them); what the application
# records goes to the stage's run/ directory. PATH_INFO picks the case,
# QUERY_STRING names the file (or the block size, or a record id).

import io
import os

STAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(STAGE, "data")
RUN = os.path.join(STAGE, "run")
OCTETS = ("Content-Type", "application/octet-stream")


def record(name, line):
    with open(os.path.join(RUN, name), "a") as f:
        f.write(line + "\n")


def data_file(environ):
    return open(os.path.join(DATA, environ["QUERY_STRING"]), "rb")


def file_chunked(environ, start_response):
    start_response("200 OK", [OCTETS])
    return environ["wsgi.file_wrapper"](data_file(environ))


def file_with_length(environ, start_response):
    f = data_file(environ)
    size = os.fstat(f.fileno()).st_size
    start_response("200 OK", [OCTETS, ("Content-Length", str(size))])
    return environ["wsgi.file_wrapper"](f, 65536)


def file_from_offset(environ, start_response):
    f = data_file(environ)
    f.seek(1000)
    size = os.fstat(f.fileno()).st_size
    start_response("200 OK", [OCTETS, ("Content-Length", str(size - 1000))])
    return environ["wsgi.file_wrapper"](f)


def file_from_offset_chunked(environ, start_response):
    f = data_file(environ)
    f.read(1000)  # through Python's buffer: tell() is 1000, the fd's offset is not
    start_response("200 OK", [OCTETS])
    return environ["wsgi.file_wrapper"](f)


def file_short_length(environ, start_response):
    start_response("200 OK", [OCTETS, ("Content-Length", "5000")])
    return environ["wsgi.file_wrapper"](data_file(environ))


class RecordingBytesIO(io.BytesIO):
    """A file-like with no file descriptor that records its reads and close()."""

    def __init__(self, data, name):
        super().__init__(data)
        self.sizes = []
        self.name = name

    def read(self, size=-1):
        self.sizes.append(size)
        return super().read(size)

    def close(self):
        record(self.name, "read sizes %s" % sorted(set(self.sizes)))
        super().close()


def bytesio(environ, start_response):
    blksize = int(environ["QUERY_STRING"])
    with open(os.path.join(DATA, "small.bin"), "rb") as f:
        data = f.read()
    start_response("200 OK", [OCTETS])
    return environ["wsgi.file_wrapper"](RecordingBytesIO(data, "bytesio-%d" % blksize), blksize)


class RecordingFile(io.FileIO):
    """A real file (sendfile may be used) that records close()."""

    def close(self):
        if not self.closed:
            record("file-closed", "closed")
        super().close()


def file_close(environ, start_response):
    f = RecordingFile(os.path.join(DATA, "small.bin"), "rb")
    start_response("200 OK", [OCTETS])
    return environ["wsgi.file_wrapper"](f)


ROUTES = {
    "/chunked": file_chunked,
    "/length": file_with_length,
    "/offset": file_from_offset,
    "/offset-chunked": file_from_offset_chunked,
    "/short-length": file_short_length,
    "/bytesio": bytesio,
    "/close": file_close,
}


def application(environ, start_response):
    return ROUTES[environ["PATH_INFO"]](environ, start_response)
