"""The server root and the running server: setup_server writes httpd.conf,
handler.wsgi, apachectl and envvars and prints the summary of settings;
start_server then runs Apache in the foreground through apachectl, as
mod_wsgi-express 6.1.1's start-server does.
"""

import errno
import os
import signal
import socket
import subprocess
import sys

from .apache import apache_config
from .resolve import ConfigurationError, resolve
from .scripts import write_scripts

__all__ = ['ConfigurationError', 'setup_server', 'start_server', 'summary']


def _module_location():
    from mod_wsgi_rs.module import module_location
    location = module_location()
    if not location or not os.path.exists(location):
        raise ConfigurationError('the Apache module was not found (%s): '
                'build it (cargo build --release), pip install this '
                'package, or set MOD_WSGI_RS_MODULE.' % (location or
                'nowhere'))
    return os.path.abspath(location)


def setup_server(command, args, options):
    """Resolves `options`, writes the server root and prints the summary;
    returns the resolved options."""
    resolve(command, args, options, _module_location())
    write_scripts(command, options)
    if not options['user_rewrite_rules'] and not os.path.isfile(
            options['rewrite_rules']):
        open(options['rewrite_rules'], 'w').close()
    with open(options['httpd_conf'], 'w') as fp:
        fp.write(apache_config(options))
    sys.stdout.write(summary(command, options))
    sys.stdout.flush()
    return options


def summary(command, options):
    """The lines mod_wsgi-express prints before it starts Apache."""
    rewrite_rules = options['user_rewrite_rules']
    lines = [('Server URL', options['url'])]
    if options['https_url']:
        lines.append(('Server URL (HTTPS)', options['https_url']))
    if options['server_status']:
        lines.append(('Server Status', '%sserver-status' % options['url']))
    lines += [('Server Root', options['server_root']),
            ('Server Conf', options['httpd_conf']),
            ('Error Log File', '%s (%s)' % (options['error_log_file'],
                options['log_level']))]
    if options['access_log']:
        lines.append(('Access Log File', options['access_log_file']))
    if options['startup_log']:
        lines.append(('Startup Log File', options['startup_log_file']))
    if rewrite_rules:
        lines.append(('Rewrite Rules', rewrite_rules))
    if options['envvars_script']:
        lines.append(('Environ Variables', options['envvars_script']))
    if command == 'setup-server' or options['setup_only']:
        if not rewrite_rules:
            lines.append(('Rewrite Rules',
                    options['server_root'] + '/rewrite.conf'))
        if not options['envvars_script']:
            lines.append(('Environ Variables',
                    options['server_root'] + '/envvars'))
        lines.append(('Control Script', options['server_root'] + '/apachectl'))
    lines.append(('Operating Mode',
            'embedded' if options['embedded_mode'] else 'daemon'))
    processes, threads = options['processes'], options['threads']
    lines.append(('Request Capacity', '%s (%s process%s * %s threads)' % (
            processes * threads, processes, '' if processes == 1 else 'es',
            threads)))
    if not options['embedded_mode']:
        lines.append(('Request Timeout', '%s (seconds)' %
                options['request_timeout']))
        if options['interrupt_timeout']:
            lines.append(('Interrupt Timeout', '%s (seconds)' %
                    options['interrupt_timeout']))
        if options['startup_timeout']:
            lines.append(('Startup Timeout', '%s (seconds)' %
                    options['startup_timeout']))
        lines += [('Queue Backlog', '%s (connections)' %
                    options['daemon_backlog']),
                ('Queue Timeout', '%s (seconds)' % options['queue_timeout']),
                ('Server Capacity', '%s (event/worker), %s (prefork)' % (
                    options['worker_max_clients'],
                    options['prefork_max_clients']))]
    lines += [('Server Backlog', '%s (connections)' %
                options['server_backlog']),
            ('Locale Setting', options['locale'])]
    return ''.join('%-19s: %s\n' % line for line in lines)


def check_ports_free(options):
    """Refuses to start when a port is already taken: Apache would say so
    only in its error log, after 'Unable to open logs'."""
    host = options['listener_host'] or '0.0.0.0'
    for port in (options['port'], options['https_port']):
        if not port:
            continue
        probe = socket.socket(socket.AF_INET6 if ':' in host else
                socket.AF_INET)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigurationError('port %d on %s is already in use.'
                        % (port, host))
            if exc.errno == errno.EADDRNOTAVAIL:
                raise ConfigurationError('cannot listen on %s: no such '
                        'local address.' % host)
            if exc.errno != errno.EACCES:
                raise ConfigurationError('cannot listen on %s:%d: %s' % (
                        host, port, exc.strerror))
        finally:
            probe.close()


# Stop, restart and graceful restart for Apache, and a resized terminal,
# which the runner keeps from Apache.
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
        signal.SIGUSR1, signal.SIGWINCH)


def start_server(options):
    """Runs Apache in the foreground with the written apachectl. Stops on
    SIGTERM and SIGINT, as Apache does."""
    executable = os.path.join(options['server_root'], 'apachectl')
    # Some supervisors and CI runners start their children with these
    # signals blocked. A blocked mask survives exec, so neither this runner
    # nor Apache would ever see a Ctrl-C, a stop or a graceful restart.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED_SIGNALS)
    if not sys.stdout.isatty():
        # Apache replaces this process: signals reach it directly, and its
        # exit status is the command's.
        os.execl(executable, executable, 'start', '-DFOREGROUND')
    # In a terminal, Apache gets its own process group, so that a Ctrl-C
    # reaches only its parent (which stops its children in order), and a
    # resized window (SIGWINCH, a graceful stop for Apache) none of it.
    process = None

    def forward(signum, frame):
        if process is None:
            sys.exit(1)
        if signum != signal.SIGWINCH:
            os.kill(process.pid, signum)

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    process = subprocess.Popen([executable, 'start', '-DFOREGROUND'],
            process_group=0)
    return process.wait()
