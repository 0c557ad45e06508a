# Several WSGI callables, for callable-object= and WSGICallableObject.


def _make(name):
    def app(environ, start_response):
        body = ("%s callable_object=%s" % (name, environ.get("mod_wsgi.callable_object"))).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return app


application = _make("application")
alt_app = _make("alt_app")
other = _make("other")
