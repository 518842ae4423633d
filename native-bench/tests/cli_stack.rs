//! `geochip stack` as a user runs it: the real binary on the stacking fixtures.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
use common::{geochip, ok};

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const ITEMS: &str = "tests/fixtures/stacking/items.json";

#[test]
fn grid_only_prints_odc_stacs_grid() {
    let out = geochip(&["stack", ITEMS, "--grid-only", "--groupby", "id"]);
    ok(&out);
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
    ok(&out);
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
    common::scratch("cli-stack", name)
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
    ok(&o);
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
    ok(&o);
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
    ok(&o);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn output_must_be_given() {
    let o = geochip(&["stack", ITEMS]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--out") && err.contains("--grid-only"),
        "{err}"
    );
    let o = geochip(&["stack", ITEMS, "--out", "cube.tif"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("must end in .npy"));
}

#[test]
fn zarr_output_round_trips_with_coordinates_and_grid() {
    let dir = scratch("zarr");
    let z = dir.join("cube.zarr");
    let zs = z.to_str().unwrap();
    // A bad layout is refused before any work, and nothing is created.
    let o = geochip(&[
        "stack",
        ITEMS,
        "--quiet",
        "--out",
        zs,
        "--compression",
        "lz4",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--compression"));
    assert!(!z.exists());
    let o = geochip(&["stack", ITEMS, "--groupby", "id", "--quiet", "--out", zs]);
    ok(&o);
    let store = common::zarr_store(&z);
    let cube = store.open_array("/cube").unwrap();
    assert_eq!(cube.dims(), ["time", "band", "y", "x"]);
    assert_eq!(cube.shape(), [3, 4, 76, 83]);
    let a = cube.read().unwrap();
    // odc-stac 0.5.3's cube (as in pixels_match_odc_stac_and_stackstac).
    assert_eq!(
        a.sha256(),
        "2bbce111bf7858b8e3bb5bd150e152922a9a765cd8ada7e39fa67baaafaeaaf1"
    );
    let g = cube.grid().unwrap();
    assert_eq!(
        g.transform.to_affine(),
        [10.0, 0.0, 767850.0, 0.0, -10.0, 6090010.0]
    );
    assert_eq!(g.crs.as_ref().unwrap().to_string(), "EPSG:32755");
    let attrs = cube.attributes();
    assert_eq!(
        attrs["band"],
        serde_json::json!(["B02", "B03", "B04", "B08"])
    );
    assert_eq!(attrs["grid_mapping"], "spatial_ref");
    assert_eq!(attrs["nodata"], 0.0);
    // Default chunks: one (time, band) plane of up to 512×512 per chunk.
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(z.join("cube/zarr.json")).unwrap()).unwrap();
    assert_eq!(
        meta["chunk_grid"]["configuration"]["chunk_shape"],
        serde_json::json!([1, 1, 76, 83])
    );
    assert_eq!(meta["codecs"][1]["name"], "zstd");
    // Coordinates: time in ns since the epoch (2024-01-05T00:10:00Z first), y/x centres.
    let t = store.open_array("/time").unwrap();
    assert_eq!(t.dims(), ["time"]);
    assert_eq!(t.attributes()["units"], "nanoseconds since 1970-01-01");
    assert_eq!(
        t.read().unwrap().sum_f64(),
        3.0 * 1_704_413_400e9 + 15.0 * 86_400e9
    );
    let x = store.open_array("/x").unwrap().read().unwrap();
    assert_eq!(x.shape(), [83]);
    assert_eq!(
        x.sum_f64(),
        (0..83)
            .map(|i| 767_855.0 + 10.0 * f64::from(i))
            .sum::<f64>()
    );
    let sr = store.open_array("/spatial_ref").unwrap();
    assert_eq!(sr.attributes()["spatial_ref"], "EPSG:32755");
    // `geochip slice` finds the data array by itself (coordinates are not data).
    let o = geochip(&["slice", zs, "--input-dims", "y=32,x=32", "--plan"]);
    ok(&o);
    // Existing stores are kept without --force, replaced with it (here: sharded gzip).
    let o = geochip(&["stack", ITEMS, "--quiet", "--out", zs]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    let o = geochip(&[
        "stack",
        ITEMS,
        "--groupby",
        "id",
        "--quiet",
        "--force",
        "--out",
        zs,
        "--compression",
        "gzip:5",
        "--chunks",
        "1,2,16,16",
        "--shards",
        "1,4,32,32",
    ]);
    ok(&o);
    let cube = common::zarr_store(&z).open_array("/cube").unwrap();
    assert_eq!(
        cube.read().unwrap().sha256(),
        "2bbce111bf7858b8e3bb5bd150e152922a9a765cd8ada7e39fa67baaafaeaaf1"
    );
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
    ok(&o);
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

/// The `(time, band, y, x)` values of a uint16 `.npy` written by `geochip stack`.
fn npy_u16(path: &Path) -> Vec<u16> {
    let bytes = std::fs::read(path).unwrap();
    let header = 10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[header..]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

#[test]
fn overviews_are_read_when_downsampling_like_odc_stac() {
    // ovr.tif: a 256×256 COG with averaged overviews at 2× and 4×; expected.json holds
    // odc-stac 0.5.3's cubes (make_overviews.py) with use_overviews on and off.
    let dir = scratch("overviews");
    let fx = common::repo().join("tests/fixtures/stacking/overviews");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fx.join("expected.json")).unwrap()).unwrap();
    let cases = expected["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for (i, case) in cases.iter().enumerate() {
        let out = dir.join(format!("c{i}.npy"));
        let res = case["resolution"].to_string();
        let mut args = vec![
            "stack",
            "tests/fixtures/stacking/overviews/item.json",
            "--crs",
            "EPSG:32755",
            "--resolution",
            &res,
            "--resampling",
            case["resampling"].as_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        if case["use_overviews"] == false {
            args.push("--no-overviews");
        }
        let o = geochip(&args);
        ok(&o);
        let v = sidecar(&out.with_extension("json"));
        assert_eq!(v["shape"], case["shape"], "{case}");
        assert_eq!(v["sha256"], case["sha256"], "{case}");
    }
    // With and without overviews differ (the fixture asserts it too): the overview was read.
    assert_ne!(cases[0]["sha256"], cases[1]["sha256"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A copy of the stacking catalog in `dir` (items.json + catalog/), for tests that break it.
fn catalog_copy(dir: &Path) -> PathBuf {
    let src = common::repo().join("tests/fixtures/stacking");
    for entry in std::fs::read_dir(src.join("catalog")).unwrap() {
        let entry = entry.unwrap();
        let to = dir.join("catalog").join(entry.file_name());
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(entry.path()).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
        }
    }
    let items = dir.join("items.json");
    std::fs::copy(src.join("items.json"), &items).unwrap();
    items
}

#[test]
fn corrupt_asset_fails_naming_item_and_asset_or_becomes_nodata() {
    let dir = scratch("corrupt");
    let items = catalog_copy(&dir);
    let tif = dir.join("catalog/t1-z56/B03.tif");
    let mut bytes = std::fs::read(&tif).unwrap();
    bytes.truncate(bytes.len() / 2); // the IFD (at the end of this file) is cut off
    std::fs::write(&tif, bytes).unwrap();
    let out = dir.join("cube.npy");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "stack",
            items.to_str().unwrap(),
            "--groupby",
            "id",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        geochip(&args)
    };
    let o = run(&[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("item 't1-z56'")
            && err.contains("asset 'B03'")
            && err.contains("Corrupt")
            && err.contains("B03.tif: not a readable TIFF"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written on error");
    // Tolerated: that plane is nodata (0); every other plane equals odc-stac's cube.
    let o = run(&["--errors-as-nodata", "corrupt"]);
    ok(&o);
    let broken = npy_u16(&out);
    let full = dir.join("full.npy");
    let o = geochip(&[
        "stack",
        ITEMS,
        "--groupby",
        "id",
        "--quiet",
        "--out",
        full.to_str().unwrap(),
    ]);
    ok(&o);
    let good = npy_u16(&full);
    let plane = 76 * 83;
    assert_eq!(broken.len(), 3 * 4 * plane);
    // Times are t0, t1, t2 (groupby id, sorted by time); bands B02, B03, B04, B08.
    let bad = 5 * plane; // (t1, B03): index 1 * 4 + 1
    assert!(good[bad..bad + plane].iter().any(|&v| v != 0));
    assert!(broken[bad..bad + plane].iter().all(|&v| v == 0));
    assert_eq!(broken[..bad], good[..bad]);
    assert_eq!(broken[bad + plane..], good[bad + plane..]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What the test server saw: (path, Range header) per request.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// Serves the files under `root` on a loopback port: single `Range` requests answered 206,
/// requests without `Range` answered 200 with the whole file (counted, so a test can prove
/// none happened), missing files 404.
fn serve(root: PathBuf) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut path, mut range) = (String::new(), None);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(rest) = line.strip_prefix("GET ") {
                    path = rest.split(' ').next().unwrap_or("").to_owned();
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range = Some(v.trim().to_owned());
                }
            }
            log.lock().unwrap().push((path.clone(), range.clone()));
            let Ok(bytes) = std::fs::read(root.join(path.trim_start_matches('/'))) else {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            };
            let (status, a, b) = match range.as_deref().and_then(|r| r.split_once('-')) {
                Some((a, b)) => {
                    let a: usize = a.parse().unwrap();
                    let b = b.parse::<usize>().unwrap().min(bytes.len() - 1);
                    ("206 Partial Content", a, b)
                }
                None => ("200 OK", 0, bytes.len() - 1),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Range: bytes {a}-{b}/{}\r\nConnection: close\r\n\r\n",
                b + 1 - a,
                bytes.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&bytes[a..=b]);
        }
    });
    (base, seen)
}

#[test]
fn http_hrefs_are_read_with_range_requests_only() {
    let dir = scratch("http");
    let repo = common::repo();
    let (base, seen) = serve(repo.join("tests/fixtures/stacking/catalog"));
    let text = std::fs::read_to_string(repo.join(ITEMS))
        .unwrap()
        .replace("\"catalog/", &format!("\"{base}/"));
    let items = dir.join("items.json");
    std::fs::write(&items, &text).unwrap();
    let out = dir.join("cube.npy");
    let o = geochip(&[
        "stack",
        items.to_str().unwrap(),
        "--groupby",
        "id",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&o);
    // odc-stac 0.5.3's cube (the same sha256 as the local read in pixels_match_odc_stac…).
    assert_eq!(
        sidecar(&dir.join("cube.json"))["sha256"],
        "2bbce111bf7858b8e3bb5bd150e152922a9a765cd8ada7e39fa67baaafaeaaf1"
    );
    let requests = std::mem::take(&mut *seen.lock().unwrap());
    // Every request was a range request, to each of the 12 files.
    assert!(requests.len() >= 12, "{requests:?}");
    assert!(requests.iter().all(|(_, r)| r.is_some()), "{requests:?}");
    let files: std::collections::BTreeSet<&str> =
        requests.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(files.len(), 12, "{files:?}");
    // A missing file is HTTP 404: not found, naming item and asset; tolerated on request.
    let gone = text.replace("t1-z56/B03.tif", "t1-z56/GONE.tif");
    std::fs::write(&items, gone).unwrap();
    let o = geochip(&[
        "stack",
        items.to_str().unwrap(),
        "--quiet",
        "--force",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("t1-z56") && err.contains("B03") && err.contains("NotFound"),
        "{err}"
    );
    let o = geochip(&[
        "stack",
        items.to_str().unwrap(),
        "--quiet",
        "--force",
        "--errors-as-nodata",
        "not_found",
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&o);
    std::fs::remove_dir_all(&dir).unwrap();
}
