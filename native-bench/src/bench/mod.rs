//! `geochip bench`: named benchmark suites with same-run baselines, appended as JSON Lines
//! with the machine record; `geochip bench report` renders SVG charts and a markdown table.
//!
//! Suites live in [`registry`]: a name, a one-line description and a function returning
//! [`Outcome`]s. Adding a suite (stacking, zarr, …) is one entry there plus its function.

pub mod machine;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod report;
pub mod results;
mod suites;
pub mod workloads;
mod zarr_suite;

#[cfg(feature = "cuda")]
pub mod cuda;
#[cfg(feature = "gds")]
pub mod gds;

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use serde_json::json;

pub use results::Measurement;

/// `geochip bench` arguments.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    action: Option<BenchAction>,
    /// Suites to run (default: every suite; `--list` shows them). GPU suites print
    /// "skipped: <reason>" where there is no GPU or the feature is not built.
    suites: Vec<String>,
    /// Small datasets and fewer repetitions: finishes in seconds on a laptop (for CI and
    /// smoke tests; numbers are noisier).
    #[arg(long)]
    quick: bool,
    /// Directory of the results file (geochip-bench.jsonl), created if missing; results are
    /// appended, never overwritten.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Timed repetitions per case (default 5, or 3 with --quick); the best is reported.
    #[arg(long)]
    repeats: Option<usize>,
    /// List the suites and exit.
    #[arg(long)]
    list: bool,
}

#[derive(Debug, Subcommand)]
enum BenchAction {
    /// Render the results as SVG charts (one per suite) and a markdown table (report.md) of
    /// the latest run of each suite, with the machine it ran on.
    ///
    /// Example: geochip bench report --results results/ --out book/src/bench-report/
    Report(report::ReportArgs),
    /// Write the benchmark inputs (slicing cubes as .npy, rasterize shapes as GeoJSON, stacking
    /// COGs with their STAC items, and a manifest.json of their parameters) so other tools can time exactly the same data
    /// (`cargo xtask compare` does).
    Workloads(suites::WorkloadArgs),
    /// Multi-node: every MPI rank slices a disjoint shard of the S1 chips; rank 0 gathers the
    /// timings and appends the aggregate throughput. Run under mpirun/srun; needs the `mpi`
    /// feature.
    ///
    /// Example: mpirun -np 2 geochip bench mpi --quick --out results/
    Mpi(MpiArgs),
}

/// `geochip bench mpi` arguments.
#[derive(Debug, Args)]
pub struct MpiArgs {
    /// Small dataset (see `geochip bench --quick`).
    #[arg(long)]
    pub quick: bool,
    /// Directory of the results file (rank 0 appends).
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Timed repetitions (default 5, or 3 with --quick).
    #[arg(long)]
    pub repeats: Option<usize>,
}

/// What a suite run yields per case.
#[derive(Debug)]
pub enum Outcome {
    /// A measured case.
    Measured(Measurement),
    /// A case that could not run here, and why (no GPU, feature not built, too little memory).
    Skipped {
        /// The case or suite.
        case: String,
        /// Why it did not run.
        reason: String,
    },
}

/// Settings passed to every suite.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// Small datasets.
    pub quick: bool,
    /// Timed repetitions per case.
    pub repeats: usize,
}

impl Ctx {
    /// Runs `f` once untimed (warm-up: page faults, caches), then `repeats` times; seconds.
    pub fn time(&self, mut f: impl FnMut()) -> Vec<f64> {
        f();
        (0..self.repeats)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect()
    }
}

/// A named suite.
pub struct Suite {
    /// Its name on the command line.
    pub name: &'static str,
    /// One line for `--list`.
    pub about: &'static str,
    /// Runs it.
    pub run: fn(&Ctx) -> Result<Vec<Outcome>>,
}

/// Every suite, in the default run order. Add new suites here.
pub fn registry() -> Vec<Suite> {
    vec![
        Suite {
            name: "slicing",
            about: "S1/S2: xbatcher-style chips gathered from a float32 cube (serial and rayon), vs memcpy of the same bytes",
            run: suites::slicing,
        },
        Suite {
            name: "rasterize",
            about: "R1/R2: seeded polygons burned onto a uint32 grid (centre and all_touched), vs memset of the output",
            run: suites::rasterize,
        },
        Suite {
            name: "stacking",
            about: "T1/T2: 12 items x 4 bands x 2048² deflate COGs (generated) stacked on their grid / from two UTM zones at 20 m bilinear, vs a plain read of the files",
            run: suites::stacking,
        },
        Suite {
            name: "zarr",
            about: "Z1: float32 8192² in 512² chunks written/read whole (uncompressed, zstd-1, 4096² shards) vs plain file write/read; random single-chunk reads (open per read vs array kept, ByteSourceStore) vs a plain read of the chunk file",
            run: zarr_suite::zarr,
        },
        Suite {
            name: "cuda",
            about: "chip batches host→device from pinned buffers (double-buffered streams) and an NVRTC gather from a device-resident cube, vs pinned H2D and D2D copies (feature cuda)",
            run: suites::cuda,
        },
        Suite {
            name: "gds",
            about: "Zarr chunk files (uncompressed, sharded) read into device memory with cuFile, vs read+H2D, pinned H2D and D2D, several sizes and threads (feature gds)",
            run: suites::gds,
        },
    ]
}

/// Entry point of `geochip bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    match &args.action {
        Some(BenchAction::Report(r)) => return report::run(r),
        Some(BenchAction::Workloads(w)) => return suites::export_workloads(w),
        Some(BenchAction::Mpi(m)) => return run_mpi(m),
        None => {}
    }
    let all = registry();
    if args.list {
        for s in &all {
            println!("{:<10} {}", s.name, s.about);
        }
        return Ok(());
    }
    let chosen: Vec<&Suite> = if args.suites.is_empty() {
        all.iter().collect()
    } else {
        let mut v = Vec::new();
        for name in &args.suites {
            match all.iter().find(|s| s.name == name) {
                Some(s) => v.push(s),
                None => bail!(
                    "unknown suite '{name}'; the suites are: {}",
                    all.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
                ),
            }
        }
        v
    };
    let ctx = Ctx {
        quick: args.quick,
        repeats: repeats(args.repeats, args.quick)?,
    };
    let file = results::ResultsFile::open(&args.out)?;
    let run_id = new_run_id();
    let machine = detect_machine();
    file.append(
        "run",
        json!({
            "run_id": run_id,
            "timestamp_unix": unix_now(),
            "git_commit": machine::git_commit(),
            "geochip_version": env!("CARGO_PKG_VERSION"),
            "quick": ctx.quick,
            "repeats": ctx.repeats,
            "suites": chosen.iter().map(|s| s.name).collect::<Vec<_>>(),
            "features": built_features(),
            "rayon_threads": rayon_threads(),
            "machine": machine,
        }),
    )?;
    eprintln!(
        "geochip bench: run {run_id} on {} ({} cores), GPU {}, appending to {}",
        machine.cpu_model,
        machine.cores,
        machine.gpu.name,
        file.path().display()
    );
    let mut failed = Vec::new();
    for suite in chosen {
        eprintln!("== {}", suite.name);
        let outcomes = match (suite.run)(&ctx) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("error: suite {}: {e:#}", suite.name);
                failed.push(suite.name);
                continue;
            }
        };
        for o in outcomes {
            match o {
                Outcome::Measured(m) => {
                    println!(
                        "{:<10} {:<58} {:>9.3} GB/s  {:<11} {:>9.3} GB/s  ratio {:.3}",
                        suite.name,
                        m.case,
                        m.gbps(),
                        m.baseline.name,
                        results::gbps(m.bytes, m.baseline.seconds),
                        m.ratio
                    );
                    let mut rec = serde_json::to_value(&m)?;
                    if let Some(obj) = rec.as_object_mut() {
                        obj.insert("run_id".into(), run_id.clone().into());
                        obj.insert("suite".into(), suite.name.into());
                        obj.insert("gbps".into(), m.gbps().into());
                    }
                    file.append("result", rec)?;
                }
                Outcome::Skipped { case, reason } => {
                    println!("{:<10} {case}: skipped: {reason}", suite.name);
                    file.append(
                        "skip",
                        json!({"run_id": run_id, "suite": suite.name, "case": case, "reason": reason}),
                    )?;
                }
            }
        }
    }
    if !failed.is_empty() {
        bail!("suite(s) failed: {}", failed.join(", "));
    }
    Ok(())
}

fn repeats(given: Option<usize>, quick: bool) -> Result<usize> {
    match given {
        Some(0) => bail!("--repeats must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(if quick { 3 } else { 5 }),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A run id unique enough for one results file: seconds and nanoseconds since the epoch,
/// plus the process id.
pub fn new_run_id() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}-{:09}-{}",
        d.as_secs(),
        d.subsec_nanos(),
        std::process::id()
    )
}

fn rayon_threads() -> usize {
    rayon::current_num_threads()
}

/// The cargo features this binary was built with.
pub fn built_features() -> Vec<&'static str> {
    let mut f = Vec::new();
    if cfg!(feature = "cuda") {
        f.push("cuda");
    }
    if cfg!(feature = "gds") {
        f.push("gds");
    }
    if cfg!(feature = "mpi") {
        f.push("mpi");
    }
    f
}

/// The machine record, with GPU details from the CUDA driver when built with `cuda`.
pub fn detect_machine() -> machine::Machine {
    #[cfg(feature = "cuda")]
    let gpu = cuda::gpu_info();
    #[cfg(not(feature = "cuda"))]
    let gpu = machine::gpu_from_nvidia_smi();
    #[cfg(feature = "gds")]
    let gds_mode = gds::mode_name();
    #[cfg(not(feature = "gds"))]
    let gds_mode = "none".to_owned();
    machine::detect(gpu, gds_mode)
}

fn run_mpi(args: &MpiArgs) -> Result<()> {
    #[cfg(feature = "mpi")]
    {
        let ctx = Ctx {
            quick: args.quick,
            repeats: repeats(args.repeats, args.quick)?,
        };
        mpi::run(&ctx, &args.out)
    }
    #[cfg(not(feature = "mpi"))]
    {
        let _ = args;
        bail!(
            "geochip was built without the mpi feature; rebuild with \
             `cargo build --release -p geochip-bench --features mpi` (needs an MPI library, \
             e.g. Debian's openmpi-bin libopenmpi-dev, and libclang-dev)"
        )
    }
}
