//! A request as this module sees it: read access to Apache's request_rec,
//! the response calls, and the request body. Every raw access to a
//! request_rec is in this file.

use std::ffi::{CStr, c_char, c_int};
use std::io;
use std::os::fd::RawFd;

use super::bindings::{self, apr_bucket_brigade, apr_table_t, request_rec};
use super::strings::{bytes, pool_copy};

mod auth;
mod ssl;

/// A live request, valid for the duration of the hook that received it.
/// Not `Copy`: whoever holds it may change the request_rec, so it is lent
/// (`&mut self` for changes) rather than duplicated.
pub struct Request {
    raw: *mut request_rec,
}

// SAFETY: a request is used by one thread at a time: the Apache worker that
// runs the handler, or (while that worker waits with the GIL released) the
// application thread doing I/O for it, never both.
unsafe impl Send for Request {}

/// Visits each key/value of an APR table.
///
/// # Safety
/// `table` must be a live table whose strings outlive the visit.
unsafe fn visit_table(table: *const apr_table_t, visit: &mut dyn FnMut(&[u8], &[u8])) {
    if table.is_null() {
        return;
    }
    let mut count: c_int = 0;
    // SAFETY: the table is live (caller); the shim returns its entry array.
    let entries = unsafe { bindings::wsgi_shim_table_entries(table, &mut count) };
    for i in 0..count.max(0) as usize {
        // SAFETY: `i` is within the array's `count` entries.
        let entry = unsafe { &*entries.add(i) };
        if entry.key.is_null() {
            continue;
        }
        // SAFETY: table keys and values are NUL-terminated pool strings.
        unsafe { visit(bytes(entry.key), bytes(entry.val)) };
    }
}

impl Request {
    /// # Safety
    /// `raw` must be a live request_rec for as long as the value is used.
    pub unsafe fn from_raw(raw: *mut request_rec) -> Self {
        Request { raw }
    }

    /// Writes one line to the error log, about this request.
    pub fn log(&self, level: wsgi::messages::Level, line: &str) {
        // SAFETY: the request is live.
        unsafe { super::log::request(level, self.raw, line) }
    }

    fn r(&self) -> &request_rec {
        // SAFETY: live for the request (constructor's contract).
        unsafe { &*self.raw }
    }

    fn r_mut(&mut self) -> &mut request_rec {
        // SAFETY: live for the request; only this thread touches it now.
        unsafe { &mut *self.raw }
    }

    pub(super) fn connection(&self) -> *mut bindings::conn_rec {
        self.r().connection
    }

    fn pool(&self) -> *mut bindings::apr_pool_t {
        self.r().pool
    }

    fn string(&self, ptr: *const c_char) -> &[u8] {
        // SAFETY: request fields are NULL or pool strings living as long as the request.
        unsafe { bytes(ptr) }
    }

    pub fn uri(&self) -> &[u8] {
        self.string(self.r().uri)
    }
    pub fn handler(&self) -> &[u8] {
        self.string(self.r().handler)
    }
    pub fn filename(&self) -> &[u8] {
        self.string(self.r().filename)
    }
    pub fn path_info(&self) -> &[u8] {
        self.string(self.r().path_info)
    }
    /// The host the client asked for, without the port (empty if none).
    pub fn hostname(&self) -> &[u8] {
        self.string(self.r().hostname)
    }
    pub fn method(&self) -> &[u8] {
        self.string(self.r().method)
    }
    pub fn protocol(&self) -> &[u8] {
        self.string(self.r().protocol)
    }
    pub fn args(&self) -> &[u8] {
        self.string(self.r().args)
    }
    pub fn user(&self) -> Option<&[u8]> {
        (!self.r().user.is_null()).then(|| self.string(self.r().user))
    }
    pub fn auth_type(&self) -> Option<&[u8]> {
        (!self.r().ap_auth_type.is_null()).then(|| self.string(self.r().ap_auth_type))
    }
    pub fn useragent_ip(&self) -> &[u8] {
        self.string(self.r().useragent_ip)
    }
    pub fn is_head(&self) -> bool {
        self.r().header_only != 0
    }
    pub fn is_get_method(&self) -> bool {
        self.r().method_number == bindings::M_GET as c_int
    }

    /// The original request's URI as the client sent it (REQUEST_URI),
    /// even after internal redirects.
    pub fn original_unparsed_uri(&self) -> &[u8] {
        let mut first = self.raw;
        // SAFETY: `prev` links are live requests of the same connection.
        unsafe {
            while !(*first).prev.is_null() {
                first = (*first).prev;
            }
            bytes((*first).unparsed_uri)
        }
    }

    pub fn script_kind(&self) -> FileKind {
        match self.r().finfo.filetype {
            bindings::apr_filetype_e_APR_NOFILE => FileKind::Missing,
            bindings::apr_filetype_e_APR_DIR => FileKind::Directory,
            _ => FileKind::File,
        }
    }
    pub fn script_mtime(&self) -> i64 {
        self.r().finfo.mtime
    }

    /// When Apache read the request line (microseconds since the epoch).
    pub fn request_time(&self) -> i64 {
        self.r().request_time
    }

    /// The request's log id (`%L`, mod_unique_id's UNIQUE_ID when loaded),
    /// generated now if no module asked for it yet, as mod_wsgi does so that
    /// the application and the error log name the request alike.
    pub fn log_id(&self) -> Option<&[u8]> {
        let raw = self.raw;
        // SAFETY: the request and its connection are live; the hook stores a
        // pool string in `log_id`, a field no Rust reference points into
        // (every accessor copies or borrows only string contents).
        unsafe {
            if (*raw).log_id.is_null() {
                bindings::ap_run_generate_log_id((*raw).connection, raw, &raw mut (*raw).log_id);
            }
            (!(*raw).log_id.is_null()).then(|| bytes((*raw).log_id))
        }
    }

    /// The connection's log id, if the error log has used one (mod_wsgi
    /// passes it on only then).
    pub fn connection_log_id(&self) -> Option<&[u8]> {
        // SAFETY: the connection is live for the request.
        let id = unsafe { (*self.r().connection).log_id };
        (!id.is_null()).then(|| self.string(id))
    }

    pub fn rejects_path_info(&self) -> bool {
        self.r().used_path_info == bindings::AP_REQ_REJECT_PATH_INFO as c_int
    }

    pub fn exec_cgi_allowed(&self) -> bool {
        // SAFETY: the request is live.
        (unsafe { bindings::ap_allow_options(self.raw) } & bindings::OPT_EXECCGI as c_int) != 0
    }

    /// True when an output filter before the protocol filters may need the
    /// body (mod_wsgi's test for `WSGIMapHEADToGET Auto`).
    pub fn has_content_filters(&self) -> bool {
        let filters = self.r().output_filters;
        // SAFETY: the filter chain and its frec are live for the request.
        unsafe {
            !filters.is_null()
                && !(*filters).frec.is_null()
                && (*(*filters).frec).ftype < bindings::ap_filter_type_AP_FTYPE_PROTOCOL
        }
    }

    pub fn header_in(&self, name: &CStr) -> Option<&[u8]> {
        // SAFETY: headers_in is live; apr_table_get returns NULL or a pool string.
        let value = unsafe { bindings::apr_table_get(self.r().headers_in, name.as_ptr()) };
        (!value.is_null()).then(|| self.string(value))
    }

    pub fn visit_headers_in(&self, visit: &mut dyn FnMut(&[u8], &[u8])) {
        // SAFETY: headers_in is a live table of the request.
        unsafe { visit_table(self.r().headers_in, visit) }
    }

    pub fn visit_subprocess_env(&self, visit: &mut dyn FnMut(&[u8], &[u8])) {
        // SAFETY: subprocess_env is a live table of the request.
        unsafe { visit_table(self.r().subprocess_env, visit) }
    }

    pub fn subprocess_env_bytes(&self, name: &CStr) -> Option<&[u8]> {
        // SAFETY: the table is live; the result is NULL or a pool string.
        let value = unsafe { bindings::apr_table_get(self.r().subprocess_env, name.as_ptr()) };
        (!value.is_null()).then(|| self.string(value))
    }

    pub fn subprocess_env(&self, name: &CStr) -> Option<String> {
        // SAFETY: the table is live; the result is NULL or a pool string.
        let value = unsafe { bindings::apr_table_get(self.r().subprocess_env, name.as_ptr()) };
        (!value.is_null()).then(|| String::from_utf8_lossy(self.string(value)).into_owned())
    }

    /// The server (main server or virtual host) the request came to.
    pub fn server(&self) -> super::server::Server<'_> {
        // SAFETY: a request's server is live, and its configuration read,
        // for as long as the request.
        unsafe { super::server::Server::from_raw(self.r().server) }
    }

    /// Server-side facts for CGI variables.
    pub fn server_facts(&self) -> ServerFacts<'_> {
        let r = self.r();
        // SAFETY: the connection, server and their addresses are live for
        // the request; every function called only reads them.
        unsafe {
            let c = &*r.connection;
            let s = &*r.server;
            ServerFacts {
                banner: bytes(bindings::ap_get_server_banner()),
                name: bytes(bindings::ap_get_server_name_for_url(self.raw)),
                port: bindings::ap_get_server_port(self.raw),
                local_ip: bytes(c.local_ip),
                client_port: if c.client_addr.is_null() {
                    0
                } else {
                    (*c.client_addr).port
                },
                document_root: bytes(bindings::ap_document_root(self.raw)),
                context_prefix: bytes(bindings::ap_context_prefix(self.raw)),
                context_document_root: bytes(bindings::ap_context_document_root(self.raw)),
                admin: (!s.server_admin.is_null()).then(|| bytes(s.server_admin)),
                scheme: bytes(bindings::wsgi_shim_http_scheme(self.raw)),
                hostname: bytes(s.server_hostname),
                listener_host: if c.local_addr.is_null() {
                    b""
                } else {
                    bytes((*c.local_addr).hostname)
                },
                listener_port: if c.local_addr.is_null() {
                    0
                } else {
                    (*c.local_addr).port
                },
            }
        }
    }

    /// Where PATH_INFO starts in the URI (Apache's own rule).
    pub fn script_name_length(&self) -> usize {
        // SAFETY: uri and path_info are live NUL-terminated strings.
        let n = unsafe { bindings::ap_find_path_info(self.r().uri, self.r().path_info) };
        usize::try_from(n).unwrap_or(0).min(self.uri().len())
    }

    pub fn set_filename_and_handler(&mut self, filename: &[u8], handler: &'static CStr) {
        let pool = self.pool();
        // SAFETY: the pool is live; the copy outlives the request's use of it.
        let filename = unsafe { pool_copy(pool, filename) };
        let r = self.r_mut();
        r.filename = filename;
        r.handler = handler.as_ptr();
        // SAFETY: notes is live; both strings are static.
        unsafe {
            bindings::apr_table_setn(r.notes, c"alias-forced-type".as_ptr(), handler.as_ptr())
        };
    }

    /// Matches the URI against `regex`; on a match, returns `template` with
    /// its `$N` references substituted, followed by the URI's rest.
    pub fn regex_substitute(
        &self,
        regex: super::regex::CompiledRegex,
        template: &str,
    ) -> Option<Vec<u8>> {
        // SAFETY: the request's pool is live; the regex lives for the generation.
        unsafe { super::regex::substitute_match(self.pool(), regex, self.uri(), template) }
    }

    pub fn is_script_aliased(&self) -> bool {
        // SAFETY: notes is a live table.
        !unsafe { bindings::apr_table_get(self.r().notes, c"alias-forced-type".as_ptr()) }.is_null()
    }

    pub fn request_config(&self) -> *mut std::ffi::c_void {
        // SAFETY: the request is live.
        unsafe { bindings::wsgi_shim_request_config(self.raw) }
    }

    pub fn set_request_config(&mut self, value: *mut std::ffi::c_void) {
        // SAFETY: the request is live.
        unsafe { bindings::wsgi_shim_set_request_config(self.raw, value) }
    }

    pub fn dir_config(&self) -> *mut std::ffi::c_void {
        // SAFETY: the request is live.
        unsafe { bindings::wsgi_shim_dir_config(self.raw) }
    }

    pub fn server_config(&self) -> *mut std::ffi::c_void {
        // SAFETY: the request's server is live.
        unsafe { super::server::module_config(self.r().server) }
    }

    pub fn body_limit(&self) -> u64 {
        // SAFETY: the request is live.
        u64::try_from(unsafe { bindings::ap_get_limit_req_body(self.raw) }).unwrap_or(0)
    }

    /// Prepares to read a body, dechunking if the client sent chunks.
    pub fn setup_body(&mut self) -> Result<(), c_int> {
        // SAFETY: the request is live; called once, before any read.
        let status = unsafe {
            bindings::ap_setup_client_block(self.raw, bindings::REQUEST_CHUNKED_DECHUNK as c_int)
        };
        if status == bindings::OK as c_int {
            Ok(())
        } else {
            Err(status)
        }
    }

    pub fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: the buffer is valid for its length; the request is live.
        let n =
            unsafe { bindings::ap_get_client_block(self.raw, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the client connection failed or timed out while sending the request body",
            ))
        } else {
            Ok(n as usize)
        }
    }

    /// Sets the response status line and headers.
    pub fn set_response_head(
        &mut self,
        status: u16,
        status_line: &[u8],
        headers: &[(Vec<u8>, Vec<u8>)],
    ) {
        let pool = self.pool();
        // SAFETY: the pool and tables are live; every string handed to
        // Apache is copied into the request pool first.
        unsafe {
            let r = self.r_mut();
            r.status = c_int::from(status);
            r.status_line = pool_copy(pool, status_line);
            for (name, value) in headers {
                let value_c = pool_copy(pool, value);
                if name.eq_ignore_ascii_case(b"content-type") {
                    bindings::ap_set_content_type(self.raw, value_c);
                } else {
                    bindings::apr_table_addn(
                        (*self.raw).headers_out,
                        pool_copy(pool, name),
                        value_c,
                    );
                }
            }
        }
    }

    pub fn new_brigade(&self) -> *mut apr_bucket_brigade {
        // SAFETY: the pool and connection's bucket allocator are live.
        unsafe { bindings::apr_brigade_create(self.pool(), (*self.r().connection).bucket_alloc) }
    }

    fn bucket_alloc(&self) -> *mut bindings::apr_bucket_alloc_t {
        // SAFETY: the connection is live.
        unsafe { (*self.r().connection).bucket_alloc }
    }

    /// Copies `data` into the brigade; no I/O.
    pub fn brigade_copy(&mut self, bb: *mut apr_bucket_brigade, data: &[u8]) -> io::Result<()> {
        // SAFETY: bb is a live brigade of this request; no flush callback, so no I/O.
        let rv = unsafe {
            bindings::apr_brigade_write(
                bb,
                None,
                std::ptr::null_mut(),
                data.as_ptr().cast(),
                data.len(),
            )
        };
        status_to_io(rv)
    }

    /// Passes `data` (without copying) and a flush: returns once written.
    pub fn pass_now(&mut self, bb: *mut apr_bucket_brigade, data: &[u8]) -> io::Result<()> {
        // SAFETY: the transient bucket refers to `data` only until the
        // flush below has written it, which happens before we return.
        unsafe {
            if !data.is_empty() {
                let b = bindings::apr_bucket_transient_create(
                    data.as_ptr().cast(),
                    data.len(),
                    self.bucket_alloc(),
                );
                bindings::wsgi_shim_brigade_append(bb, b);
            }
            bindings::wsgi_shim_brigade_append(
                bb,
                bindings::apr_bucket_flush_create(self.bucket_alloc()),
            );
        }
        self.pass(bb)
    }

    /// Passes `len` bytes of file `fd` from `offset` as file buckets, then a
    /// flush. With `sendfile` Apache may use sendfile(2); otherwise it maps
    /// the file and writes it (mod_wsgi's `WSGIEnableSendfile`, default Off:
    /// on loopback, mmap and writev measured faster).
    pub fn pass_file(
        &mut self,
        bb: *mut apr_bucket_brigade,
        fd: RawFd,
        offset: u64,
        len: u64,
        sendfile: bool,
    ) -> io::Result<()> {
        let mut file: *mut bindings::apr_file_t = std::ptr::null_mut();
        let mut os_fd: bindings::apr_os_file_t = fd;
        // SAFETY: apr_os_file_put wraps the descriptor without taking
        // ownership (no cleanup closes it); the flush below makes Apache
        // finish with it before we return, while Python keeps it open.
        unsafe {
            let mut flags = bindings::APR_FOPEN_READ as i32;
            if sendfile {
                flags |= bindings::APR_FOPEN_SENDFILE_ENABLED as i32;
            }
            status_to_io(bindings::apr_os_file_put(
                &mut file,
                &mut os_fd,
                flags,
                self.pool(),
            ))?;
            bindings::apr_brigade_insert_file(
                bb,
                file,
                offset as bindings::apr_off_t,
                len as bindings::apr_off_t,
                self.pool(),
            );
            bindings::wsgi_shim_brigade_append(
                bb,
                bindings::apr_bucket_flush_create(self.bucket_alloc()),
            );
        }
        self.pass(bb)
    }

    /// Ends the response: what is in the brigade, then end-of-stream.
    pub fn pass_end(&mut self, bb: *mut apr_bucket_brigade) -> io::Result<()> {
        // SAFETY: bb is a live brigade of this request.
        unsafe {
            bindings::wsgi_shim_brigade_append(
                bb,
                bindings::apr_bucket_eos_create(self.bucket_alloc()),
            )
        };
        self.pass(bb)
    }

    /// Ends a response that broke after its headers: an error bucket makes
    /// Apache omit the final chunk and close the connection (as mod_proxy
    /// does for a backend that fails mid-response).
    pub fn pass_broken_end(&mut self, bb: *mut apr_bucket_brigade) -> io::Result<()> {
        // The headers and any queued body must be out first: an error
        // bucket reaching the header filter would replace the response with
        // an error page instead of cutting it short.
        if self.r().sent_bodyct == 0 {
            // SAFETY: bb is a live brigade of this request.
            unsafe {
                bindings::wsgi_shim_brigade_append(
                    bb,
                    bindings::apr_bucket_flush_create(self.bucket_alloc()),
                )
            };
            self.pass(bb)?;
        }
        // SAFETY: bb is a live brigade of this request.
        unsafe {
            let e = bindings::ap_bucket_error_create(
                bindings::HTTP_BAD_GATEWAY as c_int,
                std::ptr::null(),
                self.pool(),
                self.bucket_alloc(),
            );
            bindings::wsgi_shim_brigade_append(bb, e);
        }
        self.pass_end(bb)
    }

    /// Passes `data` (without copying) on down the filters, with what the
    /// brigade holds, and no flush: Apache writes what it can without
    /// blocking and sets the rest aside.
    pub fn pass_on(&mut self, bb: *mut apr_bucket_brigade, data: &[u8]) -> io::Result<()> {
        // SAFETY: filters that keep a transient bucket past the pass set it
        // aside (copy it), as the filter API requires.
        unsafe {
            let b = bindings::apr_bucket_transient_create(
                data.as_ptr().cast(),
                data.len(),
                self.bucket_alloc(),
            );
            bindings::wsgi_shim_brigade_append(bb, b);
        }
        self.pass(bb)
    }

    fn pass(&mut self, bb: *mut apr_bucket_brigade) -> io::Result<()> {
        // SAFETY: the filter chain and brigade are live; the brigade is
        // emptied after the pass, as the filter API requires.
        let rv = unsafe {
            let rv = bindings::ap_pass_brigade(self.r().output_filters, bb);
            bindings::apr_brigade_cleanup(bb.cast());
            rv
        };
        if rv == 0 && self.client_aborted() {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the client closed the connection",
            ));
        }
        status_to_io(rv)
    }

    pub fn client_aborted(&self) -> bool {
        // SAFETY: the connection is live.
        unsafe { (*self.r().connection).aborted != 0 }
    }
}

pub struct ServerFacts<'a> {
    pub banner: &'a [u8],
    pub name: &'a [u8],
    pub port: u16,
    pub local_ip: &'a [u8],
    pub client_port: u16,
    pub document_root: &'a [u8],
    pub context_prefix: &'a [u8],
    pub context_document_root: &'a [u8],
    pub admin: Option<&'a [u8]>,
    pub scheme: &'a [u8],
    pub hostname: &'a [u8],
    /// The listening address the connection came in on, as its `Listen`
    /// directive named it ("" for a wildcard), and its port.
    pub listener_host: &'a [u8],
    pub listener_port: u16,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileKind {
    Missing,
    Directory,
    File,
}

fn status_to_io(rv: bindings::apr_status_t) -> io::Result<()> {
    if rv == 0 {
        Ok(())
    } else if rv == bindings::APR_TIMEUP as bindings::apr_status_t {
        Err(io::Error::new(io::ErrorKind::TimedOut, "write timeout"))
    } else {
        let mut buf = [0 as c_char; 256];
        // SAFETY: apr_strerror writes a NUL-terminated message into buf.
        let text = unsafe { bytes(bindings::apr_strerror(rv, buf.as_mut_ptr(), buf.len())) };
        Err(io::Error::other(String::from_utf8_lossy(text).into_owned()))
    }
}
