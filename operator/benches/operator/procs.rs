//! What the bench reads of processes: CPU time and memory from `/proc`, and the test bed's own
//! processes (the emulator, the model check in front of it, the apiserver, etcd) by the PID
//! files `scripts/testbed` keeps.

use std::time::Instant;

/// Clock ticks per second in `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// utime + stime of a process, in clock ticks; `None` once it is gone.
pub fn try_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

pub fn cpu_ticks(pid: u32) -> u64 {
    try_cpu_ticks(pid).unwrap()
}

/// A `/proc/<pid>/status` memory line (VmRSS, RssAnon, RssFile) in MiB, `None` once the
/// process is gone.
pub fn try_memory_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

pub fn memory_mib(pid: u32, field: &str) -> f64 {
    try_memory_mib(pid, field).unwrap()
}

/// The test bed's processes that serve the operator, by name, from their PID files in
/// `$PWP_TESTBED_DIR` (the repo's `.testbed` by default); those not running are left out.
pub fn testbed() -> Vec<(&'static str, u32)> {
    let dir = std::env::var("PWP_TESTBED_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| crate::common::repo_file(".testbed"));
    [
        ("ministack", "ministack"),
        ("model check", "model-check"),
        ("kube-apiserver", "apiserver"),
        ("etcd", "etcd"),
    ]
    .into_iter()
    .filter_map(|(name, file)| {
        let pid = std::fs::read_to_string(dir.join(format!("{file}.pid"))).ok()?;
        let pid = pid.trim().parse().ok()?;
        try_cpu_ticks(pid).map(|_| (name, pid))
    })
    .collect()
}

/// CPU time of a set of processes from a moment on.
pub struct CpuMeter {
    from: Instant,
    start: Vec<(&'static str, u32, u64)>,
}

/// One process's CPU over a meter's window: seconds, and the share of one core.
pub struct CpuUse {
    pub name: &'static str,
    pub seconds: f64,
    pub cores: f64,
}

impl CpuMeter {
    pub fn start(processes: &[(&'static str, u32)]) -> Self {
        Self {
            from: Instant::now(),
            start: processes
                .iter()
                .filter_map(|&(name, pid)| Some((name, pid, try_cpu_ticks(pid)?)))
                .collect(),
        }
    }

    pub fn read(&self) -> Vec<CpuUse> {
        let wall = self.from.elapsed().as_secs_f64();
        self.start
            .iter()
            .filter_map(|&(name, pid, ticks)| {
                let seconds = try_cpu_ticks(pid)?.saturating_sub(ticks) as f64 / TICKS_PER_SECOND;
                Some(CpuUse {
                    name,
                    seconds,
                    cores: seconds / wall,
                })
            })
            .collect()
    }
}

/// The machine's cores, for the share of it the processes used.
pub fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}
