"""What runmodwsgi hands to ``mod_wsgi_rs-express start-server``, from the
project's settings: the pure part of the command, without Django.

As mod_wsgi 6.1.1's runmodwsgi: the application is WSGI_APPLICATION's
module and callable (application type ``module``); the working directory
is BASE_DIR (else the directory above the settings' top package); STATIC_URL
is mapped to STATIC_ROOT with ``--url-alias`` (first, so that the user's
own aliases follow it), unless WhiteNoise serves the static files.

The project's arguments come first and the user's after them: for an option
given twice the last wins, so ``--working-directory`` or ``--callable-object``
on the command line still overrides what the settings say.
"""

import os

WHITENOISE = "whitenoise.middleware.WhiteNoiseMiddleware"


class SettingsError(Exception):
    """The settings do not say what to serve."""


def split_wsgi_application(wsgi_application):
    """('project.wsgi', 'application') from 'project.wsgi.application'."""
    if not wsgi_application:
        raise SettingsError(
            "settings.WSGI_APPLICATION is not set: set it to the dotted path "
            "of the project's WSGI application, e.g. 'mysite.wsgi.application'"
        )
    module_name, _, callable_object = str(wsgi_application).rpartition(".")
    if not module_name or not callable_object:
        raise SettingsError(
            "settings.WSGI_APPLICATION %r is not a dotted path to a callable, "
            "e.g. 'mysite.wsgi.application'" % wsgi_application
        )
    return module_name, callable_object


def working_directory(base_dir, settings_module, settings_file):
    """BASE_DIR, else the directory that holds the settings' top package."""
    if base_dir:
        return str(base_dir)
    if not settings_file:
        return os.getcwd()
    depth = len(settings_module.split("."))
    directory = os.path.dirname(os.path.abspath(settings_file))
    for _ in range(depth - 1):
        directory = os.path.dirname(directory)
    return directory


def static_alias(static_url, static_root, middleware):
    """(URL path, directory) for the static files, or None with why not."""
    if WHITENOISE in (middleware or ()):
        return None, "WhiteNoise serves the static files"
    static_url = str(static_url or "")
    if not static_url.startswith("/"):
        return None, "STATIC_URL %r is not a path on this site" % static_url
    if not static_root:
        return None, (
            "STATIC_ROOT is not set: set it and run `manage.py collectstatic` "
            "to have the static files served"
        )
    return (static_url.rstrip("/") or "/", str(static_root)), None


def express_arguments(wsgi_application, directory, alias, user_args, pythonpath=None):
    """The argument list for ``mod_wsgi_rs.express.cli.main``."""
    module_name, callable_object = split_wsgi_application(wsgi_application)
    argv = [
        "start-server",
        "--application-type", "module",
        "--entry-point", module_name,
        "--callable-object", callable_object,
        "--working-directory", directory,
    ]
    if pythonpath:
        # Django's --pythonpath changes only this process's sys.path: the
        # daemon needs it too.
        argv += ["--python-path", pythonpath]
    if alias:
        argv += ["--url-alias", alias[0], alias[1]]
    return argv + list(user_args)
