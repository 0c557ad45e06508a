# Raises before start_response: the server must answer 500 and go on.
def application(environ, start_response):
    raise RuntimeError("soak: a deliberate failure")
