# A second script for WSGIScriptAliasMatch back-references.


def application(environ, start_response):
    body = ("alt SCRIPT_NAME=%s PATH_INFO=%s" % (environ["SCRIPT_NAME"], environ["PATH_INFO"])).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
