//! GPU Direct Storage suite (feature `gds`, cudarc's cuFile, loaded at run time).
//!
//! Data: a Zarr v3 array of uint8 written by this suite (documented layout, readable by
//! zarr-python): uncompressed chunks (`bytes` codec only), one file per chunk
//! `c/<i>` holding the chunk's raw bytes; and the same bytes as a *sharded* array
//! (`sharding_indexed`, inner chunks raw, index `[offset, nbytes]` as little-endian u64 pairs
//! at the end of the shard, index codecs `bytes` only). Files go under `$GEOCHIP_GDS_DIR`
//! (point it at the NVMe file system to measure; default: the system temp dir) and are
//! removed afterwards. The files were just written, so reads may come from the page cache:
//! set `GEOCHIP_DROP_CACHES=1` (as root) to empty it before every timed read.
//!
//! Cases, for several chunk sizes and thread counts (like kvikio's single-node benchmark):
//! * `cufile_read`: each thread reads its share of chunk files straight into device memory
//!   with cuFile, vs `read+h2d` (read into a pinned buffer, then copy to the device);
//! * `sharded_cufile_read`: inner chunks read from shard files at their index offsets;
//! * `read+h2d` vs `pinned_h2d`, and `pinned_h2d` vs `d2d`: the device's limits.
//!
//! GDS mode: `true` when cuFile opened and the nvidia-fs kernel module is loaded with a
//! supported storage type; `compatibility` when cuFile opened without it (cuFile then goes
//! through the page cache with POSIX I/O); `none` when libcufile is missing or does not open.

// cudarc's pinned allocation is `unsafe` (uninitialised memory, filled before use); the
// workspace denies unsafe code everywhere else.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use cudarc::cufile::Cufile;
use cudarc::driver::{CudaContext, CudaSlice};
use serde_json::json;

use super::{Ctx, Measurement, Outcome};

/// How cuFile runs here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GdsMode {
    /// Direct DMA from storage to GPU memory (nvidia-fs loaded, storage supported).
    True,
    /// cuFile works but through its POSIX fallback (no nvidia-fs or unsupported storage).
    Compatibility(String),
    /// No cuFile: why.
    None(String),
}

/// With `GEOCHIP_DROP_CACHES=1` (as root), empties the page cache before each timed read, so
/// neither path reads the just-written files from memory.
fn drop_caches() -> Result<()> {
    if std::env::var("GEOCHIP_DROP_CACHES").as_deref() == Ok("1") {
        std::fs::write("/proc/sys/vm/drop_caches", "3")
            .context("GEOCHIP_DROP_CACHES=1: cannot write /proc/sys/vm/drop_caches (needs root)")?;
    }
    Ok(())
}

fn nvidia_fs_loaded() -> bool {
    Path::new("/proc/driver/nvidia-fs").exists() || Path::new("/sys/module/nvidia_fs").exists()
}

/// Opens cuFile and reports the mode (needs a CUDA context first).
pub fn detect(cu: &Result<Arc<CudaContext>, String>) -> (GdsMode, Option<Arc<Cufile>>) {
    if let Err(reason) = cu {
        return (GdsMode::None(reason.clone()), None);
    }
    // SAFETY: only tries to dlopen libcufile by its usual names.
    if !unsafe { cudarc::cufile::sys::is_culib_present() } {
        return (
            GdsMode::None("no libcufile.so found (GPUDirect Storage not installed)".into()),
            None,
        );
    }
    let opened = std::panic::catch_unwind(Cufile::new);
    let driver = match opened {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => {
            return (
                GdsMode::None(format!("cuFileDriverOpen failed: {e:?}")),
                None,
            );
        }
        Err(_) => {
            return (
                GdsMode::None(
                    "libcufile could not be used (cudarc panicked while loading it)".into(),
                ),
                None,
            );
        }
    };
    let flags = driver
        .get_properties()
        .map(|p| p.nvfs.dstatusflags)
        .unwrap_or(0);
    let mode = if !nvidia_fs_loaded() {
        GdsMode::Compatibility("the nvidia-fs kernel module is not loaded".into())
    } else if flags == 0 {
        GdsMode::Compatibility("cuFile reports no storage type with direct support".into())
    } else {
        GdsMode::True
    };
    (mode, Some(driver))
}

/// `true`, `compatibility` or `none`, for the machine record.
pub fn mode_name() -> String {
    match detect(&super::cuda::probe()).0 {
        GdsMode::True => "true".into(),
        GdsMode::Compatibility(_) => "compatibility".into(),
        GdsMode::None(_) => "none".into(),
    }
}

/// A shard being written: its file, path and `(offset, nbytes)` index.
type OpenShard = (File, PathBuf, Vec<(u64, u64)>);

/// Writes the chunk files and the shard files; removed on drop.
struct Dataset {
    dir: PathBuf,
    chunks: Vec<PathBuf>,
    shards: Vec<(PathBuf, Vec<(u64, u64)>)>,
}

impl Drop for Dataset {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Byte `i` of the array (deterministic, not constant, so a misplaced read is caught).
fn byte_at(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

fn write_dataset(chunk: usize, count: usize, per_shard: usize) -> Result<Dataset> {
    let base = std::env::var_os("GEOCHIP_GDS_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = base.join(format!("geochip-gds-{}-{chunk}", super::new_run_id()));
    let plain = dir.join("chunks.zarr");
    let sharded = dir.join("sharded.zarr");
    std::fs::create_dir_all(plain.join("c"))
        .with_context(|| format!("{}: cannot create", dir.display()))?;
    std::fs::create_dir_all(sharded.join("c"))?;
    let total = (chunk * count) as u64;
    let meta = |chunk_shape: usize, codecs: serde_json::Value| {
        json!({"zarr_format": 3, "node_type": "array", "shape": [total], "data_type": "uint8",
               "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [chunk_shape]}},
               "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
               "fill_value": 0, "codecs": codecs})
    };
    std::fs::write(
        plain.join("zarr.json"),
        meta(chunk, json!([{"name": "bytes"}])).to_string(),
    )?;
    let shard_codec = json!([{"name": "sharding_indexed", "configuration": {
        "chunk_shape": [chunk], "codecs": [{"name": "bytes"}],
        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
        "index_location": "end"}}]);
    std::fs::write(
        sharded.join("zarr.json"),
        meta(chunk * per_shard, shard_codec).to_string(),
    )?;
    let mut ds = Dataset {
        dir,
        chunks: Vec::new(),
        shards: Vec::new(),
    };
    let mut buf = vec![0u8; chunk];
    let mut shard: Option<OpenShard> = None;
    for c in 0..count {
        for (j, b) in buf.iter_mut().enumerate() {
            *b = byte_at((c * chunk + j) as u64);
        }
        let path = plain.join("c").join(c.to_string());
        std::fs::write(&path, &buf).with_context(|| format!("{}: cannot write", path.display()))?;
        ds.chunks.push(path);
        if c % per_shard == 0 {
            let p = sharded.join("c").join((c / per_shard).to_string());
            shard = Some((File::create(&p)?, p, Vec::new()));
        }
        if let Some((f, _, index)) = shard.as_mut() {
            index.push(((index.len() * chunk) as u64, chunk as u64));
            f.write_all(&buf)?;
        }
        if (c % per_shard == per_shard - 1 || c == count - 1)
            && let Some((mut f, p, index)) = shard.take()
        {
            for (o, n) in &index {
                f.write_all(&o.to_le_bytes())?;
                f.write_all(&n.to_le_bytes())?;
            }
            f.sync_all()?;
            ds.shards.push((p, index));
        }
    }
    Ok(ds)
}

/// Reads (file, offset, len) triples into `dst` in order with `threads` threads using cuFile;
/// seconds.
fn cufile_read(
    cu: &Arc<CudaContext>,
    driver: &Arc<Cufile>,
    parts: &[(PathBuf, u64, usize)],
    threads: usize,
) -> Result<(f64, Vec<CudaSlice<u8>>)> {
    let per = parts.len().div_ceil(threads);
    // Register files and allocate before timing (as kvikio does: handles are reused).
    let mut work = Vec::new();
    for share in parts.chunks(per) {
        let stream = cu.new_stream()?;
        let len: usize = share.iter().map(|p| p.2).sum();
        let buf: CudaSlice<u8> = stream.alloc_zeros(len)?;
        let mut handles = Vec::new();
        for (path, off, n) in share {
            let f = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
            let h = driver
                .register(f)
                .map_err(|e| anyhow::anyhow!("{}: cuFileHandleRegister: {e:?}", path.display()))?;
            handles.push((h, *off, *n));
        }
        work.push((buf, handles));
    }
    drop_caches()?;
    let secs = timed_threads(&mut work, |(buf, handles)| {
        let mut at = 0;
        for (h, off, n) in handles.iter() {
            let mut view = buf.slice_mut(at..at + n);
            let got = h
                .sync_read(*off as i64, &mut view)
                .map_err(|e| anyhow::anyhow!("cuFileRead: {e:?}"))?;
            if got != *n as isize {
                bail!("cuFileRead returned {got}, expected {n} bytes");
            }
            at += n;
        }
        Ok(())
    })?;
    Ok((secs, work.into_iter().map(|(b, _)| b).collect()))
}

/// Host-staged: each thread reads its parts into its pinned buffer, then copies to device.
fn staged_read(
    cu: &Arc<CudaContext>,
    parts: &[(PathBuf, u64, usize)],
    threads: usize,
) -> Result<f64> {
    let per = parts.len().div_ceil(threads);
    let mut work = Vec::new();
    for share in parts.chunks(per) {
        let stream = cu.new_stream()?;
        let len: usize = share.iter().map(|p| p.2).sum();
        let dev: CudaSlice<u8> = stream.alloc_zeros(len)?;
        // SAFETY: every byte is written by the reads before the copy reads it.
        let pinned = unsafe { cu.alloc_pinned_with_flags::<u8>(len, 0) }?;
        work.push((stream, dev, pinned, share));
    }
    drop_caches()?;
    timed_threads(&mut work, |(stream, dev, pinned, share)| {
        let host = pinned.as_mut_slice()?;
        let mut at = 0;
        for (path, off, n) in share.iter() {
            let mut f = File::open(path)?;
            f.seek(SeekFrom::Start(*off))?;
            f.read_exact(&mut host[at..at + n])?;
            at += n;
        }
        stream.memcpy_htod(&*pinned, dev)?;
        stream.synchronize()?;
        Ok(())
    })
}

/// Runs `read` on every piece of `work`, one thread each, and returns the wall time of the
/// whole (the slowest thread); the first error wins.
fn timed_threads<W: Send>(
    work: &mut [W],
    read: impl Fn(&mut W) -> Result<()> + Sync,
) -> Result<f64> {
    let read = &read;
    let t = Instant::now();
    let results: Vec<Result<()>> = std::thread::scope(|s| {
        let joins: Vec<_> = work.iter_mut().map(|w| s.spawn(move || read(w))).collect();
        joins
            .into_iter()
            .map(|j| {
                j.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a reader thread panicked")))
            })
            .collect()
    });
    let secs = t.elapsed().as_secs_f64();
    results.into_iter().collect::<Result<()>>()?;
    Ok(secs)
}

fn best(mut f: impl FnMut() -> Result<f64>, ctx: &Ctx) -> Result<Vec<f64>> {
    f()?;
    (0..ctx.repeats).map(|_| f()).collect()
}

/// The GDS suite.
pub fn suite(ctx: &Ctx) -> Result<Vec<Outcome>> {
    let probe = super::cuda::probe();
    let (mode, driver) = detect(&probe);
    let (cu, driver) = match (probe, driver) {
        (Ok(cu), Some(d)) => (cu, d),
        _ => {
            let reason = match mode {
                GdsMode::None(r) | GdsMode::Compatibility(r) => r,
                GdsMode::True => "cuFile unavailable".into(),
            };
            return Ok(vec![Outcome::Skipped {
                case: "gds".into(),
                reason,
            }]);
        }
    };
    let mode_text = match &mode {
        GdsMode::True => "true".to_owned(),
        GdsMode::Compatibility(why) => format!("compatibility ({why})"),
        GdsMode::None(why) => format!("none ({why})"),
    };
    eprintln!("gds: cuFile mode {mode_text}");
    let (sizes, total, threads): (&[usize], usize, &[usize]) = if ctx.quick {
        (&[1 << 20, 4 << 20], 32 << 20, &[1, 2])
    } else {
        (
            &[1 << 20, 4 << 20, 16 << 20, 64 << 20],
            1 << 30,
            &[1, 2, 4, 8],
        )
    };
    let (free, _) = cu.mem_get_info()?;
    if (free as u64) < (total as u64) * 3 {
        return Ok(vec![Outcome::Skipped {
            case: "gds".into(),
            reason: format!(
                "GPU 0 has {} MiB free, the suite needs {} MiB",
                free >> 20,
                (total * 3) >> 20
            ),
        }]);
    }
    let mut out = Vec::new();
    let s0 = cu.default_stream();
    for &size in sizes {
        let count = total / size;
        let ds = write_dataset(size, count, 8.min(count))?;
        let plain: Vec<(PathBuf, u64, usize)> =
            ds.chunks.iter().map(|p| (p.clone(), 0, size)).collect();
        let sharded: Vec<(PathBuf, u64, usize)> = ds
            .shards
            .iter()
            .flat_map(|(p, index)| index.iter().map(move |(o, n)| (p.clone(), *o, *n as usize)))
            .collect();
        // The device's limits on the same bytes.
        // SAFETY: filled right after allocation, before any copy reads it.
        let mut pinned = unsafe { cu.alloc_pinned_with_flags::<u8>(total, 0) }?;
        pinned.as_mut_slice()?.fill(7);
        let mut dev_a: CudaSlice<u8> = s0.alloc_zeros(total)?;
        let mut dev_b: CudaSlice<u8> = s0.alloc_zeros(total)?;
        let pinned_h2d = best(
            || {
                let t = Instant::now();
                s0.memcpy_htod(&pinned, &mut dev_a)?;
                s0.synchronize()?;
                Ok(t.elapsed().as_secs_f64())
            },
            ctx,
        )?;
        let d2d = best(
            || {
                let t = Instant::now();
                s0.memcpy_dtod(&dev_a, &mut dev_b)?;
                s0.synchronize()?;
                Ok(t.elapsed().as_secs_f64())
            },
            ctx,
        )?;
        drop((pinned, dev_a, dev_b));
        let params = |threads: usize, layout: &str| {
            json!({"chunk_bytes": size, "chunks": count, "total_bytes": total, "threads": threads,
                   "layout": layout, "gds_mode": mode_text, "dtype": "uint8",
                   "dir": ds.dir.parent().map(|p| p.display().to_string())})
        };
        out.push(Outcome::Measured(Measurement::new(
            format!("{}MiB/pinned_h2d", size >> 20),
            params(1, "memory"),
            total as u64,
            pinned_h2d.clone(),
            "d2d",
            &d2d,
        )));
        for &t in threads {
            let staged = best(|| staged_read(&cu, &plain, t), ctx)?;
            let mut last = Vec::new();
            let direct = best(
                || {
                    let (s, bufs) = cufile_read(&cu, &driver, &plain, t)?;
                    last = bufs;
                    Ok(s)
                },
                ctx,
            )?;
            // Check: the device bytes equal the file bytes.
            let mut at = 0u64;
            for b in &last {
                let host = s0.clone_dtoh(b)?;
                if host
                    .iter()
                    .enumerate()
                    .any(|(j, v)| *v != byte_at(at + j as u64))
                {
                    bail!("gds: bytes read by cuFile differ from the chunk files");
                }
                at += host.len() as u64;
            }
            drop(last);
            out.push(Outcome::Measured(
                Measurement::new(
                    format!("{}MiB/{t}threads/cufile_read", size >> 20),
                    params(t, "chunk files"),
                    total as u64,
                    direct,
                    "read+h2d",
                    &staged,
                )
                .checked("same bytes as the chunk files"),
            ));
            out.push(Outcome::Measured(Measurement::new(
                format!("{}MiB/{t}threads/read+h2d", size >> 20),
                params(t, "chunk files"),
                total as u64,
                staged,
                "pinned_h2d",
                &pinned_h2d,
            )));
            let staged_sh = best(|| staged_read(&cu, &sharded, t), ctx)?;
            let direct_sh = best(|| cufile_read(&cu, &driver, &sharded, t).map(|r| r.0), ctx)?;
            out.push(Outcome::Measured(Measurement::new(
                format!("{}MiB/{t}threads/sharded_cufile_read", size >> 20),
                params(t, "shards of 8 chunks"),
                total as u64,
                direct_sh,
                "read+h2d",
                &staged_sh,
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_is_reported_and_suite_runs_or_skips() {
        let probe = crate::bench::cuda::probe();
        let (mode, _) = detect(&probe);
        let name = mode_name();
        assert!(["true", "compatibility", "none"].contains(&name.as_str()));
        let ctx = Ctx {
            quick: true,
            repeats: 1,
        };
        let out = suite(&ctx).expect("a skip, not an error");
        if let GdsMode::None(reason) = mode {
            println!("skipped: {reason}");
            assert!(matches!(&out[..], [Outcome::Skipped { .. }]));
        } else {
            assert!(
                out.iter()
                    .any(|o| matches!(o, Outcome::Measured(m) if m.checked.is_some()))
            );
        }
    }

    #[test]
    fn dataset_layout_is_zarr_v3_with_a_shard_index() {
        let ds = write_dataset(4096, 16, 8).expect("dataset");
        assert_eq!(ds.chunks.len(), 16);
        assert_eq!(ds.shards.len(), 2);
        let chunk = std::fs::read(&ds.chunks[3]).expect("chunk");
        assert_eq!(chunk.len(), 4096);
        assert!(
            chunk
                .iter()
                .enumerate()
                .all(|(j, b)| *b == byte_at(3 * 4096 + j as u64))
        );
        let (path, index) = &ds.shards[1];
        let shard = std::fs::read(path).expect("shard");
        assert_eq!(shard.len(), 8 * 4096 + 8 * 16);
        // The index at the end: (offset, nbytes) u64 LE pairs; inner chunk 2 of shard 1 is
        // chunk 10 of the array.
        let tail = &shard[8 * 4096..];
        let off = u64::from_le_bytes(tail[32..40].try_into().expect("8 bytes"));
        let n = u64::from_le_bytes(tail[40..48].try_into().expect("8 bytes"));
        assert_eq!((off, n), (2 * 4096, 4096));
        assert_eq!(index[2], (off, n));
        assert_eq!(shard[off as usize], byte_at(10 * 4096));
        let meta = std::fs::read_to_string(ds.dir.join("sharded.zarr/zarr.json")).expect("meta");
        assert!(meta.contains("sharding_indexed"));
        let dir = ds.dir.clone();
        drop(ds);
        assert!(!dir.exists(), "the dataset is removed afterwards");
    }
}
