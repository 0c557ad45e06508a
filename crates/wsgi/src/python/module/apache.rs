//! The `apache` module: facts about the Apache that runs the application
//! (wsgi_interp.c builds it next to `mod_wsgi`).

use pyo3::exceptions::PyModuleNotFoundError;
use pyo3::prelude::*;
use pyo3::types::PyModule;

use super::facts::ApacheFacts;

/// Builds `apache` and puts it in `sys.modules`. As mod_wsgi does, an
/// Apache child first imports a user's own `apache` module (SWIG bindings,
/// once) and adds the attributes to it; a daemon always makes a new one.
/// Returns a line to log when the user's module failed to import.
pub(super) fn install(
    py: Python<'_>,
    facts: &ApacheFacts,
    in_daemon: bool,
) -> PyResult<Option<String>> {
    let mut problem = None;
    let existing = if in_daemon {
        None
    } else {
        match py.import("apache") {
            Ok(module) => Some(module),
            Err(e) if e.is_instance_of::<PyModuleNotFoundError>(py) => None,
            Err(e) => {
                problem = Some(format!(
                    "the 'apache' module on sys.path could not be imported ({e}); a new one is used"
                ));
                None
            }
        }
    };
    let module = match existing {
        Some(module) => module,
        None => {
            let module = PyModule::new(py, "apache")?;
            py.import("sys")?
                .getattr("modules")?
                .set_item("apache", &module)?;
            module
        }
    };
    module.setattr("version", facts.version)?;
    module.setattr("maximum_processes", facts.maximum_processes)?;
    module.setattr("threads_per_process", facts.threads_per_process)?;
    module.setattr("description", &facts.description)?;
    module.setattr("mpm_name", &facts.mpm_name)?;
    module.setattr("build_date", &facts.build_date)?;
    Ok(problem)
}
