//! Apache's scoreboard, read for `mod_wsgi.server_metrics()` (mod_wsgi 6's
//! wsgi_metrics.c reads the same fields).

use wsgi::python::module::metrics::{ScoreProcess, ScoreWorker, Scoreboard};

use super::bindings;

/// A fixed-size C text field, up to its NUL.
fn text(field: &[std::ffi::c_char]) -> Vec<u8> {
    field
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect()
}

/// A copy of the scoreboard, or `None` when this process has none (a
/// daemon forked before the MPM created it, as in mod_wsgi).
pub fn read() -> Option<Scoreboard> {
    // SAFETY: a plain query of Apache's global.
    if unsafe { bindings::ap_exists_scoreboard_image() } == 0 {
        return None;
    }
    // SAFETY: the image exists, so its global part does; it is shared
    // memory that lives as long as the process.
    let global = unsafe { bindings::ap_get_scoreboard_global().as_ref() }?;
    let mut board = Scoreboard {
        server_limit: global.server_limit,
        thread_limit: global.thread_limit,
        running_generation: global.running_generation,
        restart_time: global.restart_time,
        processes: Vec::with_capacity(usize::try_from(global.server_limit).unwrap_or(0)),
    };
    for i in 0..global.server_limit {
        // SAFETY: i is below server_limit, so the entry exists.
        let Some(process) = (unsafe { bindings::ap_get_scoreboard_process(i).as_ref() }) else {
            continue;
        };
        let mut entry = ScoreProcess {
            pid: process.pid,
            generation: process.generation,
            quiescing: process.quiescing != 0,
            workers: Vec::with_capacity(usize::try_from(global.thread_limit).unwrap_or(0)),
        };
        for j in 0..global.thread_limit {
            let mut worker = bindings::worker_score::default();
            // SAFETY: both indexes are within the limits; Apache copies
            // the entry into the struct it is given.
            unsafe { bindings::ap_copy_scoreboard_worker(&mut worker, i, j) };
            entry.workers.push(ScoreWorker {
                thread_num: worker.thread_num,
                generation: worker.generation,
                status: worker.status,
                access_count: worker.access_count,
                bytes_served: u64::try_from(worker.bytes_served).unwrap_or(0),
                start_time: worker.start_time,
                stop_time: worker.stop_time,
                last_used: worker.last_used,
                client: text(&worker.client),
                request: text(&worker.request),
                vhost: text(&worker.vhost),
            });
        }
        board.processes.push(entry);
    }
    Some(board)
}
