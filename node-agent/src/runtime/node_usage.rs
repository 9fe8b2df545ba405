//! The whole machine's CPU and memory from /proc, for a node on a real runtime: CPU time from the
//! first line of /proc/stat (busy = user + nice + system + irq + softirq + steal, in clock ticks;
//! guest time is already inside user), memory working set from /proc/meminfo as the kubelet
//! counts the root cgroup's: in use (MemTotal − MemFree) minus the inactive file cache.

use std::time::SystemTime;

use super::usage::CpuSample;

/// Busy CPU time in clock ticks, from the text of /proc/stat.
pub fn busy_ticks(proc_stat: &str) -> Option<u64> {
    let line = proc_stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    let field = |i: usize| fields.get(i).copied().unwrap_or(0);
    if fields.len() < 4 {
        return None;
    }
    Some(field(0) + field(1) + field(2) + field(5) + field(6) + field(7))
}

/// The working set in bytes, from the text of /proc/meminfo.
pub fn working_set_bytes(meminfo: &str) -> Option<u64> {
    let kib = |key: &str| {
        meminfo.lines().find_map(|l| {
            let rest = l.strip_prefix(key)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
    };
    let total = kib("MemTotal")?;
    let free = kib("MemFree")?;
    let inactive_file = kib("Inactive(file)").unwrap_or(0);
    Some(
        total
            .saturating_sub(free)
            .saturating_sub(inactive_file)
            .saturating_mul(1024),
    )
}

/// Clock ticks per second (`USER_HZ`), the unit of /proc/stat.
fn ticks_per_second() -> u64 {
    // SAFETY: sysconf reads a constant of the running system; no memory is touched.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).ok().filter(|h| *h > 0).unwrap_or(100)
}

/// Reads the machine's busy CPU time now; `None` if /proc/stat cannot be read.
pub fn cpu_sample() -> Option<CpuSample> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks = busy_ticks(&text)?;
    let at = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?;
    Some(CpuSample {
        at_nanos: i64::try_from(at.as_nanos()).ok()?,
        used_core_nanos: ticks.saturating_mul(1_000_000_000 / ticks_per_second()),
    })
}

/// Reads the machine's memory working set now; `None` if /proc/meminfo cannot be read.
pub fn memory_working_set() -> Option<u64> {
    working_set_bytes(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_time_leaves_out_idle_and_iowait() {
        let stat =
            "cpu  100 5 20 9000 300 1 2 3 40 0\ncpu0 50 2 10 4500 150 0 1 1 20 0\nintr 1 2\n";
        assert_eq!(busy_ticks(stat), Some(100 + 5 + 20 + 1 + 2 + 3));
        assert_eq!(busy_ticks("intr 1\n"), None);
        assert_eq!(busy_ticks("cpu  1 x 3 4\n"), None);
    }

    #[test]
    fn working_set_is_used_memory_minus_inactive_file_cache() {
        let meminfo = "MemTotal:       1000 kB\nMemFree:         300 kB\nMemAvailable:    600 kB\nInactive(file):  200 kB\n";
        assert_eq!(working_set_bytes(meminfo), Some(500 * 1024));
        assert_eq!(working_set_bytes("MemFree: 3 kB\n"), None);
    }

    #[test]
    fn this_machine_reports_some_usage() {
        let s = cpu_sample().expect("/proc/stat readable");
        assert!(s.used_core_nanos > 0 && s.at_nanos > 0);
        assert!(memory_working_set().expect("/proc/meminfo readable") > 0);
    }
}
