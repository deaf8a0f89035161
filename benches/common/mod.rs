//! What both benchmarks measure the same way.

/// This process's resident set in KB.
pub fn rss_kb() -> u64 {
    rss_kb_of("self")
}

/// The resident set of process `pid` (or `self`) in KB, from `/proc/<pid>/status` (0 where there is none).
pub fn rss_kb_of(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Gives freed heap back to the kernel, so a phase's RSS growth is not hidden by the previous phase's.
pub fn trim_heap() {
    // SAFETY: malloc_trim only releases free memory.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}
