//! The `zarr` suite (Z1, issue 6): a float32 (8192, 8192) array (256 MiB; 2048² with
//! `--quick`), chunks 512², written and read whole on the filesystem store, uncompressed,
//! zstd level 1 and sharded (4096² shards of uncompressed 512² chunks), beside a plain
//! `std::fs::write`/`std::fs::read` of one file with the same bytes; then random single-chunk
//! reads (1 MiB each, 64 per sample, seeded): the array opened for every read (metadata read
//! and parsed, codec chain built: what a caller that does not keep the array pays) against the
//! array opened once and kept (`ZarrArray::read_window`, the one-chunk fast path; sharded
//! arrays through the cached shard index), and the same through the core's
//! `ByteSourceStore` over the files (the store the browser uses over HTTP), beside a plain
//! read of the chunk's own file. The per-read latency is in each result's params, as wall
//! time and as process CPU time (`CLOCK_PROCESS_CPUTIME_ID`: on a shared machine the wall
//! time includes waiting for a CPU, the CPU time does not).
//!
//! The files live in a fresh directory under the system temp directory (page cache warm after
//! the untimed first pass: software-path numbers, not disk numbers) and are deleted at the end.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use geochip::zarr::{ByteSourceStore, Compression, WriteOptions, ZarrArray, ZarrStore};
use serde_json::{Value, json};

use super::{Ctx, Measurement, Outcome};

const CHUNK: usize = 512;
/// Random single-chunk reads per timed sample.
const READS: usize = 64;

/// Deletes the suite's directory however the suite ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fs_store(path: &Path) -> Result<ZarrStore> {
    std::fs::create_dir_all(path)?;
    let fs = zarrs_filesystem::FilesystemStore::new(path)
        .with_context(|| format!("filesystem store {}", path.display()))?;
    Ok(ZarrStore::new(path.display().to_string(), Arc::new(fs)))
}

fn dir_size(p: &Path) -> u64 {
    match std::fs::read_dir(p) {
        Ok(rd) => rd
            .filter_map(std::result::Result::ok)
            .map(|e| dir_size(&e.path()))
            .sum(),
        Err(_) => std::fs::metadata(p).map_or(0, |m| m.len()),
    }
}

/// SplitMix64: the random chunk sequence (the same in every run).
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The chunk indices of one sample (the same `READS` chunks for every case).
fn chunks(grid: u64) -> Vec<(usize, usize)> {
    let mut st = 1u64;
    (0..READS)
        .map(|_| {
            let i = next(&mut st) % grid;
            let j = next(&mut st) % grid;
            (i as usize, j as usize)
        })
        .collect()
}

/// CPU time of this process (all threads), in seconds: `clock_gettime`'s
/// `CLOCK_PROCESS_CPUTIME_ID`. On a shared machine the wall time of a case includes waiting
/// for a CPU; this does not. `None` where the clock is unavailable.
#[allow(unsafe_code)] // one libc call: std has no process CPU clock
fn cpu_seconds() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the pointer it is given, which points
    // at a live local; the return value says whether it did.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &raw mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

/// Like [`Ctx::time`] (one untimed warm-up, then `repeats` samples), with each sample's CPU
/// time beside its wall time.
fn time_cpu(ctx: &Ctx, mut f: impl FnMut()) -> (Vec<f64>, Vec<f64>) {
    f();
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..ctx.repeats {
        let c0 = cpu_seconds();
        let t0 = std::time::Instant::now();
        f();
        wall.push(t0.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (c0, cpu_seconds()) {
            cpu.push(b - a);
        }
    }
    (wall, cpu)
}

/// The best CPU seconds, or null.
fn best_cpu(cpu: &[f64]) -> Value {
    if cpu.is_empty() {
        Value::Null
    } else {
        best(cpu).into()
    }
}

/// Times `f` over every chunk of `list` per sample (wall and CPU seconds); the first error
/// stops the suite.
fn time_chunks(
    ctx: &Ctx,
    list: &[(usize, usize)],
    mut f: impl FnMut(usize, usize) -> Result<()>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut err = None;
    let samples = time_cpu(ctx, || {
        for &(i, j) in list {
            if err.is_none()
                && let Err(e) = f(i, j)
            {
                err = Some(e);
            }
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(samples),
    }
}

fn best(samples: &[f64]) -> f64 {
    samples.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Z1: whole-array writes and reads, and random single-chunk reads (see the module docs).
pub fn zarr(ctx: &Ctx) -> Result<Vec<Outcome>> {
    let n = if ctx.quick { 2048 } else { 8192 };
    let shard = (n / 2).max(CHUNK);
    let dir = std::env::temp_dir().join(format!("geochip-bench-zarr-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let scratch = Scratch(dir.clone());
    let a = geochip_bench::z1_field(n);
    let bytes = a.data().to_le_bytes();
    let nbytes = bytes.len() as u64;
    let raw = dir.join("plain.bin");
    let (plain_write, plain_write_cpu) = time_cpu(ctx, || {
        if let Err(e) = std::fs::write(&raw, black_box(&bytes)) {
            eprintln!("plain write: {e}");
        }
    });
    let (plain_read, plain_read_cpu) = time_cpu(ctx, || {
        black_box(std::fs::read(&raw).ok());
    });
    let layouts = [
        ("uncompressed", Compression::None, None),
        ("zstd-1", Compression::Zstd { level: 1 }, None),
        ("sharded", Compression::None, Some(vec![shard, shard])),
    ];
    let mut out = Vec::new();
    let base = |layout: &str, comp: Compression, shards: &Option<Vec<usize>>| -> Value {
        json!({
            "workload": "Z1",
            "dims": ["y", "x"],
            "shape": [n, n],
            "dtype": "float32",
            "chunk_shape": [CHUNK, CHUNK],
            "shard_shape": shards,
            "compression": comp.to_string(),
            "layout": layout,
            "store": "filesystem (zarrs_filesystem)",
            "values": "smooth field plus hash noise (deterministic)",
        })
    };
    for (name, comp, shards) in &layouts {
        let path = dir.join(format!("{name}.zarr"));
        let opts = WriteOptions {
            chunk_shape: Some(vec![CHUNK, CHUNK]),
            shard_shape: shards.clone(),
            compression: *comp,
            ..WriteOptions::default()
        };
        let mut err = None;
        let (write, write_cpu) = time_cpu(ctx, || {
            let _ = std::fs::remove_dir_all(&path);
            let r = fs_store(&path).and_then(|s| Ok(s.write_array("/a", &a, &opts)?));
            if let Err(e) = r {
                err = Some(e);
            }
        });
        if let Some(e) = err {
            return Err(e.context(format!("writing the {name} store")));
        }
        let stored = dir_size(&path);
        let s = fs_store(&path)?;
        let mut err = None;
        let mut check = None;
        let (read, read_cpu) = time_cpu(ctx, || match s.open_array("/a").and_then(|z| z.read()) {
            Ok(back) => {
                check.get_or_insert_with(|| back == a);
                black_box(back);
            }
            Err(e) => err = Some(e),
        });
        if let Some(e) = err {
            return Err(anyhow::Error::new(e).context(format!("reading the {name} store")));
        }
        if check != Some(true) {
            anyhow::bail!("the {name} store read back different values");
        }
        let mut p = base(name, *comp, shards);
        p["stored_bytes"] = stored.into();
        p["mb_per_s"] = (nbytes as f64 / best(&write) / 1e6).into();
        p["cpu_seconds"] = best_cpu(&write_cpu);
        p["baseline_cpu_seconds"] = best_cpu(&plain_write_cpu);
        out.push(Outcome::Measured(Measurement::new(
            format!("Z1_f32_{n}x{n}_c{CHUNK}/{name}/write"),
            p.clone(),
            nbytes,
            write,
            "plain_write",
            &plain_write,
        )));
        p["mb_per_s"] = (nbytes as f64 / best(&read) / 1e6).into();
        p["cpu_seconds"] = best_cpu(&read_cpu);
        p["baseline_cpu_seconds"] = best_cpu(&plain_read_cpu);
        let mut m = Measurement::new(
            format!("Z1_f32_{n}x{n}_c{CHUNK}/{name}/read"),
            p,
            nbytes,
            read,
            "plain_read",
            &plain_read,
        );
        m.checked = Some("values equal the array written".into());
        out.push(Outcome::Measured(m));
    }
    drop(a);

    // Random single chunks.
    let grid = (n / CHUNK) as u64;
    let list = chunks(grid);
    let chunk_bytes = (CHUNK * CHUNK * 4) as u64;
    let total = chunk_bytes * READS as u64;
    let unc = dir.join("uncompressed.zarr");
    let (plain_chunk, plain_chunk_cpu) = time_chunks(ctx, &list, |i, j| {
        black_box(std::fs::read(unc.join(format!("a/c/{i}/{j}")))?);
        Ok(())
    })?;
    let win = [CHUNK, CHUNK];
    let mut chunk_case =
        |name: &str,
         how: &str,
         about: &str,
         (samples, cpu): (Vec<f64>, Vec<f64>),
         layout: &(&str, Compression, Option<Vec<usize>>)| {
            let mut p = base(layout.0, layout.1, &layout.2);
            let per = |v: &[f64]| -> Value {
                if v.is_empty() {
                    Value::Null
                } else {
                    (best(v) * 1e3 / READS as f64).into()
                }
            };
            p["reads_per_sample"] = READS.into();
            p["read"] = about.into();
            p["ms_per_read"] = per(&samples);
            p["plain_ms_per_read"] = per(&plain_chunk);
            p["cpu_ms_per_read"] = per(&cpu);
            p["plain_cpu_ms_per_read"] = per(&plain_chunk_cpu);
            out.push(Outcome::Measured(Measurement::new(
                format!("Z1_f32_{n}x{n}_c{CHUNK}/{name}/chunk_{how}"),
                p,
                total,
                samples,
                "plain_read_chunk_file",
                &plain_chunk,
            )));
        };
    for layout in &layouts {
        let name = layout.0;
        let path = dir.join(format!("{name}.zarr"));
        let s = fs_store(&path)?;
        let samples = time_chunks(ctx, &list, |i, j| {
            let z = s.open_array("/a")?;
            black_box(z.read_window(&[i * CHUNK, j * CHUNK], &win)?);
            Ok(())
        })?;
        chunk_case(
            name,
            "open_per_read",
            "array opened for every read (metadata + codec chain each time), then read_window",
            samples,
            layout,
        );
        let z: ZarrArray = s.open_array("/a")?;
        let samples = time_chunks(ctx, &list, |i, j| {
            black_box(z.read_window(&[i * CHUNK, j * CHUNK], &win)?);
            Ok(())
        })?;
        chunk_case(
            name,
            "reused_array",
            "array opened once and kept; read_window of one whole chunk (sharded: cached shard index)",
            samples,
            layout,
        );
        let files = geochip_bench::recipe_files::DirFiles::new(&path)?;
        let store = Arc::new(ByteSourceStore::new(
            path.display().to_string(),
            "",
            Arc::new(files),
        ));
        let z = store.open_array("/a")?;
        let samples = time_chunks(ctx, &list, |i, j| {
            black_box(z.read_window(&[i * CHUNK, j * CHUNK], &win)?);
            Ok(())
        })?;
        chunk_case(
            name,
            "byte_source_store",
            "array opened once through geochip::zarr::ByteSourceStore over the files (the store the browser uses over HTTP: open + range reads)",
            samples,
            layout,
        );
    }
    drop(scratch);
    Ok(out)
}
