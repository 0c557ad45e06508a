# A 512 KiB file through wsgi.file_wrapper, with Content-Length.
import os

PATH = os.path.join(os.path.dirname(__file__), "..", "htdocs", "512K.bin")


def application(environ, start_response):
    f = open(PATH, "rb")
    size = os.fstat(f.fileno()).st_size
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(size))])
    return environ["wsgi.file_wrapper"](f, 65536)
