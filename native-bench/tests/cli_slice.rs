//! `geochip slice` as a user runs it: the real binary on a `.npy` file, checked against the
//! xbatcher 0.4.0 reference file in `tests/fixtures/xbatcher/`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn geochip(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_geochip"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("geochip-cli-slice-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
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
