//! `WSGITelemetryService`, `WSGISlowRequests` and `WSGITelemetryOptions`
//! through a real Apache: a datagram listener in the test decodes what the
//! Apache children and the daemons send (mod_wsgi 6.1.1's wire format,
//! decoded here independently of the module's encoder, from
//! wsgi_telemetry.h) and checks the counts, a slow request past the
//! threshold and the fast ones not reported; bad values fail configtest.

mod common;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use common::*;

const WAIT: Duration = Duration::from_secs(20);

#[derive(Clone, Debug, PartialEq)]
enum V {
    U(u64),
    F(f64),
    B(String),
    A(Vec<i32>),
}

#[derive(Debug)]
struct Datagram {
    kind: u8,
    pid: u32,
    fields: HashMap<u16, V>,
}

impl Datagram {
    fn u(&self, id: u16) -> u64 {
        match self.fields.get(&id) {
            Some(V::U(v)) => *v,
            other => panic!("field {id} is {other:?} in {self:?}"),
        }
    }
    fn f(&self, id: u16) -> f64 {
        match self.fields.get(&id) {
            Some(V::F(v)) => *v,
            other => panic!("field {id} is {other:?} in {self:?}"),
        }
    }
    fn s(&self, id: u16) -> Option<&str> {
        match self.fields.get(&id) {
            Some(V::B(v)) => Some(v),
            None => None,
            other => panic!("field {id} is {other:?} in {self:?}"),
        }
    }
}

/// wsgi_telemetry.h: 'WSGI', version 1, kind, flags, pid, seq, stamp;
/// then (u16 id, u8 type, [u16 length], value) little-endian.
fn decode(buf: &[u8]) -> Datagram {
    assert_eq!(&buf[..5], b"WSGI\x01", "{buf:?}");
    assert_eq!(&buf[6..8], &[0, 0], "flags are reserved");
    let le = |b: &[u8]| b.iter().rev().fold(0u64, |acc, &x| acc << 8 | u64::from(x));
    let mut fields = HashMap::new();
    let mut i = 24;
    while i < buf.len() {
        let id = le(&buf[i..i + 2]) as u16;
        let kind = buf[i + 2];
        i += 3;
        let value = match kind {
            1 => V::U(le(&buf[i..i + 8])),
            2 => V::F(f64::from_bits(le(&buf[i..i + 8]))),
            4 | 5 => {
                let n = le(&buf[i..i + 2]) as usize;
                i += 2;
                if kind == 4 {
                    V::B(String::from_utf8(buf[i..i + n].to_vec()).unwrap())
                } else {
                    V::A(
                        buf[i..i + 4 * n]
                            .chunks(4)
                            .map(|c| le(c) as u32 as i32)
                            .collect(),
                    )
                }
            }
            other => panic!("unknown type {other} for field {id}"),
        };
        i += match &value {
            V::U(_) | V::F(_) => 8,
            V::B(s) => s.len(),
            V::A(a) => 4 * a.len(),
        };
        assert!(fields.insert(id, value).is_none(), "field {id} twice");
    }
    assert_eq!(i, buf.len());
    Datagram {
        kind: buf[5],
        pid: le(&buf[8..12]) as u32,
        fields,
    }
}

struct Listener(UnixDatagram);

impl Listener {
    fn bind(stage: &Stage) -> Listener {
        let path = stage.path("run/telemetry.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        // The Apache children and daemons run as www-data.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Listener(socket)
    }

    /// Datagrams until `done` says the collection is complete.
    fn collect_until(
        &self,
        what: &str,
        mut done: impl FnMut(&[Datagram]) -> bool,
    ) -> Vec<Datagram> {
        let mut got = Vec::new();
        let deadline = Instant::now() + WAIT;
        let mut buf = vec![0u8; 65536];
        while Instant::now() < deadline {
            if let Ok(n) = self.0.recv(&mut buf) {
                got.push(decode(&buf[..n]));
                if done(&got) {
                    return got;
                }
            }
        }
        panic!("no {what} within {WAIT:?}; got {got:#?}");
    }
}

const STARTED: u8 = 5;
const REQUEST: u8 = 2;
const SLOW: u8 = 4;

fn pid_of(r: &Response) -> u32 {
    r.text()
        .trim()
        .strip_prefix("pid=")
        .unwrap()
        .parse()
        .unwrap()
}

/// Runs the requests, then checks what the process that served them sent.
fn samples_and_a_slow_request(mpm: Mpm, name: &str, daemon: bool) {
    let stage = Stage::new(name);
    let listener = Listener::bind(&stage);
    let (group_line, alias_option) = if daemon {
        (
            "WSGIDaemonProcess site processes=1 threads=3\n",
            " process-group=site",
        )
    } else {
        ("", "")
    };
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            &format!(
                "WSGITelemetryService unix:@STAGE@/run/telemetry.sock interval=0.5\n\
                 WSGISlowRequests 0.4\nWSGITelemetryOptions +CaptureUserAgent\n{group_line}\
                 WSGIScriptAlias /t @STAGE@/apps/telemetry.wsgi{alias_option}\n"
            ),
        ),
    );
    // One connection, so one Apache child serves them all.
    let mut conn = server.connect();
    let mut ask = |target: &str| {
        use std::io::Write;
        let request =
            format!("GET {target} HTTP/1.1\r\nHost: tele.test\r\nUser-Agent: probe/1.0\r\n\r\n");
        conn.write_all(request.as_bytes()).unwrap();
        read_response(&mut conn)
    };
    let mut pids = Vec::new();
    for target in ["/t/a", "/t/b", "/t/c?status=404", "/t/slow?sleep=0.6"] {
        let r = ask(target);
        pids.push(pid_of(&r));
    }
    let pid = pids[0];
    assert!(pids.iter().all(|&p| p == pid), "{pids:?}");
    let got = listener.collect_until(
        "samples counting the 4 requests and the slow record",
        |got| {
            let counted: u64 = got
                .iter()
                .filter(|d| d.kind == REQUEST && d.pid == pid)
                .map(|d| d.u(20))
                .sum();
            counted >= 4 && got.iter().any(|d| d.kind == SLOW && d.pid == pid)
        },
    );
    let parent: u32 = std::fs::read_to_string(server.stage().path("run/httpd.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    // Every process, children and daemons, says it started, with its identity.
    let started: Vec<&Datagram> = got.iter().filter(|d| d.kind == STARTED).collect();
    assert!(!started.is_empty(), "{got:#?}");
    for d in &started {
        assert_eq!(d.u(7), u64::from(parent), "{d:?}");
        assert_eq!(d.s(4), Some(mpm_name(mpm)));
        assert!(d.s(3).unwrap().starts_with("Apache/2.4."), "{d:?}");
        assert!(d.s(2).unwrap().starts_with("3."), "{d:?}");
        assert!(d.s(1).is_some());
        assert_eq!(d.f(13), 0.005, "Python's default switch interval");
    }

    let samples: Vec<&Datagram> = got
        .iter()
        .filter(|d| d.kind == REQUEST && d.pid == pid)
        .collect();
    let sum = |id: u16| samples.iter().map(|d| d.u(id)).sum::<u64>();
    assert_eq!(sum(20), 4);
    assert_eq!((sum(121), sum(124), sum(123)), (3, 0, 1), "2xx, 5xx, 4xx");
    for d in &samples {
        assert_eq!(d.f(11), 0.5);
        assert_eq!(d.f(12), 0.4);
        assert!(d.f(10) > 0.3 && d.f(10) < 5.0, "sample_period {d:?}");
        assert!(d.u(40) > 0 && d.u(41) >= d.u(40), "memory {d:?}");
        assert_eq!(
            d.s(6),
            if daemon { Some("site") } else { None },
            "process group {d:?}"
        );
        // queue and daemon phases exist only in daemon mode.
        if d.u(20) > 0 {
            assert_eq!(d.fields.contains_key(&61), daemon, "{d:?}");
        }
    }
    if daemon {
        assert_eq!(samples[0].u(50), 3, "threads=3");
    }
    let busiest = samples.iter().find(|d| d.u(20) > 0).unwrap();
    assert!(matches!(&busiest.fields[&94], V::A(b) if b.len() == 65));

    // The slow request alone is reported, with its identity.
    let slow: Vec<&Datagram> = got.iter().filter(|d| d.kind == SLOW).collect();
    assert_eq!(slow.len(), 1, "{slow:#?}");
    let s = slow[0];
    assert_eq!(s.pid, pid);
    assert_eq!(s.u(200), 1, "completed");
    assert!(s.f(202) >= 0.6 && s.f(202) < 5.0, "{s:?}");
    assert!(s.f(223) >= 0.6, "application time {s:?}");
    assert_eq!(s.u(240), 200);
    assert_eq!(s.s(210), Some("GET"));
    assert_eq!(s.s(213), Some("/t"));
    assert_eq!(s.s(214), Some("/slow"));
    assert_eq!(s.s(215), Some("HTTP/1.1"));
    assert_eq!(s.s(216), Some("127.0.0.1"));
    assert_eq!(s.s(212), Some("tele.test"));
    assert_eq!(s.s(217), Some("probe/1.0"), "+CaptureUserAgent");
    assert_eq!(s.u(205), if daemon { 0 } else { u64::from(pid) });
    assert!(s.s(204).is_some(), "log id");
    // As mod_wsgi 6.1.1: the reporter is the one consumer, so
    // process_metrics() and request_metrics() are None even after
    // start_recording_metrics().
    let r = ask("/t/metrics");
    assert!(
        r.text().contains("process_metrics_none=True")
            && r.text().contains("request_metrics_none=True"),
        "{}",
        r.text()
    );
    let log = server.error_log();
    assert!(log.contains("WSGIRS0404"), "{log}");
    assert!(
        log.contains("Telemetry reporter started; target='unix:"),
        "{log}"
    );
}

fn mpm_name(mpm: Mpm) -> &'static str {
    match mpm {
        Mpm::Event => "event",
        Mpm::Prefork => "prefork",
        Mpm::Worker => "worker",
    }
}

fn embedded_mode(mpm: Mpm) {
    samples_and_a_slow_request(mpm, "telemetry-embedded", false);
}

fn daemon_mode(mpm: Mpm) {
    samples_and_a_slow_request(mpm, "telemetry-daemon", true);
}

/// Without `+CaptureUserAgent` (the default) a slow record has no
/// User-Agent; with no `WSGISlowRequests`, no slow records at all, and the
/// samples say the threshold is 0.
fn defaults_capture_no_user_agent_and_no_slow_records(mpm: Mpm) {
    let stage = Stage::new("telemetry-defaults");
    let listener = Listener::bind(&stage);
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGITelemetryService unix:@STAGE@/run/telemetry.sock interval=0.5\n\
             WSGIScriptAlias /t @STAGE@/apps/telemetry.wsgi\n",
        ),
    );
    let pid = pid_of(&server.get("/t/slow?sleep=0.3"));
    let got = listener.collect_until("a sample counting the request", |got| {
        got.iter()
            .any(|d| d.kind == REQUEST && d.pid == pid && d.u(20) == 1)
    });
    assert!(got.iter().all(|d| d.kind != SLOW), "{got:#?}");
    let sample = got
        .iter()
        .find(|d| d.kind == REQUEST && d.pid == pid)
        .unwrap();
    assert_eq!(sample.f(12), 0.0);
    assert_eq!(sample.f(11), 0.5);
    drop(server);

    let stage = Stage::new("telemetry-no-agent");
    let listener = Listener::bind(&stage);
    let server = Server::start(
        stage,
        &Config::new(
            mpm,
            "WSGITelemetryService unix:@STAGE@/run/telemetry.sock interval=0.5\n\
             WSGISlowRequests 0.1\nWSGITelemetryOptions +CaptureUserAgent\n\
             WSGITelemetryOptions -CaptureUserAgent\n\
             WSGIScriptAlias /t @STAGE@/apps/telemetry.wsgi\n",
        ),
    );
    server.get("/t/slow?sleep=0.3");
    let got = listener.collect_until("a slow record", |got| got.iter().any(|d| d.kind == SLOW));
    let slow = got.iter().find(|d| d.kind == SLOW).unwrap();
    assert_eq!(slow.s(214), Some("/slow"));
    assert_eq!(
        slow.s(217),
        None,
        "-CaptureUserAgent on the later line wins"
    );
}

/// Bad values fail configtest on their line with mod_wsgi 6.1.1's words.
fn bad_values_fail_configtest(mpm: Mpm) {
    let stage = Stage::new("telemetry-config-t");
    let cases: &[(&str, &str, &str)] = &[
        (
            "WSGITelemetryService udp:127.0.0.1:9000\n",
            "WSGITelemetryService",
            "target must be 'unix:/path'",
        ),
        (
            "WSGITelemetryService unix:/run/t.sock interval=0.2\n",
            "WSGITelemetryService",
            "interval must be at least 0.5 seconds",
        ),
        (
            "WSGITelemetryService unix:/run/t.sock every=2\n",
            "WSGITelemetryService",
            "second argument must be 'interval=N'",
        ),
        (
            "WSGITelemetryService unix:/run/t.sock interval=soon\n",
            "WSGITelemetryService",
            "not 'soon'",
        ),
        (
            "WSGISlowRequests -1\n",
            "WSGISlowRequests",
            "threshold must be non-negative",
        ),
        ("WSGISlowRequests slow\n", "WSGISlowRequests", "not 'slow'"),
        (
            "WSGITelemetryOptions +Cookies\n",
            "WSGITelemetryOptions",
            "unknown flag 'Cookies'",
        ),
        (
            "WSGITelemetryOptions CaptureUserAgent -CaptureUserAgent\n",
            "WSGITelemetryOptions",
            "cannot mix +/- form",
        ),
        (
            "<VirtualHost 127.0.0.1:*>\n  ServerName v.test\n  WSGISlowRequests 2\n</VirtualHost>\n",
            "WSGISlowRequests",
            "VirtualHost",
        ),
    ];
    for (body, offending, fragment) in cases {
        let config = Config::new(mpm, body);
        let line = line_of(&config.render(&stage, 0), offending);
        let error = config_test(&stage, &config).expect_err(body);
        assert!(
            error.contains(&format!("Syntax error on line {line} of")),
            "expected an error on line {line} for {body:?}:\n{error}"
        );
        assert!(
            error.contains(fragment),
            "{fragment:?} missing for {body:?}:\n{error}"
        );
    }
}

under_event_and_prefork!(
    embedded_mode,
    daemon_mode,
    defaults_capture_no_user_agent_and_no_slow_records,
    bad_values_fail_configtest,
);
