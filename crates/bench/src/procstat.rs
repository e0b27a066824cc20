//! CPU time and memory of this process and of the PostgreSQL server, from `/proc` (Linux).

use std::fs;

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// (parent pid, own CPU seconds, CPU seconds of reaped children) of `pid`.
fn stat(pid: &str) -> Option<(u32, f64, f64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `comm` (field 2) may hold spaces and parentheses: the fields after it start past the
    // last ')'. From there: state, ppid, ... utime (14), stime, cutime, cstime (17).
    let rest = text.get(text.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    let ppid = fields.get(1)?.parse().ok()?;
    let tick = ticks_per_second();
    Some((
        ppid,
        (num(11)? + num(12)?) / tick,
        (num(13)? + num(14)?) / tick,
    ))
}

/// CPU seconds (user + system) this process has used so far, all threads.
pub fn own_cpu() -> f64 {
    stat("self").map(|(_, own, _)| own).unwrap_or(0.0)
}

/// CPU seconds the server has used so far: the postmaster, its live children (backends,
/// autovacuum, checkpointer, ...) and the children it has already reaped.
pub fn server_cpu(postmaster: u32) -> f64 {
    let mut total = stat(&postmaster.to_string())
        .map(|(_, own, reaped)| own + reaped)
        .unwrap_or(0.0);
    if let Ok(dir) = fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            if let Some((ppid, own, _)) = stat(pid) {
                if ppid == postmaster {
                    total += own;
                }
            }
        }
    }
    total
}

/// CPU seconds (user + system) process `pid` has used so far, all threads (0 when gone).
pub fn process_cpu(pid: u32) -> f64 {
    stat(&pid.to_string()).map_or(0.0, |(_, own, _)| own)
}

/// CPU seconds the whole machine has been busy (all cores, from `/proc/stat`), as (process
/// and interrupt time, softirq time). Loopback TCP is mostly delivered in softirq, which is
/// charged to no process. With [`process_cpu`], tells how much of a run's CPU went elsewhere.
pub fn machine_busy() -> (f64, f64) {
    let Ok(text) = fs::read_to_string("/proc/stat") else {
        return (0.0, 0.0);
    };
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return (0.0, 0.0);
    };
    // user nice system idle iowait irq softirq steal ...
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let at = |i: usize| v.get(i).copied().unwrap_or(0.0);
    let tick = ticks_per_second();
    ((at(0) + at(1) + at(2) + at(5) + at(7)) / tick, at(6) / tick)
}

fn status_kib(field: &str) -> Option<u64> {
    let text = fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Peak resident set size of this process (VmHWM), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

/// Current resident set size of this process (VmRSS), in KiB.
pub fn rss_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

/// Resets the peak RSS to the current RSS (Linux ≥ 4.0), so a later peak covers only what
/// follows. Returns false when the kernel refused.
pub fn reset_peak_rss() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_figures() {
        assert!(own_cpu() >= 0.0);
        assert!(machine_busy().0 > 0.0);
        assert!(process_cpu(std::process::id()) >= 0.0);
        assert!(rss_kib().unwrap() > 0);
        assert!(peak_rss_kib().unwrap() >= rss_kib().unwrap() / 2);
    }
}
