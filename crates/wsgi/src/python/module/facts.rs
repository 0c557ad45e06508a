//! What the host tells the modules about the process, once, at start-up.

/// The process's place in the server, for `mod_wsgi`'s attributes.
#[derive(Clone, Debug, Default)]
pub struct ProcessFacts {
    /// The daemon process group this process belongs to; empty in an
    /// Apache child (embedded mode).
    pub process_group: String,
    /// mod_wsgi's `maximum_processes` and `threads_per_process`: the
    /// daemon group's `processes` and `threads`, or the MPM's limits.
    pub maximum_processes: u32,
    pub threads_per_process: u32,
    pub apache: ApacheFacts,
}

/// The running Apache, for the `apache` module.
#[derive(Clone, Debug, Default)]
pub struct ApacheFacts {
    pub version: (u32, u32, u32),
    /// `ap_show_mpm()`: "event", "worker", "prefork".
    pub mpm_name: String,
    /// The MPM's limits, as mod_wsgi reads them (at least 1).
    pub maximum_processes: u32,
    pub threads_per_process: u32,
    /// `ap_get_server_description()`, e.g. "Apache/2.4.62 (Debian) ...".
    pub description: String,
    /// `ap_get_server_built()`.
    pub build_date: String,
}
