"""mod_wsgi_rs-express's option parser (express/options.py) against
mod_wsgi-express 6.1.1's: the same names, destinations and defaults, and
bad values refused in argparse's form."""

import contextlib
import io
import os
import unittest

from mod_wsgi_rs.express.options import NOT_OFFERED, build_parser, parse

# Every option of mod_wsgi-express 6.1.1 (mod_wsgi/express/options.py's
# option_list, in its order), hidden ones included.
MOD_WSGI_EXPRESS_OPTIONS = (
    '--application-type', '--entry-point', '--application-group',
    '--process-group', '--host', '--port', '--http2', '--https-port',
    '--ssl-port', '--ssl-certificate-file', '--ssl-certificate-key-file',
    '--ssl-certificate', '--ssl-ca-certificate-file', '--ssl-verify-client',
    '--ssl-certificate-chain-file', '--ssl-environment', '--https-only',
    '--hsts-policy', '--server-name', '--server-alias', '--allow-localhost',
    '--processes', '--threads', '--max-clients', '--initial-workers',
    '--minimum-spare-workers', '--maximum-spare-workers',
    '--limit-request-body', '--maximum-requests', '--startup-timeout',
    '--shutdown-timeout', '--restart-interval', '--cpu-time-limit',
    '--graceful-timeout', '--eviction-timeout', '--deadlock-timeout',
    '--inactivity-timeout', '--ignore-activity', '--request-timeout',
    '--interrupt-timeout', '--connect-timeout', '--socket-timeout',
    '--proxy-timeout', '--queue-timeout', '--header-timeout',
    '--header-max-timeout', '--header-min-rate', '--body-timeout',
    '--body-max-timeout', '--body-min-rate', '--server-backlog',
    '--daemon-backlog', '--send-buffer-size', '--receive-buffer-size',
    '--header-buffer-size', '--response-buffer-size',
    '--response-socket-timeout', '--response-flush-delay',
    '--enable-sendfile', '--disable-reloading', '--reload-on-changes',
    '--user', '--group', '--callable-object', '--map-head-to-get',
    '--document-root', '--directory-index', '--directory-listing',
    '--allow-override', '--mount-point', '--url-alias', '--error-document',
    '--error-override', '--proxy-mount-point', '--proxy-url-alias',
    '--proxy-virtual-host', '--trust-proxy-header', '--trust-proxy',
    '--keep-alive-timeout', '--compress-responses', '--server-metrics',
    '--telemetry-service', '--enable-telemetry', '--telemetry-ui-port',
    '--telemetry-interval', '--slow-requests', '--switch-interval',
    '--free-threading', '--telemetry-options', '--server-status',
    '--host-access-script', '--auth-user-script', '--auth-type',
    '--auth-group-script', '--auth-group', '--include-file',
    '--rewrite-rules', '--envvars-script', '--lang', '--locale', '--setenv',
    '--passenv', '--working-directory', '--pid-file', '--server-root',
    '--server-mpm', '--log-directory', '--log-level', '--access-log',
    '--startup-log', '--verbose-debugging', '--log-to-terminal',
    '--access-log-format', '--error-log-format', '--error-log-name',
    '--access-log-name', '--startup-log-name', '--rotate-logs',
    '--max-log-size', '--rotatelogs-executable', '--python-path',
    '--python-eggs', '--python-warnings', '--shell-executable',
    '--httpd-executable', '--process-name', '--modules-directory',
    '--mime-types', '--socket-prefix', '--add-handler', '--chunked-request',
    '--with-php5', '--with-cgi', '--service-script', '--service-user',
    '--service-group', '--service-log-file', '--orphan-interpreter',
    '--embedded-mode', '--enable-docs', '--debug-mode', '--enable-debugger',
    '--debugger-startup', '--enable-coverage', '--coverage-directory',
    '--enable-profiler', '--profiler-directory', '--enable-recorder',
    '--recorder-directory', '--enable-gdb', '--gdb-executable',
    '--setup-only',
)


def offered():
    parser = build_parser('start-server')
    return {name for action in parser._actions
            for name in action.option_strings
            if name.startswith('--') and name != '--help'}


def refused(argv):
    """The exit status and stderr of parsing `argv`."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            parse('start-server', argv)
        except SystemExit as exc:
            return exc.code, err.getvalue()
    raise AssertionError('%r was accepted' % (argv,))


class OptionNames(unittest.TestCase):

    def test_mod_wsgi_express_options_are_offered_except_the_listed_ones(self):
        reference = set(MOD_WSGI_EXPRESS_OPTIONS)
        self.assertEqual(len(reference), 152)
        self.assertEqual(offered(), reference - set(NOT_OFFERED))
        self.assertTrue(set(NOT_OFFERED) <= reference)

    def test_an_option_not_offered_is_an_error(self):
        code, err = refused(['app.wsgi', '--debug-mode'])
        self.assertEqual(code, 2)
        self.assertIn('mod_wsgi_rs-express: error: unrecognized arguments: '
                '--debug-mode', err)


class Defaults(unittest.TestCase):

    def test_mod_wsgi_express_defaults(self):
        values, args = parse('start-server', [])
        self.assertEqual(args, [])
        expected = {
            'application_type': 'script', 'port': 8000, 'threads': 5,
            'processes': None, 'host': None, 'callable_object': 'application',
            'mount_point': '/', 'log_level': 'warn', 'access_log': False,
            'startup_log': False, 'log_to_terminal': False,
            'request_timeout': 60, 'maximum_requests': 0,
            'restart_interval': 0, 'queue_timeout': 45, 'socket_timeout': 60,
            'connect_timeout': 15, 'startup_timeout': 15,
            'shutdown_timeout': 5, 'graceful_timeout': 15,
            'deadlock_timeout': 60, 'keep_alive_timeout': 2,
            'limit_request_body': 10485760, 'server_backlog': 500,
            'daemon_backlog': 100, 'response_flush_delay': 5,
            'map_head_to_get': 'Auto', 'auth_type': 'Basic',
            'auth_group': 'wsgi', 'error_log_name': 'error_log',
            'access_log_name': 'access_log', 'startup_log_name': 'startup_log',
            'max_log_size': 5, 'trusted_proxy_headers': [],
            'trusted_proxies': [], 'setup_only': False,
            'reload_on_changes': False, 'embedded_mode': False,
        }
        for name, value in expected.items():
            self.assertEqual(values[name], value, name)

    def test_user_and_group_default_to_whoever_runs_the_command(self):
        import grp
        import pwd
        values, _ = parse('start-server', [])
        entry = pwd.getpwuid(os.getuid())
        self.assertEqual(values['user'], entry.pw_name)
        self.assertEqual(values['group'], grp.getgrgid(entry.pw_gid).gr_name)

    def test_repeatable_options_collect_in_order(self):
        values, args = parse('start-server', ['app.wsgi',
                '--url-alias', '/a', '/srv/a', '--url-alias', '/b', '/srv/b',
                '--python-path', '/p1', '--python-path', '/p2',
                '--trust-proxy-header', 'X-Forwarded-For',
                '--server-mpm', 'prefork', '--ssl-port', '8443'])
        self.assertEqual(args, ['app.wsgi'])
        self.assertEqual(values['url_aliases'], [['/a', '/srv/a'],
                ['/b', '/srv/b']])
        self.assertEqual(values['python_paths'], ['/p1', '/p2'])
        self.assertEqual(values['trusted_proxy_headers'], ['X-Forwarded-For'])
        self.assertEqual(values['server_mpm_variables'], ['prefork'])
        # --ssl-port is mod_wsgi-express's hidden alias of --https-port.
        self.assertEqual(values['https_port'], 8443)


class BadValues(unittest.TestCase):

    def test_each_is_refused_naming_the_option(self):
        cases = [
            (['--port', 'x'], "argument --port: invalid int value: 'x'"),
            (['--port', '0'], 'argument --port: 0 is not a port'),
            (['--processes', '0'], 'argument --processes: must be at least 1'),
            (['--threads', '0'], 'argument --threads: must be at least 1'),
            (['--maximum-requests', '-2'],
                'argument --maximum-requests: must not be negative'),
            (['--initial-workers', '1.5'],
                'value needs to be within the range 0 to 1'),
            (['--log-level', 'verbose'],
                "argument --log-level: invalid choice: 'verbose'"),
            (['--server-mpm', 'winnt'],
                "argument --server-mpm: invalid choice: 'winnt'"),
            (['--application-type', 'asgi'],
                "argument --application-type: invalid choice: 'asgi'"),
            (['--map-head-to-get', 'maybe'],
                "argument --map-head-to-get: invalid choice: 'maybe'"),
            (['a.wsgi', 'b.wsgi'], 'only one script is taken'),
            (['--url-alias', '/only-one'],
                'argument --url-alias: expected 2 arguments'),
        ]
        for argv, message in cases:
            code, err = refused(argv)
            self.assertEqual(code, 2, argv)
            self.assertIn('mod_wsgi_rs-express: error: ', err)
            self.assertIn(message, err, argv)

    @unittest.skipUnless(os.getuid() == 0, 'only root switches identity')
    def test_an_unknown_user_or_group_is_refused_as_root(self):
        code, err = refused(['--user', 'no-such-user-here'])
        self.assertIn("argument --user: no such user: 'no-such-user-here'",
                err)
        code, err = refused(['--user', 'www-data', '--group', 'nogroup-x'])
        self.assertIn("argument --group: no such group: 'nogroup-x'", err)

    def test_log_levels_are_apaches(self):
        for level in ('emerg', 'warn', 'info', 'debug', 'trace8', 'INFO'):
            parse('start-server', ['--log-level', level])


if __name__ == '__main__':
    unittest.main()
