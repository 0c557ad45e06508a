//! `WSGITelemetryService`'s reporter, as mod_wsgi 6.1.1's
//! (wsgi_telemetry.c): one thread per process (Apache child or daemon)
//! that sends PROCESS_STARTED, then every interval a sample and the slow
//! requests completed since, as datagrams to a `unix:` socket,
//! fire-and-forget: a listener that is down loses them, silently.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use wsgi::config::ServerSettings;
use wsgi::messages::{self, Level};
use wsgi::request::wall_clock_micros;
use wsgi::telemetry::{self, encode};

use crate::apache::{httpd, log};

/// Starts this process's reporter if the configuration asks for one.
/// `group`: the daemon group ("" in an Apache child); `threads`: its
/// request threads; `switch_interval`: the one Python was started with.
pub fn start<R>(
    settings: &ServerSettings<R>,
    group: &str,
    threads: u32,
    switch_interval: Option<f64>,
) {
    let Some(service) = settings.telemetry_service.clone() else {
        return;
    };
    let slow_threshold = settings.slow_requests.unwrap_or(0.0);
    telemetry::enable(slow_threshold, settings.telemetry_options.unwrap_or(0));
    let (major, minor, patch) = httpd::version();
    let identity = encode::Identity {
        pid: std::process::id(),
        parent_pid: std::os::unix::process::parent_id(),
        mod_wsgi_version: wsgi::VERSION.to_owned(),
        python_version: wsgi::python::python_full_version(),
        apache_version: format!("Apache/{major}.{minor}.{patch}"),
        mpm_name: httpd::mpm_name(),
        hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default(),
        process_group: group.to_owned(),
        interval: service.interval,
        slow_threshold,
        threads_maximum: threads,
        // Python's own default when no directive set it.
        switch_interval: switch_interval.unwrap_or(0.005),
    };
    let target = format!("unix:{}", service.path);
    let context = if group.is_empty() {
        format!("pid {}", identity.pid)
    } else {
        format!("daemon group '{group}', pid {}", identity.pid)
    };
    let unusable = |reason: String| {
        log::process_sink(
            Level::Warning,
            &messages::format_line(
                &context,
                messages::TELEMETRY_TARGET_UNUSABLE,
                &format!(
                    "Telemetry reporter could not open target '{target}'; metrics will not be sent ({reason})."
                ),
            ),
        );
    };
    let socket = match UnixDatagram::unbound() {
        Ok(socket) => socket,
        Err(e) => return unusable(e.to_string()),
    };
    let started = format!(
        "Telemetry reporter started; target='{target}', interval={:.3}s.",
        service.interval
    );
    let spawned = std::thread::Builder::new()
        .name("wsgi-telemetry".into())
        .spawn(move || run(socket, service.path, identity));
    match spawned {
        Ok(_) => log::process_sink(
            Level::Info,
            &messages::format_line(&context, messages::TELEMETRY_STARTED, &started),
        ),
        Err(e) => unusable(e.to_string()),
    }
}

fn seconds_now() -> f64 {
    wall_clock_micros() as f64 / 1e6
}

fn run(socket: UnixDatagram, path: String, identity: encode::Identity) {
    let mut seq = 0u32;
    let mut next = || {
        seq = seq.wrapping_add(1);
        seq
    };
    let send = |bytes: Vec<u8>| {
        // Refused or absent listener: dropped, as mod_wsgi's sendto.
        let _ = socket.send_to(&bytes, &path);
    };
    send(encode::started(&identity, next(), seconds_now()));
    // mod_wsgi floors the sleep at 100 ms; the directive's 0.5 s minimum
    // already keeps above it.
    let interval = Duration::from_secs_f64(identity.interval.max(0.1));
    let mut last = Instant::now();
    let (mut last_cpu, _) = telemetry::process_usage();
    loop {
        std::thread::sleep(interval);
        let now = Instant::now();
        let period = now.duration_since(last).as_secs_f64();
        last = now;
        let interval_totals = telemetry::take_interval(wsgi::request::wall_clock_micros());
        let ((user, system), (rss, max_rss)) = telemetry::process_usage();
        let sample = encode::ProcessSample {
            sample_period: period,
            cpu_user_utilization: ((user - last_cpu.0) / period).max(0.0),
            cpu_system_utilization: ((system - last_cpu.1) / period).max(0.0),
            memory_rss: rss,
            memory_max_rss: max_rss,
            threads_started: telemetry::threads_started(),
        };
        last_cpu = (user, system);
        let stamp = seconds_now();
        send(encode::tick(
            &identity,
            &sample,
            &interval_totals,
            next(),
            stamp,
        ));
        for record in &interval_totals.slow {
            send(encode::slow(&identity, record, next(), stamp));
        }
    }
}
