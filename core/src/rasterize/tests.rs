//! Unit tests of the burning engine; fixture parity tests live in `tests/tests/rasterize.rs`.

use super::*;
use crate::transform::GeoTransform;
use geo_types::{Geometry, line_string};

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

fn poly(pts: &[(f64, f64)]) -> Geometry<f64> {
    geo_types::Polygon::new(pts.to_vec().into(), vec![]).into()
}

fn strict() -> RasterizeOptions {
    RasterizeOptions {
        skip_invalid: false,
        dtype: Some(DType::U8),
        ..Default::default()
    }
}

#[test]
fn bad_geometries_are_typed_errors_naming_the_feature() {
    let g = grid(8, 8);
    let good = Shape::new(poly(&[(0.0, 0.0), (4.0, 0.0), (4.0, 4.0)]), 1);
    let cases: Vec<(Geometry<f64>, &str)> = vec![
        (geo_types::Point::new(f64::NAN, 1.0).into(), "non-finite"),
        (
            geo_types::Point::new(1.0, f64::INFINITY).into(),
            "non-finite",
        ),
        (
            geo_types::LineString::<f64>::new(vec![]).into(),
            "empty LineString",
        ),
        (
            geo_types::LineString::from(vec![(1.0, 1.0)]).into(),
            "at least 2 points",
        ),
        (
            geo_types::Polygon::new(geo_types::LineString::new(vec![]), vec![]).into(),
            "empty Polygon",
        ),
        (poly(&[(0.0, 0.0), (1.0, 1.0)]), "ring 0 has 3 points"),
        (
            geo_types::MultiPolygon::<f64>(vec![]).into(),
            "empty MultiPolygon",
        ),
        (
            Geometry::GeometryCollection(geo_types::GeometryCollection::<f64>(vec![])),
            "empty GeometryCollection",
        ),
        (geo_types::Point::new(1e308, 1.0).into(), "ok-on-identity"),
    ];
    for (geom, msg) in cases {
        let shapes = vec![good.clone(), Shape::new(geom, 2)];
        let res = Rasterizer::new(&shapes, &g, &strict());
        if msg == "ok-on-identity" {
            assert!(res.is_ok());
            continue;
        }
        let err = res.unwrap_err();
        assert_eq!(err.feature(), Some(1), "{err}");
        assert!(err.to_string().contains(msg), "{err} vs {msg}");
        // skip_invalid: recorded, the good shape still burns.
        let lax = RasterizeOptions {
            skip_invalid: true,
            ..strict()
        };
        let r = Rasterizer::new(&shapes, &g, &lax).unwrap();
        assert_eq!(r.skipped().len(), 1);
        assert_eq!(r.skipped()[0].feature, 1);
        assert!(r.burn().unwrap().sum_f64() > 0.0);
    }
    // A huge coordinate on a fine grid overflows pixel space.
    let fine = Grid::new(
        GeoTransform::new(1e-300, 0.0, 0.0, 0.0, -1e-300, 0.0),
        4,
        4,
        None,
    )
    .unwrap();
    let err = Rasterizer::new(
        &[Shape::new(geo_types::Point::new(1e300, 1.0).into(), 1)],
        &fine,
        &strict(),
    )
    .unwrap_err();
    assert!(
        matches!(err, RasterizeError::PixelOverflow { feature: 0, .. }),
        "{err}"
    );
}

#[test]
fn values_that_do_not_fit_fail_in_strict_mode_and_saturate_otherwise() {
    let g = grid(2, 1);
    let shapes = [Shape::new(geo_types::Point::new(0.5, 0.5).into(), 300)];
    let err = Rasterizer::new(&shapes, &g, &strict()).unwrap_err();
    assert!(matches!(
        err,
        RasterizeError::ValueOutOfRange {
            feature: Some(0),
            dtype: DType::U8,
            ..
        }
    ));
    let lax = RasterizeOptions {
        skip_invalid: true,
        ..strict()
    };
    let a = rasterize(&shapes, &g, &lax).unwrap().array;
    assert_eq!(a.data().to_le_bytes(), vec![255, 0]);
    let bad_fill = RasterizeOptions {
        fill: BurnValue::Int(-1),
        ..strict()
    };
    assert!(matches!(
        Rasterizer::new(&[], &g, &bad_fill),
        Err(RasterizeError::ValueOutOfRange { feature: None, .. })
    ));
}

#[test]
fn non_invertible_transform_is_an_error() {
    let g = Grid {
        crs: None,
        transform: GeoTransform::new(1.0, 2.0, 0.0, 2.0, 4.0, 0.0),
        width: 3,
        height: 3,
    };
    let err = Rasterizer::new(&[], &g, &RasterizeOptions::default()).unwrap_err();
    assert!(
        matches!(err, RasterizeError::Grid(GridError::NotInvertible { .. })),
        "{err}"
    );
}

#[test]
fn int64_labels_stay_exact() {
    let g = grid(2, 1);
    let big = (1i64 << 53) + 1;
    let shapes = [Shape::new(geo_types::Point::new(0.5, 0.5).into(), big)];
    let opts = RasterizeOptions {
        dtype: Some(DType::I64),
        ..Default::default()
    };
    let a = rasterize(&shapes, &g, &opts).unwrap().array;
    let ArrayData::I64(a) = a.data() else {
        panic!()
    };
    assert_eq!(a[[0, 0]], big);
    let shapes = [Shape::new(
        geo_types::Point::new(1.5, 0.5).into(),
        u64::MAX - 2,
    )];
    let opts = RasterizeOptions {
        dtype: Some(DType::U64),
        merge: MergeAlg::Add,
        fill: BurnValue::UInt(1),
        ..Default::default()
    };
    let a = rasterize(&shapes, &g, &opts).unwrap().array;
    let ArrayData::U64(a) = a.data() else {
        panic!()
    };
    assert_eq!(a.as_slice().unwrap(), &[1, u64::MAX - 1]);
}

/// A 10^6-vertex polygon (a wiggly circle) burns in bounded time in both modes.
#[test]
fn million_vertex_polygon_does_not_hang() {
    let g = grid(512, 512);
    let n = 1_000_000;
    let ring: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let t = i as f64 / n as f64 * std::f64::consts::TAU;
            let r = 200.0 + 3.0 * (t * 5000.0).sin();
            (256.0 + r * t.cos(), 256.0 + r * t.sin())
        })
        .collect();
    let shapes = [Shape::new(poly(&ring), 1)];
    for all_touched in [false, true] {
        let opts = RasterizeOptions {
            all_touched,
            dtype: Some(DType::U8),
            ..Default::default()
        };
        let a = rasterize(&shapes, &g, &opts).unwrap().array;
        let area = std::f64::consts::PI * 200.0 * 200.0;
        let burned = a.sum_f64();
        assert!((burned - area).abs() < 0.05 * area, "{burned} vs {area}");
    }
    // Far-away huge segments cost nothing either.
    let far = poly(&[(-1e12, -1e12), (1e12, -1e12), (1e12, 1e12), (-1e12, 1e12)]);
    let line: Geometry<f64> =
        geo_types::LineString::from(vec![(-1e12, -5e11 + 200.0), (1e12, 5e11 + 200.0)]).into();
    for all_touched in [false, true] {
        let opts = RasterizeOptions {
            all_touched,
            dtype: Some(DType::U8),
            ..Default::default()
        };
        let a = rasterize(&[Shape::new(far.clone(), 1)], &g, &opts)
            .unwrap()
            .array;
        assert_eq!(a.sum_f64(), 512.0 * 512.0);
        let a = rasterize(&[Shape::new(line.clone(), 1)], &g, &opts)
            .unwrap()
            .array;
        // y = x/2 + 200 crosses the 512 columns: one pixel per column, plus the row steps
        // of the supercover walk.
        let n = a.sum_f64();
        assert!((512.0..=800.0).contains(&n), "{n}");
    }
}

#[test]
fn coverage_sums_to_polygon_area() {
    // A rotated grid, a polygon with a hole, fully inside.
    let g = Grid::new(
        GeoTransform::new(0.8, 0.3, 10.0, 0.25, -0.9, 90.0),
        120,
        110,
        None,
    )
    .unwrap();
    let inv = g.transform.inverse().unwrap();
    let outer: Vec<(f64, f64)> = (0..37)
        .map(|i| {
            let t = i as f64 / 37.0 * std::f64::consts::TAU;
            let r = 30.0 + 7.0 * (3.0 * t).cos();
            g.transform.apply(60.0 + r * t.cos(), 55.0 + r * t.sin())
        })
        .collect();
    let hole: Vec<(f64, f64)> = (0..11)
        .map(|i| {
            let t = -(i as f64) / 11.0 * std::f64::consts::TAU;
            g.transform
                .apply(60.0 + 8.0 * t.cos(), 55.0 + 8.0 * t.sin())
        })
        .collect();
    let p = geo_types::Polygon::new(outer.clone().into(), vec![hole.clone().into()]);
    // Shoelace area in pixel units.
    let px = |pts: &[(f64, f64)]| -> f64 {
        let q: Vec<(f64, f64)> = pts.iter().map(|&(x, y)| inv.apply_gdal(x, y)).collect();
        let mut s = 0.0;
        for i in 0..q.len() {
            let (a, b) = (q[i], q[(i + 1) % q.len()]);
            s += a.0 * b.1 - b.0 * a.1;
        }
        (s / 2.0).abs()
    };
    let area = px(&outer) - px(&hole);
    let r = Rasterizer::new(&[Shape::new(p.into(), 1)], &g, &RasterizeOptions::default()).unwrap();
    let total: f64 = r.coverage_f64().unwrap().iter().sum();
    assert!(((total - area) / area).abs() < 1e-9, "{total} vs {area}");
    let cov = r.coverage().unwrap();
    let ArrayData::F32(c) = cov.data() else {
        panic!()
    };
    assert!(c.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(c.iter().any(|v| *v > 0.0 && *v < 1.0));
    assert_eq!(c[[0, 0]], 0.0);
}

#[test]
fn coverage_hand_checked_and_clipped_at_grid_edges() {
    let g = grid(3, 2);
    // Triangle (0,0)-(2,0)-(0,2): pixel (0,0) fully covered, (1,0) and (0,1) half.
    let tri = poly(&[(0.0, 0.0), (2.0, 0.0), (0.0, 2.0)]);
    // Square crossing the right border: cols 2.5..4 rows 0..1 → pixel (2,0) half covered.
    let sq = poly(&[(2.5, 0.0), (4.0, 0.0), (4.0, 1.0), (2.5, 1.0)]);
    let r = Rasterizer::new(
        &[Shape::new(tri, 1), Shape::new(sq, 1)],
        &g,
        &RasterizeOptions::default(),
    )
    .unwrap();
    let cov = r.coverage().unwrap();
    let ArrayData::F32(c) = cov.data() else {
        panic!()
    };
    assert_eq!(c.as_slice().unwrap(), &[1.0, 0.5, 0.5, 0.5, 0.0, 0.0]);
}

#[test]
fn aggregations_hand_checked() {
    // 3x1 grid; A covers pixels 0,1 (value 2), B covers 1,2 (value 5), C covers 1 (value 3).
    let g = grid(3, 1);
    let rect = |x0: f64, x1: f64| poly(&[(x0, 0.0), (x1, 0.0), (x1, 1.0), (x0, 1.0)]);
    let shapes = [
        Shape::new(rect(0.0, 2.0), 2),
        Shape::new(rect(1.0, 3.0), 5),
        Shape::new(rect(1.0, 2.0), 3),
    ];
    let r = Rasterizer::new(&shapes, &g, &RasterizeOptions::default()).unwrap();
    let f = |agg| -> Vec<f64> {
        let a = r.aggregate(agg).unwrap();
        match a.data() {
            ArrayData::F64(a) => a.iter().copied().collect(),
            ArrayData::U32(a) => a.iter().map(|v| f64::from(*v)).collect(),
            _ => panic!(),
        }
    };
    assert_eq!(f(Aggregation::Count), vec![1.0, 3.0, 1.0]);
    assert_eq!(f(Aggregation::Sum), vec![2.0, 10.0, 5.0]);
    assert_eq!(f(Aggregation::Min), vec![2.0, 2.0, 5.0]);
    assert_eq!(f(Aggregation::Max), vec![2.0, 5.0, 5.0]);
    assert_eq!(f(Aggregation::First), vec![2.0, 2.0, 5.0]);
    assert_eq!(f(Aggregation::Last), vec![2.0, 3.0, 5.0]);
    // A shape burns a pixel once even where its parts of one line overlap; empty pixels NaN.
    let g = grid(4, 1);
    let line: Geometry<f64> =
        geo_types::LineString::from(vec![(0.5, 0.5), (2.5, 0.5), (1.5, 0.5)]).into();
    let r = Rasterizer::new(&[Shape::new(line, 4)], &g, &RasterizeOptions::default()).unwrap();
    let a = r.aggregate(Aggregation::Sum).unwrap();
    let ArrayData::F64(a) = a.data() else {
        panic!()
    };
    assert_eq!(&a.as_slice().unwrap()[..3], &[4.0, 4.0, 4.0]);
    assert!(a[[0, 3]].is_nan());
}

fn workload(g: &Grid) -> Vec<Shape> {
    let mut seed = 99u64;
    let mut rnd = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut shapes = Vec::new();
    for k in 0..150 {
        let (cx, cy) = (rnd() * g.width as f64, rnd() * g.height as f64);
        let n = 3 + (rnd() * 12.0) as usize;
        let ring: Vec<(f64, f64)> = (0..n)
            .map(|j| {
                let t = j as f64 / n as f64 * std::f64::consts::TAU;
                let r = 1.0 + rnd() * 12.0;
                g.transform.apply(cx + r * t.cos(), cy + r * t.sin())
            })
            .collect();
        shapes.push(Shape::new(poly(&ring), k as i64 % 9 + 1));
    }
    let (a, b) = (g.transform.apply(-3.0, 5.0), g.transform.apply(80.0, 60.0));
    shapes.push(Shape::new(
        geo_types::LineString::from(vec![a, b]).into(),
        50,
    ));
    shapes
}

#[test]
fn chunk_wise_burning_equals_the_full_burn() {
    let g = Grid::new(
        GeoTransform::new(2.0, 0.1, 100.0, -0.2, -2.0, 500.0),
        101,
        77,
        None,
    )
    .unwrap();
    let shapes = workload(&g);
    for all_touched in [false, true] {
        for merge in [MergeAlg::Replace, MergeAlg::Add] {
            let opts = RasterizeOptions {
                all_touched,
                merge,
                dtype: Some(DType::U16),
                ..Default::default()
            };
            let r = Rasterizer::new(&shapes, &g, &opts).unwrap();
            let full = r.burn().unwrap();
            let ArrayData::U16(full_a) = full.data() else {
                panic!()
            };
            let index = r.chunk_index(32, 20);
            let (nx, ny) = index.chunks();
            let mut bucketed = 0;
            for cy in 0..ny {
                for cx in 0..nx {
                    let w = index.window(cx, cy).unwrap();
                    bucketed += index.shapes_in(cx, cy).len();
                    let chunk = r.burn_chunk(&index, cx, cy).unwrap();
                    let ArrayData::U16(c) = chunk.data() else {
                        panic!()
                    };
                    let expect =
                        full_a.slice(ndarray::s![w.row_off..w.row_end(), w.col_off..w.col_end()]);
                    assert_eq!(
                        c.view().into_dimensionality::<ndarray::Ix2>().unwrap(),
                        expect,
                        "chunk {cx},{cy}"
                    );
                    assert_eq!(chunk.grid().unwrap(), &g.window(w).unwrap());
                    assert_eq!(r.burn_window(w).unwrap(), chunk);
                }
            }
            // Bucketing is real: chunks see fewer shapes than all of them each.
            assert!(bucketed < r.primitive_count() * nx * ny / 2, "{bucketed}");
            assert!(full.sum_f64() > 1000.0);
        }
    }
}

#[cfg(feature = "parallel")]
#[test]
fn parallel_bands_equal_the_serial_burn() {
    let g = Grid::new(
        GeoTransform::new(1.0, 0.0, 0.0, 0.0, -1.0, 300.0),
        300,
        300,
        None,
    )
    .unwrap();
    let shapes = workload(&g);
    for all_touched in [false, true] {
        for merge in [MergeAlg::Replace, MergeAlg::Add] {
            let serial = RasterizeOptions {
                all_touched,
                merge,
                dtype: Some(DType::U32),
                bands: 1,
                ..Default::default()
            };
            let one = rasterize(&shapes, &g, &serial).unwrap().array;
            let par = RasterizeOptions {
                bands: 16,
                ..serial.clone()
            };
            assert_eq!(rasterize(&shapes, &g, &par).unwrap().array, one);
        }
    }
}

#[test]
fn readers_name_bad_features_and_strict_mode_fails() {
    let doc = r#"{"type": "FeatureCollection", "features": [
      {"type": "Feature", "properties": {"v": 1}, "geometry": {"type": "Point", "coordinates": [0.5, 0.5]}},
      {"type": "Feature", "properties": {"v": 2}, "geometry": {"type": "Circle", "coordinates": [0, 0]}},
      {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1.5, 0.5]}},
      {"type": "Feature", "properties": {"v": "x"}, "geometry": {"type": "Point", "coordinates": [1.5, 0.5]}},
      {"type": "Feature", "properties": {"v": 3}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 1], [0, 1]]]}},
      {"type": "Feature", "properties": {"v": 4}, "geometry": null},
      {"type": "Feature", "properties": {"v": 5}, "geometry": {"type": "Point", "coordinates": [1]}},
      {"type": "Feature", "properties": {"v": 18446744073709551615}, "geometry": {"type": "GeometryCollection", "geometries": [
         {"type": "Point", "coordinates": [0.5, 0.5]}, {"type": "LineString", "coordinates": [[0, 0.5], [2, 0.5]]}]}}
    ]}"#;
    let opts = ReadOptions {
        value_property: Some("v".into()),
        ..Default::default()
    };
    let read = read_geojson(doc, &opts).unwrap();
    let why: Vec<(usize, String)> = read
        .skipped
        .iter()
        .map(|s| (s.feature, s.reason.to_string()))
        .collect();
    assert_eq!(read.shapes.len(), 2, "{why:?}");
    assert_eq!(read.shapes[1].value, BurnValue::UInt(u64::MAX));
    let expect = [
        (1, "unsupported or missing geometry type 'Circle'"),
        (2, "no value (property 'v' missing or null)"),
        (3, "property 'v' is \"x\", not a number"),
        (4, "ring 0 is not closed"),
        (5, "unsupported or missing geometry type 'null'"),
        (6, "invalid geometry"),
    ];
    assert_eq!(why.len(), expect.len());
    for ((f, msg), (ef, emsg)) in why.iter().zip(expect) {
        assert_eq!(*f, ef);
        assert!(msg.contains(emsg), "{msg} vs {emsg}");
    }
    let strict = ReadOptions {
        skip_invalid: false,
        ..opts
    };
    let err = read_geojson(doc, &strict).unwrap_err();
    assert_eq!(err.feature(), Some(1));
    // A GeometryCollection is exploded into its members (rasterio), same value.
    let g = grid(2, 1);
    let r = Rasterizer::new(
        &read.shapes[1..],
        &g,
        &RasterizeOptions {
            dtype: Some(DType::U64),
            merge: MergeAlg::Add,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.primitive_count(), 2);
    let a = r.burn().unwrap();
    let ArrayData::U64(a) = a.data() else {
        panic!()
    };
    assert_eq!(a.as_slice().unwrap(), &[u64::MAX, u64::MAX]);
    // Malformed documents and WKT.
    assert!(matches!(
        read_geojson("[1, 2", &ReadOptions::default()),
        Err(RasterizeError::GeoJson { .. })
    ));
    assert!(matches!(
        read_geojson("{\"features\": []}", &ReadOptions::default()),
        Err(RasterizeError::GeoJson { .. })
    ));
    let w = read_wkt(
        "POINT (1 2)\nPOLYGON ((0 0, 1 0))\nCIRCLE (1 2)\nLINESTRING (0 0)",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(w.shapes.len(), 2);
    assert_eq!(
        w.skipped.iter().map(|s| s.feature).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(matches!(
        w.skipped[1].reason,
        RasterizeError::Wkt { feature: 2, .. }
    ));
    // The one-point LineString is caught when burning.
    let r = Rasterizer::new(&w.shapes, &g, &RasterizeOptions::default()).unwrap();
    assert!(matches!(
        r.skipped()[0].reason,
        RasterizeError::LineTooShort {
            feature: 3,
            points: 1
        }
    ));
}

/// Coverage of one shape per feature on an identity grid, as f64 rows.
fn coverage_of(shapes: &[Shape], w: usize, h: usize) -> Vec<f64> {
    Rasterizer::new(shapes, &grid(w, h), &RasterizeOptions::default())
        .unwrap()
        .coverage_f64()
        .unwrap()
}

fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() < 1e-12, "pixel {i}: {g} vs {w}\n{got:?}");
    }
}

/// A bow-tie whose crossing (1.5, 1) lies inside pixel (1, 0)/(1, 1): each lobe is a triangle
/// of area 1.5; by hand, row 0 is [∫₀¹(1-2x/3), ∫₁^1.5(1-2x/3) + ∫_1.5²(2x/3-1),
/// ∫₂³(2x/3-1)] = [2/3, 1/12 + 1/12, 2/3], row 1 the mirror image. Winding would cancel the
/// two lobes in the middle pixels (0 instead of 1/6).
#[test]
fn coverage_of_a_bow_tie_counts_both_lobes() {
    let bow = poly(&[(0.0, 0.0), (3.0, 2.0), (3.0, 0.0), (0.0, 2.0)]);
    let c = coverage_of(&[Shape::new(bow.clone(), 1)], 3, 2);
    let (a, b) = (2.0 / 3.0, 1.0 / 6.0);
    assert_close(&c, &[a, b, a, a, b, a]);
    assert!((c.iter().sum::<f64>() - 3.0).abs() < 1e-12);
    // The centre rule burns the pixels whose centre lies in the even-odd interior.
    let burned = rasterize(&[Shape::new(bow, 1)], &grid(3, 2), &strict()).unwrap();
    assert_eq!(burned.array.sum_f64(), 4.0);
}

/// A ring that runs around a 4×4 square, back along the diagonal to (1, 1) and around the
/// inner 2×2 square in the same direction (winding 2 there): even-odd leaves the inner square
/// out (GDAL burns nothing there either), the spur along the diagonal adds nothing.
#[test]
fn coverage_of_a_doubled_loop_follows_even_odd() {
    let ring = [
        (0.0, 0.0),
        (4.0, 0.0),
        (4.0, 4.0),
        (0.0, 4.0),
        (0.0, 0.0),
        (1.0, 1.0),
        (3.0, 1.0),
        (3.0, 3.0),
        (1.0, 3.0),
        (1.0, 1.0),
    ];
    let shape = Shape::new(poly(&ring), 1);
    let c = coverage_of(std::slice::from_ref(&shape), 4, 4);
    #[rustfmt::skip]
    let want = [
        1.0, 1.0, 1.0, 1.0,
        1.0, 0.0, 0.0, 1.0,
        1.0, 0.0, 0.0, 1.0,
        1.0, 1.0, 1.0, 1.0,
    ];
    assert_close(&c, &want);
    let burned = rasterize(&[shape], &grid(4, 4), &strict()).unwrap().array;
    let ArrayData::U8(b) = burned.data() else {
        panic!()
    };
    let b: Vec<f64> = b.iter().map(|v| f64::from(*v)).collect();
    assert_eq!(b, want);
}

/// A hole crossing the right side of its 4×4 shell: even-odd keeps the shell minus the part of
/// the hole inside it (x 2.5..4, y 1..3: area 3) plus the part of the hole outside it (x 4..6:
/// area 4): 16 - 3 + 4 = 17.
#[test]
fn coverage_of_a_hole_crossing_its_shell() {
    let shell: Vec<(f64, f64)> = vec![(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0), (0.0, 0.0)];
    let hole: Vec<(f64, f64)> = vec![(2.5, 1.0), (6.0, 1.0), (6.0, 3.0), (2.5, 3.0), (2.5, 1.0)];
    let p: Geometry<f64> = geo_types::Polygon::new(shell.into(), vec![hole.into()]).into();
    let c = coverage_of(&[Shape::new(p, 1)], 6, 4);
    #[rustfmt::skip]
    let want = [
        1.0, 1.0, 1.0, 1.0, 0.0, 0.0,
        1.0, 1.0, 0.5, 0.0, 1.0, 1.0,
        1.0, 1.0, 0.5, 0.0, 1.0, 1.0,
        1.0, 1.0, 1.0, 1.0, 0.0, 0.0,
    ];
    assert_close(&c, &want);
    assert!((c.iter().sum::<f64>() - 17.0).abs() < 1e-12);
}

/// The parts of one MultiPolygon are unioned (a pixel inside two parts is covered once, as
/// rasterio burns it once); separate shapes add up (capped at 1 by `coverage`).
#[test]
fn coverage_unions_the_parts_of_a_multipolygon() {
    let a = geo_types::Polygon::new(
        vec![(0.0, 0.0), (3.0, 0.0), (3.0, 3.0), (0.0, 3.0), (0.0, 0.0)].into(),
        vec![],
    );
    let b = geo_types::Polygon::new(
        vec![(2.5, 1.0), (5.0, 1.0), (5.0, 2.0), (2.5, 2.0), (2.5, 1.0)].into(),
        vec![],
    );
    let mp: Geometry<f64> = geo_types::MultiPolygon(vec![a.clone(), b.clone()]).into();
    let c = coverage_of(&[Shape::new(mp, 1)], 5, 3);
    #[rustfmt::skip]
    let want = [
        1.0, 1.0, 1.0, 0.0, 0.0,
        1.0, 1.0, 1.0, 1.0, 1.0,
        1.0, 1.0, 1.0, 0.0, 0.0,
    ];
    assert_close(&c, &want);
    assert!((c.iter().sum::<f64>() - 11.0).abs() < 1e-12);
    // Two shapes: the overlap (x 2.5..3 of row 1) counts twice in coverage_f64.
    let two = coverage_of(&[Shape::new(a.into(), 1), Shape::new(b.into(), 1)], 5, 3);
    assert!((two[7] - 1.5).abs() < 1e-12, "{}", two[7]);
    // Disjoint parts and a part inside another part's hole take the exact path and add.
    let ring = |x: f64, y: f64, s: f64| -> geo_types::LineString<f64> {
        vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)].into()
    };
    let framed = geo_types::Polygon::new(ring(0.0, 0.0, 5.0), vec![ring(1.0, 1.0, 3.0)]);
    let island = geo_types::Polygon::new(ring(1.5, 1.5, 2.0), vec![]);
    let mp: Geometry<f64> = geo_types::MultiPolygon(vec![framed, island]).into();
    let c = coverage_of(&[Shape::new(mp, 1)], 5, 5);
    assert!((c.iter().sum::<f64>() - (25.0 - 9.0 + 4.0)).abs() < 1e-12);
    assert!((c[2 * 5 + 2] - 1.0).abs() < 1e-12 && (c[5 + 1] - 0.25).abs() < 1e-12);
}

/// The even-odd area of closed rings by horizontal slabs (every vertex and pairwise crossing
/// height a slab boundary; inside a slab the even-odd length is linear in y, so its value at
/// mid-height times the height is exact). O(n²): for small test polygons only.
fn even_odd_area(rings: &[Vec<(f64, f64)>]) -> f64 {
    let edges: Vec<((f64, f64), (f64, f64))> = rings
        .iter()
        .flat_map(|r| r.windows(2).map(|w| (w[0], w[1])))
        .filter(|(p, q)| p.1 != q.1)
        .collect();
    let mut ys: Vec<f64> = rings.iter().flatten().map(|p| p.1).collect();
    for (i, a) in edges.iter().enumerate() {
        for b in &edges[i + 1..] {
            let (p, r) = (a.0, (a.1.0 - a.0.0, a.1.1 - a.0.1));
            let (q, s) = (b.0, (b.1.0 - b.0.0, b.1.1 - b.0.1));
            let den = r.0 * s.1 - r.1 * s.0;
            if den == 0.0 {
                continue;
            }
            let t = ((q.0 - p.0) * s.1 - (q.1 - p.1) * s.0) / den;
            let u = ((q.0 - p.0) * r.1 - (q.1 - p.1) * r.0) / den;
            if (0.0..=1.0).contains(&t) && (0.0..=1.0).contains(&u) {
                ys.push(p.1 + t * r.1);
            }
        }
    }
    ys.sort_by(f64::total_cmp);
    ys.dedup();
    let mut area = 0.0;
    for w in ys.windows(2) {
        let y = 0.5 * (w[0] + w[1]);
        let mut xs: Vec<f64> = edges
            .iter()
            .filter(|(p, q)| (p.1 < y) != (q.1 < y))
            .map(|(p, q)| p.0 + (y - p.1) * (q.0 - p.0) / (q.1 - p.1))
            .collect();
        xs.sort_by(f64::total_cmp);
        let len: f64 = xs.chunks_exact(2).map(|c| c[1] - c[0]).sum();
        area += len * (w[1] - w[0]);
    }
    area
}

/// Seeded random polygons, most of them self-intersecting, some with a hole and some with
/// two overlapping-free parts: coverage summed over the pixels equals the even-odd area.
#[test]
fn coverage_sums_to_the_even_odd_area() {
    let mut s = 99u64;
    let mut rnd = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut self_intersecting = 0;
    for case in 0..40 {
        let n = 5 + case % 9;
        let mut ring: Vec<(f64, f64)> = (0..n)
            .map(|_| (2.0 + 36.0 * rnd(), 2.0 + 26.0 * rnd()))
            .collect();
        ring.push(ring[0]);
        let mut rings = vec![ring.clone()];
        if case % 4 == 0 {
            let mut hole: Vec<(f64, f64)> = (0..4)
                .map(|_| (10.0 + 20.0 * rnd(), 8.0 + 14.0 * rnd()))
                .collect();
            hole.push(hole[0]);
            rings.push(hole);
        }
        let p = geo_types::Polygon::new(
            rings[0].clone().into(),
            rings[1..].iter().map(|r| r.clone().into()).collect(),
        );
        if simple::resolve(&[&rings]) != simple::Resolved::AsGiven {
            self_intersecting += 1;
        }
        let want = even_odd_area(&rings);
        let got: f64 = coverage_of(&[Shape::new(p.into(), 1)], 40, 30).iter().sum();
        assert!(
            ((got - want) / want).abs() < 1e-9,
            "case {case}: {got} vs {want} ({:e})",
            (got - want) / want
        );
    }
    assert!(self_intersecting > 20, "{self_intersecting}");
}

/// A polygon crossing itself ~10⁷ times is refused with a typed error naming the feature
/// (rebuilding it would not end in reasonable time or memory), quickly; burning it works.
#[test]
fn coverage_refuses_polygons_crossing_themselves_too_often() {
    let n = 200_000;
    let mut s = 5u64;
    let ring: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = 100.0 + 150.0 * ((s >> 11) as f64 / (1u64 << 53) as f64);
            let t =
                i as f64 / n as f64 * std::f64::consts::TAU + if i % 2 == 0 { 0.01 } else { -0.01 };
            (256.0 + r * t.cos(), 256.0 + r * t.sin())
        })
        .collect();
    let mut shape = Shape::new(poly(&ring), 1);
    shape.feature = Some(7);
    let r = Rasterizer::new(&[shape], &grid(512, 512), &RasterizeOptions::default()).unwrap();
    assert_eq!(
        r.coverage_f64(),
        Err(RasterizeError::TooManyCrossings {
            feature: 7,
            limit: simple::MAX_CROSSINGS
        })
    );
    assert!(r.burn().unwrap().sum_f64() > 0.0);
}
