//! Unit tests of bad input and of the options beyond xbatcher (the 19 xbatcher reference cases
//! live in `tests/tests/xbatcher_reference.rs`).

use ndarray::{ArrayD, IxDyn};

use super::*;
use crate::array::{ArrayData, LabeledArray};
use crate::grid::{Grid, Window};
use crate::transform::GeoTransform;

fn plan(dims: &[&str], shape: &[usize], spec: &SliceSpec) -> SlicePlan {
    SlicePlan::new(dims, shape, spec).unwrap()
}

fn err(dims: &[&str], shape: &[usize], spec: &SliceSpec) -> SliceError {
    SlicePlan::new(dims, shape, spec).unwrap_err()
}

fn windows(p: &SlicePlan, dim: &str) -> Vec<(usize, usize)> {
    (0..p.num_chips())
        .map(|j| {
            let s = p.chip(j).unwrap();
            let d = s.selector.get(dim).unwrap();
            (d.start, d.stop)
        })
        .collect()
}

fn i32_data(a: &LabeledArray) -> ndarray::ArrayViewD<'_, i32> {
    match a.data() {
        ArrayData::I32(x) => x.view(),
        _ => panic!("not i32"),
    }
}

// ---------------------------------------------------------------- bad input

#[test]
fn bad_input_is_a_typed_error_naming_argument_and_values() {
    let d = &["time", "y", "x"];
    let s = &[3, 37, 53];
    let e = err(d, s, &SliceSpec::new(&[("y", 38)]));
    assert_eq!(
        e,
        SliceError::WindowLargerThanDim {
            argument: "input_dims",
            dim: "y".into(),
            window: 38,
            size: 37
        }
    );
    let e = err(
        d,
        s,
        &SliceSpec::new(&[("y", 8)]).input_overlap(&[("y", 8)]),
    );
    assert_eq!(
        e.to_string(),
        "input_overlap: overlap y=8 must be smaller than the window 8"
    );
    let e = err(d, s, &SliceSpec::new(&[("band", 8)]));
    assert_eq!(
        e.to_string(),
        "input_dims: no dim named 'band' (array dims are [\"time\", \"y\", \"x\"])"
    );
    let e = err(d, s, &SliceSpec::new(&[("y", 8), ("y", 4)]));
    assert_eq!(
        e,
        SliceError::DuplicateDim {
            argument: "input_dims",
            dim: "y".into()
        }
    );
    let e = err(
        d,
        s,
        &SliceSpec::new(&[("y", 8)]).input_overlap(&[("q", 1)]),
    );
    assert!(matches!(
        e,
        SliceError::UnknownDim {
            argument: "input_overlap",
            ..
        }
    ));
    let e = err(
        d,
        s,
        &SliceSpec::new(&[("y", 8)]).batch_dims(&[("time", 1), ("time", 1)]),
    );
    assert!(matches!(
        e,
        SliceError::DuplicateDim {
            argument: "batch_dims",
            ..
        }
    ));
    let e = err(d, s, &SliceSpec::new(&[("y", 0)]));
    assert_eq!(
        e.to_string(),
        "input_dims: size of 'y' is 0; it must be at least 1"
    );
    let e = err(
        d,
        s,
        &SliceSpec::new(&[("y", 8)]).batch_dims(&[("time", 0)]),
    );
    assert!(matches!(
        e,
        SliceError::ZeroSize {
            argument: "batch_dims",
            ..
        }
    ));
    let e = err(
        d,
        s,
        &SliceSpec::new(&[("y", 8)]).batch_dims(&[("time", 4)]),
    );
    assert!(matches!(
        e,
        SliceError::WindowLargerThanDim {
            argument: "batch_dims",
            window: 4,
            size: 3,
            ..
        }
    ));
    let e = err(d, s, &SliceSpec::new(&[("y", 8)]).batch_size(0, false));
    assert_eq!(e, SliceError::BatchSizeZero);
    let e = err(d, &[3, 0, 53], &SliceSpec::new(&[("y", 8)]));
    assert!(matches!(e, SliceError::EmptyArray { .. }));
    let e = err(&[], &[], &SliceSpec::new(&[("y", 8)]));
    assert!(matches!(e, SliceError::EmptyArray { .. }));
    let e = err(d, s, &SliceSpec::default());
    assert!(matches!(e, SliceError::NoInputDims { .. }));
    let e = err(
        d,
        s,
        &SliceSpec::new(&[("y", 8)]).input_overlap(&[("time", 1)]),
    );
    assert!(matches!(e, SliceError::OverlapOnUnslicedDim { .. }));
    let e = err(d, s, &SliceSpec::new(&[("y", 8)]).random(0, 1));
    assert!(matches!(
        e,
        SliceError::ZeroSize {
            argument: "random",
            ..
        }
    ));
    let e = err(
        d,
        s,
        &SliceSpec::new(&[("y", 8)])
            .concat_input_dims(true)
            .shuffle(1),
    );
    assert!(matches!(e, SliceError::ConflictingOptions { .. }));
    let e = err(
        d,
        s,
        &SliceSpec::new(&[("y", 8)])
            .edge(EdgePolicy::Partial)
            .batch_size(4, false),
    );
    assert!(matches!(e, SliceError::ConflictingOptions { .. }));
    // Duplicate batch dim larger than its dim under concat (xbatcher: silently 0 batches).
    let e = err(
        d,
        s,
        &SliceSpec::new(&[("y", 8)])
            .batch_dims(&[("y", 40)])
            .concat_input_dims(true),
    );
    assert!(matches!(
        e,
        SliceError::WindowLargerThanDim {
            argument: "batch_dims",
            ..
        }
    ));
}

#[test]
fn huge_inputs_error_instead_of_overflowing() {
    let dims = ["a", "b", "c", "d", "e"];
    let spec = SliceSpec::new(&[("a", 1), ("b", 1), ("c", 1), ("d", 1), ("e", 1)]);
    let e = err(&dims, &[100_000; 5], &spec);
    assert!(matches!(e, SliceError::Overflow { .. }), "{e}");
    // A hugely negative overlap is a huge stride: one window, no overflow.
    let p = SlicePlan::new(
        &["x"],
        &[10],
        &SliceSpec::new(&[("x", 4)]).input_overlap(&[("x", i64::MIN)]),
    );
    match p {
        Ok(p) => assert_eq!(p.len(), 1),
        Err(e) => assert!(matches!(e, SliceError::Overflow { .. }), "{e}"),
    }
}

#[test]
fn runtime_errors_name_values() {
    let a = LabeledArray::arange_i32(&["y", "x"], &[8, 8]).unwrap();
    let p = SlicePlan::for_array(&a, &SliceSpec::new(&[("y", 4), ("x", 4)])).unwrap();
    assert_eq!(
        p.batch(4).unwrap_err().to_string(),
        "batch index 4 is out of range (len 4)"
    );
    let mut small = vec![0i32; 15];
    assert_eq!(
        p.gather_array_into(&a, 0, &mut small).unwrap_err(),
        SliceError::BufferTooSmall {
            batch: 0,
            needed: 16,
            len: 15
        }
    );
    let mut wrong = vec![0f64; 16];
    assert!(matches!(
        p.gather_array_into(&a, 0, &mut wrong),
        Err(SliceError::DTypeMismatch { .. })
    ));
    let other = LabeledArray::arange_i32(&["y", "x"], &[8, 9]).unwrap();
    assert!(matches!(
        BatchGenerator::from_plan(&other, p.clone()),
        Err(SliceError::ArrayMismatch { .. })
    ));
    assert!(p.patch(16).is_err() && p.chip(16).is_err());
}

// ---------------------------------------------------------------- geometry

#[test]
fn negative_overlap_leaves_gaps() {
    let p = plan(
        &["x"],
        &[25],
        &SliceSpec::new(&[("x", 8)]).input_overlap(&[("x", -2)]),
    );
    assert_eq!(windows(&p, "x"), vec![(0, 8), (10, 18)]);
    let p = plan(
        &["x"],
        &[28],
        &SliceSpec::new(&[("x", 8)]).input_overlap(&[("x", -2)]),
    );
    assert_eq!(windows(&p, "x"), vec![(0, 8), (10, 18), (20, 28)]);
}

#[test]
fn edge_policies() {
    let spec = |e| SliceSpec::new(&[("x", 4)]).edge(e);
    let w = |e| windows(&plan(&["x"], &[10], &spec(e)), "x");
    assert_eq!(w(EdgePolicy::Drop), vec![(0, 4), (4, 8)]);
    assert_eq!(w(EdgePolicy::Pad(0.0)), vec![(0, 4), (4, 8), (8, 12)]);
    assert_eq!(
        w(EdgePolicy::ShiftLastInside),
        vec![(0, 4), (4, 8), (6, 10)]
    );
    assert_eq!(w(EdgePolicy::Partial), vec![(0, 4), (4, 8), (8, 10)]);
    // Exact fit: every policy is xbatcher's.
    for e in [
        EdgePolicy::Pad(0.0),
        EdgePolicy::ShiftLastInside,
        EdgePolicy::Partial,
    ] {
        assert_eq!(windows(&plan(&["x"], &[12], &spec(e)), "x").len(), 3);
    }
    // Pad never makes a window of padding only (negative overlap).
    let p = plan(
        &["x"],
        &[20],
        &SliceSpec::new(&[("x", 8)])
            .input_overlap(&[("x", -2)])
            .edge(EdgePolicy::Pad(0.0)),
    );
    assert_eq!(windows(&p, "x"), vec![(0, 8), (10, 18)]);
    // Window larger than the dim is allowed when padding.
    let p = plan(&["x"], &[3], &spec(EdgePolicy::Pad(9.0)));
    assert_eq!(windows(&p, "x"), vec![(0, 4)]);
    // torchgeo's count for W1: 19 × 19 with pad, 18 × 18 with drop.
    let w1 = |e| {
        plan(
            &["y", "x"],
            &[4096, 4096],
            &SliceSpec::new(&[("y", 256), ("x", 256)])
                .input_overlap(&[("y", 32), ("x", 32)])
                .edge(e),
        )
        .len()
    };
    assert_eq!(w1(EdgePolicy::Drop), 324);
    assert_eq!(w1(EdgePolicy::Pad(0.0)), 361);
}

#[test]
fn pad_gathers_fill_and_has_no_view() {
    let a = LabeledArray::arange_i32(&["y", "x"], &[3, 5]).unwrap();
    let spec = SliceSpec::new(&[("y", 2), ("x", 3)]).edge(EdgePolicy::Pad(-1.0));
    let p = SlicePlan::for_array(&a, &spec).unwrap();
    assert_eq!(p.len(), 4);
    let last = p.patch(3).unwrap();
    assert!(last.padded);
    assert!(matches!(
        p.patch_view(i32_data(&a), &last),
        Err(SliceError::PaddedView { .. })
    ));
    let mut buf = vec![0i32; 6];
    p.gather_into(i32_data(&a), 3, &mut buf).unwrap();
    assert_eq!(buf, vec![13, 14, -1, -1, -1, -1]);
    // Partial chips have their own, smaller shape.
    let p = SlicePlan::for_array(
        &a,
        &SliceSpec::new(&[("y", 2), ("x", 3)]).edge(EdgePolicy::Partial),
    )
    .unwrap();
    let b = BatchGenerator::from_plan(&a, p).unwrap().get(3).unwrap();
    assert_eq!(b.array.shape(), &[1, 2]);
    assert_eq!(b.array.sum_f64(), 27.0);
}

#[test]
fn shift_last_inside_covers_everything() {
    let a = LabeledArray::arange_i32(&["y", "x"], &[10, 10]).unwrap();
    let spec = SliceSpec::new(&[("y", 4), ("x", 4)]).edge(EdgePolicy::ShiftLastInside);
    let batches = BatchGenerator::new(&a, &spec).unwrap();
    let mut covered = [[false; 10]; 10];
    for b in batches.iter() {
        let b = b.unwrap();
        assert_eq!(b.array.shape(), &[4, 4]);
        let s = &b.patches[0].selector;
        let (ys, xs) = (s.get("y").unwrap(), s.get("x").unwrap());
        for row in &mut covered[ys.start..ys.stop] {
            row[xs.start..xs.stop].fill(true);
        }
    }
    assert!(covered.iter().flatten().all(|c| *c));
}

#[test]
fn a_plan_over_1e8_patches_costs_nothing() {
    let spec = SliceSpec::new(&[("y", 1), ("x", 1)]).shuffle(5);
    let p = plan(&["y", "x"], &[10_000, 10_000], &spec);
    assert_eq!(p.len(), 100_000_000);
    // Nothing per patch is stored: no kept list, and a fixed-size permutation.
    assert!(p.kept.is_none());
    let last = p.patch(99_999_999).unwrap();
    assert_eq!((last.start("y"), last.start("x")), (Some(9999), Some(9999)));
    let mid = p.patch(12_345_678).unwrap();
    assert_eq!((mid.start("y"), mid.start("x")), (Some(1234), Some(5678)));
    let c = p.chip(99_999_999).unwrap();
    assert!(c.id < 100_000_000);
    assert_eq!(p.batch(7).unwrap().len(), 1);
}

// ---------------------------------------------------------------- batching

#[test]
fn integer_batch_size_and_drop_last() {
    let a = LabeledArray::arange_i32(&["band", "y", "x"], &[2, 10, 10]).unwrap();
    let spec = |drop| SliceSpec::new(&[("y", 5), ("x", 2)]).batch_size(3, drop);
    let p = SlicePlan::for_array(&a, &spec(false)).unwrap();
    assert_eq!((p.num_chips(), p.len()), (10, 4));
    assert_eq!(p.batch(3).unwrap().len(), 1);
    assert_eq!(
        p.batch_output(0).unwrap(),
        (
            vec!["batch".into(), "band".into(), "y".into(), "x".into()],
            vec![3, 2, 5, 2]
        )
    );
    assert_eq!(p.batch_output(3).unwrap().1, vec![1, 2, 5, 2]);
    let p = SlicePlan::for_array(&a, &spec(true)).unwrap();
    assert_eq!(p.len(), 3);
    // A batch is its chips stacked in order.
    let batches = BatchGenerator::from_plan(&a, p.clone()).unwrap();
    let b = batches.get(1).unwrap();
    let single = BatchGenerator::new(&a, &SliceSpec::new(&[("y", 5), ("x", 2)])).unwrap();
    let mut bytes = Vec::new();
    for j in 3..6 {
        bytes.extend(single.get(j).unwrap().array.data().to_le_bytes());
    }
    assert_eq!(b.array.data().to_le_bytes(), bytes);
}

// ---------------------------------------------------------------- randomness

#[test]
fn random_sampling_matches_the_written_algorithm() {
    // Pinned from tests/fixtures/xbatcher/feistel_ref.py (independent Python transcription).
    let p = plan(
        &["y", "x"],
        &[37, 53],
        &SliceSpec::new(&[("y", 10), ("x", 12)]).random(5, 7),
    );
    let got: Vec<(usize, usize)> = (0..5)
        .map(|i| {
            let c = p.patch(i).unwrap();
            (c.start("y").unwrap(), c.start("x").unwrap())
        })
        .collect();
    assert_eq!(got, vec![(20, 27), (14, 31), (17, 40), (19, 9), (20, 37)]);
}

#[test]
fn random_sampling_is_seeded_in_range_and_with_replacement() {
    let spec = |seed| SliceSpec::new(&[("y", 4), ("x", 4)]).random(2000, seed);
    let a = plan(&["y", "x"], &[10, 12], &spec(1));
    let b = plan(&["y", "x"], &[10, 12], &spec(1));
    let c = plan(&["y", "x"], &[10, 12], &spec(2));
    let starts = |p: &SlicePlan| -> Vec<(usize, usize)> {
        (0..2000)
            .map(|i| {
                let s = p.patch(i).unwrap();
                (s.start("y").unwrap(), s.start("x").unwrap())
            })
            .collect()
    };
    let (sa, sb, sc) = (starts(&a), starts(&b), starts(&c));
    assert_eq!(sa, sb);
    assert_ne!(sa, sc);
    assert!(sa.iter().all(|(y, x)| *y <= 6 && *x <= 8));
    // Every position is reachable (7 × 9 = 63 of them in 2000 draws), so with replacement.
    let mut distinct = sa.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 63);
    // Random access: the 1000th chip does not depend on having drawn the others.
    assert_eq!(a.patch(1000).unwrap(), b.patch(1000).unwrap());
}

#[test]
fn shuffle_is_a_seeded_per_epoch_permutation() {
    let a = LabeledArray::arange_i32(&["y", "x"], &[20, 20]).unwrap();
    let spec = |seed| {
        SliceSpec::new(&[("y", 2), ("x", 2)])
            .batch_size(7, false)
            .shuffle(seed)
    };
    let order = |p: &SlicePlan| -> Vec<u64> {
        (0..p.len()).flat_map(|i| p.batch_ids(i).unwrap()).collect()
    };
    let p = SlicePlan::for_array(&a, &spec(42)).unwrap();
    let same = SlicePlan::for_array(&a, &spec(42)).unwrap();
    let other = SlicePlan::for_array(&a, &spec(43)).unwrap();
    let e0 = order(&p);
    assert_eq!(e0, order(&same));
    assert_ne!(e0, order(&other));
    assert_ne!(e0, order(&p.with_epoch(1)));
    assert_eq!(order(&p.with_epoch(1)), order(&same.with_epoch(1)));
    assert_ne!(e0, (0..100).collect::<Vec<_>>());
    let mut sorted = e0.clone();
    sorted.sort();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    // The values follow the ids.
    let batches = BatchGenerator::from_plan(&a, p.clone()).unwrap();
    let first = batches.get(0).unwrap();
    let id0 = first.patches[0].id;
    let single = BatchGenerator::new(&a, &SliceSpec::new(&[("y", 2), ("x", 2)])).unwrap();
    assert_eq!(
        first.array.data().to_le_bytes()[..16],
        single.get(id0).unwrap().array.data().to_le_bytes()[..]
    );
}

// ---------------------------------------------------------------- filter

#[test]
fn filter_runs_before_batching() {
    let mut v: Vec<f32> = (0..64).map(|i| i as f32).collect();
    for i in [0, 1, 8, 9, 36] {
        v[i] = f32::NAN; // chip 0 all NaN; chip (y 4..6, x 4..6) = id 10 has one NaN
    }
    v[63] = -9999.0; // chip id 15 has one nodata
    let a = LabeledArray::from_shape_vec(&["y", "x"], &[8, 8], v).unwrap();
    let spec = SliceSpec::new(&[("y", 2), ("x", 2)]).batch_size(4, false);
    let p = SlicePlan::for_array(&a, &spec).unwrap();
    let no_nan = p.filter(&a, &ChipFilter::NoNan).unwrap();
    assert_eq!(no_nan.num_chips(), 14);
    assert_eq!(no_nan.len(), 4);
    let ids: Vec<u64> = (0..no_nan.len())
        .flat_map(|i| no_nan.batch_ids(i).unwrap())
        .collect();
    assert!(!ids.contains(&0) && !ids.contains(&10) && ids.contains(&15));
    // Full batches: 14 chips → 4, 4, 4, 2.
    assert_eq!(no_nan.batch(0).unwrap().len(), 4);
    let f = ChipFilter::MinValidFraction {
        fraction: 0.75,
        nodata: Some(-9999.0),
    };
    let frac = p.filter(&a, &f).unwrap();
    let ids: Vec<u64> = (0..frac.num_chips())
        .map(|j| frac.chip(j).unwrap().id)
        .collect();
    assert!(!ids.contains(&0) && ids.contains(&10) && ids.contains(&15));
    let f = ChipFilter::MinValidFraction {
        fraction: 1.0,
        nodata: Some(-9999.0),
    };
    assert_eq!(p.filter(&a, &f).unwrap().num_chips(), 13);
    // Filter then shuffle: the same kept set in another order.
    let shuffled = SlicePlan::for_array(&a, &spec.clone().shuffle(3))
        .unwrap()
        .filter(&a, &ChipFilter::NoNan)
        .unwrap();
    let mut s: Vec<u64> = (0..14).map(|j| shuffled.chip(j).unwrap().id).collect();
    let unsorted = s.clone();
    s.sort();
    let kept: Vec<u64> = (0..14).map(|j| no_nan.chip(j).unwrap().id).collect();
    assert_eq!(s, kept);
    assert_ne!(unsorted, kept);
    let bad = ChipFilter::MinValidFraction {
        fraction: 1.5,
        nodata: None,
    };
    assert!(matches!(
        p.filter(&a, &bad),
        Err(SliceError::BadFraction { .. })
    ));
    let concat =
        SlicePlan::for_array(&a, &SliceSpec::new(&[("y", 2)]).concat_input_dims(true)).unwrap();
    assert!(concat.filter(&a, &ChipFilter::NoNan).is_err());
}

// ---------------------------------------------------------------- metadata

#[test]
fn every_chip_is_georeferenced() {
    let g = Grid::new(
        GeoTransform::new(30.0, 0.0, 300000.0, 0.0, -30.0, 4000000.0),
        53,
        37,
        Some("EPSG:32633".parse().unwrap()),
    )
    .unwrap();
    let a = LabeledArray::arange_i32(&["time", "y", "x"], &[3, 37, 53])
        .unwrap()
        .with_grid(g.clone())
        .unwrap();
    let spec = SliceSpec::new(&[("y", 10), ("x", 12)]).input_overlap(&[("y", 3), ("x", 5)]);
    let p = SlicePlan::for_array(&a, &spec).unwrap();
    for j in 0..p.num_chips() {
        let c = p.chip(j).unwrap();
        let (y, x) = (c.start("y").unwrap(), c.start("x").unwrap());
        let cg = p.chip_grid(&c).unwrap().unwrap();
        assert_eq!(cg, g.window(Window::new(x, y, 12, 10)).unwrap());
        assert_eq!(cg.crs, g.crs);
    }
    // Only x sliced: the chip spans every row.
    let p = SlicePlan::for_array(&a, &SliceSpec::new(&[("x", 16)])).unwrap();
    let cg = p.chip_grid(&p.patch(1).unwrap()).unwrap().unwrap();
    assert_eq!((cg.height, cg.width), (37, 16));
    // Padded chips extend past the edge with the same pixel grid.
    let p = SlicePlan::for_array(
        &a,
        &SliceSpec::new(&[("y", 10), ("x", 12)]).edge(EdgePolicy::Pad(0.0)),
    )
    .unwrap();
    let last = p.patch(p.grid_patch_count() - 1).unwrap();
    let cg = p.chip_grid(&last).unwrap().unwrap();
    assert_eq!(
        cg.transform.to_affine(),
        [
            30.0,
            0.0,
            300000.0 + 48.0 * 30.0,
            0.0,
            -30.0,
            4000000.0 - 30.0 * 30.0
        ]
    );
    assert_eq!(cg.shape(), (10, 12));
}

// ---------------------------------------------------------------- reassembly

#[test]
fn centre_crop_takes_each_pixel_from_the_nearest_chip_centre() {
    let p = plan(
        &["x"],
        &[10],
        &SliceSpec::new(&[("x", 4)]).input_overlap(&[("x", 2)]),
    );
    let mut r = Reassembler::new(&p, ReassembleMode::CentreCrop);
    for id in 0..p.grid_patch_count() {
        let pred = ArrayD::from_elem(IxDyn(&[4]), id as f32);
        r.add(&p.patch(id).unwrap(), pred.view()).unwrap();
    }
    let m = r.finish().unwrap();
    let ArrayData::F64(v) = m.data() else {
        panic!()
    };
    assert_eq!(
        v.iter().copied().collect::<Vec<_>>(),
        vec![0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0]
    );
}

#[test]
fn mean_reassembly_averages_overlaps_and_marks_uncovered() {
    let p = plan(
        &["y", "x"],
        &[5, 7],
        &SliceSpec::new(&[("y", 3), ("x", 3)]).input_overlap(&[("x", 1)]),
    );
    let mut r = Reassembler::new(&p, ReassembleMode::Mean);
    for id in 0..p.grid_patch_count() {
        let pred = ArrayD::from_elem(IxDyn(&[3, 3]), id as f64);
        r.add(&p.patch(id).unwrap(), pred.view()).unwrap();
    }
    let m = r.finish().unwrap();
    let ArrayData::F64(v) = m.data() else {
        panic!()
    };
    // Row 0: chip 0 on x 0..3, chip 1 on x 2..5, chip 2 on x 4..7.
    assert_eq!(v[[0, 1]], 0.0);
    assert_eq!(v[[0, 2]], 0.5);
    assert_eq!(v[[0, 4]], 1.5);
    assert_eq!(v[[0, 6]], 2.0);
    assert!(v[[3, 0]].is_nan() && v[[4, 6]].is_nan()); // rows 3..5 never covered
    // Reassembly of the identity prediction over padded chips gives the input back.
    let a = LabeledArray::arange_i32(&["band", "y", "x"], &[2, 9, 11]).unwrap();
    let spec = SliceSpec::new(&[("y", 4), ("x", 4)])
        .input_overlap(&[("y", 1), ("x", 1)])
        .edge(EdgePolicy::Pad(0.0));
    for mode in [ReassembleMode::Mean, ReassembleMode::CentreCrop] {
        let p = SlicePlan::for_array(&a, &spec).unwrap();
        let mut r = Reassembler::new(&p, mode);
        let mut buf = vec![0i32; p.max_batch_elements()];
        for j in 0..p.len() {
            let n = p.gather_array_into(&a, j, &mut buf).unwrap();
            let (_, shape) = p.batch_output(j).unwrap();
            let chip = ArrayD::from_shape_vec(IxDyn(&shape), buf[..n].to_vec()).unwrap();
            r.add(&p.batch(j).unwrap()[0], chip.view()).unwrap();
        }
        let m = r.finish().unwrap();
        let ArrayData::F64(v) = m.data() else {
            panic!()
        };
        let expect: Vec<f64> = (0..a.len()).map(|i| i as f64).collect();
        assert_eq!(v.iter().copied().collect::<Vec<_>>(), expect, "{mode:?}");
    }
}

// ---------------------------------------------------------------- output modes

#[test]
fn gather_from_a_non_contiguous_or_transposed_array_equals_the_contiguous_one() {
    let a = LabeledArray::arange_i32(&["time", "y", "x"], &[3, 17, 19]).unwrap();
    let base = i32_data(&a);
    let spec = SliceSpec::new(&[("x", 5), ("y", 4)])
        .input_overlap(&[("x", 1)])
        .batch_size(3, false);
    let p = SlicePlan::for_array(&a, &spec).unwrap();
    // Fortran-ordered copy of the same logical array (fast path with permuted strides).
    let f = base.t().as_standard_layout().to_owned();
    let fortran = f.t();
    // A strided view (slow path).
    let big = ArrayD::from_shape_fn(IxDyn(&[3, 17, 38]), |i| {
        if i[2] % 2 == 0 {
            base[[i[0], i[1], i[2] / 2]]
        } else {
            -1
        }
    });
    let strided = big.slice_each_axis(|ax| {
        if ax.axis.index() == 2 {
            ndarray::Slice::new(0, None, 2)
        } else {
            ndarray::Slice::from(..)
        }
    });
    let n = p.max_batch_elements();
    for j in 0..p.len() {
        let (mut x, mut y, mut z) = (vec![0; n], vec![0; n], vec![0; n]);
        let k = p.gather_into(base.clone(), j, &mut x).unwrap();
        p.gather_into(fortran.clone(), j, &mut y).unwrap();
        p.gather_into(strided.clone(), j, &mut z).unwrap();
        assert_eq!(x[..k], y[..k]);
        assert_eq!(x[..k], z[..k]);
        // And the views say the same.
        let views = p.batch_views(strided.clone(), j).unwrap();
        let flat: Vec<i32> = views.iter().flat_map(|v| v.iter().copied()).collect();
        assert_eq!(flat, x[..k]);
    }
}

#[cfg(feature = "parallel")]
#[test]
fn parallel_gather_equals_sequential() {
    let a = LabeledArray::arange_i32(&["band", "y", "x"], &[3, 30, 31]).unwrap();
    let data = i32_data(&a);
    for spec in [
        SliceSpec::new(&[("y", 8), ("x", 8)]).edge(EdgePolicy::Pad(-5.0)),
        SliceSpec::new(&[("y", 8), ("x", 8)])
            .input_overlap(&[("y", 2)])
            .batch_size(5, false),
        SliceSpec::new(&[("x", 8), ("y", 8)]).concat_input_dims(true),
    ] {
        let p = SlicePlan::for_array(&a, &spec).unwrap();
        let n = p.max_batch_elements();
        for j in 0..p.len() {
            let (mut s, mut q) = (vec![0; n], vec![1; n]);
            let k = p.gather_into(data.clone(), j, &mut s).unwrap();
            assert_eq!(p.gather_into_par(data.clone(), j, &mut q).unwrap(), k);
            assert_eq!(s[..k], q[..k], "{spec:?} batch {j}");
        }
    }
}

#[test]
fn edge_policy_parses() {
    assert_eq!("drop".parse::<EdgePolicy>().unwrap(), EdgePolicy::Drop);
    assert_eq!("pad".parse::<EdgePolicy>().unwrap(), EdgePolicy::Pad(0.0));
    assert!(matches!("pad:nan".parse::<EdgePolicy>().unwrap(), EdgePolicy::Pad(v) if v.is_nan()));
    assert_eq!(
        "shift".parse::<EdgePolicy>().unwrap(),
        EdgePolicy::ShiftLastInside
    );
    assert_eq!(
        "partial".parse::<EdgePolicy>().unwrap(),
        EdgePolicy::Partial
    );
    assert!("wrap".parse::<EdgePolicy>().is_err());
}
