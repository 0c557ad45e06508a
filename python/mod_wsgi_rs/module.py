"""Where the Apache module is, and the commands that hand it to an Apache:
module-location, module-config and install-module, as mod_wsgi-express
6.1.1 has them (same names, options and output lines).

The module is looked up in this order:
1. ``MOD_WSGI_RS_MODULE`` in the environment (tests, and users who built
   the module themselves with cargo);
2. the module a pip install put beside this package
   (``mod_wsgi_rs-pyXY<EXT_SUFFIX>``, as mod_wsgi names its own);
3. ``target/release/libmod_wsgi_rs.so`` of the checkout this package sits
   in (running from a clone with ``PYTHONPATH=python``).
"""

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

# Where Debian's apache2 keeps its modules: install-module's last resort
# when neither the build nor an apxs on PATH says otherwise.
_DEBIAN_MODULES_DIRECTORY = "/usr/lib/apache2/modules"

COMMANDS = ("install-module", "module-config", "module-location")


def installed_module_name():
    """The file name a pip install gives the module (setup.py's name)."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return "mod_wsgi_rs-py%d%d%s" % (sys.version_info[0], sys.version_info[1], suffix)


def module_location():
    """The path of the module, or None when there is none."""
    override = os.environ.get("MOD_WSGI_RS_MODULE")
    if override:
        return override
    installed = os.path.join(_PACKAGE_DIR, installed_module_name())
    if os.path.exists(installed):
        return installed
    checkout = os.path.join(
        os.path.dirname(os.path.dirname(_PACKAGE_DIR)), "target", "release", "libmod_wsgi_rs.so"
    )
    if os.path.exists(checkout):
        return checkout
    return None


def python_dylib():
    """The libpython Apache must load first where the module cannot name it
    itself (macOS framework builds: WITH_DYLD), as mod_wsgi-express's
    platform.py decides; empty on Linux, where the module links libpython."""
    libdir = sysconfig.get_config_var("LIBDIR")
    ldlibrary = sysconfig.get_config_var("LDLIBRARY")
    if sysconfig.get_config_var("WITH_DYLD") and libdir and ldlibrary:
        dylib = os.path.join(libdir, ldlibrary)
        if os.path.exists(dylib):
            return dylib
    return ""


def config_lines(module_path, prefix=None, dylib=None):
    """The lines that load the module into an Apache and point it at this
    Python's environment (its sys.prefix: a venv's, when run from one)."""
    prefix = os.path.normpath(sys.prefix if prefix is None else prefix)
    dylib = python_dylib() if dylib is None else dylib
    lines = []
    if dylib:
        lines.append('LoadFile "%s"' % dylib)
    lines.append('LoadModule wsgi_module "%s"' % module_path)
    lines.append('WSGIPythonHome "%s"' % prefix)
    return lines


def default_modules_directory():
    """Apache's modules directory: what apxs said when the module was built
    (as mod_wsgi records it), else what an apxs on PATH says now."""
    try:
        from mod_wsgi_rs import _build_config
    except ImportError:
        _build_config = None
    if _build_config is not None:
        return _build_config.LIBEXECDIR
    apxs = shutil.which(os.environ.get("APXS", "apxs"))
    if apxs:
        out = subprocess.run([apxs, "-q", "LIBEXECDIR"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    return _DEBIAN_MODULES_DIRECTORY


def install_module(source, modules_directory):
    """Copies the module into `modules_directory`; returns the new path.

    The copy is written beside the target and renamed over it, so that an
    Apache that has the old file mapped keeps running on the old file
    rather than crashing on one rewritten under it."""
    target = os.path.abspath(os.path.join(modules_directory, os.path.basename(source)))
    fd, partial = tempfile.mkstemp(prefix=".mod_wsgi_rs-", dir=os.path.dirname(target))
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    except BaseException:
        os.unlink(partial)
        raise
    return target


def _parser(command, usage):
    return argparse.ArgumentParser(prog="mod_wsgi_rs-express %s" % command, usage=usage)


def _located(parser):
    path = module_location()
    if path is None or not os.path.exists(path):
        parser.error(
            "the Apache module is not installed%s: pip install this package (which builds it), "
            "or set MOD_WSGI_RS_MODULE to a module built with `cargo build --release`"
            % (" (no file %s)" % path if path else "")
        )
    return path


def cmd_module_location(argv):
    parser = _parser("module-location", "%(prog)s")
    parser.parse_args(argv)
    print(_located(parser))
    return 0


def cmd_module_config(argv):
    parser = _parser("module-config", "%(prog)s")
    parser.parse_args(argv)
    for line in config_lines(_located(parser)):
        print(line)
    return 0


def cmd_install_module(argv):
    parser = _parser("install-module", "%(prog)s [options]")
    parser.add_argument(
        "--modules-directory",
        metavar="DIRECTORY",
        default=None,
        help="Apache's modules directory (default: apxs's LIBEXECDIR)",
    )
    options = parser.parse_args(argv)
    source = _located(parser)
    directory = options.modules_directory or default_modules_directory()
    if not os.path.isdir(directory):
        parser.error("the modules directory %s does not exist" % directory)
    try:
        target = install_module(source, directory)
    except OSError as e:
        parser.error("cannot install the module into %s: %s" % (directory, e))
    for line in config_lines(target):
        print(line)
    return 0


_HANDLERS = {
    "install-module": cmd_install_module,
    "module-config": cmd_module_config,
    "module-location": cmd_module_location,
}


def main(command, argv):
    """Runs one of COMMANDS with its arguments; returns the exit status
    (argparse's 2 for a usage error, after printing it to stderr). The
    express runner's cli.main calls it, having expanded $VARIABLES in the
    arguments as mod_wsgi-express does."""
    handler = _HANDLERS.get(command)
    if handler is None:
        print("mod_wsgi_rs-express: error: invalid command %r" % command, file=sys.stderr)
        return 2
    try:
        return handler(argv)
    except SystemExit as e:
        if e.code is None:
            return 0
        return e.code if isinstance(e.code, int) else 1


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: python -m mod_wsgi_rs.module %s [options]" % "|".join(COMMANDS), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
