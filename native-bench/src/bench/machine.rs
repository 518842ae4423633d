//! The machine record stored with every run: CPU, memory, OS, GPU, driver/CUDA versions, GDS
//! mode, and the git commit. Read from Linux's `/proc` and `/etc/os-release`; fields that
//! cannot be read say "unknown", GPU fields say "none" when there is no GPU.

use serde::Serialize;

/// What the machine is.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Host name (`/proc/sys/kernel/hostname`).
    pub hostname: String,
    /// CPU model (`model name` in `/proc/cpuinfo`).
    pub cpu_model: String,
    /// Logical CPUs this process may use.
    pub cores: usize,
    /// Total memory, bytes (`MemTotal` in `/proc/meminfo`).
    pub memory_bytes: u64,
    /// OS (`PRETTY_NAME` in `/etc/os-release`) and kernel release.
    pub os: String,
    /// CPU architecture.
    pub arch: String,
    /// The GPU, driver and CUDA versions.
    pub gpu: GpuInfo,
    /// `true`, `compatibility`, or `none` (no GDS / feature not built).
    pub gds_mode: String,
    /// The load average when the run started (1, 5 and 15 minutes, `/proc/loadavg`): on a
    /// shared machine, how busy it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_average: Option<[f64; 3]>,
}

/// The GPU as the driver reports it.
#[derive(Debug, Clone, Serialize)]
pub struct GpuInfo {
    /// Device 0's name, or `none`.
    pub name: String,
    /// Device memory, bytes (0 when none).
    pub memory_bytes: u64,
    /// Driver version (e.g. `580.65.06` from nvidia-smi, or the CUDA driver API version).
    pub driver: String,
    /// The CUDA version the driver supports (e.g. `13.0`), or `none`.
    pub cuda: String,
    /// How this was found out (`cuda driver API`, `nvidia-smi`, or why there is none).
    pub source: String,
}

impl GpuInfo {
    /// No GPU, with the reason.
    pub fn none(why: &str) -> Self {
        Self {
            name: "none".into(),
            memory_bytes: 0,
            driver: "none".into(),
            cuda: "none".into(),
            source: why.into(),
        }
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn cpu_model() -> String {
    read("/proc/cpuinfo")
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn memory_bytes() -> u64 {
    read("/proc/meminfo")
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn os() -> String {
    let pretty = read("/etc/os-release")
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| std::env::consts::OS.to_owned());
    match read("/proc/sys/kernel/osrelease") {
        Some(k) => format!("{pretty}, kernel {}", k.trim()),
        None => pretty,
    }
}

/// The GPU via `nvidia-smi` (used when the `cuda` feature is not built).
pub fn gpu_from_nvidia_smi() -> GpuInfo {
    let out = std::process::Command::new("nvidia-smi")
        .args([
            "--query-gpu=name,memory.total,driver_version",
            "--format=csv,noheader,nounits",
        ])
        .output();
    let Ok(out) = out else {
        return GpuInfo::none("no nvidia-smi on PATH");
    };
    if !out.status.success() {
        return GpuInfo::none("nvidia-smi failed (no NVIDIA driver or GPU)");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(line) = text.lines().next() else {
        return GpuInfo::none("nvidia-smi lists no GPU");
    };
    let f: Vec<&str> = line.split(',').map(str::trim).collect();
    // The CUDA version is only in nvidia-smi's banner.
    let banner = std::process::Command::new("nvidia-smi")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let cuda = banner
        .split("CUDA Version:")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or("unknown")
        .to_owned();
    GpuInfo {
        name: f.first().copied().unwrap_or("unknown").to_owned(),
        memory_bytes: f
            .get(1)
            .and_then(|m| m.parse::<u64>().ok())
            .map_or(0, |mib| mib * 1024 * 1024),
        driver: f.get(2).copied().unwrap_or("unknown").to_owned(),
        cuda,
        source: "nvidia-smi".into(),
    }
}

/// The machine we run on; `gpu` and `gds_mode` come from the GPU modules (or "none").
pub fn detect(gpu: GpuInfo, gds_mode: String) -> Machine {
    Machine {
        hostname: read("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|| "unknown".into()),
        cpu_model: cpu_model(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_bytes: memory_bytes(),
        os: os(),
        arch: std::env::consts::ARCH.into(),
        gpu,
        gds_mode,
        load_average: load_average(),
    }
}

/// `/proc/loadavg`'s first three fields.
fn load_average() -> Option<[f64; 3]> {
    let text = read("/proc/loadavg")?;
    let v: Vec<f64> = text
        .split_whitespace()
        .take(3)
        .filter_map(|f| f.parse().ok())
        .collect();
    v.try_into().ok()
}

/// The git commit of the working directory (`git rev-parse HEAD`, `+dirty` when there are
/// uncommitted changes), else `$GEOCHIP_GIT_COMMIT` (for a binary copied to a GPU node), else
/// `unknown`.
pub fn git_commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    if let Some(head) = git(&["rev-parse", "HEAD"]) {
        let dirty =
            git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        return if dirty { format!("{head}+dirty") } else { head };
    }
    std::env::var("GEOCHIP_GIT_COMMIT").unwrap_or_else(|_| "unknown".into())
}
