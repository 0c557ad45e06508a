/*
 * mod_wsgi_rs: module structure, directive table and hook registration.
 *
 * The module calls itself "mod_wsgi.c" (src/module.rs) so that existing
 * <IfModule mod_wsgi.c> and <IfModule wsgi_module> guards apply.
 * Every directive is parsed in Rust (wsgi_rs_directive), which knows
 * which ones are supported; the table's scopes mirror mod_wsgi 6.x.
 */

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mpm_common.h>

#include <string.h>

#include "shim.h"

APLOG_USE_MODULE(wsgi);

#define DIRECTIVE(name, where, help) \
    AP_INIT_RAW_ARGS(name, wsgi_rs_directive, NULL, where, help)

const command_rec wsgi_shim_command_table[] = {
    /* Supported. */
    DIRECTIVE("WSGIScriptAlias", RSRC_CONF, "Map location to target WSGI script file."),
    DIRECTIVE("WSGIScriptAliasMatch", RSRC_CONF, "Map location pattern to target WSGI script file."),
    DIRECTIVE("WSGIPythonHome", RSRC_CONF, "Python prefix/exec_prefix absolute path names."),
    DIRECTIVE("WSGIPythonPath", RSRC_CONF, "Python module search path."),
    DIRECTIVE("WSGICallableObject", OR_FILEINFO, "Name of entry point in WSGI script file."),
    DIRECTIVE("WSGIApplicationGroup", ACCESS_CONF | RSRC_CONF, "Application interpreter group."),
    DIRECTIVE("WSGIProcessGroup", ACCESS_CONF | RSRC_CONF, "Name of the WSGI process group."),
    DIRECTIVE("WSGIScriptReloading", OR_FILEINFO, "Enable/Disable script reloading mechanism."),
    DIRECTIVE("WSGIPassAuthorization", OR_FILEINFO, "Enable/Disable WSGI authorization."),
    DIRECTIVE("WSGIChunkedRequest", OR_FILEINFO, "Enable/Disable support for chunked requests."),
    DIRECTIVE("WSGIMapHEADToGET", OR_FILEINFO, "Enable/Disable mapping of HEAD to GET."),
    DIRECTIVE("WSGIErrorOverride", OR_FILEINFO, "Enable/Disable overriding of error pages."),
    DIRECTIVE("WSGIEnableSendfile", OR_FILEINFO, "Enable/Disable support for kernel sendfile."),
    DIRECTIVE("WSGIDaemonProcess", RSRC_CONF, "Specify details of daemon processes to start."),
    DIRECTIVE("WSGISocketPrefix", RSRC_CONF, "Path prefix for the daemon process sockets."),
    DIRECTIVE("WSGIRestrictEmbedded", RSRC_CONF, "Enable/Disable use of embedded mode."),
    DIRECTIVE("WSGIPythonOptimize", RSRC_CONF, "Set level of Python compiler optimisations."),
    DIRECTIVE("WSGIDontWriteBytecode", RSRC_CONF, "Enable/Disable writing of byte code."),
    DIRECTIVE("WSGIPythonHashSeed", RSRC_CONF, "Python hash seed."),
    DIRECTIVE("WSGIPythonWarnings", RSRC_CONF, "Control Python warning messages."),
    DIRECTIVE("WSGISwitchInterval", RSRC_CONF, "Override Python GIL switch interval (seconds)."),
    DIRECTIVE("WSGIRestrictSignal", RSRC_CONF, "Enable/Disable restrictions on use of signal()."),
    /* mod_wsgi's other directives: accepted by name so that using one is a
     * clear "not supported yet" error rather than "Invalid command". */
    DIRECTIVE("WSGISocketRotation", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIAcceptMutex", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIVerboseDebugging", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIPythonEggs", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIDestroyInterpreter", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIPerInterpreterGIL", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIFreeThreading", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("<WSGIInterpreterOptions", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIRestrictStdin", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIRestrictStdout", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGICaseSensitivity", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIRestrictProcess", ACCESS_CONF | RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIImportScript", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIDispatchScript", ACCESS_CONF | RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIPassApacheRequest", ACCESS_CONF | RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIIgnoreActivity", OR_FILEINFO, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGITrustedProxyHeaders", OR_FILEINFO, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGITrustedProxies", OR_FILEINFO, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIAccessScript", OR_AUTHCFG, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIAuthUserScript", OR_AUTHCFG, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIAuthGroupScript", OR_AUTHCFG, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIGroupAuthoritative", OR_AUTHCFG, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIHandlerScript", ACCESS_CONF | RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGIServerMetrics", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGITelemetryService", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGISlowRequests", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    DIRECTIVE("WSGITelemetryOptions", RSRC_CONF, "Not supported yet by mod_wsgi_rs."),
    { NULL }
};

/*
 * From this module's loading until its pre_config, while Apache reads the
 * configuration, watch for mod_so's warning that a later
 * "LoadModule wsgi_module ..." was skipped because this module already has
 * that name (typically the original mod_wsgi, e.g. Debian's wsgi.load).
 * pre_config then refuses to start (src/child.rs). The warning does not
 * name the skipped file, so loading this module twice is refused too.
 */
static int wsgi_watching_load_module;
static int wsgi_skipped_load_module;

static void wsgi_watch_error_log(const ap_errorlog_info *info, const char *errstr)
{
    (void)info;
    if (wsgi_watching_load_module && errstr != NULL
        && strstr(errstr, "module wsgi_module is already loaded") != NULL) {
        wsgi_skipped_load_module = 1;
    }
}

int wsgi_shim_take_skipped_load_module(void)
{
    int skipped = wsgi_skipped_load_module;
    wsgi_watching_load_module = 0;
    wsgi_skipped_load_module = 0;
    return skipped;
}

static void wsgi_register_hooks(apr_pool_t *p)
{
    /* Before mod_alias, so WSGIScriptAlias wins over an Alias of the same URL, as in mod_wsgi. */
    static const char * const before_alias[] = { "mod_alias.c", NULL };
    static const char * const after_userdir[] = { "mod_userdir.c", "mod_vhost_alias.c", NULL };
    (void)p;

    ap_hook_pre_config(wsgi_rs_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(wsgi_rs_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(wsgi_rs_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(wsgi_rs_translate_name, before_alias, after_userdir, APR_HOOK_MIDDLE);
    ap_hook_handler(wsgi_rs_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_monitor(wsgi_rs_monitor, NULL, NULL, APR_HOOK_MIDDLE);

    /* Called once per configuration read, as this module is loaded. */
    wsgi_watching_load_module = 1;
    wsgi_skipped_load_module = 0;
    ap_hook_error_log(wsgi_watch_error_log, NULL, NULL, APR_HOOK_MIDDLE);
}

/*
 * The module structure itself (`wsgi_module`, named "mod_wsgi.c") is
 * defined in Rust (src/module.rs): rustc then exports it from the cdylib
 * with any linker, where a C definition would need a second version script
 * that GNU ld refuses. It points back at wsgi_shim_command_table and at
 * the function below.
 */
void wsgi_shim_register_hooks(apr_pool_t *p)
{
    wsgi_register_hooks(p);
}

void wsgi_shim_log_server(int level, apr_status_t status, const server_rec *s, const char *message)
{
    ap_log_error(APLOG_MARK, level, status, s, "%s", message);
}

void wsgi_shim_log_request(int level, apr_status_t status, const request_rec *r, const char *message)
{
    ap_log_rerror(APLOG_MARK, level, status, r, "%s", message);
}

void *wsgi_shim_server_config(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &wsgi_module);
}

void *wsgi_shim_dir_config(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &wsgi_module);
}

void *wsgi_shim_request_config(const request_rec *r)
{
    return ap_get_module_config(r->request_config, &wsgi_module);
}

void wsgi_shim_set_request_config(request_rec *r, void *value)
{
    ap_set_module_config(r->request_config, &wsgi_module, value);
}

const apr_table_entry_t *wsgi_shim_table_entries(const apr_table_t *t, int *count)
{
    const apr_array_header_t *array = apr_table_elts(t);
    *count = array->nelts;
    return (const apr_table_entry_t *)array->elts;
}

void wsgi_shim_brigade_append(apr_bucket_brigade *bb, apr_bucket *b)
{
    APR_BRIGADE_INSERT_TAIL(bb, b);
}

int wsgi_shim_brigade_is_empty(const apr_bucket_brigade *bb)
{
    return APR_BRIGADE_EMPTY(bb);
}

const char *wsgi_shim_http_scheme(const request_rec *r)
{
    return ap_http_scheme(r);
}

int wsgi_shim_module_index(void)
{
    return wsgi_module.module_index;
}

const char *wsgi_shim_module_name(void)
{
    return wsgi_module.name;
}

apr_size_t wsgi_shim_sizeof(enum wsgi_shim_struct which)
{
    switch (which) {
    case WSGI_SHIM_REQUEST_REC: return sizeof(request_rec);
    case WSGI_SHIM_CONN_REC: return sizeof(conn_rec);
    case WSGI_SHIM_SERVER_REC: return sizeof(server_rec);
    case WSGI_SHIM_CMD_PARMS: return sizeof(cmd_parms);
    case WSGI_SHIM_MODULE: return sizeof(module);
    case WSGI_SHIM_APR_FINFO: return sizeof(apr_finfo_t);
    case WSGI_SHIM_BUCKET: return sizeof(apr_bucket);
    }
    return 0;
}
