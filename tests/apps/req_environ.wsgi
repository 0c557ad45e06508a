# Reports the WSGI environ, one "key=ascii(value)" per line, plus a few
# facts about its shape. The request method is also echoed in a response
# header so that a HEAD request can see it.


def application(environ, start_response):
    environ["wsgi.errors"].write("req_environ called: %s\n" % environ.get("REQUEST_URI"))
    lines = ["__is_dict__=%s" % (type(environ) is dict)]
    nonstr = sorted(
        k
        for k, v in environ.items()
        if not k.startswith(("wsgi.", "mod_wsgi.", "apache.")) and not isinstance(v, str)
    )
    lines.append("__nonstr__=%s" % ascii(nonstr))
    lines.append("__nonstr_keys__=%s" % ascii([k for k in environ if not isinstance(k, str)]))
    errors = environ["wsgi.errors"]
    lines.append(
        "__errors_ok__=%s"
        % all(callable(getattr(errors, m, None)) for m in ("write", "writelines", "flush"))
    )
    lines.append("__file_wrapper_callable__=%s" % callable(environ.get("wsgi.file_wrapper")))
    lines.append(
        "__input_ok__=%s"
        % all(callable(getattr(environ["wsgi.input"], m, None)) for m in ("read", "readline", "readlines", "__iter__"))
    )
    for key in sorted(environ):
        lines.append("%s=%s" % (key, ascii(environ[key])))
    body = ("\n".join(lines) + "\n").encode("ascii", "backslashreplace")
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain"),
            ("Content-Length", str(len(body))),
            ("X-Request-Method", environ["REQUEST_METHOD"]),
        ],
    )
    return [body]
