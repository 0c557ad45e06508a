//! One request's metadata as the host resolved it from its configuration:
//! what the adapter needs to run it and what the channel carries to a
//! daemon. The same type serves both, so the two cannot drift apart.

use std::borrow::Cow;

/// How a changed script is picked up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScriptReloading {
    /// `WSGIScriptReloading Off`: the loaded module is kept.
    #[default]
    Off,
    /// The module is imported again in place (embedded mode).
    Module,
    /// The host restarts the process instead, so the new code starts from a
    /// clean interpreter (daemon mode, as mod_wsgi does): the adapter itself
    /// never reloads.
    Process,
}

impl ScriptReloading {
    /// Whether the setting is on, as `mod_wsgi.script_reloading` reports it.
    pub fn is_on(self) -> bool {
        self != ScriptReloading::Off
    }
}

/// The strings are borrowed where the host has them for longer than the
/// request (the configuration's callable name, the daemon's group name) and
/// owned where they were made for it (decoded from a frame, expanded).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestMeta<'a> {
    pub script: Cow<'a, str>,
    /// The script file's modification time, as the host already knows it.
    pub script_mtime: i64,
    pub script_reloading: ScriptReloading,
    pub callable_object: Cow<'a, str>,
    /// Content-Length of the request body; `None` when unknown (chunked).
    pub body_length: Option<u64>,
    pub error_override: bool,
    /// The response body will not be sent (HEAD): skip the length check.
    pub discard_body: bool,
    /// `WSGIIgnoreActivity On`: the request does not reset its daemon's
    /// inactivity-timeout.
    pub ignore_activity: bool,
    pub url_scheme: Cow<'a, str>,
    /// The daemon process group serving the request ("" in embedded mode).
    /// Not sent over the channel: a daemon knows its own group.
    pub process_group: Cow<'a, str>,
    pub application_group: Cow<'a, str>,
    pub times: RequestTimes,
}

/// When the request reached each stage, in microseconds since the epoch on
/// the wall clock (0: the stage did not happen, e.g. no daemon in embedded
/// mode), for the `mod_wsgi.*_start` environ keys. APM agents subtract
/// them from each other and from their own `time.time()`, so they are wall
/// clock, as mod_wsgi's are; queue-timeout counts on the monotonic clock
/// instead (see `RequestFrame::queue_start`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestTimes {
    /// When Apache read the request line (`r->request_time`).
    pub request_start: i64,
    /// When the Apache child started handing the request to a daemon.
    pub queue_start: i64,
    /// When the daemon read the request.
    pub daemon_start: i64,
}

/// The wall clock, in microseconds since the epoch (as `apr_time_now`).
pub fn wall_clock_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
