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

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("geochip-cli-stack-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sidecar(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn pixels_match_odc_stac_and_stackstac() {
    let dir = scratch("pixels");
    let out = dir.join("cube.npy");
    let o = geochip(&[
        "stack",
        ITEMS,
        "--groupby",
        "id",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = sidecar(&dir.join("cube.json"));
    assert_eq!(v["shape"], serde_json::json!([3, 4, 76, 83]));
    assert_eq!(v["dtype"], "uint16");
    assert_eq!(v["nodata"], 0.0);
    // sha256 of odc-stac 0.5.3's array (tests/fixtures/stacking/npy/odc_auto.npy.gz, numpy
    // tobytes()): the CLI's cube is byte-identical.
    assert_eq!(
        v["sha256"],
        "2bbce111bf7858b8e3bb5bd150e152922a9a765cd8ada7e39fa67baaafaeaaf1"
    );
    // .npy header + 3*4*76*83 uint16.
    assert_eq!(
        std::fs::metadata(&out).unwrap().len(),
        128 + 3 * 4 * 76 * 83 * 2
    );
    // stackstac, EPSG:32755 at 20 m, bilinear, float64 rescaled: stackstac 0.5.1's array.
    let out2 = dir.join("ss.npy");
    let o = geochip(&[
        "stack",
        ITEMS,
        "--mode",
        "stackstac",
        "--crs",
        "EPSG:32755",
        "--resolution",
        "20",
        "--resampling",
        "bilinear",
        "--quiet",
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = sidecar(&dir.join("ss.json"));
    assert_eq!(v["dtype"], "float64");
    assert_eq!(v["nodata"], "nan");
    assert_eq!(
        v["sha256"],
        "29abc593546d8d36f694575c2237931ef82ac3143c8df0aaa0b87ce5758eda69"
    );
    // Existing output is never overwritten without --force.
    let o = geochip(&["stack", ITEMS, "--quiet", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    let o = geochip(&[
        "stack",
        ITEMS,
        "--quiet",
        "--force",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn output_must_be_given_and_zarr_is_not_available_yet() {
    let o = geochip(&["stack", ITEMS]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--out") && err.contains("--grid-only"),
        "{err}"
    );
    let dir = scratch("zarr");
    let z = dir.join("cube.zarr");
    let o = geochip(&["stack", ITEMS, "--out", z.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Zarr output is not available yet"), "{err}");
    assert!(!z.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_assets_fail_naming_item_and_asset_unless_errors_as_nodata() {
    let dir = scratch("missing");
    let repo = common::repo();
    let text = std::fs::read_to_string(repo.join(ITEMS))
        .unwrap()
        .replace("catalog/t1-z56/B03.tif", "catalog/t1-z56/GONE.tif");
    let text = text.replace(
        "\"catalog/",
        &format!("\"{}/tests/fixtures/stacking/catalog/", repo.display()),
    );
    let items = dir.join("items.json");
    std::fs::write(&items, text).unwrap();
    let out = dir.join("cube.npy");
    let o = geochip(&[
        "stack",
        items.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("t1-z56") && err.contains("B03") && err.contains("GONE.tif"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written on error");
    let o = geochip(&[
        "stack",
        items.to_str().unwrap(),
        "--quiet",
        "--errors-as-nodata",
        "not_found",
        "--groupby",
        "id",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
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
