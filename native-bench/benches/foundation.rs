//! Foundation benches: checksumming a cube's bytes and mapping every pixel centre of a grid,
//! each next to its physical baseline from the same run (a memcpy of the same bytes), so the
//! report reads as a ratio to what the machine can do at all.

#![allow(missing_docs)] // criterion_group! generates an undocumented `pub fn benches`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn checksum(c: &mut Criterion) {
    let a =
        geochip::LabeledArray::arange_i32(&["band", "y", "x"], &[4, 512, 512]).expect("valid dims");
    let bytes = a.data().to_le_bytes();
    let mut group = c.benchmark_group("checksum_4x512x512_i32");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("baseline_memcpy", |b| {
        let mut dst = vec![0u8; bytes.len()];
        b.iter(|| {
            dst.copy_from_slice(black_box(&bytes));
            black_box(&dst);
        })
    });
    group.bench_function("to_le_bytes", |b| {
        b.iter(|| black_box(a.data().to_le_bytes()))
    });
    group.bench_function("sha256", |b| b.iter(|| black_box(a.sha256())));
    group.finish();
}

fn pixel_centres(c: &mut Criterion) {
    let g = geochip::Grid::new(
        geochip::GeoTransform::new(10.0, 0.0, 500000.0, 0.0, -10.0, 4000000.0),
        1024,
        1024,
        None,
    )
    .expect("valid grid");
    let mut group = c.benchmark_group("grid_1024x1024");
    group.throughput(Throughput::Elements(1024 * 1024));
    group.bench_function("baseline_memcpy_f64x2", |b| {
        let src = vec![1.0f64; 2 * 1024 * 1024];
        let mut dst = vec![0.0f64; 2 * 1024 * 1024];
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&dst);
        })
    });
    group.bench_function("pixel_to_world_center", |b| {
        let mut out = Vec::with_capacity(1024 * 1024);
        b.iter(|| {
            out.clear();
            for row in 0..1024 {
                for col in 0..1024 {
                    out.push(g.pixel_to_world(col, row, geochip::PixelAnchor::Center));
                }
            }
            black_box(&out);
        })
    });
    group.finish();
}

criterion_group!(benches, checksum, pixel_centres);
criterion_main!(benches);
