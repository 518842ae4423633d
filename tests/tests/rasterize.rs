//! Rasterization parity with rasterio 1.4.4 / GDAL 3.10.3 on the fixture cases in
//! `tests/fixtures/rasterize/` (see its PROVENANCE.md): every case, every mode, 0 mismatches.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use geochip::rasterize::{
    BurnValue, MergeAlg, RasterizeOptions, Rasterizer, ReadOptions, read_geojson,
};
use geochip::{ArrayData, DType, GeoTransform, Grid};
use serde_json::Value;

const CASES: [&str; 15] = [
    "border_crossing",
    "bowtie",
    "closed_linestring",
    "diamond_identity",
    "float_add",
    "lines",
    "multipolygon_overlap",
    "points",
    "polygon_with_hole",
    "rotated_transform",
    "sliver",
    "square_on_centers_identity",
    "square_on_centers_world",
    "square_on_pixel_edges",
    "triangle_vertex_on_center",
];

fn read(rel: &str) -> String {
    let path = geochip_tests::fixture(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn grid_of(v: &Value) -> Grid {
    let affine: Vec<f64> = v["affine"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    Grid::new(
        GeoTransform::from_affine(affine.try_into().unwrap()),
        v["width"].as_u64().unwrap() as usize,
        v["height"].as_u64().unwrap() as usize,
        None,
    )
    .unwrap()
}

/// The burned array as f64 values, row-major.
fn values(a: &ArrayData) -> Vec<f64> {
    match a {
        ArrayData::U8(a) => a.iter().map(|v| f64::from(*v)).collect(),
        ArrayData::F32(a) => a.iter().map(|v| f64::from(*v)).collect(),
        ArrayData::I64(a) => a.iter().map(|v| *v as f64).collect(),
        other => panic!("unexpected dtype {:?}", other.dtype()),
    }
}

#[test]
fn every_fixture_case_and_mode_matches_rasterio() {
    let mut checked = 0;
    let mut report = Vec::new();
    for case in CASES {
        let shapes = read_geojson(
            &read(&format!("rasterize/{case}.geojson")),
            &ReadOptions {
                value_property: Some("value".into()),
                skip_invalid: false,
                ..Default::default()
            },
        )
        .unwrap();
        let expected: Value =
            serde_json::from_str(&read(&format!("rasterize/{case}.expected.json"))).unwrap();
        let grid = grid_of(&expected["grid"]);
        for res in expected["results"].as_array().unwrap() {
            let opts = RasterizeOptions {
                all_touched: res["all_touched"].as_bool().unwrap(),
                merge: res["merge_alg"]
                    .as_str()
                    .unwrap()
                    .parse::<MergeAlg>()
                    .unwrap(),
                dtype: Some(res["dtype"].as_str().unwrap().parse::<DType>().unwrap()),
                fill: BurnValue::Float(res["fill"].as_f64().unwrap()),
                skip_invalid: false,
                bands: 0,
            };
            let out = Rasterizer::new(&shapes.shapes, &grid, &opts)
                .unwrap()
                .burn()
                .unwrap();
            assert_eq!(out.shape(), &[grid.height, grid.width]);
            let got = values(out.data());
            let want: Vec<f64> = res["array"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
                .collect();
            let bad: Vec<(usize, usize, f64, f64)> = got
                .iter()
                .zip(&want)
                .enumerate()
                .filter(|(_, (g, w))| g.to_bits() != w.to_bits() && g != w)
                .map(|(i, (g, w))| (i / grid.width, i % grid.width, *g, *w))
                .collect();
            if !bad.is_empty() {
                report.push(format!(
                    "{case} all_touched={} merge={}: {} mismatches (row, col, got, want): {:?}",
                    opts.all_touched,
                    res["merge_alg"],
                    bad.len(),
                    &bad[..bad.len().min(12)]
                ));
            }
            checked += 1;
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
    assert_eq!(checked, 58);
}
