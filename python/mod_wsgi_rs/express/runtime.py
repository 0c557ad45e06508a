"""The application behind mod_wsgi_rs-express's handler.wsgi.

setup-server writes SERVER_ROOT/handler.wsgi as::

    from mod_wsgi_rs.express.runtime import application_from_options
    application = application_from_options({...})

and this module turns those options into the WSGI callable, as
mod_wsgi-express 6.1.1's ``ApplicationHandler`` does for its application
types:

- ``script``: the file is compiled and run as the module ``__wsgi__``
  (mod_wsgi-express's name for it), and its ``callable_object`` is served;
- ``module``: a dotted module name is imported from the working directory
  (or the python path), and its ``callable_object`` is served;
  ``pkg.mod:name`` names the callable in the entry point itself, as
  gunicorn and uWSGI users write it (``name`` may be dotted:
  ``pkg.mod:app.wsgi_app``);
- ``paste``: a PasteDeploy .ini file, loaded with ``paste.deploy.loadapp``.

A bad entry point raises ``ApplicationError`` with one sentence saying what
is wrong and what to do; the module logs it, and answers 500, as for any
script that fails to load.

With ``reload_on_changes`` the reloader (reloader.py) watches every loaded
module's file, and the entry point, and restarts the daemon process when
one changes.
"""

import importlib
import os
import sys
import types

from . import reloader

# The keys setup-server writes into handler.wsgi (PLAN4's handler interface).
OPTION_KEYS = (
    "application_type",
    "entry_point",
    "callable_object",
    "working_directory",
    "reload_on_changes",
    "reload_interval",
    "server_root",
)

APPLICATION_TYPES = ("script", "module", "paste")

# mod_wsgi-express's name for the module a script type runs as.
SCRIPT_MODULE_NAME = "__wsgi__"


class ApplicationError(Exception):
    """The entry point cannot give a WSGI application."""


def check_options(options):
    """Raises ApplicationError when handler.wsgi's options are incomplete."""
    missing = [key for key in OPTION_KEYS if key not in options]
    if missing:
        raise ApplicationError(
            "handler.wsgi lacks the option(s) %s: run setup-server again" % ", ".join(missing)
        )
    if options["application_type"] not in APPLICATION_TYPES:
        raise ApplicationError(
            "unknown application type %r: use one of %s"
            % (options["application_type"], ", ".join(APPLICATION_TYPES))
        )


def split_module_entry_point(entry_point, callable_object):
    """('pkg.mod', 'name') from 'pkg.mod:name', or from 'pkg.mod' and the
    callable object option."""
    module_name, colon, name = entry_point.partition(":")
    module_name = module_name.strip()
    name = name.strip() if colon else callable_object
    if not module_name or not name:
        raise ApplicationError(
            "the entry point %r is not a module name: write it as "
            "'package.module' or 'package.module:callable'" % entry_point
        )
    return module_name, name


def entry_point_problem(options):
    """What is wrong with the entry point, found before Apache starts
    (a missing file), or None. A module is not imported here: importing the
    application may have effects that belong in the daemon process only."""
    kind = options["application_type"]
    entry_point = options["entry_point"]
    if kind in ("script", "paste"):
        if not os.path.isfile(entry_point):
            return "the %s file %s does not exist" % (
                "WSGI script" if kind == "script" else "PasteDeploy configuration",
                entry_point,
            )
        if not os.access(entry_point, os.R_OK):
            return "the file %s cannot be read" % entry_point
        return None
    try:
        split_module_entry_point(entry_point, options["callable_object"])
    except ApplicationError as error:
        return str(error)
    return None


def find_callable(namespace, dotted_name, where):
    """The object `dotted_name` names in `namespace` (a module), checked to
    be callable."""
    found = namespace
    for part in dotted_name.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ApplicationError(
                "%s has no %r: name the WSGI application with --callable-object "
                "(it defines: %s)" % (where, dotted_name, public_names(namespace))
            ) from None
    if not callable(found):
        raise ApplicationError(
            "%s: %r is a %s, not a WSGI application (a callable)"
            % (where, dotted_name, type(found).__name__)
        )
    return found


def public_names(module):
    names = sorted(name for name in vars(module) if not name.startswith("_"))
    return ", ".join(names) if names else "nothing"


def load_script(path, callable_object):
    """Runs the script as the module ``__wsgi__`` and returns its callable."""
    try:
        with open(path, "rb") as source:
            code = compile(source.read(), path, "exec", dont_inherit=True)
    except OSError as error:
        raise ApplicationError(
            "the WSGI script %s cannot be read: %s" % (path, error.strerror)
        ) from None
    module = types.ModuleType(SCRIPT_MODULE_NAME)
    module.__file__ = path
    # Registered before it runs, as an import does, so the script's own
    # classes pickle and its imports can find it.
    sys.modules[SCRIPT_MODULE_NAME] = module
    exec(code, module.__dict__)
    return find_callable(module, callable_object, "the WSGI script %s" % path)


def load_module(entry_point, callable_object):
    module_name, name = split_module_entry_point(entry_point, callable_object)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        # Only when the entry point itself (or a package above it) is
        # missing: a missing import inside the application propagates
        # with its own traceback.
        if error.name == module_name or module_name.startswith("%s." % error.name):
            raise ApplicationError(
                "no module named %r on the python path (sys.path: %s): "
                "set --working-directory or --python-path to the directory "
                "that holds it" % (module_name, sys.path)
            ) from None
        raise
    return find_callable(module, name, "the module %s" % module_name)


def load_paste(path):
    try:
        from paste.deploy import loadapp
    except ImportError:
        raise ApplicationError(
            "the paste application type needs PasteDeploy in the daemon's "
            "Python: pip install PasteDeploy"
        ) from None
    if not os.path.isfile(path):
        raise ApplicationError("the PasteDeploy configuration %s does not exist" % path)
    return loadapp("config:%s" % path)


def watched_file(options):
    """The file whose change restarts the process besides the loaded
    modules: the .ini file of a paste application is not a module."""
    if options["application_type"] == "paste":
        return options["entry_point"]
    return None


def add_working_directory(working_directory):
    """The working directory first on sys.path, as mod_wsgi's daemon
    ``home=`` puts it (wsgi_interp.c): a module entry point is found there."""
    if working_directory and working_directory not in sys.path:
        sys.path.insert(0, working_directory)


def application_from_options(options):
    """The WSGI application handler.wsgi serves."""
    check_options(options)
    add_working_directory(options["working_directory"])
    kind = options["application_type"]
    entry_point = options["entry_point"]
    if kind == "script":
        application = load_script(entry_point, options["callable_object"])
    elif kind == "module":
        application = load_module(entry_point, options["callable_object"])
    else:
        application = load_paste(entry_point)
    if options["reload_on_changes"]:
        extra = watched_file(options)
        if extra:
            reloader.track_changes(extra)
        reloader.start_reloader(interval=options["reload_interval"])
    return application
