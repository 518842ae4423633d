//! Rasterization benches (issue 4), each group next to a memset/memcpy baseline of the same
//! output bytes measured in the same run:
//!
//! * R1: 10,000 seeded polygons of 8–32 vertices (every fifth with a hole) on a 4096×4096
//!   uint32 grid at 10 m, centre rule and all_touched;
//! * R2: five 50,000-vertex polygons on the same grid;
//! * R3: the real Dutch parcels (`cookbooks/data/nl_plots_epsg_28992.wkt`, 316 polygons) at
//!   0.25 m.
//!
//! Criterion reports Mpx/s (output pixels per second, whole call: preparation, fill value,
//! burning); after each group a best-of-3 direct measurement prints polygons/s and the ratio
//! to memset. Nothing here asserts a speed. `cargo bench -p geochip-bench --bench rasterize --
//! --quick` runs it in a few minutes.

#![allow(missing_docs)] // criterion_group!/criterion_main! generate undocumented items

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use geochip::rasterize::geo_types::Geometry;
use geochip::rasterize::{RasterizeOptions, ReadOptions, Shape, rasterize, read_wkt};
use geochip::{DType, GeoTransform, Grid};

// The R1/R2 workloads are defined once, shared with `geochip bench` and `cargo xtask compare`.
#[path = "../src/bench/workloads.rs"]
#[allow(dead_code)]
mod workloads;

use workloads::RasterizeWorkload;

fn grid_10m() -> Grid {
    RasterizeWorkload::r1(false).grid()
}

/// R1: 10,000 polygons of 8–32 vertices, 50–400 m across, every fifth with a hole.
fn r1_shapes(_grid: &Grid) -> Vec<Shape> {
    RasterizeWorkload::r1(false).shapes()
}

/// R2: five 50,000-vertex polygons, each spanning about a third of the grid.
fn r2_shapes(_grid: &Grid) -> Vec<Shape> {
    RasterizeWorkload::r2(false).shapes()
}

/// R3: the real parcels, one shape per part, value = part index + 1, on a 0.25 m grid.
fn r3_shapes() -> (Vec<Shape>, Grid) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cookbooks/data/nl_plots_epsg_28992.wkt");
    let text = std::fs::read_to_string(&path).expect("nl_plots_epsg_28992.wkt");
    let read = read_wkt(&text, &ReadOptions::default()).expect("wkt");
    let Geometry::MultiPolygon(mp) = &read.shapes[0].geometry else {
        panic!("expected a MultiPolygon")
    };
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in &mp.0 {
        for c in &p.exterior().0 {
            x0 = x0.min(c.x);
            x1 = x1.max(c.x);
            y0 = y0.min(c.y);
            y1 = y1.max(c.y);
        }
    }
    let res = 0.25;
    let grid = Grid::new(
        GeoTransform::new(res, 0.0, x0.floor(), 0.0, -res, y1.ceil()),
        ((x1 - x0.floor()) / res).ceil() as usize + 1,
        ((y1.ceil() - y0) / res).ceil() as usize + 1,
        Some(geochip::Crs::Epsg(28992)),
    )
    .expect("grid");
    let shapes =
        mp.0.iter()
            .enumerate()
            .map(|(i, p)| Shape::new(p.clone().into(), i as i64 + 1))
            .collect();
    (shapes, grid)
}

fn opts(all_touched: bool) -> RasterizeOptions {
    RasterizeOptions {
        all_touched,
        dtype: Some(DType::U32),
        ..Default::default()
    }
}

fn best_of_3(mut f: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Baselines over the output bytes: memset (the fill) and memcpy.
fn baselines(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, pixels: usize) {
    let src = vec![7u32; pixels];
    let mut dst = vec![0u32; pixels];
    g.bench_function("memset_output", |b| {
        b.iter(|| {
            dst.fill(black_box(3));
            black_box(&dst);
        })
    });
    g.bench_function("memcpy_output", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&dst);
        })
    });
}

fn group(c: &mut Criterion, name: &str, shapes: &[Shape], grid: &Grid) {
    let pixels = grid.width * grid.height;
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(pixels as u64));
    baselines(&mut g, pixels);
    for all_touched in [false, true] {
        let label = if all_touched { "all_touched" } else { "centre" };
        g.bench_function(label, |b| {
            b.iter(|| black_box(rasterize(shapes, grid, &opts(all_touched)).expect("burn")))
        });
    }
    g.finish();
    // Direct numbers: polygons/s and Mpx/s, against memset of the same bytes.
    let mut buf = vec![0u32; pixels];
    let memset = best_of_3(|| {
        buf.fill(black_box(1));
        black_box(&buf);
    });
    for all_touched in [false, true] {
        let s = best_of_3(|| {
            black_box(rasterize(shapes, grid, &opts(all_touched)).expect("burn"));
        });
        eprintln!(
            "{name} all_touched={all_touched}: {:.3} s, {:.0} polygons/s, {:.0} Mpx/s ({:.1}x memset)",
            s,
            shapes.len() as f64 / s,
            pixels as f64 / s / 1e6,
            s / memset
        );
    }
}

fn r1(c: &mut Criterion) {
    let grid = grid_10m();
    group(c, "R1_10k_polygons_4096", &r1_shapes(&grid), &grid);
}

fn r2(c: &mut Criterion) {
    let grid = grid_10m();
    group(c, "R2_5x50k_vertices_4096", &r2_shapes(&grid), &grid);
}

fn r3(c: &mut Criterion) {
    let (shapes, grid) = r3_shapes();
    group(c, "R3_nl_parcels_0.25m", &shapes, &grid);
}

criterion_group!(benches, r1, r2, r3);
criterion_main!(benches);
