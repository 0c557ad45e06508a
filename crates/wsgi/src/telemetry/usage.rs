//! This process's CPU time and memory, from /proc, for
//! `mod_wsgi.process_metrics()` and the telemetry samples alike.

/// This process's CPU times (user, system) in seconds, from
/// /proc/self/stat, in the clock ticks `times()` counts (USER_HZ, 100 on
/// Linux whatever the kernel's own rate).
pub fn cpu_times() -> (f64, f64) {
    const USER_HZ: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which may hold spaces: state is the
    // first, utime the 12th and stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0) as f64
    };
    (ticks(11) / USER_HZ, ticks(12) / USER_HZ)
}

/// (current, peak) resident memory in bytes, from /proc/self/status, as
/// mod_wsgi's `wsgi_get_current_memory_RSS` and `..._peak_memory_RSS`.
pub fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kilobytes = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (kilobytes("VmRSS:"), kilobytes("VmHWM:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_give_cpu_and_memory() {
        let (rss, max_rss) = memory();
        assert!(rss > 0 && max_rss >= rss, "{rss} {max_rss}");
        let (user, system) = cpu_times();
        assert!(user >= 0.0 && system >= 0.0);
    }
}
