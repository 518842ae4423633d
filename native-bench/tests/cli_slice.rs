//! `geochip slice` as a user runs it: the real binary on a `.npy` file, checked against the
//! xbatcher 0.4.0 reference file in `tests/fixtures/xbatcher/`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};

mod common;
use common::{fails_with, geochip, ok, repo, zarr_store};

use geochip::slice::Selector;
use ndarray::{ArrayD, IxDyn};

#[derive(serde::Deserialize)]
struct RefFile {
    cases: Vec<RefCase>,
}

#[derive(serde::Deserialize)]
struct RefCase {
    name: String,
    batches: Vec<RefBatch>,
}

#[derive(serde::Deserialize)]
struct RefBatch {
    selectors: Vec<Selector>,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct Plan {
    len: u64,
    batches: Vec<RefBatch>,
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    common::scratch("cli-slice", name)
}

/// The reference input: int32 arange of shape (3, 37, 53).
fn arange_npy(dir: &Path) -> String {
    let n = 3 * 37 * 53;
    let a = ArrayD::from_shape_vec(IxDyn(&[3, 37, 53]), (0..n).collect::<Vec<i32>>()).unwrap();
    let path = dir.join("cube.npy");
    ndarray_npy::write_npy(&path, &a).unwrap();
    path.display().to_string()
}

fn reference(name: &str) -> Vec<Vec<Selector>> {
    let text =
        std::fs::read_to_string(repo().join("tests/fixtures/xbatcher/reference_xbatcher.json"))
            .unwrap();
    let file: RefFile = serde_json::from_str(&text).unwrap();
    let case = file.cases.into_iter().find(|c| c.name == name).unwrap();
    case.batches
        .into_iter()
        .filter(|b| b.error.is_none())
        .map(|b| b.selectors)
        .collect()
}

fn plan(args: &[&str]) -> Plan {
    let out = geochip(args);
    ok(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn plan_matches_xbatcher_reference_cases() {
    let dir = scratch("plan");
    let npy = arange_npy(&dir);
    // x first: x is the outer loop and the selectors list x first.
    let got = plan(&[
        "slice",
        &npy,
        "--dims",
        "time,y,x",
        "--input-dims",
        "x=12,y=10",
        "--overlap",
        "x=5,y=3",
        "--plan",
    ]);
    let want = reference("grid_overlap_reversed_dict_order");
    assert_eq!(got.len, want.len() as u64);
    let got_sel: Vec<Vec<Selector>> = got.batches.into_iter().map(|b| b.selectors).collect();
    assert_eq!(got_sel, want);
    assert_eq!(got_sel[0][0].0[0].dim, "x");

    let got = plan(&[
        "slice",
        &npy,
        "--dims",
        "time,y,x",
        "--input-dims",
        "y=10,x=12",
        "--overlap",
        "y=2,x=4",
        "--batch-dims",
        "y=20,x=24",
        "--concat",
        "--plan",
        "--compact",
    ]);
    let got_sel: Vec<Vec<Selector>> = got.batches.into_iter().map(|b| b.selectors).collect();
    assert_eq!(got_sel, reference("concat_batch_dims_duplicate_overlap"));
}

#[test]
fn writes_chips_and_sidecar_and_never_overwrites() {
    let dir = scratch("write");
    let npy = arange_npy(&dir);
    let out = dir.join("chips");
    let out_s = out.display().to_string();
    let args = [
        "slice",
        &npy,
        "--dims",
        "time,y,x",
        "--input-dims",
        "y=16,x=16",
        "--batch-size",
        "4",
        "--transform",
        "30,0,300000,0,-30,4000000",
        "--crs",
        "EPSG:32633",
        "--out",
        &out_s,
    ];
    let o = geochip(&args);
    ok(&o);
    // 2 × 3 = 6 chips in batches of 4: two files.
    let a: ArrayD<i32> = ndarray_npy::read_npy(out.join("batch_000001.npy")).unwrap();
    assert_eq!(a.shape(), &[2, 3, 16, 16]);
    assert!(!out.join("batch_000002.npy").exists());
    // Chip 4 (y 16..32, x 16..32), time 0, first value = 16 * 53 + 16.
    assert_eq!(a[[0, 0, 0, 0]], 16 * 53 + 16);
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("chips.json")).unwrap()).unwrap();
    let chip = &side["batches"][1]["chips"][0];
    assert_eq!(chip["id"], 4);
    assert_eq!(chip["start"], serde_json::json!({"y": 16, "x": 16}));
    assert_eq!(
        chip["transform"],
        serde_json::json!([30.0, 0.0, 300480.0, 0.0, -30.0, 3999520.0])
    );
    assert_eq!(chip["crs"], "EPSG:32633");

    let again = geochip(&args);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let mut forced = args.to_vec();
    forced.push("--force");
    assert!(geochip(&forced).status.success());
}

#[test]
fn bad_input_names_the_argument() {
    let dir = scratch("bad");
    let npy = arange_npy(&dir);
    let o = geochip(&[
        "slice",
        &npy,
        "--dims",
        "time,y,x",
        "--input-dims",
        "y=40",
        "--plan",
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("input_dims: window y=40 is larger than the dim's size 37")
    );
    let o = geochip(&[
        "slice",
        &npy,
        "--dims",
        "y,x",
        "--input-dims",
        "y=4",
        "--plan",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--dims"));
}

/// The arange cube as a georeferenced Zarr store (dims time/y/x, chunks 1x16x16, zstd).
fn arange_zarr(dir: &Path) -> PathBuf {
    let a = geochip::LabeledArray::arange_i32(&["time", "y", "x"], &[3, 37, 53])
        .unwrap()
        .with_grid(
            geochip::Grid::new(
                geochip::GeoTransform::from_affine([30.0, 0.0, 300000.0, 0.0, -30.0, 4000000.0]),
                53,
                37,
                Some(geochip::Crs::Epsg(32633)),
            )
            .unwrap(),
        )
        .unwrap();
    let path = dir.join("cube.zarr");
    std::fs::create_dir_all(&path).unwrap();
    let store = zarr_store(&path);
    store.create_group("/", serde_json::Map::new()).unwrap();
    let opts = geochip::zarr::WriteOptions {
        chunk_shape: Some(vec![1, 16, 16]),
        compression: geochip::zarr::Compression::Zstd { level: 1 },
        ..Default::default()
    };
    store.write_array("/cube", &a, &opts).unwrap();
    path
}

#[test]
fn zarr_output_holds_the_chips_and_their_transforms() {
    let dir = scratch("zarr-out");
    let npy = arange_npy(&dir);
    let base = [
        "slice",
        &npy,
        "--dims",
        "time,y,x",
        "--input-dims",
        "y=16,x=16",
        "--batch-size",
        "4",
        "--transform",
        "30,0,300000,0,-30,4000000",
        "--crs",
        "EPSG:32633",
    ];
    let npy_out = dir.join("chips");
    ok(&geochip(
        &[&base[..], &["--out", npy_out.to_str().unwrap()]].concat(),
    ));
    let zarr = dir.join("chips.zarr");
    let z = zarr.to_str().unwrap();
    // Sharded: shards of 4 chips, chunks of 1 chip, gzip.
    let args = [
        &base[..],
        &[
            "--out",
            z,
            "--shards",
            "4,3,16,16",
            "--compression",
            "gzip:1",
        ],
    ]
    .concat();
    ok(&geochip(&args));
    let chips = zarr_store(&zarr).open_array("/chips").unwrap();
    assert_eq!(chips.dims(), &["chip", "time", "y", "x"]);
    assert_eq!(chips.shape(), vec![6, 3, 16, 16]);
    // Chips 4 and 5 equal the second .npy batch.
    let b1: ndarray::ArrayD<i32> = ndarray_npy::read_npy(npy_out.join("batch_000001.npy")).unwrap();
    let w = chips.read_window(&[4, 0, 0, 0], &[2, 3, 16, 16]).unwrap();
    assert_eq!(w.data(), &geochip::ArrayData::from(b1));
    let attrs = chips.attributes();
    assert_eq!(attrs["proj:code"], "EPSG:32633");
    assert_eq!(
        attrs["geochip:chip_ids"],
        serde_json::json!([0, 1, 2, 3, 4, 5])
    );
    assert_eq!(
        attrs["geochip:chip_transforms"][4],
        serde_json::json!([30.0, 0.0, 300480.0, 0.0, -30.0, 3999520.0])
    );
    let side: serde_json::Value =
        serde_json::from_slice(&std::fs::read(zarr.join("chips.json")).unwrap()).unwrap();
    assert_eq!(side["batches"][1]["chip_offset"], 4);
    assert_eq!(side["batches"][1]["chips"][0]["id"], 4);
    // Never overwritten without --force; no temporary store left behind either way.
    fails_with(&geochip(&args), "--force");
    let mut forced = args.clone();
    forced.push("--force");
    ok(&geochip(&forced));
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A layout that does not fit the chips fails before anything is written.
    let bad = dir.join("bad.zarr");
    fails_with(
        &geochip(
            &[
                &base[..],
                &[
                    "--out",
                    bad.to_str().unwrap(),
                    "--shards",
                    "3,3,16,16",
                    "--chunks",
                    "2,3,16,16",
                ],
            ]
            .concat(),
        ),
        "whole multiple",
    );
    assert!(!bad.exists());
}

#[test]
fn zarr_input_gives_dims_and_grid() {
    let dir = scratch("zarr-in");
    let npy = arange_npy(&dir);
    let store = arange_zarr(&dir);
    let s = store.to_str().unwrap();
    // Same plan as the .npy with the same dims.
    let from_npy = plan(&[
        "slice",
        &npy,
        "--dims",
        "time,y,x",
        "--input-dims",
        "y=10,x=12",
        "--overlap",
        "y=3,x=5",
        "--plan",
    ]);
    let from_zarr = plan(&[
        "slice",
        s,
        "--input-dims",
        "y=10,x=12",
        "--overlap",
        "y=3,x=5",
        "--plan",
    ]);
    assert_eq!(from_zarr.len, from_npy.len);
    let sel = |p: Plan| {
        p.batches
            .into_iter()
            .map(|b| b.selectors)
            .collect::<Vec<_>>()
    };
    assert_eq!(sel(from_zarr), sel(from_npy));
    // Chips from the store carry the store's grid without --transform.
    let out = dir.join("chips");
    ok(&geochip(&[
        "slice",
        s,
        "--array",
        "/cube",
        "--input-dims",
        "y=16,x=16",
        "--out",
        out.to_str().unwrap(),
    ]));
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("chips.json")).unwrap()).unwrap();
    let chip = &side["batches"][4]["chips"][0];
    assert_eq!(
        chip["transform"],
        serde_json::json!([30.0, 0.0, 300480.0, 0.0, -30.0, 3999520.0])
    );
    assert_eq!(chip["crs"], "EPSG:32633");
    let a: ndarray::ArrayD<i32> = ndarray_npy::read_npy(out.join("batch_000004.npy")).unwrap();
    assert_eq!(a[[0, 0, 0]], 16 * 53 + 16);
    // Mismatched --dims, a missing array, and a truncated chunk are named.
    fails_with(
        &geochip(&[
            "slice",
            s,
            "--dims",
            "t,y,x",
            "--input-dims",
            "y=4",
            "--plan",
        ]),
        "dimension_names",
    );
    fails_with(
        &geochip(&[
            "slice",
            s,
            "--array",
            "nope",
            "--input-dims",
            "y=4",
            "--plan",
        ]),
        "no Zarr array at 'nope'",
    );
    let chunk = store.join("cube/c/2/1/0");
    let bytes = std::fs::read(&chunk).unwrap();
    std::fs::write(&chunk, &bytes[..bytes.len() / 3]).unwrap();
    fails_with(
        &geochip(&[
            "slice",
            s,
            "--input-dims",
            "y=16,x=16",
            "--out",
            dir.join("c2").to_str().unwrap(),
        ]),
        "chunk 'cube/c/2/1/0'",
    );
}
