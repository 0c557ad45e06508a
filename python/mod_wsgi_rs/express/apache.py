"""The httpd.conf that mod_wsgi_rs-express writes.

The template is mod_wsgi-express 6.1.1's (mod_wsgi/express/apache.py,
Apache License 2.0), so that a configuration users know from
mod_wsgi-express behaves the same here: the same directives, the same
`-D` switches (set by server.py in apachectl's HTTPD_ARGS) choosing its
parts. Left out: PHP 5 (a hidden option there), the bundled documentation
(--enable-docs) and --add-handler's resource handler, which this package
does not ship. Every WSGI* directive it writes is one this module
supports.
"""

import io
import os
import posixpath

from .apache_server import APACHE_SERVER_CONFIG
from .apache_sections import (
    APACHE_ALIAS_DIRECTORY_CONFIG, APACHE_ALIAS_FILENAME_CONFIG,
    APACHE_ERROR_DOCUMENT_CONFIG, APACHE_HANDLER_CONFIG,
    APACHE_IGNORE_ACTIVITY_CONFIG, APACHE_INCLUDE_CONFIG,
    APACHE_PASSENV_CONFIG, APACHE_PROXY_PASS_HOST_CONFIG,
    APACHE_PROXY_PASS_MOUNT_POINT_CONFIG,
    APACHE_PROXY_PASS_MOUNT_POINT_SLASH_CONFIG,
    APACHE_PYTHON_WARNINGS_CONFIG, APACHE_SERVICE_CONFIG,
    APACHE_SERVICE_WITH_LOG_CONFIG, APACHE_SETENV_CONFIG,
    APACHE_VERIFY_CLIENT_CONFIG,
)

# The virtual hosts, the document root and the WSGI handler.
APACHE_HOSTS_CONFIG = """
<IfDefine !MOD_WSGI_VIRTUAL_HOST>
<VirtualHost _default_:%(port)s>
</VirtualHost>
</IfDefine>

<IfDefine MOD_WSGI_VIRTUAL_HOST>

<VirtualHost _default_:%(port)s>
ServerName _wsgi_
<Location />
<IfDefine MOD_WSGI_ALLOW_LOCALHOST>
Require host localhost
</IfDefine>
<IfDefine !MOD_WSGI_ALLOW_LOCALHOST>
Require all denied
</IfDefine>
</Location>
</VirtualHost>
<IfDefine !MOD_WSGI_HTTPS_ONLY>
<VirtualHost *:%(port)s>
ServerName %(server_name)s
<IfDefine MOD_WSGI_SERVER_ALIAS>
ServerAlias %(server_aliases)s
</IfDefine>
</VirtualHost>
<IfDefine MOD_WSGI_REDIRECT_WWW>
<VirtualHost *:%(port)s>
ServerName %(parent_domain)s
Redirect permanent / http://%(server_name)s:%(port)s/
</VirtualHost>
</IfDefine>
</IfDefine>

<IfDefine MOD_WSGI_HTTPS_ONLY>
<VirtualHost *:%(port)s>
ServerName %(server_name)s
<IfDefine MOD_WSGI_SERVER_ALIAS>
ServerAlias %(server_aliases)s
</IfDefine>
RewriteEngine On
RewriteCond %%{HTTPS} off
RewriteRule (.*) https://%(server_name)s:%(https_port)s%%{REQUEST_URI}
</VirtualHost>
<IfDefine MOD_WSGI_REDIRECT_WWW>
<VirtualHost *:%(port)s>
ServerName %(parent_domain)s
RewriteEngine On
RewriteCond %%{HTTPS} off
RewriteRule (.*) https://%(server_name)s:%(https_port)s%%{REQUEST_URI}
</VirtualHost>
</IfDefine>
</IfDefine>

</IfDefine>

<IfDefine MOD_WSGI_VIRTUAL_HOST>

<IfDefine MOD_WSGI_WITH_HTTPS>
<IfDefine MOD_WSGI_WITH_LISTENER_HOST>
Listen %(host)s:%(https_port)s
</IfDefine>
<IfDefine !MOD_WSGI_WITH_LISTENER_HOST>
Listen %(https_port)s
</IfDefine>
<VirtualHost _default_:%(https_port)s>
ServerName _wsgi_
<Location />
<IfDefine MOD_WSGI_ALLOW_LOCALHOST>
Require host localhost
</IfDefine>
<IfDefine !MOD_WSGI_ALLOW_LOCALHOST>
Require all denied
</IfDefine>
</Location>
SSLEngine On
SSLCertificateFile %(ssl_certificate_file)s
SSLCertificateKeyFile %(ssl_certificate_key_file)s
<IfDefine MOD_WSGI_VERIFY_CLIENT>
SSLCACertificateFile %(ssl_ca_certificate_file)s
SSLVerifyClient none
</IfDefine>
<IfDefine MOD_WSGI_CERTIFICATE_CHAIN>
SSLCertificateChainFile %(ssl_certificate_chain_file)s
</IfDefine>
</VirtualHost>
<VirtualHost *:%(https_port)s>
ServerName %(server_name)s
<IfDefine MOD_WSGI_SERVER_ALIAS>
ServerAlias %(server_aliases)s
</IfDefine>
SSLEngine On
SSLCertificateFile %(ssl_certificate_file)s
SSLCertificateKeyFile %(ssl_certificate_key_file)s
<IfDefine MOD_WSGI_VERIFY_CLIENT>
SSLCACertificateFile %(ssl_ca_certificate_file)s
SSLVerifyClient none
</IfDefine>
<IfDefine MOD_WSGI_CERTIFICATE_CHAIN>
SSLCertificateChainFile %(ssl_certificate_chain_file)s
</IfDefine>
<IfDefine MOD_WSGI_HTTPS_ONLY>
<IfDefine MOD_WSGI_HSTS_POLICY>
Header set Strict-Transport-Security %(hsts_policy)s
</IfDefine>
</IfDefine>
<IfDefine MOD_WSGI_SSL_ENVIRONMENT>
SSLOptions +StdEnvVars
</IfDefine>
</VirtualHost>
<IfDefine MOD_WSGI_REDIRECT_WWW>
<VirtualHost *:%(https_port)s>
ServerName %(parent_domain)s
Redirect permanent / https://%(server_name)s:%(https_port)s/
SSLEngine On
SSLCertificateFile %(ssl_certificate_file)s
SSLCertificateKeyFile %(ssl_certificate_key_file)s
<IfDefine MOD_WSGI_VERIFY_CLIENT>
SSLCACertificateFile %(ssl_ca_certificate_file)s
SSLVerifyClient none
</IfDefine>
<IfDefine MOD_WSGI_CERTIFICATE_CHAIN>
SSLCertificateChainFile %(ssl_certificate_chain_file)s
</IfDefine>
</VirtualHost>
</IfDefine>
</IfDefine>

</IfDefine>

DocumentRoot '%(document_root)s'

AccessFileName .htaccess

<Directory '%(server_root)s'>
    AllowOverride %(allow_override)s
<Files handler.wsgi>
    Require all granted
</Files>
</Directory>

<Directory '%(document_root)s'>
    AllowOverride %(allow_override)s
<IfDefine MOD_WSGI_DIRECTORY_INDEX>
    DirectoryIndex %(directory_index)s
</IfDefine>
<IfDefine MOD_WSGI_DIRECTORY_LISTING>
    Options +Indexes
</IfDefine>
<IfDefine MOD_WSGI_CGI_SCRIPT>
    Options +ExecCGI
</IfDefine>
<IfDefine MOD_WSGI_CGID_SCRIPT>
    Options +ExecCGI
</IfDefine>
    RewriteEngine On
    RewriteOptions InheritDownBefore
    Include %(rewrite_rules)s
    Require all granted
</Directory>

<Directory '%(document_root)s%(mount_point)s'>
<IfDefine !MOD_WSGI_STATIC_ONLY>
    RewriteCond %%{REQUEST_FILENAME} !-f
<IfDefine MOD_WSGI_DIRECTORY_INDEX>
    RewriteCond %%{REQUEST_FILENAME} !-d
</IfDefine>
<IfDefine MOD_WSGI_SERVER_STATUS>
    RewriteCond %%{REQUEST_URI} !/server-status
</IfDefine>
    RewriteRule .* - [H=wsgi-handler]
</IfDefine>
</Directory>

<IfDefine MOD_WSGI_ERROR_OVERRIDE>
WSGIErrorOverride On
</IfDefine>

<IfDefine MOD_WSGI_HOST_ACCESS>
<Location />
    WSGIAccessScript '%(host_access_script)s'
</Location>
</IfDefine>

<IfDefine MOD_WSGI_AUTH_USER>
<Location />
    AuthType %(auth_type)s
    AuthName '%(host)s:%(port)s'
    Auth%(auth_type)sProvider wsgi
    WSGIAuthUserScript '%(auth_user_script)s'
<IfDefine MOD_WSGI_AUTH_GROUP>
    WSGIAuthGroupScript '%(auth_group_script)s'
</IfDefine>
    <RequireAll>
    Require valid-user
<IfDefine MOD_WSGI_AUTH_GROUP>
    Require wsgi-group '%(auth_group)s'
</IfDefine>
    </RequireAll>
</Location>
</IfDefine>

<IfDefine !ONE_PROCESS>
<IfDefine !EMBEDDED_MODE>
WSGIHandlerScript wsgi-handler '%(server_root)s/handler.wsgi' \\
    process-group=%(process_group)s application-group=%(application_group)s
<IfDefine MOD_WSGI_IMPORT_HANDLER_SCRIPT>
WSGIImportScript '%(server_root)s/handler.wsgi' \\
    process-group=%(process_group)s application-group=%(application_group)s
</IfDefine>
</IfDefine>
</IfDefine>

<IfDefine EMBEDDED_MODE>
WSGIHandlerScript wsgi-handler '%(server_root)s/handler.wsgi' \\
    process-group='%%{GLOBAL}' application-group=%(application_group)s
<IfDefine MOD_WSGI_IMPORT_HANDLER_SCRIPT>
WSGIImportScript '%(server_root)s/handler.wsgi' \\
    process-group='%%{GLOBAL}' application-group=%(application_group)s
</IfDefine>
</IfDefine>

<IfDefine ONE_PROCESS>
<IfDefine !MOD_WSGI_MPM_ENABLE_WINNT_MODULE>
WSGIHandlerScript wsgi-handler '%(server_root)s/handler.wsgi' \\
    process-group='%%{GLOBAL}' application-group=%(application_group)s
<IfDefine MOD_WSGI_IMPORT_HANDLER_SCRIPT>
WSGIImportScript '%(server_root)s/handler.wsgi' \\
    process-group='%%{GLOBAL}' application-group=%(application_group)s
</IfDefine>
</IfDefine>
<IfDefine MOD_WSGI_MPM_ENABLE_WINNT_MODULE>
WSGIHandlerScript wsgi-handler '%(server_root)s/handler.wsgi' \\
    application-group=%(application_group)s
<IfDefine MOD_WSGI_IMPORT_HANDLER_SCRIPT>
WSGIImportScript '%(server_root)s/handler.wsgi' \\
    application-group=%(application_group)s
</IfDefine>
</IfDefine>
</IfDefine>
"""


def apache_config(options):
    """The httpd.conf text for the resolved options (server.resolve)."""
    fp = io.StringIO()
    print(APACHE_SERVER_CONFIG % options, file=fp)
    print(APACHE_HOSTS_CONFIG % options, file=fp)

    if options['ignore_activity']:
        for url in options['ignore_activity']:
            print(APACHE_IGNORE_ACTIVITY_CONFIG % dict(url=url), file=fp)

    if (options['proxy_timeout'] is not None and
            (options['proxy_mount_points'] or
                options['proxy_virtual_hosts'])):
        print(f"ProxyTimeout {options['proxy_timeout']}", file=fp)

    if options['proxy_mount_points']:
        for mount_point, url in options['proxy_mount_points']:
            # X-Forwarded-Prefix is the conventional Traefik / Werkzeug /
            # Spring form: leading slash, no trailing slash. Strip any
            # user-supplied trailing slash so '/api' and '/api/' both
            # produce '/api'.
            prefix = str(mount_point).rstrip('/')
            if mount_point.endswith('/'):
                print(APACHE_PROXY_PASS_MOUNT_POINT_CONFIG % dict(
                        mount_point=mount_point, url=url,
                        prefix=prefix), file=fp)
            else:
                # Template forces a trailing "/" on both sides of the
                # ProxyPass; strip any user-provided trailing slash on
                # url so we end up single-slash terminated. Matters
                # especially for unix-socket URLs of the form
                # 'unix:/path|http://host/' where the trailing "/" is
                # canonical.
                print(APACHE_PROXY_PASS_MOUNT_POINT_SLASH_CONFIG % dict(
                        mount_point=mount_point,
                        url=str(url).rstrip('/'),
                        prefix=prefix), file=fp)

    if options['proxy_virtual_hosts']:
        for host, url in options['proxy_virtual_hosts']:
            print(APACHE_PROXY_PASS_HOST_CONFIG % dict(
                    host=host, port=options['port'], url=url),
                    file=fp)

    if options['url_aliases']:
        for mount_point, target in sorted(options['url_aliases'],
                reverse=True):
            path = posixpath.abspath(target)

            if os.path.isdir(path) or not os.path.exists(path):
                if target.endswith('/') and path != '/':
                    directory = path + '/'
                else:
                    directory = path

                print(APACHE_ALIAS_DIRECTORY_CONFIG % dict(
                        mount_point=mount_point, directory=directory,
                        allow_override=options['allow_override']),
                        file=fp)

            else:
                directory = posixpath.dirname(path)
                filename = posixpath.basename(path)

                print(APACHE_ALIAS_FILENAME_CONFIG % dict(
                        mount_point=mount_point, directory=directory,
                        filename=filename), file=fp)

    if options['error_documents']:
        for status, document in options['error_documents']:
            print(APACHE_ERROR_DOCUMENT_CONFIG % dict(status=status,
                    document=document.replace("'", "\\'")), file=fp)

    if options['ssl_verify_client_urls']:
        paths = sorted(options['ssl_verify_client_urls'], reverse=True)
        for path in paths:
            print(APACHE_VERIFY_CLIENT_CONFIG % dict(path=path), file=fp)
    else:
        print(APACHE_VERIFY_CLIENT_CONFIG % dict(path='/'), file=fp)

    if options['setenv_variables']:
        for name, value in options['setenv_variables']:
            print(APACHE_SETENV_CONFIG % dict(name=name, value=value),
                    file=fp)

    if options['python_warnings']:
        for spec in options['python_warnings']:
            print(APACHE_PYTHON_WARNINGS_CONFIG % dict(spec=spec),
                    file=fp)

    if options['passenv_variables']:
        for name in options['passenv_variables']:
            print(APACHE_PASSENV_CONFIG % dict(name=name), file=fp)

    if options['with_cgi']:
        print(APACHE_HANDLER_CONFIG % dict(handler='cgi-script',
                extension='.cgi'), file=fp)

    if options['service_scripts']:
        service_log_files = {}
        if options['service_log_files']:
            service_log_files.update(options['service_log_files'])
        users = dict(options['service_users'] or [])
        groups = dict(options['service_groups'] or [])
        for name, script in options['service_scripts']:
            user = users.get(name, '${MOD_WSGI_USER}')
            group = groups.get(name, '${MOD_WSGI_GROUP}')
            if name in service_log_files:
                print(APACHE_SERVICE_WITH_LOG_CONFIG % dict(name=name,
                        user=user, group=group, script=script,
                        port=options['port'],
                        log_directory=options['log_directory'],
                        log_file=service_log_files[name],
                        rotatelogs_executable=options['rotatelogs_executable'],
                        max_log_size=options['max_log_size'],
                        python_path=options['python_path'],
                        working_directory=options['working_directory'],
                        python_eggs=options['python_eggs'],
                        lang=options['lang'], locale=options['locale'],
                        server_metrics_flag=options['server_metrics_flag']),
                        file=fp)
            else:
                print(APACHE_SERVICE_CONFIG % dict(name=name, user=user,
                        group=group, script=script,
                        python_path=options['python_path'],
                        working_directory=options['working_directory'],
                        python_eggs=options['python_eggs'],
                        lang=options['lang'], locale=options['locale'],
                        server_metrics_flag=options['server_metrics_flag']),
                        file=fp)

    if options['include_files']:
        for filename in options['include_files']:
            filename = posixpath.abspath(filename)
            print(APACHE_INCLUDE_CONFIG % dict(filename=filename),
                    file=fp)

    return fp.getvalue()
