//! What the requests that completed since the last sample add up to, as
//! mod_wsgi 6.1.1's wsgi_record_request_times accumulates it, and the slow
//! requests among them (wsgi_metrics.c's completed-slow ring).

use super::wire::BUCKET_COUNT;
use crate::request::RequestTimes;

/// The phases timed per request, in wire order from field 60 on: server,
/// queue, daemon, application, request, GIL wait (not measured here),
/// input read, output write.
pub const PHASES: usize = 8;
pub const SERVER: usize = 0;
pub const QUEUE: usize = 1;
pub const DAEMON: usize = 2;
pub const APPLICATION: usize = 3;
pub const REQUEST: usize = 4;
pub const GIL_WAIT: usize = 5;
pub const INPUT_READ: usize = 6;
pub const OUTPUT_WRITE: usize = 7;

/// At most this many completed slow requests wait for the next sample;
/// more in one interval are dropped, as mod_wsgi's ring overflows.
pub const SLOW_RING: usize = 256;

/// One finished request, as the adapter saw it (microseconds).
#[derive(Clone, Debug, Default)]
pub struct Completed {
    pub times: RequestTimes,
    pub application_start: i64,
    pub end: i64,
    /// 0: the application never produced a status (counted as 5xx).
    pub status: u16,
    pub input_bytes: u64,
    pub input_reads: u64,
    pub input_read_us: u64,
    pub output_bytes: u64,
    pub output_writes: u64,
    pub output_write_us: u64,
    pub thread_id: u64,
    pub active_at_start: u64,
    pub active_at_completion: u64,
}

impl Completed {
    /// Per-phase durations. Embedded mode (no daemon start) has no queue
    /// or daemon phase: the server phase runs to the application.
    pub fn phases(&self) -> [u64; PHASES] {
        let t = &self.times;
        let span = |from: i64, to: i64| {
            if from > 0 && to > from {
                (to - from) as u64
            } else {
                0
            }
        };
        let mut p = [0u64; PHASES];
        if t.daemon_start > 0 {
            p[SERVER] = span(t.request_start, t.queue_start);
            p[QUEUE] = span(t.queue_start, t.daemon_start);
            p[DAEMON] = span(t.daemon_start, self.application_start);
        } else {
            p[SERVER] = span(t.request_start, self.application_start);
        }
        p[APPLICATION] = span(self.application_start, self.end);
        p[REQUEST] = span(t.request_start.max(1), self.end).max(p[APPLICATION]);
        p[INPUT_READ] = self.input_read_us;
        p[OUTPUT_WRITE] = self.output_write_us;
        p
    }
}

/// A request thread's place in the per-thread lists: mod_wsgi's request
/// threads count from 1; the thread that started Python (0, which serves
/// a prefork child's requests) shares the first place.
pub fn thread_index(thread_id: u64) -> usize {
    thread_id.max(1) as usize - 1
}

/// One request thread's completed requests in the interval.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadTick {
    pub completed: u64,
    /// Time it spent on requests within the interval (a request that began
    /// before it counts from its start).
    pub busy_us: u64,
    pub max_duration_us: u64,
}

/// A slow request's record (always `completed` here).
#[derive(Clone, Debug, Default)]
pub struct SlowRecord {
    pub request: Completed,
    pub server_pid: u64,
    pub log_id: String,
    pub method: String,
    pub scheme: String,
    pub hostname: String,
    pub script_name: String,
    pub path_info: String,
    pub protocol: String,
    pub peer_ip: String,
    pub user_agent: String,
}

/// The interval's totals.
#[derive(Clone, Debug)]
pub struct Interval {
    pub request_count: u64,
    /// 1xx..5xx.
    pub status: [u64; 5],
    pub sum_us: [u64; PHASES],
    pub min_us: [u64; PHASES],
    pub max_us: [u64; PHASES],
    pub buckets: [[i32; BUCKET_COUNT]; PHASES],
    pub input_bytes: u64,
    pub input_reads: u64,
    pub output_bytes: u64,
    pub output_writes: u64,
    pub threads_active: u64,
    pub has_daemon_timing: bool,
    pub slow: Vec<SlowRecord>,
    /// When the interval began (microseconds; 0: with the process).
    pub since: i64,
    /// By [`thread_index`].
    pub threads: Vec<ThreadTick>,
}

impl Default for Interval {
    fn default() -> Self {
        Interval {
            request_count: 0,
            status: [0; 5],
            sum_us: [0; PHASES],
            min_us: [u64::MAX; PHASES],
            max_us: [0; PHASES],
            buckets: [[0; BUCKET_COUNT]; PHASES],
            input_bytes: 0,
            input_reads: 0,
            output_bytes: 0,
            output_writes: 0,
            threads_active: 0,
            has_daemon_timing: false,
            slow: Vec::new(),
            since: 0,
            threads: Vec::new(),
        }
    }
}

impl Interval {
    /// Adds one finished request.
    pub fn add(&mut self, c: &Completed) {
        self.request_count += 1;
        // mod_wsgi folds "no status" into 5xx and drops out-of-range ones.
        match c.status {
            0 => self.status[4] += 1,
            100..=599 => self.status[(c.status / 100 - 1) as usize] += 1,
            _ => {}
        }
        if c.times.daemon_start > 0 {
            self.has_daemon_timing = true;
        }
        for (i, us) in c.phases().into_iter().enumerate() {
            if i == GIL_WAIT {
                continue;
            }
            self.sum_us[i] += us;
            self.min_us[i] = self.min_us[i].min(us);
            self.max_us[i] = self.max_us[i].max(us);
            self.buckets[i][super::wire::bucket_index(us as f64 / 1e6)] += 1;
        }
        self.input_bytes += c.input_bytes;
        self.input_reads += c.input_reads;
        self.output_bytes += c.output_bytes;
        self.output_writes += c.output_writes;
        let index = thread_index(c.thread_id);
        if self.threads.len() <= index {
            self.threads.resize(index + 1, ThreadTick::default());
        }
        let thread = &mut self.threads[index];
        thread.completed += 1;
        thread.busy_us += (c.end - c.application_start.max(self.since)).max(0) as u64;
        thread.max_duration_us = thread.max_duration_us.max(c.phases()[REQUEST]);
    }

    /// Mean of a phase over the interval, in seconds.
    pub fn mean(&self, phase: usize) -> f64 {
        if self.request_count == 0 {
            0.0
        } else {
            self.sum_us[phase] as f64 / self.request_count as f64 / 1e6
        }
    }

    /// Busy thread-seconds: the requests' own durations.
    pub fn busy_seconds(&self) -> f64 {
        self.sum_us[REQUEST] as f64 / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(status: u16, daemon: bool) -> Completed {
        Completed {
            times: RequestTimes {
                request_start: 1_000_000,
                queue_start: if daemon { 1_001_000 } else { 0 },
                daemon_start: if daemon { 1_003_000 } else { 0 },
            },
            application_start: 1_004_000,
            end: 1_504_000,
            status,
            input_bytes: 5,
            input_reads: 1,
            ..Completed::default()
        }
    }

    #[test]
    fn phases_split_at_the_daemon_hand_off() {
        let p = request(200, true).phases();
        assert_eq!(
            [p[SERVER], p[QUEUE], p[DAEMON], p[APPLICATION], p[REQUEST]],
            [1000, 2000, 1000, 500_000, 504_000]
        );
        let p = request(200, false).phases();
        assert_eq!([p[SERVER], p[QUEUE], p[DAEMON]], [4000, 0, 0]);
    }

    #[test]
    fn totals_count_status_classes_and_keep_min_and_max() {
        let mut i = Interval::default();
        i.add(&request(200, false));
        i.add(&request(404, false));
        i.add(&request(0, false));
        i.add(&request(700, false));
        assert_eq!(i.request_count, 4);
        // 700 is dropped, as mod_wsgi drops out-of-range statuses.
        assert_eq!(i.status, [0, 1, 0, 1, 1]);
        assert_eq!(i.min_us[APPLICATION], 500_000);
        assert_eq!(i.input_bytes, 20);
        assert!(!i.has_daemon_timing);
        assert!((i.mean(REQUEST) - 0.504).abs() < 1e-9);
        assert_eq!(i.buckets[APPLICATION].iter().sum::<i32>(), 4);
        assert_eq!(i.min_us[GIL_WAIT], u64::MAX);
    }

    #[test]
    fn each_thread_counts_its_requests_and_its_time_in_the_interval() {
        let mut i = Interval {
            since: 1_254_000,
            ..Interval::default()
        };
        let mut on_two = request(200, false);
        on_two.thread_id = 2;
        i.add(&on_two);
        let mut on_main = request(200, false);
        on_main.thread_id = 0;
        i.add(&on_main);
        i.add(&on_main);
        assert_eq!(i.threads.len(), 2);
        // Begun before the interval: counted from its start.
        assert_eq!(i.threads[1].completed, 1);
        assert_eq!(i.threads[1].busy_us, 250_000);
        assert_eq!(i.threads[1].max_duration_us, 504_000);
        assert_eq!(i.threads[0].completed, 2);
    }
}
