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
