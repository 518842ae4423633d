//! Stacking benches (issue 5): `geochip::stack::load` over COGs read by the core's COG reader
//! (`CogReader` over local files, tiles decoded in parallel with rayon), on the generated
//! workloads of `geochip_bench::stack_workload`:
//!
//! * **T1**: 12 items × 4 bands × 2048² uint16 deflate COGs on their native grid (paste);
//! * **T2**: the same sizes over two UTM zones stacked into EPSG:32755 at 20 m, bilinear.
//!
//! Each workload is measured next to two same-run baselines: a plain read of the same file
//! bytes (`std::fs::read` of every COG) and a memcpy of the output cube's bytes. Criterion's
//! elements are output pixels (time × band × y × x), so its `Melem/s` are Mpx/s. After each
//! group a best-of-3 direct measurement prints Mpx/s, the ratios to the baselines, and memory:
//! the process's peak RSS during one stack (`VmHWM` from `/proc/self/status`, reset through
//! `/proc/self/clear_refs` before it) against the output's bytes. Nothing here asserts a speed.
//!
//! Reference points (from the issue, not measured here): on a loaded 2-core machine odc-stac
//! (2 threads) did T1 at ~31 Mpx/s and T2 at ~10 Mpx/s, stackstac ~21 and ~2 Mpx/s; the target
//! is ≥ 3× odc-stac on the same files (`cargo xtask compare` runs them side by side).
//!
//! Files are generated once per size into `$GEOCHIP_BENCH_DATA` (default: the system temp
//! directory) and reused. `GEOCHIP_BENCH_QUICK=1` uses the reduced sizes (4 items × 2 bands ×
//! 512²) for CI and smoke runs: `GEOCHIP_BENCH_QUICK=1 cargo bench -p geochip-bench --bench
//! stacking -- --quick`.

#![allow(missing_docs)] // criterion_group!/criterion_main! generate undocumented items
#![allow(clippy::unwrap_used)] // a bench that cannot load its input should stop loudly

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geochip::cog::ByteSource;
use geochip::stac::Item;
use geochip::stack::{CogReader, CrsChoice, GridParams, LoadOptions, Stack, load};
use geochip_bench::source::{FileSource, native_codecs};
use geochip_bench::stack_workload::StackWorkload;

fn quick() -> bool {
    std::env::var("GEOCHIP_BENCH_QUICK").is_ok_and(|v| v == "1")
}

fn data_dir(w: &StackWorkload) -> PathBuf {
    let base =
        std::env::var_os("GEOCHIP_BENCH_DATA").map_or_else(std::env::temp_dir, PathBuf::from);
    base.join(format!("geochip-stacking-{}", w.name()))
}

/// Items, grid parameters and load options of a workload (files generated when missing).
fn setup(w: &StackWorkload) -> (PathBuf, Vec<Item>, GridParams, LoadOptions) {
    let t = Instant::now();
    let items_path = w.generate(&data_dir(w)).unwrap();
    eprintln!(
        "{}: inputs in {} ({:.1} s)",
        w.name(),
        items_path.parent().unwrap().display(),
        t.elapsed().as_secs_f64()
    );
    let items = geochip::stac::parse_items(&std::fs::read_to_string(&items_path).unwrap()).unwrap();
    let mut params = GridParams::default();
    if let Some((epsg, res)) = w.target {
        params.crs = Some(format!("EPSG:{epsg}").parse::<CrsChoice>().unwrap());
        params.resolution = Some((res, res));
    }
    let opts = LoadOptions {
        resampling: w.resampling.parse().unwrap(),
        ..LoadOptions::default()
    };
    (
        items_path.parent().unwrap().to_path_buf(),
        items,
        params,
        opts,
    )
}

fn stack(dir: &Path, items: &[Item], params: &GridParams, opts: &LoadOptions) -> Stack {
    let mut reader = CogReader::new(|_item: &Item, href: &str| {
        FileSource::open(dir.join(href))
            .map(|s| Box::new(s) as Box<dyn ByteSource>)
            .map_err(|e| geochip::stack::asset_error(&e))
    })
    .with_codecs(native_codecs());
    load(items, params, opts, &mut reader, &mut |_, _| {}).unwrap()
}

fn tifs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tif"))
        .collect();
    v.sort();
    v
}

/// `VmHWM` and `VmRSS` of this process in bytes (Linux; `None` elsewhere).
fn rss() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
            .map(|kb| kb * 1024)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// Resets `VmHWM` to the current RSS (Linux ≥ 4.0: writing 5 to `clear_refs`).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn best_of(n: usize, mut f: impl FnMut()) -> f64 {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn workload(c: &mut Criterion, w: &StackWorkload) {
    let (dir, items, params, opts) = setup(w);
    let files = tifs(&dir);
    let file_bytes: u64 = files
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    // One stack first: the output size, and the memory measurement on a quiet process.
    let (before_peak, before_rss) = rss().unwrap_or((0, 0));
    let peak_reset = reset_peak();
    let cube = stack(&dir, &items, &params, &opts);
    let (peak, _) = rss().unwrap_or((0, 0));
    let shape = cube.array.shape().to_vec();
    let px: u64 = shape.iter().map(|&n| n as u64).product();
    let out_bytes = cube.array.data().to_le_bytes();
    let out_len = out_bytes.len() as u64;
    drop(cube);

    let name = w.name();
    let mut g = c.benchmark_group(format!("stacking/{name}"));
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(if w.quick { 2 } else { 10 }));
    g.throughput(Throughput::Elements(px));
    g.bench_function("read_files", |b| {
        b.iter(|| {
            for p in &files {
                black_box(std::fs::read(p).unwrap());
            }
        })
    });
    let mut dst = vec![0u8; out_bytes.len()];
    g.bench_function("memcpy_output", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&out_bytes));
            black_box(&dst);
        })
    });
    g.bench_function("stack", |b| {
        b.iter(|| black_box(stack(&dir, &items, &params, &opts)))
    });
    g.finish();

    let t_read = best_of(3, || {
        for p in &files {
            black_box(std::fs::read(p).unwrap());
        }
    });
    let t_copy = best_of(3, || {
        dst.copy_from_slice(black_box(&out_bytes));
        black_box(&dst);
    });
    let t_stack = best_of(3, || {
        black_box(stack(&dir, &items, &params, &opts));
    });
    let mpx = |t: f64| px as f64 / t / 1e6;
    println!(
        "{name}: output {shape:?} uint16 ({px} px, {:.1} MiB) from {} files ({:.1} MiB), rayon \
         threads {}",
        mib(out_len),
        files.len(),
        mib(file_bytes),
        rayon::current_num_threads()
    );
    println!(
        "  stack          {:>8.1} Mpx/s  ({:.3} s)",
        mpx(t_stack),
        t_stack
    );
    println!(
        "  read_files     {:>8.1} Mpx/s-equivalent ({:.3} s, {:.0} MB/s)  stack/read ratio {:.3}",
        mpx(t_read),
        t_read,
        file_bytes as f64 / t_read / 1e6,
        t_read / t_stack
    );
    println!(
        "  memcpy_output  {:>8.1} Mpx/s-equivalent ({:.4} s)  stack/memcpy ratio {:.4}",
        mpx(t_copy),
        t_copy,
        t_copy / t_stack
    );
    if peak > 0 {
        let grew = peak.saturating_sub(before_rss);
        println!(
            "  memory: peak RSS {:.1} MiB during one stack (RSS before {:.1} MiB{}), growth \
             {:.1} MiB = output {:.1} MiB + working set {:.1} MiB",
            mib(peak),
            mib(before_rss),
            if peak_reset {
                String::new()
            } else {
                format!(
                    "; peak could not be reset, earlier peak {:.1} MiB",
                    mib(before_peak)
                )
            },
            mib(grew),
            mib(out_len),
            mib(grew.saturating_sub(out_len))
        );
    }
}

fn benches(c: &mut Criterion) {
    let q = quick();
    workload(c, &StackWorkload::t1(q));
    workload(c, &StackWorkload::t2(q));
}

criterion_group!(stacking, benches);
criterion_main!(stacking);
