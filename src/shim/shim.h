/*
 * The C side of mod_wsgi_rs: only what Apache's and APR's macros make
 * awkward from Rust. Everything here is a one-line forward to Apache.
 * The functions named wsgi_rs_* are implemented in Rust (src/entry.rs).
 */
#ifndef WSGI_SHIM_H
#define WSGI_SHIM_H

#include <httpd.h>
#include <http_config.h>
#include <apr_buckets.h>

/* Implemented in Rust: configuration. */
void *wsgi_rs_create_dir_config(apr_pool_t *p, char *dir);
void *wsgi_rs_merge_dir_config(apr_pool_t *p, void *base, void *add);
void *wsgi_rs_create_server_config(apr_pool_t *p, server_rec *s);
void *wsgi_rs_merge_server_config(apr_pool_t *p, void *base, void *add);
const char *wsgi_rs_directive(cmd_parms *cmd, void *dir_config, const char *args);

/* Implemented in Rust: hooks. */
int wsgi_rs_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int wsgi_rs_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
void wsgi_rs_child_init(apr_pool_t *pchild, server_rec *s);
int wsgi_rs_translate_name(request_rec *r);
int wsgi_rs_handler(request_rec *r);
int wsgi_rs_monitor(apr_pool_t *p, server_rec *s);

/* The directive table and hook registration, for the module structure in Rust. */
extern const command_rec wsgi_shim_command_table[];
void wsgi_shim_register_hooks(apr_pool_t *p);

/* Forwarders from Rust to Apache's macros. */
void wsgi_shim_log_server(int level, apr_status_t status, const server_rec *s, const char *message);
void wsgi_shim_log_request(int level, apr_status_t status, const request_rec *r, const char *message);
void *wsgi_shim_server_config(const server_rec *s);
void *wsgi_shim_dir_config(const request_rec *r);
void *wsgi_shim_request_config(const request_rec *r);
void wsgi_shim_set_request_config(request_rec *r, void *value);
const apr_table_entry_t *wsgi_shim_table_entries(const apr_table_t *t, int *count);
void wsgi_shim_brigade_append(apr_bucket_brigade *bb, apr_bucket *b);
int wsgi_shim_brigade_is_empty(const apr_bucket_brigade *bb);
const char *wsgi_shim_http_scheme(const request_rec *r);
int wsgi_shim_module_index(void);
const char *wsgi_shim_module_name(void);
/* 1 if mod_so skipped another "LoadModule wsgi_module" since this module was
 * loaded; stops watching. */
int wsgi_shim_take_skipped_load_module(void);

/* Struct sizes as the C compiler sees them, compared with bindgen's at start-up. */
enum wsgi_shim_struct {
    WSGI_SHIM_REQUEST_REC,
    WSGI_SHIM_CONN_REC,
    WSGI_SHIM_SERVER_REC,
    WSGI_SHIM_CMD_PARMS,
    WSGI_SHIM_MODULE,
    WSGI_SHIM_APR_FINFO,
    WSGI_SHIM_BUCKET,
};
apr_size_t wsgi_shim_sizeof(enum wsgi_shim_struct which);

#endif
