//! `WSGIDaemonProcess NAME option=value ...`: one daemon process group,
//! with mod_wsgi's option names, defaults and meaning.

mod buffers;
mod times;

use super::args::split_arguments;
use super::table::{DAEMON_OPTIONS, lookup_daemon_option};

/// A daemon process group as configured. Times are in seconds; 0 means
/// "off" except where noted.
#[derive(Clone, Debug, PartialEq)]
pub struct DaemonGroup {
    pub name: String,
    pub processes: u32,
    /// mod_wsgi reports `wsgi.multiprocess` True only when `processes=` was given.
    pub multiprocess: bool,
    pub threads: u32,
    /// `None`: Apache's `User` / `Group`.
    pub user: Option<String>,
    pub group: Option<String>,
    pub supplementary_groups: Vec<String>,
    pub umask: Option<u32>,
    pub home: Option<String>,
    pub python_home: Option<String>,
    /// `python-eggs=`: `PYTHON_EGG_CACHE` in the daemons (not WSGIPythonEggs).
    pub python_eggs: Option<String>,
    pub python_path: Vec<String>,
    /// The process title; `%{GROUP}` expands to `(wsgi:NAME)`.
    pub display_name: Option<String>,
    pub lang: Option<String>,
    pub locale: Option<String>,
    /// `switch-interval=`, seconds: the daemon's own WSGISwitchInterval.
    pub switch_interval: Option<f64>,
    pub maximum_requests: u64,
    pub restart_interval: u64,
    pub inactivity_timeout: u64,
    pub request_timeout: u64,
    /// How long a request interrupted with `RequestTimeout` may take to
    /// unwind before the process is recycled; 0: no interruption, recycle.
    pub interrupt_timeout: u64,
    pub graceful_timeout: u64,
    pub shutdown_timeout: u64,
    pub deadlock_timeout: u64,
    pub startup_timeout: u64,
    pub connect_timeout: u64,
    /// 0: Apache's `Timeout`.
    pub socket_timeout: u64,
    pub queue_timeout: u64,
    pub listen_backlog: u32,
    /// Who may connect to the group's socket; `None`: Apache's `User`.
    pub socket_user: Option<String>,
    /// Bytes of resident memory after which the process is recycled.
    pub memory_limit: u64,
    /// Seconds of CPU time after which the process is recycled.
    pub cpu_time_limit: u64,
    /// `send-buffer-size=`, `receive-buffer-size=`: SO_SNDBUF and SO_RCVBUF
    /// of the daemons' sockets; 0: the system's default.
    pub send_buffer_size: u32,
    pub receive_buffer_size: u32,
    /// `header-buffer-size=`: the longest response header line (with its
    /// CRLF) a child takes from a daemon; 0: mod_wsgi's 32768.
    pub header_buffer_size: u32,
    /// `response-buffer-size=`: response bytes a child passes to Apache's
    /// filters between flushes; 0: mod_wsgi's 8 MB.
    pub response_buffer_size: u32,
    /// `response-socket-timeout=`, seconds: how long a write of the response
    /// to the client may block; 0: socket-timeout's value.
    pub response_socket_timeout: u64,
    /// `response-flush-delay=`, milliseconds a child waits for more response
    /// data before it flushes what it has (default 5; 0: flush at once).
    pub response_flush_delay: u64,
    /// `chroot=`: the root directory the daemons change to before they
    /// switch user; scripts must lie under it.
    pub chroot: Option<String>,
    /// `stack-size=`, bytes: the worker threads' stack (None: the system's).
    pub stack_size: Option<usize>,
    /// `cpu-priority=`: the daemons' nice value (0: unchanged).
    pub cpu_priority: i32,
    /// `virtual-memory-limit=`, bytes: RLIMIT_AS of the daemons (0: none).
    pub virtual_memory_limit: u64,
    /// `script-user=`: the only owner (of the script and its directory)
    /// whose scripts the group runs; a name or `#uid`.
    pub script_user: Option<String>,
    /// `script-group=`: the same for the file's group; a name or `#gid`.
    pub script_group: Option<String>,
    /// `eviction-timeout=`, seconds: on SIGUSR1 (Apache's graceful signal),
    /// how long requests in flight may take, in place of graceful-timeout.
    pub eviction_timeout: u64,
    /// `server-metrics=On`: `mod_wsgi.server_metrics()` reads Apache's
    /// scoreboard in this group's processes (Off by default, as mod_wsgi).
    pub server_metrics: bool,
}

impl DaemonGroup {
    pub fn new(name: &str) -> Self {
        DaemonGroup {
            name: name.to_owned(),
            processes: 1,
            multiprocess: false,
            threads: 15,
            user: None,
            group: None,
            supplementary_groups: Vec::new(),
            umask: None,
            home: None,
            python_home: None,
            python_eggs: None,
            python_path: Vec::new(),
            display_name: None,
            lang: None,
            locale: None,
            switch_interval: None,
            maximum_requests: 0,
            restart_interval: 0,
            inactivity_timeout: 0,
            request_timeout: 0,
            interrupt_timeout: 0,
            graceful_timeout: 15,
            shutdown_timeout: 5,
            deadlock_timeout: 300,
            startup_timeout: 0,
            connect_timeout: 15,
            socket_timeout: 0,
            queue_timeout: 0,
            listen_backlog: 100,
            socket_user: None,
            memory_limit: 0,
            cpu_time_limit: 0,
            send_buffer_size: 0,
            receive_buffer_size: 0,
            header_buffer_size: 0,
            response_buffer_size: 0,
            response_socket_timeout: 0,
            response_flush_delay: 5,
            chroot: None,
            stack_size: None,
            cpu_priority: 0,
            virtual_memory_limit: 0,
            script_user: None,
            script_group: None,
            eviction_timeout: 0,
            server_metrics: false,
        }
    }

    /// How long one request may run before the monitor acts, as mod_wsgi 6
    /// scales `request-timeout` by the number of threads:
    /// `request-timeout * (1 + ln(threads))` (1 thread: request-timeout
    /// itself; 15: 3.7 times it). `None` without a request-timeout.
    pub fn request_fire_threshold(&self) -> Option<std::time::Duration> {
        if self.request_timeout == 0 {
            return None;
        }
        let scale = 1.0 + f64::from(self.threads.max(1)).ln();
        Some(std::time::Duration::from_secs_f64(
            self.request_timeout as f64 * scale,
        ))
    }

    /// The process title for `display-name`, if any. As in mod_wsgi
    /// (wsgi_setup_daemon_name), only the whole value `%{GROUP}` becomes
    /// `(wsgi:NAME)`; any other text is shown as written.
    pub fn process_title(&self) -> Option<String> {
        self.display_name.as_ref().map(|d| {
            if d == "%{GROUP}" {
                format!("(wsgi:{})", self.name)
            } else {
                d.clone()
            }
        })
    }
}

fn number<T: std::str::FromStr>(option: &str, value: &str) -> Result<T, String> {
    value.parse().map_err(|_| {
        format!(
            "WSGIDaemonProcess: invalid value '{value}' for {option} (a whole number is expected)"
        )
    })
}

fn not_empty(option: &str, value: &str) -> Result<String, String> {
    if value.is_empty() {
        Err(format!("WSGIDaemonProcess: {option} needs a value"))
    } else {
        Ok(value.to_owned())
    }
}

/// Parses the arguments of one `WSGIDaemonProcess` line.
pub fn parse_daemon_process(raw: &str) -> Result<DaemonGroup, String> {
    let words = split_arguments(raw)?;
    let Some(name) = words.first() else {
        return Err("WSGIDaemonProcess needs a process group name".to_owned());
    };
    if name.contains('=') || name.starts_with("%{") {
        return Err(format!(
            "WSGIDaemonProcess: '{name}' is not a valid process group name"
        ));
    }
    let mut group = DaemonGroup::new(name);
    for option in &words[1..] {
        let Some((key, value)) = option.split_once('=') else {
            return Err(format!(
                "WSGIDaemonProcess: '{option}' is not an option of the form name=value"
            ));
        };
        match lookup_daemon_option(key) {
            None => {
                let known: Vec<&str> = DAEMON_OPTIONS
                    .iter()
                    .filter(|o| o.supported)
                    .map(|o| o.name)
                    .collect();
                return Err(format!(
                    "WSGIDaemonProcess: unknown option '{key}' (known: {})",
                    known.join(", ")
                ));
            }
            Some(option) if !option.supported => {
                return Err(format!(
                    "WSGIDaemonProcess: the mod_wsgi option '{key}' is not supported yet by mod_wsgi_rs"
                ));
            }
            Some(_) => {}
        }
        match key {
            "processes" => {
                group.processes = number(key, value)?;
                if group.processes < 1 {
                    return Err("WSGIDaemonProcess: processes must be at least 1".to_owned());
                }
                group.multiprocess = true;
            }
            "threads" => {
                group.threads = number(key, value)?;
                if group.threads < 1 {
                    return Err("WSGIDaemonProcess: threads must be at least 1".to_owned());
                }
            }
            "user" => group.user = Some(not_empty(key, value)?),
            "group" => group.group = Some(not_empty(key, value)?),
            "supplementary-groups" => {
                group.supplementary_groups = value
                    .split(',')
                    .filter(|g| !g.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            "umask" => {
                group.umask = Some(u32::from_str_radix(value, 8).map_err(|_| {
                    format!("WSGIDaemonProcess: invalid umask '{value}' (octal expected)")
                })?)
            }
            "home" => {
                if !value.starts_with('/') {
                    return Err(format!(
                        "WSGIDaemonProcess: home '{value}' must be an absolute path"
                    ));
                }
                group.home = Some(value.to_owned());
            }
            "python-eggs" => group.python_eggs = Some(not_empty(key, value)?),
            // Checked once every option is known: under chroot= it is a
            // path inside the new root.
            "python-home" => group.python_home = Some(not_empty(key, value)?),
            "python-path" => {
                group.python_path = value
                    .split(':')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            "display-name" => group.display_name = Some(not_empty(key, value)?),
            "lang" => group.lang = Some(not_empty(key, value)?),
            "locale" => group.locale = Some(not_empty(key, value)?),
            "switch-interval" => {
                group.switch_interval =
                    Some(super::python_options::parse_switch_interval(key, value)?)
            }
            "maximum-requests" => group.maximum_requests = number(key, value)?,
            "restart-interval" => group.restart_interval = times::duration(key, value)?,
            "inactivity-timeout" => group.inactivity_timeout = times::duration(key, value)?,
            "request-timeout" => group.request_timeout = times::duration(key, value)?,
            "interrupt-timeout" => group.interrupt_timeout = times::duration(key, value)?,
            "graceful-timeout" => group.graceful_timeout = times::duration(key, value)?,
            "shutdown-timeout" => group.shutdown_timeout = times::duration(key, value)?,
            "deadlock-timeout" => group.deadlock_timeout = times::duration(key, value)?,
            "startup-timeout" => group.startup_timeout = times::duration(key, value)?,
            "connect-timeout" => group.connect_timeout = times::duration(key, value)?,
            "socket-timeout" => group.socket_timeout = times::duration(key, value)?,
            "queue-timeout" => group.queue_timeout = times::duration(key, value)?,
            "listen-backlog" => {
                group.listen_backlog = number(key, value)?;
                if group.listen_backlog < 1 {
                    return Err("WSGIDaemonProcess: listen-backlog must be at least 1".to_owned());
                }
            }
            "socket-user" => group.socket_user = Some(not_empty(key, value)?),
            "memory-limit" => group.memory_limit = number(key, value)?,
            "cpu-time-limit" => group.cpu_time_limit = number(key, value)?,
            key if buffers::is_buffer_option(key) => buffers::parse(&mut group, key, value)?,
            "chroot" => {
                if !value.starts_with('/') {
                    return Err(format!(
                        "WSGIDaemonProcess: invalid chroot directory '{value}' (an absolute path is expected)"
                    ));
                }
                group.chroot = Some(value.to_owned());
            }
            "stack-size" => {
                let size: usize = number(key, value)?;
                if size == 0 {
                    return Err("WSGIDaemonProcess: stack-size must be at least 1".to_owned());
                }
                group.stack_size = Some(size);
            }
            "cpu-priority" => {
                group.cpu_priority = value.parse().map_err(|_| {
                    format!(
                        "WSGIDaemonProcess: invalid value '{value}' for cpu-priority (a whole number, a nice value from -20 to 19, is expected)"
                    )
                })?
            }
            "virtual-memory-limit" => group.virtual_memory_limit = number(key, value)?,
            "script-user" => group.script_user = Some(not_empty(key, value)?),
            "script-group" => group.script_group = Some(not_empty(key, value)?),
            "eviction-timeout" => group.eviction_timeout = times::duration(key, value)?,
            "server-metrics" => {
                group.server_metrics = if value.eq_ignore_ascii_case("on") {
                    true
                } else if value.eq_ignore_ascii_case("off") {
                    false
                } else {
                    return Err(format!(
                        "WSGIDaemonProcess: invalid server-metrics flag '{value}' (On or Off)"
                    ));
                }
            }
            // The table says supported but no arm parses it: a bug here.
            _ => {
                return Err(format!(
                    "WSGIDaemonProcess: the option '{key}' is not handled (internal error)"
                ));
            }
        }
    }
    if let Some(home) = &group.python_home {
        let what = "WSGIDaemonProcess: python-home";
        match &group.chroot {
            None => {
                super::args::python_home(what, home)?;
            }
            Some(root) => {
                if !home.starts_with('/') {
                    return Err(format!("{what} must be an absolute path, not '{home}'"));
                }
                let seen = format!("{}{home}", root.trim_end_matches('/'));
                super::args::python_home(what, &seen).map_err(|_| {
                    format!(
                        "{what} '{home}' is not a directory inside the chroot directory ('{seen}')"
                    )
                })?;
            }
        }
    }
    if group.script_user.is_some() && group.script_group.is_some() {
        return Err(
            "WSGIDaemonProcess: only one of script-user and script-group is allowed".to_owned(),
        );
    }
    Ok(group)
}

#[cfg(test)]
mod process_option_tests;

#[cfg(test)]
mod tests {
    use super::super::table::DAEMON_OPTIONS;
    use super::*;

    #[test]
    fn the_parser_follows_the_option_table() {
        for option in DAEMON_OPTIONS {
            let value = match option.name {
                "home" | "python-home" | "chroot" => "/",
                "umask" => "022",
                name if name.ends_with("-buffer-size") => "65536",
                "server-metrics" => "On",
                _ => "1",
            };
            let result = parse_daemon_process(&format!("s {}={value}", option.name));
            if option.supported {
                assert!(result.is_ok(), "{}: {result:?}", option.name);
            } else {
                let err = result.unwrap_err();
                assert!(err.contains("not supported yet"), "{}: {err}", option.name);
            }
        }
    }

    #[test]
    fn python_home_must_be_an_existing_directory() {
        for home in ["/nonexistent/venv", "venv"] {
            let err = parse_daemon_process(&format!("s python-home={home}")).unwrap_err();
            assert!(err.contains(&format!("'{home}'")), "{err}");
        }
    }

    #[test]
    fn django_guide_configuration() {
        let g = parse_daemon_process(
            "example.com user=app group=app processes=2 threads=15 python-home=/usr python-path=/srv/site display-name=%{GROUP}",
        )
        .unwrap();
        assert_eq!(g.name, "example.com");
        assert_eq!((g.processes, g.threads, g.multiprocess), (2, 15, true));
        assert_eq!(g.user.as_deref(), Some("app"));
        assert_eq!(g.python_home.as_deref(), Some("/usr"));
        assert_eq!(g.python_path, ["/srv/site"]);
        assert_eq!(g.process_title().as_deref(), Some("(wsgi:example.com)"));
    }

    #[test]
    fn switch_interval_is_a_positive_number_of_seconds() {
        let g = parse_daemon_process("site switch-interval=0.0125").unwrap();
        assert_eq!(g.switch_interval, Some(0.0125));
        assert_eq!(parse_daemon_process("site").unwrap().switch_interval, None);
        for bad in ["0", "-1", "x", "", "inf"] {
            let e = parse_daemon_process(&format!("site switch-interval={bad}")).unwrap_err();
            assert!(e.contains("switch-interval"), "{bad}: {e}");
        }
    }

    #[test]
    fn display_name_expands_only_a_whole_group_marker() {
        let title = |raw| parse_daemon_process(raw).unwrap().process_title();
        assert_eq!(title("site"), None);
        assert_eq!(
            title("site display-name=httpd-app").as_deref(),
            Some("httpd-app")
        );
        assert_eq!(
            title("site display-name=app-%{GROUP}").as_deref(),
            Some("app-%{GROUP}")
        );
    }

    #[test]
    fn defaults_match_mod_wsgi() {
        let g = parse_daemon_process("site").unwrap();
        assert_eq!((g.processes, g.threads, g.multiprocess), (1, 15, false));
        assert_eq!(
            (
                g.graceful_timeout,
                g.shutdown_timeout,
                g.deadlock_timeout,
                g.connect_timeout
            ),
            (15, 5, 300, 15)
        );
        assert_eq!(
            (
                g.socket_timeout,
                g.queue_timeout,
                g.request_timeout,
                g.listen_backlog
            ),
            (0, 0, 0, 100)
        );
    }

    #[test]
    fn request_timeout_scales_with_threads_as_in_mod_wsgi_6() {
        let threshold = |options: &str| {
            parse_daemon_process(&format!("s {options}"))
                .unwrap()
                .request_fire_threshold()
        };
        assert_eq!(threshold("threads=4"), None);
        assert_eq!(
            threshold("threads=1 request-timeout=60"),
            Some(std::time::Duration::from_secs(60))
        );
        // mod_wsgi-express's help: about 3.3 times at 10 threads, 4.2 at 25.
        let ten = threshold("threads=10 request-timeout=60").unwrap();
        assert_eq!(ten.as_millis(), 198_155);
        let fifteen = threshold("request-timeout=10").unwrap();
        assert_eq!(fifteen.as_millis(), 37_080);
        let g = parse_daemon_process("s request-timeout=5 interrupt-timeout=2").unwrap();
        assert_eq!((g.request_timeout, g.interrupt_timeout), (5, 2));
        assert_eq!(parse_daemon_process("s").unwrap().interrupt_timeout, 0);
        assert!(
            parse_daemon_process("s interrupt-timeout=-1")
                .unwrap_err()
                .contains("invalid value '-1' for interrupt-timeout")
        );
    }

    #[test]
    fn timeouts_and_limits() {
        let g = parse_daemon_process(
            "s maximum-requests=100 restart-interval=60 inactivity-timeout=30 request-timeout=10 graceful-timeout=3 shutdown-timeout=2 deadlock-timeout=20 startup-timeout=5 connect-timeout=4 socket-timeout=9 queue-timeout=1 listen-backlog=50 memory-limit=1000000 cpu-time-limit=7 umask=0027 home=/srv socket-user=#33 supplementary-groups=a,b lang=en_US.UTF-8 locale=C.UTF-8",
        )
        .unwrap();
        assert_eq!(g.maximum_requests, 100);
        assert_eq!(
            (g.restart_interval, g.inactivity_timeout, g.request_timeout),
            (60, 30, 10)
        );
        assert_eq!(
            (
                g.graceful_timeout,
                g.shutdown_timeout,
                g.deadlock_timeout,
                g.startup_timeout
            ),
            (3, 2, 20, 5)
        );
        assert_eq!(
            (
                g.connect_timeout,
                g.socket_timeout,
                g.queue_timeout,
                g.listen_backlog
            ),
            (4, 9, 1, 50)
        );
        assert_eq!(
            (g.memory_limit, g.cpu_time_limit, g.umask),
            (1_000_000, 7, Some(0o027))
        );
        assert_eq!(g.supplementary_groups, ["a", "b"]);
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(
            parse_daemon_process("")
                .unwrap_err()
                .contains("needs a process group name")
        );
        assert!(
            parse_daemon_process("s processes=0")
                .unwrap_err()
                .contains("at least 1")
        );
        assert!(
            parse_daemon_process("s threads=x")
                .unwrap_err()
                .contains("invalid value 'x' for threads")
        );
        let err = parse_daemon_process("s proceses=2").unwrap_err();
        assert!(err.contains("unknown option 'proceses'"), "{err}");
        // A misspelt option is answered with the ones that would work.
        assert!(
            err.contains("(known: user, group, ") && err.contains("processes, threads"),
            "{err}"
        );
        if let Some(not_yet) = DAEMON_OPTIONS.iter().find(|o| !o.supported) {
            assert!(
                !err.contains(&format!(" {},", not_yet.name)),
                "not-yet options are not offered: {err}"
            );
            assert!(
                parse_daemon_process(&format!("s {}=1", not_yet.name))
                    .unwrap_err()
                    .contains("not supported yet")
            );
        }
        assert!(
            parse_daemon_process("s home=relative")
                .unwrap_err()
                .contains("absolute")
        );
        assert!(
            parse_daemon_process("s umask=99")
                .unwrap_err()
                .contains("octal")
        );
        assert!(
            parse_daemon_process("s standalone")
                .unwrap_err()
                .contains("name=value")
        );
    }
}
