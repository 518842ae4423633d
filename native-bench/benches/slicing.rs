//! Slicing benches (issue 3), each next to a `copy_from_slice` (memcpy) baseline of the same
//! bytes measured in the same run:
//!
//! * S1: float32 (8, 4096, 4096) → 256×256 chips, overlap 32, materialized (324 chips), single
//!   threaded and with the parallel gather;
//! * S2: 64×64 chips from (8, 2048, 2048);
//! * S3: batched output: `concat_input_dims` (one (512, 256, 256) batch) and `batch_size` 32;
//! * S4: zero-copy views (patches/s).
//!
//! Criterion reports GB/s (or patches/s); after each group a short direct measurement prints
//! the ratio to memcpy. Nothing here asserts a speed. `cargo bench -p geochip-bench --bench
//! slicing -- --quick` runs it in about a minute.

#![allow(missing_docs)] // criterion_group!/criterion_main! generate undocumented items

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geochip::slice::{SlicePlan, SliceSpec};
use ndarray::{ArrayD, IxDyn};

fn cube(shape: &[usize]) -> ArrayD<f32> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|i| i as f32).collect()).expect("shape")
}

fn plan(shape: &[usize], spec: &SliceSpec) -> SlicePlan {
    SlicePlan::new(&["band", "y", "x"], shape, spec).expect("valid spec")
}

/// Gathers every batch of `plan` into consecutive parts of `dst`; returns bytes written.
fn gather_all(plan: &SlicePlan, data: &ArrayD<f32>, dst: &mut [f32], parallel: bool) -> usize {
    let mut off = 0;
    for i in 0..plan.len() {
        let n = plan.batch_elements(i).expect("batch");
        let out = &mut dst[off..off + n];
        if parallel {
            plan.gather_into_par(data.view(), i, out).expect("gather");
        } else {
            plan.gather_into(data.view(), i, out).expect("gather");
        }
        off += n;
    }
    off * 4
}

fn total_elements(plan: &SlicePlan) -> usize {
    (0..plan.len())
        .map(|i| plan.batch_elements(i).expect("batch"))
        .sum()
}

/// Best of 3 wall times of `f`, in seconds.
fn best_of_3(mut f: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn report(name: &str, bytes: usize, slice_s: f64, memcpy_s: f64) {
    let gbs = |s: f64| bytes as f64 / s / 1e9;
    eprintln!(
        "{name}: slicing {:.2} GB/s, memcpy {:.2} GB/s, ratio {:.0}% of memcpy",
        gbs(slice_s),
        gbs(memcpy_s),
        100.0 * memcpy_s / slice_s
    );
}

/// One group: memcpy baseline and the gather variants over the same output bytes.
fn materialized(c: &mut Criterion, name: &str, shape: &[usize], spec: &SliceSpec) {
    let data = cube(shape);
    let p = plan(shape, spec);
    let n = total_elements(&p);
    let src = vec![1.0f32; n];
    let mut dst = vec![0.0f32; n];
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes((n * 4) as u64));
    group.bench_function("baseline_memcpy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&dst);
        })
    });
    group.bench_function("gather", |b| {
        b.iter(|| black_box(gather_all(&p, &data, &mut dst, false)))
    });
    group.bench_function("gather_parallel", |b| {
        b.iter(|| black_box(gather_all(&p, &data, &mut dst, true)))
    });
    group.finish();
    let memcpy_s = best_of_3(|| {
        dst.copy_from_slice(black_box(&src));
        black_box(&dst);
    });
    let seq = best_of_3(|| {
        black_box(gather_all(&p, &data, &mut dst, false));
    });
    let par = best_of_3(|| {
        black_box(gather_all(&p, &data, &mut dst, true));
    });
    report(
        &format!("{name} ({} chips)", p.num_chips()),
        n * 4,
        seq,
        memcpy_s,
    );
    report(&format!("{name} parallel"), n * 4, par, memcpy_s);
}

fn s1_big_chips(c: &mut Criterion) {
    let spec = SliceSpec::new(&[("y", 256), ("x", 256)]).input_overlap(&[("y", 32), ("x", 32)]);
    materialized(
        c,
        "S1_f32_8x4096x4096_256_overlap32",
        &[8, 4096, 4096],
        &spec,
    );
}

fn s2_small_chips(c: &mut Criterion) {
    let spec = SliceSpec::new(&[("y", 64), ("x", 64)]);
    materialized(c, "S2_f32_8x2048x2048_64", &[8, 2048, 2048], &spec);
}

fn s3_batched(c: &mut Criterion) {
    let concat = SliceSpec::new(&[("y", 256), ("x", 256)]).concat_input_dims(true);
    materialized(c, "S3_concat_8x2048x2048_256", &[8, 2048, 2048], &concat);
    let batched = SliceSpec::new(&[("y", 256), ("x", 256)]).batch_size(32, false);
    materialized(c, "S3_batch32_8x2048x2048_256", &[8, 2048, 2048], &batched);
}

fn s4_views(c: &mut Criterion) {
    let shape = [8, 2048, 2048];
    let data = cube(&shape);
    let p = plan(&shape, &SliceSpec::new(&[("y", 32), ("x", 32)]));
    let patches = p.len();
    let mut group = c.benchmark_group("S4_views_8x2048x2048_32");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(patches));
    // Baseline: memcpy of the bytes the views cover, one chip at a time.
    let chip = 8 * 32 * 32;
    let src = vec![1.0f32; chip];
    let mut dst = vec![0.0f32; chip];
    group.bench_function("baseline_memcpy_per_chip", |b| {
        b.iter(|| {
            for _ in 0..patches {
                dst.copy_from_slice(black_box(&src));
            }
            black_box(&dst);
        })
    });
    group.bench_function("views", |b| {
        b.iter(|| {
            let mut acc = 0.0f32;
            for i in 0..patches {
                for v in p.batch_views(data.view(), i).expect("views") {
                    acc += v.first().copied().unwrap_or(0.0);
                }
            }
            black_box(acc)
        })
    });
    group.finish();
    let s = best_of_3(|| {
        for i in 0..patches {
            black_box(p.batch_views(data.view(), i).expect("views"));
        }
    });
    eprintln!(
        "S4: {:.2e} zero-copy patches/s ({patches} patches)",
        patches as f64 / s
    );
}

criterion_group!(benches, s1_big_chips, s2_small_chips, s3_batched, s4_views);
criterion_main!(benches);
