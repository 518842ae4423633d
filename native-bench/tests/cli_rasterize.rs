//! `geochip rasterize` as a user runs it: the real binary on the rasterio fixture cases.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::PathBuf;

mod common;
use common::{geochip, ok, repo};

/// A path `name` inside this test's own fresh scratch directory.
fn tmp(name: &str) -> PathBuf {
    common::scratch("cli-rasterize", name).join(name)
}

/// rasterio's array for one mode of a fixture case, flattened.
fn expected(case: &str, all_touched: bool, merge: &str) -> Vec<u8> {
    let path = repo().join(format!("tests/fixtures/rasterize/{case}.expected.json"));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let res = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["all_touched"] == all_touched && r["merge_alg"] == merge)
        .unwrap();
    res["array"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u8)
        })
        .collect()
}

#[test]
fn npy_output_matches_rasterio_and_is_never_overwritten() {
    let out = tmp("world.npy");
    let o = out.to_str().unwrap();
    let args = [
        "rasterize",
        "--shapes",
        "tests/fixtures/rasterize/multipolygon_overlap.geojson",
        "--value-property",
        "value",
        "--width",
        "10",
        "--height",
        "10",
        "--transform",
        "10,0,1000,0,-10,1100",
        "--all-touched",
        "--merge",
        "add",
        "--dtype",
        "uint8",
        "--out",
        o,
    ];
    let r = geochip(&args);
    ok(&r);
    let summary: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(summary["primitives"], 3); // the MultiPolygon's parts
    let a: ndarray::Array2<u8> = ndarray_npy::read_npy(&out).unwrap();
    assert_eq!(a.shape(), &[10, 10]);
    assert_eq!(
        a.iter().copied().collect::<Vec<_>>(),
        expected("multipolygon_overlap", true, "add")
    );

    // Second run: refused, file untouched; with --force it goes through.
    let before = std::fs::read(&out).unwrap();
    let r = geochip(&args);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("--force"));
    assert_eq!(std::fs::read(&out).unwrap(), before);
    let mut forced = args.to_vec();
    forced.push("--force");
    assert!(geochip(&forced).status.success());
}

#[test]
fn geotiff_output_is_georeferenced_and_like_reuses_its_grid() {
    let tif = tmp("labels.tif");
    let t = tif.to_str().unwrap();
    let r = geochip(&[
        "rasterize",
        "--shapes",
        "tests/fixtures/rasterize/square_on_centers_world.geojson",
        "--value-property",
        "value",
        "--width",
        "10",
        "--height",
        "10",
        "--transform",
        "10,0,1000,0,-10,1100",
        "--crs",
        "EPSG:32633",
        "--dtype",
        "uint8",
        "--out",
        t,
    ]);
    ok(&r);
    let info = geochip::geotiff::read_info(t, &std::fs::read(&tif).unwrap()).unwrap();
    assert!(info.georeferenced);
    assert_eq!(
        info.grid.transform.to_affine(),
        [10.0, 0.0, 1000.0, 0.0, -10.0, 1100.0]
    );
    assert_eq!(info.grid.crs, Some(geochip::Crs::Epsg(32633)));
    assert_eq!((info.grid.width, info.grid.height), (10, 10));
    assert_eq!(info.dtype, geochip::DType::U8);

    // --like: same grid from the file; the burned pixels equal rasterio's (4 cols x 5 rows).
    let npy = tmp("like.npy");
    let r = geochip(&[
        "rasterize",
        "--shapes",
        "tests/fixtures/rasterize/square_on_centers_world.geojson",
        "--value-property",
        "value",
        "--like",
        t,
        "--dtype",
        "uint8",
        "--out",
        npy.to_str().unwrap(),
    ]);
    ok(&r);
    let a: ndarray::Array2<u8> = ndarray_npy::read_npy(&npy).unwrap();
    assert_eq!(
        a.iter().copied().collect::<Vec<_>>(),
        expected("square_on_centers_world", false, "replace")
    );
    assert_eq!(a.iter().filter(|v| **v == 1).count(), 20);
}

#[test]
fn bad_input_is_reported_not_panicked() {
    let out = tmp("bad.npy");
    let o = out.to_str().unwrap();
    let bad = tmp("bad.geojson");
    std::fs::write(&bad, "{\"type\": \"FeatureCollection\", \"features\": [").unwrap();
    let base = [
        "--width",
        "4",
        "--height",
        "4",
        "--transform",
        "1,0,0,0,1,0",
        "--out",
        o,
    ];
    let r = geochip(
        &[
            &["rasterize", "--shapes", bad.to_str().unwrap()][..],
            &base[..],
        ]
        .concat(),
    );
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("GeoJSON"));
    // A non-invertible transform.
    let r = geochip(&[
        "rasterize",
        "--shapes",
        "tests/fixtures/rasterize/points.geojson",
        "--width",
        "4",
        "--height",
        "4",
        "--transform",
        "1,2,0,2,4,0",
        "--out",
        o,
    ]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("not invertible"));
    // An invalid feature is skipped with a warning naming it; --strict fails.
    let one = tmp("one.geojson");
    std::fs::write(
        &one,
        r#"[{"type": "Point", "coordinates": [1.5, 1.5]}, {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}]"#,
    )
    .unwrap();
    let r = geochip(
        &[
            &["rasterize", "--shapes", one.to_str().unwrap()][..],
            &base[..],
        ]
        .concat(),
    );
    ok(&r);
    assert!(String::from_utf8_lossy(&r.stderr).contains("skipped feature 1"));
    let _ = std::fs::remove_file(&out);
    let r = geochip(
        &[
            &["rasterize", "--strict", "--shapes", one.to_str().unwrap()][..],
            &base[..],
        ]
        .concat(),
    );
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("feature 1"));
}

#[test]
fn zarr_output_is_georeferenced_and_matches_rasterio() {
    let dir = common::scratch("cli-rasterize", "zarr");
    let out = dir.join("labels.zarr");
    let o = out.to_str().unwrap();
    let args = [
        "rasterize",
        "--shapes",
        "tests/fixtures/rasterize/multipolygon_overlap.geojson",
        "--value-property",
        "value",
        "--width",
        "10",
        "--height",
        "10",
        "--transform",
        "10,0,1000,0,-10,1100",
        "--crs",
        "EPSG:32633",
        "--all-touched",
        "--merge",
        "add",
        "--dtype",
        "uint8",
        "--chunks",
        "4,4",
        "--out",
        o,
    ];
    common::ok(&geochip(&args));
    let labels = common::zarr_store(&out).open_array("/labels").unwrap();
    assert_eq!(labels.dims(), &["y", "x"]);
    let grid = labels.grid().unwrap();
    assert_eq!(
        grid.transform.to_affine(),
        [10.0, 0.0, 1000.0, 0.0, -10.0, 1100.0]
    );
    assert_eq!(grid.crs, Some(geochip::Crs::Epsg(32633)));
    let a = labels.read().unwrap();
    assert_eq!(
        a.data().to_le_bytes(),
        expected("multipolygon_overlap", true, "add")
    );
    // rioxarray's grid-mapping variable sits beside it.
    let sref = common::zarr_store(&out).open_array("/spatial_ref").unwrap();
    assert_eq!(
        sref.attributes()["GeoTransform"],
        "1000.0 10.0 0.0 1100.0 0.0 -10.0"
    );
    // Refused without --force, the store untouched; --force replaces it.
    let before = std::fs::read(out.join("labels/c/0/0")).unwrap();
    common::fails_with(&geochip(&args), "--force");
    assert_eq!(std::fs::read(out.join("labels/c/0/0")).unwrap(), before);
    let mut forced = args.to_vec();
    forced.extend(["--force", "--compression", "none"]);
    common::ok(&geochip(&forced));
    assert_eq!(std::fs::read(out.join("labels/c/0/0")).unwrap().len(), 16);
    common::fails_with(
        &geochip(
            &[
                &args[..args.len() - 2],
                &["--compression", "lz4", "--out", o, "--force"],
            ]
            .concat(),
        ),
        "--compression",
    );
}
