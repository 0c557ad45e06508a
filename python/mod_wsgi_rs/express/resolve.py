"""From parsed options to every value httpd.conf, apachectl and handler.wsgi
need: mod_wsgi-express 6.1.1's setup_server (server.py there), step by
step and with its rules, so that the same command line gives the same
server. It creates the directories the server needs (server root,
document root, logs, eggs) and writes nothing else; server.py writes the
files.

Differences, each on purpose:
- the directory holding the `mod_wsgi_rs` package is always on the
  daemon's (or, in embedded mode, the interpreter's) python-path, so that
  handler.wsgi imports mod_wsgi_rs.express.runtime from a checkout and
  from a venv alike;
- a script or paste file that does not exist, a static document root that
  is not a directory, and a server root that cannot be made are errors
  here rather than at the first request;
- the debugger, coverage, profiler, recorder, gdb, telemetry ingester,
  documentation and --add-handler options are not offered (options.py).
"""

import ipaddress
import locale
import os
import posixpath
import sys
import sysconfig
import warnings

from .capacity import capacity
from .platform import find_program

# The directory that holds the mod_wsgi_rs package (a checkout's python/,
# or a venv's site-packages).
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))


class ConfigurationError(Exception):
    pass


def mpm_module_defines(modules_directory, preferred=None):
    """The -D switches choosing the MPM: the first of event, worker,
    prefork (or of the --server-mpm ones) that is installed."""
    result = []
    found = False
    for name in ('event', 'worker', 'prefork'):
        if not preferred or name in preferred:
            if os.path.exists(os.path.join(modules_directory,
                    'mod_mpm_%s.so' % name)):
                if not found:
                    result.append('-DMOD_WSGI_MPM_ENABLE_%s_MODULE' %
                            name.upper())
                    found = True
                result.append('-DMOD_WSGI_MPM_EXISTS_%s_MODULE' % name.upper())
    return result


def _mkdir(path):
    try:
        os.mkdir(path)
    except FileExistsError:
        pass
    except OSError:
        # As mod_wsgi-express: a directory it cannot make shows up as
        # Apache's own error about it.
        pass


def resolve(command, args, options, mod_wsgi_so):
    """Completes `options` (options.parse's dict) in place and returns it."""
    options['sys_argv'] = repr(sys.argv)
    options['mod_wsgi_so'] = mod_wsgi_so
    _network(options)
    _server_root(options)
    _ssl(options)
    _entry_point(options, args)
    _groups_and_scripts(options)
    _documents(options)
    _logs(options)
    _python(options)
    _daemon_extras(options)
    capacity(options)
    _executables(options)
    _locale(options)
    _urls(options)
    options['httpd_arguments_list'] = _defines(options)
    options['httpd_arguments'] = '-f %s %s' % (options['httpd_conf'],
            ' '.join(options['httpd_arguments_list']))
    return options


def _network(options):
    options['working_directory'] = os.path.abspath(
            options['working_directory'] or os.getcwd())
    if not os.path.isdir(options['working_directory']):
        # The daemon's home=: it would fail to start, over and over.
        raise ConfigurationError('the working directory %s is not a '
                'directory.' % options['working_directory'])
    for proxy in options['trusted_proxies']:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigurationError('--trust-proxy %s is not an IP address '
                    'or subnet.' % proxy)
    if not options['host']:
        options['listener_host'] = None
        options['host'] = 'localhost'
    else:
        options['listener_host'] = options['host']
    if options['process_group']:
        options['daemon_name'] = '(wsgi:%s)' % options['process_group']
    else:
        options['daemon_name'] = '(wsgi:%s:%s:%s)' % (options['host'],
                options['port'], os.getuid())


def _server_root(options):
    if not options['server_root']:
        tmpdir = (os.environ.get('TMPDIR') or '/tmp').rstrip('/') or '/'
        options['server_root'] = '%s/mod_wsgi_rs-%s:%s:%s' % (tmpdir,
                options['host'], options['port'], os.getuid())
    options['server_root'] = posixpath.abspath(options['server_root'])
    try:
        os.makedirs(options['server_root'], exist_ok=True)
    except OSError as exc:
        raise ConfigurationError('cannot create the server root %s: %s' % (
                options['server_root'], exc.strerror))
    options['httpd_conf'] = posixpath.join(options['server_root'],
            'httpd.conf')


def _ssl(options):
    for name in ('ssl_certificate_file', 'ssl_certificate_key_file',
            'ssl_certificate', 'ssl_ca_certificate_file',
            'ssl_certificate_chain_file'):
        if options[name]:
            options[name] = os.path.abspath(options[name])
    if options['ssl_certificate']:
        options['ssl_certificate_file'] = options['ssl_certificate'] + '.crt'
        options['ssl_certificate_key_file'] = (options['ssl_certificate'] +
                '.key')
    if (options['ssl_certificate_file'] or
            options['ssl_certificate_key_file'] or
            options['ssl_ca_certificate_file'] or
            options['ssl_certificate_chain_file']) and \
            not options['https_port']:
        raise ConfigurationError('--https-port must be specified when SSL '
                'certificate options are provided.')
    if options['https_port'] and not (options['ssl_certificate_file'] and
            options['ssl_certificate_key_file']):
        # mod_wsgi-express then silently serves no HTTPS at all.
        raise ConfigurationError('--https-port needs --ssl-certificate-file '
                'and --ssl-certificate-key-file (or --ssl-certificate).')
    if options['https_port'] and not options['server_name']:
        # Its HTTPS virtual hosts exist only with a server name.
        raise ConfigurationError('--https-port needs --server-name.')
    for name in ('ssl_certificate_file', 'ssl_certificate_key_file'):
        if options[name] and not os.path.isfile(options[name]):
            raise ConfigurationError('%s does not exist.' % options[name])


def _entry_point(options, args):
    if options['entry_point']:
        args = [options['entry_point']]
    kind = options['application_type']
    if not args:
        if kind != 'static':
            options['entry_point'] = posixpath.join(options['server_root'],
                    'default.wsgi')
            options['application_type'] = 'script'
            options['default_application'] = True
        else:
            if not options['document_root']:
                options['document_root'] = os.getcwd()
            options['entry_point'] = '(static)'
        return
    if kind in ('script', 'paste'):
        options['entry_point'] = posixpath.abspath(args[0])
        if not os.path.isfile(options['entry_point']):
            raise ConfigurationError('the %s %s does not exist.' % (
                    'WSGI script' if kind == 'script' else 'paste file',
                    options['entry_point']))
    elif kind == 'static':
        if not options['document_root']:
            options['document_root'] = posixpath.abspath(args[0])
            options['entry_point'] = 'ignored'
        else:
            options['entry_point'] = 'overridden'
    else:
        options['entry_point'] = args[0]


def _groups_and_scripts(options):
    # %{GLOBAL} (the main interpreter) unless a group is named; names are
    # quoted so that any identifier is one directive argument.
    if options['application_group']:
        options['application_group'] = "'%s'" % options['application_group']
    else:
        options['application_group'] = '%{GLOBAL}'
    if options['process_group']:
        options['process_group'] = "'%s'" % options['process_group']
    else:
        options['process_group'] = "'%s:%s'" % (options['host'],
                options['port'])
    for name in ('host_access_script', 'auth_user_script',
            'auth_group_script'):
        if options[name]:
            options[name] = posixpath.abspath(options[name])
            if not os.path.isfile(options[name]):
                raise ConfigurationError('%s does not exist.' % options[name])


def _documents(options):
    if not options['document_root']:
        options['document_root'] = posixpath.join(options['server_root'],
                'htdocs')
        _mkdir(options['document_root'])
    options['document_root'] = posixpath.abspath(options['document_root'])
    if not os.path.isdir(options['document_root']):
        raise ConfigurationError('the document root %s is not a directory.'
                % options['document_root'])
    if not options['allow_override']:
        options['allow_override'] = 'None'
    else:
        options['allow_override'] = ' '.join(options['allow_override'])
    if not options['mount_point'].startswith('/'):
        options['mount_point'] = posixpath.normpath('/' +
                options['mount_point'])
    # Directories for the mount point under the document root, so that the
    # rewrite rule falling back to the application matches below it.
    if options['mount_point'] != '/':
        subdir = options['document_root']
        for part in options['mount_point'].rstrip('/').split('/')[1:]:
            subdir = posixpath.join(subdir, part)
            _mkdir(subdir)


def _terminal(stream):
    try:
        with open(stream, 'w'):
            pass
    except OSError:
        return '|%s' % find_program(['tee'], default='tee')
    return stream


def _logs(options):
    if not options['log_directory']:
        options['log_directory'] = options['server_root']
    else:
        # --log-directory overrides --log-to-terminal.
        options['log_to_terminal'] = False
    if options['log_to_terminal']:
        options['rotate_logs'] = False
    _mkdir(options['log_directory'])
    options['log_directory'] = posixpath.abspath(options['log_directory'])
    if not options['log_to_terminal']:
        options['error_log_file'] = posixpath.join(options['log_directory'],
                options['error_log_name'])
        options['access_log_file'] = posixpath.join(
                options['log_directory'], options['access_log_name'])
    else:
        options['error_log_file'] = _terminal('/dev/stderr')
        options['access_log_file'] = _terminal('/dev/stdout')
    if options['access_log_format']:
        if options['access_log_format'] in ('common', 'combined'):
            options['log_format_nickname'] = options['access_log_format']
            options['access_log_format'] = 'undefined'
        else:
            options['log_format_nickname'] = 'custom'
    else:
        options['log_format_nickname'] = 'common'
        options['access_log_format'] = 'undefined'
    options['access_log_format'] = options['access_log_format'].replace(
            '"', '\\"')
    if options['error_log_format']:
        options['error_log_format'] = options['error_log_format'].replace(
                '"', '\\"')
    options['startup_log_file'] = None
    if options['startup_log']:
        if not options['log_to_terminal']:
            options['startup_log_file'] = posixpath.join(
                    options['log_directory'], options['startup_log_name'])
        else:
            options['startup_log_file'] = '/dev/stderr'
    options['pid_file'] = (posixpath.abspath(options['pid_file'])
            if options['pid_file'] else
            posixpath.join(options['server_root'], 'httpd.pid'))


def _python(options):
    options['python_eggs'] = (posixpath.abspath(options['python_eggs'])
            if options['python_eggs'] is not None else
            posixpath.join(options['server_root'], 'python-eggs'))
    _mkdir(options['python_eggs'])
    if os.getuid() == 0:
        # The daemon runs as --user and may unpack eggs there.
        import grp
        import pwd
        try:
            os.chown(options['python_eggs'],
                    pwd.getpwnam(options['user']).pw_uid,
                    grp.getgrnam(options['group']).gr_gid)
        except (KeyError, OSError):
            pass
    paths = [posixpath.abspath(p) for p in options['python_paths'] or []]
    if options['embedded_mode']:
        if options['working_directory'] not in paths:
            paths.insert(0, options['working_directory'])
        if not options['server_mpm_variables']:
            options['server_mpm_variables'] = ['worker', 'prefork']
    if PACKAGE_PARENT not in paths:
        paths.append(PACKAGE_PARENT)
    options['python_paths'] = paths
    options['python_path'] = ':'.join(paths)
    options['multiprocess'] = options['processes'] is not None
    options['processes'] = options['processes'] or 1
    options['python_home'] = sys.prefix
    # mod_wsgi-express's LoadFile of libpython, for macOS builds only.
    options['python_dylib'] = ''
    options['python_executable'] = sys.executable
    options['keep_alive'] = options['keep_alive_timeout'] != 0


def _daemon_extras(options):
    timeout = ''
    if options['header_timeout'] > 0:
        timeout += 'header=%d' % options['header_timeout']
        if options['header_max_timeout'] > 0:
            timeout += '-%d' % options['header_max_timeout']
        if options['header_min_rate'] > 0:
            timeout += ',MinRate=%d' % options['header_min_rate']
    if options['body_timeout'] > 0:
        timeout += ' body=%d' % options['body_timeout']
        if options['body_max_timeout'] > 0:
            timeout += '-%d' % options['body_max_timeout']
        if options['body_min_rate'] > 0:
            timeout += ',MinRate=%d' % options['body_min_rate']
    # RequestReadTimeout needs an argument: header=0 turns it off.
    options['request_read_timeout'] = timeout.strip() or 'header=0 body=0'
    options['server_metrics_flag'] = 'On' if options['server_metrics'] else 'Off'
    options['verbose_debugging_flag'] = ('On' if options['verbose_debugging']
            else 'Off')
    if options['telemetry_service']:
        if not options['telemetry_service'].startswith('unix:'):
            raise ConfigurationError("--telemetry-service must be "
                    "'unix:/path' (remote 'udp:host:port' targets are no "
                    "longer supported)")
    else:
        options['telemetry_service'] = ''
    if options['slow_requests'] is not None:
        if options['slow_requests'] < 0:
            raise ConfigurationError(
                    '--slow-requests threshold must be non-negative')
        if not options['telemetry_service']:
            raise ConfigurationError(
                    '--slow-requests requires --telemetry-service')
    else:
        options['slow_requests'] = ''
    if options['switch_interval'] is not None:
        if options['switch_interval'] <= 0.0:
            raise ConfigurationError(
                    '--switch-interval must be a positive number of seconds')
        options['daemon_switch_interval_option'] = (
                ' \\\n   switch-interval=%s' % options['switch_interval'])
    else:
        options['switch_interval'] = ''
        options['daemon_switch_interval_option'] = ''
    if options['free_threading'] and not sysconfig.get_config_var(
            'Py_GIL_DISABLED'):
        raise ConfigurationError('--free-threading requires a Python build '
                'with free-threading support (PEP 703).')
    options['telemetry_options'] = '\n'.join('WSGITelemetryOptions %s' % v
            for v in options['telemetry_options'])
    if options['service_scripts']:
        options['service_scripts'] = [(name, posixpath.abspath(script))
                for name, script in options['service_scripts']]


def _executables(options):
    options['httpd_executable'] = os.environ.get('HTTPD',
            options['httpd_executable'])
    if not os.path.isabs(options['httpd_executable']):
        options['httpd_executable'] = find_program(
                [options['httpd_executable']], 'httpd', ['/usr/sbin'])
    if not options['process_name']:
        options['process_name'] = posixpath.basename(
                options['httpd_executable']) + ' (mod_wsgi_rs-express)'
    options['process_name'] = options['process_name'].ljust(
            len(options['daemon_name']))
    for name in ('rewrite_rules', 'envvars_script'):
        if options[name] is not None:
            options[name] = posixpath.abspath(options[name])
    # The summary names a user's rules file; the config always includes one
    # (server.py writes the default, empty).
    options['user_rewrite_rules'] = options['rewrite_rules']
    if not options['rewrite_rules']:
        options['rewrite_rules'] = posixpath.join(options['server_root'],
                'rewrite.conf')
    options['shlibpath_var'] = 'LD_LIBRARY_PATH'
    options['shlibpath'] = ''


def _locale(options):
    if options['locale'] is None:
        options['locale'] = options['lang']
    if options['locale'] is None:
        with warnings.catch_warnings():
            # getdefaultlocale is what mod_wsgi-express asks; 3.11 warns.
            warnings.simplefilter('ignore', DeprecationWarning)
            language, encoding = locale.getdefaultlocale()
        language = language or 'C'
        options['locale'] = locale.normalize(language + '.' + encoding
                if encoding else language)
    # As mod_wsgi-express, C and POSIX become a UTF-8 locale if one exists.
    # Also (not there) a locale this machine lacks: locale.normalize turns
    # C.UTF-8 into en_US.UTF-8, which a slim system does not have, and the
    # daemon would warn at each start and keep the C locale.
    if (options['locale'].upper() in ('C', 'POSIX') or
            not _settable(options['locale'])):
        for candidate in ('en_US.UTF-8', 'C.UTF-8'):
            if _settable(candidate):
                options['locale'] = candidate
                break
    options['lang'] = options['locale']
    options['trusted_proxy_headers'] = ' '.join(
            options['trusted_proxy_headers'])
    options['trusted_proxies'] = ' '.join(options['trusted_proxies'])


def _settable(name):
    old = locale.setlocale(locale.LC_ALL)
    try:
        locale.setlocale(locale.LC_ALL, name)
    except locale.Error:
        return False
    finally:
        locale.setlocale(locale.LC_ALL, old)
    return True


def _urls(options):
    host = options['server_name'] or options['host']
    options['server_host'] = host
    if options['port'] == 80:
        options['url'] = 'http://%s/' % host
    else:
        options['url'] = 'http://%s:%s/' % (host, options['port'])
    if options['https_port'] == 443:
        options['https_url'] = 'https://%s/' % host
    elif options['https_port'] is not None:
        options['https_url'] = 'https://%s:%s/' % (host, options['https_port'])
    else:
        options['https_url'] = None
    options['parent_domain'] = 'unspecified'
    if options['server_name'] and options['server_name'].lower().startswith(
            'www.'):
        options['parent_domain'] = options['server_name'][4:]
    if options['server_aliases']:
        options['server_aliases'] = ' '.join(options['server_aliases'])
    if options['embedded_mode']:
        options['disable_reloading'] = True


def _defines(options):
    """apachectl's -D switches: which parts of the template apply."""
    d = []
    if options['startup_log_file']:
        d += ['-E', options['startup_log_file']]
    if options['orphan_interpreter']:
        d.append('-DORPHAN_INTERPRETER')
    if options['embedded_mode']:
        d.append('-DEMBEDDED_MODE')
    # %{GLOBAL} names the main interpreter; any other %{...} resolves per
    # request, so it cannot be preloaded. A static site has no handler.
    if options['application_type'] != 'static' and (
            options['application_group'] == '%{GLOBAL}' or
            '%{' not in options['application_group']):
        d.append('-DMOD_WSGI_IMPORT_HANDLER_SCRIPT')
    flags = [
        (options['server_name'], 'MOD_WSGI_VIRTUAL_HOST'),
        (options['parent_domain'] != 'unspecified', 'MOD_WSGI_REDIRECT_WWW'),
        (options['http2'], 'MOD_WSGI_WITH_HTTP2'),
        (options['https_port'] and options['ssl_certificate_file'] and
            options['ssl_certificate_key_file'], 'MOD_WSGI_WITH_HTTPS'),
        (options['ssl_ca_certificate_file'], 'MOD_WSGI_VERIFY_CLIENT'),
        (options['ssl_certificate_chain_file'], 'MOD_WSGI_CERTIFICATE_CHAIN'),
        (options['ssl_environment'], 'MOD_WSGI_SSL_ENVIRONMENT'),
        (options['https_only'], 'MOD_WSGI_HTTPS_ONLY'),
        (options['hsts_policy'], 'MOD_WSGI_HSTS_POLICY'),
        (options['server_aliases'], 'MOD_WSGI_SERVER_ALIAS'),
        (options['allow_localhost'], 'MOD_WSGI_ALLOW_LOCALHOST'),
        (options['application_type'] == 'static', 'MOD_WSGI_STATIC_ONLY'),
        (options['enable_sendfile'], 'MOD_WSGI_ENABLE_SENDFILE'),
        (options['server_metrics'], 'MOD_WSGI_SERVER_METRICS'),
        (options['server_status'], 'MOD_WSGI_SERVER_METRICS'),
        (options['server_status'], 'MOD_WSGI_SERVER_STATUS'),
        (options['telemetry_service'], 'MOD_WSGI_TELEMETRY_SERVICE'),
        (options['slow_requests'] != '', 'MOD_WSGI_SLOW_REQUESTS'),
        (options['switch_interval'] != '', 'MOD_WSGI_SWITCH_INTERVAL'),
        (options['free_threading'], 'MOD_WSGI_FREE_THREADING'),
        (options['telemetry_options'], 'MOD_WSGI_TELEMETRY_OPTIONS'),
        (options['directory_index'], 'MOD_WSGI_DIRECTORY_INDEX'),
        (options['directory_listing'], 'MOD_WSGI_DIRECTORY_LISTING'),
        (options['error_log_format'], 'MOD_WSGI_ERROR_LOG_FORMAT'),
        (options['access_log'], 'MOD_WSGI_ACCESS_LOG'),
        (options['rotate_logs'], 'MOD_WSGI_ROTATE_LOGS'),
        (options['keep_alive'], 'MOD_WSGI_KEEP_ALIVE'),
        (options['compress_responses'], 'MOD_WSGI_COMPRESS_RESPONSES'),
        (options['multiprocess'], 'MOD_WSGI_MULTIPROCESS'),
        (options['listener_host'], 'MOD_WSGI_WITH_LISTENER_HOST'),
        (options['error_override'], 'MOD_WSGI_ERROR_OVERRIDE'),
        (options['host_access_script'], 'MOD_WSGI_HOST_ACCESS'),
        (options['auth_user_script'], 'MOD_WSGI_AUTH_USER'),
        (options['auth_group_script'], 'MOD_WSGI_AUTH_GROUP'),
        (options['chunked_request'], 'MOD_WSGI_CHUNKED_REQUEST'),
        (options['proxy_mount_points'] or options['proxy_virtual_hosts'],
            'MOD_WSGI_WITH_PROXY'),
        (options['trusted_proxy_headers'], 'MOD_WSGI_WITH_PROXY_HEADERS'),
        (options['trusted_proxies'], 'MOD_WSGI_WITH_TRUSTED_PROXIES'),
        (options['python_path'], 'MOD_WSGI_WITH_PYTHON_PATH'),
        (options['socket_prefix'], 'MOD_WSGI_WITH_SOCKET_PREFIX'),
        (options['disable_reloading'], 'MOD_WSGI_DISABLE_RELOADING'),
        # Obsolete in mod_wsgi 6 (a notice at each start): only if asked.
        (options['verbose_debugging'], 'MOD_WSGI_VERBOSE_DEBUGGING'),
    ]
    d += ['-D' + name for condition, name in flags if condition]
    if options['with_cgi']:
        if os.path.exists(posixpath.join(options['modules_directory'],
                'mod_cgid.so')):
            d.append('-DMOD_WSGI_CGID_SCRIPT')
        else:
            d.append('-DMOD_WSGI_CGI_SCRIPT')
    d += mpm_module_defines(options['modules_directory'],
            options['server_mpm_variables'])
    return d
