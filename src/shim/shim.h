/*
 * The C side of mod_wsgi_rs: only what Apache's and APR's macros make
 * awkward from Rust. Everything here is a one-line forward to Apache.
 */
#ifndef WSGI_SHIM_H
#define WSGI_SHIM_H

#include <httpd.h>
#include <http_config.h>
#include <apr_buckets.h>

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
/* Starts watching the error log for mod_so's "module wsgi_module is already
 * loaded" (a skipped duplicate LoadModule). */
void wsgi_shim_watch_load_module(void);
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
