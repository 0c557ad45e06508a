//! The datagrams mod_wsgi 6.1.1's reporter sends (wsgi_telemetry.c's
//! encoders), from this crate's numbers: PROCESS_STARTED, the periodic
//! REQUEST sample, and SLOW_REQUEST.

use super::interval::{GIL_WAIT, Interval, PHASES, SlowRecord};
use super::wire::*;

/// What a process says about itself, fixed for its life.
#[derive(Clone, Debug, Default)]
pub struct Identity {
    pub pid: u32,
    pub parent_pid: u32,
    pub mod_wsgi_version: String,
    pub python_version: String,
    pub apache_version: String,
    pub mpm_name: String,
    pub hostname: String,
    /// The daemon group; "" in an Apache child.
    pub process_group: String,
    pub interval: f64,
    pub slow_threshold: f64,
    pub threads_maximum: u32,
    /// `sys.getswitchinterval()` as the process started (seconds).
    pub switch_interval: f64,
}

/// The process-wide numbers read at each sample.
#[derive(Clone, Debug, Default)]
pub struct ProcessSample {
    pub sample_period: f64,
    pub cpu_user_utilization: f64,
    pub cpu_system_utilization: f64,
    pub memory_rss: u64,
    pub memory_max_rss: u64,
    pub threads_started: u32,
}

fn identity_fields(d: &mut Datagram, id: &Identity) {
    d.bytes(F_MOD_WSGI_VERSION, id.mod_wsgi_version.as_bytes())
        .bytes(F_PYTHON_VERSION, id.python_version.as_bytes())
        .bytes(F_APACHE_VERSION, id.apache_version.as_bytes())
        .bytes(F_MPM_NAME, id.mpm_name.as_bytes())
        .bytes(F_HOSTNAME, id.hostname.as_bytes())
        .bytes(F_PROCESS_GROUP, id.process_group.as_bytes())
        .u64(F_PROCESS_PARENT_PID, id.parent_pid.into());
}

fn switch_interval(d: &mut Datagram, id: &Identity) {
    if id.switch_interval > 0.0 {
        d.f64(F_SWITCH_INTERVAL, id.switch_interval);
    }
}

/// PROCESS_STARTED, stamped with the process's start.
pub fn started(id: &Identity, seq: u32, start_stamp: f64) -> Vec<u8> {
    let mut d = Datagram::new(KIND_PROCESS_STARTED, id.pid, seq, start_stamp);
    identity_fields(&mut d, id);
    switch_interval(&mut d, id);
    d.finish()
}

/// The periodic sample (KIND_REQUEST), in mod_wsgi's field order.
pub fn tick(id: &Identity, p: &ProcessSample, i: &Interval, seq: u32, stamp: f64) -> Vec<u8> {
    let mut d = Datagram::new(KIND_REQUEST, id.pid, seq, stamp);
    identity_fields(&mut d, id);
    let period = p.sample_period.max(1e-6);
    let maximum = id.threads_maximum.max(1);
    d.f64(F_SAMPLE_PERIOD, p.sample_period)
        .f64(F_TELEMETRY_INTERVAL, id.interval)
        .f64(F_SLOW_REQUESTS_THRESHOLD, id.slow_threshold);
    switch_interval(&mut d, id);
    d.u64(F_REQUEST_COUNT, i.request_count)
        .f64(F_REQUEST_THROUGHPUT, i.request_count as f64 / period)
        .f64(
            F_CAPACITY_UTILIZATION,
            (i.busy_seconds() / (period * f64::from(maximum))).min(1.0),
        )
        .f64(F_CPU_USER_UTILIZATION, p.cpu_user_utilization)
        .f64(F_CPU_SYSTEM_UTILIZATION, p.cpu_system_utilization)
        .f64(
            F_CPU_UTILIZATION,
            p.cpu_user_utilization + p.cpu_system_utilization,
        )
        .u64(F_MEMORY_RSS, p.memory_rss)
        .u64(F_MEMORY_MAX_RSS, p.memory_max_rss)
        .u64(F_REQUEST_THREADS_MAXIMUM, maximum.into())
        .u64(F_REQUEST_THREADS_STARTED, p.threads_started.into())
        .u64(F_REQUEST_THREADS_ACTIVE, i.threads_active);
    // Queue and daemon phases exist only where a daemon ran the requests.
    let present =
        |phase: usize| phase != GIL_WAIT && (i.has_daemon_timing || !(1..=2).contains(&phase));
    for phase in (0..PHASES).filter(|&p| present(p)) {
        d.f64(F_SERVER_TIME + phase as u16, i.mean(phase));
    }
    for phase in (0..PHASES).filter(|&p| present(p) && i.min_us[p] != u64::MAX) {
        d.f64(
            F_SERVER_TIME + MIN_OFFSET + phase as u16,
            i.min_us[phase] as f64 / 1e6,
        )
        .f64(
            F_SERVER_TIME + MAX_OFFSET + phase as u16,
            i.max_us[phase] as f64 / 1e6,
        );
    }
    for phase in (0..PHASES).filter(|&p| present(p)) {
        d.i32_array(
            F_SERVER_TIME + BUCKETS_OFFSET + phase as u16,
            &i.buckets[phase],
        );
    }
    d.u64(F_INPUT_BYTES_TOTAL, i.input_bytes)
        .u64(F_INPUT_READS_TOTAL, i.input_reads)
        .u64(F_OUTPUT_BYTES_TOTAL, i.output_bytes)
        .u64(F_OUTPUT_WRITES_TOTAL, i.output_writes);
    for (class, count) in i.status.iter().enumerate() {
        d.u64(F_STATUS_1XX_TOTAL + class as u16, *count);
    }
    d.finish()
}

/// One SLOW_REQUEST record.
pub fn slow(id: &Identity, s: &SlowRecord, seq: u32, stamp: f64) -> Vec<u8> {
    let c = &s.request;
    let phases = c.phases();
    let secs = |us: u64| us as f64 / 1e6;
    let mut d = Datagram::new(KIND_SLOW_REQUEST, id.pid, seq, stamp);
    d.u64(F_SLOW_RECORD_STATE, 1)
        .f64(F_SLOW_START_STAMP, c.times.request_start as f64 / 1e6)
        .f64(F_SLOW_DURATION, secs(phases[super::interval::REQUEST]))
        .u64(F_SLOW_THREAD_ID, c.thread_id)
        .u64(F_SLOW_SERVER_PID, s.server_pid)
        .u64(F_SLOW_INPUT_BYTES, c.input_bytes)
        .u64(F_SLOW_INPUT_BYTES + 1, c.input_reads)
        .u64(F_SLOW_INPUT_BYTES + 2, c.output_bytes)
        .u64(F_SLOW_INPUT_BYTES + 3, c.output_writes)
        // CPU time per request (250, 251) is not measured here: zero.
        .f64(250, 0.0)
        .f64(251, 0.0);
    // Server, queue, daemon, application: the first four phases.
    for (n, us) in phases.iter().take(4).enumerate() {
        d.f64(F_SLOW_SERVER_TIME + n as u16, secs(*us));
    }
    // GIL wait (time, count) is not measured here: zero.
    d.f64(224, 0.0)
        .u64(225, 0)
        .f64(F_SLOW_INPUT_READ_TIME, secs(c.input_read_us))
        .f64(F_SLOW_OUTPUT_WRITE_TIME, secs(c.output_write_us))
        .u64(F_SLOW_ACTIVE_AT_START, c.active_at_start)
        .u64(F_SLOW_ACTIVE_AT_COMPLETION, c.active_at_completion)
        .u64(F_SLOW_STATUS, c.status.into())
        .bytes(F_SLOW_LOG_ID, s.log_id.as_bytes());
    let strings = [
        &s.method,
        &s.scheme,
        &s.hostname,
        &s.script_name,
        &s.path_info,
        &s.protocol,
        &s.peer_ip,
        &s.user_agent,
    ];
    for (n, value) in strings.into_iter().enumerate() {
        d.bytes(F_SLOW_METHOD + n as u16, value.as_bytes());
    }
    d.finish()
}

#[cfg(test)]
mod tests {
    use super::super::interval::Completed;
    use super::*;
    use crate::request::RequestTimes;

    fn field(fields: &[(u16, Value)], id: u16) -> Option<&Value> {
        fields.iter().find(|(f, _)| *f == id).map(|(_, v)| v)
    }

    #[test]
    fn a_tick_carries_counts_and_leaves_daemon_phases_out_when_embedded() {
        let id = Identity {
            pid: 9,
            process_group: String::new(),
            hostname: "h".into(),
            threads_maximum: 4,
            interval: 1.0,
            ..Identity::default()
        };
        let mut i = Interval::default();
        i.add(&Completed {
            times: RequestTimes {
                request_start: 10,
                ..Default::default()
            },
            application_start: 20,
            end: 1020,
            status: 200,
            ..Default::default()
        });
        let p = ProcessSample {
            sample_period: 1.0,
            ..Default::default()
        };
        let (kind, pid, seq, _, fields) = decode(&tick(&id, &p, &i, 3, 2.0)).unwrap();
        assert_eq!((kind, pid, seq), (KIND_REQUEST, 9, 3));
        assert_eq!(field(&fields, F_REQUEST_COUNT), Some(&Value::U64(1)));
        assert_eq!(field(&fields, F_STATUS_1XX_TOTAL + 1), Some(&Value::U64(1)));
        assert_eq!(
            field(&fields, F_REQUEST_THREADS_MAXIMUM),
            Some(&Value::U64(4))
        );
        assert_eq!(field(&fields, 63), Some(&Value::F64(0.001)));
        assert_eq!(field(&fields, 61), None);
        assert_eq!(field(&fields, 65), None);
        assert_eq!(field(&fields, F_PROCESS_GROUP), None);
        assert!(matches!(field(&fields, 94), Some(Value::I32s(v)) if v.len() == 65));
    }

    #[test]
    fn a_slow_record_names_the_request() {
        let id = Identity {
            pid: 9,
            ..Identity::default()
        };
        let s = SlowRecord {
            request: Completed {
                status: 200,
                end: 3_000_000,
                ..Default::default()
            },
            method: "GET".into(),
            path_info: "/slow".into(),
            ..Default::default()
        };
        let (kind, _, _, _, fields) = decode(&slow(&id, &s, 1, 0.0)).unwrap();
        assert_eq!(kind, KIND_SLOW_REQUEST);
        assert_eq!(field(&fields, F_SLOW_RECORD_STATE), Some(&Value::U64(1)));
        assert_eq!(
            field(&fields, F_SLOW_METHOD),
            Some(&Value::Bytes(b"GET".to_vec()))
        );
        assert_eq!(field(&fields, 214), Some(&Value::Bytes(b"/slow".to_vec())));
        assert_eq!(field(&fields, 217), None);
        assert_eq!(field(&fields, F_SLOW_STATUS), Some(&Value::U64(200)));
    }
}
