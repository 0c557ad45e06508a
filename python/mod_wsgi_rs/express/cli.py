"""The `mod_wsgi_rs-express` command: mod_wsgi-express 6.1.1's commands
and options (its cli.py), for this module.

    start-server [SCRIPT] [options]   Apache in the foreground
    setup-server [SCRIPT] [options]   a server root with apachectl
    module-location, module-config, install-module
                                      mod_wsgi_rs.module.main's

Errors are argparse's: `mod_wsgi_rs-express: error: ...` on stderr, exit 2.
"""

import os
import sys

from . import options as option_parser
from .server import ConfigurationError, check_ports_free, setup_server, \
    start_server

PROG = option_parser.PROG

USAGE = """usage: %s command [params]

Commands:
    install-module
    module-config
    module-location
    setup-server
    start-server
""" % PROG

MODULE_COMMANDS = ('install-module', 'module-config', 'module-location')


def fail(message):
    sys.stderr.write('%s: error: %s\n' % (PROG, message))
    return 2


def _server(command, argv):
    options, args = option_parser.parse(command, argv)
    try:
        config = setup_server(command, args, options)
        if command == 'setup-server' or config['setup_only']:
            return 0
        check_ports_free(config)
    except ConfigurationError as exc:
        return fail(str(exc))
    return start_server(config)


def _module_command(command, argv):
    try:
        from mod_wsgi_rs import module
    except ImportError as exc:
        return fail('%s needs mod_wsgi_rs.module: %s' % (command, exc))
    run = getattr(module, 'main', None)
    if run is None:
        return fail('%s needs mod_wsgi_rs.module.main, which this '
                'installation of mod_wsgi_rs lacks.' % command)
    return run(command, argv)


def main(argv=None):
    """Runs one command; returns its exit status (start-server returns only
    when Apache stops, or not at all: Apache replaces this process when
    stdout is not a terminal)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        sys.stderr.write(USAGE)
        return fail('No command was specified.')
    command = argv.pop(0)
    # As mod_wsgi-express: $VARIABLES in arguments are expanded, for unit
    # files and Dockerfiles that pass them unexpanded.
    argv = [os.path.expandvars(arg) for arg in argv]
    if command in ('-h', '--help'):
        sys.stdout.write(USAGE)
        return 0
    if command in ('start-server', 'setup-server'):
        try:
            return _server(command, argv)
        except SystemExit as exc:
            # argparse's exit (usage errors, --help) as a return value.
            return exc.code if isinstance(exc.code, int) else 2
    if command in MODULE_COMMANDS:
        return _module_command(command, argv)
    sys.stderr.write(USAGE)
    return fail('Invalid command was specified.')
