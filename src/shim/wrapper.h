/* Headers bindgen reads to generate src/apache/bindings (Apache 2.4, APR 1.x). */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_mpm.h>
#include <ap_regex.h>
#include <util_filter.h>
#include <util_script.h>
#include <apr_buckets.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_portable.h>
#include "shim.h"
