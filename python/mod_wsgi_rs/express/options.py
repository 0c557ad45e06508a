"""The options of start-server and setup-server: mod_wsgi-express 6.1.1's
names, destinations, defaults and meanings (its options.py), so that a
command line or unit file written for mod_wsgi-express only changes the
command's name. The help is the first sentence of mod_wsgi-express's.

mod_wsgi-express's options this runner does not take are listed, with why,
in NOT_OFFERED (and in the README): an unknown option is an error.
"""

import argparse
import grp
import os
import pwd

from . import platform
from .platform import default_run_group, default_run_user

PROG = 'mod_wsgi_rs-express'

# mod_wsgi-express's options that need what this package does not ship (a
# Python debugger harness, coverage, the telemetry ingester, PHP 5, bundled
# documentation, --add-handler's resource handler).
NOT_OFFERED = (
    '--add-handler', '--coverage-directory', '--debug-mode',
    '--debugger-startup', '--enable-coverage', '--enable-debugger',
    '--enable-docs', '--enable-gdb', '--enable-profiler', '--enable-recorder',
    '--enable-telemetry', '--gdb-executable', '--profiler-directory',
    '--recorder-directory', '--telemetry-ui-port', '--with-php5',
)

APPLICATION_TYPES = ('script', 'module', 'paste', 'static')
SERVER_MPMS = ('event', 'worker', 'prefork')
LOG_LEVELS = ('emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info',
        'debug') + tuple('trace%d' % n for n in range(1, 9))


def percentage(text):
    """A float from 0 to 1 (mod_wsgi-express's check_percentage)."""
    value = float(text)
    if value < 0 or value > 1:
        raise argparse.ArgumentTypeError(
                'value needs to be within the range 0 to 1.')
    return value


def build_parser(command):
    """The parser of `command` (start-server or setup-server)."""
    parser = argparse.ArgumentParser(prog=PROG,
            usage='%(prog)s ' + command + ' [script] [options]')
    parser.add_argument('script', nargs='*', help=argparse.SUPPRESS)
    add = parser.add_argument
    add('--application-type', default='script', metavar='TYPE',
        help='The type of WSGI application entry point that was provided. Defaults '
        "to 'script', indicating the traditional mod_wsgi style WSGI script "
        'file specified by a filesystem path.')
    add('--entry-point', metavar='FILE-PATH|MODULE',
        help='The file system path or module name identifying the file which '
        'contains the WSGI application entry point.')
    add('--application-group', metavar='NAME',
        help='Override the WSGI application group used for the generated WSGI '
        'handler directives.')
    add('--process-group', metavar='NAME',
        help='Override the WSGI daemon process group name used in the generated '
        'configuration.')
    add('--host', metavar='IP-ADDRESS',
        help='The specific host (IP address) interface on which requests are to be '
        'accepted. Defaults to listening on all host interfaces.')
    add('--port', type=int, default=8000, metavar='NUMBER',
        help='The specific port to bind to and on which requests are to be accepted.'
        ' Defaults to port 8000.')
    add('--http2', action='store_true',
        help='Flag indicating whether HTTP/2 should be enabled.')
    add('--https-port', type=int, metavar='NUMBER',
        help='The specific port to bind to and on which secure requests are to be '
        'accepted.')
    add('--ssl-port', dest='https_port', type=int, metavar='NUMBER',
        help=argparse.SUPPRESS)
    add('--ssl-certificate-file', metavar='FILE-PATH',
        help='Specify the path to the SSL certificate file.')
    add('--ssl-certificate-key-file', metavar='FILE-PATH',
        help='Specify the path to the private key file corresponding to the SSL '
        'certificate file.')
    add('--ssl-certificate', metavar='FILE-PATH',
        help='Specify the common path to the SSL certificate files.')
    add('--ssl-ca-certificate-file', metavar='FILE-PATH',
        help='Specify the path to the file with the CA certificates to be used for '
        'client authentication.')
    add('--ssl-verify-client', action='append', dest='ssl_verify_client_urls',
        metavar='URL-PATH',
        help='Specify a sub URL of the site for which client authentication is '
        'required.')
    add('--ssl-certificate-chain-file', metavar='FILE-PATH',
        help='Specify the path to a file containing the certificates of '
        'Certification Authorities (CA) which form the certificate chain of the'
        ' server certificate.')
    add('--ssl-environment', action='store_true',
        help='Flag indicating whether the standard set of SSL related variables are '
        'passed in the per request environment passed to a handler.')
    add('--https-only', action='store_true',
        help='Flag indicating whether any requests made using a HTTP request over '
        'the non secure connection should be redirected automatically to use a '
        'HTTPS request over the secure connection.')
    add('--hsts-policy', metavar='PARAMS',
        help='Specify the HSTS policy that should be applied when HTTPS only '
        'connections are being enforced.')
    add('--server-name', metavar='HOSTNAME',
        help='The primary host name of the web server.')
    add('--server-alias', action='append', dest='server_aliases',
        metavar='HOSTNAME',
        help='A secondary host name for the web server.')
    add('--allow-localhost', action='store_true',
        help='Flag indicating whether access via localhost should still be allowed '
        'when a server name has been specified and a name based virtual host '
        'has been configured.')
    add('--processes', type=int, metavar='NUMBER',
        help='The number of worker processes (instances of the WSGI application) to '
        'be started up and which will handle requests concurrently. Defaults to'
        ' a single process.')
    add('--threads', type=int, default=5, metavar='NUMBER',
        help='The number of threads in the request thread pool of each process for '
        'handling requests. Defaults to 5 in each process.')
    add('--max-clients', type=int, metavar='NUMBER',
        help='The maximum number of simultaneous client connections that will be '
        'accepted.')
    add('--initial-workers', type=percentage, metavar='NUMBER',
        help='The initial number of workers to create on startup expressed as a '
        'percentage of the maximum number of clients.')
    add('--minimum-spare-workers', type=percentage, metavar='NUMBER',
        help='The minimum number of spare workers to maintain expressed as a '
        'percentage of the maximum number of clients.')
    add('--maximum-spare-workers', type=percentage, metavar='NUMBER',
        help='The maximum number of spare workers to maintain expressed as a '
        'percentage of the maximum number of clients.')
    add('--limit-request-body', type=int, default=10485760, metavar='NUMBER',
        help='The maximum number of bytes which are allowed in a request body. '
        'Defaults to 10485760 (10MB).')
    add('--maximum-requests', type=int, default=0, metavar='NUMBER',
        help='The number of requests after which any one worker process will be '
        'restarted and the WSGI application reloaded. Defaults to 0, indicating'
        ' that the worker process should never be restarted based on the number'
        ' of requests received.')
    add('--startup-timeout', type=int, default=15, metavar='SECONDS',
        help='Maximum number of seconds allowed to pass waiting for the application '
        'to be successfully loaded and started by a worker process. Defaults to'
        ' 15 seconds.')
    add('--shutdown-timeout', type=int, default=5, metavar='SECONDS',
        help='Maximum number of seconds allowed to pass when waiting for a worker '
        'process to shutdown as a result of the maximum number of requests or '
        'inactivity timeout being reached, or when a user initiated SIGINT '
        'signal is sent to a worker process. Defaults to 5 seconds.')
    add('--restart-interval', type=int, default=0, metavar='SECONDS',
        help='Number of seconds between worker process restarts. Not enabled by '
        'default.')
    add('--cpu-time-limit', type=int, default=0, metavar='SECONDS',
        help='Number of seconds of CPU time the process can use before it will be '
        'restarted. Not enabled by default.')
    add('--graceful-timeout', type=int, default=15, metavar='SECONDS',
        help='Grace period for requests to complete normally, while still accepting '
        'new requests, when worker processes are being shutdown and restarted '
        'due to maximum requests being reached or restart interval having '
        'expired. Defaults to 15 seconds.')
    add('--eviction-timeout', type=int, default=0, metavar='SECONDS',
        help='Grace period for requests to complete normally, while still accepting '
        'new requests, when the WSGI application is being evicted from the '
        'worker processes, and the process restarted, due to forced graceful '
        "restart signal. Defaults to timeout specified by '--graceful-timeout' "
        'option.')
    add('--deadlock-timeout', type=int, default=60, metavar='SECONDS',
        help='Maximum number of seconds allowed to pass before the worker process is'
        ' forcibly shutdown and restarted after a potential deadlock on the '
        'Python GIL has been detected. Defaults to 60 seconds.')
    add('--inactivity-timeout', type=int, default=0, metavar='SECONDS',
        help='Maximum number of seconds allowed to pass before the worker process is'
        ' shutdown and restarted when the worker process has entered an idle '
        'state and is no longer receiving new requests. Not enabled by default.')
    add('--ignore-activity', action='append', metavar='URL-PATH',
        help='Specify the URL path for any location where activity should be ignored'
        " when the '--activity-timeout' option is used.")
    add('--request-timeout', type=int, default=60, metavar='SECONDS',
        help='Per-thread upper bound for how long a request can run before recovery '
        'is triggered. Defaults to 60 seconds.')
    add('--interrupt-timeout', type=int, default=0, metavar='SECONDS',
        help='When non-zero, attempts to interrupt only the wedged thread when '
        'request-timeout fires by injecting a mod_wsgi.RequestTimeout exception'
        ' (subclass of BaseException) into it. Defaults to 0 (disabled).')
    add('--connect-timeout', type=int, default=15, metavar='SECONDS',
        help='Maximum number of seconds allowed to pass before giving up on '
        'attempting to get a connection to the worker process from the Apache '
        'child process which accepted the request. Defaults to 15 seconds.')
    add('--socket-timeout', type=int, default=60, metavar='SECONDS',
        help='Maximum number of seconds allowed to pass before timing out on a read '
        'or write operation on a socket and aborting the request. Defaults to '
        '60 seconds.')
    add('--proxy-timeout', type=int, metavar='SECONDS',
        help='Override the timeout used for connections to a proxied backend (Apache'
        ' ProxyTimeout directive).')
    add('--queue-timeout', type=int, default=45, metavar='SECONDS',
        help='Maximum number of seconds allowed for a request to be accepted by a '
        'worker process to be handled, taken from the time when the Apache '
        'child process originally accepted the request. Defaults to 45 seconds.')
    add('--header-timeout', type=int, default=15, metavar='SECONDS',
        help='The number of seconds allowed for receiving the request including the '
        'headers. Defaults to 15 seconds.')
    add('--header-max-timeout', type=int, default=30, metavar='SECONDS',
        help='Maximum number of seconds allowed for receiving the request including '
        'the headers. Defaults to 30 seconds.')
    add('--header-min-rate', type=int, default=500, metavar='BYTES',
        help='The number of bytes required to be sent as part of the request and '
        'headers to trigger a dynamic increase in the timeout on receiving the '
        'request including headers. Defaults to 500 bytes.')
    add('--body-timeout', type=int, default=15, metavar='SECONDS',
        help='The number of seconds allowed for receiving the request body. Defaults'
        ' to 15 seconds.')
    add('--body-max-timeout', type=int, default=0, metavar='SECONDS',
        help='Maximum number of seconds allowed for receiving the request body. '
        'Defaults to 0 indicating there is no maximum.')
    add('--body-min-rate', type=int, default=500, metavar='BYTES',
        help='The number of bytes required to be sent as part of the request body to'
        ' trigger a dynamic increase in the timeout on receiving the request '
        'body. Defaults to 500 bytes.')
    add('--server-backlog', type=int, default=500, metavar='NUMBER',
        help='Depth of server socket listener backlog for Apache child processes. '
        'Defaults to 500.')
    add('--daemon-backlog', type=int, default=100, metavar='NUMBER',
        help='Depth of server socket listener backlog for daemon processes. Defaults'
        ' to 100.')
    add('--send-buffer-size', type=int, default=0, metavar='NUMBER',
        help='Size of socket buffer for sending data to daemon processes. Defaults '
        'to 0, indicating the system default socket buffer size is used.')
    add('--receive-buffer-size', type=int, default=0, metavar='NUMBER',
        help='Size of socket buffer for receiving data from daemon processes. '
        'Defaults to 0, indicating the system default socket buffer size is '
        'used.')
    add('--header-buffer-size', type=int, default=0, metavar='NUMBER',
        help='Size of buffer used for reading response headers from daemon '
        'processes. Defaults to 0, indicating internal default of 32768 bytes '
        'is used.')
    add('--response-buffer-size', type=int, default=0, metavar='NUMBER',
        help='Coarse upper bound, in bytes, on how much response content is passed '
        'down the output filter chain without a flush when proxying the '
        'response from a daemon process. Defaults to 0, indicating the internal'
        ' default of 8388608 bytes (8 MB) is used.')
    add('--response-socket-timeout', type=int, default=0, metavar='SECONDS',
        help='Maximum number of seconds allowed to pass before timing out on a write'
        ' operation back to the HTTP client when transferring the response '
        'body. Defaults to 0 seconds indicating that it will default to the '
        "value of the 'socket-timeout' option.")
    add('--response-flush-delay', type=int, default=5, metavar='MILLISECONDS',
        help='Number of milliseconds mod_wsgi will wait for further response data '
        'from a daemon process before flushing what it has to the HTTP client. '
        'Defaults to 5 milliseconds.')
    add('--enable-sendfile', action='store_true',
        help='Flag indicating whether sendfile() support should be enabled. Defaults'
        ' to being disabled.')
    add('--disable-reloading', action='store_true',
        help='Disables all reloading of daemon processes due to changes to the file '
        'containing the WSGI application entrypoint, or any other loaded source'
        ' files.')
    add('--reload-on-changes', action='store_true',
        help='Flag indicating whether worker processes should be automatically '
        'restarted when any Python code file loaded by the WSGI application has'
        ' been modified. Defaults to being disabled.')
    add('--user', default=default_run_user(), metavar='USERNAME',
        help='When being run by the root user, the user that the WSGI application '
        'should be run as.')
    add('--group', default=default_run_group(), metavar='GROUP',
        help='When being run by the root user, the group that the WSGI application '
        'should be run as.')
    add('--callable-object', default='application', metavar='NAME',
        help='The name of the entry point for the WSGI application within the WSGI '
        "script file. Defaults to the name 'application'.")
    add('--map-head-to-get', default='Auto', metavar='OFF|ON|AUTO',
        help='Flag indicating whether HEAD requests should be mapped to a GET '
        'request.')
    add('--document-root', metavar='DIRECTORY-PATH',
        help='The directory which should be used as the document root and which '
        'contains any static files.')
    add('--directory-index', metavar='FILE-NAME',
        help='The name of a directory index resource to be found in the document '
        'root directory.')
    add('--directory-listing', action='store_true',
        help='Flag indicating if directory listing should be enabled where static '
        'file application type is being used and no directory index file has '
        'been specified.')
    add('--allow-override', action='append', metavar='DIRECTIVE-TYPE',
        help="Allow directives to be overridden from a '.htaccess' file. Defaults to"
        " 'None', indicating that any '.")
    add('--mount-point', default='/', metavar='URL-PATH',
        help='The URL path at which the WSGI application will be mounted. Defaults '
        'to being mounted at the root URL of the site.')
    add('--url-alias', action='append', dest='url_aliases', nargs=2,
        metavar=('URL-PATH', 'FILE-PATH|DIRECTORY-PATH'),
        help='Map a single static file or a directory of static files to a sub URL.')
    add('--error-document', action='append', dest='error_documents', nargs=2,
        metavar=('STATUS', 'URL-PATH'),
        help='Map a specific sub URL as the handler for HTTP errors generated by the'
        ' web server.')
    add('--error-override', action='store_true',
        help='Flag indicating whether Apache error documents will override '
        'application error responses.')
    add('--proxy-mount-point', action='append', dest='proxy_mount_points', nargs=2,
        metavar=('URL-PATH', 'URL'),
        help='Map a sub URL such that any requests against it will be proxied to the'
        ' specified URL.')
    add('--proxy-url-alias', action='append', dest='proxy_mount_points', nargs=2,
        metavar=('URL-PATH', 'URL'),
        help=argparse.SUPPRESS)
    add('--proxy-virtual-host', action='append', dest='proxy_virtual_hosts',
        nargs=2, metavar=('HOSTNAME', 'URL'),
        help='Proxy any requests for the specified host name to the remote URL.')
    add('--trust-proxy-header', action='append', dest='trusted_proxy_headers',
        default=[], metavar='HEADER-NAME',
        help='The name of any trusted HTTP header providing details of the front end'
        ' client request when proxying.')
    add('--trust-proxy', action='append', dest='trusted_proxies', default=[],
        metavar='IP-ADDRESS/SUBNET',
        help='The IP address or subnet corresponding to any trusted proxy.')
    add('--keep-alive-timeout', type=int, default=2, metavar='SECONDS',
        help='The number of seconds which a client connection will be kept alive to '
        'allow subsequent requests to be made over the same connection when a '
        'keep alive connection is requested. Defaults to 2, indicating that '
        'keep alive connections are set for 2 seconds.')
    add('--compress-responses', action='store_true',
        help='Flag indicating whether responses for common text based responses, '
        'such as plain text, HTML, XML, CSS and Javascript should be '
        'compressed.')
    add('--server-metrics', action='store_true',
        help='Flag indicating whether internal server metrics will be available '
        'within the WSGI application. Defaults to being disabled.')
    add('--telemetry-service', metavar='TARGET',
        help='Target metrics service to push telemetry to. Off by default.')
    add('--telemetry-interval', type=float, default=1.0, metavar='SECONDS',
        help='Metrics reporter sampling interval in seconds. Defaults to %%default.')
    add('--slow-requests', type=float, metavar='SECONDS',
        help='Enable slow-request reporting and set the threshold in seconds above '
        'which a still-running request is reported. Off by default.')
    add('--switch-interval', type=float, metavar='SECONDS',
        help='Override the Python GIL switch interval (sys.setswitchinterval). '
        "Defaults to Python's built-in 0.")
    add('--free-threading', action='store_true',
        help='Emit WSGIFreeThreading On in the generated configuration to run the '
        'Python interpreter without the GIL.')
    add('--telemetry-options', action='append', default=[], metavar='ARGS',
        help='Apache-Options-style metrics-capture toggle, passed verbatim to a '
        'WSGITelemetryOptions directive in the generated config.')
    add('--server-status', action='store_true',
        help='Flag indicating whether web server status will be available at the '
        '/server-status sub URL. Defaults to being disabled.')
    add('--host-access-script', metavar='SCRIPT-PATH',
        help='Specify a Python script file for performing host access checks.')
    add('--auth-user-script', metavar='SCRIPT-PATH',
        help='Specify a Python script file for performing user authentication.')
    add('--auth-type', default='Basic', metavar='TYPE',
        help='Specify the type of authentication scheme used when authenticating '
        "users. Defaults to using 'Basic'.")
    add('--auth-group-script', metavar='SCRIPT-PATH',
        help='Specify a Python script file for performing group based authorization '
        'in conjunction with a user authentication script.')
    add('--auth-group', default='wsgi', metavar='NAME',
        help='Specify the group which users should be a member of when using a group'
        " based authorization script. Defaults to 'wsgi' as a place holder but "
        'should be overridden to be the actual group you use rather than making'
        ' your group name match the default.')
    add('--include-file', action='append', dest='include_files',
        metavar='FILE-PATH',
        help='Specify the path to an additional web server configuration file to be '
        'included at the end of the generated web server configuration file.')
    add('--rewrite-rules', metavar='FILE-PATH',
        help='Specify an alternate server configuration file which contains rewrite '
        "rules. Defaults to using the 'rewrite.")
    add('--envvars-script', metavar='FILE-PATH',
        help='Specify an alternate script file for user defined web server '
        "environment variables. Defaults to using the 'envvars' stored under "
        'the server root directory.')
    add('--lang', metavar='NAME',
        help=argparse.SUPPRESS)
    add('--locale', metavar='NAME',
        help='Specify the natural language locale for the process as normally '
        "defined by the 'LC_ALL' environment variable.")
    add('--setenv', action='append', dest='setenv_variables', nargs=2,
        metavar=('KEY', 'VALUE'),
        help='Specify a name/value pairs to be added to the per request WSGI environ'
        ' dictionary')
    add('--passenv', action='append', dest='passenv_variables', metavar='KEY',
        help='Specify the names of any process level environment variables which '
        'should be passed as a name/value pair in the per request WSGI environ '
        'dictionary.')
    add('--working-directory', metavar='DIRECTORY-PATH',
        help='Specify the directory which should be used as the current working '
        'directory of the WSGI application. Defaults to the directory this '
        'script is run from.')
    add('--pid-file', metavar='FILE-PATH',
        help='Specify an alternate file to be used to store the process ID for the '
        'root process of the web server.')
    add('--server-root', metavar='DIRECTORY-PATH',
        help='Specify an alternate directory for where the generated web server '
        'configuration, startup files and logs will be stored.')
    add('--server-mpm', action='append', dest='server_mpm_variables',
        metavar='NAME',
        help='Specify preferred MPM to use when using Apache 2.4 with dynamically '
        'loadable MPMs and more than one is available.')
    add('--log-directory', metavar='DIRECTORY-PATH',
        help='Specify an alternate directory for where the log files will be stored.'
        ' Defaults to the server root directory.')
    add('--log-level', default='warn', metavar='NAME',
        help="Specify the log level for logging. Defaults to 'warn'.")
    add('--access-log', action='store_true',
        help='Flag indicating whether the web server access log should be enabled. '
        'Defaults to being disabled.')
    add('--startup-log', action='store_true',
        help='Flag indicating whether the web server startup log should be enabled. '
        'Defaults to being disabled.')
    add('--verbose-debugging', action='store_true',
        help=argparse.SUPPRESS)
    add('--log-to-terminal', action='store_true',
        help='Flag indicating whether logs should be directed back to the terminal. '
        'Defaults to being disabled.')
    add('--access-log-format', metavar='FORMAT',
        help='Specify the format of the access log records.')
    add('--error-log-format', metavar='FORMAT',
        help='Specify the format of the error log records.')
    add('--error-log-name', default='error_log', metavar='FILE-NAME',
        help='Specify the name of the error log file when it is being written to the'
        ' log directory.')
    add('--access-log-name', default='access_log', metavar='FILE-NAME',
        help='Specify the name of the access log file when it is being written to '
        'the log directory.')
    add('--startup-log-name', default='startup_log', metavar='FILE-NAME',
        help='Specify the name of the startup log file when it is being written to '
        'the log directory.')
    add('--rotate-logs', action='store_true',
        help='Flag indicating whether log rotation should be performed.')
    add('--max-log-size', type=int, default=5, metavar='MB',
        help='The maximum size in MB the log file should be allowed to reach before '
        'log file rotation is performed.')
    add('--rotatelogs-executable', default=platform.ROTATELOGS, metavar='FILE-PATH',
        help='Override the path to the rotatelogs executable.')
    add('--python-path', action='append', dest='python_paths',
        metavar='DIRECTORY-PATH',
        help='Specify the path to any additional directory that should be added to '
        'the Python module search path.')
    add('--python-eggs', metavar='DIRECTORY-PATH',
        help='Specify an alternate directory which should be used for unpacking of '
        'Python eggs. Defaults to a sub directory of the server root directory.')
    add('--python-warnings', action='append', default=[], metavar='SPEC',
        help='Add an entry to the Python warnings filter using the standard -W '
        'syntax (action:message:category:module:lineno).')
    add('--shell-executable', default=platform.SHELL, metavar='FILE-PATH',
        help="Override the path to the shell used in the 'apachectl' script.")
    add('--httpd-executable', default=platform.HTTPD, metavar='FILE-PATH',
        help='Override the path to the Apache web server executable.')
    add('--process-name', metavar='NAME',
        help='Override the name given to the Apache parent process.')
    add('--modules-directory', default=platform.LIBEXECDIR,
        metavar='DIRECTORY-PATH',
        help='Override the path to the Apache web server modules directory.')
    add('--mime-types', default=platform.MIME_TYPES, metavar='FILE-PATH',
        help='Override the path to the mime types file used by the web server.')
    add('--socket-prefix', metavar='DIRECTORY-PATH',
        help='Specify an alternate directory name prefix to be used for the UNIX '
        'domain sockets used by mod_wsgi to communicate between the Apache '
        'child processes and the daemon processes.')
    add('--chunked-request', action='store_true',
        help='Flag indicating whether requests which use chunked transfer encoding '
        'will be accepted.')
    add('--with-cgi', action='store_true',
        help='Flag indicating whether CGI script support should be enabled.')
    add('--service-script', action='append', dest='service_scripts', nargs=2,
        metavar=('SERVICE', 'SCRIPT-PATH'),
        help='Specify the name of a Python script to be loaded and executed in the '
        'context of a distinct daemon process.')
    add('--service-user', action='append', dest='service_users', nargs=2,
        metavar=('SERVICE', 'USERNAME'),
        help='When being run by the root user, the user that the distinct daemon '
        'process started to run the managed service should be run as.')
    add('--service-group', action='append', dest='service_groups', nargs=2,
        metavar=('SERVICE', 'GROUP'),
        help='When being run by the root user, the group that the distinct daemon '
        'process started to run the managed service should be run as.')
    add('--service-log-file', action='append', dest='service_log_files', nargs=2,
        metavar=('SERVICE', 'FILE-NAME'),
        help='Specify the name of a separate log file to be used for the managed '
        'service.')
    add('--orphan-interpreter', action='store_true',
        help='Flag indicating whether should skip over destroying the Python '
        'interpreter on process shutdown.')
    add('--embedded-mode', action='store_true',
        help='Flag indicating whether to run in embedded mode rather than the '
        'default daemon mode.')
    add('--setup-only', action='store_true',
        help='Flag indicating that after the configuration files have been setup, '
        'that the command should then exit and not go on to actually run up the'
        ' Apache server.')
    return parser


def parse(command, argv):
    """The options of `command` as a dict (mod_wsgi-express's vars(options)),
    and its positional arguments; exits with usage on bad input, as
    argparse does."""
    parser = build_parser(command)
    namespace = parser.parse_args(argv)
    options = vars(namespace)
    args = options.pop('script')
    check(parser, options, args)
    return options, args


def check(parser, options, args):
    """Values mod_wsgi-express would pass on for Apache to reject at start:
    refused here, with the option's name."""
    if len(args) > 1:
        parser.error('only one script is taken; got %s' % ' '.join(args))
    if options['application_type'] not in APPLICATION_TYPES:
        parser.error('argument --application-type: invalid choice: %r '
                '(choose from %s)' % (options['application_type'],
                ', '.join(APPLICATION_TYPES)))
    for name in ('port', 'https_port'):
        port = options[name]
        if port is not None and not 0 < port < 65536:
            parser.error('argument --%s: %d is not a port (1-65535)' % (
                    name.replace('_', '-'), port))
    if options['processes'] is not None and options['processes'] < 1:
        parser.error('argument --processes: must be at least 1')
    if options['threads'] < 1:
        parser.error('argument --threads: must be at least 1')
    for name in ('max_clients', 'maximum_requests', 'request_timeout',
            'restart_interval', 'startup_timeout', 'shutdown_timeout',
            'graceful_timeout', 'eviction_timeout', 'deadlock_timeout',
            'inactivity_timeout', 'interrupt_timeout', 'connect_timeout',
            'socket_timeout', 'queue_timeout', 'cpu_time_limit',
            'limit_request_body', 'keep_alive_timeout', 'server_backlog',
            'daemon_backlog'):
        value = options[name]
        if value is not None and value < 0:
            parser.error('argument --%s: must not be negative' %
                    name.replace('_', '-'))
    level = options['log_level']
    if level.lower() not in LOG_LEVELS:
        parser.error('argument --log-level: invalid choice: %r (choose from '
                '%s)' % (level, ', '.join(LOG_LEVELS)))
    for mpm in options['server_mpm_variables'] or []:
        if mpm not in SERVER_MPMS:
            parser.error('argument --server-mpm: invalid choice: %r (choose '
                    'from %s)' % (mpm, ', '.join(SERVER_MPMS)))
    if os.getuid() == 0:
        # Only root switches identity; Apache would stop at 'bad user name'.
        _check_identity(parser, options)
    if options['map_head_to_get'].lower() not in ('on', 'off', 'auto'):
        parser.error('argument --map-head-to-get: invalid choice: %r '
                '(choose from On, Off, Auto)' % options['map_head_to_get'])


def _check_identity(parser, options):
    user, group = options['user'], options['group']
    if not user.startswith('#'):
        try:
            pwd.getpwnam(user)
        except KeyError:
            parser.error('argument --user: no such user: %r' % user)
    if not group.startswith('#'):
        try:
            grp.getgrnam(group)
        except KeyError:
            parser.error('argument --group: no such group: %r' % group)
