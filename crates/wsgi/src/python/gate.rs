//! A gate that lets one thread at a time through a piece of work that runs
//! Python and may release the GIL in the middle (executing a new script,
//! setting up a new interpreter), waited on without the GIL.

use std::sync::{Condvar, Mutex};

use pyo3::prelude::*;

use crate::sync::lock;

pub(crate) struct Gate {
    busy: Mutex<bool>,
    freed: Condvar,
}

/// Held while inside the gate; dropping it lets the next thread in.
pub(crate) struct GateTicket(&'static Gate);

impl Gate {
    pub(crate) const fn new() -> Self {
        Gate {
            busy: Mutex::new(false),
            freed: Condvar::new(),
        }
    }

    /// Waits, with the GIL released, until no other thread is inside.
    pub(crate) fn enter(&'static self, py: Python<'_>) -> GateTicket {
        py.detach(|| {
            let mut busy = lock(&self.busy);
            while *busy {
                busy = self.freed.wait(busy).unwrap_or_else(|e| e.into_inner());
            }
            *busy = true;
        });
        GateTicket(self)
    }
}

impl Drop for GateTicket {
    fn drop(&mut self) {
        *lock(&self.0.busy) = false;
        self.0.freed.notify_one();
    }
}
