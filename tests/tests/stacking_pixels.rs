//! Pixels of `geochip::stack::load` against odc-stac 0.5.3 and stackstac 0.5.1 on the
//! two-UTM-zone reference catalog (`tests/fixtures/stacking/`: the anchors' `.npy` outputs,
//! gzipped, and the catalog's GeoTIFFs). Acceptance (issue 5): same shape and dtype,
//! identical nodata masks, nearest ≥ 99.99 % identical, bilinear within 12 DN. Each case
//! prints its figures.
#![allow(clippy::unwrap_used)]

use std::io::Read;

use geochip::stac::{Item, parse_items};
use geochip::stack::{GridParams, LoadOptions, StackMode, XyCoords, load};
use geochip::warp::Resampling;
use geochip::{ArrayData, DType};
use geochip_tests::stack_reader::FileReader;
use ndarray_npy::ReadNpyExt;
use serde_json::Value;

fn read_json(rel: &str) -> Value {
    let text = std::fs::read_to_string(geochip_tests::fixture(rel)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The anchor's output as f64 values (NaN kept), its dtype and shape.
fn reference(case: &str) -> (Vec<f64>, DType, Vec<usize>) {
    let path = geochip_tests::fixture(&format!("stacking/npy/{case}.npy.gz"));
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    let want = read_json(&format!("stacking/{case}.json"));
    let dtype: DType = want["dtype"].as_str().unwrap().parse().unwrap();
    let cur = std::io::Cursor::new(bytes);
    let (vals, shape): (Vec<f64>, Vec<usize>) = match dtype {
        DType::U16 => {
            let a = ndarray::ArrayD::<u16>::read_npy(cur).unwrap();
            (
                a.iter().map(|v| f64::from(*v)).collect(),
                a.shape().to_vec(),
            )
        }
        DType::F32 => {
            let a = ndarray::ArrayD::<f32>::read_npy(cur).unwrap();
            (
                a.iter().map(|v| f64::from(*v)).collect(),
                a.shape().to_vec(),
            )
        }
        DType::F64 => {
            let a = ndarray::ArrayD::<f64>::read_npy(cur).unwrap();
            (a.iter().copied().collect(), a.shape().to_vec())
        }
        other => panic!("{case}: unexpected fixture dtype {other}"),
    };
    (vals, dtype, shape)
}

fn values(d: &ArrayData) -> Vec<f64> {
    match d {
        ArrayData::U16(a) => a.iter().map(|v| f64::from(*v)).collect(),
        ArrayData::F32(a) => a.iter().map(|v| f64::from(*v)).collect(),
        ArrayData::F64(a) => a.iter().copied().collect(),
        other => panic!("unexpected dtype {:?}", other.dtype()),
    }
}

fn params_of(p: &Value) -> (GridParams, LoadOptions) {
    let tool = p["tool"].as_str().unwrap();
    let get = |k: &str| p.get(k).filter(|v| !v.is_null()).map(text);
    let mut g = GridParams {
        mode: if tool == "stackstac" {
            StackMode::Stackstac
        } else {
            StackMode::Odc
        },
        ..GridParams::default()
    };
    if let Some(c) = get("crs") {
        g.crs = Some(c.parse().unwrap());
    }
    if let Some(e) = get("epsg") {
        g.crs = Some(format!("EPSG:{e}").parse().unwrap());
    }
    if let Some(r) = get("resolution") {
        let r: f64 = r.parse().unwrap();
        g.resolution = Some((r, r));
    }
    if let Some(gb) = get("groupby") {
        g.groupby = gb.parse().unwrap();
    }
    if get("snap_bounds").as_deref() == Some("False") {
        g.snap_bounds = false;
    }
    if get("xy_coords").as_deref() == Some("center") {
        g.xy_coords = XyCoords::Center;
    }
    let mut o = LoadOptions::default();
    if let Some(r) = get("resampling") {
        o.resampling = r.parse::<Resampling>().unwrap();
    }
    if let Some(d) = get("dtype") {
        o.dtype = Some(d.parse().unwrap());
    }
    if let Some(f) = get("fill_value") {
        o.nodata = Some(f.parse().unwrap());
    }
    if get("rescale").as_deref() == Some("False") {
        o.rescale = Some(false);
    }
    (g, o)
}

/// The catalog's items as pystac 1.15 hands them to stackstac in the `projcode_only` case.
fn without_proj_epsg(items: &[Item]) -> Vec<Item> {
    let mut items = items.to_vec();
    for item in &mut items {
        item.properties.remove("proj:epsg");
        for (_, a) in &mut item.assets.0 {
            a.fields.remove("proj:epsg");
        }
    }
    items
}

const CASES: [&str; 11] = [
    "odc_auto",
    "odc_epsg32755_res10_nearest",
    "odc_epsg32755_res10_solar_day",
    "odc_epsg32755_res20_bilinear",
    "odc_epsg32755_res20_bilinear_float32",
    "stackstac_epsg32755_native",
    "stackstac_epsg32755_res10_nearest_uint16_norescale_npfill",
    "stackstac_epsg32755_res10_nosnap",
    "stackstac_epsg32755_res20_bilinear",
    "stackstac_epsg32755_res20_bilinear_center",
    "stackstac_projcode_only_epsg32755",
];

#[test]
fn every_pixel_case_meets_the_acceptance_bar() {
    let text = std::fs::read_to_string(geochip_tests::fixture("stacking/items.json")).unwrap();
    let items = parse_items(&text).unwrap();
    let mut failures = Vec::new();
    for case in CASES {
        let want = read_json(&format!("stacking/{case}.json"));
        let (params, opts) = params_of(&want["params"]);
        let items = if case.contains("projcode_only") {
            without_proj_epsg(&items)
        } else {
            items.clone()
        };
        let mut reader = FileReader::new(geochip_tests::fixture("stacking"));
        let got = load(&items, &params, &opts, &mut reader, &mut |_, _| {})
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let (ref_vals, ref_dtype, ref_shape) = reference(case);
        assert_eq!(got.array.shape(), ref_shape.as_slice(), "{case}: shape");
        assert_eq!(got.array.dtype(), ref_dtype, "{case}: dtype");
        let ours = values(got.array.data());
        // Nodata: NaN for the float stackstac cases, else the fill value.
        let fill = got.nodata;
        let is_nd = |v: f64| if fill.is_nan() { v.is_nan() } else { v == fill };
        // DN units: undo stackstac's rescale (scale 0.0001, offset -0.1) when it applied.
        let rescaled = params.mode == StackMode::Stackstac && opts.rescale != Some(false);
        let dn = |v: f64| if rescaled { (v + 0.1) / 0.0001 } else { v };
        let (mut mask_diff, mut same, mut valid, mut max_dn) = (0usize, 0usize, 0usize, 0f64);
        for (a, b) in ours.iter().zip(&ref_vals) {
            match (is_nd(*a), is_nd(*b)) {
                (true, true) => {}
                (false, false) => {
                    valid += 1;
                    if a == b {
                        same += 1;
                    }
                    max_dn = max_dn.max((dn(*a) - dn(*b)).abs());
                }
                _ => mask_diff += 1,
            }
        }
        let nodata = ref_vals.iter().filter(|v| is_nd(**v)).count();
        let pct = 100.0 * same as f64 / valid.max(1) as f64;
        println!(
            "{case}: shape {:?} {}; nodata {nodata} (mask differences {mask_diff}); \
             identical {same}/{valid} = {pct:.4} %; max |diff| {max_dn:.4} DN",
            ref_shape, ref_dtype
        );
        let bilinear = opts.resampling == Resampling::Bilinear;
        if mask_diff != 0 {
            failures.push(format!("{case}: {mask_diff} nodata mask differences"));
        }
        if bilinear && max_dn > 12.0 + 1e-6 {
            failures.push(format!("{case}: bilinear max diff {max_dn} DN > 12"));
        }
        if !bilinear && pct < 99.99 {
            failures.push(format!("{case}: nearest only {pct} % identical"));
        }
        assert_eq!(got.grid.time.len(), ref_shape[0], "{case}: time");
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

fn catalog() -> Vec<Item> {
    let text = std::fs::read_to_string(geochip_tests::fixture("stacking/items.json")).unwrap();
    parse_items(&text).unwrap()
}

fn reader() -> FileReader {
    FileReader::new(geochip_tests::fixture("stacking"))
}

fn nothing(_: usize, _: usize) {}

#[test]
fn groupby_time_fuses_first_valid_in_sort_order() {
    // t0 and t2 (both EPSG:32755) at the same timestamp: odc groups them into one entry and
    // copies t2's pixels only where t0's are still nodata (odc-loader's nodata fuser).
    let mut items: Vec<Item> = catalog().into_iter().filter(|i| i.id != "t1-z56").collect();
    let t = items[0].properties["datetime"].clone();
    items[1].properties.insert("datetime".into(), t);
    let per_item = load(
        &items,
        &GridParams {
            groupby: geochip::stack::GroupBy::Id,
            ..GridParams::default()
        },
        &LoadOptions::default(),
        &mut reader(),
        &mut nothing,
    )
    .unwrap();
    let fused = load(
        &items,
        &GridParams::default(),
        &LoadOptions::default(),
        &mut reader(),
        &mut nothing,
    )
    .unwrap();
    assert_eq!(fused.array.shape()[0], 1);
    assert_eq!(fused.grid.time_items, vec![vec!["t0-z55", "t2-z55"]]);
    let a = values(per_item.array.data());
    let f = values(fused.array.data());
    let plane = f.len();
    let (mut from_first, mut from_second) = (0, 0);
    for p in 0..plane {
        let (x, y) = (a[p], a[plane + p]);
        let want = if x != 0.0 { x } else { y };
        assert_eq!(f[p], want, "pixel {p}");
        if x != 0.0 {
            from_first += 1;
        } else if y != 0.0 {
            from_second += 1;
        }
    }
    assert!(
        from_first > 0 && from_second > 0,
        "{from_first} {from_second}"
    );
}

#[test]
fn mosaic_puts_the_last_item_on_top() {
    let items = catalog();
    let params = GridParams {
        mode: StackMode::Stackstac,
        crs: Some("EPSG:32755".parse().unwrap()),
        ..GridParams::default()
    };
    let cube = load(
        &items,
        &params,
        &LoadOptions::default(),
        &mut reader(),
        &mut nothing,
    )
    .unwrap();
    let m = geochip::stack::mosaic(&cube.array, false, f64::NAN).unwrap();
    assert_eq!(m.shape(), &[4, 76, 83]);
    let c = values(cube.array.data());
    let mv = values(m.data());
    let n = mv.len();
    for (p, v) in mv.iter().enumerate() {
        let stack = [c[p], c[n + p], c[2 * n + p]];
        let want = stack.iter().rev().copied().find(|x| !x.is_nan());
        match want {
            Some(w) => assert_eq!(*v, w),
            None => assert!(v.is_nan()),
        }
    }
}

/// One item whose asset `B02` points at `href` (relative to the stacking fixtures).
fn item_with_href(href: &str, epsg: u32) -> Vec<Item> {
    let json = format!(
        r#"{{"type": "Feature", "id": "odd", "properties": {{"datetime": "2024-01-05T00:10:00Z",
        "proj:epsg": {epsg}}}, "assets": {{"B02": {{"href": "{href}", "type": "image/tiff",
        "proj:shape": [64, 64], "proj:transform": [10, 0, 767920, 0, -10, 6090010]}}}}}}"#
    );
    parse_items(&json).unwrap()
}

#[test]
fn bad_assets_give_typed_errors_naming_item_and_asset() {
    use geochip::stack::{AssetErrorKind, StackError};
    let ss = GridParams {
        mode: StackMode::Stackstac,
        crs: Some("EPSG:32755".parse().unwrap()),
        ..GridParams::default()
    };
    // A corrupt asset (not a TIFF) fails both modes, naming item, asset and href ...
    let corrupt = item_with_href("items.json", 32755);
    for params in [GridParams::default(), ss.clone()] {
        match load(
            &corrupt,
            &params,
            &LoadOptions::default(),
            &mut reader(),
            &mut nothing,
        ) {
            Err(StackError::Read {
                item,
                asset,
                href,
                kind,
                ..
            }) => {
                assert_eq!((item.as_str(), asset.as_str()), ("odd", "B02"));
                assert_eq!(
                    (href.as_str(), kind),
                    ("items.json", AssetErrorKind::Corrupt)
                );
            }
            other => panic!("expected a Read error, got {other:?}"),
        }
    }
    // ... unless errors_as_nodata lists its kind: then the band is fill.
    let opts = LoadOptions {
        errors_as_nodata: Some(vec![AssetErrorKind::Corrupt]),
        ..LoadOptions::default()
    };
    let cube = load(&corrupt, &ss, &opts, &mut reader(), &mut nothing).unwrap();
    assert!(values(cube.array.data()).iter().all(|v| v.is_nan()));
    // A missing file: stackstac's default errors_as_nodata (404) makes it fill; odc fails.
    let missing = item_with_href("catalog/nope.tif", 32755);
    let cube = load(
        &missing,
        &ss,
        &LoadOptions::default(),
        &mut reader(),
        &mut nothing,
    )
    .unwrap();
    assert!(values(cube.array.data()).iter().all(|v| v.is_nan()));
    let err = load(
        &missing,
        &GridParams::default(),
        &LoadOptions::default(),
        &mut reader(),
        &mut nothing,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            StackError::Read {
                kind: AssetErrorKind::NotFound,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("odd") && err.to_string().contains("catalog/nope.tif"));
    // A multi-band file (rasterio's 3-band RGB.byte.tif) in stackstac mode.
    let rgb = geochip_tests::sample_data("RGB.byte.tif");
    let multi = item_with_href(rgb.to_str().unwrap(), 32755);
    match load(
        &multi,
        &ss,
        &LoadOptions::default(),
        &mut reader(),
        &mut nothing,
    ) {
        Err(StackError::MultiBandAsset { item, asset, count }) => {
            assert_eq!((item.as_str(), asset.as_str(), count), ("odd", "B02", 3))
        }
        other => panic!("expected MultiBandAsset, got {other:?}"),
    }
    // An integer stackstac cube needs a fill value; a float scale cannot rescale integers.
    let opts = LoadOptions {
        dtype: Some(DType::U16),
        ..LoadOptions::default()
    };
    assert!(matches!(
        load(&catalog(), &ss, &opts, &mut reader(), &mut nothing),
        Err(StackError::BadParams { .. })
    ));
    // An absurd output is refused before anything is read or allocated.
    let mut counting = reader();
    let huge = GridParams {
        crs: Some("EPSG:32755".parse().unwrap()),
        resolution: Some((0.001, 0.001)),
        max_pixels: 10_000_000,
        ..GridParams::default()
    };
    assert!(matches!(
        load(
            &catalog(),
            &huge,
            &LoadOptions::default(),
            &mut counting,
            &mut nothing
        ),
        Err(StackError::TooLarge { .. })
    ));
    assert_eq!(counting.opens, 0);
}

#[test]
fn odc_rescale_gives_float_reflectance_with_nan_fill() {
    let opts = LoadOptions {
        dtype: Some(DType::F64),
        rescale: Some(true),
        ..LoadOptions::default()
    };
    let p = GridParams {
        groupby: geochip::stack::GroupBy::Id,
        ..GridParams::default()
    };
    let cube = load(&catalog(), &p, &opts, &mut reader(), &mut nothing).unwrap();
    // odc-stac's own uint16 cube (groupby id) rescaled: DN * 0.0001 - 0.1, NaN where DN is
    // nodata (stackstac's cube differs in a few reprojected pixels: its VRT blocks sample
    // the approximate transformer elsewhere).
    let (dn, _, _) = reference("odc_auto");
    let got = values(cube.array.data());
    assert_eq!(got.len(), dn.len());
    for (a, d) in got.iter().zip(&dn) {
        if *d == 0.0 {
            assert!(a.is_nan(), "{a} where odc has nodata");
        } else {
            assert_eq!(*a, d * 0.0001 + -0.1);
        }
    }
}

#[test]
fn groupby_property_fuses_items_sharing_a_value() {
    use geochip::stack::{GroupBy, StackError};
    // Every catalog item has platform "synthetic-2a": one entry, fused in (time, id) order,
    // stamped with the first item's time.
    let p = GridParams {
        groupby: "platform".parse().unwrap(),
        ..GridParams::default()
    };
    assert_eq!(p.groupby, GroupBy::Property("platform".into()));
    let cube = load(
        &catalog(),
        &p,
        &LoadOptions::default(),
        &mut reader(),
        &mut nothing,
    )
    .unwrap();
    assert_eq!(cube.array.shape(), &[1, 4, 76, 83]);
    assert_eq!(cube.grid.time, vec!["2024-01-05T00:10:00.000000000"]);
    assert_eq!(
        cube.grid.time_items,
        vec![vec!["t0-z55", "t1-z56", "t2-z55"]]
    );
    // First valid wins: equal to fusing odc-stac's own per-item planes (odc_auto.npy).
    let (per_item, _, _) = reference("odc_auto");
    let got = values(cube.array.data());
    let plane = 4 * 76 * 83;
    for (p, g) in got.iter().enumerate() {
        let want = (0..3)
            .map(|t| per_item[t * plane + p])
            .find(|v| *v != 0.0)
            .unwrap_or(0.0);
        assert_eq!(*g, want, "pixel {p}");
    }
    // A property some item lacks is an error naming the item.
    let p = GridParams {
        groupby: "cloudless".parse().unwrap(),
        ..GridParams::default()
    };
    match load(
        &catalog(),
        &p,
        &LoadOptions::default(),
        &mut reader(),
        &mut nothing,
    ) {
        Err(StackError::BadParams { what }) => assert!(what.contains("t0-z55"), "{what}"),
        other => panic!("expected BadParams, got {other:?}"),
    }
}
