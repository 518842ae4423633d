//! `geochip info` as a user runs it: the real binary on the bundled sample data.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
use common::geochip;

#[test]
fn info_prints_the_grid_as_json() {
    let out = geochip(&["info", "cookbooks/data/RGB.byte.tif"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // rasterio 1.4.4: src.crs, src.transform, src.shape, src.count, src.nodata
    assert_eq!(v["crs"], "EPSG:32618");
    assert_eq!(
        v["transform"],
        serde_json::json!([
            300.0379266750948,
            0.0,
            101985.0,
            0.0,
            -300.041782729805,
            2826915.0
        ])
    );
    assert_eq!(
        v["gdal_geotransform"],
        serde_json::json!([
            101985.0,
            300.0379266750948,
            0.0,
            2826915.0,
            0.0,
            -300.041782729805
        ])
    );
    assert_eq!(v["shape"], serde_json::json!([718, 791]));
    assert_eq!(v["count"], 3);
    assert_eq!(v["dtype"], "uint8");
    assert_eq!(v["nodata"], 0.0);
}

#[test]
fn info_errors_name_the_file_and_fail() {
    let out = geochip(&["info", "does/not/exist.tif"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does/not/exist.tif: cannot read"), "{err}");

    let out = geochip(&["info", "Cargo.toml"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Cargo.toml: not a readable TIFF"), "{err}");
}

#[test]
fn help_explains_each_command() {
    let out = geochip(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("info"), "{text}");
    assert!(text.contains("Print the grid of a GeoTIFF"), "{text}");
}
