//! Where log lines go when no request is there to carry them: the server's
//! main error log, through the sink the host installed at start-up.

use std::sync::Mutex;

use crate::messages::Level;
use crate::sync::lock;

/// Where process-level lines go (Apache's `ap_log_error` on the main server).
pub type LogSink = fn(Level, &str);

static PROCESS_SINK: Mutex<Option<LogSink>> = Mutex::new(None);

pub(crate) fn set_process_sink(sink: LogSink) {
    *lock(&PROCESS_SINK) = Some(sink);
}

/// Writes one line to the process log; to stderr before a sink is installed
/// (unit tests, or a failure during start-up).
pub(crate) fn process_log(level: Level, line: &str) {
    let sink = *lock(&PROCESS_SINK);
    match sink {
        Some(sink) => sink(level, line),
        None => eprintln!("{line}"),
    }
}
