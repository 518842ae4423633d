//! Z1 (issue 6): Zarr v3 through zarrs and the core's `geochip::zarr` layer, on the filesystem
//! store, beside plain file I/O of the same bytes in the same run:
//!
//! * a float32 (8192, 8192) array (256 MiB), chunks 512², written and read whole:
//!   uncompressed, zstd level 1, and sharded (4096² shards of uncompressed 512² chunks);
//!   baselines: `std::fs::write` / `std::fs::read` of one file with the same bytes;
//! * random single-chunk reads (1 MiB each): through a freshly opened array every time (what a
//!   naive caller pays: metadata read and parse, codec chain build), through an array opened
//!   once (`retrieve_chunk`), through the core's `read_window`, and for the sharded array one
//!   inner chunk (per call, and with zarrs' shard-index cache); baselines: `std::fs::read` of
//!   the chunk's own file, and for zstd that read plus `zstd::bulk` decompression into a
//!   reused buffer (the codec's floor). The cost of opening an array is measured alone.
//!
//! Criterion reports MB/s (throughput in bytes); after each group the ratio to the plain
//! baseline is printed. The data is a smooth field plus noise, so zstd has something to do.
//! The stores live under Cargo's target tmp directory (page cache warm after the first pass:
//! these are software-path numbers, not disk numbers).
//!
//! `GEOCHIP_BENCH_QUICK=1` shrinks the array to 2048² (16 MiB, shards 1024²) for CI;
//! `cargo bench -p geochip-bench --bench zarr -- --quick` shortens criterion's sampling.

#![allow(missing_docs)] // criterion_group!/criterion_main! generate undocumented items

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use geochip::zarr::{Compression, WriteOptions, ZarrArray, ZarrStore};
use zarrs::array::{
    ArrayShardedReadableExt, ArrayShardedReadableExtCache, ArraySubset, CodecOptions,
};

const CHUNK: usize = 512;

fn side() -> usize {
    if std::env::var_os("GEOCHIP_BENCH_QUICK").is_some() {
        2048
    } else {
        8192
    }
}

fn shard() -> usize {
    (side() / 2).max(CHUNK)
}

fn dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zarr-bench");
    std::fs::create_dir_all(&d).expect("bench directory");
    d
}

fn fs_store(path: &Path) -> ZarrStore {
    std::fs::create_dir_all(path).expect("store directory");
    let fs = zarrs_filesystem::FilesystemStore::new(path).expect("filesystem store");
    ZarrStore::new(path.display().to_string(), Arc::new(fs))
}

fn layouts() -> Vec<(&'static str, WriteOptions)> {
    let chunk = Some(vec![CHUNK, CHUNK]);
    vec![
        (
            "uncompressed",
            WriteOptions {
                chunk_shape: chunk.clone(),
                ..WriteOptions::default()
            },
        ),
        (
            "zstd-1",
            WriteOptions {
                chunk_shape: chunk.clone(),
                compression: Compression::Zstd { level: 1 },
                ..WriteOptions::default()
            },
        ),
        (
            "sharded",
            WriteOptions {
                chunk_shape: chunk,
                shard_shape: Some(vec![shard(), shard()]),
                ..WriteOptions::default()
            },
        ),
    ]
}

/// Median of 5 wall times of `f`, in seconds.
fn median_of_5(mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..5)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[2]
}

fn whole(c: &mut Criterion) {
    // As the `geochip` binary does: no fresh mmap per chunk buffer after the large frees.
    geochip_bench::tune_allocator();
    let n = side();
    let a = geochip_bench::z1_field(n);
    let bytes = a.data().to_le_bytes();
    let nbytes = bytes.len() as u64;
    let d = dir();
    let raw = d.join("plain.bin");
    let mut g = c.benchmark_group("Z1 whole array");
    g.throughput(Throughput::Bytes(nbytes))
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    g.bench_function("plain write (baseline)", |b| {
        b.iter(|| std::fs::write(&raw, black_box(&bytes)).expect("write"))
    });
    g.bench_function("plain read (baseline)", |b| {
        b.iter(|| black_box(std::fs::read(&raw).expect("read")))
    });
    for (name, opts) in layouts() {
        let path = d.join(format!("{name}.zarr"));
        g.bench_function(format!("write {name}"), |b| {
            b.iter_batched(
                || {
                    let _ = std::fs::remove_dir_all(&path);
                    fs_store(&path)
                },
                |s| s.write_array("/a", &a, &opts).expect("write"),
                BatchSize::PerIteration,
            )
        });
        let s = fs_store(&path);
        g.bench_function(format!("read {name}"), |b| {
            b.iter(|| black_box(s.open_array("/a").expect("open").read().expect("read")))
        });
    }
    g.finish();
    // Ratios, measured directly after the group (same run, same files).
    let plain_w = median_of_5(|| std::fs::write(&raw, &bytes).expect("write"));
    let plain_r = median_of_5(|| drop(black_box(std::fs::read(&raw).expect("read"))));
    let mb = nbytes as f64 / 1e6;
    println!(
        "Z1 {n}x{n} float32 ({mb:.0} MB): plain write {:.0} MB/s, plain read {:.0} MB/s",
        mb / plain_w,
        mb / plain_r
    );
    for (name, opts) in layouts() {
        let path = d.join(format!("{name}.zarr"));
        let w = median_of_5(|| {
            let _ = std::fs::remove_dir_all(&path);
            fs_store(&path).write_array("/a", &a, &opts).expect("write");
        });
        let s = fs_store(&path);
        let r = median_of_5(|| {
            drop(black_box(
                s.open_array("/a").expect("open").read().expect("read"),
            ))
        });
        let stored: u64 = walk_size(&path);
        println!(
            "  {name:<13} write {:>6.0} MB/s ({:.2}x plain), read {:>6.0} MB/s ({:.2}x plain), \
             {:.0} MB on disk",
            mb / w,
            plain_w / w,
            mb / r,
            plain_r / r,
            stored as f64 / 1e6
        );
    }
}

fn walk_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    };
    rd.filter_map(Result::ok)
        .map(|e| walk_size(&e.path()))
        .sum()
}

/// SplitMix64: the random chunk sequence (same in every run).
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn single_chunk(c: &mut Criterion) {
    let n = side();
    let d = dir();
    let grid = (n / CHUNK) as u64;
    // Ensure the stores exist (the whole-array group may have been filtered out).
    let a = geochip_bench::z1_field(n);
    for (name, opts) in layouts() {
        let path = d.join(format!("{name}.zarr"));
        if !path.join("a/zarr.json").exists() {
            let _ = std::fs::remove_dir_all(&path);
            fs_store(&path).write_array("/a", &a, &opts).expect("write");
        }
    }
    drop(a);
    let chunk_bytes = (CHUNK * CHUNK * 4) as u64;
    let mut g = c.benchmark_group("Z1 random single chunk");
    g.throughput(Throughput::Bytes(chunk_bytes))
        .measurement_time(Duration::from_secs(4));
    let unc = d.join("uncompressed.zarr");
    g.bench_function("plain read of the chunk file (baseline)", |b| {
        let mut st = 1u64;
        b.iter(|| {
            let (i, j) = (next(&mut st) % grid, next(&mut st) % grid);
            black_box(std::fs::read(unc.join(format!("a/c/{i}/{j}"))).expect("read"))
        })
    });
    g.bench_function(
        "open array only (metadata read + parse, codec chain)",
        |b| {
            let s = fs_store(&unc);
            b.iter(|| black_box(s.open_array("/a").expect("open")))
        },
    );
    let zst = d.join("zstd-1.zarr");
    g.bench_function(
        "zstd-1: plain read + zstd::bulk::decompress (codec floor)",
        |b| {
            let mut st = 1u64;
            let mut out = vec![0u8; chunk_bytes as usize];
            let mut dctx = zstd::bulk::Decompressor::new().expect("zstd context");
            b.iter(|| {
                let (i, j) = (next(&mut st) % grid, next(&mut st) % grid);
                let enc = std::fs::read(zst.join(format!("a/c/{i}/{j}"))).expect("read");
                black_box(dctx.decompress_to_buffer(&enc, &mut out).expect("zstd"))
            })
        },
    );
    for name in ["uncompressed", "zstd-1"] {
        let path = d.join(format!("{name}.zarr"));
        let s = fs_store(&path);
        g.bench_function(format!("{name}: open array + retrieve_chunk"), |b| {
            let mut st = 1u64;
            b.iter(|| {
                let (i, j) = (next(&mut st) % grid, next(&mut st) % grid);
                let z = s.open_array("/a").expect("open");
                black_box(
                    z.inner()
                        .retrieve_chunk::<Vec<f32>>(&[i, j])
                        .expect("chunk"),
                )
            })
        });
        let z = s.open_array("/a").expect("open");
        g.bench_function(format!("{name}: reused array, retrieve_chunk"), |b| {
            let mut st = 1u64;
            b.iter(|| {
                let (i, j) = (next(&mut st) % grid, next(&mut st) % grid);
                black_box(
                    z.inner()
                        .retrieve_chunk::<Vec<f32>>(&[i, j])
                        .expect("chunk"),
                )
            })
        });
        g.bench_function(format!("{name}: reused array, core read_window"), |b| {
            let mut st = 1u64;
            b.iter(|| {
                let (i, j) = (next(&mut st) % grid, next(&mut st) % grid);
                let (y, x) = (i as usize * CHUNK, j as usize * CHUNK);
                black_box(z.read_window(&[y, x], &[CHUNK, CHUNK]).expect("window"))
            })
        });
    }
    let sharded: ZarrArray = fs_store(&d.join("sharded.zarr"))
        .open_array("/a")
        .expect("open");
    g.bench_function("sharded: reused array, one inner chunk", |b| {
        let mut st = 1u64;
        b.iter(|| {
            let (i, j) = (next(&mut st) % grid, next(&mut st) % grid);
            let subset = ArraySubset::new_with_ranges(&[
                i * CHUNK as u64..(i + 1) * CHUNK as u64,
                j * CHUNK as u64..(j + 1) * CHUNK as u64,
            ]);
            black_box(
                sharded
                    .inner()
                    .retrieve_array_subset::<Vec<f32>>(&subset)
                    .expect("subset"),
            )
        })
    });
    g.bench_function(
        "sharded: reused array, core read_window (cached index)",
        |b| {
            let mut st = 1u64;
            b.iter(|| {
                let (i, j) = (next(&mut st) % grid, next(&mut st) % grid);
                let (y, x) = (i as usize * CHUNK, j as usize * CHUNK);
                black_box(
                    sharded
                        .read_window(&[y, x], &[CHUNK, CHUNK])
                        .expect("window"),
                )
            })
        },
    );
    // zarrs' shard-index cache: the index is read once per shard, not once per read.
    let cache = ArrayShardedReadableExtCache::new(sharded.inner());
    g.bench_function(
        "sharded: reused array + shard index cache, retrieve_subchunk",
        |b| {
            let mut st = 1u64;
            let opts = CodecOptions::default();
            b.iter(|| {
                let (i, j) = (next(&mut st) % grid, next(&mut st) % grid);
                black_box(
                    sharded
                        .inner()
                        .retrieve_subchunk_opt::<Vec<f32>>(&cache, &[i, j], &opts)
                        .expect("subchunk"),
                )
            })
        },
    );
    g.finish();
}

criterion_group!(benches, whole, single_chunk);
criterion_main!(benches);
