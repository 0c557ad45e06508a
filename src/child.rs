//! The life of Python in one Apache child: started in child_init (after
//! the fork and the switch to the worker user), stopped when the child's
//! pool is destroyed, so `atexit` handlers run.

use std::sync::OnceLock;

use wsgi::adapter::ProcessInfo;
use wsgi::messages::{self, Level};
use wsgi::python::{self, InterpreterSettings};

use crate::apache::bindings::{self, apr_pool_t, server_rec};
use crate::apache::{log, pool};
use crate::config::server_settings;

/// Set once per child when Python started; `None` inside means it failed.
static PROCESS: OnceLock<Option<ProcessInfo>> = OnceLock::new();

/// The child's process facts, or `None` if Python could not start here
/// (or does not, with `WSGIRestrictEmbedded On`).
pub fn process() -> Option<&'static ProcessInfo> {
    PROCESS.get().and_then(Option::as_ref)
}

static EMBEDDED_RESTRICTED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// `WSGIRestrictEmbedded On`: this child has no Python at all.
pub fn embedded_restricted() -> bool {
    EMBEDDED_RESTRICTED.load(std::sync::atomic::Ordering::Relaxed)
}

fn mpm_value(query: u32) -> i32 {
    let mut value = 0;
    // SAFETY: ap_mpm_query writes one int for these queries.
    unsafe { bindings::ap_mpm_query(query as i32, &mut value) };
    value
}

pub fn apache_version() -> (u32, u32, u32) {
    let mut version = bindings::ap_version_t::default();
    // SAFETY: fills the struct it is given.
    unsafe { bindings::ap_get_server_revision(&mut version) };
    (
        version.major as u32,
        version.minor as u32,
        version.patch as u32,
    )
}

/// # Safety
/// Called from Apache's child_init hook with live arguments.
pub unsafe fn child_init(pchild: *mut apr_pool_t, main: *mut server_rec) {
    log::set_main_server(main);
    crate::daemon::release_listeners();
    // SAFETY: the main server's configuration is live.
    let settings = unsafe { server_settings(main) };
    if settings.restrict_embedded == Some(true) {
        // Saves each child the interpreter's memory; requests must go to daemons.
        EMBEDDED_RESTRICTED.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = PROCESS.set(None);
        return;
    }
    let interpreter = InterpreterSettings {
        python_home: settings.python_home.clone(),
        python_path: settings.python_path_entries(),
        options: settings.python_options(),
    };
    let info = ProcessInfo {
        multithread: mpm_value(bindings::AP_MPMQ_MAX_THREADS) > 1,
        multiprocess: mpm_value(bindings::AP_MPMQ_MAX_DAEMONS) > 1,
        apache_version: Some(apache_version()),
    };
    match python::initialize(&interpreter, log::process_sink) {
        Ok(()) => {
            let _ = PROCESS.set(Some(info));
            // SAFETY: the child pool is live; it is destroyed when the child exits.
            unsafe { pool::on_cleanup(pchild, stop_python) };
        }
        Err(e) => {
            let _ = PROCESS.set(None);
            log::server(
                Level::Error,
                main,
                &messages::format_line(
                    "",
                    messages::PYTHON_INIT_FAILED,
                    &format!(
                        "Python could not be started in this child ({e}); WSGI requests will get 500"
                    ),
                ),
            );
        }
    }
}

fn stop_python() {
    if let Err(e) = python::finalize() {
        log::process_sink(
            Level::Error,
            &messages::format_line("", messages::PYTHON_FINALIZE_FAILED, &e),
        );
    }
}

/// Compares struct sizes as bindgen and the C compiler see them: a
/// mismatch means the bindings do not fit this Apache and nothing would work.
pub fn check_layout() -> Result<(), String> {
    use std::mem::size_of;
    let expected = [
        (
            bindings::wsgi_shim_struct_WSGI_SHIM_REQUEST_REC,
            size_of::<bindings::request_rec>(),
            "request_rec",
        ),
        (
            bindings::wsgi_shim_struct_WSGI_SHIM_CONN_REC,
            size_of::<bindings::conn_rec>(),
            "conn_rec",
        ),
        (
            bindings::wsgi_shim_struct_WSGI_SHIM_SERVER_REC,
            size_of::<bindings::server_rec>(),
            "server_rec",
        ),
        (
            bindings::wsgi_shim_struct_WSGI_SHIM_CMD_PARMS,
            size_of::<bindings::cmd_parms>(),
            "cmd_parms",
        ),
        (
            bindings::wsgi_shim_struct_WSGI_SHIM_MODULE,
            size_of::<bindings::module>(),
            "module",
        ),
        (
            bindings::wsgi_shim_struct_WSGI_SHIM_APR_FINFO,
            size_of::<bindings::apr_finfo_t>(),
            "apr_finfo_t",
        ),
        (
            bindings::wsgi_shim_struct_WSGI_SHIM_BUCKET,
            size_of::<bindings::apr_bucket>(),
            "apr_bucket",
        ),
    ];
    for (which, rust_size, name) in expected {
        // SAFETY: a pure function of its argument.
        let c_size = unsafe { bindings::wsgi_shim_sizeof(which) };
        if c_size != rust_size {
            return Err(format!(
                "struct {name} is {c_size} bytes to the C compiler but {rust_size} to the Rust bindings; rebuild mod_wsgi_rs against this Apache"
            ));
        }
    }
    Ok(())
}

/// Another module that calls itself mod_wsgi.c (the real mod_wsgi) would
/// fight over the same directives.
fn other_wsgi_module() -> Option<String> {
    // SAFETY: the module list is stable during post_config; names are static strings.
    unsafe {
        let ours = bindings::wsgi_shim_module_index();
        let mut m = bindings::ap_top_module;
        while !m.is_null() {
            let name = crate::apache::strings::bytes((*m).name);
            if name == b"mod_wsgi.c" && (*m).module_index != ours {
                return Some(String::from_utf8_lossy(name).into_owned());
            }
            m = (*m).next;
        }
    }
    None
}

/// mod_so skips a second `LoadModule wsgi_module` (the original mod_wsgi's,
/// typically) with only a warning, before opening its file; the shim notices
/// that warning while the configuration is read. Called from pre_config.
pub fn check_skipped_load_module() -> Result<(), String> {
    // SAFETY: reads and resets two ints of the shim; config reading is single-threaded.
    if unsafe { bindings::wsgi_shim_take_skipped_load_module() } == 0 {
        return Ok(());
    }
    Err(
        "another \"LoadModule wsgi_module\" line was skipped by Apache because mod_wsgi_rs is \
         already loaded under that name (see Apache's warning \"module wsgi_module is already \
         loaded, skipping\"); if it loads the original mod_wsgi (Debian: a2dismod wsgi), the \
         two cannot run together: load only one of them"
            .to_owned(),
    )
}

/// # Safety
/// Called from Apache's post_config hook with live arguments.
pub unsafe fn post_config(pconf: *mut apr_pool_t, main: *mut server_rec) -> i32 {
    if let Some(name) = other_wsgi_module() {
        log::server(
            Level::Error,
            main,
            &messages::format_line(
                "",
                messages::DUPLICATE_MODULE,
                &format!(
                    "another module named {name} (the original mod_wsgi?) is loaded too; load only one of them"
                ),
            ),
        );
        return bindings::HTTP_INTERNAL_SERVER_ERROR as i32;
    }
    let banner = format!(
        "mod_wsgi_rs/{} Python/{}",
        wsgi::VERSION,
        python::python_version()
    );
    let banner = std::ffi::CString::new(banner).expect("no NUL");
    // SAFETY: the pool is live; Apache copies the component.
    unsafe { bindings::ap_add_version_component(pconf, banner.as_ptr()) };

    // Apache runs post_config twice at start-up; say things once, and start
    // daemons only in the second pass, in the process that stays.
    // SAFETY: a plain state query.
    let first_pass = unsafe { bindings::ap_state_query(bindings::AP_SQ_MAIN_STATE as i32) }
        == bindings::AP_SQ_MS_CREATE_PRE_CONFIG as i32;
    let daemons = if first_pass {
        // SAFETY: the live main server.
        unsafe { crate::daemon::supervisor::check(main) }
    } else {
        Ok(())
    };
    if let Err(e) = daemons {
        log::server(
            Level::Error,
            main,
            &messages::format_line("", messages::DAEMON_STARTUP_FAILED, &e),
        );
        return bindings::HTTP_INTERNAL_SERVER_ERROR as i32;
    }
    if !first_pass {
        // SAFETY: post_config's live pool and main server.
        if let Err(e) = unsafe { crate::daemon::supervisor::start(pconf, main) } {
            log::server(
                Level::Error,
                main,
                &messages::format_line("", messages::DAEMON_STARTUP_FAILED, &e),
            );
            return bindings::HTTP_INTERNAL_SERVER_ERROR as i32;
        }
        // SAFETY: the server list is live.
        let groups = unsafe { crate::config::named_application_groups(main) };
        if !groups.is_empty() {
            log::server(
                Level::Notice,
                main,
                &messages::format_line(
                    "",
                    messages::APPLICATION_GROUPS_SHARED,
                    &format!(
                        "application groups {} are configured, but mod_wsgi_rs runs every script in the main interpreter (%{{GLOBAL}}) for now, so they share it",
                        groups.join(", ")
                    ),
                ),
            );
        }
    }
    bindings::OK as i32
}
