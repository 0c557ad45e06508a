//! Facts about the running httpd: its version, its MPM, where it is in its
//! start-up, the modules it loaded, and whether the bindings fit it.

use std::ffi::CString;

use super::bindings;
use super::pool::Pool;
use super::strings;

/// Apache's (major, minor, patch) version.
pub fn version() -> (u32, u32, u32) {
    let mut version = bindings::ap_version_t::default();
    // SAFETY: fills the struct it is given.
    unsafe { bindings::ap_get_server_revision(&mut version) };
    (
        version.major as u32,
        version.minor as u32,
        version.patch as u32,
    )
}

/// Adds `component` (e.g. "mod_wsgi_rs/1.0") to the Server header and the
/// start-up banner.
/// (`pconf`: the configuration pool, in post_config).
pub fn add_version_component(pconf: Pool, component: &str) {
    let component = CString::new(component.replace('\0', "")).expect("NULs removed");
    // SAFETY: the pool is live (`Pool`); Apache copies the component.
    unsafe { bindings::ap_add_version_component(pconf.as_ptr(), component.as_ptr()) };
}

fn mpm_query(query: u32) -> Option<i32> {
    let mut value = 0;
    // SAFETY: ap_mpm_query writes one int for the queries asked here.
    let rv = unsafe { bindings::ap_mpm_query(query as i32, &mut value) };
    (rv == 0).then_some(value)
}

/// The MPM's restart generation: 0 at start, one more at each restart.
pub fn mpm_generation() -> i32 {
    mpm_query(bindings::AP_MPMQ_GENERATION).unwrap_or(0)
}

/// The MPM runs more than one thread per child.
pub fn mpm_threaded() -> bool {
    mpm_query(bindings::AP_MPMQ_MAX_THREADS).unwrap_or(0) > 1
}

/// The MPM runs more than one child.
pub fn mpm_multiprocess() -> bool {
    mpm_query(bindings::AP_MPMQ_MAX_DAEMONS).unwrap_or(0) > 1
}

/// The MPM is stopping (or cannot say): no daemon should be restarted.
pub fn mpm_stopping() -> bool {
    match mpm_query(bindings::AP_MPMQ_MPM_STATE) {
        Some(state) => state == bindings::AP_MPMQ_STOPPING as i32,
        None => true,
    }
}

/// Apache's first configuration pass at start-up, which it throws away
/// (post_config runs again in the process that stays).
pub fn first_config_pass() -> bool {
    // SAFETY: a plain state query.
    let state = unsafe { bindings::ap_state_query(bindings::AP_SQ_MAIN_STATE as i32) };
    state == bindings::AP_SQ_MS_CREATE_PRE_CONFIG as i32
}

/// The name of another loaded module that is also called `name` (this one
/// excepted), if any.
pub fn other_module_named(name: &[u8]) -> Option<String> {
    // SAFETY: the module list is stable while the configuration is read and
    // afterwards; module names are static strings.
    unsafe {
        let ours = bindings::wsgi_shim_module_index();
        let mut m = bindings::ap_top_module;
        while !m.is_null() {
            let found = strings::bytes((*m).name);
            if found == name && (*m).module_index != ours {
                return Some(String::from_utf8_lossy(found).into_owned());
            }
            m = (*m).next;
        }
    }
    None
}

/// Whether mod_so skipped a second `LoadModule wsgi_module` since the last
/// call (the shim notices Apache's warning); also stops watching for it.
pub fn take_skipped_load_module() -> bool {
    // SAFETY: reads and resets two ints of the shim; configuration reading
    // is single-threaded.
    unsafe { bindings::wsgi_shim_take_skipped_load_module() != 0 }
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

/// The MPM's limits as mod_wsgi reads them for `maximum_processes` and
/// `threads_per_process` (wsgi_module.c): threads per child if threaded,
/// the most children used so far (or the configured most) if forked; at
/// least 1 each.
pub fn mpm_limits() -> (u32, u32) {
    let supported =
        |query| mpm_query(query).is_some_and(|v| v != bindings::AP_MPMQ_NOT_SUPPORTED as i32);
    let threads = if supported(bindings::AP_MPMQ_IS_THREADED) {
        mpm_query(bindings::AP_MPMQ_MAX_THREADS).unwrap_or(0)
    } else {
        0
    };
    let processes = if supported(bindings::AP_MPMQ_IS_FORKED) {
        match mpm_query(bindings::AP_MPMQ_MAX_DAEMON_USED) {
            Some(-1) | None => mpm_query(bindings::AP_MPMQ_MAX_DAEMONS).unwrap_or(0),
            Some(used) => used,
        }
    } else {
        0
    };
    (processes.max(1) as u32, threads.max(1) as u32)
}

/// The MPM's name: "event", "worker", "prefork".
pub fn mpm_name() -> String {
    // SAFETY: returns a static string.
    String::from_utf8_lossy(unsafe { strings::bytes(bindings::ap_show_mpm()) }).into_owned()
}

/// The server's description, as in its banner ("Apache/2.4.62 (Debian) ...").
pub fn description() -> String {
    // SAFETY: returns a string that lives as long as the configuration.
    String::from_utf8_lossy(unsafe { strings::bytes(bindings::ap_get_server_description()) })
        .into_owned()
}

/// When this httpd was built.
pub fn build_date() -> String {
    // SAFETY: returns a static string.
    String::from_utf8_lossy(unsafe { strings::bytes(bindings::ap_get_server_built()) }).into_owned()
}
