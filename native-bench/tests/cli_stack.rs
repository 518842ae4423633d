//! `geochip stack` as a user runs it: the real binary on the stacking fixtures.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
use common::geochip;

const ITEMS: &str = "tests/fixtures/stacking/items.json";

#[test]
fn grid_only_prints_odc_stacs_grid() {
    let out = geochip(&["stack", ITEMS, "--grid-only", "--groupby", "id"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // odc-stac 0.5.3, odc.stac.load(items, groupby="id"): tests/fixtures/stacking/odc_auto.json
    assert_eq!(v["crs"], "EPSG:32755");
    assert_eq!(
        v["transform"],
        serde_json::json!([10.0, 0.0, 767850.0, 0.0, -10.0, 6090010.0])
    );
    assert_eq!(v["shape"], serde_json::json!([3, 4, 76, 83]));
    assert_eq!(
        v["coords"]["band"],
        serde_json::json!(["B02", "B03", "B04", "B08"])
    );
    assert_eq!(v["coords"]["x"][0], 767855.0);
    assert_eq!(v["coords"]["time"][0], "2024-01-05T00:10:00.000000000");
}

#[test]
fn stackstac_mode_with_resolution_and_center_coords() {
    let out = geochip(&[
        "stack",
        ITEMS,
        "--grid-only",
        "--mode",
        "stackstac",
        "--crs",
        "EPSG:32755",
        "--resolution",
        "20",
        "--center-coords",
        "--compact",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // stackstac 0.5.1: tests/fixtures/stacking/stackstac_epsg32755_res20_bilinear_center.json
    assert_eq!(
        v["transform"],
        serde_json::json!([20.0, 0.0, 767840.0, 0.0, -20.0, 6090020.0])
    );
    assert_eq!(v["shape"], serde_json::json!([3, 4, 39, 42]));
    assert_eq!(v["coords"]["x"][0], 767850.0);
}

#[test]
fn mixed_crs_in_stackstac_mode_errors_naming_the_asset() {
    // stackstac without a CRS on two UTM zones: a clear error naming item and asset.
    let out = geochip(&["stack", ITEMS, "--grid-only", "--mode", "stackstac"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("t1-z56") && err.contains("B02") && err.contains("EPSG:32756"),
        "{err}"
    );
}

#[test]
fn without_grid_only_it_says_pixels_are_not_implemented() {
    let out = geochip(&["stack", ITEMS]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not implemented yet") && err.contains("--grid-only"),
        "{err}"
    );
}

#[test]
fn bad_arguments_are_reported() {
    let out = geochip(&["stack", ITEMS, "--grid-only", "--bbox", "1,2,3"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bbox"));
    let out = geochip(&[
        "stack",
        ITEMS,
        "--grid-only",
        "--resolution",
        "0.001",
        "--crs",
        "EPSG:32755",
        "--max-pixels",
        "1000000",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exceeds the budget"));
}
