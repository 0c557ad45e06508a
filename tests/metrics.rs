//! mod_wsgi 6's metrics through a real Apache: `WSGIServerMetrics` and the
//! daemon option `server-metrics=` (what `mod_wsgi.server_metrics()`
//! returns), `start_recording_metrics()`, `process_metrics()` and
//! `request_metrics()`, and the bad values at configtest.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;

const WAIT: Duration = Duration::from_secs(20);

fn metrics(server: &Server, tag: &str) -> HashMap<String, String> {
    facts(server, &format!("/metrics?{tag}"))
}

/// `WSGIServerMetrics On`: an Apache child reads the scoreboard, which
/// lists the child itself and shows this very request being written.
fn server_metrics_on_in_embedded_mode(mpm: Mpm) {
    let server = Server::start(
        Stage::new("metrics-embedded-on"),
        &Config::new(
            mpm,
            "ExtendedStatus On\nWSGIServerMetrics On\nWSGIScriptAlias /metrics @STAGE@/apps/metrics.wsgi\n",
        ),
    );
    let f = metrics(&server, "embedded-on");
    assert_eq!(fact(&f, "server"), "dict", "{f:#?}");
    assert_eq!(
        fact(&f, "server_keys"),
        "current_time,processes,restart_time,running_generation,running_time,server_limit,thread_limit"
    );
    assert_eq!(
        fact(&f, "process_keys"),
        "generation,pid,process_num,quiescing,workers"
    );
    assert_eq!(
        fact(&f, "worker_keys"),
        "access_count,bytes_served,client,generation,last_used,request,start_time,status,stop_time,thread_num,vhost"
    );
    let (server_limit, thread_limit) = match mpm {
        // tests/common's event settings: ServerLimit 2, ThreadLimit's default.
        Mpm::Event | Mpm::Worker => ("2", "64"),
        // prefork: ServerLimit's default, one thread per process.
        Mpm::Prefork => ("256", "1"),
    };
    assert_eq!(fact(&f, "server_limit"), server_limit);
    assert_eq!(fact(&f, "thread_limit"), thread_limit);
    assert_eq!(fact(&f, "processes"), server_limit);
    assert_eq!(fact(&f, "workers_per_process"), format!("[{thread_limit}]"));
    assert_eq!(fact(&f, "running_time_type"), "int");
    assert_eq!(fact(&f, "restart_before_now"), "True");
    assert_eq!(fact(&f, "this_pid_listed"), "True");
    // The worker serving this request is busy writing ('W'); with
    // ExtendedStatus On its entry holds the request line.
    assert!(fact(&f, "this_process_statuses").contains('W'), "{f:#?}");
    assert_eq!(fact(&f, "this_request_status"), "W");
}

/// Without the directive, or with Off, `server_metrics()` is None, as in
/// mod_wsgi (its default is Off).
fn server_metrics_off_in_embedded_mode(mpm: Mpm) {
    for (name, directive) in [("default", ""), ("off", "WSGIServerMetrics Off\n")] {
        let server = Server::start(
            Stage::new(&format!("metrics-embedded-{name}")),
            &Config::new(
                mpm,
                &format!("{directive}WSGIScriptAlias /metrics @STAGE@/apps/metrics.wsgi\n"),
            ),
        );
        assert_eq!(fact(&metrics(&server, name), "server"), "None", "{name}");
    }
}

/// A daemon follows its group's `server-metrics=`, not WSGIServerMetrics.
/// A daemon forked before the MPM made the scoreboard has none (as under
/// mod_wsgi, which forks its daemons at the same point), so the On case
/// recycles daemons (maximum-requests=1) until one started after it.
fn server_metrics_in_daemon_mode(mpm: Mpm) {
    let server = Server::start(
        Stage::new("metrics-daemon"),
        &Config::new(
            mpm,
            "ExtendedStatus On\nWSGIServerMetrics On\n\
             WSGIDaemonProcess on processes=1 threads=2 maximum-requests=1 server-metrics=On\n\
             WSGIDaemonProcess off processes=1 threads=2 maximum-requests=1 server-metrics=Off\n\
             WSGIDaemonProcess unset processes=1 threads=2\n\
             WSGIScriptAlias /metrics @STAGE@/apps/metrics.wsgi process-group=on\n\
             WSGIScriptAlias /off @STAGE@/apps/metrics.wsgi process-group=off\n\
             WSGIScriptAlias /unset @STAGE@/apps/metrics.wsgi process-group=unset\n",
        ),
    );
    let mut attempt = 0;
    let f = wait_until(WAIT, "a daemon with a scoreboard", || {
        // A fresh URL each time: the scoreboard keeps earlier request lines.
        attempt += 1;
        let f = metrics(&server, &format!("daemon-on-{attempt}"));
        (fact(&f, "server") == "dict").then_some(f)
    });
    // The Apache child relaying this request shows it; the daemon itself
    // is no Apache child.
    assert_eq!(fact(&f, "this_request_status"), "W", "{f:#?}");
    assert_eq!(fact(&f, "this_pid_listed"), "False");
    let mut daemon_pids = std::collections::HashSet::new();
    for tag in ["off", "unset"] {
        for i in 0..3 {
            let f = facts(&server, &format!("/{tag}?{i}"));
            assert_eq!(fact(&f, "server"), "None", "{tag}");
            daemon_pids.insert(fact(&f, "pid").to_owned());
        }
    }
    // The 'off' group recycled after each request: later daemons too say None.
    assert!(daemon_pids.len() >= 3, "{daemon_pids:?}");
}

/// Bad values fail configtest on their line, with mod_wsgi's rules: On or
/// Off, in the main server only. (The telemetry directives: tests/telemetry.rs.)
fn bad_values_fail_configtest(mpm: Mpm) {
    let stage = Stage::new("metrics-config-t");
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "WSGIServerMetrics maybe\n",
            "WSGIServerMetrics",
            &["WSGIServerMetrics must be On or Off, not 'maybe'"],
        ),
        (
            "<VirtualHost 127.0.0.1:*>\n  ServerName v.test\n  WSGIServerMetrics On\n</VirtualHost>\n",
            "WSGIServerMetrics",
            &["WSGIServerMetrics", "VirtualHost"],
        ),
        (
            "WSGIDaemonProcess site server-metrics=yes\n",
            "server-metrics",
            &["WSGIDaemonProcess", "server-metrics", "'yes'"],
        ),
        (
            "WSGIDaemonProcess site server-metrics=\n",
            "server-metrics",
            &["WSGIDaemonProcess", "server-metrics"],
        ),
    ];
    for (body, offending, fragments) in cases {
        let config = Config::new(mpm, body);
        assert_configtest_fails(&stage, &config, offending, fragments);
    }
}

/// `process_metrics()` is None until `start_recording_metrics()`; then it
/// counts this process's finished requests, per thread, with the one in
/// flight among `active_requests`.
fn process_metrics_after_recording_starts(server: &Server, path: &str, embedded: bool) {
    let before = facts(server, &format!("{path}?plain"));
    assert_eq!(fact(&before, "process"), "None", "{before:#?}");
    // Per process: each process's first recording request starts it there.
    let mut seen: HashMap<String, Vec<HashMap<String, String>>> = HashMap::new();
    for i in 0..12 {
        let f = facts(server, &format!("{path}?record-{i}"));
        seen.entry(fact(&f, "pid").to_owned()).or_default().push(f);
    }
    for (pid, answers) in &seen {
        for (n, f) in answers.iter().enumerate() {
            assert_eq!(fact(f, "process"), "dict", "{pid}: {f:#?}");
            assert_eq!(
                fact(f, "process_metrics_keys"),
                "active_requests,cpu_system_time,cpu_time,cpu_user_time,current_time,memory_max_rss,memory_rss,pid,request_busy_time,request_count,request_threads,restart_time,running_time,threads"
            );
            assert_eq!(fact(f, "process_pid_is_mine"), "True");
            // The request that started recording is not counted; each
            // later one counts the ones before it, except that a daemon
            // may have sent the previous response before counting it.
            let count: usize = fact(f, "request_count").parse().unwrap();
            assert!(
                count <= n && count + 1 >= n,
                "{pid}, answer {n}: {answers:#?}"
            );
            assert_eq!(fact(f, "cpu_adds_up"), "True");
            assert_eq!(fact(f, "memory_ok"), "True");
            assert_eq!(fact(f, "times_ok"), "True");
            if n > 0 {
                // This request is in flight, on a thread that is listed.
                assert!(fact(f, "active_requests").parse::<u32>().unwrap() >= 1);
                assert!(fact(f, "request_threads").parse::<u32>().unwrap() >= 1);
                assert_ne!(fact(f, "this_thread_count"), "missing", "{f:#?}");
                assert!(fact(f, "busy_time").parse::<f64>().unwrap() > 0.0);
            }
        }
    }
    assert_eq!(fact(&before, "rm"), "None", "{before:#?}");
    // Embedded, a request is counted before its response leaves.
    for answers in seen.values() {
        request_metrics_per_process(answers, embedded);
        let queue_time = if embedded { "NoneType" } else { "float" };
        assert_eq!(fact(&answers[0], "rm_queue_time"), queue_time);
    }
}

/// mod_wsgi 6.1.1's `request_metrics()` keys.
fn request_metrics_keys() -> String {
    let mut keys: Vec<String> = [
        "pid",
        "start_time",
        "stop_time",
        "sample_period",
        "cpu_user_utilization",
        "cpu_user_time",
        "cpu_system_utilization",
        "cpu_system_time",
        "cpu_utilization",
        "cpu_time",
        "memory_max_rss",
        "memory_rss",
        "request_threads_maximum",
        "request_threads_started",
        "request_threads_active",
        "capacity_utilization",
        "request_count",
        "request_throughput",
        "status_1xx",
        "status_2xx",
        "status_3xx",
        "status_4xx",
        "status_5xx",
        "input_bytes",
        "input_reads",
        "output_bytes",
        "output_writes",
        "request_threads_completed",
        "request_threads_buckets",
        "request_threads_busy_time",
        "request_threads_cpu_time",
        "request_threads_current_elapsed",
        "request_threads_max_duration",
        "gil_wait_count",
    ]
    .iter()
    .map(|k| k.to_string())
    .collect();
    for phase in [
        "server_time",
        "queue_time",
        "daemon_time",
        "application_time",
        "request_time",
        "gil_wait_time",
        "input_read_time",
        "output_write_time",
    ] {
        for suffix in ["", "_buckets", "_min_us", "_max_us"] {
            keys.push(format!("{phase}{suffix}"));
        }
    }
    keys.sort();
    keys.join(",")
}

/// One process's answers, the first of which started recording: each
/// `request_metrics()` covers the requests completed since the previous
/// call. `exact`: one request at a time reaches the process, so each call
/// sees exactly the one before it; otherwise a daemon thread may still be
/// counting the previous request when the next one asks.
fn request_metrics_per_process(answers: &[HashMap<String, String>], exact: bool) {
    let mut total = 0;
    for (n, f) in answers.iter().enumerate() {
        assert_eq!(fact(f, "rm"), "dict", "{f:#?}");
        assert_eq!(fact(f, "rm_keys"), request_metrics_keys());
        assert_eq!(fact(f, "rm_pid_is_mine"), "True");
        let maximum = fact(f, "rm_threads_maximum");
        assert_eq!(fact(f, "rm_threads_lists"), format!("[{maximum}]"));
        assert_eq!(fact(f, "rm_request_time"), "float");
        assert_eq!(fact(f, "rm_min_le_max"), "True");
        assert_eq!(fact(f, "rm_period_ok"), "True");
        assert_eq!(fact(f, "rm_busy_ok"), "True");
        let count: usize = fact(f, "rm_request_count").parse().unwrap();
        if n == 0 {
            // Recording started in this very request.
            assert_eq!(count, 0, "{f:#?}");
            continue;
        }
        // This request is in flight on one of the threads.
        assert_eq!(fact(f, "rm_this_thread_running"), "True", "{f:#?}");
        if n == 1 {
            // The request that started recording is not counted (it began
            // before), as process_metrics() leaves it out.
            assert_eq!(count, 0, "{f:#?}");
            continue;
        }
        if exact {
            assert_eq!(count, 1, "answer {n}: {f:#?}");
            assert_eq!(fact(f, "rm_request_time_samples"), "1");
            assert_eq!(fact(f, "rm_threads_completed"), "1");
            assert!(fact(f, "rm_output_bytes").parse::<u64>().unwrap() > 100);
        } else {
            assert!(count <= 2, "answer {n}: {f:#?}");
        }
        total += count;
    }
    let counted = answers.len().saturating_sub(2);
    assert!(total + 1 >= counted && total <= counted, "{answers:#?}");
}

fn process_metrics_in_embedded_mode(mpm: Mpm) {
    let server = Server::start(
        Stage::new("metrics-process-embedded"),
        &Config::new(mpm, "WSGIScriptAlias /metrics @STAGE@/apps/metrics.wsgi\n"),
    );
    process_metrics_after_recording_starts(&server, "/metrics", true);
}

/// One daemon thread: each call sees exactly the request before it, and
/// the status classes count a 404.
fn request_metrics_in_one_daemon_thread(mpm: Mpm) {
    let server = Server::start(
        Stage::new("metrics-request-daemon"),
        &Config::new(
            mpm,
            "WSGIDaemonProcess site processes=1 threads=1\n\
             WSGIScriptAlias /metrics @STAGE@/apps/metrics.wsgi process-group=site\n",
        ),
    );
    let answers: Vec<HashMap<String, String>> = (0..5)
        .map(|i| facts(&server, &format!("/metrics?record-{i}")))
        .collect();
    request_metrics_per_process(&answers, true);
    assert_eq!(fact(&answers[2], "rm_status"), "0,1,0,0,0");
    assert_eq!(fact(&answers[2], "rm_queue_time"), "float", "a daemon");
    assert_eq!(fact(&answers[2], "rm_threads_maximum"), "1");
    let r = server.get("/metrics?record-missing");
    assert_eq!(r.status, 404);
    let after = facts(&server, "/metrics?record-after");
    assert_eq!(fact(&after, "rm_status"), "0,0,0,1,0", "{after:#?}");
    server.stop();
}

fn process_metrics_in_daemon_mode(mpm: Mpm) {
    let server = Server::start(
        Stage::new("metrics-process-daemon"),
        &Config::new(
            mpm,
            "WSGIDaemonProcess site processes=2 threads=3\n\
             WSGIScriptAlias /metrics @STAGE@/apps/metrics.wsgi process-group=site\n",
        ),
    );
    process_metrics_after_recording_starts(&server, "/metrics", false);
}

under_event_and_prefork!(
    server_metrics_on_in_embedded_mode,
    server_metrics_off_in_embedded_mode,
    server_metrics_in_daemon_mode,
    bad_values_fail_configtest,
    process_metrics_in_embedded_mode,
    process_metrics_in_daemon_mode,
    request_metrics_in_one_daemon_thread,
);
