//! What a server process tells the Python-facing `mod_wsgi` and `apache`
//! modules about itself, once, right after Python started in it.

use wsgi::config::DaemonGroup;
use wsgi::python::module::{self, ApacheFacts, ProcessFacts};

use crate::apache::{httpd, scoreboard};

fn apache() -> ApacheFacts {
    let (maximum_processes, threads_per_process) = httpd::mpm_limits();
    ApacheFacts {
        version: httpd::version(),
        mpm_name: httpd::mpm_name(),
        maximum_processes,
        threads_per_process,
        description: httpd::description(),
        build_date: httpd::build_date(),
    }
}

/// In an Apache child: mod_wsgi's values are the MPM's.
/// `server_metrics`: the main server's `WSGIServerMetrics`.
pub fn install_embedded(server_metrics: bool) {
    if server_metrics {
        module::metrics::enable_server_metrics(scoreboard::read);
    }
    let apache = apache();
    module::install(&ProcessFacts {
        process_group: String::new(),
        maximum_processes: apache.maximum_processes,
        threads_per_process: apache.threads_per_process,
        apache,
    });
}

/// In a daemon process: mod_wsgi's values are the group's.
pub fn install_daemon(group: &DaemonGroup) {
    if group.server_metrics {
        module::metrics::enable_server_metrics(scoreboard::read);
    }
    module::install(&ProcessFacts {
        process_group: group.name.clone(),
        maximum_processes: group.processes,
        threads_per_process: group.threads,
        apache: apache(),
    });
}
