"""What setup-server resolves and writes (express/resolve.py, apache.py,
scripts.py, server.summary), without Apache: the daemon group, the python
path and home, mod_wsgi-express's capacity formulas and -D switches, only
directives this module supports, handler.wsgi's interface and its mount
point handling, and the summary."""

import os
import re
import sys
import tempfile
import types
import unittest

from mod_wsgi_rs.express import resolve as resolve_module
from mod_wsgi_rs.express.apache import apache_config
from mod_wsgi_rs.express.options import parse
from mod_wsgi_rs.express.resolve import (
    PACKAGE_PARENT, ConfigurationError, resolve,
)
from mod_wsgi_rs.express.scripts import handler_options, handler_script
from mod_wsgi_rs.express.server import summary

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
TABLE = os.path.join(REPO, 'crates', 'wsgi', 'src', 'config', 'table.rs')


class Resolved(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.script = os.path.join(self.tmp.name, 'app.wsgi')
        with open(self.script, 'w') as fp:
            fp.write('application = None\n')

    def resolved(self, *argv, script=True):
        args = [self.script] if script else []
        values, rest = parse('start-server', args + ['--server-root',
                os.path.join(self.tmp.name, 'root')] + list(argv))
        return resolve('start-server', rest, values, '/m/mod_wsgi_rs.so')

    def test_daemon_group_python_path_and_home(self):
        options = self.resolved('--port', '8123', '--python-path', '/extra')
        self.assertEqual(options['process_group'], "'localhost:8123'")
        self.assertEqual(options['daemon_name'],
                '(wsgi:localhost:8123:%d)' % os.getuid())
        self.assertEqual(options['application_group'], '%{GLOBAL}')
        # The user's paths first, then the package's directory.
        self.assertEqual(options['python_path'], '/extra:' + PACKAGE_PARENT)
        self.assertTrue(os.path.isdir(os.path.join(PACKAGE_PARENT,
                'mod_wsgi_rs')))
        self.assertEqual(options['python_home'], sys.prefix)
        self.assertEqual(options['entry_point'], self.script)
        config = apache_config(options)
        self.assertIn("WSGIPythonHome '%s'" % sys.prefix, config)
        self.assertIn("WSGIDaemonProcess 'localhost:8123'", config)
        self.assertIn("python-path='/extra:%s'" % PACKAGE_PARENT, config)
        self.assertIn("LoadModule wsgi_module '/m/mod_wsgi_rs.so'", config)
        self.assertIn("WSGIHandlerScript wsgi-handler '%s/handler.wsgi'" %
                options['server_root'], config)

    def test_the_default_server_root_is_under_tmpdir(self):
        values, args = parse('start-server', [self.script, '--port', '8124'])
        saved = os.environ.get('TMPDIR')
        os.environ['TMPDIR'] = self.tmp.name + '/'
        try:
            options = resolve('start-server', args, values, '/m.so')
        finally:
            if saved is None:
                del os.environ['TMPDIR']
            else:
                os.environ['TMPDIR'] = saved
        self.assertEqual(options['server_root'], '%s/mod_wsgi_rs-localhost:'
                '8124:%d' % (self.tmp.name, os.getuid()))
        self.assertTrue(os.path.isdir(options['server_root']))

    def test_defines_follow_the_options(self):
        defines = self.resolved()['httpd_arguments_list']
        self.assertIn('-DMOD_WSGI_IMPORT_HANDLER_SCRIPT', defines)
        self.assertIn('-DMOD_WSGI_KEEP_ALIVE', defines)
        self.assertNotIn('-DEMBEDDED_MODE', defines)
        self.assertNotIn('-DMOD_WSGI_MULTIPROCESS', defines)
        self.assertNotIn('-DMOD_WSGI_VERBOSE_DEBUGGING', defines)
        defines = self.resolved('--embedded-mode', '--processes', '2',
                '--access-log', '--host', '127.0.0.1',
                '--trust-proxy', '10.0.0.0/8')['httpd_arguments_list']
        for define in ('-DEMBEDDED_MODE', '-DMOD_WSGI_MULTIPROCESS',
                '-DMOD_WSGI_ACCESS_LOG', '-DMOD_WSGI_WITH_LISTENER_HOST',
                '-DMOD_WSGI_WITH_TRUSTED_PROXIES',
                '-DMOD_WSGI_DISABLE_RELOADING'):
            self.assertIn(define, defines)

    def test_capacity_uses_mod_wsgi_express_formulas(self):
        options = self.resolved()
        # 1 process * 5 threads: 10 + max(10, 7).
        self.assertEqual(options['prefork_max_clients'], 20)
        self.assertEqual(options['worker_max_clients'], 20)
        self.assertEqual(options['worker_threads_per_child'], 10)
        options = self.resolved('--max-clients', '40', '--processes', '2',
                '--threads', '3')
        self.assertEqual(options['prefork_max_clients'], 40)
        self.assertEqual(options['worker_threads_per_child'], 13)
        self.assertEqual(options['worker_server_limit'], 4)
        self.assertEqual(options['worker_max_clients'], 52)

    def test_a_missing_script_is_an_error(self):
        values, args = parse('start-server', ['/no/such/app.wsgi',
                '--server-root', os.path.join(self.tmp.name, 'root')])
        with self.assertRaisesRegex(ConfigurationError,
                'the WSGI script /no/such/app.wsgi does not exist'):
            resolve('start-server', args, values, '/m.so')

    def test_no_script_serves_the_default_page(self):
        options = self.resolved(script=False)
        self.assertEqual(options['application_type'], 'script')
        self.assertEqual(options['entry_point'],
                os.path.join(options['server_root'], 'default.wsgi'))

    def test_https_needs_a_certificate_and_a_name(self):
        with self.assertRaisesRegex(ConfigurationError, '--https-port needs'):
            self.resolved('--https-port', '8443')
        with self.assertRaisesRegex(ConfigurationError,
                '--https-port must be specified'):
            self.resolved('--ssl-certificate', '/x')

    def test_the_locale_is_one_the_machine_has(self):
        self.assertTrue(resolve_module._settable(self.resolved()['locale']))
        options = self.resolved('--locale', 'xx_NOWHERE.UTF-8')
        self.assertTrue(resolve_module._settable(options['locale']))

    def test_only_supported_directives_and_daemon_options_are_written(self):
        with open(TABLE) as fp:
            table = fp.read()
        directives = set(re.findall(
                r'entry\(c"<?(WSGI\w+)".*Supported\(', table))
        daemon_options = set(re.findall(r'option\("([\w-]+)", YES\)', table))
        self.assertGreaterEqual(len(directives), 49)
        options = self.resolved('--processes', '2', '--server-metrics',
                '--switch-interval', '0.01', '--chunked-request',
                '--enable-sendfile', '--error-override', '--verbose-debugging',
                '--python-warnings', 'error', '--embedded-mode',
                '--orphan-interpreter')
        config = apache_config(options)
        used = set(re.findall(r'^\s*(WSGI\w+)', config, re.M))
        self.assertTrue(used, config)
        self.assertEqual(used - directives, set())
        daemon = re.search(r"WSGIDaemonProcess .*?\n(?:.*\\\n)*.*\n", config)
        used_options = set(re.findall(r'([\w-]+)=', daemon.group(0)))
        self.assertEqual(used_options - daemon_options, set())

    def test_summary_lines(self):
        options = self.resolved('--port', '8123', '--processes', '2')
        text = summary('start-server', options)
        self.assertIn('Server URL         : http://localhost:8123/\n', text)
        self.assertIn('Operating Mode     : daemon\n', text)
        self.assertIn('Request Capacity   : 10 (2 processes * 5 threads)\n',
                text)
        self.assertNotIn('Control Script', text)
        self.assertIn('Control Script', summary('setup-server', options))


class Handler(unittest.TestCase):

    def options(self, **overrides):
        options = {
            'application_type': 'script', 'entry_point': '/srv/app.wsgi',
            'callable_object': 'application', 'working_directory': '/srv',
            'reload_on_changes': False, 'disable_reloading': False,
            'server_root': '/tmp/root', 'mount_point': '/',
            'server_host': 'localhost', 'server_aliases': None,
            'sys_argv': '[]',
        }
        options.update(overrides)
        return options

    def run_handler(self, options, app):
        """Runs handler.wsgi's text with a stand-in runtime module."""
        runtime = types.ModuleType('mod_wsgi_rs.express.runtime')
        seen = {}

        def application_from_options(given):
            seen.update(given)
            return app
        runtime.application_from_options = application_from_options
        saved = sys.modules.get('mod_wsgi_rs.express.runtime')
        sys.modules['mod_wsgi_rs.express.runtime'] = runtime
        saved_env = dict(os.environ)
        try:
            namespace = {'__name__': 'handler'}
            exec(compile(handler_script('setup-server', options),
                    'handler.wsgi', 'exec'), namespace)
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            if saved is None:
                del sys.modules['mod_wsgi_rs.express.runtime']
            else:
                sys.modules['mod_wsgi_rs.express.runtime'] = saved
        return namespace, seen

    def test_the_interface_keys_all_present(self):
        keys = set(handler_options(self.options()))
        self.assertEqual(keys, {'application_type', 'entry_point',
                'callable_object', 'working_directory', 'reload_on_changes',
                'reload_interval', 'server_root'})
        _, seen = self.run_handler(self.options(reload_on_changes=True),
                None)
        self.assertEqual(seen['reload_on_changes'], True)
        self.assertEqual(seen['reload_interval'], 1)
        _, seen = self.run_handler(self.options(reload_on_changes=True,
                disable_reloading=True), None)
        self.assertEqual(seen['reload_on_changes'], False)

    def test_handle_request_gives_the_mount_point_as_script_name(self):
        calls = []

        def app(environ, start_response):
            calls.append((environ['SCRIPT_NAME'], environ['PATH_INFO']))
            return []
        namespace, _ = self.run_handler(self.options(mount_point='/app'), app)
        handle = namespace['handle_request']
        handle({'SCRIPT_NAME': '/app/x', 'PATH_INFO': '/y'}, None)
        handle({'SCRIPT_NAME': '/other', 'PATH_INFO': ''}, None)
        # A trusted proxy's SCRIPT_NAME (mod_wsgi.script_name) is kept.
        handle({'SCRIPT_NAME': '/front', 'PATH_INFO': '/z',
                'mod_wsgi.mount_point': '/front',
                'mod_wsgi.script_name': '/app'}, None)
        self.assertEqual(calls, [('/app', '/x/y'), ('', '/other'),
                ('/front', '/z')])

    def test_reload_required_follows_the_entry_point(self):
        with tempfile.TemporaryDirectory() as tmp:
            script = os.path.join(tmp, 'app.wsgi')
            with open(script, 'w') as fp:
                fp.write('x = 1\n')
            namespace, _ = self.run_handler(self.options(entry_point=script),
                    None)
            self.assertFalse(namespace['reload_required'](script))
            os.utime(script, (1, 1))
            self.assertTrue(namespace['reload_required'](script))
            namespace, _ = self.run_handler(self.options(entry_point=script,
                    disable_reloading=True), None)
            os.utime(script, (2, 2))
            self.assertFalse(namespace['reload_required'](script))


if __name__ == '__main__':
    unittest.main()
