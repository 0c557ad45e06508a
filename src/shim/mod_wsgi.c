/*
 * mod_wsgi_rs: forwarders from Rust to what Apache's and APR's macros make
 * awkward to reach from Rust.
 *
 * The module structure, its directive table (built from the Rust directive
 * table) and hook registration are in Rust: src/module.rs,
 * src/apache/commands.rs and src/apache/hooks.rs.
 */

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>

#include <string.h>

#include "shim.h"

APLOG_USE_MODULE(wsgi);

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

/* Called from hook registration, once per configuration read, as this
 * module is loaded. */
void wsgi_shim_watch_load_module(void)
{
    wsgi_watching_load_module = 1;
    wsgi_skipped_load_module = 0;
    ap_hook_error_log(wsgi_watch_error_log, NULL, NULL, APR_HOOK_MIDDLE);
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
