"""The scripts setup-server writes into the server root, besides httpd.conf:
handler.wsgi (the application, through runtime.application_from_options),
default.wsgi (served when no application is named), apachectl and envvars.
Their shape is mod_wsgi-express 6.1.1's (scripts.py there).
"""

import os
import pprint

# WSGIHandlerScript's entry point is `handle_request` (mod_wsgi's rule for
# handler scripts); it gives the application the SCRIPT_NAME and PATH_INFO
# of its mount point, as mod_wsgi-express's ApplicationHandler does, since
# the request reached it through mod_rewrite's fallback to the handler.
# `reload_required` is the hook WSGIScriptReloading calls: a changed entry
# point reloads the application, as mod_wsgi-express does.
HANDLER_SCRIPT = '''\
# Written by mod_wsgi_rs-express %(command)s; written again at each start.
# %(sys_argv)s

import os
import sys

application_type = %(application_type)r
entry_point = %(entry_point)r
mount_point = %(mount_point)r
disable_reloading = %(disable_reloading)r
reload_on_changes = %(reload_on_changes)r

os.environ['MOD_WSGI_EXPRESS'] = 'true'
os.environ['MOD_WSGI_SERVER_NAME'] = %(server_host)r
os.environ['MOD_WSGI_SERVER_ALIASES'] = %(server_aliases)r or ''
if reload_on_changes:
    os.environ['MOD_WSGI_RELOADER_ENABLED'] = 'true'

from mod_wsgi_rs.express.runtime import application_from_options

application = application_from_options(%(handler_options)s)


def _target():
    if application_type != 'module':
        return entry_point
    module = sys.modules.get(entry_point.split(':')[0])
    return getattr(module, '__file__', None)


def _mtime(path):
    try:
        return os.path.getmtime(path)
    except (OSError, TypeError):
        return None


_target_path = _target()
_target_mtime = _mtime(_target_path)


def reload_required(resource):
    return not disable_reloading and _mtime(_target_path) != _target_mtime


def handle_request(environ, start_response):
    script_name = environ.get('SCRIPT_NAME', '')
    path_info = environ.get('PATH_INFO', '')
    if environ.get('mod_wsgi.mount_point') is not None:
        # A trusted proxy header set SCRIPT_NAME: keep it, strip the local
        # mount point from the path.
        path = environ['mod_wsgi.script_name'] + path_info
        if mount_point != '/' and path.startswith(mount_point):
            path = path[len(mount_point):]
        environ['PATH_INFO'] = path
    else:
        path = script_name + path_info
        environ['SCRIPT_NAME'] = ''
        environ['PATH_INFO'] = path
        if mount_point != '/' and path.startswith(mount_point):
            environ['SCRIPT_NAME'] = mount_point
            environ['PATH_INFO'] = path[len(mount_point):]
    return application(environ, start_response)
'''

DEFAULT_SCRIPT = '''\
# Served by mod_wsgi_rs-express when it is given no application.

CONTENT = b"""<html>
<head><title>mod_wsgi_rs-express</title></head>
<body>
<h1>mod_wsgi_rs-express is running</h1>
<p>Name a WSGI script to serve it:
<code>mod_wsgi_rs-express start-server app.wsgi</code></p>
</body>
</html>
"""


def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/html'),
            ('Content-Length', str(len(CONTENT)))])
    return [CONTENT]
'''

CONTROL_SCRIPT = '''\
#!%(shell_executable)s

# Written by mod_wsgi_rs-express %(command)s.
# %(sys_argv)s

HTTPD="%(httpd_executable)s"
HTTPD_ARGS="%(httpd_arguments)s"

HTTPD_COMMAND="$HTTPD $HTTPD_ARGS"

MOD_WSGI_MODULES_DIRECTORY="%(modules_directory)s"
export MOD_WSGI_MODULES_DIRECTORY

SHLIBPATH="%(shlibpath)s"

if [ "x$SHLIBPATH" != "x" ]; then
    %(shlibpath_var)s="$SHLIBPATH:$%(shlibpath_var)s"
    export %(shlibpath_var)s
fi

MOD_WSGI_SERVER_ROOT="%(server_root)s"

export MOD_WSGI_SERVER_ROOT

MOD_WSGI_LISTENER_HOST="%(host)s"

export MOD_WSGI_LISTENER_HOST

MOD_WSGI_HTTP_PORT="%(port)s"
MOD_WSGI_HTTPS_PORT="%(https_port)s"

export MOD_WSGI_HTTP_PORT
export MOD_WSGI_HTTPS_PORT

WSGI_RUN_USER="${WSGI_RUN_USER:-%(user)s}"
WSGI_RUN_GROUP="${WSGI_RUN_GROUP:-%(group)s}"

MOD_WSGI_USER="${MOD_WSGI_USER:-${WSGI_RUN_USER}}"
MOD_WSGI_GROUP="${MOD_WSGI_GROUP:-${WSGI_RUN_GROUP}}"

export MOD_WSGI_USER
export MOD_WSGI_GROUP

if [ `id -u` = "0" -a "${MOD_WSGI_USER}" = "root" ]; then
    cat << EOF

WARNING: When running as the 'root' user, it is required that the options
'--user' and '--group' be specified to mod_wsgi_rs-express. These should
define a non 'root' user and group under which the Apache child worker
processes and the daemon processes should be run. Failure to specify
these options will result in Apache and/or the daemon processes
failing to start.

EOF

fi

MOD_WSGI_WORKING_DIRECTORY="%(working_directory)s"

export MOD_WSGI_WORKING_DIRECTORY

LANG='%(lang)s'
LC_ALL='%(locale)s'

export LANG
export LC_ALL

ACMD="$1"
ARGV="$@"

if test -f "%(server_root)s/envvars"; then
    . "%(server_root)s/envvars"
fi

STATUSURL="http://%(host)s:%(port)s/server-status"

if [ "x$ARGV" = "x" ]; then
    ARGV="-h"
fi

PROCESS_NAME="%(process_name)s"

cd "$MOD_WSGI_WORKING_DIRECTORY"

case $ACMD in
start|stop|restart|graceful|graceful-stop)
    exec -a "$PROCESS_NAME" $HTTPD_COMMAND -k $ARGV
    ;;
configtest)
    exec $HTTPD_COMMAND -t
    ;;
status)
    exec %(python_executable)s -m webbrowser -t $STATUSURL
    ;;
*)
    exec $HTTPD_COMMAND $ARGV
esac
'''


def handler_options(options):
    """The dict handler.wsgi passes to application_from_options (the
    interface in PLAN4: all keys, always)."""
    return {
        'application_type': options['application_type'],
        'entry_point': options['entry_point'],
        'callable_object': options['callable_object'],
        'working_directory': options['working_directory'],
        'reload_on_changes': bool(options['reload_on_changes'] and
                not options['disable_reloading']),
        'reload_interval': 1,
        'server_root': options['server_root'],
    }


def handler_script(command, options):
    values = dict(options, command=command)
    values['handler_options'] = pprint.pformat(handler_options(options),
            indent=4, sort_dicts=False)
    return HANDLER_SCRIPT % values


def control_script(command, options):
    return CONTROL_SCRIPT % dict(options, command=command)


def _write(path, text, mode=0o644):
    with open(path, 'w') as fp:
        fp.write(text)
    os.chmod(path, mode)


def write_scripts(command, options):
    """handler.wsgi (not for a static site), default.wsgi, apachectl,
    envvars (kept if the user wrote one) and an empty rewrite.conf."""
    root = options['server_root']
    if options['application_type'] != 'static':
        _write(os.path.join(root, 'handler.wsgi'),
                handler_script(command, options))
    if options.get('default_application'):
        _write(os.path.join(root, 'default.wsgi'), DEFAULT_SCRIPT)
    _write(os.path.join(root, 'apachectl'), control_script(command, options),
            0o755)
    envvars = os.path.join(root, 'envvars')
    if options['envvars_script']:
        _write(envvars, '. %s\n' % options['envvars_script'])
    elif not os.path.isfile(envvars):
        _write(envvars, '')
