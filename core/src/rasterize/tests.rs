//! Unit tests of the burning engine; fixture parity tests live in `tests/tests/rasterize.rs`.

use super::*;
use crate::transform::GeoTransform;
use geo_types::line_string;

fn grid(w: usize, h: usize) -> Grid {
    Grid::new(GeoTransform::identity(), w, h, None).unwrap()
}

/// GDAL's Bresenham loop, literally, for comparison with the closed form.
fn bresenham_loop(p: (i64, i64), q: (i64, i64)) -> Vec<(i64, i64)> {
    let (mut ix, mut iy) = p;
    let (ix1, iy1) = q;
    let mut ddx = (ix1 - ix).abs();
    let mut ddy = (iy1 - iy).abs();
    let xs = if ix > ix1 { -1 } else { 1 };
    let ys = if iy > iy1 { -1 } else { 1 };
    let mut out = Vec::new();
    if ddx >= ddy {
        let xe = ddy << 1;
        let ye = xe - (ddx << 1);
        let mut e = xe - ddx;
        while ddx >= 0 {
            out.push((iy, ix));
            ix += xs;
            if e > 0 {
                iy += ys;
                e += ye;
            } else {
                e += xe;
            }
            ddx -= 1;
        }
    } else {
        let xe = ddx << 1;
        let ye = xe - (ddy << 1);
        let mut e = xe - ddy;
        while ddy >= 0 {
            out.push((iy, ix));
            iy += ys;
            if e > 0 {
                ix += xs;
                e += ye;
            } else {
                e += xe;
            }
            ddy -= 1;
        }
    }
    out
}

#[test]
fn bresenham_closed_form_matches_gdal_loop() {
    let g = grid(40, 40);
    let mut seed = 12345u64;
    let mut rnd = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) % 60) as i64 - 10
    };
    for _ in 0..2000 {
        let p = (rnd(), rnd());
        let q = (rnd(), rnd());
        let mut expected: Vec<(i64, i64)> = bresenham_loop(p, q)
            .into_iter()
            .filter(|&(r, c)| (0..40).contains(&r) && (0..40).contains(&c))
            .collect();
        expected.sort_unstable();
        expected.dedup();
        // Our lines run last vertex first, so give the segment reversed.
        let line = line_string![
            (x: q.0 as f64 + 0.25, y: q.1 as f64 + 0.75),
            (x: p.0 as f64 + 0.25, y: p.1 as f64 + 0.75)
        ];
        let r = Rasterizer::new(
            &[Shape::new(line.into(), 1u32)],
            &g,
            &RasterizeOptions {
                dtype: Some(DType::U8),
                ..Default::default()
            },
        )
        .unwrap();
        let a = r.burn().unwrap();
        let ArrayData::U8(a) = a.data() else { panic!() };
        let got: Vec<(i64, i64)> = a
            .indexed_iter()
            .filter(|(_, v)| **v == 1)
            .map(|(ix, _)| (ix[0] as i64, ix[1] as i64))
            .collect();
        assert_eq!(got, expected, "{p:?} -> {q:?}");
    }
}

#[test]
fn merge_spans_unions_overlaps() {
    let mut s = vec![(1, 5, 7), (0, 0, 2), (1, 2, 5), (1, 9, 9), (0, 1, 1)];
    merge_spans(&mut s);
    assert_eq!(s, vec![(0, 0, 2), (1, 2, 7), (1, 9, 9)]);
}

#[test]
fn band_split_never_changes_the_result() {
    let g = Grid::new(
        GeoTransform::new(0.7, 0.1, 3.0, 0.05, -0.9, 50.0),
        37,
        53,
        None,
    )
    .unwrap();
    let mut shapes = Vec::new();
    for k in 0..30 {
        let cx = 5.0 + (k * 7 % 23) as f64;
        let cy = 10.0 + (k * 11 % 31) as f64;
        let ring: Vec<(f64, f64)> = (0..9)
            .map(|j| {
                let t = j as f64 / 9.0 * std::f64::consts::TAU;
                let r = 2.0 + (j % 3) as f64 * 1.7;
                (cx + r * t.cos(), cy + r * t.sin())
            })
            .collect();
        shapes.push(Shape::new(
            geo_types::Polygon::new(ring.into(), vec![]).into(),
            k as i64 + 1,
        ));
    }
    shapes.push(Shape::new(
        line_string![(x: 1.0, y: 1.0), (x: 30.0, y: 45.0)].into(),
        99,
    ));
    for all_touched in [false, true] {
        for merge in [MergeAlg::Replace, MergeAlg::Add] {
            let base = RasterizeOptions {
                all_touched,
                merge,
                dtype: Some(DType::I32),
                bands: 1,
                ..Default::default()
            };
            let one = rasterize(&shapes, &g, &base).unwrap().array;
            for bands in [2, 7, 53] {
                let o = RasterizeOptions {
                    bands,
                    ..base.clone()
                };
                assert_eq!(
                    rasterize(&shapes, &g, &o).unwrap().array,
                    one,
                    "bands={bands}"
                );
            }
            assert!(one.sum_f64() > 100.0);
        }
    }
}
