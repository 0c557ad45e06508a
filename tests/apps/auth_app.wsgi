# Says who Apache authenticated, and where the application ran.
import os


def application(environ, start_response):
    body = "user=%s\nauth_type=%s\nprocess_group=%s\npid=%d\n" % (
        environ.get("REMOTE_USER"),
        environ.get("AUTH_TYPE"),
        environ["mod_wsgi.process_group"],
        os.getpid(),
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
