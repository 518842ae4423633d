//! Output grids of `geochip::stack::output_grid` against odc-stac 0.5.3 and stackstac 0.5.1:
//! every case of the two-UTM-zone reference catalog (`tests/fixtures/stacking/*.json`) and the
//! real Sentinel-2 / Landsat items (`tests/fixtures/stacking/real/expected/*.json`, written by
//! `make_real_grids.py` with the anchors themselves).
#![allow(clippy::unwrap_used)]

use geochip::stac::{Item, parse_items};
use geochip::stack::{GridParams, GroupBy, StackError, StackMode, XyCoords, output_grid};
use serde_json::Value;

fn read_json(rel: &str) -> Value {
    let path = geochip_tests::fixture(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn read_items(rel: &str) -> Vec<Item> {
    let text = std::fs::read_to_string(geochip_tests::fixture(rel)).unwrap();
    parse_items(&text).unwrap()
}

/// `value` as a number, whether the fixture wrote `10` or `"10"`.
fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => s.parse().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// The anchors' parameters as [`GridParams`].
fn params_of(tool: &str, p: &Value) -> GridParams {
    let mut g = GridParams {
        mode: if tool == "stackstac" {
            StackMode::Stackstac
        } else {
            StackMode::Odc
        },
        ..GridParams::default()
    };
    let get = |k: &str| p.get(k).filter(|v| !v.is_null());
    if let Some(c) = get("crs") {
        g.crs = Some(c.as_str().unwrap().parse().unwrap());
    }
    if let Some(e) = get("epsg") {
        g.crs = Some(format!("EPSG:{}", num(e) as u32).parse().unwrap());
    }
    if let Some(r) = get("resolution") {
        let r = num(r);
        g.resolution = Some((r, r));
    }
    if let Some(b) = get("bands").or_else(|| get("assets")) {
        g.bands = Some(strings(b));
    }
    if let Some(b) = get("bbox").or_else(|| get("bounds_latlon")) {
        let v: Vec<f64> = b.as_array().unwrap().iter().map(num).collect();
        g.bbox = Some([v[0], v[1], v[2], v[3]]);
    }
    if let Some(a) = get("anchor") {
        g.anchor = Some(a.as_str().unwrap().parse().unwrap());
    }
    if let Some(gb) = get("groupby") {
        g.groupby = gb.as_str().unwrap().parse().unwrap();
    }
    if let Some(s) = get("snap_bounds") {
        g.snap_bounds = !matches!(s, Value::Bool(false)) && s.as_str() != Some("False");
    }
    if get("xy_coords").and_then(Value::as_str) == Some("center") {
        g.xy_coords = XyCoords::Center;
    }
    g
}

/// The EPSG code of a fixture CRS (`EPSG:n` or WKT2 ending in `ID["EPSG",n]]`).
fn fixture_epsg(crs: &str) -> u32 {
    geochip::proj::epsg_of(&crs.parse().unwrap()).unwrap()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    a == b || (a - b).abs() <= rel * a.abs().max(b.abs())
}

/// Compares grid (CRS, transform, shape) and coordinates; `rel = 0` means bit-exact.
fn check(case: &str, got: &geochip::stack::StackGrid, want: &Value, rel: f64) {
    let g = &want["grid"];
    assert_eq!(
        got.grid.crs.as_ref().and_then(geochip::proj::epsg_of),
        Some(fixture_epsg(g["crs"].as_str().unwrap())),
        "{case}: crs"
    );
    let shape: Vec<usize> = g["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(
        vec![got.grid.height, got.grid.width],
        shape,
        "{case}: shape"
    );
    let t: Vec<f64> = g["transform"].as_array().unwrap().iter().map(num).collect();
    let gt = got.grid.transform.to_affine();
    for i in 0..6 {
        assert!(
            close(gt[i], t[i], rel),
            "{case}: transform[{i}] {} != {} (got {gt:?})",
            gt[i],
            t[i]
        );
    }
    let c = &want["coords"];
    assert_eq!(got.time, strings(&c["time"]), "{case}: time");
    assert_eq!(got.band, strings(&c["band"]), "{case}: band");
    for (axis, vals) in [("x", &got.x), ("y", &got.y)] {
        let w = &c[axis];
        if let Some(all) = w.as_array() {
            let all: Vec<f64> = all.iter().map(num).collect();
            assert_eq!(vals.len(), all.len(), "{case}: {axis} length");
            for (i, (a, b)) in vals.iter().zip(&all).enumerate() {
                assert!(close(*a, *b, rel), "{case}: {axis}[{i}] {a} != {b}");
            }
        } else {
            assert_eq!(
                vals.len() as u64,
                w["len"].as_u64().unwrap(),
                "{case}: {axis} len"
            );
            let head: Vec<f64> = w["head"].as_array().unwrap().iter().map(num).collect();
            let tail: Vec<f64> = w["tail"].as_array().unwrap().iter().map(num).collect();
            for (i, b) in head.iter().enumerate() {
                assert!(
                    close(vals[i], *b, rel),
                    "{case}: {axis}[{i}] {} != {b}",
                    vals[i]
                );
            }
            let off = vals.len() - tail.len();
            for (i, b) in tail.iter().enumerate() {
                let a = vals[off + i];
                assert!(close(a, *b, rel), "{case}: {axis}[{}] {a} != {b}", off + i);
            }
        }
    }
}

const CATALOG_CASES: [&str; 11] = [
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

/// The catalog's items as stackstac saw them in the `projcode_only` cases: pystac 1.15 drops
/// `proj:epsg` from projection-v2 items on read, so only `proj:code` remains.
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

#[test]
fn every_catalog_case_matches_its_anchor() {
    let items = read_items("stacking/items.json");
    let mut seen = 0;
    for case in CATALOG_CASES {
        let want = read_json(&format!("stacking/{case}.json"));
        let tool = want["params"]["tool"].as_str().unwrap();
        let params = params_of(tool, &want["params"]);
        let (items, rel) = if case.contains("projcode_only") {
            // Grid from the lon/lat bbox reprojected by our transverse Mercator instead of
            // PROJ: equal to ~1e-12 relative, shape exact.
            (without_proj_epsg(&items), 1e-11)
        } else if case.contains("nosnap") {
            // Unsnapped: the right edge is the zone-56 item's reprojected corner, so the
            // linspace step carries our projection's last-digit differences from PROJ.
            (items.clone(), 1e-14)
        } else {
            (items.clone(), 0.0)
        };
        let got = output_grid(&items, &params).unwrap_or_else(|e| panic!("{case}: {e}"));
        check(case, &got, &want, rel);
        if tool == "stackstac" {
            let ids: Vec<String> = got.time_items.iter().map(|v| v[0].clone()).collect();
            assert_eq!(ids, strings(&want["coords"]["id"]), "{case}: id");
        }
        seen += 1;
    }
    assert_eq!(seen, CATALOG_CASES.len());
}

#[test]
fn catalog_error_cases_match_the_anchors() {
    let errors = read_json("stacking/errors.json");
    let items = read_items("stacking/items.json");
    // stackstac, no epsg: mixed zones -> "Cannot pick a common CRS" naming item 1's B02.
    assert!(
        errors["stackstac_auto_mixed"]
            .as_str()
            .unwrap()
            .contains("Cannot pick a common CRS")
    );
    let params = GridParams {
        mode: StackMode::Stackstac,
        ..GridParams::default()
    };
    match output_grid(&items, &params) {
        Err(StackError::MixedCrs {
            item,
            asset,
            found,
            before,
        }) => {
            assert_eq!((item.as_str(), asset.as_str()), ("t1-z56", "B02"));
            assert_eq!(
                (found.as_str(), before.as_str()),
                ("EPSG:32756", "EPSG:32755")
            );
        }
        other => panic!("expected MixedCrs, got {other:?}"),
    }
    // stackstac, proj:code only and no epsg: the first asset has no CRS.
    assert!(
        errors["stackstac_projcode_only_auto"]
            .as_str()
            .unwrap()
            .contains("asset 'B02' of item 0 't0-z55' does not have one")
    );
    match output_grid(&without_proj_epsg(&items), &params) {
        Err(StackError::NoCrs { item, asset }) => {
            assert_eq!((item.as_str(), asset.as_str()), ("t0-z55", "B02"))
        }
        other => panic!("expected NoCrs, got {other:?}"),
    }
    // odc reads proj:code, so the same items stack without a CRS argument.
    let odc = output_grid(&without_proj_epsg(&items), &GridParams::default()).unwrap();
    assert_eq!(odc.grid.crs, Some(geochip::Crs::Epsg(32755)));
}

#[test]
fn real_items_match_odc_stac_and_stackstac() {
    let dir = geochip_tests::fixture("stacking/real/expected");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 20,
        "expected the generated cases, found {names:?}"
    );
    for name in &names {
        let want = read_json(&format!("stacking/real/expected/{name}"));
        let case = want["case"].as_str().unwrap();
        let items = read_items(&format!(
            "stacking/real/{}",
            want["items"].as_str().unwrap()
        ));
        let tool = want["tool"].as_str().unwrap();
        let params = params_of(tool, &want["params"]);
        let got = output_grid(&items, &params).unwrap_or_else(|e| panic!("{case}: {e}"));
        // stackstac's resolution for a foreign-zone asset is the extent of one reprojected
        // pixel 600 km off the central meridian, so the transform carries our projection's
        // micrometre-level differences from PROJ (~7e-12 relative); snapped grids are
        // bit-exact.
        let rel = if case == "stackstac_ls8_epsg32655" {
            1e-10
        } else {
            0.0
        };
        check(case, &got, &want, rel);
    }
}

#[test]
fn solar_day_groups_items_by_local_date() {
    let items = read_items("stacking/real/site2-2020_jun_jul-35MNM.geojson");
    let params = GridParams {
        bands: Some(vec!["B04".into()]),
        bbox: Some([27.1, -8.0, 27.3, -7.8]),
        groupby: GroupBy::SolarDay,
        ..GridParams::default()
    };
    let got = output_grid(&items, &params).unwrap();
    assert_eq!(got.time.len(), 13);
    assert!(got.time_items.iter().all(|g| g.len() == 1));
    // Two copies of each item on the same day fuse into one entry per day.
    let mut doubled = items.clone();
    doubled.extend(items.iter().cloned().map(|mut i| {
        i.id.push_str("-copy");
        i
    }));
    let got = output_grid(&doubled, &params).unwrap();
    assert_eq!(got.time.len(), 13);
    assert!(got.time_items.iter().all(|g| g.len() == 2));
}

#[test]
fn bad_input_gives_typed_errors_naming_item_and_asset() {
    // No projection metadata and no bbox/geometry.
    let json = r#"{"type": "Feature", "id": "bare", "properties": {"datetime": "2024-01-01T00:00:00Z"},
                   "assets": {"B01": {"href": "b.tif", "type": "image/tiff"}}}"#;
    let items = parse_items(json).unwrap();
    let odc = GridParams {
        crs: Some("EPSG:32755".parse().unwrap()),
        resolution: Some((10.0, 10.0)),
        ..GridParams::default()
    };
    match output_grid(&items, &odc) {
        Err(StackError::NoFootprint { item, asset }) => {
            assert_eq!((item.as_str(), asset.as_str()), ("bare", "B01"))
        }
        other => panic!("expected NoFootprint, got {other:?}"),
    }
    assert!(matches!(
        output_grid(&items, &GridParams::default()),
        Err(StackError::NoGridInfo { .. })
    ));
    let ss = GridParams {
        mode: StackMode::Stackstac,
        crs: Some("EPSG:32755".parse().unwrap()),
        resolution: Some((10.0, 10.0)),
        ..GridParams::default()
    };
    match output_grid(&items, &ss) {
        Err(StackError::NoFootprint { item, asset }) => {
            assert_eq!((item.as_str(), asset.as_str()), ("bare", "B01"))
        }
        other => panic!("expected NoFootprint, got {other:?}"),
    }
    // A band no item has.
    let catalog = read_items("stacking/items.json");
    let p = GridParams {
        bands: Some(vec!["B99".into()]),
        ..GridParams::default()
    };
    assert_eq!(
        output_grid(&catalog, &p),
        Err(StackError::UnknownBand { band: "B99".into() })
    );
    // eo:bands common names are aliases in odc mode.
    let p = GridParams {
        bands: Some(vec!["red".into(), "nir".into()]),
        ..GridParams::default()
    };
    assert_eq!(output_grid(&catalog, &p).unwrap().band, vec!["red", "nir"]);
    // Absurd output size: refused before anything is allocated.
    let p = GridParams {
        crs: Some("EPSG:32755".parse().unwrap()),
        resolution: Some((0.01, 0.01)),
        max_pixels: 1_000_000_000,
        ..GridParams::default()
    };
    match output_grid(&catalog, &p) {
        Err(StackError::TooLarge { total, budget, .. }) => {
            assert_eq!(budget, 1_000_000_000);
            assert!(total > u128::from(budget));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // Multi-band asset in stackstac mode.
    let mut multi = catalog.clone();
    multi[0].assets.0[0].1.fields.insert(
        "raster:bands".into(),
        serde_json::json!([{"data_type": "uint8"}, {"data_type": "uint8"}]),
    );
    let p = GridParams {
        mode: StackMode::Stackstac,
        crs: Some("EPSG:32755".parse().unwrap()),
        ..GridParams::default()
    };
    match output_grid(&multi, &p) {
        Err(StackError::MultiBandAsset { item, asset, count }) => {
            assert_eq!((item.as_str(), asset.as_str(), count), ("t0-z55", "B02", 2))
        }
        other => panic!("expected MultiBandAsset, got {other:?}"),
    }
    // A missing asset is not an error: that band is fill for the item (both modes).
    let mut missing = catalog.clone();
    missing[1].assets.0.retain(|(k, _)| k != "B08");
    let got = output_grid(
        &missing,
        &GridParams {
            groupby: GroupBy::Id,
            ..GridParams::default()
        },
    )
    .unwrap();
    assert_eq!(got.band.len(), 4);
    assert_eq!(got.time.len(), 3);
}

#[test]
fn stac_metadata_is_read_from_real_items() {
    let items = read_items(
        "stacking/real/S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531_raster_ext.json",
    );
    let item = &items[0];
    let p = item.projection("B01").unwrap();
    assert_eq!(p.crs, Some(geochip::Crs::Epsg(32606)));
    assert_eq!(p.shape, Some((1830, 1830)));
    assert_eq!(p.bbox, Some([399960.0, 6690240.0, 509760.0, 6800040.0]));
    let rb = item.raster_bands("B04").unwrap();
    assert_eq!(rb.len(), 1);
    assert_eq!(
        item.eo_bands("B08").unwrap()[0].common_name.as_deref(),
        Some("nir")
    );
    // Landsat ARD: item-level proj fields, 9-value transforms.
    let ls = read_items("stacking/real/ga_ls8c_ard_3-1-0_088080_2020-05-25_final.stac-item.json");
    let p = ls[0].projection("nbart_panchromatic").unwrap();
    assert_eq!(p.crs, Some(geochip::Crs::Epsg(32656)));
    assert_eq!(
        p.transform.unwrap().to_affine(),
        [15.0, 0.0, 526792.5, 0.0, -15.0, -3077092.5]
    );
    assert_eq!(p.shape, Some((15681, 15561)));
}
